package localrun

import (
	"context"
	"testing"
	"time"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
)

// TestManyPairsUnderThrottlingConverge provisions a handful of pairs at once through the
// provision state machine while the member accounts throttle every service at a low
// request rate, and one IAM call stays throttled through all of the SDK's attempts: the
// SDK's retries absorb the rate limit, the ASL's Throttled retry the rest, every
// execution succeeds, and a second round of the same requests changes nothing.
func TestManyPairsUnderThrottlingConverge(t *testing.T) {
	const pairs = 4
	env := startEnv(t, Config{
		RateLimit: &localaws.RateLimit{PerSecond: 8, Burst: 8},
		// An environment per Lambda task that can run at once (up to four per execution,
		// in the Parallel states): the Lambda's concurrency is not what is under test, and
		// kumo fails an invocation no environment picks up within 30 seconds.
		ProvisionConcurrency: 4 * (pairs + 1),
	})
	all, err := ManyRequests(sampleRequest(t, env.ModuleRoot()), pairs+1)
	if err != nil {
		t.Fatal(err)
	}
	reqs, last := all[:pairs], all[pairs:]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b, err := env.ProvisionMany(ctx, reqs, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range b.Runs {
		if !r.Succeeded() {
			t.Errorf("%s: %s: %s: %s", r.Name, r.Execution.Status, r.Execution.Error, r.Execution.Cause)
		}
	}
	if b.Throttled == 0 {
		t.Fatalf("the simulator throttled nothing: the rate limit is too high to test anything")
	}
	t.Logf("%d pairs: %s, %d requests throttled, state-machine retries %v", pairs, b.Wall.Round(time.Millisecond), b.Throttled, b.StateRetries)

	// One more pair, alone, whose first GetRole is throttled for every attempt the SDK
	// makes (awsclient.DefaultMaxAttempts; alone, so no other pair's call takes one of
	// them): its stage fails as Throttled and the state machine retries it.
	env.Sim.InjectFault(localaws.Throttle("iam", "GetRole", awsclient.DefaultMaxAttempts))
	one, err := env.ProvisionMany(ctx, last, "")
	if err != nil {
		t.Fatal(err)
	}
	if one.Failed != 0 {
		r := one.Runs[0]
		t.Fatalf("%s: %s: %s: %s", r.Name, r.Execution.Status, r.Execution.Error, r.Execution.Cause)
	}
	if one.StateRetries["Throttled"] == 0 {
		t.Errorf("no stage was retried as Throttled: retries %v", one.StateRetries)
	}
	reqs = all

	// A re-run of converged pairs makes no member-account configuration writes, throttled
	// or not; each run's closing verification writes and deletes its canary (3 writes). The
	// simulator counts a request it throttled as a call too, so a canary write the SDK had
	// to repeat counts twice: at most as many extra as requests were throttled.
	env.Sim.ResetCalls()
	b2, err := env.ProvisionMany(ctx, reqs, "-2")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range b2.Runs {
		if !r.Succeeded() {
			t.Errorf("re-run %s: %s: %s: %s", r.Name, r.Execution.Status, r.Execution.Error, r.Execution.Cause)
		}
	}
	if config, canary := memberWrites(env.Sim.Calls()); config != 0 || canary < 3*len(reqs) || canary > 3*len(reqs)+b2.Throttled {
		t.Errorf("re-run of converged pairs made %d member-account configuration writes and %d canary writes (%d requests throttled), want 0 and %d (plus at most one a throttled request)",
			config, canary, b2.Throttled, 3*len(reqs))
	}
}
