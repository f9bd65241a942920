package localrun

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/s3crr/s3crr/internal/schedule"
	"github.com/s3crr/s3crr/internal/verifyjob"
	"github.com/s3crr/s3crr/statemachine"
)

// The nightly schedule's stand-in fires the verify state machine as Scheduler would: at
// the time HubStack's default expression names (the timer is the test's, so nothing
// waits for 03:00), with statemachine.ScheduledVerifyInput, and that run verifies and
// records every registered pair.
func TestScheduleFiresTheVerificationOfEveryPair(t *testing.T) {
	env, first := verifyEnv(t)
	var second map[string]any
	if err := json.Unmarshal(sampleRequest(t, env.ModuleRoot()), &second); err != nil {
		t.Fatal(err)
	}
	second["pairId"] = "ledger-archive"
	for side, bucket := range map[string]string{"source": "ledger-src", "destination": "ledger-dst"} {
		ep := second[side].(map[string]any)
		ep["bucket"] = bucket
		delete(ep, "kmsKeyAlias") // the default alias, per pair
	}
	b, _ := json.Marshal(second)
	if run, err := env.Provision(t.Context(), b, "", nil); err != nil || !run.Succeeded() {
		t.Fatalf("provision the second pair: %v", err)
	}

	firstWait := make(chan time.Duration, 1)
	run, err := env.StartSchedule(t.Context(), VerifySchedule{}, func(d time.Duration) <-chan time.Time {
		select {
		case firstWait <- d:
			fire := make(chan time.Time, 1)
			fire <- time.Now()
			return fire
		default:
			return make(chan time.Time) // the next night never comes
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if run.Schedule.String() != schedule.DefaultVerifyExpression || run.Location.String() != schedule.DefaultVerifyTimeZone {
		t.Errorf("schedule %s in %s, want HubStack's default %s in %s", run.Schedule, run.Location, schedule.DefaultVerifyExpression, schedule.DefaultVerifyTimeZone)
	}
	var f ScheduleFiring
	select {
	case f = <-run.Fired:
	case <-time.After(time.Minute):
		t.Fatal("the schedule did not fire")
	}
	if f.Err != nil {
		t.Fatal(f.Err)
	}
	if w := <-firstWait; f.At.UTC().Hour() != 3 || f.At.Minute() != 0 || w <= 0 || w > 24*time.Hour {
		t.Errorf("fired for %s after waiting %s, want the next 03:00 UTC within a day", f.At, w)
	}
	d, err := env.waitEnd(t.Context(), f.ExecutionARN)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d.Input) != statemachine.ScheduledVerifyInput() || string(d.Status) != "SUCCEEDED" {
		t.Fatalf("scheduled execution: input %s, status %s (%s); want the schedule's input and SUCCEEDED", aws.ToString(d.Input), d.Status, aws.ToString(d.Cause))
	}
	var out struct {
		Results []verifyjob.Result `json:"results"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range out.Results {
		got[r.PairID] = r.Status
	}
	if len(got) != 2 || got[first.PairID] != verifyjob.StatusPassed || got["ledger-archive"] != verifyjob.StatusPassed {
		t.Errorf("results %v, want both pairs passed", got)
	}
	// arn:…:execution:s3crr-verify:<name> → arn:…:execution:s3crr-verify/VerifyPairs:<uuid>
	childPrefix := f.ExecutionARN[:strings.LastIndex(f.ExecutionARN, ":")] + "/VerifyPairs:"
	for _, id := range []string{first.PairID, "ledger-archive"} {
		item, ok, err := env.Hub.Pair(t.Context(), id)
		if err != nil || !ok {
			t.Fatalf("pair %s: %v", id, err)
		}
		ex, _ := item[verifyjob.AttrVerifyExec].(*ddbtypes.AttributeValueMemberS)
		st, _ := item[verifyjob.AttrVerifyStatus].(*ddbtypes.AttributeValueMemberS)
		// Each pair ran in a child workflow execution of the scheduled run's Distributed
		// Map, whose ARN is the state machine's execution ARN space plus the Map's label.
		if ex == nil || !strings.HasPrefix(ex.Value, childPrefix) || st == nil || st.Value != verifyjob.StatusPassed {
			t.Errorf("pair %s records %v / %v, want a passed result from a %s… child execution", id, ex, st, childPrefix)
		}
	}
}
