package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/lease"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// This file tears a pair down (`crr destroy`, statemachine/destroy.asl.json; the AWS
// behaviour it relies on is docs/aws-facts.md#F-TEARDOWN-DELETES). Each destroy
// stage reads, removes only what s3crr made for this pair (its rule by ID, its statements
// by Sid, its notification by ID, its role, alarm, keys and buckets only when their tags
// say s3crr created them for this pair), and reports every change; in plan mode it only
// reports. Nothing that holds data is removed unless asked (keys with DeleteKeys, buckets
// with DeleteBuckets, and buckets only when empty), and no object is ever deleted. A stage
// that finds nothing of the pair's left does nothing, so a second destroy makes no
// mutating call and any stage can be re-run after a failure.

// DestroyStages is the order in which a teardown runs the destroy stages, with their
// sides: replication stops first, so no object fails for lack of a grant a later stage
// removes; keys and buckets go last, after everything that uses them.
var DestroyStages = []struct {
	Name  string
	Sides []string
}{
	{names.StageDestroyReplication, []string{SideSource}},
	{names.StageDestroyEvents, []string{SideSource}},
	{names.StageDestroyBucketPolicy, []string{SideSource, SideDestination}},
	{names.StageDestroyKeyPolicy, []string{SideSource, SideDestination}},
	{names.StageDestroyRole, []string{SideSource}},
	{names.StageDestroyKey, []string{SideSource, SideDestination}},
	{names.StageDestroyBucket, []string{SideSource, SideDestination}},
}

// DefaultKeyPendingWindowDays is the waiting period before KMS deletes a key s3crr
// scheduled for deletion: KMS's own default and maximum, the longest time to cancel.
const DefaultKeyPendingWindowDays = 30

// DestroyOptions say what a teardown may remove beyond s3crr's configuration.
type DestroyOptions struct {
	// DeleteKeys schedules the deletion of the pair's keys s3crr created (and removes
	// their aliases). Without it they are kept.
	DeleteKeys bool `json:"deleteKeys,omitempty"`
	// DeleteBuckets deletes the pair's buckets s3crr created, when they hold no object
	// version and no delete marker. Without it they are kept.
	DeleteBuckets bool `json:"deleteBuckets,omitempty"`
	// PendingWindowInDays is the keys' waiting period (7 to 30); 0 means
	// DefaultKeyPendingWindowDays.
	PendingWindowInDays int32 `json:"pendingWindowInDays,omitempty"`
}

