package monitor

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestVerificationAlertNamesTheFaultAndItsFix(t *testing.T) {
	v := VerificationFailure{
		PairID: "payments-archive", Status: "failed", Execution: "arn:aws:states:eu-central-1:333333333333:execution:s3crr-verify:x",
		At:     time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC),
		Source: Side{Account: "111111111111", Region: "ap-south-1", Bucket: "payments-src"},
		Dest:   Side{Account: "222222222222", Region: "us-east-1", Bucket: "payments-dst"},
		Findings: []VerificationFinding{
			{Check: "rotation", Severity: "warning", Account: "111111111111", Message: "rotation off", Fix: "enable rotation"},
			{Check: "destination-key-policy", Severity: "error", Code: "DstPutObjectNotPermitted", Account: "222222222222",
				Document: "key policy of k", Statement: "S3crrPayArchiveReplicaEncrypt", Message: "no grant", Fix: "add the statement"},
			{Check: "canary-replication-failed", Severity: "error", Account: "111111111111", Message: "FAILED", Fix: "fix the findings"},
		},
	}
	a := VerificationAlert(v)
	if a.Reason != "DstPutObjectNotPermitted" || a.Actor != PartyDestination {
		t.Errorf("reason %q actor %q, want the first error's code and the destination account", a.Reason, a.Actor)
	}
	if len(a.Fix) != 2 || a.Fix[0] != "add the statement" {
		t.Errorf("fixes %v, want the two errors' fixes in order (no warning's)", a.Fix)
	}
	if !strings.HasPrefix(a.Subject, "s3crr FAILURE DstPutObjectNotPermitted: payments-archive") || len(a.Subject) > maxSubject {
		t.Errorf("subject %q", a.Subject)
	}
	for _, want := range []string{"Verification failed", "destination-key-policy DstPutObjectNotPermitted [222222222222]", "S3crrPayArchiveReplicaEncrypt", "1. add the statement", v.Execution} {
		if !strings.Contains(a.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, a.Body)
		}
	}
	in, err := PublishInput("arn:aws:sns:eu-central-1:333333333333:s3crr-alerts", a)
	if err != nil {
		t.Fatal(err)
	}
	if got := *in.MessageAttributes["reason"].StringValue; got != "DstPutObjectNotPermitted" {
		t.Errorf("reason attribute %q", got)
	}
	if got := *in.MessageAttributes["account"].StringValue; got != "222222222222" {
		t.Errorf("account attribute %q, want the destination's (who must act)", got)
	}
	var msg map[string]string
	if err := json.Unmarshal([]byte(*in.Message), &msg); err != nil || !strings.Contains(msg["default"], `"Kind":"VerificationFailed"`) {
		t.Errorf("message %s (%v)", *in.Message, err)
	}
}

func TestVerificationAlertWithoutCodeUsesTheCheck(t *testing.T) {
	a := VerificationAlert(VerificationFailure{PairID: "p", Source: Side{Account: "111111111111"},
		Findings: []VerificationFinding{{Check: "replication-rule", Severity: "error", Account: "111111111111", Fix: "crr apply"}}})
	if a.Reason != "replication-rule" || a.Actor != PartySource {
		t.Errorf("reason %q actor %q", a.Reason, a.Actor)
	}
}
