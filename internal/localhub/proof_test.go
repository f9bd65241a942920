package localhub

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/s3crr/s3crr/statemachine"
)

// The proof: a Lambda's named error drives Retry and Catch
// on the local hub exactly as in Step Functions, and the SNS alert and the
// DynamoDB registration have their real effect on the stand-ins.

func TestNamedErrorIsRetriedThenSucceeds(t *testing.T) {
	needRunner(t)
	h := startHub(t)
	fn := "flaky-twice"
	arn, err := h.AddFunction(context.Background(), Function{
		Name: fn, Bootstrap: lambdaBinary(t, "flaky"), Concurrency: 1,
		Env: map[string]string{"FLAKY_COUNTER": filepath.Join(t.TempDir(), "count"), "FLAKY_FAILURES": "2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	run, err := h.Run(context.Background(), RunInput{
		Definition: proofDefinition(t, h), Input: proofInput(t, arn, "pair-flaky"), Name: "pair-flaky-1",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != StatusSucceeded {
		t.Fatalf("status %s (%s: %s), want SUCCEEDED", run.Status, run.Error, run.Cause)
	}
	if got := run.Retries("Provision"); got != 2 {
		t.Errorf("Provision was retried %d times, want 2", got)
	}
	if got := h.Invocations(fn); got != 3 {
		t.Errorf("the function was invoked %d times, want 3 (two PrincipalNotReady, then success)", got)
	}
	for _, ev := range run.Events {
		if ev.Type == "StateFailed" && ev.State == "Provision" && ev.Error != "PrincipalNotReady" {
			t.Errorf("Provision failed with %q, want the Lambda's errorType PrincipalNotReady", ev.Error)
		}
	}
	item, ok := pairItem(t, h, "pair-flaky")
	if !ok {
		t.Fatal("no pair registered in DynamoDB")
	}
	if item["attempt"] != "3" || item["executionArn"] != run.ARN || !strings.HasSuffix(run.ARN, ":pair-flaky-1") {
		t.Errorf("registered %v for execution %s", item, run.ARN)
	}
	if _, err := time.Parse(time.RFC3339, attr(item, "registeredAt")); err != nil {
		t.Errorf("registeredAt %q is not $$.Execution.StartTime: %v", attr(item, "registeredAt"), err)
	}
	if alerts, err := h.ReceiveAlerts(context.Background(), 0); err != nil || len(alerts) != 0 {
		t.Errorf("alerts after a success = %v, %v; want none", alerts, err)
	}
}

func TestRetriesStopAtMaxAttempts(t *testing.T) {
	needRunner(t)
	h := startHub(t)
	fn := "flaky-forever"
	arn, err := h.AddFunction(context.Background(), Function{
		Name: fn, Bootstrap: lambdaBinary(t, "flaky"), Concurrency: 1,
		Env: map[string]string{"FLAKY_COUNTER": filepath.Join(t.TempDir(), "count"), "FLAKY_FAILURES": "100"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// MaxAttempts 4 between IntervalSeconds 1 and MaxDelaySeconds 2: the real pauses, at most 7 s.
	run, err := h.Run(context.Background(), RunInput{Definition: proofDefinition(t, h), Input: proofInput(t, arn, "pair-never")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != StatusFailed || run.Error != "provision: PrincipalNotReady" {
		t.Fatalf("status %s, error %q; want FAILED with provision: PrincipalNotReady", run.Status, run.Error)
	}
	if got := h.Invocations(fn); got != 5 {
		t.Errorf("the function was invoked %d times, want 5 (the call and MaxAttempts 4 retries)", got)
	}
	if _, ok := pairItem(t, h, "pair-never"); ok {
		t.Error("a failed execution registered the pair")
	}
}

func TestNamedErrorIsCaughtAlertedAndFails(t *testing.T) {
	needRunner(t)
	h := startHub(t)
	fn := "denied"
	arn, err := h.AddFunction(context.Background(), Function{Name: fn, Bootstrap: lambdaBinary(t, "denied"), Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	run, err := h.Run(context.Background(), RunInput{
		Definition: proofDefinition(t, h), Input: proofInput(t, arn, "pair-denied"), Name: "pair-denied-1",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != StatusFailed {
		t.Fatalf("status %s, want FAILED", run.Status)
	}
	if run.Error != "provision: AccessDenied" {
		t.Errorf("Fail error %q, want the stage and the Lambda's errorType", run.Error)
	}
	if !strings.HasPrefix(run.Cause, "stage provision failed with AccessDenied: ") || !strings.Contains(run.Cause, "may not call kms:PutKeyPolicy") {
		t.Errorf("Fail cause %q, want the stage, the error and the Lambda's message", run.Cause)
	}
	if got := h.Invocations(fn); got != 1 {
		t.Errorf("AccessDenied was invoked %d times, want 1: no Retry matches it", got)
	}
	caught := false
	for _, ev := range run.Events {
		caught = caught || (ev.Type == "StateCaught" && ev.State == "Provision" && ev.Next == "ProvisionFailed")
	}
	if !caught {
		t.Error("no StateCaught event for Provision -> ProvisionFailed")
	}

	alerts, err := h.ReceiveAlerts(context.Background(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts, want 1", len(alerts))
	}
	a := alerts[0]
	if a.TopicARN != h.TopicARN || a.Subject != "s3crr: provisioning failed at stage provision" || a.MessageAttributes["stage"].Value != "provision" {
		t.Errorf("alert = %+v", a)
	}
	var f statemachine.Failure
	if err := json.Unmarshal([]byte(a.Message), &f); err != nil {
		t.Fatalf("alert message is not a Failure: %v\n%s", err, a.Message)
	}
	// As in AWS, the Cause of a Lambda function error is its error payload.
	var payload struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if err := json.Unmarshal([]byte(f.Cause), &payload); err != nil {
		t.Fatalf("cause %q is not the Lambda error payload: %v", f.Cause, err)
	}
	if f.Stage != "provision" || f.Error != "AccessDenied" || payload.ErrorType != "AccessDenied" ||
		f.ExecutionARN != run.ARN || f.ExecutionName != "pair-denied-1" || f.FailError != run.Error {
		t.Errorf("alert failure = %+v, payload %+v", f, payload)
	}
	if _, ok := pairItem(t, h, "pair-denied"); ok {
		t.Error("a failed execution registered the pair")
	}
}

// The production definition itself, on the stub provision Lambda: every
// path, selector and intrinsic must work for real, not only validate.

var sampleRequest = []byte(`{
  "pairId": "payments-archive",
  "source":      {"account": "111111111111", "region": "ap-south-1", "bucket": "payments-src"},
  "destination": {"account": "222222222222", "region": "us-east-1",  "bucket": "payments-dst"},
  "rule": {"storageClass": "STANDARD", "deleteMarkerReplication": true}
}`)

func provisionRun(t *testing.T, h *Hub, env map[string]string, name string, retry map[string]time.Duration) *Execution {
	t.Helper()
	arn, err := h.AddFunction(context.Background(), Function{Name: "s3crr-provision", Bootstrap: lambdaBinary(t, "stubprovision"), Env: env})
	if err != nil {
		t.Fatal(err)
	}
	verifyARN, err := h.AddFunction(context.Background(), Function{Name: "s3crr-verify", Bootstrap: lambdaBinary(t, "stubverify"), Env: env})
	if err != nil {
		t.Fatal(err)
	}
	def, err := statemachine.Load(statemachine.Provision, map[string]string{
		statemachine.ProvisionFunctionArn: arn,
		statemachine.AlertTopicArn:        h.TopicARN,
		statemachine.PairsTableName:       h.TableName,
		statemachine.VerifyFunctionArn:    verifyARN,
	})
	if err != nil {
		t.Fatal(err)
	}
	run, err := h.Run(context.Background(), RunInput{
		Definition: def, Input: sampleRequest, Name: name,
		WaitOverrides:  map[string]time.Duration{"WaitBeforeRecheck": 0, "WaitForReplica": 0},
		RetryOverrides: retry,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func TestProvisionDefinitionSucceedsAndRerunChangesNothing(t *testing.T) {
	needRunner(t)
	h := startHub(t)
	state := t.TempDir()
	env := map[string]string{"STUB_STATE_DIR": state, "STUB_NOT_READY": "2"}

	run := provisionRun(t, h, env, "payments-archive-1", nil)
	if run.Status != StatusSucceeded {
		t.Fatalf("status %s (%s: %s)", run.Status, run.Error, run.Cause)
	}
	var out statemachine.Output
	if err := json.Unmarshal(run.Output, &out); err != nil {
		t.Fatal(err)
	}
	wantARNs := statemachine.ARNs{
		SourceBucket:      "arn:aws:s3:::payments-src",
		DestinationBucket: "arn:aws:s3:::payments-dst",
		SourceKey:         "arn:aws:kms:ap-south-1:111111111111:key/source-key",
		DestinationKey:    "arn:aws:kms:us-east-1:222222222222:key/destination-key",
		ReplicationRole:   "arn:aws:iam::111111111111:role/s3crr/s3crr-repl-payments-src-38d30e55",
	}
	if out.ARNs != wantARNs || out.RuleID != "s3crr-payments-archive" || out.PairID != "payments-archive" || out.ExecutionARN != run.ARN {
		t.Errorf("output = %+v", out)
	}
	if out.Verification.Outputs["ready"] != "true" {
		t.Errorf("verification = %+v, want ready", out.Verification)
	}
	if v := out.Verify; v == nil || v.Status != "passed" || v.PairID != "payments-archive" || v.LatencySeconds != 1.5 || v.Summary == "" {
		t.Errorf("the new pair's verification in the output = %+v, want passed with its latency", v)
	}
	checks := 0
	for _, ev := range run.Events {
		if ev.Type == "StateEntered" && ev.State == "CheckReplication" {
			checks++
		}
	}
	if checks != 3 {
		t.Errorf("CheckReplication ran %d times, want 3 (two not ready, then ready)", checks)
	}
	// 12 stages own something: bucket, key, encryption, keyPolicy per side, role,
	// bucketPolicy, replication, events.
	if got := len(out.Changes()); got != 12 {
		t.Errorf("first run reports %d changes, want 12: %+v", got, out.Changes())
	}
	for _, ch := range out.Changes() {
		if ch.Action != "create" || ch.Account == "" {
			t.Errorf("change %+v", ch)
		}
	}

	item, ok := pairItem(t, h, "payments-archive")
	if !ok {
		t.Fatal("pair not registered")
	}
	if attr(item, "source", "keyArn") != wantARNs.SourceKey || attr(item, "destination", "keyArn") != wantARNs.DestinationKey ||
		attr(item, "destination", "account") != "222222222222" || item["roleArn"] != wantARNs.ReplicationRole ||
		item["ruleId"] != "s3crr-payments-archive" || item["executionArn"] != run.ARN {
		t.Errorf("registered item = %v", item)
	}
	var registered map[string]any
	if err := json.Unmarshal([]byte(attr(item, "request")), &registered); err != nil || registered["pairId"] != "payments-archive" {
		t.Errorf("registered request %q: %v", attr(item, "request"), err)
	}
	alerts, err := h.ReceiveAlerts(context.Background(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Subject != "s3crr: pair payments-archive provisioned" || alerts[0].MessageAttributes["outcome"].Value != "provisioned" {
		t.Fatalf("success notices = %+v", alerts)
	}

	again := provisionRun(t, h, env, "payments-archive-2", nil)
	if again.Status != StatusSucceeded {
		t.Fatalf("second run: status %s (%s: %s)", again.Status, again.Error, again.Cause)
	}
	var out2 statemachine.Output
	if err := json.Unmarshal(again.Output, &out2); err != nil {
		t.Fatal(err)
	}
	if got := out2.Changes(); len(got) != 0 {
		t.Errorf("second run reports changes %+v, want none", got)
	}
	if alerts, err := h.ReceiveAlerts(context.Background(), 5*time.Second); err != nil || len(alerts) != 1 {
		t.Errorf("second run: %d notices (%v), want 1", len(alerts), err)
	}
}

func TestProvisionDefinitionFailsInAParallelBranch(t *testing.T) {
	needRunner(t)
	h := startHub(t)
	env := map[string]string{"STUB_STATE_DIR": t.TempDir(), "STUB_FAIL": "keyPolicy/destination=AccessDenied"}
	run := provisionRun(t, h, env, "payments-archive-denied", nil)
	if run.Status != StatusFailed || run.Error != "keyPolicy/bucketPolicy: AccessDenied" {
		t.Fatalf("status %s, error %q; want FAILED naming the policy stages and AccessDenied", run.Status, run.Error)
	}
	if !strings.Contains(run.Cause, "keyPolicy (destination): stub failure AccessDenied") {
		t.Errorf("cause %q does not carry the Lambda's message", run.Cause)
	}
	alerts, err := h.ReceiveAlerts(context.Background(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Subject != "s3crr: provisioning failed at stage keyPolicy/bucketPolicy" {
		t.Fatalf("alerts = %+v", alerts)
	}
	for _, ev := range run.Events {
		if ev.Type == "StateEntered" && (ev.State == "Encryption" || ev.State == "RegisterPair") {
			t.Errorf("%s ran after the policies failed", ev.State)
		}
	}
	if _, ok := pairItem(t, h, "payments-archive"); ok {
		t.Error("a failed execution registered the pair")
	}
}

// A pair that provisions but does not pass its verification fails the run, naming the
// findings; it stays registered, so the nightly run and `crr status` keep showing it.
func TestProvisionDefinitionFailsWhenTheNewPairDoesNotVerify(t *testing.T) {
	needRunner(t)
	h := startHub(t)
	why := "failed with 1 error(s): destination-key-policy (AccessDenied) in account 222222222222: no grant; fix: add it"
	env := map[string]string{"STUB_STATE_DIR": t.TempDir(), "STUB_VERIFY_PENDING": "2", "STUB_VERIFY_FAIL": why}
	run := provisionRun(t, h, env, "payments-archive-unverified", nil)
	if run.Status != StatusFailed || run.Error != "verify: VerificationFailed" {
		t.Fatalf("status %s, error %q; want FAILED at verify", run.Status, run.Error)
	}
	if !strings.Contains(run.Cause, why) {
		t.Errorf("cause %q does not carry the verification's findings", run.Cause)
	}
	checks := 0
	for _, ev := range run.Events {
		if ev.Type == "StateEntered" && ev.State == "CheckCanary" {
			checks++
		}
		if ev.Type == "StateEntered" && ev.State == "NotifySuccess" {
			t.Error("an unverified pair was announced as provisioned")
		}
	}
	if checks != 3 {
		t.Errorf("CheckCanary ran %d times, want 3 (pending twice, then the verdict)", checks)
	}
	if _, ok := pairItem(t, h, "payments-archive"); !ok {
		t.Error("the pair is not registered: the nightly run could not keep checking it")
	}
	alerts, err := h.ReceiveAlerts(context.Background(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Subject != "s3crr: provisioning failed at stage verify" {
		t.Fatalf("alerts = %+v", alerts)
	}
}

func TestProvisionDefinitionRetriesPropagation(t *testing.T) {
	needRunner(t)
	h := startHub(t)
	env := map[string]string{"STUB_STATE_DIR": t.TempDir(), "STUB_PROPAGATION": "key/destination=2"}
	// The real backoff (5 s, 10 s, jittered) is not what is under test here;
	// which errors are retried and how often is.
	run := provisionRun(t, h, env, "payments-archive-slow-key", map[string]time.Duration{"DestinationKey": 10 * time.Millisecond})
	if run.Status != StatusSucceeded {
		t.Fatalf("status %s (%s: %s)", run.Status, run.Error, run.Cause)
	}
	if got := run.Retries("DestinationKey"); got != 2 {
		t.Errorf("DestinationKey retried %d times, want 2", got)
	}
	if got := run.Retries("SourceKey"); got != 0 {
		t.Errorf("SourceKey retried %d times, want 0", got)
	}
}
