package provision

import (
	"testing"

	"github.com/s3crr/s3crr/internal/localaws/authz"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// Bucket names are global, so a bucket matching the pair's destination name or the
// deployment's prefix may belong to any account. The replication role writes replicas
// only into the destination account's bucket, and the boundary caps every replication
// role to the deployment's member accounts, judged by the simulator's evaluator with
// s3:ResourceAccount as S3 sets it (the bucket owner).
func TestReplicaWritesArePinnedToMemberAccounts(t *testing.T) {
	const src, dst, stranger = "111111111111", "222222222222", "333333333333"
	role := policy.RoleARN(src, names.RolePath, "s3crr-repl-payments-src-38d30e55")
	rp := policy.ReplicationParams{PairID: "payments-archive", SourceAccount: src, DestinationAccount: dst,
		SourceBucket: "payments-src", DestinationBucket: "payments-dst", SourceRegion: "ap-south-1", DestinationRegion: "us-east-1",
		SourceKeyARN: "arn:aws:kms:ap-south-1:" + src + ":key/1", DestinationKeyARN: "arn:aws:kms:us-east-1:" + dst + ":key/2", RoleARN: role}
	parse := func(d policy.Document) *authz.Policy {
		p, err := authz.Parse(d.JSON())
		must(t, err)
		return p
	}
	rolePolicy := parse(policy.ReplicationRolePolicy(rp))
	// What a compromised hub could give a replication role: every replica write, on any
	// bucket the boundary's pattern admits.
	wide := parse(policy.Document{Version: policy.Version, Statement: []policy.Statement{{Effect: policy.Allow,
		Action: []string{"s3:ReplicateObject"}, Resource: []string{"arn:aws:s3:::*/*"}}}})
	boundary := parse(policy.ReplicationBoundary(policy.BoundaryParams{MemberAccounts: []string{src, dst}}))
	write := func(identity, bound *authz.Policy, bucket, owner string) bool {
		in := authz.Input{
			Request: authz.Request{Principal: authz.Principal{Account: src, ARN: role}, Action: "s3:ReplicateObject",
				Resource: "arn:aws:s3:::" + bucket + "/k", Context: map[string][]string{"s3:ResourceAccount": {owner}}},
			Mode: authz.ModeStandard, Identity: []*authz.Policy{identity}, ResourceAccount: owner,
			// The destination's bucket policy grants the role, whoever owns the bucket.
			Resource: parse(policy.Document{Version: policy.Version, Statement: policy.DestinationBucketStatements(rp)}),
		}
		if bound != nil {
			in.Boundary = bound
		}
		return authz.Authorize(in).Allowed
	}
	if !write(rolePolicy, boundary, "payments-dst", dst) {
		t.Errorf("the role may not write replicas into the destination account's bucket")
	}
	if write(rolePolicy, boundary, "payments-dst", stranger) {
		t.Errorf("the role policy lets the role write into a bucket of that name owned by %s", stranger)
	}
	if write(wide, boundary, "payments-dst", stranger) {
		t.Errorf("the boundary lets a widened role write into a bucket owned by %s, not a member", stranger)
	}
	if !write(wide, boundary, "payments-dst", dst) {
		t.Errorf("the boundary denies writes into a member account's bucket")
	}
}

// With an organization configured, the boundary admits replica writes into buckets of any
// account of the organization (aws:ResourceOrgID, as AWS sets it for the bucket owner's
// account) and of no other, without listing accounts.
func TestReplicaWritesArePinnedToTheOrganization(t *testing.T) {
	const src, joiner, stranger, org = "111111111111", "333333333333", "444444444444", "o-a1b2c3d4e5"
	role := policy.RoleARN(src, names.RolePath, "s3crr-repl-p")
	parse := func(d policy.Document) *authz.Policy {
		p, err := authz.Parse(d.JSON())
		must(t, err)
		return p
	}
	wide := parse(policy.Document{Version: policy.Version, Statement: []policy.Statement{{Effect: policy.Allow,
		Action: []string{"s3:ReplicateObject"}, Resource: []string{"arn:aws:s3:::*/*"}}}})
	boundary := parse(policy.ReplicationBoundary(policy.BoundaryParams{OrganizationID: org}))
	bucketPolicy := parse(policy.Document{Version: policy.Version, Statement: []policy.Statement{{Effect: policy.Allow,
		Principal: policy.AWSPrincipal(role), Action: []string{"s3:ReplicateObject"}, Resource: []string{"arn:aws:s3:::dst/*"}}}})
	write := func(owner, ownerOrg string) bool {
		return authz.Authorize(authz.Input{
			Request: authz.Request{Principal: authz.Principal{Account: src, ARN: role, OrgID: org}, Action: "s3:ReplicateObject",
				Resource: "arn:aws:s3:::dst/k", Context: map[string][]string{"s3:ResourceAccount": {owner}}},
			Mode: authz.ModeStandard, Identity: []*authz.Policy{wide}, Boundary: boundary, Resource: bucketPolicy,
			ResourceAccount: owner, ResourceOrgID: ownerOrg,
		}).Allowed
	}
	if !write(joiner, org) {
		t.Errorf("the boundary denies writes into a bucket of an account of the organization")
	}
	if write(stranger, "") || write(stranger, "o-zzzzzzzzzz") {
		t.Errorf("the boundary lets a widened role write into a bucket of %s, outside the organization", stranger)
	}
}
