package provision

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// withReplicateExisting is a request with rule.replicateExisting set.
func withReplicateExisting(t *testing.T, reqJSON []byte) []byte {
	t.Helper()
	out := strings.Replace(string(reqJSON), `"rule": {`, `"rule": {"replicateExisting": true, `, 1)
	if out == string(reqJSON) {
		t.Fatal("the request has no rule object to add replicateExisting to")
	}
	return []byte(out)
}

// TestBatchPermissionsAreMinimal removes each action of the Batch role's documents (its
// trust, its inline policy, and the boundary statements that admit them) in turn and
// expects the re-drive to fail with the requirement's documented code: the job's
// FailureCode or the failed tasks' reason, as batchReport reports them.
func TestBatchPermissionsAreMinimal(t *testing.T) {
	reqJSON := sampleRequest(t)
	req := mustParse(t, reqJSON)
	p := policy.ReplicationParams{PairID: req.PairID, SourceBucket: req.Source.Bucket, Prefix: req.Rule.Prefix}
	role := aws.String(names.BatchRoleName(req.PairID))
	type doc struct {
		name string
		doc  policy.Document
		put  func(ctx context.Context, c *iam.Client, d policy.Document) error
	}
	docs := []doc{
		{"batch role policy", policy.BatchRolePolicy(p), func(ctx context.Context, c *iam.Client, d policy.Document) error {
			return call(c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: role, PolicyName: aws.String(names.BatchPolicyName), PolicyDocument: aws.String(string(d.JSON()))}))
		}},
		{"batch role trust", policy.BatchTrustPolicy(p), func(ctx context.Context, c *iam.Client, d policy.Document) error {
			if len(d.Statement) == 0 { // IAM refuses an empty trust policy: trust another service instead
				d.Statement = []policy.Statement{{Sid: "NotBatch", Effect: policy.Allow, Principal: policy.ServicePrincipal("ec2.amazonaws.com"), Action: []string{"sts:AssumeRole"}}}
			}
			return call(c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: role, PolicyDocument: aws.String(string(d.JSON()))}))
		}},
		{"permissions boundary", policy.ReplicationBoundary(policy.BoundaryParams{MemberAccounts: []string{localaws.SourceAccount, localaws.DestinationAccount}}),
			func(ctx context.Context, c *iam.Client, d policy.Document) error {
				// The simulator keeps one policy version: the Batch role gets a new
				// boundary policy with the statement changed.
				out, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("boundary-without"), PolicyDocument: aws.String(string(d.JSON()))})
				if err != nil {
					return err
				}
				return call(c.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: role, PermissionsBoundary: out.Policy.Arn}))
			}},
	}
	walked := map[walkCase]bool{}
	for _, d := range docs {
		for _, st := range d.doc.Statement {
			for _, action := range st.Action {
				r, ok := policy.RequiredBy(st.Sid, action)
				if !ok {
					t.Errorf("%s %s grants %s, which the requirement table does not explain", d.name, st.Sid, action)
					continue
				}
				if r.Trigger != policy.TriggerBatchJob {
					continue // the boundary's replication statements: TestReplicationPermissionsAreMinimal
				}
				_, purpose, _ := policy.ParseSid(st.Sid)
				walked[walkCase{purpose, strings.ToLower(action)}] = true
				t.Run(d.name+"/"+st.Sid+"/"+action, func(t *testing.T) {
					env := newLocalEnv(t, localaws.Options{})
					failedObjects(t, env, reqJSON, 1)
					env.apply(t, reqJSON)
					ctx := context.Background()
					if _, err := env.svc.Run(ctx, Event{Stage: names.StageBatchRole, Side: SideSource, Request: reqJSON, Batch: &BatchInput{}}); err != nil {
						t.Fatal(err)
					}
					must(t, d.put(ctx, awsclient.IAM(env.root(req.Source.Account, "us-east-1")), without(d.doc, st.Sid, action)))
					err := env.redriveAfterRole(t, reqJSON)
					var bf *BatchReplicationFailed
					if !errors.As(err, &bf) || !strings.Contains(bf.Message, r.Failure) {
						t.Errorf("without %s in %s: %v; want BatchReplicationFailed naming %s (%s)", action, d.name, err, r.Failure, r.Why)
					}
				})
			}
		}
	}
	for _, r := range policy.Requirements() {
		if r.Trigger == policy.TriggerBatchJob && !walked[walkCase{r.Purpose, strings.ToLower(r.Action)}] {
			t.Errorf("%s in %s statements is never walked", r.Action, r.Purpose)
		}
	}
}

// redriveAfterRole runs the redrive stages after batchRole (which would restore the
// role's documents), following the job to its end, and returns the first error.
func (e *localEnv) redriveAfterRole(t *testing.T, reqJSON []byte) error {
	t.Helper()
	ctx := context.Background()
	batch := &BatchInput{Statuses: []string{"FAILED"}}
	for _, stage := range RedriveStages[1:] {
		ev := Event{Stage: stage, Side: SideSource, Request: reqJSON, Batch: batch}
		res, err := e.svc.Run(ctx, ev)
		if stage == names.StageBatchStatus {
			res, err = e.svc.pollJob(ctx, res, err, ev)
		}
		if err != nil {
			return err
		}
		if id := res.Outputs["jobId"]; id != "" {
			batch.JobID = id
		}
	}
	return nil
}
