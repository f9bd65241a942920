package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/lease"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// role ensures the replication role in the source account: created under the s3crr path
// with the deployment's permissions boundary, trusted by S3, with the pair's inline policy.
// A role of that name that s3crr did not create for this pair is a Conflict.
func (st *stage) role(ctx context.Context) error {
	m, err := st.session(ctx, SideSource)
	if err != nil {
		return err
	}
	p, err := st.params(ctx)
	if err != nil {
		return err
	}
	name := st.req.ReplicationRoleName()
	roleARN := st.req.ReplicationRoleARN()
	st.res.Outputs["roleArn"] = roleARN
	trust := policy.ReplicationTrustPolicy(p)

	out, err := m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if awsclient.IsNotFound(err) {
		existed, cerr := st.createRole(ctx, m, pairRole{name: name, arn: roleARN, path: st.req.ReplicationRolePath(), trust: trust,
			trustedBy: "s3.amazonaws.com", description: "S3 replication role of s3crr for the pairs from bucket " + st.req.Source.Bucket,
			tagKey: names.SourceBucketTagKey, tagValue: st.req.Source.Bucket})
		if cerr != nil {
			return cerr
		}
		if !existed {
			return st.ensureRolePolicy(ctx, m, name, roleARN, p, true)
		}
		// The name was taken between GetRole and CreateRole: by this stage's own create
		// whose response was lost, or by someone else. Only the tags tell, so the role is
		// read again and treated like any existing role before its policy is touched.
		out, err = m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	}
	if err != nil {
		return m.classify("iam:GetRole "+name, err)
	}

	if !st.replicationRoleIsOurs(out.Role.Tags) {
		return &Conflict{Message: fmt.Sprintf("role %s exists and was not created by s3crr for the pairs from bucket %s (fix: delete or rename it, or use another source bucket)", aws.ToString(out.Role.Arn), st.req.Source.Bucket)}
	}
	if err := st.ensureTrust(ctx, m, name, roleARN, trust, aws.ToString(out.Role.AssumeRolePolicyDocument)); err != nil {
		return err
	}
	return st.ensureRolePolicy(ctx, m, name, roleARN, p, false)
}

// ensureTrust merges the pair's trust statement into the role's trust policy, under the
// trust policy's lease and with a read-back, like the inline policy: the role serves every
// pair from the bucket, so each pair's statement is merged in by its Sid, and statements
// that are not s3crr's are dropped, since the role exists only for S3 to assume (a foreign
// trust would widen who may replicate). read is the trust policy GetRole returned.
func (st *stage) ensureTrust(ctx context.Context, m *member, name, roleARN string, trust policy.Document, read string) error {
	current := func(reread bool) (policy.Document, error) {
		if reread {
			out, err := m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
			if err != nil {
				return policy.Document{}, m.classify("iam:GetRole "+name, err)
			}
			read = aws.ToString(out.Role.AssumeRolePolicyDocument)
		}
		doc, err := decodePolicyDocument(read)
		if err != nil {
			return policy.Document{}, fmt.Errorf("parse the trust policy of %s: %w", roleARN, err)
		}
		return doc, nil
	}
	return st.withLease(ctx, sharedDocument{key: lease.RolePolicy(roleARN, "trust"),
		merge: func(reread bool) error {
			// Under the lease the document is read again: another run may have merged
			// its statement between the first look and the lease.
			cur, err := current(reread || !st.plan)
			if err != nil {
				return err
			}
			merged, _ := policy.Merge(ourStatements(cur), trust.Statement)
			if policy.Equivalent(cur, merged) {
				return nil
			}
			if n := policyChars(merged); n > maxTrustPolicyChars {
				return &PreflightFailed{Message: fmt.Sprintf("the trust policy of %s would be %d characters with pair %s, over IAM's %d (docs/aws-facts.md#F-IAM-QUOTAS) (fix: destroy a pair from bucket %s, or replicate from another source bucket)", roleARN, n, st.req.PairID, maxTrustPolicyChars, st.req.Source.Bucket)}
			}
			return st.change(m, roleARN, "update trust policy", "trusted by s3.amazonaws.com only", func() error {
				_, err := m.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name), PolicyDocument: aws.String(string(merged.JSON()))})
				return m.classify("iam:UpdateAssumeRolePolicy "+name, err)
			})
		},
		missing: func() ([]string, error) {
			cur, err := current(true)
			if err != nil {
				return nil, err
			}
			return missingStatements(cur, trust.Statement), nil
		}})
}

