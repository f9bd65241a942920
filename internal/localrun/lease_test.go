package localrun

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/spec"
)

// faninRequest is a pair into the shared destination bucket and key of the fan-in test.
func faninRequest(id string) []byte {
	return fmt.Appendf(nil, `{"pairId": %[1]q,
  "source":      {"account": %[2]q, "region": "ap-south-1", "bucket": "src-%[1]s", "kmsKeyAlias": "alias/s3crr/%[1]s/source"},
  "destination": {"account": %[3]q, "region": "us-east-1",  "bucket": "central-backup", "kmsKeyAlias": "alias/s3crr/central/destination"},
  "rule": {"prefix": ""}}`, id, localaws.SourceAccount, localaws.DestinationAccount)
}

// TestConcurrentExecutionsIntoOneDestination runs pairs into one destination bucket and
// key as concurrent executions of the real provision state machine, whose Lambda takes
// its leases in kumo's DynamoDB and whose Retry waits out DocumentBusy: every execution
// succeeds and every pair replicates under the destination key.
func TestConcurrentExecutionsIntoOneDestination(t *testing.T) {
	const n = 6
	env := startEnv(t, Config{})
	ctx := context.Background()
	first, err := env.Provision(ctx, faninRequest("e2e-first"), "", nil)
	if err != nil || !first.Succeeded() {
		t.Fatalf("first pair: %v %+v", err, first)
	}
	dstKey := first.Output.ARNs.DestinationKey
	// Slow reads of the shared documents, as a busy account would give: the executions'
	// merges overlap, so they contend for the leases.
	for _, f := range []struct{ service, op string }{{"s3", "GetBucketPolicy"}, {"kms", "GetKeyPolicy"}, {"s3", "GetBucketTagging"}} {
		env.Sim.InjectFault(localaws.Fault{Account: localaws.DestinationAccount, Service: f.service, Operation: f.op, Latency: 300 * time.Millisecond})
	}
	runs := make([]*Run, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i], errs[i] = env.Provision(ctx, faninRequest(fmt.Sprintf("e2e-p%d", i)), "", nil)
		}()
	}
	wg.Wait()
	busy := 0
	for i, run := range runs {
		id := fmt.Sprintf("e2e-p%d", i)
		if errs[i] != nil || !run.Succeeded() {
			t.Errorf("pair %s: %v %s %s", id, errs[i], run.Execution.Error, run.Execution.Cause)
			continue
		}
		if slices.ContainsFunc(run.Execution.Events, func(ev localhub.Event) bool {
			return ev.Type == "StateRetried" && slices.Contains(ev.ErrorEquals, "DocumentBusy")
		}) {
			busy++
		}
		r, err := spec.Parse(faninRequest(id))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := env.PutAndCheck(ctx, r, "check/"+id, dstKey)
		if err != nil {
			t.Errorf("pair %s: %v", id, err)
			continue
		}
		if p := rep.Problems(); len(p) > 0 {
			t.Errorf("pair %s does not replicate: %v", id, p)
		}
	}
	t.Logf("%d of %d executions waited for a document lease (DocumentBusy retried)", busy, n)
}
