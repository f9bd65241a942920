package localrun

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/spec"
)

// TestLocalRedrive is the end-to-end test of a re-drive through the real ASL and Lambda:
// objects written while B's bucket policy (the replication role's grant) was missing
// FAIL; after a re-run of provisioning, the redrive state machine brings every one to
// COMPLETED with replicas under B's key and records the result on the pair; and a Batch
// role whose boundary lacks s3:InitiateReplication fails the re-drive with the documented
// reason and an alert. The subtests share one deployment and run in order.
func TestLocalRedrive(t *testing.T) {
	env := startEnv(t, Config{})
	ctx := context.Background()
	request := sampleRequest(t, env.ModuleRoot())
	req, err := spec.Parse(request)
	if err != nil {
		t.Fatal(err)
	}
	provision := func(t *testing.T, name string) {
		t.Helper()
		run, err := env.Provision(ctx, request, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !run.Succeeded() {
			t.Fatalf("provision %s: %s: %s", name, run.Execution.Error, run.Execution.Cause)
		}
	}
	provision(t, req.ExecutionName())
	src := awsclient.S3(env.RootConfig(req.Source.Account, req.Source.Region))
	versions := map[string]string{}

	t.Run("objects written during the outage fail", func(t *testing.T) {
		b := awsclient.S3(env.RootConfig(req.Destination.Account, req.Destination.Region))
		if _, err := b.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(req.Destination.Bucket)}); err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			key := fmt.Sprintf("outage/%d.csv", i)
			out, err := src.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(req.Source.Bucket), Key: aws.String(key), Body: bytes.NewReader([]byte(key))})
			if err != nil {
				t.Fatal(err)
			}
			versions[key] = aws.ToString(out.VersionId)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := env.Sim.WaitIdle(wctx); err != nil {
			t.Fatal(err)
		}
		for key, v := range versions {
			if status, code, _, _ := env.Sim.ObjectReplication(req.Source.Bucket, key, v); status != "FAILED" {
				t.Fatalf("%s: %s %s, want FAILED", key, status, code)
			}
		}
	})

	t.Run("repair then redrive completes every object", func(t *testing.T) {
		provision(t, req.ExecutionName()+"-repair")
		var progress []Progress
		run, err := env.Redrive(ctx, RedriveInput{PairID: req.PairID, Statuses: []string{"FAILED"}}, "", func(p Progress) { progress = append(progress, p) })
		if err != nil {
			t.Fatal(err)
		}
		x := run.Execution
		if x.Status != localhub.StatusSucceeded {
			t.Fatalf("redrive %s: %s: %s", x.Status, x.Error, x.Cause)
		}
		if !containsProgress(progress, "batchReport source", StatusSucceeded, "") {
			t.Errorf("progress %+v lacks batchReport", progress)
		}
		dstKey := ""
		item, ok, err := env.Hub.Pair(ctx, req.PairID)
		if err != nil || !ok {
			t.Fatalf("pair item: %v %v", ok, err)
		}
		if d, ok := item["destination"].(*ddbtypes.AttributeValueMemberM); ok {
			dstKey = attrString(d.Value, "keyArn")
		}
		last, ok := item["lastRedrive"].(*ddbtypes.AttributeValueMemberM)
		if !ok || attrString(last.Value, "status") != "Complete" {
			t.Fatalf("pair's lastRedrive = %v, want a Complete job", item["lastRedrive"])
		}
		if n, ok := last.Value["succeeded"].(*ddbtypes.AttributeValueMemberN); !ok || n.Value != "4" {
			t.Errorf("lastRedrive.succeeded = %v, want 4", last.Value["succeeded"])
		}
		b := awsclient.S3(env.RootConfig(req.Destination.Account, req.Destination.Region))
		for key, v := range versions {
			if status, _, _, _ := env.Sim.ObjectReplication(req.Source.Bucket, key, v); status != "COMPLETED" {
				t.Errorf("%s after the re-drive: %s, want COMPLETED", key, status)
			}
			h, err := b.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(req.Destination.Bucket), Key: aws.String(key), VersionId: aws.String(v)})
			if err != nil {
				t.Fatalf("replica %s: %v", key, err)
			}
			if got := aws.ToString(h.SSEKMSKeyId); got == "" || got != dstKey {
				t.Errorf("replica %s key %q, want B's key %q", key, got, dstKey)
			}
		}
	})

	t.Run("a Batch role without s3:InitiateReplication fails with the reason and alerts", func(t *testing.T) {
		// The outage again, for new objects to re-drive.
		b := awsclient.S3(env.RootConfig(req.Destination.Account, req.Destination.Region))
		if _, err := b.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(req.Destination.Bucket)}); err != nil {
			t.Fatal(err)
		}
		if _, err := src.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(req.Source.Bucket), Key: aws.String("outage/late.csv"), Body: bytes.NewReader([]byte("x"))}); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := env.Sim.WaitIdle(wctx); err != nil {
			t.Fatal(err)
		}
		provision(t, req.ExecutionName()+"-repair-2")
		// An old boundary on the Batch role: everything but s3:InitiateReplication.
		a := awsclient.IAM(env.RootConfig(localaws.SourceAccount, "us-east-1"))
		pol, err := a.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("old-boundary"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"s3:InitiateReplication","Resource":"*"}]}`)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{
			RoleName: aws.String(names.BatchRoleName(req.PairID)), PermissionsBoundary: pol.Policy.Arn}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Hub.ReceiveAlerts(ctx, 0); err != nil { // drop earlier notices
			t.Fatal(err)
		}
		run, err := env.Redrive(ctx, RedriveInput{PairID: req.PairID, Statuses: []string{"FAILED"}}, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		x := run.Execution
		if x.Status != localhub.StatusFailed || x.Error != "batchReport: BatchReplicationFailed" ||
			!strings.Contains(x.Cause, "InitiateReplicationNotPermitted") {
			t.Fatalf("redrive %s with %q: %s; want FAILED at batchReport naming InitiateReplicationNotPermitted", x.Status, x.Error, x.Cause)
		}
		alerts, err := env.Hub.ReceiveAlerts(ctx, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, al := range alerts {
			if al.MessageAttributes["outcome"].Value == "failed" && strings.Contains(al.Message, "InitiateReplicationNotPermitted") &&
				strings.Contains(al.Subject, req.PairID) {
				found = true
			}
		}
		if !found {
			t.Errorf("no failure alert naming InitiateReplicationNotPermitted among %+v", alerts)
		}
	})
}
