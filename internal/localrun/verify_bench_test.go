package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localdeploy"
	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/provision"
	"github.com/s3crr/s3crr/internal/spec"
	"github.com/s3crr/s3crr/internal/testenv"
)

// BenchmarkVerifyPairs measures the verify state machine on the local stand-ins: the
// wall time of one execution for one pair, and of one execution for every registered
// pair (BENCH_PAIRS, default 200), provisioned beforehand with the provision service
// directly (the provision state machine is measured elsewhere). It reports the ratio of
// the two: with the Map's MaxConcurrency, all pairs should take far less than pairs
// times one. scripts/bench-verify.sh runs it once and prints the numbers.
func BenchmarkVerifyPairs(b *testing.B) {
	n := 200
	if v, err := strconv.Atoi(os.Getenv("BENCH_PAIRS")); err == nil && v > 0 {
		n = v
	}
	root, err := localhub.FindModuleRoot()
	if err != nil {
		b.Fatal(err)
	}
	testenv.RequireNodeModules(b, root)
	ctx := context.Background()
	name := fmt.Sprintf("bench-verify-%d", time.Now().UnixNano())
	env, err := Start(ctx, Config{ModuleRoot: root, Hub: localhub.Config{TopicName: name, TableName: name + "-pairs"}, EventsInbox: name + "-events",
		WaitOverrides: map[string]time.Duration{"WaitForReplica": 100 * time.Millisecond}})
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	base, err := localdeploy.HubFunctionConfig(ctx, env.deployParams())
	if err != nil {
		b.Fatal(err)
	}
	svc := provision.New(provision.Config{ExternalID: env.ExternalID, BucketNamePrefix: names.AnyBucket}, provision.AssumeRoleConnector{Base: base})
	db := awsclient.DynamoDB(env.Hub.AWSConfig())
	for i := range n {
		id := fmt.Sprintf("bench-%03d", i)
		raw := fmt.Sprintf(`{"pairId":%q,"source":{"account":%q,"region":"ap-south-1","bucket":"%s-src","kmsKeyAlias":"alias/s3crr-%s-src"},`+
			`"destination":{"account":%q,"region":"us-east-1","bucket":"%s-dst","kmsKeyAlias":"alias/s3crr-%s-dst"}}`,
			id, localaws.SourceAccount, id, id, localaws.DestinationAccount, id, id)
		if _, err := svc.Apply(ctx, []byte(raw)); err != nil {
			b.Fatalf("provision %s: %v", id, err)
		}
		req, err := spec.Parse([]byte(raw))
		if err != nil {
			b.Fatal(err)
		}
		stored, _ := json.Marshal(req)
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(env.Hub.TableName), Item: map[string]ddbtypes.AttributeValue{
			"pairId": &ddbtypes.AttributeValueMemberS{Value: id}, "request": &ddbtypes.AttributeValueMemberS{Value: string(stored)}}}); err != nil {
			b.Fatal(err)
		}
	}
	if err := env.EnableVerify(ctx); err != nil { // build once, outside the timings
		b.Fatal(err)
	}
	run := func(input string) (time.Duration, *VerifyRun) {
		start := time.Now()
		r, err := env.Verify(ctx, []byte(input), "")
		if err != nil {
			b.Fatal(err)
		}
		if r.Execution.Status != "SUCCEEDED" {
			b.Fatalf("verify %s: %s %s", input, r.Execution.Error, r.Execution.Cause)
		}
		return time.Since(start), r
	}
	b.ResetTimer()
	for b.Loop() {
		one, _ := run(`{"pairId":"bench-000"}`)
		all, r := run(`{}`)
		passed := 0
		var latency float64
		for _, res := range r.Results {
			if res.Status == "passed" {
				passed++
				latency += res.LatencySeconds
			}
		}
		if len(r.Results) != n || passed != n {
			b.Fatalf("%d results, %d passed, want %d", len(r.Results), passed, n)
		}
		b.ReportMetric(one.Seconds(), "one-pair-s")
		b.ReportMetric(all.Seconds(), "all-pairs-s")
		b.ReportMetric(float64(n), "pairs")
		b.ReportMetric(all.Seconds()/one.Seconds(), "ratio")
		b.ReportMetric(latency/float64(passed), "mean-canary-latency-s")
	}
}
