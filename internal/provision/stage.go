package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// stage is one run of one stage: the request, the sessions it opened and what it did.
type stage struct {
	svc      *Service
	req      spec.Request
	plan     bool
	destroy  DestroyOptions
	res      Result
	sessions map[string]*member
	// batch is the event's Batch Replication input (nil outside a re-drive).
	batch *BatchInput
}

// endpoint returns one side of the pair.
func (st *stage) endpoint(side string) spec.Endpoint {
	if side == SideDestination {
		return st.req.Destination
	}
	return st.req.Source
}

// side is the side a per-side stage runs for; an event without one means the source,
// the side every pair has work on.
func (st *stage) side() string {
	if st.res.Side == "" {
		return SideSource
	}
	return st.res.Side
}

// session opens (once per stage) the provisioner session for a side.
func (st *stage) session(ctx context.Context, side string) (*member, error) {
	if m, ok := st.sessions[side]; ok {
		return m, nil
	}
	ep := st.endpoint(side)
	m, err := st.svc.connect.Connect(ctx, ep.Account, ep.Region, st.req.PairID)
	if err != nil {
		return nil, fmt.Errorf("connect to %s account %s: %w", side, ep.Account, err)
	}
	if st.sessions == nil {
		st.sessions = map[string]*member{}
	}
	st.sessions[side] = m
	return m, nil
}

// sessionFor connects to an endpoint that is not one of the pair's two sides as such:
// the validate stage reads the source bucket of each leg, which for a two-way pair's
// back direction is the pair's destination. Sessions are cached by account and region.
func (st *stage) sessionFor(ctx context.Context, ep spec.Endpoint) (*member, error) {
	key := ep.Account + "/" + ep.Region
	if m, ok := st.sessions[key]; ok {
		return m, nil
	}
	m, err := st.svc.connect.Connect(ctx, ep.Account, ep.Region, st.req.PairID)
	if err != nil {
		return nil, fmt.Errorf("connect to account %s: %w", ep.Account, err)
	}
	if st.sessions == nil {
		st.sessions = map[string]*member{}
	}
	st.sessions[key] = m
	return m, nil
}

// change records a change and, unless planning, applies it. A change is recorded only
// once it succeeded, so a failed stage reports what it really did.
func (st *stage) change(m *member, resource, action, detail string, apply func() error) error {
	if !st.plan {
		if err := apply(); err != nil {
			return err
		}
	}
	st.res.Changes = append(st.res.Changes, Change{Account: m.account, Region: m.region, Resource: resource, Action: action, Detail: detail})
	return nil
}

func (st *stage) warn(format string, args ...any) {
	st.res.Warnings = append(st.res.Warnings, fmt.Sprintf(format, args...))
}

// plannedKeyARN stands for a key the key stage has not created yet, in plan mode.
func plannedKeyARN(ep spec.Endpoint) string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/(created by the key stage)", ep.Region, ep.Account)
}

// keyRef is how the request names a side's key: its ARN, or its alias.
func keyRef(ep spec.Endpoint) string {
	if ep.KMSKeyARN != "" {
		return ep.KMSKeyARN
	}
	return ep.KMSKeyAlias
}

// describeKey looks up a side's key. found is false when it does not exist (yet).
func describeKey(ctx context.Context, m *member, ep spec.Endpoint) (meta *kmstypes.KeyMetadata, found bool, err error) {
	out, err := m.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyRef(ep))})
	if awsclient.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, m.classify("kms:DescribeKey "+keyRef(ep), err)
	}
	return out.KeyMetadata, true, nil
}

// keyARN resolves a side's key ARN. In plan mode a key that does not exist yet gets a
// placeholder; in a real run it is an error, since the key stage runs first.
func (st *stage) keyARN(ctx context.Context, side string) (string, error) {
	m, err := st.session(ctx, side)
	if err != nil {
		return "", err
	}
	ep := st.endpoint(side)
	meta, found, err := describeKey(ctx, m, ep)
	if err != nil {
		return "", err
	}
	if !found {
		if st.plan {
			return plannedKeyARN(ep), nil
		}
		return "", &PreflightFailed{Message: fmt.Sprintf("%s key %s does not exist in account %s region %s (fix: run the key stage first, or check %s.kmsKeyArn)",
			side, keyRef(ep), ep.Account, ep.Region, side)}
	}
	return aws.ToString(meta.Arn), nil
}

