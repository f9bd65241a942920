package provision

// Permission minimality: every action in every policy s3crr generates is needed. The test
// walks the generated documents themselves (not a hand-picked list), removes one action at
// a time, and expects the outcome internal/policy's requirement table documents: the
// replication failure code S3 records, or AccessDenied from the stage that needs it.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localdeploy"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// without returns doc with one action removed from one statement (the statement dropped
// if it has no action left).
func without(doc policy.Document, sid, action string) policy.Document {
	out := doc
	out.Statement = nil
	for _, s := range doc.Statement {
		if s.Sid == sid {
			var kept []string
			for _, a := range s.Action {
				if !strings.EqualFold(a, action) {
					kept = append(kept, a)
				}
			}
			if len(kept) == 0 {
				continue
			}
			s.Action = kept
		}
		out.Statement = append(out.Statement, s)
	}
	return out
}

// replicationDoc is one generated replication document as it stands in the accounts, with
// the way to put a modified copy back.
type replicationDoc struct {
	name string
	doc  policy.Document
	put  func(policy.Document) error
}

func TestReplicationPermissionsAreMinimal(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	reqJSON := sampleRequest(t)
	req := mustParse(t, reqJSON)
	res := env.apply(t, reqJSON)
	ctx := context.Background()
	dstKeyARN := outputOf(res, StageKey, SideDestination, "keyArn")
	srcIAM := awsclient.IAM(env.root(req.Source.Account, req.Source.Region))
	dstS3 := awsclient.S3(env.root(req.Destination.Account, req.Destination.Region))
	dstKMS := awsclient.KMS(env.root(req.Destination.Account, req.Destination.Region))
	current := func(get func() (*string, error)) policy.Document {
		s, err := get()
		must(t, err)
		d, err := policy.ParseIAMDocument(aws.ToString(s))
		must(t, err)
		return d
	}
	docs := []replicationDoc{
		{name: "replication role trust", doc: current(func() (*string, error) {
			o, err := srcIAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(req.ReplicationRoleName())})
			if err != nil {
				return nil, err
			}
			return o.Role.AssumeRolePolicyDocument, nil
		}), put: func(d policy.Document) error {
			if len(d.Statement) == 0 {
				// IAM refuses an empty trust policy; trusting only the account itself
				// is the same as not trusting S3.
				d.Statement = []policy.Statement{{Sid: "NotS3", Effect: policy.Allow, Principal: policy.AWSPrincipal(policy.AccountRootARN(req.Source.Account)), Action: []string{"sts:AssumeRole"}}}
			}
			return call(srcIAM.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(req.ReplicationRoleName()), PolicyDocument: aws.String(string(d.JSON()))}))
		}},
		{name: "replication role policy", doc: current(func() (*string, error) {
			o, err := srcIAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(req.ReplicationRoleName()), PolicyName: aws.String(replicationPolicyName)})
			if err != nil {
				return nil, err
			}
			return o.PolicyDocument, nil
		}), put: func(d policy.Document) error {
			return call(srcIAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(req.ReplicationRoleName()), PolicyName: aws.String(replicationPolicyName), PolicyDocument: aws.String(string(d.JSON()))}))
		}},
		{name: "destination bucket policy", doc: current(func() (*string, error) {
			o, err := dstS3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(req.Destination.Bucket)})
			if err != nil {
				return nil, err
			}
			return o.Policy, nil
		}), put: func(d policy.Document) error {
			return call(dstS3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(req.Destination.Bucket), Policy: aws.String(string(d.JSON()))}))
		}},
		{name: "destination key policy", doc: current(func() (*string, error) {
			o, err := dstKMS.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(dstKeyARN), PolicyName: aws.String("default")})
			if err != nil {
				return nil, err
			}
			return o.Policy, nil
		}), put: func(d policy.Document) error {
			return call(dstKMS.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(dstKeyARN), PolicyName: aws.String("default"), Policy: aws.String(string(d.JSON()))}))
		}},
	}

	checked := 0
	for _, d := range docs {
		for _, st := range d.doc.Statement {
			if st.Effect != policy.Allow || !policy.IsOurs(st.Sid) {
				continue // the TLS-only Deny, and statements s3crr did not write
			}
			for _, action := range st.Action {
				r, ok := policy.RequiredBy(st.Sid, action)
				if !ok {
					t.Errorf("%s %s grants %s, which the requirement table does not explain", d.name, st.Sid, action)
					continue
				}
				if r.Only == policy.OnlyObjectLock {
					continue // the sample pair has no Object Lock, so the action is not granted
				}
				name := fmt.Sprintf("%s/%s/%s", d.name, st.Sid, action)
				t.Run(name, func(t *testing.T) {
					must(t, d.put(without(d.doc, st.Sid, action)))
					defer func() { must(t, d.put(d.doc)) }()
					got := env.triggerReplication(t, req, r.Trigger)
					if got != r.Failure {
						t.Errorf("without %s in %s: replication %q, want FAILED with %s (%s)", action, d.name, got, r.Failure, r.Why)
					}
				})
				checked++
			}
		}
	}
	if checked < 12 {
		t.Errorf("checked only %d actions; the generated documents should hold more", checked)
	}
	// And with everything restored, replication works again.
	if got := env.triggerReplication(t, req, policy.TriggerTaggedObject); got != "COMPLETED" {
		t.Errorf("after restoring every document: %s, want COMPLETED", got)
	}
}

