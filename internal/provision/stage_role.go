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
			trustedBy: "s3.amazonaws.com", description: "S3 replication role of s3crr pair " + st.req.PairID})
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

	if !roleIsOurs(out.Role.Tags, st.req.PairID) {
		return &Conflict{Message: fmt.Sprintf("role %s exists and was not created by s3crr for pair %s (fix: delete or rename it, or choose another pairId)", aws.ToString(out.Role.Arn), st.req.PairID)}
	}
	current, err := decodePolicyDocument(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if err != nil {
		return fmt.Errorf("parse the trust policy of %s: %w", roleARN, err)
	}
	if !policy.Equivalent(current, trust) {
		err := st.change(m, roleARN, "update trust policy", "trusted by s3.amazonaws.com only", func() error {
			_, err := m.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name), PolicyDocument: aws.String(string(trust.JSON()))})
			return m.classify("iam:UpdateAssumeRolePolicy "+name, err)
		})
		if err != nil {
			return err
		}
	}
	return st.ensureRolePolicy(ctx, m, name, roleARN, p, false)
}

// pairRole is a role s3crr creates for a pair in the source account: the replication
// role, or the Batch Replication role.
type pairRole struct {
	name, arn, path string
	trust           policy.Document
	// trustedBy is the service the trust policy names, for the change report.
	trustedBy, description string
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
				{Key: aws.String(names.PairIDTagKey), Value: aws.String(st.req.PairID)},
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
			if policy.Equivalent(current, want) {
				return nil
			}
		case !awsclient.IsNotFound(err):
			return m.classify("iam:GetRolePolicy "+name, err)
		}
	}
	return st.change(m, roleARN, "put role policy", names.ReplicationPolicyName+": least-privilege replication permissions with KMS ViaService and encryption-context conditions", func() error {
		_, err := m.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(names.ReplicationPolicyName), PolicyDocument: aws.String(string(want.JSON()))})
		return m.classify("iam:PutRolePolicy "+name, err)
	})
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
