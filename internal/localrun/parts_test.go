package localrun

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/statemachine"
)

func provisionLabels(t *testing.T) map[string]string {
	t.Helper()
	def, err := statemachine.Load(statemachine.Provision, map[string]string{
		statemachine.ProvisionFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:f",
		statemachine.AlertTopicArn:        "arn:aws:sns:us-east-1:000000000000:t",
		statemachine.PairsTableName:       "p",
		statemachine.VerifyFunctionArn:    "arn:aws:lambda:us-east-1:000000000000:function:v",
	})
	if err != nil {
		t.Fatal(err)
	}
	labels, err := stageLabels(def)
	if err != nil {
		t.Fatal(err)
	}
	return labels
}

func TestStageLabelsOfTheProvisionStateMachine(t *testing.T) {
	labels := provisionLabels(t)
	tests := []struct {
		give string
		want string // "" means the state has no progress line
	}{
		{give: "Validate", want: "validate"},
		{give: "Preflight", want: "preflight"},
		{give: "SourceBucket", want: "bucket source"}, // inside a Parallel branch
		{give: "DestinationKey", want: "key destination"},
		{give: "DestinationBucketPolicy", want: "bucketPolicy destination"},
		{give: "CheckReplication", want: "checkReplication"},
		{give: "RegisterPair", want: "registerPair"}, // DynamoDB task
		{give: "NotifyFailure", want: "notifyFailure"},
		{give: "WaitBeforeRecheck", want: "waitBeforeRecheck"},
		{give: "BucketsAndKeys", want: ""}, // Parallel
		{give: "IsReplicationReady", want: ""},
		{give: "PreflightFailed", want: ""}, // Pass
		{give: "ProvisioningFailed", want: ""},
	}
	for _, tt := range tests {
		got, ok := labels[tt.give]
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("label of %s = %q (present %v), want %q", tt.give, got, ok, tt.want)
		}
	}
}

func TestProgressFromRunnerEvents(t *testing.T) {
	labels := provisionLabels(t)
	tests := []struct {
		name string
		give localhub.Event
		want *Progress
	}{
		{
			name: "task exited",
			give: localhub.Event{Type: "StateExited", State: "Preflight", StateType: "Task", ElapsedMs: 1200},
			want: &Progress{Elapsed: 1200 * time.Millisecond, State: "Preflight", Stage: "preflight", Status: StatusSucceeded},
		},
		{
			name: "task failed",
			give: localhub.Event{Type: "StateFailed", State: "DestinationKey", StateType: "Task", Error: "PrincipalNotReady", ElapsedMs: 5},
			want: &Progress{Elapsed: 5 * time.Millisecond, State: "DestinationKey", Stage: "key destination", Status: StatusFailed, Error: "PrincipalNotReady"},
		},
		{
			name: "task retried",
			give: localhub.Event{Type: "StateRetried", State: "DestinationKey", StateType: "Task", Attempt: 2},
			want: &Progress{State: "DestinationKey", Stage: "key destination", Status: StatusRetrying, Attempt: 2},
		},
		{
			name: "wait entered",
			give: localhub.Event{Type: "StateEntered", State: "WaitBeforeRecheck", StateType: "Wait"},
			want: &Progress{State: "WaitBeforeRecheck", Stage: "waitBeforeRecheck", Status: StatusWaiting},
		},
		{name: "task entered", give: localhub.Event{Type: "StateEntered", State: "Preflight", StateType: "Task"}},
		{name: "wait exited", give: localhub.Event{Type: "StateExited", State: "WaitBeforeRecheck", StateType: "Wait"}},
		{name: "parallel failed", give: localhub.Event{Type: "StateFailed", State: "BucketsAndKeys", StateType: "Parallel", Error: "AccessDenied"}},
		{name: "pass exited", give: localhub.Event{Type: "StateExited", State: "Summarize", StateType: "Pass"}},
		{name: "branch started", give: localhub.Event{Type: "ParallelBranchStarted", Parent: "BucketsAndKeys"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Progress
			tr := &progressTracker{labels: labels, emit: func(p Progress) { got = append(got, p) }}
			tr.observe(tt.give)
			switch {
			case tt.want == nil && len(got) != 0:
				t.Errorf("got %+v, want no line", got)
			case tt.want != nil && (len(got) != 1 || got[0] != *tt.want):
				t.Errorf("got %+v, want %+v", got, *tt.want)
			}
		})
	}
}

