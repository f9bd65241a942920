package localrun

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/testenv"
)

// benchEnvInt reads a positive integer setting of a benchmark, or def.
func benchEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkProvisionManyPairs measures BENCH_PAIRS pairs (default 100) provisioned at
// once through the provision state machine on the local stand-ins, with the member
// simulator throttling each account's calls to each service in each region at
// BENCH_RATE requests a second (burst the same; default 20), except KMS's operations,
// each throttled at its documented default quota (localaws.KMSRequestQuotas: CreateKey
// and CreateAlias at 5 a second, PutKeyPolicy at 15, reads far higher), and the provision Lambda
// served by BENCH_LAMBDAS execution environments (default 100). It reports the wall time,
// the requests the simulator throttled (each an SDK retry, or a stage failed as
// Throttled), the state machines' retries of Throttled, and the failed executions, which
// must be 0. scripts/bench-many-pairs.sh runs it once and prints the numbers.
func BenchmarkProvisionManyPairs(b *testing.B) {
	n := benchEnvInt("BENCH_PAIRS", 100)
	rate := benchEnvInt("BENCH_RATE", 20)
	lambdas := benchEnvInt("BENCH_LAMBDAS", 100)
	root, err := localhub.FindModuleRoot()
	if err != nil {
		b.Fatal(err)
	}
	testenv.RequireNodeModules(b, root)
	ctx := context.Background()
	name := fmt.Sprintf("bench-many-%d", time.Now().UnixNano())
	env, err := Start(ctx, Config{ModuleRoot: root, Hub: localhub.Config{TopicName: name, TableName: name + "-pairs"}, EventsInbox: name + "-events",
		RateLimit: &localaws.RateLimit{PerSecond: float64(rate), Burst: rate, Operations: localaws.KMSRequestQuotas}, ProvisionConcurrency: lambdas})
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	base, err := os.ReadFile(RequestPath(root))
	if err != nil {
		b.Fatal(err)
	}
	reqs, err := ManyRequests(base, n)
	if err != nil {
		b.Fatal(err)
	}
	round := 0
	b.ResetTimer()
	for b.Loop() {
		round++
		batch, err := env.ProvisionMany(ctx, reqs, fmt.Sprintf("-b%d", round))
		if err != nil {
			b.Fatal(err)
		}
		retries := 0
		for _, k := range batch.RetryNames() {
			retries += batch.StateRetries[k]
		}
		var slowest time.Duration
		for _, r := range batch.Runs {
			slowest = max(slowest, r.Execution.Elapsed)
		}
		b.ReportMetric(float64(n), "pairs")
		b.ReportMetric(batch.Wall.Seconds(), "wall-s")
		b.ReportMetric(batch.Wall.Seconds()/float64(n), "s/pair")
		b.ReportMetric(slowest.Seconds(), "slowest-execution-s")
		b.ReportMetric(float64(batch.Throttled), "throttled-requests")
		b.ReportMetric(float64(batch.StateRetries["Throttled"]), "asl-throttled-retries")
		b.ReportMetric(float64(retries), "asl-retries")
		b.ReportMetric(float64(batch.Failed), "failed")
		// A failed benchmark prints no metrics: say them first.
		b.Logf("%d pairs: wall %s, slowest execution %s, %d requests throttled, state-machine retries %v, %d failed",
			n, batch.Wall.Round(time.Second), slowest.Round(time.Second), batch.Throttled, batch.StateRetries, batch.Failed)
		for _, r := range batch.Runs {
			if !r.Succeeded() {
				b.Errorf("%s: %s: %s: %s", r.Name, r.Execution.Status, r.Execution.Error, r.Execution.Cause)
			}
		}
	}
}