// Destroy runs every destroy stage in order, as the destroy state machine does, retrying
// a stage whose document another run holds (DocumentBusy) as its Retry does; with plan
// it only reports what would be removed.
func (s *Service) Destroy(ctx context.Context, request []byte, opts DestroyOptions, plan bool) ([]Result, error) {
	var out []Result
	for _, stg := range DestroyStages {
		for _, side := range stg.Sides {
			res, err := s.retryBusy(ctx, Event{Stage: stg.Name, Side: side, Request: request, Plan: plan, Destroy: opts})
			out = append(out, res)
			if err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// destroyReplication removes the pair's rule from the source bucket's replication
// configuration by ID, keeping every other rule; the configuration itself is deleted only
// when the pair's rule was the last one. The other legs from the bucket write the same
// configuration, so the removal runs under its lease and is read back, as the merge is.
func (st *stage) destroyReplication(ctx context.Context) error {
	m, err := st.session(ctx, SideSource)
	if err != nil {
		return err
	}
	bucket := st.req.Source.Bucket
	return st.withLease(ctx, sharedDocument{key: lease.S3Document(bucket, "replication"), removal: true,
		merge:   func(bool) error { return st.destroyReplicationOnce(ctx, m, bucket) },
		missing: func() ([]string, error) { return st.replicationLeft(ctx, m, bucket) }})
}

func (st *stage) destroyReplicationOnce(ctx context.Context, m *member, bucket string) error {
	cfg, err := getReplication(ctx, m, bucket)
	if err != nil || cfg == nil {
		return ignoreNoBucket(err)
	}
	id := st.req.RuleID()
	var rest []s3types.ReplicationRule
	for _, r := range cfg.Rules {
		if aws.ToString(r.ID) != id {
			rest = append(rest, r)
		}
	}
	if len(rest) == len(cfg.Rules) {
		return nil
	}
	arn := "arn:aws:s3:::" + bucket
	if len(rest) == 0 {
		return st.change(m, arn, "delete replication configuration", "rule "+id+" was its only rule", func() error {
			_, err := m.s3.DeleteBucketReplication(ctx, &s3.DeleteBucketReplicationInput{Bucket: aws.String(bucket)})
			return m.classify("s3:DeleteBucketReplication "+bucket, err)
		})
	}
	return st.change(m, arn, "remove replication rule", fmt.Sprintf("%s (%d other rules kept)", id, len(rest)), func() error {
		_, err := m.s3.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String(bucket),
			ReplicationConfiguration: &s3types.ReplicationConfiguration{Role: cfg.Role, Rules: rest}})
		return m.classify("s3:PutReplicationConfiguration "+bucket, err)
	})
}

// destroyEvents removes s3crr's notification configuration from the source bucket
// (every other notification kept) and deletes the pair's failed-replication alarm. The
// subscription serves every leg from the bucket, so it stays while the bucket's
// replication configuration still has another rule.
func (st *stage) destroyEvents(ctx context.Context) error {
	m, err := st.session(ctx, SideSource)
	if err != nil {
		return err
	}
	bucket := st.req.Source.Bucket
	err = st.withLease(ctx, sharedDocument{key: lease.S3Document(bucket, "notification"), removal: true,
		merge:   func(bool) error { return st.unsubscribeEventsOnce(ctx, m, bucket) },
		missing: func() ([]string, error) { return st.notificationLeft(ctx, m, bucket) }})
	if err != nil {
		return err
	}
	name := names.FailedReplicationAlarmName(st.req.PairID)
	alarms, err := m.cloudwatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}})
	if err != nil {
		return m.classify("cloudwatch:DescribeAlarms "+name, err)
	}
	for _, a := range alarms.MetricAlarms {
		if aws.ToString(a.AlarmName) != name {
			continue
		}
		return st.change(m, aws.ToString(a.AlarmArn), "delete failed-replication alarm", name, func() error {
			_, err := m.cloudwatch.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{name}})
			return m.classify("cloudwatch:DeleteAlarms "+name, err)
		})
	}
	return nil
}

func (st *stage) unsubscribeEventsOnce(ctx context.Context, m *member, bucket string) error {
	out, err := m.s3.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(bucket)})
	switch {
	case awsclient.IsNotFound(err):
		return nil
	case err != nil:
		return m.classify("s3:GetBucketNotification "+bucket, err)
	}
	var rest []s3types.QueueConfiguration
	for _, q := range out.QueueConfigurations {
		if aws.ToString(q.Id) != names.EventsConfigurationID {
			rest = append(rest, q)
		}
	}
	if len(rest) == len(out.QueueConfigurations) {
		return nil
	}
	if others, err := st.otherLegs(ctx, m, bucket); err != nil || len(others) > 0 {
		if len(others) > 0 {
			st.warn("replication events of s3://%s stay subscribed (%s): s3crr's rules %v still replicate from it", bucket, names.EventsConfigurationID, others)
		}
		return err
	}
	// PutBucketNotificationConfiguration replaces the whole configuration, so
	// everything else goes back as it was.
	in := &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String(bucket), NotificationConfiguration: &s3types.NotificationConfiguration{
		QueueConfigurations:          rest,
		TopicConfigurations:          out.TopicConfigurations,
		LambdaFunctionConfigurations: out.LambdaFunctionConfigurations,
		EventBridgeConfiguration:     out.EventBridgeConfiguration,
	}}
	return st.change(m, "arn:aws:s3:::"+bucket, "unsubscribe replication events", names.EventsConfigurationID+" (other notifications kept)", func() error {
		_, err := m.s3.PutBucketNotificationConfiguration(ctx, in)
		return m.classify("s3:PutBucketNotification "+bucket, err)
	})
}

