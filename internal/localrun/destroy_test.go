package localrun

import (
	"context"
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// TestLocalDestroy runs the real destroy ASL and Lambda after a provision: the pair's
// registration goes, the member accounts lose the pair's configuration, a second destroy
// ends at NotRegistered with 0 member writes, and provisioning again converges.
func TestLocalDestroy(t *testing.T) {
	env := startEnv(t, Config{})
	ctx := context.Background()
	request := sampleRequest(t, env.ModuleRoot())
	req, err := spec.Parse(request)
	if err != nil {
		t.Fatal(err)
	}
	if run, err := env.Provision(ctx, request, "", nil); err != nil || !run.Succeeded() {
		t.Fatalf("provision: %v %+v", err, run)
	}

	in := DestroyInput{PairID: req.PairID}
	first, err := env.Destroy(ctx, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Succeeded() {
		t.Fatalf("destroy %s: %s: %s", first.Execution.Status, first.Execution.Error, first.Execution.Cause)
	}
	if first.MemberWrites == 0 {
		t.Error("destroy made no write in the member accounts")
	}
	out := string(first.Execution.Output)
	// The destination's shared grants go with their last pair, which the provision Lambda
	// learns from the pairs table in the hub (kumo's DynamoDB, as the registry).
	for _, want := range []string{"delete replication configuration", "delete replication role", "delete failed-replication alarm",
		"share of " + policy.SidReplicaWriteShared, "share of " + policy.SidReplicaEncryptShared} {
		if !strings.Contains(out, want) {
			t.Errorf("the destroy output does not report %q", want)
		}
	}
	if _, ok, err := env.Hub.Pair(ctx, req.PairID); err != nil || ok {
		t.Errorf("pair %s still registered after destroy (%v)", req.PairID, err)
	}

	second, err := env.Destroy(ctx, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Succeeded() || second.MemberWrites != 0 {
		t.Errorf("second destroy: %s with %d member writes, want SUCCEEDED with 0", second.Execution.Status, second.MemberWrites)
	}

	again, err := env.Provision(ctx, request, req.ExecutionName()+"-again", nil)
	if err != nil || !again.Succeeded() {
		t.Fatalf("provision after destroy: %v %+v", err, again.Execution)
	}
	if _, ok, _ := env.Hub.Pair(ctx, req.PairID); !ok {
		t.Error("the pair is not registered again after re-provisioning")
	}
}
