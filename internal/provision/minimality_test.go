package provision

// Permission minimality: every action in every policy s3crr generates is needed. The test
// walks the generated documents themselves (not a hand-picked list), removes one action at
// a time, and expects the outcome internal/policy's requirement table documents: the
// replication failure code S3 records, or AccessDenied from the stage that needs it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localaws/authz"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
	"github.com/s3crr/s3crr/statemachine"
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

// replicationScenario is a pair whose documents the walk takes apart. Between them the
// scenarios make s3crr write every replication action it has: the sample pair (Bucket
// Keys), an Object Lock pair whose destination keeps object-writer ownership (so the
// owner override is granted), and a pair whose existing source key does not delegate
// Decrypt to IAM (so the source key policy gets s3crr's statement).
type replicationScenario struct {
	name string
	// request returns the pair request after preparing the accounts for it.
	request func(t *testing.T, env *localEnv) []byte
	// docs limits the walk to the named documents; nil walks all of them.
	docs []string
}

var replicationScenarios = []replicationScenario{
	{name: "sample pair", request: func(t *testing.T, _ *localEnv) []byte { return sampleRequest(t) }},
	{name: "object lock pair with object-writer destination", request: objectLockPair},
	// Only the key policy: with the key policy naming the role, the role policy's own
	// SourceDecrypt grant is redundant (KMS needs no IAM grant when the key policy
	// names the principal), so removing it fails nothing. That is a real gap in
	// s3crr's minimality, not a simulator error: closing it needs the role stage to
	// read the source key policy and leave SourceDecrypt out of the role policy.
	{name: "own source key without IAM delegation", request: pairWithOwnSourceKey, docs: []string{"source key policy"}},
}

// objectLockPair creates both buckets with Object Lock, the destination with
// object-writer ownership, which s3crr leaves as it is (so the rule carries the owner
// override and both policies grant it), and returns the sample request.
func objectLockPair(t *testing.T, env *localEnv) []byte {
	ctx := context.Background()
	req := mustParse(t, sampleRequest(t))
	createObjectLockBucket(t, env, req.Source)
	createObjectLockBucket(t, env, req.Destination)
	must(t, call(awsclient.S3(env.root(req.Destination.Account, req.Destination.Region)).PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{
		Bucket:            aws.String(req.Destination.Bucket),
		OwnershipControls: &s3types.OwnershipControls{Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipObjectWriter}}},
	})))
	return sampleRequest(t)
}

// createObjectLockBucket creates an endpoint's bucket with Object Lock, as its account's
// root.
func createObjectLockBucket(t *testing.T, env *localEnv, ep spec.Endpoint) {
	t.Helper()
	in := &s3.CreateBucketInput{Bucket: aws.String(ep.Bucket), ObjectLockEnabledForBucket: aws.Bool(true)}
	if ep.Region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(ep.Region)}
	}
	must(t, call(awsclient.S3(env.root(ep.Account, ep.Region)).CreateBucket(context.Background(), in)))
}