// destroyBucketPolicy removes the pair's statements (by Sid) from a side's bucket policy,
// keeping every other statement; the policy is deleted only when nothing is left. Other
// pairs merge into the same policy (a fan-in's destination), so the removal runs under its
// lease and is read back.
func (st *stage) destroyBucketPolicy(ctx context.Context) error {
	side := st.side()
	m, err := st.session(ctx, side)
	if err != nil {
		return err
	}
	bucket := st.endpoint(side).Bucket
	return st.withLease(ctx, sharedDocument{key: lease.S3Document(bucket, "policy"), removal: true,
		merge: func(bool) error { return st.destroyBucketPolicyOnce(ctx, m, side, bucket) },
		missing: func() ([]string, error) {
			return st.quietly(func() ([]string, error) {
				_, sids, _, err := st.bucketPolicyWithout(ctx, m, side, bucket)
				return sids, err
			})
		}})
}

// bucketPolicyWithout reads a side's bucket policy and returns it without the pair's
// entries, and what of them it held; found is false when the bucket has no policy.
func (st *stage) bucketPolicyWithout(ctx context.Context, m *member, side, bucket string) (rest policy.Document, sids []string, found bool, err error) {
	out, err := m.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	if awsclient.IsNotFound(err) {
		return policy.Document{}, nil, false, nil
	}
	if err != nil {
		return policy.Document{}, nil, false, m.classify("s3:GetBucketPolicy "+bucket, err)
	}
	existing, err := policy.ParseDocument([]byte(aws.ToString(out.Policy)))
	if err != nil {
		return policy.Document{}, nil, false, fmt.Errorf("parse the bucket policy of %s: %w", bucket, err)
	}
	rest, sids = policy.RemovePair(existing, st.req.PairID)
	if side == SideDestination {
		shared, changed, err := st.withoutShared(ctx, rest, st.destroyPart(), st.req.Destination.Account,
			func(o RegisteredPair) bool {
				return o.DestinationAccount == st.req.Destination.Account && o.DestinationBucket == bucket
			},
			[]string{policy.SidReplicaWriteShared, policy.SidOwnerOverrideShared}, sharedBucketStatement)
		if err != nil {
			return policy.Document{}, nil, true, err
		}
		if changed {
			rest = shared
			sids = append(sids, "this pair's share of "+policy.SidReplicaWriteShared)
		}
	}
	return rest, sids, true, nil
}

func (st *stage) destroyBucketPolicyOnce(ctx context.Context, m *member, side, bucket string) error {
	rest, sids, found, err := st.bucketPolicyWithout(ctx, m, side, bucket)
	if err != nil || !found || len(sids) == 0 {
		return err
	}
	arn := "arn:aws:s3:::" + bucket
	if len(rest.Statement) == 0 {
		return st.change(m, arn, "delete bucket policy", "its only statements were the pair's: "+strings.Join(sids, ", "), func() error {
			_, err := m.s3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)})
			return m.classify("s3:DeleteBucketPolicy "+bucket, err)
		})
	}
	return st.change(m, arn, "remove bucket policy statements", fmt.Sprintf("%s (%d other statements kept)", strings.Join(sids, ", "), len(rest.Statement)), func() error {
		_, err := m.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(string(rest.JSON()))})
		return m.classify("s3:PutBucketPolicy "+bucket, err)
	})
}

// destroyKeyPolicy removes the pair's statements (by Sid) from a side's key policy,
// keeping every other statement. A key always has a policy, so it is never deleted. The
// destination key serves a fan-in's every pair: under the key policy's lease, read back.
func (st *stage) destroyKeyPolicy(ctx context.Context) error {
	side := st.side()
	m, err := st.session(ctx, side)
	if err != nil {
		return err
	}
	meta, found, err := describeKey(ctx, m, st.endpoint(side))
	if err != nil || !found || meta.KeyState == kmstypes.KeyStatePendingDeletion {
		return err
	}
	keyARN := aws.ToString(meta.Arn)
	return st.withLease(ctx, sharedDocument{key: lease.KeyPolicy(keyARN), removal: true,
		merge: func(bool) error { return st.destroyKeyPolicyOnce(ctx, m, side, keyARN) },
		missing: func() ([]string, error) {
			return st.quietly(func() ([]string, error) {
				_, sids, err := st.keyPolicyWithout(ctx, m, side, keyARN)
				return sids, err
			})
		}})
}

