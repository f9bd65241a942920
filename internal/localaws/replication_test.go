package localaws

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Unit tests of the replication engine that build model state directly. The permission
// and key checks run through the real S3, KMS, IAM and STS handlers in e2e_test.go.

func replTestRule(id string, priority int32, dest string, mut func(*replicationRule)) *replicationRule {
	r := &replicationRule{
		id: id, priority: priority, v2: true, hasPriority: true, status: "Enabled",
		filterShape: "prefix", deleteMarkerReplication: true, hasDeleteMarkerElement: true,
		sseKMSEncryptedObjects: true, destBucketARN: "arn:aws:s3:::" + dest,
	}
	if mut != nil {
		mut(r)
	}
	return r
}

func TestReplSelectRules(t *testing.T) {
	obj := func(key string, mut func(*objectVersion)) *objectVersion {
		v := &objectVersion{key: key, versionID: "v1", sse: "aws:kms"}
		if mut != nil {
			mut(v)
		}
		return v
	}
	marker := func(v *objectVersion) { v.isDeleteMarker, v.sse = true, "" }
	tests := []struct {
		name  string
		rules []*replicationRule
		give  *objectVersion
		want  []string // rule IDs, one per destination
	}{
		{
			name:  "prefix matches",
			rules: []*replicationRule{replTestRule("r", 1, "dst", func(r *replicationRule) { r.prefix = "docs/" })},
			give:  obj("docs/a.txt", nil),
			want:  []string{"r"},
		},
		{
			name:  "prefix does not match",
			rules: []*replicationRule{replTestRule("r", 1, "dst", func(r *replicationRule) { r.prefix = "docs/" })},
			give:  obj("tmp/a.txt", nil),
		},
		{
			name:  "disabled rule is ignored",
			rules: []*replicationRule{replTestRule("r", 1, "dst", func(r *replicationRule) { r.status = "Disabled" })},
			give:  obj("a", nil),
		},
		{
			name: "highest priority wins for one destination",
			rules: []*replicationRule{
				replTestRule("low", 1, "dst", nil),
				replTestRule("high", 5, "dst", func(r *replicationRule) { r.prefix = "logs/" }),
				replTestRule("mid", 3, "dst", nil),
			},
			give: obj("logs/x", nil),
			want: []string{"high"},
		},
		{
			name: "a non-matching higher priority rule does not win",
			rules: []*replicationRule{
				replTestRule("low", 1, "dst", nil),
				replTestRule("high", 5, "dst", func(r *replicationRule) { r.prefix = "logs/" }),
			},
			give: obj("data/x", nil),
			want: []string{"low"},
		},
		{
			name: "each destination gets its own rule",
			rules: []*replicationRule{
				replTestRule("to-b", 1, "b", nil),
				replTestRule("to-c", 2, "c", nil),
			},
			give: obj("x", nil),
			want: []string{"to-b", "to-c"},
		},
		{
			name: "tag filter needs every tag",
			rules: []*replicationRule{replTestRule("r", 1, "dst", func(r *replicationRule) {
				r.filterTags, r.deleteMarkerReplication = map[string]string{"a": "1", "b": "2"}, false
			})},
			give: obj("x", func(v *objectVersion) { v.tags = map[string]string{"a": "1"} }),
		},
		{
			name: "tag filter matches",
			rules: []*replicationRule{replTestRule("r", 1, "dst", func(r *replicationRule) {
				r.filterTags, r.deleteMarkerReplication = map[string]string{"a": "1"}, false
			})},
			give: obj("x", func(v *objectVersion) { v.tags = map[string]string{"a": "1", "z": "9"} }),
			want: []string{"r"},
		},
		{
			name:  "delete marker with DeleteMarkerReplication enabled",
			rules: []*replicationRule{replTestRule("r", 1, "dst", nil)},
			give:  obj("x", marker),
			want:  []string{"r"},
		},
		{
			name:  "delete marker with DeleteMarkerReplication disabled",
			rules: []*replicationRule{replTestRule("r", 1, "dst", func(r *replicationRule) { r.deleteMarkerReplication = false })},
			give:  obj("x", marker),
		},
		{
			name: "delete markers always replicate under a V1 rule",
			rules: []*replicationRule{replTestRule("r", 0, "dst", func(r *replicationRule) {
				r.v2, r.hasPriority, r.filterShape, r.deleteMarkerReplication, r.hasDeleteMarkerElement = false, false, "", false, false
			})},
			give: obj("x", marker),
			want: []string{"r"},
		},
		{
			name: "the winning rule decides for delete markers",
			rules: []*replicationRule{
				replTestRule("low", 1, "dst", nil),
				replTestRule("high", 2, "dst", func(r *replicationRule) { r.deleteMarkerReplication = false }),
			},
			give: obj("x", marker),
		},
		{
			name:  "SSE-KMS object without SseKmsEncryptedObjects",
			rules: []*replicationRule{replTestRule("r", 1, "dst", func(r *replicationRule) { r.sseKMSEncryptedObjects = false })},
			give:  obj("x", nil),
		},
		{
			name:  "SSE-S3 object needs no SseKmsEncryptedObjects",
			rules: []*replicationRule{replTestRule("r", 1, "dst", func(r *replicationRule) { r.sseKMSEncryptedObjects = false })},
			give:  obj("x", func(v *objectVersion) { v.sse = "AES256" }),
			want:  []string{"r"},
		},
		{
			name:  "GLACIER objects are not replicated",
			rules: []*replicationRule{replTestRule("r", 1, "dst", nil)},
			give:  obj("x", func(v *objectVersion) { v.storageClass = "GLACIER" }),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := replSelectRules(&replicationConfig{role: "arn:aws:iam::111111111111:role/r", rules: tt.rules}, tt.give)
			var ids []string
			for _, r := range got {
				ids = append(ids, r.id)
			}
			if !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("selected %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestScheduleReplicationMarksOnlySelectedVersions(t *testing.T) {
	tests := []struct {
		name       string
		give       *objectVersion
		wantStatus string
	}{
		{"selected version goes PENDING", &objectVersion{key: "docs/a", versionID: "v1"}, replPending},
		{"unselected version gets no status", &objectVersion{key: "tmp/a", versionID: "v1"}, ""},
		{"replica is not replicated again", &objectVersion{key: "docs/a", versionID: "v1", replicationStatus: replReplica}, replReplica},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A long delay keeps the task queued; Close drops it.
			s := New(Options{ReplicationDelay: time.Hour})
			b := &bucket{name: "src", account: SourceAccount, region: "ap-south-1", versioning: "Enabled",
				objects: map[string][]*objectVersion{tt.give.key: {tt.give}},
				replication: &replicationConfig{role: "arn:aws:iam::111111111111:role/r",
					rules: []*replicationRule{replTestRule("r", 1, "dst", func(r *replicationRule) { r.prefix = "docs/" })}}}
			s.mu.Lock()
			s.buckets["src"] = b
			s.scheduleReplication(b, tt.give)
			pending := s.repl.pending
			s.mu.Unlock()

			status, _, _, ok := s.ObjectReplication("src", tt.give.key, "")
			if !ok || status != tt.wantStatus {
				t.Errorf("status %q (found %v), want %q", status, ok, tt.wantStatus)
			}
			wantPending := 0
			if tt.wantStatus == replPending {
				wantPending = 1
			}
			if pending != wantPending {
				t.Errorf("%d tasks queued, want %d", pending, wantPending)
			}

			// Work dropped by Close leaves the version PENDING, as an outage does in S3.
			s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.WaitIdle(ctx); err != nil {
				t.Fatalf("WaitIdle after Close: %v", err)
			}
			if status, _, _, _ := s.ObjectReplication("src", tt.give.key, ""); status != tt.wantStatus {
				t.Errorf("after Close status %q, want %q", status, tt.wantStatus)
			}
		})
	}
}

func TestWaitIdleHonoursContext(t *testing.T) {
	s := New(Options{})
	s.mu.Lock()
	s.repl.pending = 1 // a task that never finishes
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.WaitIdle(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitIdle = %v, want context.DeadlineExceeded", err)
	}
}

func TestReplInsertVersionKeepsLastModifiedOrder(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	dst := &bucket{name: "dst"}
	// Replicas arrive out of order: the newest first.
	for _, give := range []struct {
		id string
		at time.Time
	}{{"v3", t0.Add(3 * time.Second)}, {"v1", t0.Add(time.Second)}, {"v2", t0.Add(2 * time.Second)}, {"v2", t0.Add(2 * time.Second)}} {
		replInsertVersion(dst, &objectVersion{key: "k", versionID: give.id, lastModified: give.at})
	}
	var got []string
	for _, v := range dst.objects["k"] {
		got = append(got, v.versionID)
	}
	if want := []string{"v1", "v2", "v3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("versions %v, want %v (oldest first, no duplicate)", got, want)
	}
}

func TestReplicationEvents(t *testing.T) {
	requested := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	queue := "arn:aws:sqs:ap-south-1:111111111111:s3crr-events"
	topic := "arn:aws:sns:ap-south-1:111111111111:s3crr-alerts"
	tests := []struct {
		name    string
		rule    func(*replicationRule)
		targets notificationConfig
		key     string
		marker  bool
		failure string
		elapsed time.Duration
		want    []string // event names, in order
		wantARN []string
	}{
		{
			name:    "failure to a queue subscribed to s3:Replication:*",
			targets: notificationConfig{queues: []notificationTarget{{id: "q", arn: queue, events: []string{"s3:Replication:*"}}}},
			key:     "docs/a b.txt", failure: "DstKmsKeyNotFound",
			want: []string{EventReplicationFailed}, wantARN: []string{queue},
		},
		{
			name: "failure to every subscribed target",
			targets: notificationConfig{
				queues: []notificationTarget{{id: "q", arn: queue, events: []string{"s3:Replication:OperationFailedReplication"}}},
				topics: []notificationTarget{{id: "t", arn: topic, events: []string{"s3:Replication:*"}}},
			},
			key: "a", failure: "AssumeRoleNotPermitted",
			want: []string{EventReplicationFailed, EventReplicationFailed}, wantARN: []string{queue, topic},
		},
		{
			name:    "no events without Metrics",
			rule:    func(r *replicationRule) { r.metrics = false },
			targets: notificationConfig{queues: []notificationTarget{{id: "q", arn: queue, events: []string{"s3:Replication:*"}}}},
			key:     "a", failure: "DstBucketNotFound",
		},
		{
			name:    "not subscribed to replication events",
			targets: notificationConfig{queues: []notificationTarget{{id: "q", arn: queue, events: []string{"s3:ObjectCreated:*"}}}},
			key:     "a", failure: "DstBucketNotFound",
		},
		{
			name:    "prefix filter excludes the key",
			targets: notificationConfig{queues: []notificationTarget{{id: "q", arn: queue, events: []string{"s3:Replication:*"}, prefix: "logs/"}}},
			key:     "docs/a", failure: "DstBucketNotFound",
		},
		{
			name:    "suffix filter selects the key",
			targets: notificationConfig{queues: []notificationTarget{{id: "q", arn: queue, events: []string{"s3:Replication:*"}, suffix: ".txt"}}},
			key:     "docs/a.txt", failure: "DstBucketNotFound",
			want: []string{EventReplicationFailed}, wantARN: []string{queue},
		},
		{
			name:    "success sends nothing",
			targets: notificationConfig{queues: []notificationTarget{{id: "q", arn: queue, events: []string{"s3:Replication:*"}}}},
			key:     "a",
		},
		{
			name:    "late success under RTC",
			rule:    func(r *replicationRule) { r.rtc, r.hasRTC = true, true },
			targets: notificationConfig{queues: []notificationTarget{{id: "q", arn: queue, events: []string{"s3:Replication:*"}}}},
			key:     "a", elapsed: 16 * time.Minute,
			want: []string{EventReplicationMissedThreshold, EventReplicationAfterThreshold}, wantARN: []string{queue, queue},
		},
		{
			name:    "late failure under RTC",
			rule:    func(r *replicationRule) { r.rtc, r.hasRTC = true, true },
			targets: notificationConfig{queues: []notificationTarget{{id: "q", arn: queue, events: []string{"s3:Replication:*"}}}},
			key:     "a", elapsed: 20 * time.Minute, failure: "DstPutObjectNotPermitted",
			want: []string{EventReplicationMissedThreshold, EventReplicationFailed}, wantARN: []string{queue, queue},
		},
		{
			name:    "in-time success under RTC sends nothing",
			rule:    func(r *replicationRule) { r.rtc, r.hasRTC = true, true },
			targets: notificationConfig{queues: []notificationTarget{{id: "q", arn: queue, events: []string{"s3:Replication:*"}}}},
			key:     "a", elapsed: 14 * time.Minute,
		},
		{
			name:    "delete marker failure",
			targets: notificationConfig{queues: []notificationTarget{{id: "q", arn: queue, events: []string{"s3:Replication:*"}}}},
			key:     "a", marker: true, failure: "DstDelObjNotPermitted",
			want: []string{EventReplicationFailed}, wantARN: []string{queue},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := requested.Add(tt.elapsed)
			s := New(Options{Now: func() time.Time { return now }})
			rule := replTestRule("pair", 1, "dst", func(r *replicationRule) { r.metrics, r.hasMetrics = true, true })
			if tt.rule != nil {
				tt.rule(rule)
			}
			targets := tt.targets
			src := &bucket{name: "src", account: SourceAccount, region: "ap-south-1", notification: &targets}
			v := &objectVersion{key: tt.key, versionID: "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", size: 11,
				etag: `"5eb63bbbe01eeed093cb22bb8f5acdc3"`, isDeleteMarker: tt.marker}
			task := replicationTask{bucket: "src", key: tt.key, versionID: v.versionID, ruleID: "pair",
				destBucket: "dst", v: v, requestTime: requested}

			s.mu.Lock()
			got := s.replicationEvents(src, rule, task, tt.failure)
			s.mu.Unlock()

			var names, arns []string
			for _, e := range got {
				names, arns = append(names, e.EventName), append(arns, e.TargetARN)
			}
			if !reflect.DeepEqual(names, tt.want) || !reflect.DeepEqual(arns, tt.wantARN) {
				t.Fatalf("events %v to %v, want %v to %v", names, arns, tt.want, tt.wantARN)
			}
			if n := len(s.Events()); n != len(got) {
				t.Errorf("server recorded %d events, want %d", n, len(got))
			}
			for _, e := range got {
				replCheckEventBody(t, e, tt.key, tt.marker, tt.failure, requested)
			}
		})
	}
}

