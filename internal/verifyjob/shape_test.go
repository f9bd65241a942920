package verifyjob_test

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/s3crr/s3crr/internal/verify"
	"github.com/s3crr/s3crr/internal/verifyjob"
	"github.com/s3crr/s3crr/statemachine"
)

// The provision execution's output carries the record stage's Result as
// statemachine.VerifyResult: every field the Lambda writes must survive the decoding,
// or `crr apply --wait` would print zero values.
func TestProvisionOutputShapeMatchesTheRecordResult(t *testing.T) {
	res := verifyjob.Result{PairID: "p", Status: verifyjob.StatusFailed, VerifiedAt: time.Unix(1, 0).UTC(), LatencySeconds: 1.5,
		FindingCount: 1, Alerted: true, Summary: "s", Findings: []verify.Finding{{Check: "c", Kind: "k", Severity: verify.SeverityError,
			Code: "AccessDenied", Account: "1", Document: "d", Statement: "st", Message: "m", Fix: "f"}}}
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var got statemachine.VerifyResult
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	back, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if keys(t, raw) != keys(t, back) {
		t.Errorf("record result fields %s, provision output fields %s", keys(t, raw), keys(t, back))
	}
	var a, b map[string]any
	_ = json.Unmarshal(raw, &a)
	_ = json.Unmarshal(back, &b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("round trip through statemachine.VerifyResult\n  %s\nbecame\n  %s", raw, back)
	}
}

func keys(t *testing.T, raw []byte) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	b, _ := json.Marshal(out)
	return string(b)
}