// keyPolicyWithout reads a side's key policy and returns it without the pair's entries,
// and what of them it held.
func (st *stage) keyPolicyWithout(ctx context.Context, m *member, side, keyARN string) (policy.Document, []string, error) {
	out, err := m.kms.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(keyARN), PolicyName: aws.String("default")})
	if err != nil {
		return policy.Document{}, nil, m.classify("kms:GetKeyPolicy "+keyARN, err)
	}
	existing, err := policy.ParseDocument([]byte(aws.ToString(out.Policy)))
	if err != nil {
		return policy.Document{}, nil, fmt.Errorf("parse the key policy of %s: %w", keyARN, err)
	}
	rest, sids := policy.RemovePair(existing, st.req.PairID)
	if side == SideDestination {
		region := st.req.Destination.Region
		shared, changed, err := st.withoutShared(ctx, rest, st.destroyPart(), st.req.Destination.Account,
			func(o RegisteredPair) bool { return o.DestinationKeyARN == keyARN },
			[]string{policy.SidReplicaEncryptShared}, func(_ string, s policy.Share) policy.Statement {
				return policy.SharedReplicaEncryptStatement(region, s)
			})
		if err != nil {
			return policy.Document{}, nil, err
		}
		if changed {
			rest = shared
			sids = append(sids, "this pair's share of "+policy.SidReplicaEncryptShared)
		}
	}
	return rest, sids, nil
}

func (st *stage) destroyKeyPolicyOnce(ctx context.Context, m *member, side, keyARN string) error {
	rest, sids, err := st.keyPolicyWithout(ctx, m, side, keyARN)
	if err != nil || len(sids) == 0 {
		return err
	}
	return st.change(m, keyARN, "remove key policy statements", fmt.Sprintf("%s (%d other statements kept)", strings.Join(sids, ", "), len(rest.Statement)), func() error {
		_, err := m.kms.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(keyARN), PolicyName: aws.String("default"), Policy: aws.String(string(rest.JSON()))})
		return m.classifyAliasAuthorized(ctx, "kms:PutKeyPolicy", keyARN, err)
	})
}

// destroyRole deletes the pair's two roles in the source account, only when their tags
// say s3crr created them for this pair: the replication role, and the Batch Replication
// role a re-drive created. The replication role stays while the source bucket's
// replication configuration still uses it for other rules (someone added rules with it):
// deleting it would stop theirs.
func (st *stage) destroyRole(ctx context.Context) error {
	m, err := st.session(ctx, SideSource)
	if err != nil {
		return err
	}
	inUse := func(roleARN string) (bool, error) {
		cfg, err := getReplication(ctx, m, st.req.Source.Bucket)
		if err := ignoreNoBucket(err); err != nil {
			return false, err
		}
		if cfg != nil && aws.ToString(cfg.Role) == roleARN && (!st.plan || len(cfg.Rules) != 1 || aws.ToString(cfg.Rules[0].ID) != st.req.RuleID()) {
			st.warn("role %s is still the replication role of s3://%s for rules s3crr did not make: kept (fix: give those rules another role, then destroy again)", roleARN, st.req.Source.Bucket)
			return true, nil
		}
		return false, nil
	}
	// The inline policy holds the statements of every leg from the source bucket, and
	// whether the role goes depends on what it holds: both are decided and done under the
	// policy's lease, so a leg being provisioned meanwhile either is seen (the role stays)
	// or merges after (into a role that is gone, and fails rather than replicate without it).
	name := st.req.ReplicationRoleName()
	err = st.withLease(ctx, sharedDocument{key: lease.RolePolicy(st.req.ReplicationRoleARN(), names.ReplicationPolicyName), removal: true,
		merge: func(bool) error {
			shared, err := st.destroyRoleShare(ctx, m)
			if err != nil || shared {
				return err
			}
			return st.destroyPairRole(ctx, m, name, "delete replication role", st.replicationRoleIsOurs, inUse)
		},
		missing: func() ([]string, error) { return st.rolePolicyLeft(ctx, m, name) }})
	if err != nil {
		return err
	}
	return st.destroyPairRole(ctx, m, names.BatchRoleName(st.req.PairID), "delete Batch Replication role",
		func(tags []iamtypes.Tag) bool { return roleIsOurs(tags, st.req.PairID) }, nil)
}

