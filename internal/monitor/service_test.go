package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestService(t testing.TB) (*Service, *fakeDB, *fakeSNS, *clock) {
	t.Helper()
	db, pub := newFakeDB(), &fakeSNS{}
	db.addPair("payments-archive", "payments-src", "s3crr-payments-archive")
	svc := New(Config{PairsTable: "s3crr-pairs", DedupTable: "s3crr-alert-dedup", TopicARN: "arn:aws:sns:eu-west-1:333333333333:s3crr-alerts", Window: time.Hour}, db, pub)
	c := &clock{t: time.Date(2026, 12, 3, 4, 11, 0, 0, time.UTC)}
	svc.now = c.now
	return svc, db, pub, c
}

// failure returns an S3 notification for one failed object of the managed pair.
func failure(reason string, seq int) []byte {
	var ev map[string][]map[string]any
	if err := json.Unmarshal(mustRead("s3-failed-dst-put.json"), &ev); err != nil {
		panic(err)
	}
	r := ev["Records"][0]
	r["replicationEventData"].(map[string]any)["failureReason"] = reason
	r["s3"].(map[string]any)["object"].(map[string]any)["sequencer"] = fmt.Sprintf("%018X", seq)
	b, _ := json.Marshal(ev)
	return b
}

func mustRead(name string) []byte {
	b, err := readFile("testdata/" + name)
	if err != nil {
		panic(err)
	}
	return b
}