// pairWithOwnSourceKey creates a source key whose policy lets the account do everything
// but Decrypt, and returns a request using it.
func pairWithOwnSourceKey(t *testing.T, env *localEnv) []byte {
	ctx := context.Background()
	req := mustParse(t, sampleRequest(t))
	keyPolicy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"AllButDecrypt","Effect":"Allow","Principal":{"AWS":%q},"NotAction":"kms:Decrypt","Resource":"*"}]}`,
		policy.AccountRootARN(req.Source.Account))
	key, err := awsclient.KMS(env.root(req.Source.Account, req.Source.Region)).CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(keyPolicy),
		Tags: []kmstypes.Tag{{TagKey: aws.String(names.BroughtKeyTagKey), TagValue: aws.String(names.BroughtKeyTagValue)}}})
	must(t, err)
	var raw map[string]any
	must(t, json.Unmarshal(sampleRequest(t), &raw))
	src := raw["source"].(map[string]any)
	delete(src, "kmsKeyAlias")
	src["kmsKeyArn"] = aws.ToString(key.KeyMetadata.Arn)
	b, err := json.Marshal(raw)
	must(t, err)
	return b
}

// walkCase is one (document, statement, action) the walk removed, for the coverage
// check at the end.
type walkCase struct{ purpose, action string }

func TestReplicationPermissionsAreMinimal(t *testing.T) {
	walked := map[walkCase]bool{}
	cases := 0
	for _, sc := range replicationScenarios {
		t.Run(sc.name, func(t *testing.T) {
			env := newLocalEnv(t, localaws.Options{})
			reqJSON := sc.request(t, env)
			req := mustParse(t, reqJSON)
			res := env.apply(t, reqJSON)
			docs := env.replicationDocs(t, req, res)
			// The boundary bounds what the role policy grants: an action the role does
			// not have in this scenario (Object Lock reads without Object Lock) is walked
			// in the scenario that grants it.
			granted := map[string]bool{}
			for _, d := range docs {
				if d.name == "replication role policy" {
					for _, st := range d.doc.Statement {
						for _, a := range st.Action {
							granted[strings.ToLower(a)] = true
						}
					}
				}
			}
			for _, d := range docs {
				if sc.docs != nil && !slices.Contains(sc.docs, d.name) {
					continue
				}
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
						_, purpose, _ := policy.ParseSid(st.Sid)
						if d.name == "permissions boundary" && !granted[strings.ToLower(action)] {
							continue
						}
						if r.Trigger == policy.TriggerBatchJob {
							continue // the Batch role's grants: TestBatchPermissionsAreMinimal
						}
						walked[walkCase{purpose, strings.ToLower(action)}] = true
						cases++
						t.Run(fmt.Sprintf("%s/%s/%s", d.name, st.Sid, action), func(t *testing.T) {
							must(t, d.put(without(d.doc, st.Sid, action)))
							defer func() { must(t, d.put(d.doc)) }()
							got := env.triggerReplication(t, req, r.Trigger)
							if got != r.Failure {
								t.Errorf("without %s in %s: replication %q, want FAILED with %s (%s)", action, d.name, got, r.Failure, r.Why)
							}
						})
					}
				}
			}
			// With everything restored, replication works again.
			for _, trig := range []policy.Trigger{policy.TriggerTaggedObject, policy.TriggerDeleteMarker} {
				if got := env.triggerReplication(t, req, trig); got != "COMPLETED" {
					t.Errorf("after restoring every document, %s: %s, want COMPLETED", trig, got)
				}
			}
		})
	}
	t.Logf("replication walk: %d cases, %d distinct statement purposes and actions", cases, len(walked))
	// No skip list: every replication requirement was walked in some document.
	for _, r := range policy.Requirements() {
		if r.Failure != "" && r.Trigger != policy.TriggerBatchJob && !walked[walkCase{r.Purpose, strings.ToLower(r.Action)}] {
			t.Errorf("%s in %s statements is never walked: no scenario makes s3crr write it", r.Action, r.Purpose)
		}
	}
}

// replicationDocs returns every replication document s3crr wrote for the pair, as it
// stands in the accounts, with the way to put a modified copy back.
func (e *localEnv) replicationDocs(t *testing.T, req spec.Request, res []Result) []replicationDoc {
	ctx := context.Background()
	srcKeyARN := outputOf(res, names.StageKey, SideSource, "keyArn")
	dstKeyARN := outputOf(res, names.StageKey, SideDestination, "keyArn")
	srcIAM := awsclient.IAM(e.root(req.Source.Account, req.Source.Region))
	srcKMS := awsclient.KMS(e.root(req.Source.Account, req.Source.Region))
	dstS3 := awsclient.S3(e.root(req.Destination.Account, req.Destination.Region))
	dstKMS := awsclient.KMS(e.root(req.Destination.Account, req.Destination.Region))
	role := aws.String(req.ReplicationRoleName())
	current := func(get func() (*string, error)) policy.Document {
		s, err := get()
		must(t, err)
		d, err := policy.ParseIAMDocument(aws.ToString(s))
		must(t, err)
		return d
	}
	keyPolicy := func(c *kms.Client, keyARN string) (policy.Document, func(policy.Document) error) {
		d := current(func() (*string, error) {
			o, err := c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(keyARN), PolicyName: aws.String("default")})
			if err != nil {
				return nil, err
			}
			return o.Policy, nil
		})
		return d, func(d policy.Document) error {
			return call(c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(keyARN), PolicyName: aws.String("default"), Policy: aws.String(string(d.JSON()))}))
		}
	}
	srcKeyDoc, putSrcKey := keyPolicy(srcKMS, srcKeyARN)
	dstKeyDoc, putDstKey := keyPolicy(dstKMS, dstKeyARN)

	// The boundary is a managed policy the simulator cannot version; the walk attaches
	// a reduced copy as the role's boundary and puts the original back.
	boundaryARN := names.BoundaryPolicyARN(req.Source.Account)
	boundaryDoc := current(func() (*string, error) {
		p, err := srcIAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(boundaryARN)})
		if err != nil {
			return nil, err
		}
		v, err := srcIAM.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(boundaryARN), VersionId: p.Policy.DefaultVersionId})
		if err != nil {
			return nil, err
		}
		return v.PolicyVersion.Document, nil
	})
	reduced := 0
	putBoundary := func(d policy.Document) error {
		if policy.Equivalent(d, boundaryDoc) {
			return call(srcIAM.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: role, PermissionsBoundary: aws.String(boundaryARN)}))
		}
		reduced++
		p, err := srcIAM.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(fmt.Sprintf("boundary-walk-%d", reduced)), PolicyDocument: aws.String(string(d.JSON()))})
		if err != nil {
			return err
		}
		return call(srcIAM.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: role, PermissionsBoundary: p.Policy.Arn}))
	}

	return []replicationDoc{
		{name: "replication role trust", doc: current(func() (*string, error) {
			o, err := srcIAM.GetRole(ctx, &iam.GetRoleInput{RoleName: role})
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
			return call(srcIAM.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: role, PolicyDocument: aws.String(string(d.JSON()))}))
		}},
		{name: "replication role policy", doc: current(func() (*string, error) {
			o, err := srcIAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: role, PolicyName: aws.String(names.ReplicationPolicyName)})
			if err != nil {
				return nil, err
			}
			return o.PolicyDocument, nil
		}), put: func(d policy.Document) error {
			return call(srcIAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: role, PolicyName: aws.String(names.ReplicationPolicyName), PolicyDocument: aws.String(string(d.JSON()))}))
		}},
		{name: "permissions boundary", doc: boundaryDoc, put: putBoundary},
		{name: "source key policy", doc: srcKeyDoc, put: putSrcKey},
		{name: "destination bucket policy", doc: current(func() (*string, error) {
			o, err := dstS3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(req.Destination.Bucket)})
			if err != nil {
				return nil, err
			}
			return o.Policy, nil
		}), put: func(d policy.Document) error {
			return call(dstS3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(req.Destination.Bucket), Policy: aws.String(string(d.JSON()))}))
		}},
		{name: "destination key policy", doc: dstKeyDoc, put: putDstKey},
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
	case policy.TriggerLockedObject:
		// The simulator checks the Object Lock reads for every version in a bucket
		// with Object Lock, as S3 replicates the version's lock state whatever it is.
		version = aws.ToString(e.putAndWait(t, req, key, "").VersionId)
	case policy.TriggerTaggedObject:
		version = aws.ToString(e.putAndWait(t, req, key, "class=invoice").VersionId)
	case policy.TriggerBucketKeyObject:
		version = aws.ToString(e.putBucketKeyAndWait(t, req, key).VersionId)
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
	name string
	// setup prepares the accounts; it returns the request to apply, or nil for reqJSON.
	setup func(t *testing.T, env *localEnv, req spec.Request, reqJSON []byte) []byte
	// beforeDestroy, if set, changes the accounts between the provisioning runs and the
	// teardown: some deletes happen only for what an owner changed since.
	beforeDestroy func(t *testing.T, env *localEnv, req spec.Request)
}

var provisionerScenarios = []provisionerScenario{
	{name: "fresh accounts", setup: func(*testing.T, *localEnv, spec.Request, []byte) []byte { return nil }},
	// The bucket stage always adds the TLS-only statement, which destroy keeps; only when
	// the owner has removed it are the pair's statements all the policy has, and destroy
	// deletes the policy (s3:DeleteBucketPolicy).
	{name: "owner dropped the TLS-only statement", setup: func(*testing.T, *localEnv, spec.Request, []byte) []byte { return nil },
		beforeDestroy: func(t *testing.T, env *localEnv, req spec.Request) {
			ctx := context.Background()
			c := awsclient.S3(env.root(req.Destination.Account, req.Destination.Region))
			out, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(req.Destination.Bucket)})
			must(t, err)
			doc, err := policy.ParseDocument([]byte(aws.ToString(out.Policy)))
			must(t, err)
			doc, _ = policy.Remove(doc, policy.SidDenyInsecureTransport)
			must(t, call(c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(req.Destination.Bucket), Policy: aws.String(string(doc.JSON()))})))
		}},
	{name: "legacy buckets and unrelated keys", setup: func(t *testing.T, env *localEnv, req spec.Request, _ []byte) []byte {
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
		return nil
	}},
	// Only here does the buckets stage create a bucket with Object Lock, which needs
	// s3:PutBucketObjectLockConfiguration (docs/aws-facts.md#F-CREATEBUCKET-OBJECT-LOCK).
	{name: "object lock source, new destination", setup: func(t *testing.T, env *localEnv, req spec.Request, _ []byte) []byte {
		createObjectLockBucket(t, env, req.Source)
		return nil
	}},
	{name: "keys brought by their owner", setup: func(t *testing.T, env *localEnv, _ spec.Request, reqJSON []byte) []byte {
		return withBroughtKeys(t, env, reqJSON)
	}},
	{name: "duplicate run wins the alias race", setup: func(t *testing.T, env *localEnv, req spec.Request, _ []byte) []byte {
		raceAliasOnce(t, env, req.Source, req.PairID)
		return nil
	}},
	// Only rule.replicateExisting runs the Batch Replication stages in a provision run;
	// an object from before the rule gives the job a task, so it is confirmed and its
	// report read.
	{name: "existing objects replicated", setup: func(t *testing.T, env *localEnv, req spec.Request, reqJSON []byte) []byte {
		ctx := context.Background()
		c := awsclient.S3(env.root(req.Source.Account, req.Source.Region))
		in := &s3.CreateBucketInput{Bucket: aws.String(req.Source.Bucket)}
		if req.Source.Region != "us-east-1" {
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(req.Source.Region)}
		}
		must(t, call(c.CreateBucket(ctx, in)))
		must(t, call(c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(req.Source.Bucket),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})))
		must(t, call(c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(req.Source.Bucket), Key: aws.String("before-the-rule.csv"),
			Body: strings.NewReader("old")})))
		return withReplicateExisting(t, reqJSON)
	}},
	{name: "drifted pair", setup: func(t *testing.T, env *localEnv, req spec.Request, reqJSON []byte) []byte {
		env.apply(t, reqJSON)
		c := awsclient.IAM(env.root(req.Source.Account, req.Source.Region))
		must(t, call(c.UpdateAssumeRolePolicy(context.Background(), &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(req.ReplicationRoleName()),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"batchoperations.s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})))
		return nil
	}},
}

// provisionerDoc is one document that lets the provision Lambda work in the member
// accounts, with the way to install a copy lacking one action.
type provisionerDoc struct {
	name string
	doc  policy.Document
	put  func(t *testing.T, env *localEnv, sid, action string)
}

// provisionerDocs are the provisioner role's policy and trust in each member account,
// and the provision Lambda's role policy in the hub account, as localdeploy (and the
// CDK stacks) write them.
func provisionerDocs() []provisionerDoc {
	pp := policy.ProvisionerParams{Account: localaws.SourceAccount, HubAccount: localaws.HubAccount,
		HubRoleARNs: []string{policy.RoleARN(localaws.HubAccount, "/", names.ProvisionFunctionRoleName)}, ExternalID: testExternalID}
	perMember := func(build func(policy.ProvisionerParams) policy.Document, install func(c *iam.Client, d policy.Document) error) func(*testing.T, *localEnv, string, string) {
		return func(t *testing.T, env *localEnv, sid, action string) {
			for _, acct := range []string{localaws.SourceAccount, localaws.DestinationAccount} {
				p := pp
				p.Account = acct
				must(t, install(awsclient.IAM(env.root(acct, "us-east-1")), without(build(p), sid, action)))
			}
		}
	}
	hp := policy.HubParams{MemberAccounts: []string{localaws.SourceAccount, localaws.DestinationAccount}, ExternalID: testExternalID,
		LeaseTableARN: "arn:aws:dynamodb:us-east-1:" + localaws.HubAccount + ":table/" + names.LeaseTableName}
	return []provisionerDoc{
		{name: "provisioner policy", doc: policy.ProvisionerPolicy(pp), put: perMember(policy.ProvisionerPolicy, func(c *iam.Client, d policy.Document) error {
			return call(c.PutRolePolicy(context.Background(), &iam.PutRolePolicyInput{RoleName: aws.String(names.ProvisionerRoleName),
				PolicyName: aws.String("s3crr-provisioner"), PolicyDocument: aws.String(string(d.JSON()))}))
		})},
		{name: "provisioner trust", doc: policy.ProvisionerTrustPolicy(pp), put: perMember(policy.ProvisionerTrustPolicy, func(c *iam.Client, d policy.Document) error {
			if len(d.Statement) == 0 {
				// IAM refuses an empty trust policy; trusting only a third account is
				// the same as not trusting the hub.
				d.Statement = []policy.Statement{{Sid: "NotTheHub", Effect: policy.Allow, Principal: policy.AWSPrincipal(policy.AccountRootARN("999999999999")), Action: []string{"sts:AssumeRole"}}}
			}
			return call(c.UpdateAssumeRolePolicy(context.Background(), &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(names.ProvisionerRoleName), PolicyDocument: aws.String(string(d.JSON()))}))
		})},
		{name: "hub provision function policy", doc: policy.ProvisionFunctionPolicy(hp), put: func(t *testing.T, env *localEnv, sid, action string) {
			c := awsclient.IAM(env.root(localaws.HubAccount, "us-east-1"))
			d := without(policy.ProvisionFunctionPolicy(hp), sid, action)
			if len(d.Statement) == 0 {
				must(t, call(c.DeleteRolePolicy(context.Background(), &iam.DeleteRolePolicyInput{RoleName: aws.String(names.ProvisionFunctionRoleName), PolicyName: aws.String("s3crr-provision")})))
				return
			}
			must(t, call(c.PutRolePolicy(context.Background(), &iam.PutRolePolicyInput{RoleName: aws.String(names.ProvisionFunctionRoleName),
				PolicyName: aws.String("s3crr-provision"), PolicyDocument: aws.String(string(d.JSON()))})))
		}},
	}
}

func TestProvisionerPermissionsAreMinimal(t *testing.T) {
	reqJSON := sampleRequest(t)
	req := mustParse(t, reqJSON)
	walked := map[walkCase]bool{}
	for _, d := range provisionerDocs() {
		for _, st := range d.doc.Statement {
			if st.Effect != policy.Allow {
				continue // guards (no lockout bypass, no re-tagging): removing them fails nothing
			}
			for _, action := range st.Action {
				r, ok := policy.RequiredBy(st.Sid, action)
				if !ok {
					t.Errorf("%s %s grants %s, which the requirement table does not explain", d.name, st.Sid, action)
					continue
				}
				if r.Stages[0] == policy.VerifyCanary {
					continue // no provisioning stage writes objects: the canary's test walks these
				}
				if r.Purpose == policy.PurposeDocumentLeases {
					continue // kumo checks no IAM: TestLeasePermissionsAreMinimal walks these
				}
				_, purpose, _ := policy.ParseSid(st.Sid)
				walked[walkCase{purpose, strings.ToLower(action)}] = true
				t.Run(d.name+"/"+st.Sid+"/"+action, func(t *testing.T) {
					var outcomes []string
					for _, sc := range provisionerScenarios {
						env := newLocalEnv(t, localaws.Options{})
						reqJSON := reqJSON
						if own := sc.setup(t, env, req, reqJSON); own != nil {
							reqJSON = own
						}
						d.put(t, env, st.Sid, action)
						// A first run skips reads of what it creates; a re-run reads everything.
						var err error
						for run := 0; run < 2 && err == nil; run++ {
							_, err = env.svc.Apply(context.Background(), reqJSON)
						}
						// Then the teardown, with everything it may remove, for the
						// destroy stages' deletes.
						if err == nil && sc.beforeDestroy != nil {
							sc.beforeDestroy(t, env, req)
						}
						if err == nil {
							_, err = env.svc.Destroy(context.Background(), reqJSON, DestroyOptions{DeleteKeys: true, DeleteBuckets: true}, false)
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
					t.Errorf("without %s in %s no scenario failed with AccessDenied naming it (needed by %v for %v):\n%s", action, d.name, r.Stages, r.Calls, strings.Join(outcomes, "\n"))
				})
			}
		}
	}
	t.Logf("provisioner walk: %d distinct statement purposes and actions", len(walked))
	// No skip list: every provisioner and provision-Lambda requirement was walked. The
	// state machine's are walked by TestStateMachinePermissionsAreMinimal, the monitor's
	// by TestMonitorPermissionsAreMinimal, the auditor role's by internal/verify's
	// TestAuditorPolicyIsMinimal, the canary's and the verify Lambda's by internal/verify's
	// and internal/verifyjob's tests.
	for _, r := range policy.Requirements() {
		if r.Purpose == policy.PurposePairsRead {
			continue // the hub's DynamoDB is not the simulator's: TestProvisionFunctionTableReadIsMinimal walks it
		}
		if len(r.Stages) == 0 || r.Stages[0] == policy.HubStateMachine || r.Stages[0] == policy.HubReplicationMonitor || r.Stages[0] == policy.AuditorDoctor ||
			r.Stages[0] == policy.VerifyCanary || r.Stages[0] == policy.HubVerifyFunction ||
			r.Stages[0] == policy.HubVerifyStateMachine || r.Stages[0] == policy.HubVerifySchedule ||
			r.Purpose == policy.PurposeDocumentLeases {
			continue
		}
		if !walked[walkCase{r.Purpose, strings.ToLower(r.Action)}] {
			t.Errorf("%s in %s statements is never walked", r.Action, r.Purpose)
		}
	}
}

// TestStateMachinePermissionsAreMinimal walks the state machine role's policy. The hub
// stand-in (kumo) enforces no IAM, so each call the provision ASL's integrations make,
// and the KMS calls SNS makes for the encrypted topic, is put to the simulator's own
// evaluator: allowed with the whole policy, denied without the action.
func TestStateMachinePermissionsAreMinimal(t *testing.T) {
	const hub, region = localaws.HubAccount, "eu-central-1"
	hp := policy.HubParams{
		Region:         region,
		MemberAccounts: []string{localaws.SourceAccount},
		ExternalID:     testExternalID,
		TopicARN:       "arn:aws:sns:" + region + ":" + hub + ":s3crr-alerts",
		TopicKeyARN:    "arn:aws:kms:" + region + ":" + hub + ":key/3333cccc-3333-4333-8333-333333333333",
		TableARN:       "arn:aws:dynamodb:" + region + ":" + hub + ":table/s3crr-pairs",
		FunctionARNs:   []string{"arn:aws:lambda:" + region + ":" + hub + ":function:s3crr-provision"},
	}
	// The service calls behind each optimized integration of the ASL.
	integrations := map[string][]authz.Request{
		"lambda:invoke": {{Action: "lambda:InvokeFunction", Resource: hp.FunctionARNs[0]}},
		"sns:publish": {
			{Action: "sns:Publish", Resource: hp.TopicARN},
			{Action: "kms:GenerateDataKey", Resource: hp.TopicKeyARN, Context: map[string][]string{
				"kms:ViaService": {"sns." + region + ".amazonaws.com"}, "kms:EncryptionContext:aws:sns:topicArn": {hp.TopicARN}}},
			{Action: "kms:Decrypt", Resource: hp.TopicKeyARN, Context: map[string][]string{
				"kms:ViaService": {"sns." + region + ".amazonaws.com"}, "kms:EncryptionContext:aws:sns:topicArn": {hp.TopicARN}}},
		},
		"dynamodb:putItem":    {{Action: "dynamodb:PutItem", Resource: hp.TableARN}},
		"dynamodb:getItem":    {{Action: "dynamodb:GetItem", Resource: hp.TableARN}},
		"dynamodb:deleteItem": {{Action: "dynamodb:DeleteItem", Resource: hp.TableARN}},
		"dynamodb:updateItem": {{Action: "dynamodb:UpdateItem", Resource: hp.TableARN}},
	}
	principal := authz.Principal{Account: hub, ARN: policy.RoleARN(hub, "/", "s3crr-hub-ProvisionStateMachineRole")}
	allowed := func(doc policy.Document, r authz.Request) bool {
		p, err := authz.Parse(doc.JSON())
		must(t, err)
		r.Principal = principal
		return authz.Authorize(authz.Input{Request: r, Mode: authz.ModeStandard, Identity: []*authz.Policy{p}, ResourceAccount: hub}).Allowed
	}
	// Each state machine with its own role's policy: the integrations its ASL uses must be
	// allowed, and each action of the policy must be needed by one of them.
	cases := 0
	// The provision state machine also invokes the verify Lambda (the new pair's
	// verification), so its role may invoke both functions; the others only provision's.
	verifyFn := "arn:aws:lambda:" + region + ":" + hub + ":function:s3crr-verify"
	provHP := hp
	provHP.FunctionARNs = append(slices.Clone(hp.FunctionARNs), verifyFn)
	machines := []struct {
		name string
		doc  policy.Document
		fns  []string
	}{
		{statemachine.Provision, policy.StateMachinePolicy(provHP), provHP.FunctionARNs},
		{statemachine.Destroy, policy.DestroyStateMachinePolicy(hp), hp.FunctionARNs},
		{statemachine.Redrive, policy.RedriveStateMachinePolicy(hp), hp.FunctionARNs},
	}
	for _, m := range machines {
		raw, err := statemachine.Raw(m.name)
		must(t, err)
		doc := m.doc
		var calls []authz.Request
		for _, x := range regexp.MustCompile(`"arn:aws:states:::([a-zA-Z]+:[a-zA-Z]+)`).FindAllStringSubmatch(string(raw), -1) {
			reqs, ok := integrations[x[1]]
			if !ok {
				t.Fatalf("the %s ASL uses integration %s, which this test does not know the calls of", m.name, x[1])
			}
			if x[1] == "lambda:invoke" {
				reqs = nil
				for _, fn := range m.fns {
					reqs = append(reqs, authz.Request{Action: "lambda:InvokeFunction", Resource: fn})
				}
			}
			for _, r := range reqs {
				if !slices.ContainsFunc(calls, func(c authz.Request) bool { return c.Action == r.Action && c.Resource == r.Resource }) {
					calls = append(calls, r)
				}
			}
		}
		for _, c := range calls {
			if !allowed(doc, c) {
				t.Errorf("the %s state machine policy does not allow %s on %s", m.name, c.Action, c.Resource)
			}
		}
		for _, st := range doc.Statement {
			for _, action := range st.Action {
				r, ok := policy.RequiredBy(st.Sid, action)
				if !ok || len(r.Stages) == 0 || r.Stages[0] != policy.HubStateMachine {
					t.Errorf("%s grants %s, which the requirement table does not give to the state machine", st.Sid, action)
					continue
				}
				cases++
				t.Run(m.name+"/"+st.Sid+"/"+action, func(t *testing.T) {
					reduced := without(doc, st.Sid, action)
					var denied []string
					for _, c := range calls {
						if !allowed(reduced, c) {
							denied = append(denied, c.Action)
						}
					}
					if !slices.Contains(denied, action) {
						t.Errorf("without %s every ASL call is still allowed (denied: %v); needed for %v", action, denied, r.Calls)
					}
				})
			}
		}
	}
	t.Logf("state machine walk: %d cases", cases)
	for _, r := range policy.Requirements() {
		if len(r.Stages) > 0 && r.Stages[0] == policy.HubStateMachine {
			inSome := false
			for _, m := range machines {
				inSome = inSome || slices.ContainsFunc(m.doc.Statement, func(s policy.Statement) bool {
					return s.Sid == policy.SidPrefix+r.Purpose && slices.ContainsFunc(s.Action, func(a string) bool { return strings.EqualFold(a, r.Action) })
				})
			}
			if !inSome {
				t.Errorf("requirement %s %s is not in the state machine policy, so it is never walked", r.Purpose, r.Action)
			}
		}
	}
}