// pairRole is a role s3crr creates for a pair in the source account: the replication
// role, or the Batch Replication role.
type pairRole struct {
	name, arn, path string
	trust           policy.Document
	// trustedBy is the service the trust policy names, for the change report.
	trustedBy, description string
	// tagKey and tagValue mark whose the role is besides ManagedByTagKey: the pair for
	// a pair's own role, the source bucket for the replication role its pairs share.
	tagKey, tagValue string
}

// createRole creates one of the pair's roles, with the permissions boundary and the tags
// that mark it s3crr's for the pair. existed reports that CreateRole found the name taken
// (EntityAlreadyExists), in which case nothing was created by this call.
func (st *stage) createRole(ctx context.Context, m *member, r pairRole) (existed bool, err error) {
	name := r.name
	boundary := fmt.Sprintf(st.svc.cfg.BoundaryPolicyARNFormat, m.account)
	err = st.change(m, r.arn, "create role", "trusted by "+r.trustedBy+", permissions boundary "+boundary, func() error {
		_, err := m.iam.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName:                 aws.String(name),
			Path:                     aws.String(r.path),
			AssumeRolePolicyDocument: aws.String(string(r.trust.JSON())),
			PermissionsBoundary:      aws.String(boundary),
			Description:              aws.String(r.description),
			Tags: []iamtypes.Tag{
				{Key: aws.String(names.ManagedByTagKey), Value: aws.String(names.ManagedByTagValue)},
				{Key: aws.String(r.tagKey), Value: aws.String(r.tagValue)},
			},
		})
		if awsclient.ErrorCode(err) == "EntityAlreadyExists" {
			existed = true
			return nil
		}
		return m.classify("iam:CreateRole "+name, err)
	})
	return existed, err
}

// ensureRolePolicy puts the replication role's inline policy, under the policy's lease and
// with a read-back: a role shared by the pairs of one source bucket gets every pair's
// statements merged into this one document.
func (st *stage) ensureRolePolicy(ctx context.Context, m *member, name, roleARN string, p policy.ReplicationParams, created bool) error {
	want := policy.ReplicationRolePolicy(p)
	return st.withLease(ctx, sharedDocument{key: lease.RolePolicy(roleARN, names.ReplicationPolicyName),
		merge:   func(reread bool) error { return st.ensureRolePolicyOnce(ctx, m, name, roleARN, p, created && !reread) },
		missing: func() ([]string, error) { return rolePolicyMissing(ctx, m, name, want) }})
}

