package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/spec"
	"github.com/s3crr/s3crr/internal/testenv"
	"github.com/s3crr/s3crr/statemachine"
)

func TestMain(m *testing.M) {
	// kumo's deliveries (the hub bus rule to the inbox queue) must reach this
	// process's hub: KUMO_PORT has to be set before kumo's init functions run.
	if err := localhub.EnsureKumoPort(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// needRunner skips when node_modules is absent (fails under CI: testenv); when it
// is there, a broken runner fails Start instead.
func needRunner(t *testing.T) string {
	t.Helper()
	root, err := localhub.FindModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	testenv.RequireNodeModules(t, root)
	return root
}

// startEnv starts a local deployment whose hub resources are this test's own:
// kumo's state lives as long as the process, so -count=N repetitions must not
// read each other's alerts, pairs or events.
func startEnv(t *testing.T, cfg Config) *Env {
	t.Helper()
	cfg.ModuleRoot = needRunner(t)
	name := fmt.Sprintf("%s-%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), time.Now().UnixNano())
	cfg.Hub.TopicName = name
	cfg.Hub.TableName = name + "-pairs"
	cfg.EventsInbox = name + "-events"
	cfg.Monitor.DedupTable = name + "-dedup"
	cfg.Hub.LeaseTableName = name + "-leases"
	cfg.Log = testLog{t}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	return env
}

func sampleRequest(t *testing.T, root string) []byte {
	t.Helper()
	b, err := os.ReadFile(RequestPath(root))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLocalRun is the end-to-end test of local mode: one local deployment runs the
// sample request through the real ASL and Lambda, checks the replica, reruns
// it, breaks replication to see the failure event reach the hub, and finally
// removes B's provisioner role to see a stage fail with an alert. The subtests
// run in that order on one deployment and each needs the ones before it.
func TestLocalRun(t *testing.T) {
	env := startEnv(t, Config{})
	ctx := context.Background()
	request := sampleRequest(t, env.ModuleRoot())
	req, err := spec.Parse(request)
	if err != nil {
		t.Fatal(err)
	}
	var lines []Progress
	rep, demoErr := env.Demo(ctx, request, func(p Progress) { lines = append(lines, p) })
	if rep == nil || rep.First == nil {
		t.Fatalf("Demo: %v", demoErr)
	}

	t.Run("provision succeeds", func(t *testing.T) {
		first := rep.First
		if !first.Succeeded() {
			t.Fatalf("first execution %s: %s: %s", first.Execution.Status, first.Execution.Error, first.Execution.Cause)
		}
		out := first.Output
		if out.PairID != req.PairID || out.ExecutionARN != first.Execution.ARN || !strings.HasSuffix(out.ExecutionARN, ":"+req.ExecutionName()) {
			t.Errorf("output names pair %q execution %q; run was %q", out.PairID, out.ExecutionARN, first.Execution.ARN)
		}
		if !strings.HasPrefix(out.ARNs.DestinationKey, "arn:aws:kms:us-east-1:222222222222:key/") ||
			!strings.HasPrefix(out.ARNs.SourceKey, "arn:aws:kms:ap-south-1:111111111111:key/") {
			t.Errorf("keys: source %q, destination %q; want A's in ap-south-1 and B's in us-east-1", out.ARNs.SourceKey, out.ARNs.DestinationKey)
		}
		if out.Verification.Outputs["ready"] != "true" {
			t.Errorf("verification = %+v, want ready", out.Verification)
		}
		// The run ends with the nightly run's verification of the new pair: a canary
		// that replicated under the destination key, recorded on the pair.
		if v := out.Verify; v == nil || v.Status != "passed" || v.LatencySeconds <= 0 || v.PairID != req.PairID {
			t.Errorf("the new pair's verification = %+v, want passed with a canary latency", v)
		}
		if first.CanaryWrites != 3 {
			t.Errorf("the canary made %d writes, want 3 (its object, then both versions deleted)", first.CanaryWrites)
		}
		if len(out.Changes()) == 0 || first.MemberWrites == 0 {
			t.Errorf("first execution: %d changes, %d member writes; want both above zero on empty accounts", len(out.Changes()), first.MemberWrites)
		}
		item, ok, err := env.Hub.Pair(ctx, req.PairID)
		if err != nil || !ok {
			t.Fatalf("pair %s registered: %v, %v", req.PairID, ok, err)
		}
		// The rerun registers the pair again, over the same item.
		last := first
		if rep.Second != nil {
			last = rep.Second
		}
		if rep.Breakage != nil && rep.Breakage.Repair != nil {
			last = rep.Breakage.Repair
		}
		if got := attrString(item, "executionArn"); got != last.Execution.ARN {
			t.Errorf("registered executionArn %q, want the last execution's %q", got, last.Execution.ARN)
		}
		if dst, ok := item["destination"].(*ddbtypes.AttributeValueMemberM); !ok || attrString(dst.Value, "keyArn") != out.ARNs.DestinationKey {
			t.Errorf("registered destination %v lacks key %s", item["destination"], out.ARNs.DestinationKey)
		}
	})

	t.Run("failure alarm in A", func(t *testing.T) {
		// The events stage's second route, made by the real Lambda through the
		// simulator's CloudWatch: one alarm, in the source account and region only.
		want := []string{names.AlarmNamePrefix + req.PairID + "-failed-replication"}
		if got := env.Sim.AlarmNames(req.Source.Account, req.Source.Region); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("alarms in %s/%s = %q, want %q", req.Source.Account, req.Source.Region, got, want)
		}
		if got := env.Sim.AlarmNames(req.Destination.Account, req.Destination.Region); len(got) != 0 {
			t.Errorf("alarms in the destination account: %q", got)
		}
	})

	t.Run("progress names every stage", func(t *testing.T) {
		var run1 []string
		var last time.Duration
		for _, p := range lines {
			if p.Run != 1 {
				continue
			}
			run1 = append(run1, p.Stage+" "+p.Status)
			if p.Elapsed < last {
				t.Errorf("%s at %s, after %s: elapsed went back", p.Stage, p.Elapsed, last)
			}
			last = p.Elapsed
		}
		for _, want := range []string{
			"validate SUCCEEDED", "preflight SUCCEEDED", "bucket source SUCCEEDED", "bucket destination SUCCEEDED",
			"key source SUCCEEDED", "key destination SUCCEEDED", "role source SUCCEEDED",
			"keyPolicy source SUCCEEDED", "keyPolicy destination SUCCEEDED", "bucketPolicy destination SUCCEEDED",
			"encryption source SUCCEEDED", "encryption destination SUCCEEDED", "replication source SUCCEEDED",
			"events source SUCCEEDED", "checkReplication SUCCEEDED", "registerPair SUCCEEDED", "notifySuccess SUCCEEDED",
		} {
			if !contains(run1, want) {
				t.Errorf("run 1 progress lacks %q; got %q", want, run1)
			}
		}
		if run1[0] != "validate SUCCEEDED" || run1[1] != "preflight SUCCEEDED" || run1[len(run1)-1] != "notifySuccess SUCCEEDED" {
			t.Errorf("run 1 progress order: %q", run1)
		}
	})

	t.Run("replica in B with B's key", func(t *testing.T) {
		r := rep.Replica
		if r.ReplicaStatus != "REPLICA" || r.SourceStatus != "COMPLETED" {
			t.Errorf("statuses: source %q, replica %q", r.SourceStatus, r.ReplicaStatus)
		}
		if r.ReplicaKMSKeyID == "" || r.ReplicaKMSKeyID != rep.First.Output.ARNs.DestinationKey {
			t.Errorf("replica key %q, want B's key %q from the execution output", r.ReplicaKMSKeyID, rep.First.Output.ARNs.DestinationKey)
		}
		if r.SourceKMSKeyID != rep.First.Output.ARNs.SourceKey {
			t.Errorf("source object key %q, want A's key %q", r.SourceKMSKeyID, rep.First.Output.ARNs.SourceKey)
		}
		if !r.ReplicaBucketKey {
			t.Error("replica has no S3 Bucket Key; the sample request keeps the default (on)")
		}
		if r.Key != "demo/hello.txt" || r.SourceVersionID == "" || r.ReplicaVersionID != r.SourceVersionID {
			t.Errorf("replica %s versions: source %q, replica %q", r.Key, r.SourceVersionID, r.ReplicaVersionID)
		}
		if r.Latency <= 0 || r.Latency > replicaWaitLimit {
			t.Errorf("latency %s", r.Latency)
		}
	})

	t.Run("second execution changes nothing", func(t *testing.T) {
		if demoErr != nil {
			t.Fatalf("Demo: %v", demoErr)
		}
		second := rep.Second
		if !second.Succeeded() {
			t.Fatalf("second execution %s: %s", second.Execution.Status, second.Execution.Error)
		}
		if ch := second.Output.Changes(); len(ch) != 0 {
			t.Errorf("second execution changes: %+v", ch)
		}
		if second.CanaryWrites != 3 {
			t.Errorf("second execution: the canary made %d writes, want 3", second.CanaryWrites)
		}
		if second.MemberWrites != 0 {
			for _, c := range second.Calls {
				if c.Mutating {
					t.Logf("mutating call: %+v", c)
				}
			}
			t.Errorf("second execution made %d mutating calls in the member accounts", second.MemberWrites)
		}
		if second.Output.ARNs != rep.First.Output.ARNs {
			t.Errorf("second execution ARNs %+v, first %+v", second.Output.ARNs, rep.First.Output.ARNs)
		}
	})

	t.Run("failure alert through the monitor, once per event", func(t *testing.T) {
		testMonitorRoute(t, env, rep, req, demoErr)
	})

	t.Run("replication failure event reaches the hub", func(t *testing.T) {
		if t.Failed() || demoErr != nil {
			t.Skip("needs the provisioned pair")
		}
		// Take away the destination bucket policy's grant to the replication
		// role, as someone editing B's bucket policy by hand might.
		dst := awsclient.S3(env.RootConfig(req.Destination.Account, req.Destination.Region))
		if _, err := dst.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(req.Destination.Bucket)}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.ReceiveReplicationEvents(ctx, 0); err != nil { // nothing earlier counts
			t.Fatal(err)
		}
		before, _ := env.Forwarded()
		r, err := env.PutAndCheck(ctx, req, "demo/after-policy-change.txt", rep.First.Output.ARNs.DestinationKey)
		if err == nil {
			t.Fatalf("replica written without the bucket policy grant: %+v", r)
		}
		status, code, _, _ := env.Sim.ObjectReplication(req.Source.Bucket, "demo/after-policy-change.txt", r.SourceVersionID)
		if status != "FAILED" || code != "DstPutObjectNotPermitted" {
			t.Fatalf("source replication %s %s, want FAILED DstPutObjectNotPermitted", status, code)
		}
		got, err := env.ReceiveReplicationEvents(ctx, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("hub received %d replication events, want 1: %+v", len(got), got)
		}
		ev := got[0]
		if ev.Event.Source != names.ReplicationEventSource || ev.Event.DetailType != names.ReplicationEventDetailType {
			t.Errorf("event source %q detail-type %q", ev.Event.Source, ev.Event.DetailType)
		}
		wantQueue := "arn:aws:sqs:ap-south-1:111111111111:" + names.EventsQueueName
		if ev.Record.EventSource != "aws:sqs" || ev.Record.EventSourceARN != wantQueue || ev.Record.AWSRegion != "ap-south-1" {
			t.Errorf("record from %q %q %q, want the events queue %s", ev.Record.EventSource, ev.Record.EventSourceARN, ev.Record.AWSRegion, wantQueue)
		}
		if len(ev.Notification.Records) != 1 {
			t.Fatalf("notification has %d records", len(ev.Notification.Records))
		}
		n := ev.Notification.Records[0]
		if n.EventName != "Replication:OperationFailedReplication" || n.S3.Bucket.Name != req.Source.Bucket || n.S3.Object.Key != "demo/after-policy-change.txt" {
			t.Errorf("notification %s for s3://%s/%s", n.EventName, n.S3.Bucket.Name, n.S3.Object.Key)
		}
		if d := n.ReplicationEventData; d == nil || d.FailureReason != "DstPutObjectNotPermitted" || d.ReplicationRuleID != rep.First.Output.RuleID {
			t.Errorf("replicationEventData %+v, want DstPutObjectNotPermitted for rule %s", d, rep.First.Output.RuleID)
		}
		if n, errs := env.Forwarded(); n-before != 1 || len(errs) != 0 {
			t.Errorf("forwarded %d events, errors %v", n, errs)
		}
	})

	t.Run("missing destination provisioner role fails the stage and alerts", func(t *testing.T) {
		if _, err := env.Hub.ReceiveAlerts(ctx, 0); err != nil { // drop the success notices
			t.Fatal(err)
		}
		// B without MemberStack's role: delete it as B's root.
		b := awsclient.IAM(env.RootConfig(localaws.DestinationAccount, "us-east-1"))
		role := aws.String(names.ProvisionerRoleName)
		if _, err := b.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: role, PolicyName: aws.String("s3crr-provisioner")}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: role}); err != nil {
			t.Fatal(err)
		}
		var progress []Progress
		run, err := env.Provision(ctx, request, req.ExecutionName()+"-no-role", func(p Progress) { progress = append(progress, p) })
		if err != nil {
			t.Fatal(err)
		}
		x := run.Execution
		if x.Status != localhub.StatusFailed || x.Error != "preflight: AccessDenied" {
			t.Fatalf("execution %s with %q (%s), want FAILED with \"preflight: AccessDenied\"", x.Status, x.Error, x.Cause)
		}
		roleARN := "arn:aws:iam::222222222222:role/" + names.ProvisionerRoleName
		if !strings.Contains(x.Cause, "stage preflight failed with AccessDenied") || !strings.Contains(x.Cause, roleARN) {
			t.Errorf("Fail cause %q, want the stage, the error and B's role", x.Cause)
		}
		if run.MemberWrites != 0 {
			t.Errorf("a failed preflight made %d writes", run.MemberWrites)
		}
		if !containsProgress(progress, "preflight", StatusFailed, "AccessDenied") {
			t.Errorf("progress %+v lacks preflight FAILED AccessDenied", progress)
		}

		alerts, err := env.Hub.ReceiveAlerts(ctx, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var failure *statemachine.Failure
		for _, a := range alerts {
			if a.MessageAttributes["outcome"].Value != "failed" {
				continue
			}
			if a.MessageAttributes["stage"].Value != "preflight" || a.MessageAttributes["error"].Value != "AccessDenied" {
				t.Errorf("alert attributes %+v", a.MessageAttributes)
			}
			if !strings.Contains(a.Subject, "preflight") {
				t.Errorf("alert subject %q does not name the stage", a.Subject)
			}
			var f statemachine.Failure
			if err := json.Unmarshal([]byte(a.Message), &f); err != nil {
				t.Fatalf("alert message %q: %v", a.Message, err)
			}
			failure = &f
		}
		if failure == nil {
			t.Fatalf("no failure alert among %d alerts", len(alerts))
		}
		if failure.Stage != "preflight" || failure.Error != "AccessDenied" || failure.ExecutionARN != x.ARN ||
			!strings.Contains(failure.Cause, "sts:AssumeRole") || !strings.Contains(failure.Cause, roleARN) {
			t.Errorf("alert %+v, want stage preflight, AccessDenied for sts:AssumeRole on %s, execution %s", failure, roleARN, x.ARN)
		}
	})
}

func attrString(item map[string]ddbtypes.AttributeValue, key string) string {
	if s, ok := item[key].(*ddbtypes.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsProgress(ps []Progress, stage, status, errName string) bool {
	for _, p := range ps {
		if p.Stage == stage && p.Status == status && p.Error == errName {
			return true
		}
	}
	return false
}
