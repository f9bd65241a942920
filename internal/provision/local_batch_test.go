package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// Batch Replication end to end on the simulator: the stages the redrive state machine runs
// (Service.Redrive), and rule.replicateExisting in a provision run.

// failedObjects provisions the sample pair, removes the destination bucket policy (the
// grant the replication role needs in B), writes n objects, which FAIL, and returns their
// keys and version IDs.
func failedObjects(t *testing.T, env *localEnv, reqJSON []byte, n int) (spec.Request, map[string]string) {
	t.Helper()
	req := mustParse(t, reqJSON)
	env.apply(t, reqJSON)
	ctx := context.Background()
	must(t, call(awsclient.S3(env.root(req.Destination.Account, req.Destination.Region)).DeleteBucketPolicy(ctx,
		&s3.DeleteBucketPolicyInput{Bucket: aws.String(req.Destination.Bucket)})))
	versions := map[string]string{}
	for i := range n {
		key := fmt.Sprintf("invoices/outage-%03d.csv", i)
		versions[key] = aws.ToString(env.putAndWait(t, req, key, "").VersionId)
	}
	for key, v := range versions {
		if status, code, _, _ := env.srv.ObjectReplication(req.Source.Bucket, key, v); status != "FAILED" || code != "DstPutObjectNotPermitted" {
			t.Fatalf("%s during the outage: %s %s, want FAILED DstPutObjectNotPermitted", key, status, code)
		}
	}
	return req, versions
}

func TestRedriveAfterRepairReplicatesEveryFailedObject(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	reqJSON := sampleRequest(t)
	req, versions := failedObjects(t, env, reqJSON, 5)

	// The repair: re-running provisioning restores the destination bucket policy.
	res := env.apply(t, reqJSON)
	if countChanges(res) == 0 {
		t.Fatal("re-running provisioning after the grant was removed changed nothing")
	}
	dstKey := outputOf(res, names.StageKey, SideDestination, "keyArn")

	out, err := env.svc.Redrive(context.Background(), reqJSON, nil)
	if err != nil {
		t.Fatalf("redrive: %v", err)
	}
	final := out[len(out)-1]
	if final.Stage != names.StageBatchReport || final.Outputs["status"] != "Complete" || final.Outputs["total"] != "5" ||
		final.Outputs["succeeded"] != "5" || final.Outputs["failed"] != "0" {
		t.Fatalf("redrive result %+v, want a Complete job with 5 of 5 tasks succeeded", final.Outputs)
	}
	ctx := context.Background()
	dst := awsclient.S3(env.root(req.Destination.Account, req.Destination.Region))
	for key, v := range versions {
		if status, _, _, _ := env.srv.ObjectReplication(req.Source.Bucket, key, v); status != "COMPLETED" {
			t.Errorf("%s after the re-drive: %s, want COMPLETED", key, status)
		}
		h, err := dst.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(req.Destination.Bucket), Key: aws.String(key), VersionId: aws.String(v)})
		if err != nil {
			t.Fatalf("head replica %s: %v", key, err)
		}
		if aws.ToString(h.SSEKMSKeyId) != dstKey {
			t.Errorf("replica %s encrypted with %q, want the destination key %q", key, aws.ToString(h.SSEKMSKeyId), dstKey)
		}
	}

	// A second re-drive finds nothing FAILED: its empty job is cancelled, not run.
	out, err = env.svc.Redrive(context.Background(), reqJSON, nil)
	if err != nil {
		t.Fatalf("second redrive: %v", err)
	}
	if got := out[len(out)-1].Outputs; got["status"] != "Cancelled" || got["total"] != "0" {
		t.Errorf("second redrive %+v, want a cancelled empty job", got)
	}
}