// destroyRoleShare removes the pair's statements from the source bucket's replication
// role, which the other pairs from the bucket share: their statements and the role stay.
// shared is false when no other pair's statements remain, and the role itself may go.
func (st *stage) destroyRoleShare(ctx context.Context, m *member) (shared bool, err error) {
	name := st.req.ReplicationRoleName()
	out, err := m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if awsclient.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, m.classify("iam:GetRole "+name, err)
	}
	roleARN := aws.ToString(out.Role.Arn)
	if !st.replicationRoleIsOurs(out.Role.Tags) {
		return false, nil // destroyPairRole warns and keeps it
	}
	pol, err := m.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(names.ReplicationPolicyName)})
	if awsclient.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, m.classify("iam:GetRolePolicy "+name, err)
	}
	current, err := decodePolicyDocument(aws.ToString(pol.PolicyDocument))
	if err != nil {
		return false, fmt.Errorf("parse policy %s of %s: %w", names.ReplicationPolicyName, roleARN, err)
	}
	rest, sids := policy.RemovePair(current, st.req.PairID)
	if len(ourStatements(rest).Statement) == 0 {
		return false, nil
	}
	if len(sids) > 0 {
		err := st.change(m, roleARN, "remove role policy statements", fmt.Sprintf("%s (the other pairs from bucket %s keep the role)", strings.Join(sids, ", "), st.req.Source.Bucket), func() error {
			_, err := m.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(names.ReplicationPolicyName), PolicyDocument: aws.String(string(rest.JSON()))})
			return m.classify("iam:PutRolePolicy "+name, err)
		})
		if err != nil {
			return true, err
		}
	}
	// The trust policy too holds a statement per leg, and the role stage merges into it
	// under its own lease.
	return true, st.withLease(ctx, sharedDocument{key: lease.RolePolicy(roleARN, "trust"), removal: true,
		merge: func(bool) error {
			restTrust, tsids, err := st.trustWithout(ctx, m, name, roleARN)
			if err != nil || len(tsids) == 0 || len(restTrust.Statement) == 0 {
				return err
			}
			return st.change(m, roleARN, "remove trust policy statement", strings.Join(tsids, ", "), func() error {
				_, err := m.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name), PolicyDocument: aws.String(string(restTrust.JSON()))})
				return m.classify("iam:UpdateAssumeRolePolicy "+name, err)
			})
		},
		missing: func() ([]string, error) {
			rest, tsids, err := st.trustWithout(ctx, m, name, roleARN)
			if len(rest.Statement) == 0 {
				return nil, err
			}
			return tsids, err
		}})
}

// trustWithout reads the replication role's trust policy and returns it without the
// pair's statement, and the Sids it held.
func (st *stage) trustWithout(ctx context.Context, m *member, name, roleARN string) (policy.Document, []string, error) {
	out, err := m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if awsclient.IsNotFound(err) {
		return policy.Document{}, nil, nil
	}
	if err != nil {
		return policy.Document{}, nil, m.classify("iam:GetRole "+name, err)
	}
	trust, err := decodePolicyDocument(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if err != nil {
		return policy.Document{}, nil, fmt.Errorf("parse the trust policy of %s: %w", roleARN, err)
	}
	rest, sids := policy.RemovePair(trust, st.req.PairID)
	return rest, sids, nil
}

// destroyPairRole deletes one of the pair's roles with its inline policies, when it exists
// and its tags say s3crr created it for this pair; keep (if not nil) may still keep it.
func (st *stage) destroyPairRole(ctx context.Context, m *member, name, what string, ours func([]iamtypes.Tag) bool, keep func(roleARN string) (bool, error)) error {
	out, err := m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if awsclient.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return m.classify("iam:GetRole "+name, err)
	}
	roleARN := aws.ToString(out.Role.Arn)
	if !ours(out.Role.Tags) {
		st.warn("role %s was not created by s3crr for pair %s: kept", roleARN, st.req.PairID)
		return nil
	}
	if keep != nil {
		if kept, err := keep(roleARN); err != nil || kept {
			return err
		}
	}
	var policies []string
	p := iam.NewListRolePoliciesPaginator(m.iam, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return m.classify("iam:ListRolePolicies "+name, err)
		}
		policies = append(policies, page.PolicyNames...)
	}
	for _, pol := range policies {
		err := st.change(m, roleARN, "delete role policy", pol, func() error {
			_, err := m.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pol)})
			if awsclient.IsNotFound(err) {
				return nil
			}
			return m.classify("iam:DeleteRolePolicy "+name, err)
		})
		if err != nil {
			return err
		}
	}
	return st.change(m, roleARN, what, "tagged "+names.ManagedByTagKey+" for this pair", func() error {
		_, err := m.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)})
		if awsclient.IsNotFound(err) {
			return nil
		}
		return m.classify("iam:DeleteRole "+name, err)
	})
}