func TestHandleAlertsManagedPair(t *testing.T) {
	svc, _, pub, _ := newTestService(t)
	if err := svc.Handle(t.Context(), readEvent(t, "pipe-string-body.json")); err != nil {
		t.Fatal(err)
	}
	alerts := pub.alerts()
	if len(alerts) != 1 {
		t.Fatalf("%d alerts", len(alerts))
	}
	a := alerts[0]
	if !a.Managed || a.Pair != "payments-archive" || a.Source.Account != "111111111111" || a.Dest.Account != "222222222222" || a.Dest.Region != "us-east-1" {
		t.Errorf("pair facts missing: %+v", a)
	}
	attrs := pub.msgs[0].MessageAttributes
	for k, want := range map[string]string{"pair": "payments-archive", "reason": "DstPutObjectNotPermitted", "severity": "failure", "account": "222222222222"} {
		if got := *attrs[k].StringValue; got != want {
			t.Errorf("attribute %s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(a.Body, "S3crrPaymentsArchiveReplicaEncrypt") || !strings.Contains(a.Body, "arn:aws:kms:us-east-1:222222222222:key/") {
		t.Errorf("body does not name the destination key statement:\n%s", a.Body)
	}
}

func TestHandleUnmanagedBucketStillAlerts(t *testing.T) {
	svc, _, pub, _ := newTestService(t)
	if err := svc.Handle(t.Context(), readEvent(t, "unmanaged-bucket.json")); err != nil {
		t.Fatal(err)
	}
	a := pub.alerts()
	if len(a) != 1 || a[0].Managed || a[0].Pair != UnmanagedPair || *pub.msgs[0].MessageAttributes["pair"].StringValue != UnmanagedPair {
		t.Fatalf("want one unmanaged alert, got %+v", a)
	}
	if !strings.Contains(a[0].Body, "unmanaged") || !strings.Contains(a[0].Body, "someone-elses-bucket") {
		t.Errorf("body:\n%s", a[0].Body)
	}
}

// A registered pair whose source bucket differs from the event's is not this event's pair.
func TestHandleRuleIDOfAnotherBucketIsUnmanaged(t *testing.T) {
	svc, db, pub, _ := newTestService(t)
	db.addPair("payments-archive", "other-src", "s3crr-payments-archive")
	if err := svc.Handle(t.Context(), failure("DstPutObjectNotPermitted", 1)); err != nil {
		t.Fatal(err)
	}
	if a := pub.alerts(); len(a) != 1 || a[0].Managed {
		t.Fatalf("%+v", a)
	}
}

func TestHandleNoAlert(t *testing.T) {
	for _, f := range []string{"s3-test-event.json", "pipe-test-event.json", "alarm-ok.json", "object-created.json", `not json`} {
		t.Run(f, func(t *testing.T) {
			svc, db, pub, _ := newTestService(t)
			payload := []byte(f)
			if strings.HasSuffix(f, ".json") {
				payload = readEvent(t, f)
			}
			if err := svc.Handle(t.Context(), payload); err != nil {
				t.Fatal(err)
			}
			if len(pub.msgs) != 0 || db.count("TransactWriteItems") != 0 {
				t.Errorf("no-alert input published %d, wrote %d", len(pub.msgs), db.count("TransactWriteItems"))
			}
		})
	}
}

func TestDuplicateDeliveryAlertsOnce(t *testing.T) {
	svc, _, pub, c := newTestService(t)
	for _, f := range []string{"s3-failed-dst-put.json", "pipe-string-body.json", "pipe-parsed-body.json", "pipe-string-body.json"} {
		if err := svc.Handle(t.Context(), readEvent(t, f)); err != nil {
			t.Fatal(err)
		}
	}
	// Even after the window: a redelivered occurrence is not a new failure.
	c.t = c.t.Add(2 * time.Hour)
	if err := svc.Handle(t.Context(), readEvent(t, "pipe-parsed-body.json")); err != nil {
		t.Fatal(err)
	}
	if len(pub.msgs) != 1 {
		t.Errorf("%d alerts for one occurrence delivered 5 times", len(pub.msgs))
	}
}

func TestStormOneAlertCarryingTheCount(t *testing.T) {
	svc, db, pub, c := newTestService(t)
	const storm = 500
	for i := range storm {
		if err := svc.Handle(t.Context(), failure("DstPutObjectNotPermitted", i)); err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(time.Second)
	}
	if len(pub.msgs) != 1 {
		t.Fatalf("%d alerts for a storm in one window", len(pub.msgs))
	}
	if a := pub.alerts()[0]; a.Count != 1 {
		t.Errorf("first alert count %d", a.Count)
	}
	// The window ends; the next failure alerts with every repeat since the first alert.
	c.t = c.t.Add(time.Hour)
	if err := svc.Handle(t.Context(), failure("DstPutObjectNotPermitted", storm)); err != nil {
		t.Fatal(err)
	}
	alerts := pub.alerts()
	if len(alerts) != 2 {
		t.Fatalf("%d alerts after the window", len(alerts))
	}
	if got := alerts[1].Count; got != storm {
		t.Errorf("second alert count = %d, want %d (499 suppressed + this one)", got, storm)
	}
	if !strings.Contains(alerts[1].Body, fmt.Sprintf("%d events for this pair and reason since 2026-12-03T04:11:00Z", storm)) {
		t.Errorf("body does not report the count and since:\n%s", alerts[1].Body)
	}
	t.Logf("DynamoDB calls: %v", db.calls)
}

func TestThreeReasonsThreeAlerts(t *testing.T) {
	svc, _, pub, _ := newTestService(t)
	reasons := []string{"DstPutObjectNotPermitted", "SrcGetObjectNotPermitted", "DstKmsKeyInvalidState"}
	for i := range 30 {
		if err := svc.Handle(t.Context(), failure(reasons[i%3], i)); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int{}
	for _, a := range pub.alerts() {
		got[a.Reason]++
	}
	if len(got) != 3 || got[reasons[0]] != 1 || got[reasons[1]] != 1 || got[reasons[2]] != 1 {
		t.Errorf("alerts by reason: %v", got)
	}
}

// Aliases share the window of their code.
func TestAliasSharesTheWindow(t *testing.T) {
	svc, _, pub, _ := newTestService(t)
	_ = svc.Handle(t.Context(), failure("DstMultipartUploadNotPermitted", 1))
	_ = svc.Handle(t.Context(), failure("DstMultipartPartUploadNotPermitted", 2))
	if len(pub.msgs) != 1 {
		t.Errorf("%d alerts", len(pub.msgs))
	}
}

// An SNS error fails the invocation; the retry (the same payload) publishes exactly once.
func TestPublishErrorRetriedOnce(t *testing.T) {
	svc, _, pub, _ := newTestService(t)
	pub.fail = &smithy.GenericAPIError{Code: "KMSThrottlingException", Message: "throttled"}
	payload := readEvent(t, "pipe-string-body.json")
	err := svc.Handle(t.Context(), payload)
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "KMSThrottlingException" {
		t.Fatalf("Handle = %v, want the SNS error", err)
	}
	for range 3 {
		if err := svc.Handle(t.Context(), payload); err != nil {
			t.Fatal(err)
		}
	}
	if len(pub.msgs) != 1 {
		t.Errorf("%d alerts after a failed publish and 3 retries, want 1", len(pub.msgs))
	}
}

// A DynamoDB error fails the invocation (EventBridge retries); the retry alerts once.
func TestDynamoDBErrorFailsTheInvocation(t *testing.T) {
	for _, op := range []string{"GetItem", "TransactWriteItems", "UpdateItem"} {
		t.Run(op, func(t *testing.T) {
			svc, db, pub, _ := newTestService(t)
			db.fail[op] = &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException"}
			payload := readEvent(t, "pipe-parsed-body.json")
			if err := svc.Handle(t.Context(), payload); err == nil {
				t.Fatal("Handle succeeded despite a DynamoDB error")
			}
			if err := svc.Handle(t.Context(), payload); err != nil {
				t.Fatal(err)
			}
			if len(pub.msgs) != 1 {
				t.Errorf("%d alerts", len(pub.msgs))
			}
		})
	}
}

// A malformed record is dropped; the rest of the batch alerts.
func TestMalformedRecordDoesNotFailTheBatch(t *testing.T) {
	svc, _, pub, _ := newTestService(t)
	if err := svc.Handle(t.Context(), readEvent(t, "sqs-event.json")); err != nil {
		t.Fatal(err)
	}
	if len(pub.msgs) != 2 {
		t.Errorf("%d alerts from 2 good records and 1 malformed", len(pub.msgs))
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{EnvPairsTable: "s3crr-pairs", EnvDedupTable: "s3crr-alert-dedup", EnvTopicARN: "arn:aws:sns:eu-west-1:333333333333:s3crr-alerts"}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || c.Window != DefaultWindow {
		t.Fatalf("%+v %v", c, err)
	}
	env[EnvWindow] = "15m"
	if c, _ := ConfigFromEnv(func(k string) string { return env[k] }); c.Window != 15*time.Minute {
		t.Errorf("window %s", c.Window)
	}
	for k, v := range map[string]string{EnvWindow: "soon", EnvDedupTable: "", EnvTopicARN: ""} {
		bad := map[string]string{}
		for a, b := range env {
			bad[a] = b
		}
		bad[k] = v
		if _, err := ConfigFromEnv(func(k string) string { return bad[k] }); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: error %v does not name it", k, v, err)
		}
	}
}
