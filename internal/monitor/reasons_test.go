package monitor

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/s3crr/s3crr/internal/policy"
)

// documentedCodes is the "Replication failure reasons" page (FailureCodesURL) as read in
// December 2026: 34 codes, typed here independently of reasonTable so that a code dropped
// from, or misspelt in, the table fails.
var documentedCodes = strings.Fields(`
AssumeRoleNotPermitted DstBucketInvalidRegion DstBucketNotFound DstBucketObjectLockConfigMissing
DstBucketUnversioned DstDelObjNotPermitted DstKmsKeyInvalidState DstKmsKeyNotFound
DstMultipartCompleteNotPermitted DstMultipartInitNotPermitted DstMultipartUploadNotPermitted
DstObjectHardDeleted DstPutAclNotPermitted DstPutLegalHoldNotPermitted DstPutObjectNotPermitted
DstPutRetentionNotPermitted DstPutTaggingNotPermitted DstVersionNotFound InitiateReplicationNotPermitted
SrcBucketInvalidRegion SrcBucketNotFound SrcBucketReplicationConfigMissing SrcGetAclNotPermitted
SrcGetLegalHoldNotPermitted SrcGetObjectNotPermitted SrcGetRetentionNotPermitted SrcGetTaggingNotPermitted
SrcHeadObjectNotPermitted SrcKeyNotFound SrcKmsKeyInvalidState SrcObjectNotEligible SrcObjectNotFound
SrcReplicationNotPending SrcVersionNotFound`)

func TestReasonTableCoversTheDocumentedCodes(t *testing.T) {
	if len(documentedCodes) != 34 {
		t.Fatalf("test list has %d codes", len(documentedCodes))
	}
	if len(reasonTable) != len(documentedCodes) {
		t.Errorf("table has %d reasons, AWS documents %d", len(reasonTable), len(documentedCodes))
	}
	for _, c := range documentedCodes {
		if r, ok := LookupReason(c); !ok || r.Code != c {
			t.Errorf("%s: not in the table", c)
		}
	}
	if r, ok := LookupReason("DstMultipartPartUploadNotPermitted"); !ok || r.Code != "DstMultipartUploadNotPermitted" {
		t.Errorf("older spelling DstMultipartPartUploadNotPermitted not accepted: %+v", r)
	}
	for _, c := range []string{"DstBucketInvalidRegion", "SrcBucketInvalidRegion", "DstObjectHardDeleted", "InitiateReplicationNotPermitted"} {
		if r, _ := LookupReason(c); !r.BatchOnly {
			t.Errorf("%s is Batch-only on the AWS page", c)
		}
	}
}

