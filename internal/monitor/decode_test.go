package monitor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readEvent(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeShapes(t *testing.T) {
	tests := []struct {
		give          string
		wantKinds     []Kind
		wantReasons   []string
		wantKey       string
		wantBucket    string
		wantDest      string
		wantRule      string
		wantSkipped   int
		wantMalformed int
	}{
		{give: "aws-doc-failed-replication.json", wantKinds: []Kind{KindFailed}, wantReasons: []string{"AssumeRoleNotPermitted"},
			wantKey: "replication-test.png", wantBucket: "amzn-s3-demo-bucket1", wantDest: "amzn-s3-demo-bucket2", wantRule: "notification-test-replication-rule"},
		{give: "lambda-go-s3-replication-event.json", wantKinds: []Kind{KindFailed}, wantReasons: []string{"AssumeRoleNotPermitted"},
			wantKey: "replication-test.png", wantBucket: "amzn-s3-demo-bucket1", wantDest: "amzn-s3-demo-bucket2"},
		{give: "s3-failed-dst-put.json", wantKinds: []Kind{KindFailed}, wantReasons: []string{"DstPutObjectNotPermitted"},
			wantKey: "reports/2026/q4+final copy.pdf", wantBucket: "payments-src", wantDest: "payments-dst", wantRule: "s3crr-payments-archive"},
		{give: "sqs-event.json", wantKinds: []Kind{KindFailed, KindFailed}, wantReasons: []string{"SrcGetObjectNotPermitted", "DstPutTaggingNotPermitted"},
			wantKey: "reports/2026/q4+final copy.pdf", wantBucket: "payments-src", wantMalformed: 1},
		{give: "pipe-string-body.json", wantKinds: []Kind{KindFailed}, wantReasons: []string{"DstPutObjectNotPermitted"}, wantKey: "reports/2026/q4+final copy.pdf", wantBucket: "payments-src"},
		{give: "pipe-parsed-body.json", wantKinds: []Kind{KindFailed}, wantReasons: []string{"DstPutObjectNotPermitted"}, wantKey: "reports/2026/q4+final copy.pdf", wantBucket: "payments-src"},
		{give: "s3-test-event.json", wantSkipped: 1},
		{give: "pipe-test-event.json", wantSkipped: 1},
		{give: "object-created.json", wantSkipped: 1},
		{give: "alarm-ok.json", wantSkipped: 1},
		{give: "missed-threshold.json", wantKinds: []Kind{KindMissedThreshold}, wantReasons: []string{""}, wantBucket: "payments-src"},
		{give: "replicated-after-threshold.json", wantKinds: []Kind{KindReplicatedAfterThreshold}, wantReasons: []string{""}},
		{give: "not-tracked.json", wantKinds: []Kind{KindNotTracked}, wantReasons: []string{""}},
		{give: "unknown-reason.json", wantKinds: []Kind{KindFailed}, wantReasons: []string{"DstSomethingNew"}},
		{give: "alarm-state-change.json", wantKinds: []Kind{KindAlarm}, wantReasons: []string{""}, wantBucket: "payments-src", wantDest: "payments-dst", wantRule: "s3crr-payments-archive"},
		{give: "batch.json", wantKinds: []Kind{KindFailed, KindFailed, KindFailed, KindFailed},
			wantReasons: []string{"DstPutObjectNotPermitted", "DstPutObjectNotPermitted", "SrcGetObjectNotPermitted", "DstKmsKeyInvalidState"}, wantMalformed: 1},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			d, err := Decode(readEvent(t, tt.give))
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Signals) != len(tt.wantKinds) {
				t.Fatalf("got %d signals %+v, want %d", len(d.Signals), d.Signals, len(tt.wantKinds))
			}
			for i, s := range d.Signals {
				if s.Kind != tt.wantKinds[i] || s.Reason != tt.wantReasons[i] {
					t.Errorf("signal %d: %s/%s, want %s/%s", i, s.Kind, s.Reason, tt.wantKinds[i], tt.wantReasons[i])
				}
				if s.ID == "" || s.Origin == "" {
					t.Errorf("signal %d has no ID or origin", i)
				}
			}
			if len(d.Signals) > 0 {
				s := d.Signals[0]
				for _, c := range []struct{ name, got, want string }{{"key", s.Key, tt.wantKey}, {"bucket", s.SourceBucket, tt.wantBucket}, {"destination", s.DestinationBucket, tt.wantDest}, {"rule", s.RuleID, tt.wantRule}} {
					if c.want != "" && c.got != c.want {
						t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
					}
				}
			}
			if len(d.Skipped) != tt.wantSkipped {
				t.Errorf("skipped %+v, want %d", d.Skipped, tt.wantSkipped)
			}
			if len(d.Malformed) != tt.wantMalformed {
				t.Errorf("malformed %+v, want %d", d.Malformed, tt.wantMalformed)
			}
			for _, m := range d.Malformed {
				if m.ID == "" {
					t.Errorf("malformed record without ID: %v", m.Err)
				}
			}
		})
	}
}

// The same S3 record is one occurrence however it is wrapped: a Pipe with a string body,
// one with a parsed body, or the bare notification.
func TestDecodeSameOccurrenceAcrossEnvelopes(t *testing.T) {
	var ids []string
	for _, f := range []string{"s3-failed-dst-put.json", "pipe-string-body.json", "pipe-parsed-body.json"} {
		d, err := Decode(readEvent(t, f))
		if err != nil || len(d.Signals) != 1 {
			t.Fatalf("%s: %v %+v", f, err, d)
		}
		ids = append(ids, d.Signals[0].ID)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("occurrence IDs differ across envelopes: %v", ids)
	}
	d, _ := Decode(readEvent(t, "pipe-string-body.json"))
	if d.Signals[0].Account != "111111111111" || d.Signals[0].Region != "ap-south-1" {
		t.Errorf("envelope account/region not carried: %+v", d.Signals[0])
	}
}

func TestDecodeThresholdFields(t *testing.T) {
	d, err := Decode(readEvent(t, "replicated-after-threshold.json"))
	if err != nil {
		t.Fatal(err)
	}
	if s := d.Signals[0]; s.Threshold != "15 minutes" || s.ReplicationTime != "17 minutes" {
		t.Errorf("threshold fields: %q %q", s.Threshold, s.ReplicationTime)
	}
}

func TestDecodeAlarm(t *testing.T) {
	d, err := Decode(readEvent(t, "alarm-state-change.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := d.Signals[0]
	if s.AlarmName != "s3crr-payments-archive-failed-replication" || s.FailedOperations != 3 || s.Account != "111111111111" {
		t.Errorf("alarm signal: %+v", s)
	}
	if got := candidatePairID(s); got != "payments-archive" {
		t.Errorf("pair ID from alarm = %q", got)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, give := range []string{"", "   ", "not json", `{"hello":"world"}`, `42`, `"{\"a\":1}"`} {
		t.Run(give, func(t *testing.T) {
			_, err := Decode([]byte(give))
			if !errors.Is(err, ErrUnrecognised) {
				t.Errorf("Decode(%q) = %v, want ErrUnrecognised", give, err)
			}
			if err != nil && !strings.Contains(err.Error(), "expected") {
				t.Errorf("error does not say what was expected: %v", err)
			}
		})
	}
}
