package provision

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
)

// BenchmarkRedrive measures a re-drive on the simulator: REDRIVE_OBJECTS (default 10,000)
// objects of 1 KiB written while the destination bucket policy is missing all FAIL; after
// the repair (a provisioning re-run), Service.Redrive runs the redrive stages once per
// iteration. It reports objects/s and the re-drive's wall time (its four stages, the job included),
// and logs every API call the re-drive made, by service and operation.
// scripts/bench-redrive.sh runs it.
func BenchmarkRedrive(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("REDRIVE_OBJECTS")); err == nil && v > 0 {
		n = v
	}
	var total time.Duration
	var calls []localaws.CallCount
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		env := newLocalEnv(b, localaws.Options{})
		env.svc.cfg.BatchPollInterval = 100 * time.Millisecond
		reqJSON := sampleRequest(b)
		req := mustParse(b, reqJSON)
		env.apply(b, reqJSON)
		ctx := context.Background()
		if _, err := awsclient.S3(env.root(req.Destination.Account, req.Destination.Region)).DeleteBucketPolicy(ctx,
			&s3.DeleteBucketPolicyInput{Bucket: aws.String(req.Destination.Bucket)}); err != nil {
			b.Fatal(err)
		}
		src := awsclient.S3(env.root(req.Source.Account, req.Source.Region))
		body := bytes.Repeat([]byte("x"), 1024)
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					k := next.Add(1)
					if k > int64(n) {
						return
					}
					if _, err := src.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(req.Source.Bucket),
						Key: aws.String(fmt.Sprintf("outage/%06d", k)), Body: bytes.NewReader(body)}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		if err := env.srv.WaitIdle(wctx); err != nil {
			b.Fatal(err)
		}
		cancel()
		env.apply(b, reqJSON) // the repair
		env.srv.ResetCalls()
		b.StartTimer()
		start := time.Now()
		res, err := env.svc.Redrive(ctx, reqJSON, nil)
		total += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if got := res[len(res)-1].Outputs; got["succeeded"] != strconv.Itoa(n) {
			b.Fatalf("re-drive outputs %v, want %d succeeded", got, n)
		}
		calls = env.srv.Calls()
	}
	wall := total / time.Duration(b.N)
	b.ReportMetric(float64(n)/wall.Seconds(), "objects/s")
	b.ReportMetric(wall.Seconds(), "job-wall-s")
	var lines []string
	sum := 0
	for _, c := range calls {
		lines = append(lines, fmt.Sprintf("%s %s %s: %d", c.Account, c.Service, c.Operation, c.Count))
		sum += c.Count
	}
	sort.Strings(lines)
	b.ReportMetric(float64(sum), "api-calls")
	b.Logf("API calls of one re-drive of %d objects (%d in all):\n%s", n, sum, strings.Join(lines, "\n"))
}
