package localrun

import (
	"context"
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/spec"
)

// fanOutRequest sends the sample's source bucket to two regions of account B.
const fanOutRequest = `{
  "pairId": "fan",
  "source": {"account": "111111111111", "region": "ap-south-1", "bucket": "fan-src"},
  "destinations": [
    {"account": "222222222222", "region": "us-east-1", "bucket": "fan-dst-use1"},
    {"account": "222222222222", "region": "eu-west-1", "bucket": "fan-dst-euw1"}
  ],
  "rule": {"deleteMarkerReplication": true}
}`

// TestFanOutThroughTheStateMachine runs a fan-out request through the real ASL (the Map
// over legs) and Lambda: one execution provisions, checks and registers each leg as a
// pair of its own, each replica is under its destination's key, and the output lists
// every leg; a rerun changes nothing.
func TestFanOutThroughTheStateMachine(t *testing.T) {
	env := startEnv(t, Config{})
	ctx := context.Background()
	req, err := spec.Parse([]byte(fanOutRequest))
	if err != nil {
		t.Fatal(err)
	}
	run, err := env.Provision(ctx, []byte(fanOutRequest), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Succeeded() {
		t.Fatalf("execution %s: %s: %s", run.Execution.Status, run.Execution.Error, run.Execution.Cause)
	}
	out := run.Output
	if out.PairID != "fan" || len(out.Legs) != 2 {
		t.Fatalf("output pair %q with %d legs, want fan with 2", out.PairID, len(out.Legs))
	}
	for i, leg := range req.Legs() {
		o := out.Legs[i]
		if o.PairID != leg.PairID || o.Verification.Outputs["ready"] != "true" {
			t.Errorf("leg %d output: pair %q, verification %+v", i, o.PairID, o.Verification)
		}
		if !strings.Contains(o.ARNs.DestinationKey, ":"+leg.Destination.Region+":") || o.ARNs.ReplicationRole != leg.ReplicationRoleARN() {
			t.Errorf("leg %s: destination key %s, role %s", leg.PairID, o.ARNs.DestinationKey, o.ARNs.ReplicationRole)
		}
		if _, ok, err := env.Hub.Pair(ctx, leg.PairID); err != nil || !ok {
			t.Errorf("leg %s registered: %v, %v", leg.PairID, ok, err)
		}
		rep, err := env.PutAndCheck(ctx, leg, "fan/"+leg.PairID+".txt", o.ARNs.DestinationKey)
		if err != nil {
			t.Fatalf("leg %s replica: %v", leg.PairID, err)
		}
		if rep.ReplicaKMSKeyID != o.ARNs.DestinationKey || rep.ReplicaStatus != "REPLICA" {
			t.Errorf("leg %s replica key %s (%s), want %s", leg.PairID, rep.ReplicaKMSKeyID, rep.ReplicaStatus, o.ARNs.DestinationKey)
		}
	}
	if _, ok, _ := env.Hub.Pair(ctx, req.PairID); ok {
		t.Error("the request's own pair ID is registered; only its legs are pairs")
	}

	rerun, err := env.Provision(ctx, []byte(fanOutRequest), req.ExecutionName()+"-rerun", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rerun.Succeeded() || len(rerun.Output.Changes()) != 0 || rerun.MemberWrites != 0 {
		t.Errorf("rerun: %s, %d changes, %d member writes; want SUCCEEDED with none", rerun.Execution.Status, len(rerun.Output.Changes()), rerun.MemberWrites)
	}
}