// destroyKey schedules the deletion of a side's key and removes its alias, only with
// DeleteKeys and only for a key s3crr created for this pair (its creation tags); KMS
// keeps it for the waiting period, during which the owner can cancel. The deletion is
// scheduled before the alias goes, so an interrupted run still finds the key by alias.
func (st *stage) destroyKey(ctx context.Context) error {
	side := st.side()
	m, err := st.session(ctx, side)
	if err != nil {
		return err
	}
	ep := st.endpoint(side)
	meta, found, err := describeKey(ctx, m, ep)
	if err != nil || !found {
		return err
	}
	keyARN := aws.ToString(meta.Arn)
	tags, err := keyTags(ctx, m, keyARN)
	if err != nil {
		return err
	}
	ours := tags[names.ManagedByTagKey] == names.ManagedByTagValue && tags[names.PairIDTagKey] == st.req.PairID
	switch {
	case !ours:
		st.warn("%s key %s was not created by s3crr for pair %s: kept", side, keyARN, st.req.PairID)
		return nil
	case !st.destroy.DeleteKeys:
		st.warn("%s key %s kept (--delete-keys schedules its deletion)", side, keyARN)
		return nil
	}
	shared, err := st.replicatesForOthers(ctx, m, ep.Bucket)
	if err == nil && !shared {
		shared, err = st.keyGrantsOthers(ctx, m, keyARN)
	}
	if err == nil && !shared {
		shared, err = st.registeredInto(ctx, m.account, ep.Bucket, keyARN)
	}
	if err != nil || shared {
		if shared {
			st.warn("%s key %s kept: it still serves other pairs (the legs of one source bucket, or the two directions of a two-way pair, share its key)", side, keyARN)
		}
		return err
	}
	if meta.KeyState != kmstypes.KeyStatePendingDeletion {
		days := st.destroy.PendingWindowInDays
		if days == 0 {
			days = DefaultKeyPendingWindowDays
		}
		err := st.change(m, keyARN, "schedule key deletion", fmt.Sprintf("in %d days (cancel with kms cancel-key-deletion)", days), func() error {
			_, err := m.kms.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(keyARN), PendingWindowInDays: aws.Int32(days)})
			return m.classify("kms:ScheduleKeyDeletion "+keyARN, err)
		})
		if err != nil {
			return err
		}
	}
	if ep.KMSKeyAlias == "" {
		return nil
	}
	return st.change(m, keyARN, "delete alias", ep.KMSKeyAlias, func() error {
		_, err := m.kms.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String(ep.KMSKeyAlias)})
		if awsclient.IsNotFound(err) {
			return nil
		}
		return m.classify("kms:DeleteAlias "+ep.KMSKeyAlias, err)
	})
}