func TestRedriveWithoutInitiateReplicationFailsNamingTheReason(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	reqJSON := sampleRequest(t)
	req, _ := failedObjects(t, env, reqJSON, 2)
	env.apply(t, reqJSON)

	ctx := context.Background()
	// Ensure the Batch role, then take s3:InitiateReplication out of its policy.
	if _, err := env.svc.Run(ctx, Event{Stage: names.StageBatchRole, Side: SideSource, Request: reqJSON, Batch: &BatchInput{}}); err != nil {
		t.Fatal(err)
	}
	p := policy.ReplicationParams{PairID: req.PairID, SourceBucket: req.Source.Bucket, Prefix: req.Rule.Prefix}
	doc := without(policy.BatchRolePolicy(p), policy.SidFor(req.PairID, policy.PurposeBatchInitiate), policy.ActInitiateReplication)
	must(t, call(awsclient.IAM(env.root(req.Source.Account, "us-east-1")).PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: aws.String(names.BatchRoleName(req.PairID)), PolicyName: aws.String(names.BatchPolicyName),
		PolicyDocument: aws.String(string(doc.JSON()))})))

	// Redrive's batchRole stage would restore the policy; run the stages after it.
	batch := &BatchInput{Statuses: []string{"FAILED"}}
	var res Result
	var err error
	for _, stage := range RedriveStages[1:] {
		ev := Event{Stage: stage, Side: SideSource, Request: reqJSON, Batch: batch}
		res, err = env.svc.Run(ctx, ev)
		if stage == names.StageBatchStatus {
			res, err = env.svc.pollJob(ctx, res, err, ev)
		}
		if id := res.Outputs["jobId"]; id != "" {
			batch.JobID = id
		}
		if err != nil {
			break
		}
	}
	var bf *BatchReplicationFailed
	if !errors.As(err, &bf) {
		t.Fatalf("redrive without s3:InitiateReplication: %v, want BatchReplicationFailed", err)
	}
	if !strings.Contains(bf.Message, "2 object(s) failed with InitiateReplicationNotPermitted") || !strings.Contains(bf.Message, "s3:InitiateReplication") {
		t.Errorf("failure does not name the reason, its count and its fix:\n%s", bf.Message)
	}
	if res.Outputs["failureReasons"] != `{"InitiateReplicationNotPermitted":2}` {
		t.Errorf("failureReasons output %q", res.Outputs["failureReasons"])
	}
}

func TestReplicateExistingReplicatesObjectsFromBeforeTheRule(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	reqJSON := sampleRequest(t)
	req := mustParse(t, reqJSON)
	ctx := context.Background()

	// Provision without the option, remove the rule's configuration, and write objects
	// with no rule in place: they have no replication status (NONE).
	env.apply(t, reqJSON)
	src := awsclient.S3(env.root(req.Source.Account, req.Source.Region))
	must(t, call(src.DeleteBucketReplication(ctx, &s3.DeleteBucketReplicationInput{Bucket: aws.String(req.Source.Bucket)})))
	versions := map[string]string{}
	for i := range 3 {
		key := fmt.Sprintf("invoices/before-%d.csv", i)
		versions[key] = aws.ToString(env.putAndWait(t, req, key, "").VersionId)
		if status, _, _, _ := env.srv.ObjectReplication(req.Source.Bucket, key, versions[key]); status != "" {
			t.Fatalf("%s written without a rule has status %q", key, status)
		}
	}

	withOption := strings.Replace(string(reqJSON), `"rule": {"prefix"`, `"rule": {"replicateExisting": true, "prefix"`, 1)
	if withOption == string(reqJSON) {
		t.Fatal("sample request has no rule object to add replicateExisting to")
	}
	res := env.apply(t, []byte(withOption))
	report := outputOf(res, names.StageBatchReport, SideSource, "succeeded")
	if report != "3" || outputOf(res, names.StageBatchReport, SideSource, "status") != "Complete" {
		t.Fatalf("batchReport outputs: %+v", res[len(res)-1].Outputs)
	}
	for key, v := range versions {
		if status, _, _, _ := env.srv.ObjectReplication(req.Source.Bucket, key, v); status != "COMPLETED" {
			t.Errorf("%s from before the rule: %s, want COMPLETED", key, status)
		}
	}
}

// A pair that was re-driven has a second role, the Batch Replication role: destroy removes
// it with the replication role (both tagged as s3crr's for the pair), and a second destroy
// finds nothing to remove.
func TestDestroyRemovesTheBatchRole(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	reqJSON := sampleRequest(t)
	req, _ := failedObjects(t, env, reqJSON, 1)
	env.apply(t, reqJSON)
	if _, err := env.svc.Redrive(context.Background(), reqJSON, nil); err != nil {
		t.Fatalf("redrive: %v", err)
	}
	ctx := context.Background()
	c := awsclient.IAM(env.root(req.Source.Account, "us-east-1"))
	batchRole := names.BatchRoleName(req.PairID)
	if _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(batchRole)}); err != nil {
		t.Fatalf("the re-drive left no Batch role %s: %v", batchRole, err)
	}
	if _, err := env.svc.Destroy(ctx, reqJSON, DestroyOptions{}, false); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	for _, name := range []string{req.ReplicationRoleName(), batchRole} {
		if _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)}); !awsclient.IsNotFound(err) {
			t.Errorf("GetRole %s after destroy: %v, want NoSuchEntity", name, err)
		}
	}
	env.srv.ResetCalls()
	if again, err := env.svc.Destroy(ctx, reqJSON, DestroyOptions{}, false); err != nil || countChanges(again) != 0 || env.srv.MutatingCalls("") != 0 {
		t.Errorf("second destroy: %v, %d changes, %d mutating calls", err, countChanges(again), env.srv.MutatingCalls(""))
	}
}