func TestPipeRecordIsTheSQSRecordWithTheS3MessageAsBody(t *testing.T) {
	body := []byte(`{"Records":[{"eventVersion":"2.2","eventName":"Replication:OperationFailedReplication"}]}`)
	ev := localaws.Event{
		TargetARN: "arn:aws:sqs:ap-south-1:111111111111:s3crr-replication-events",
		Bucket:    "payments-src", Account: "111111111111", Region: "ap-south-1",
		EventName: "Replication:OperationFailedReplication", Body: body,
	}
	b, err := pipeRecord(ev)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"messageId", "receiptHandle", "body", "md5OfBody", "attributes", "messageAttributes", "eventSource", "eventSourceARN", "awsRegion"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("record lacks %q: %s", k, b)
		}
	}
	var rec events.SQSMessage
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(body)
	if rec.Body != string(body) || rec.Md5OfBody != hex.EncodeToString(sum[:]) {
		t.Errorf("body %q md5 %s: want the S3 message as a string and its MD5", rec.Body, rec.Md5OfBody)
	}
	if rec.EventSource != "aws:sqs" || rec.EventSourceARN != ev.TargetARN || rec.AWSRegion != "ap-south-1" {
		t.Errorf("source %q %q %q", rec.EventSource, rec.EventSourceARN, rec.AWSRegion)
	}
	if len(rec.MessageId) != 36 || strings.Count(rec.MessageId, "-") != 4 || rec.MessageId[14] != '4' {
		t.Errorf("messageId %q is not a v4 UUID", rec.MessageId)
	}
	again, _ := pipeRecord(ev)
	var rec2 events.SQSMessage
	_ = json.Unmarshal(again, &rec2)
	if rec2.MessageId == rec.MessageId {
		t.Error("two records share a messageId")
	}
}

func TestOnlyTheEventsQueueIsForwarded(t *testing.T) {
	tests := []struct {
		give string
		want bool
	}{
		{give: "arn:aws:sqs:ap-south-1:111111111111:s3crr-replication-events", want: true},
		{give: "arn:aws:sqs:eu-west-1:333333333333:s3crr-replication-events", want: true},
		{give: "arn:aws:sqs:ap-south-1:111111111111:s3crr-replication-events-dlq", want: false},
		{give: "arn:aws:sqs:ap-south-1:111111111111:someone-elses-queue", want: false},
		{give: "arn:aws:sns:ap-south-1:111111111111:s3crr-replication-events", want: false},
		{give: "arn:aws:lambda:ap-south-1:111111111111:function:s3crr-replication-events", want: false},
	}
	for _, tt := range tests {
		if got := isEventsQueue(tt.give); got != tt.want {
			t.Errorf("isEventsQueue(%s) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestReplicaProblems(t *testing.T) {
	const bKey = "arn:aws:kms:us-east-1:222222222222:key/b"
	good := Replica{
		SourceVersionID: "v1", ReplicaVersionID: "v1", SourceStatus: "COMPLETED", ReplicaStatus: "REPLICA",
		ReplicaKMSKeyID: bKey, DestinationKeyARN: bKey,
	}
	tests := []struct {
		name   string
		change func(*Replica)
		want   string // a fragment of the one problem; "" for none
	}{
		{name: "as promised", change: func(*Replica) {}},
		{name: "source pending", change: func(r *Replica) { r.SourceStatus = "PENDING" }, want: "source status"},
		{name: "source failed", change: func(r *Replica) { r.SourceStatus = "FAILED" }, want: "source status"},
		{name: "not a replica", change: func(r *Replica) { r.ReplicaStatus = "" }, want: "replica status"},
		{name: "A's key", change: func(r *Replica) { r.ReplicaKMSKeyID = "arn:aws:kms:ap-south-1:111111111111:key/a" }, want: "destination key"},
		{name: "alias instead of ARN", change: func(r *Replica) { r.ReplicaKMSKeyID = "alias/s3crr-dst" }, want: "destination key"},
		{name: "no expected key", change: func(r *Replica) { r.DestinationKeyARN, r.ReplicaKMSKeyID = "", "" }, want: "destination key"},
		{name: "other version", change: func(r *Replica) { r.ReplicaVersionID = "v0" }, want: "version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			tt.change(&r)
			got := r.Problems()
			switch {
			case tt.want == "" && len(got) != 0:
				t.Errorf("problems %q, want none", got)
			case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
				t.Errorf("problems %q, want one about %q", got, tt.want)
			}
		})
	}
}

func TestTaggingSelectsTheTagFilter(t *testing.T) {
	tests := []struct {
		give map[string]string
		want url.Values
	}{
		{give: nil, want: url.Values{}},
		{give: map[string]string{"replicate": "yes"}, want: url.Values{"replicate": {"yes"}}},
		{give: map[string]string{"team": "a&b", "class": "gold tier"}, want: url.Values{"team": {"a&b"}, "class": {"gold tier"}}},
	}
	for _, tt := range tests {
		got, err := url.ParseQuery(tagging(tt.give))
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("tagging(%v) decodes to %v (%v), want %v", tt.give, got, err, tt.want)
		}
	}
}