// destroyBucket removes the pair's canary lifecycle rule, then deletes a side's bucket only with DeleteBuckets, only when s3crr created
// it for this pair (its tags) and only when it holds no object version and no delete
// marker: s3crr never deletes data, so a bucket with any is kept and said so.
func (st *stage) destroyBucket(ctx context.Context) error {
	side := st.side()
	m, err := st.session(ctx, side)
	if err != nil {
		return err
	}
	bucket := st.endpoint(side).Bucket
	// The canary rule is the pair's whoever owns the bucket: it goes first, and alone
	// when the bucket stays.
	if err := st.destroyCanaryLifecycle(ctx, m, bucket); err != nil {
		return err
	}
	tags := map[string]string{}
	out, err := m.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	switch {
	case awsclient.ErrorCode(err) == "NoSuchBucket":
		return nil
	case awsclient.IsNotFound(err):
	case err != nil:
		return m.classify("s3:GetBucketTagging "+bucket, err)
	default:
		for _, t := range out.TagSet {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	_, legacy := tags[names.PairTagKey(st.req.PairID)]
	forPair := tags[names.PairIDTagKey] == st.req.PairID || legacy
	switch {
	case tags[names.ManagedByTagKey] != names.ManagedByTagValue || !forPair:
		st.warn("bucket %s was not created by s3crr for pair %s: kept", bucket, st.req.PairID)
		return nil
	case !st.destroy.DeleteBuckets:
		st.warn("bucket %s kept (--delete-buckets deletes it when it is empty)", bucket)
		return nil
	}
	if side == SideDestination {
		others, err := st.otherPairsInto(ctx, bucket)
		if err != nil {
			return err
		}
		if len(others) > 0 {
			st.warn("bucket %s kept: pairs %v still replicate into it", bucket, others)
			return nil
		}
	}
	shared, err := st.replicatesForOthers(ctx, m, bucket)
	if err == nil && !shared {
		shared, err = st.bucketGrantsOthers(ctx, m, bucket)
	}
	if err == nil && !shared && side == SideSource {
		// A source bucket may be another pair's destination (a two-way pair's other
		// direction); the destination side asked the registry above.
		shared, err = st.registeredInto(ctx, m.account, bucket, "")
	}
	if err != nil || shared {
		if shared {
			st.warn("bucket %s kept: it still serves other pairs", bucket)
		}
		return err
	}
	list, err := m.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), MaxKeys: aws.Int32(1)})
	if err != nil {
		return m.classify("s3:ListBucketVersions "+bucket, err)
	}
	if len(list.Versions) > 0 || len(list.DeleteMarkers) > 0 {
		st.warn("bucket %s holds object versions or delete markers: kept (s3crr never deletes data)", bucket)
		return nil
	}
	err = st.change(m, "arn:aws:s3:::"+bucket, "delete bucket", "empty, created by s3crr for this pair", func() error {
		_, err := m.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
		if awsclient.ErrorCode(err) == "BucketNotEmpty" {
			// Written to since the listing: still data, still kept.
			st.warn("bucket %s was written to while being destroyed: kept", bucket)
			return errKept
		}
		return m.classify("s3:DeleteBucket "+bucket, err)
	})
	if errors.Is(err, errKept) {
		return nil
	}
	return err
}

// replicatesForOthers reports whether a bucket's replication configuration still has a
// rule other than this pair's: the bucket, and the key it encrypts with, then serve
// other pairs (the other legs from one source bucket, or a two-way pair's other
// direction, whose source this pair's destination is), and must stay.
func (st *stage) replicatesForOthers(ctx context.Context, m *member, bucket string) (bool, error) {
	cfg, err := getReplication(ctx, m, bucket)
	if err != nil || cfg == nil {
		return false, ignoreNoBucket(err)
	}
	for _, r := range cfg.Rules {
		if aws.ToString(r.ID) != st.req.RuleID() || m.account != st.req.Source.Account || bucket != st.req.Source.Bucket {
			return true, nil
		}
	}
	return false, nil
}

// keyGrantsOthers reports whether a key's policy still holds another pair's statements:
// the key is then that pair's destination key too (a two-way pair's other direction).
func (st *stage) keyGrantsOthers(ctx context.Context, m *member, keyARN string) (bool, error) {
	out, err := m.kms.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(keyARN), PolicyName: aws.String("default")})
	if err != nil {
		return false, m.classify("kms:GetKeyPolicy "+keyARN, err)
	}
	doc, err := policy.ParseDocument([]byte(aws.ToString(out.Policy)))
	if err != nil {
		return false, fmt.Errorf("parse the key policy of %s: %w", keyARN, err)
	}
	return st.otherPairsIn(doc), nil
}

