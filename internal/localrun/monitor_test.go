package localrun

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/spec"
)

// testMonitorRoute is TestLocalRun's evidence for the monitor: the demo's break (an
// explicit Deny of s3:ReplicateObject) made the simulator record FAILED, and the event went
// queue → Pipe → member bus → hub bus → rule → the real monitor binary in kumo → DynamoDB
// de-dup → SNS → the SQS subscriber, which read an alert naming the code, the pair, the
// object and the fix. Then the same hub event is put on the bus again, followed by a
// second event for another reason: the monitor's queue in kumo is FIFO, so once the
// second one's alert arrives the redelivery has been handled, and it must not have
// alerted.
func testMonitorRoute(t *testing.T, env *Env, rep *Report, req spec.Request, demoErr error) {
	ctx := context.Background()
	b := rep.Breakage
	if b == nil || b.Alert.Pair == "" {
		t.Fatalf("the demo's break step did not get to the alert: %v", demoErr)
	}
	if b.Code != BrokenCode {
		t.Errorf("S3 recorded %s while broken, want %s", b.Code, BrokenCode)
	}
	a := b.Alert
	if a.Pair != req.PairID || a.Reason != BrokenCode || a.Object != b.Failed.Key || a.VersionID != b.Failed.SourceVersionID {
		t.Errorf("alert for pair %q reason %q object %q version %q; want %s, %s, %s, %s", a.Pair, a.Reason, a.Object, a.VersionID, req.PairID, BrokenCode, b.Failed.Key, b.Failed.SourceVersionID)
	}
	if !strings.Contains(a.Subject, BrokenCode) || !strings.Contains(a.Subject, req.PairID) {
		t.Errorf("subject %q does not name the code and the pair", a.Subject)
	}
	if a.Attributes["pair"] != req.PairID || a.Attributes["reason"] != BrokenCode || a.Attributes["severity"] != "failure" {
		t.Errorf("message attributes %v", a.Attributes)
	}
	if !slices.ContainsFunc(a.Fix, func(f string) bool { return strings.Contains(f, "crr apply --rerun") }) || a.Cause == "" {
		t.Errorf("alert has no cause or no re-run fix: %q %q", a.Cause, a.Fix)
	}
	if a.Count != 1 {
		t.Errorf("alert counts %d events, want 1", a.Count)
	}
	if b.Repair == nil || !b.Repair.Succeeded() || len(b.Repair.Output.Changes()) == 0 {
		t.Errorf("repair run: %+v, want a successful execution that changed the role policy back", b.Repair)
	}
	if p := b.After.Problems(); len(p) > 0 {
		t.Errorf("object after the repair: %v", p)
	}

	// The inbox rule copied the failure event: put it on the hub bus again, as an
	// EventBridge retry or a Pipe re-reading the message would.
	evs, err := env.ReceiveReplicationEvents(ctx, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(evs, func(ev HubEvent) bool {
		return len(ev.Notification.Records) == 1 && ev.Notification.Records[0].S3.Object.Key == b.Failed.Key
	})
	if i < 0 {
		t.Fatalf("the hub inbox has no event for %s among %d", b.Failed.Key, len(evs))
	}
	occurrences, windows, err := env.DedupItems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if occurrences < 1 || windows < 1 {
		t.Errorf("de-dup table has %d occurrences and %d windows after the alert", occurrences, windows)
	}
	dup := evs[i]
	other := dup
	other.Notification.Records = slices.Clone(dup.Notification.Records)
	rd := *other.Notification.Records[0].ReplicationEventData
	rd.FailureReason = "DstKmsKeyInvalidState"
	other.Notification.Records[0].ReplicationEventData = &rd
	eb := eventbridge.NewFromConfig(env.Hub.AWSConfig())
	for _, detail := range [][]byte{dup.Event.Detail, reDetail(t, other)} {
		out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			EventBusName: aws.String(env.EventBusName), Source: aws.String(names.ReplicationEventSource),
			DetailType: aws.String(names.ReplicationEventDetailType), Detail: aws.String(string(detail)),
		}}})
		if err != nil || out.FailedEntryCount > 0 {
			t.Fatalf("put event: %v %+v", err, out)
		}
	}
	got, err := env.WaitMonitorAlerts(ctx, req.PairID, "DstKmsKeyInvalidState", monitorAlertWait)
	if err != nil || FindAlert(got, req.PairID, "DstKmsKeyInvalidState") < 0 {
		t.Fatalf("no alert for the second reason: %+v, %v", got, err)
	}
	// Every alert that arrived up to the second reason's: the duplicate made none.
	if len(got) != 1 {
		t.Errorf("%d alerts, want only the second reason's (the redelivered event alerted again?): %+v", len(got), got)
	}
	after, _, err := env.DedupItems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != occurrences+1 {
		t.Errorf("occurrences %d after a redelivery and one new event, want %d", after, occurrences+1)
	}
}

// reDetail renders a hub event's detail again after its notification was changed: the
// S3 notification as the SQS record's string body, as the Pipe puts it.
func reDetail(t *testing.T, ev HubEvent) []byte {
	t.Helper()
	body, err := json.Marshal(ev.Notification)
	if err != nil {
		t.Fatal(err)
	}
	rec := ev.Record
	rec.Body = string(body)
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
