package localaws

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// BenchmarkReplication measures the replication engine on the end-to-end pair (SSE-KMS with
// Bucket Keys on both sides, every permission check): b.N PutObjects of 1 KiB through the
// SDK from 4 writers, then waits until every version is replicated. It reports
// throughput (objects/s, from the first put to the last replica) and the p50/p99 latency
// from a version's write to its replica (ms). scripts/bench-replication.sh runs it.
func BenchmarkReplication(b *testing.B) {
	env := e2eSetup(b, e2eVariant{})
	body := strings.Repeat("x", 1024)
	const writers = 4
	env.srv.mu.Lock()
	env.srv.repl.latencies = nil
	env.srv.mu.Unlock()

	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				_, err := env.s3A.PutObject(context.Background(), &s3.PutObjectInput{
					Bucket: aws.String(e2eSrcBucket), Key: aws.String(fmt.Sprintf("bench/%08d", i)), Body: strings.NewReader(body)})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := env.srv.WaitIdle(ctx); err != nil {
		b.Fatalf("wait for replication: %v", err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatalf("put object: %v", err)
	}

	lat := env.srv.replicationLatencies()
	if len(lat) != b.N {
		b.Fatalf("%d replicas, want %d: replication failed for some objects", len(lat), b.N)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "objects/s")
	b.ReportMetric(ms(benchPercentile(lat, 50)), "p50-ms")
	b.ReportMetric(ms(benchPercentile(lat, 99)), "p99-ms")
}

// benchPercentile returns the p-th percentile (nearest rank) of sorted durations.
func benchPercentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}