// triggerReplication makes S3 replicate something and returns the source version's
// outcome: "COMPLETED" or the failure code.
func (e *localEnv) triggerReplication(t *testing.T, req spec.Request, trigger policy.Trigger) string {
	t.Helper()
	ctx := context.Background()
	src := awsclient.S3(e.root(req.Source.Account, req.Source.Region))
	key := req.Rule.Prefix + "minimality/" + strings.ReplaceAll(t.Name(), "/", "_")
	var version string
	switch trigger {
	case policy.TriggerObject:
		version = aws.ToString(e.putAndWait(t, req, key, "").VersionId)
	case policy.TriggerTaggedObject:
		version = aws.ToString(e.putAndWait(t, req, key, "class=invoice").VersionId)
	case policy.TriggerDeleteMarker:
		e.putAndWait(t, req, key, "")
		out, err := src.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(req.Source.Bucket), Key: aws.String(key)})
		must(t, err)
		must(t, e.srv.WaitIdle(ctx))
		version = aws.ToString(out.VersionId)
	default:
		t.Fatalf("trigger %q not supported by this test", trigger)
	}
	status, code, detail, ok := e.srv.ObjectReplication(req.Source.Bucket, key, version)
	if !ok {
		t.Fatalf("no version %s of %s", version, key)
	}
	if status == "FAILED" {
		t.Logf("%s: %s", code, detail)
		return code
	}
	return status
}

// provisionerScenario prepares the accounts before the provisioner loses an action: some
// calls only happen for resources that already exist, or that drifted.
type provisionerScenario struct {
	name  string
	setup func(t *testing.T, env *localEnv, req spec.Request, reqJSON []byte)
}

var provisionerScenarios = []provisionerScenario{
	{name: "fresh accounts", setup: func(*testing.T, *localEnv, spec.Request, []byte) {}},
	{name: "legacy buckets and unrelated keys", setup: func(t *testing.T, env *localEnv, req spec.Request, _ []byte) {
		ctx := context.Background()
		for _, ep := range []spec.Endpoint{req.Source, req.Destination} {
			c := awsclient.S3(env.root(ep.Account, ep.Region))
			in := &s3.CreateBucketInput{Bucket: aws.String(ep.Bucket)}
			if ep.Region != "us-east-1" {
				in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(ep.Region)}
			}
			must(t, call(c.CreateBucket(ctx, in)))
			// Buckets from before 2023: no ownership controls, no Block Public Access.
			must(t, call(c.DeleteBucketOwnershipControls(ctx, &s3.DeleteBucketOwnershipControlsInput{Bucket: aws.String(ep.Bucket)})))
			_, _ = c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(ep.Bucket)})
			must(t, call(awsclient.KMS(env.root(ep.Account, ep.Region)).CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("someone else's key")})))
		}
	}},
	{name: "drifted pair", setup: func(t *testing.T, env *localEnv, req spec.Request, reqJSON []byte) {
		env.apply(t, reqJSON)
		c := awsclient.IAM(env.root(req.Source.Account, req.Source.Region))
		must(t, call(c.UpdateAssumeRolePolicy(context.Background(), &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(req.ReplicationRoleName()),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"batchoperations.s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})))
	}},
}

func TestProvisionerPermissionsAreMinimal(t *testing.T) {
	reqJSON := sampleRequest(t)
	req := mustParse(t, reqJSON)
	pp := policy.ProvisionerParams{Account: localaws.SourceAccount, HubAccount: localaws.HubAccount,
		HubRoleARNs: []string{policy.RoleARN(localaws.HubAccount, "/", localdeploy.ProvisionFunctionRoleName)}, ExternalID: testExternalID}
	doc := policy.ProvisionerPolicy(pp)
	checked := 0
	for _, st := range doc.Statement {
		for _, action := range st.Action {
			r, ok := policy.RequiredBy(st.Sid, action)
			if !ok {
				t.Errorf("%s grants %s, which the requirement table does not explain", st.Sid, action)
				continue
			}
			if len(r.Stages) > 0 && r.Stages[0] == policy.StageVerify {
				// The verify Lambda (canary objects) is not built yet; provisioning does not
				// call these, so removing them shows nothing yet.
				continue
			}
			checked++
			t.Run(st.Sid+"/"+action, func(t *testing.T) {
				var outcomes []string
				for _, sc := range provisionerScenarios {
					env := newLocalEnv(t, localaws.Options{})
					sc.setup(t, env, req, reqJSON)
					for _, acct := range []string{localaws.SourceAccount, localaws.DestinationAccount} {
						p := pp
						p.Account = acct
						c := awsclient.IAM(env.root(acct, "us-east-1"))
						must(t, call(c.PutRolePolicy(context.Background(), &iam.PutRolePolicyInput{RoleName: aws.String(policy.DefaultProvisionerRoleName),
							PolicyName: aws.String("s3crr-provisioner"), PolicyDocument: aws.String(string(without(policy.ProvisionerPolicy(p), st.Sid, action).JSON()))})))
					}
					// A first run skips reads of what it creates; a re-run reads everything.
					var err error
					for run := 0; run < 2 && err == nil; run++ {
						_, err = env.svc.Apply(context.Background(), reqJSON)
					}
					var ad *AccessDenied
					if errors.As(err, &ad) && strings.Contains(err.Error(), action) {
						return // the documented failure: a stage's AccessDenied naming the action
					}
					// KMS changes authorized by the key's alias are retried as propagation
					// first (PrincipalNotReady), with a message naming the action.
					var pn *PrincipalNotReady
					if aliasAuthorized[action] && errors.As(err, &pn) && strings.Contains(err.Error(), action) {
						return
					}
					outcomes = append(outcomes, fmt.Sprintf("%s: %v", sc.name, err))
				}
				t.Errorf("without %s no scenario failed with AccessDenied naming it (needed by %v for %v):\n%s", action, r.Stages, r.Calls, strings.Join(outcomes, "\n"))
			})
		}
	}
	if checked < 20 {
		t.Errorf("checked only %d actions", checked)
	}
}