// withBroughtKeys creates a key on each side as its owner would bring it (default,
// IAM-delegating policy, tagged to let the provisioner add the pair's statements) and
// returns reqJSON naming them by kmsKeyArn.
func withBroughtKeys(t *testing.T, env *localEnv, reqJSON []byte) []byte {
	ctx := context.Background()
	req := mustParse(t, reqJSON)
	var raw map[string]any
	must(t, json.Unmarshal(reqJSON, &raw))
	for _, side := range []struct {
		name string
		ep   spec.Endpoint
	}{{"source", req.Source}, {"destination", req.Destination}} {
		key, err := awsclient.KMS(env.root(side.ep.Account, side.ep.Region)).CreateKey(ctx, &kms.CreateKeyInput{
			Description: aws.String("the owner's " + side.name + " key"),
			Tags:        []kmstypes.Tag{{TagKey: aws.String(names.BroughtKeyTagKey), TagValue: aws.String(names.BroughtKeyTagValue)}},
		})
		must(t, err)
		ep := raw[side.name].(map[string]any)
		delete(ep, "kmsKeyAlias")
		ep["kmsKeyArn"] = aws.ToString(key.KeyMetadata.Arn)
	}
	b, err := json.Marshal(raw)
	must(t, err)
	return b
}

// raceAliasOnce makes a duplicate run of the same pair win the race for ep's alias: just
// before the next CreateAlias in ep's account is served, a key tagged as s3crr tags the
// pair's key is created and given the alias, as a concurrent run would.
func raceAliasOnce(t *testing.T, env *localEnv, ep spec.Endpoint, pairID string) {
	env.srv.InjectFault(localaws.Fault{Account: ep.Account, Service: "kms", Operation: "CreateAlias", Times: 1, Before: func() {
		ctx := context.Background()
		c := awsclient.KMS(env.root(ep.Account, ep.Region))
		key, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("the duplicate run's key"), Tags: []kmstypes.Tag{
			{TagKey: aws.String(names.ManagedByTagKey), TagValue: aws.String(names.ManagedByTagValue)},
			{TagKey: aws.String(names.PairIDTagKey), TagValue: aws.String(pairID)},
			{TagKey: aws.String(names.AliasTagKey), TagValue: aws.String(ep.KMSKeyAlias)},
		}})
		if err != nil {
			t.Errorf("duplicate run's CreateKey: %v", err)
			return
		}
		if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(ep.KMSKeyAlias), TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
			t.Errorf("duplicate run's CreateAlias: %v", err)
		}
	}})
}