// ensureRolePolicyOnce puts the pair's statements into the role's inline policy, which
// holds every pair's from the source bucket (docs/aws-facts.md#F-REPL-ONE-ROLE-PER-BUCKET):
// the pair's own statements (by the pair part of their Sids) are replaced by what it needs
// now, the other pairs' are kept, and anything not s3crr's is dropped (the role is
// s3crr's; a foreign grant there would replicate with more than the pairs need).
func (st *stage) ensureRolePolicyOnce(ctx context.Context, m *member, name, roleARN string, p policy.ReplicationParams, created bool) error {
	want := policy.ReplicationRolePolicy(p)
	if !created {
		out, err := m.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(names.ReplicationPolicyName)})
		switch {
		case err == nil:
			current, err := decodePolicyDocument(aws.ToString(out.PolicyDocument))
			if err != nil {
				return fmt.Errorf("parse policy %s of %s: %w", names.ReplicationPolicyName, roleARN, err)
			}
			others, _ := policy.RemovePair(ourStatements(current), st.req.PairID)
			merged, _ := policy.Merge(others, want.Statement)
			if policy.Equivalent(current, merged) {
				return nil
			}
			want = merged
		case !awsclient.IsNotFound(err):
			return m.classify("iam:GetRolePolicy "+name, err)
		}
	}
	if n := policyChars(want); n > maxRolePolicyChars {
		return &PreflightFailed{Message: fmt.Sprintf("the inline policy of %s would be %d characters with pair %s, over IAM's %d for a role's inline policies (docs/aws-facts.md#F-IAM-QUOTAS): the pairs from one source bucket share its role (fix: destroy a pair from bucket %s, or replicate from another source bucket)", roleARN, n, st.req.PairID, maxRolePolicyChars, st.req.Source.Bucket)}
	}
	return st.change(m, roleARN, "put role policy", names.ReplicationPolicyName+": least-privilege replication permissions with KMS ViaService and encryption-context conditions", func() error {
		_, err := m.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(names.ReplicationPolicyName), PolicyDocument: aws.String(string(want.JSON()))})
		return m.classify("iam:PutRolePolicy "+name, err)
	})
}

// IAM's documented limits on a role's policies (docs/aws-facts.md#F-IAM-QUOTAS),
// counted as IAM does: characters without white space.
const (
	// maxRolePolicyChars is the aggregate size of a role's inline policies.
	maxRolePolicyChars = 10240
	// maxTrustPolicyChars is the default quota of a role trust policy's length.
	maxTrustPolicyChars = 2048
)

// policyChars is a document's size as IAM counts it against its quotas: white space does
// not count, and the document is sent without any.
func policyChars(d policy.Document) int { return len(d.JSON()) }

// ourStatements is the document with only s3crr's statements (by Sid).
func ourStatements(d policy.Document) policy.Document {
	out := d
	out.Statement = nil
	for _, s := range d.Statement {
		if policy.IsOurs(s.Sid) {
			out.Statement = append(out.Statement, s)
		}
	}
	if out.Version == "" {
		out.Version = policy.Version
	}
	return out
}

// replicationRoleIsOurs reports whether the source bucket's replication role is s3crr's
// for this pair: tagged for the source bucket (how s3crr creates it), or a role s3crr
// made earlier for one pair of the bucket (tagged with that pair), which every pair from
// the bucket adopts (spec.Request.ReplicationRole) or which is this pair's own.
func (st *stage) replicationRoleIsOurs(tags []iamtypes.Tag) bool {
	managed, bucket, pair := false, false, ""
	for _, t := range tags {
		switch aws.ToString(t.Key) {
		case names.ManagedByTagKey:
			managed = aws.ToString(t.Value) == names.ManagedByTagValue
		case names.SourceBucketTagKey:
			bucket = aws.ToString(t.Value) == st.req.Source.Bucket
		case names.PairIDTagKey:
			pair = aws.ToString(t.Value)
		}
	}
	return managed && (bucket || pair == st.req.PairID || (pair != "" && st.req.ReplicationRole != ""))
}

// roleIsOurs reports whether a role carries s3crr's tags for the pair.
func roleIsOurs(tags []iamtypes.Tag, pairID string) bool {
	managed, pair := false, false
	for _, t := range tags {
		switch aws.ToString(t.Key) {
		case names.ManagedByTagKey:
			managed = aws.ToString(t.Value) == names.ManagedByTagValue
		case names.PairIDTagKey:
			pair = aws.ToString(t.Value) == pairID
		}
	}
	return managed && pair
}

// decodePolicyDocument parses a policy document as IAM returns it (percent-encoded JSON).
func decodePolicyDocument(s string) (policy.Document, error) { return policy.ParseIAMDocument(s) }
