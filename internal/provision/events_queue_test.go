package provision

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localdeploy"
	"github.com/s3crr/s3crr/internal/names"
)

// A source region without MemberStack (so without its events queue) stops the run at
// preflight, naming the missing stack, before replication is configured: S3 refuses a
// notification to a queue that does not exist (the simulator checks it as AWS documents),
// so otherwise the events stage would fail with the replication rule already live.
func TestSourceRegionWithoutMemberStackFailsPreflight(t *testing.T) {
	srv := localaws.New(localaws.Options{})
	endpoint, stop := srv.Start()
	t.Cleanup(stop)
	// The member accounts have MemberStack only in the destination's region.
	p := localdeploy.Params{Endpoint: endpoint, HubAccount: localaws.HubAccount, ExternalID: testExternalID,
		Members: []string{localaws.SourceAccount, localaws.DestinationAccount}, Regions: []string{"us-east-1"}}
	ctx := context.Background()
	if _, err := localdeploy.Deploy(ctx, p); err != nil {
		t.Fatal(err)
	}
	base, err := localdeploy.HubFunctionConfig(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	svc := New(Config{ExternalID: testExternalID}, AssumeRoleConnector{Base: base})
	req := mustParse(t, sampleRequest(t))

	_, err = svc.Apply(ctx, sampleRequest(t))
	var pf *PreflightFailed
	stack := names.MemberStackName(req.Source.Account, req.Source.Region)
	if !errors.As(err, &pf) || !strings.Contains(err.Error(), stack) || !strings.Contains(err.Error(), "fix:") {
		t.Fatalf("Apply = %v, want PreflightFailed naming %s and the fix", err, stack)
	}
	// Nothing was configured: no bucket, so no replication rule either.
	src := awsclient.S3(localdeploy.RootConfig(endpoint, req.Source.Account, req.Source.Region))
	if _, err := src.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(req.Source.Bucket)}); !awsclient.IsNotFound(err) {
		t.Errorf("HeadBucket %s after the failed preflight = %v, want NotFound (nothing configured)", req.Source.Bucket, err)
	}

	// With the stack deployed in the source region, the same request provisions.
	p.Regions = []string{req.Source.Region, "us-east-1"}
	if _, err := localdeploy.Deploy(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Apply(ctx, sampleRequest(t)); err != nil {
		t.Errorf("Apply after deploying %s: %v", stack, err)
	}
}

// Preflight's queue lookup, with the fakes: a missing queue is PreflightFailed naming the
// stack, and the run stops before the bucket stage.
func TestPreflightMissingEventsQueue(t *testing.T) {
	env := newFakeEnv(t)
	env.src.sqs.noQueue = true
	_, err := env.svc.Run(context.Background(), Event{Stage: names.StagePreflight, Request: sampleRequest(t)})
	var pf *PreflightFailed
	if !errors.As(err, &pf) || !strings.Contains(err.Error(), names.MemberStackName(fakeSrcAccount, fakeSrcRegion)) {
		t.Errorf("preflight = %v, want PreflightFailed naming %s", err, names.MemberStackName(fakeSrcAccount, fakeSrcRegion))
	}
	env.src.sqs.noQueue = false
	if _, err := env.svc.Run(context.Background(), Event{Stage: names.StagePreflight, Request: sampleRequest(t)}); err != nil {
		t.Errorf("preflight with the queue: %v", err)
	}
}
