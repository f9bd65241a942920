package provision

// The read-backs of the destroy stages' removals (see withLease, removal): each reads the
// document as it is now and lists what of the pair's entries it still holds, in words for
// DocumentChanged. Under the lease no other s3crr run writes between the put and the read,
// so an entry found again was put back by a writer that takes no lease.

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// replicationLeft names the pair's rule when the source bucket's replication
// configuration still has it.
func (st *stage) replicationLeft(ctx context.Context, m *member, bucket string) ([]string, error) {
	cfg, err := getReplication(ctx, m, bucket)
	if err != nil || cfg == nil {
		return nil, ignoreNoBucket(err)
	}
	id := st.req.RuleID()
	if slices.ContainsFunc(cfg.Rules, func(r s3types.ReplicationRule) bool { return aws.ToString(r.ID) == id }) {
		return []string{"rule " + id}, nil
	}
	return nil, nil
}

// notificationLeft names s3crr's queue configuration when the source bucket still has it
// although no other leg from the bucket replicates (the removal's own condition).
func (st *stage) notificationLeft(ctx context.Context, m *member, bucket string) ([]string, error) {
	out, err := m.s3.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(bucket)})
	switch {
	case awsclient.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, m.classify("s3:GetBucketNotification "+bucket, err)
	}
	if !slices.ContainsFunc(out.QueueConfigurations, func(q s3types.QueueConfiguration) bool { return aws.ToString(q.Id) == names.EventsConfigurationID }) {
		return nil, nil
	}
	if others, err := st.otherLegs(ctx, m, bucket); err != nil || len(others) > 0 {
		return nil, err
	}
	return []string{"queue configuration " + names.EventsConfigurationID}, nil
}

// canaryLifecycleLeft names the pair's canary rule when the bucket's lifecycle
// configuration still has it.
func (st *stage) canaryLifecycleLeft(ctx context.Context, m *member, name string) ([]string, error) {
	rules, err := readLifecycle(ctx, m, name)
	if err != nil {
		return nil, ignoreNoBucket(err)
	}
	id := names.CanaryLifecycleRuleID(st.req.CanaryKeyPrefix())
	if slices.ContainsFunc(rules, func(r s3types.LifecycleRule) bool { return aws.ToString(r.ID) == id }) {
		return []string{"lifecycle rule " + id}, nil
	}
	return nil, nil
}

// rolePolicyLeft reads the replication role's inline policy back and lists the pair's
// statements it still holds (none when the role or the policy is gone).
func (st *stage) rolePolicyLeft(ctx context.Context, m *member, name string) ([]string, error) {
	// The role is looked up first, and a role just deleted is simply gone. Team reading:
	// the provisioner's iam:GetRolePolicy is granted on roles under s3crr's path, and a
	// role that no longer exists has no path to match, so asking for its policy may be
	// denied rather than answered NoSuchEntity (the simulator denies it).
	if _, err := m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)}); awsclient.IsNotFound(err) {
		return nil, nil
	} else if err != nil {
		return nil, m.classify("iam:GetRole "+name, err)
	}
	out, err := m.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(names.ReplicationPolicyName)})
	if awsclient.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, m.classify("iam:GetRolePolicy "+name, err)
	}
	doc, err := decodePolicyDocument(aws.ToString(out.PolicyDocument))
	if err != nil {
		return nil, fmt.Errorf("parse policy %s of role %s read back: %w", names.ReplicationPolicyName, name, err)
	}
	_, sids := policy.RemovePair(doc, st.req.PairID)
	return prefixed("statement ", sids), nil
}

// quietly runs a read-back that shares its computation with the removal, dropping the
// warnings the removal already gave.
func (st *stage) quietly(read func() ([]string, error)) ([]string, error) {
	n := len(st.res.Warnings)
	defer func() { st.res.Warnings = st.res.Warnings[:n] }()
	return read()
}

// prefixed puts what before each of items, for a read-back's list.
func prefixed(what string, items []string) []string {
	out := make([]string, 0, len(items))
	for _, n := range items {
		out = append(out, what+n)
	}
	return out
}