// bucketGrantsOthers reports whether a bucket's policy still holds another pair's
// statements: the bucket is then that pair's destination.
func (st *stage) bucketGrantsOthers(ctx context.Context, m *member, bucket string) (bool, error) {
	out, err := m.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	if awsclient.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, m.classify("s3:GetBucketPolicy "+bucket, err)
	}
	doc, err := policy.ParseDocument([]byte(aws.ToString(out.Policy)))
	if err != nil {
		return false, fmt.Errorf("parse the bucket policy of %s: %w", bucket, err)
	}
	return st.otherPairsIn(doc), nil
}

// otherLegs lists the rules of the source bucket's replication configuration, other than
// this pair's, that s3crr made (by their ID's prefix): the other legs from the bucket,
// which the bucket's events subscription still serves. A leg given its own rule.id is not
// recognised; its re-run subscribes the bucket again.
func (st *stage) otherLegs(ctx context.Context, m *member, bucket string) ([]string, error) {
	cfg, err := getReplication(ctx, m, bucket)
	if err != nil || cfg == nil {
		return nil, ignoreNoBucket(err)
	}
	var out []string
	for _, r := range cfg.Rules {
		if id := aws.ToString(r.ID); id != st.req.RuleID() && strings.HasPrefix(id, names.RuleIDPrefix) {
			out = append(out, id)
		}
	}
	return out, nil
}

// otherPairsIn reports whether a document has per-pair statements of a pair other than
// this one (the bucket-wide TLS statement is no pair's).
func (st *stage) otherPairsIn(doc policy.Document) bool {
	rest, _ := policy.RemovePair(doc, st.req.PairID)
	for _, s := range rest.Statement {
		if pair, _, ok := policy.ParseSid(s.Sid); ok && pair != "" {
			return true
		}
	}
	return false
}

// errKept is what destroyBucket's apply func returns when the bucket turned out not to be
// deletable for a reason that is not a failure (data arrived): the change is not recorded.
var errKept = errors.New("kept")

// ignoreNoBucket treats a bucket that no longer exists as nothing left to remove.
func ignoreNoBucket(err error) error {
	if awsclient.ErrorCode(err) == "NoSuchBucket" {
		return nil
	}
	return err
}

// destroyPart is the pair's part in the destination's shared grants, from the request
// alone: teardown must work when the keys are gone.
func (st *stage) destroyPart() sharedGrants {
	return sharedGrants{account: st.req.Source.Account, objects: policy.ObjectsARN(st.req.Destination.Bucket, st.req.Rule.Prefix)}
}

// registeredInto reports whether another registered pair replicates into bucket, or
// encrypts its replicas with keyARN, in account: the bucket and key then serve that pair
// (a two-way pair's other direction has this pair's source as its destination). Without
// a registry it cannot know, and keeps them.
func (st *stage) registeredInto(ctx context.Context, account, bucket, keyARN string) (bool, error) {
	if st.svc.cfg.Registry == nil {
		return true, nil
	}
	all, err := st.svc.cfg.Registry.PairsInto(ctx, account)
	if err != nil {
		return false, fmt.Errorf("read the pairs registry: %w", err)
	}
	for _, o := range all {
		if o.PairID != st.req.PairID && (o.DestinationBucket == bucket || (keyARN != "" && o.DestinationKeyARN == keyARN)) {
			return true, nil
		}
	}
	return false, nil
}

// otherPairsInto lists the registered pairs other than this one replicating into the
// destination bucket. Without a registry it cannot know, and answers with a placeholder
// so that the caller keeps the bucket.
func (st *stage) otherPairsInto(ctx context.Context, bucket string) ([]string, error) {
	if st.svc.cfg.Registry == nil {
		return []string{"(unknown: no pairs registry configured)"}, nil
	}
	all, err := st.svc.cfg.Registry.PairsInto(ctx, st.req.Destination.Account)
	if err != nil {
		return nil, fmt.Errorf("read the pairs registry: %w", err)
	}
	var out []string
	for _, o := range all {
		if o.PairID != st.req.PairID && o.DestinationBucket == bucket {
			out = append(out, o.PairID)
		}
	}
	return out, nil
}