// objectLockEnabled reports whether a side's bucket has Object Lock; a bucket that does
// not exist yet has not.
func objectLockEnabled(ctx context.Context, m *member, bucket string) (bool, error) {
	out, err := m.s3.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(bucket)})
	if awsclient.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, m.classify("s3:GetBucketObjectLockConfiguration "+bucket, err)
	}
	return out.ObjectLockConfiguration != nil && out.ObjectLockConfiguration.ObjectLockEnabled == "Enabled", nil
}

// params gathers what the policy builders need: both key ARNs (resolved, since grants on
// aliases do not cover keys) and whether the source has Object Lock.
func (st *stage) params(ctx context.Context) (policy.ReplicationParams, error) {
	srcKey, err := st.keyARN(ctx, SideSource)
	if err != nil {
		return policy.ReplicationParams{}, err
	}
	dstKey, err := st.keyARN(ctx, SideDestination)
	if err != nil {
		return policy.ReplicationParams{}, err
	}
	src, err := st.session(ctx, SideSource)
	if err != nil {
		return policy.ReplicationParams{}, err
	}
	lock, err := objectLockEnabled(ctx, src, st.req.Source.Bucket)
	if err != nil {
		return policy.ReplicationParams{}, err
	}
	ownerOverride, err := st.ownerOverrideNeeded(ctx)
	if err != nil {
		return policy.ReplicationParams{}, err
	}
	r := st.req
	return policy.ReplicationParams{
		PairID:             r.PairID,
		SourceAccount:      r.Source.Account,
		SourceRegion:       r.Source.Region,
		SourceBucket:       r.Source.Bucket,
		SourceKeyARN:       srcKey,
		DestinationAccount: r.Destination.Account,
		DestinationRegion:  r.Destination.Region,
		DestinationBucket:  r.Destination.Bucket,
		DestinationKeyARN:  dstKey,
		Prefix:             r.Rule.Prefix,
		RoleARN:            r.ReplicationRoleARN(),
		OwnerOverride:      ownerOverride,
		ObjectLock:         lock,
	}, nil
}

// ownerOverrideNeeded decides, for the rule and the grants alike, whether the pair uses the
// owner override option: only when the request asks for it and the destination bucket does
// not enforce bucket ownership. AWS documents BucketOwnerEnforced as the alternative to the
// option that needs no s3:ObjectOwnerOverrideToBucketOwner, and the option as needing that
// permission in the role policy and the destination bucket policy whatever the ownership
// (docs/aws-facts.md#F-REPL-OWNER-OVERRIDE). So with BucketOwnerEnforced (how s3crr creates
// buckets) the rule leaves AccessControlTranslation out and nothing grants the permission:
// the destination owns every replica with the least privilege. Otherwise the rule carries
// the option and both policies grant it.
func (st *stage) ownerOverrideNeeded(ctx context.Context) (bool, error) {
	if !st.req.Rule.OwnerOverride {
		return false, nil
	}
	m, err := st.session(ctx, SideDestination)
	if err != nil {
		return false, err
	}
	out, err := m.s3.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String(st.req.Destination.Bucket)})
	switch {
	case awsclient.ErrorCode(err) == "NoSuchBucket":
		return false, nil // planning: the bucket stage will create it BucketOwnerEnforced
	case awsclient.IsNotFound(err):
		return true, nil
	case err != nil:
		return false, m.classify("s3:GetBucketOwnershipControls "+st.req.Destination.Bucket, err)
	}
	enforced := out.OwnershipControls != nil && len(out.OwnershipControls.Rules) > 0 &&
		out.OwnershipControls.Rules[0].ObjectOwnership == s3types.ObjectOwnershipBucketOwnerEnforced
	return !enforced, nil
}