// Every requirement in internal/policy that names a failure code (the permission-minimality
// table) must be among the statements the alert for that code points at: the two tables
// say the same thing about which grant a code means.
func TestReasonsAgreeWithPolicyRequirements(t *testing.T) {
	for _, req := range policy.Requirements() {
		if req.Failure == "" || req.Purpose == policy.PurposeReplicationKeys {
			continue // boundary statements are not per pair and not s3crr-edited documents
		}
		if req.Trigger == policy.TriggerBatchJob && req.Failure != "InitiateReplicationNotPermitted" {
			continue // job-level failures: the batchReport stage reports them, not replication events
		}
		r, ok := LookupReason(req.Failure)
		if !ok {
			t.Errorf("policy requirement %s %s names unknown code %s", req.Purpose, req.Action, req.Failure)
			continue
		}
		found := false
		for _, g := range r.Grants {
			if g.Purpose != req.Purpose {
				continue
			}
			for _, a := range g.Actions {
				if strings.EqualFold(a, req.Action) {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("%s: alert does not point at %s's %s, which policy says causes it", req.Failure, req.Purpose, req.Action)
		}
	}
}

// TestAlertForEveryReason renders the alert of every documented code (and the older
// alias) for a managed pair and checks what a reader needs.
func TestAlertForEveryReason(t *testing.T) {
	d, err := Decode(readEvent(t, "s3-failed-dst-put.json"))
	if err != nil {
		t.Fatal(err)
	}
	base := d.Signals[0]
	db := newFakeDB()
	db.addPair("payments-archive", "payments-src", "s3crr-payments-archive")
	pair, _ := pairFromItem(db.pairs["payments-archive"])
	for _, code := range append(documentedCodes, "DstMultipartPartUploadNotPermitted") {
		t.Run(code, func(t *testing.T) {
			sig := base
			sig.Reason = code
			a := build(sig, pair, true, 1, time.Time{})
			r, _ := LookupReason(code)
			if a.Reason != r.Code || !a.Known || a.Severity != SeverityFailure {
				t.Errorf("reason %q known %v severity %s", a.Reason, a.Known, a.Severity)
			}
			checkSubject(t, a.Subject)
			if !strings.Contains(a.Subject, r.Code) || !strings.Contains(a.Subject, "payments-archive") {
				t.Errorf("subject %q lacks the code or the pair", a.Subject)
			}
			if a.Cause == "" || !strings.HasSuffix(a.Cause, ".") || strings.Count(a.Cause, ". ") > 0 {
				t.Errorf("cause is not one sentence: %q", a.Cause)
			}
			if a.Actor != r.Actor || a.Actor == "" {
				t.Errorf("actor %q", a.Actor)
			}
			for _, g := range r.Grants {
				sid := policy.SidOf("payments-archive", g.Purpose)
				if _, purpose, ok := policy.ParseSid(sid); !ok || purpose != g.Purpose {
					t.Errorf("Sid %s does not parse back to %s", sid, g.Purpose)
				}
				if !strings.Contains(a.Body, sid) || !strings.Contains(a.Body, string(g.Doc)) {
					t.Errorf("body does not name %s in the %s", sid, g.Doc)
				}
			}
			if got := strings.Contains(a.Body, "crr apply --rerun -f"); got != r.Rerun {
				t.Errorf("rerun command present = %v, want %v", got, r.Rerun)
			}
			if got := strings.Contains(a.Body, "crr redrive payments-archive"); got == r.BatchOnly {
				t.Errorf("redrive command present = %v for BatchOnly=%v", got, r.BatchOnly)
			}
			for _, want := range []string{"reports/2026/q4+final copy.pdf", "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY", "2026-12-03T04:09:59Z", "s3://payments-dst (account 222222222222, us-east-1)", FailureCodesURL} {
				if !strings.Contains(a.Body, want) {
					t.Errorf("body lacks %q:\n%s", want, a.Body)
				}
			}
		})
	}
}

// DstPutObjectNotPermitted must send the reader to the destination key policy too: a key
// policy that does not allow, or denies, the role fails the replica write with this code.
func TestDstPutObjectNamesTheDestinationKeyPolicy(t *testing.T) {
	r, _ := LookupReason("DstPutObjectNotPermitted")
	var docs []Document
	for _, g := range r.Grants {
		docs = append(docs, g.Doc)
	}
	if !strings.Contains(fmt.Sprint(docs), string(DocDestinationKey)) || !strings.Contains(r.Cause, "key policy") {
		t.Errorf("DstPutObjectNotPermitted: grants %v, cause %q", docs, r.Cause)
	}
}

func TestAlertNonFailureKinds(t *testing.T) {
	tests := []struct {
		give string
		want Severity
	}{
		{"missed-threshold.json", SeverityWarning},
		{"replicated-after-threshold.json", SeverityRecovery},
		{"not-tracked.json", SeverityInfo},
		{"alarm-state-change.json", SeverityFailure},
		{"unknown-reason.json", SeverityFailure},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			alerts, _, err := Preview(t.Context(), readEvent(t, tt.give), nil)
			if err != nil || len(alerts) != 1 {
				t.Fatalf("%v %d", err, len(alerts))
			}
			a := alerts[0]
			if a.Severity != tt.want {
				t.Errorf("severity %s, want %s", a.Severity, tt.want)
			}
			checkSubject(t, a.Subject)
			if a.Managed || a.Pair != UnmanagedPair {
				t.Errorf("preview without lookup must be unmanaged: %+v", a)
			}
		})
	}
	alerts, _, _ := Preview(t.Context(), readEvent(t, "unknown-reason.json"), nil)
	a := alerts[0]
	if a.Known || !strings.Contains(a.Body, "DstSomethingNew") || !strings.Contains(a.Body, `"failureReason":"DstSomethingNew"`) && !strings.Contains(a.Body, `"failureReason": "DstSomethingNew"`) {
		t.Errorf("unknown reason alert must carry the code and the raw event:\n%s", a.Body)
	}
}

func checkSubject(t *testing.T, s string) {
	t.Helper()
	if len(s) >= 100 || s == "" {
		t.Errorf("subject has %d characters: %q", len(s), s)
	}
	for _, r := range s {
		if r < 0x20 || r >= 0x7f {
			t.Errorf("subject has %q: %q", r, s)
		}
	}
}

func TestSubjectTruncatesLongNames(t *testing.T) {
	long := strings.Repeat("b", 63)
	a := Alert{Severity: SeverityFailure, Reason: "DstMultipartCompleteNotPermitted", Pair: strings.Repeat("p", 20), Managed: true,
		Source: Side{Bucket: "src-" + long[:59]}, Dest: Side{Bucket: "dst-" + long[:59] + "é"}}
	got := subject(a)
	checkSubject(t, got)
	if !strings.Contains(got, a.Reason) || !strings.Contains(got, a.Pair) {
		t.Errorf("truncation lost the reason or pair: %q", got)
	}
	if !strings.Contains(got, "src-") || !strings.Contains(got, "..") {
		t.Errorf("buckets not shortened in the middle: %q", got)
	}
	a.Pair = strings.Repeat("q", 120)
	checkSubject(t, subject(a))
}

func TestPublishInputShape(t *testing.T) {
	alerts, _, err := Preview(t.Context(), readEvent(t, "unknown-reason.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := alerts[0]
	a.Raw = json.RawMessage(`"` + strings.Repeat("x", 300<<10) + `"`) // bigger than SNS allows
	a.Body += strings.Repeat("y", 300<<10)
	in, err := PublishInput("arn:aws:sns:eu-west-1:333333333333:s3crr-alerts", a)
	if err != nil {
		t.Fatal(err)
	}
	if len(*in.Message) >= maxMessage {
		t.Errorf("message is %d bytes", len(*in.Message))
	}
	var env map[string]string
	if err := json.Unmarshal([]byte(*in.Message), &env); err != nil || env["default"] == "" || env["email"] == "" {
		t.Errorf("message is not {default, email}: %v", err)
	}
	if *in.MessageStructure != "json" {
		t.Errorf("MessageStructure %q", *in.MessageStructure)
	}
	for _, k := range []string{"pair", "reason", "severity", "account"} {
		v, ok := in.MessageAttributes[k]
		if !ok || *v.DataType != "String" || *v.StringValue == "" {
			t.Errorf("attribute %s: %+v", k, v)
		}
	}
}