// replCheckEventBody decodes an event the way a Lambda consumer does (aws-lambda-go) and
// checks every field the monitor relies on.
func replCheckEventBody(t *testing.T, e Event, key string, marker bool, failure string, requested time.Time) {
	t.Helper()
	var msg events.S3Event
	if err := json.Unmarshal(e.Body, &msg); err != nil {
		t.Fatalf("decode event as events.S3Event: %v\n%s", err, e.Body)
	}
	if len(msg.Records) != 1 {
		t.Fatalf("%d records, want 1", len(msg.Records))
	}
	r := msg.Records[0]
	if r.EventVersion != "2.2" || r.EventSource != "aws:s3" || r.AWSRegion != "ap-south-1" || r.EventName != e.EventName {
		t.Errorf("header = %q %q %q %q", r.EventVersion, r.EventSource, r.AWSRegion, r.EventName)
	}
	if r.PrincipalID.PrincipalID != "s3.amazonaws.com" || r.RequestParameters.SourceIPAddress != "s3.amazonaws.com" {
		t.Errorf("identity = %+v %+v", r.PrincipalID, r.RequestParameters)
	}
	if r.ResponseElements["x-amz-request-id"] == "" || r.ResponseElements["x-amz-id-2"] == "" {
		t.Errorf("responseElements = %v", r.ResponseElements)
	}
	if r.S3.SchemaVersion != "1.0" || r.S3.ConfigurationID == "" || r.S3.Bucket.Name != "src" ||
		r.S3.Bucket.Arn != "arn:aws:s3:::src" || r.S3.Bucket.OwnerIdentity.PrincipalID != SourceAccount {
		t.Errorf("s3 = %+v", r.S3)
	}
	if r.S3.Object.URLDecodedKey != key || r.S3.Object.VersionID != "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY" || r.S3.Object.Sequencer == "" {
		t.Errorf("object = %+v", r.S3.Object)
	}
	if marker {
		if r.S3.Object.Size != 0 || r.S3.Object.ETag != "" {
			t.Errorf("delete marker event has size %d etag %q", r.S3.Object.Size, r.S3.Object.ETag)
		}
	} else if r.S3.Object.Size != 11 || r.S3.Object.ETag != "5eb63bbbe01eeed093cb22bb8f5acdc3" {
		t.Errorf("object size %d etag %q", r.S3.Object.Size, r.S3.Object.ETag)
	}
	d := r.ReplicationEventData
	if d == nil {
		t.Fatalf("no replicationEventData in %s", e.Body)
	}
	wantOp := "OBJECT_PUT"
	if marker {
		wantOp = "DELETE_MARKER_PUT"
	}
	wantReason := ""
	if e.EventName == EventReplicationFailed {
		wantReason = failure
	}
	if d.ReplicationRuleID != "pair" || d.DestinationBucket != "arn:aws:s3:::dst" || d.S3Operation != wantOp ||
		!d.RequestTime.Equal(requested) || d.FailureReason != wantReason {
		t.Errorf("replicationEventData = %+v, want rule pair, dst, %s, %s, reason %q", *d, wantOp, requested, wantReason)
	}
}
