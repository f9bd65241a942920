package provision

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/lease"
	"github.com/s3crr/s3crr/internal/names"
)

// The canary backstop (docs/aws-facts.md#F-S3-LIFECYCLE): the verifier deletes its
// canary's versions on both sides, but a verification that dies between the put and the
// cleanup leaves them under the reserved prefix for ever. A lifecycle rule on each bucket
// expires whatever is there after a day.

// canaryExpiryDays is how long a left-over canary lives: the smallest value S3 takes
// (Days must be a non-zero positive integer). A verification's canary is deleted long
// before; only one abandoned by a failed run is ever expired.
const canaryExpiryDays = 1

// maxLifecycleRules is S3's limit on the rules of one lifecycle configuration; it is not
// adjustable.
const maxLifecycleRules = 1000

// canaryLifecycleRule is s3crr's rule for the pair's canary prefix: the current version
// expires after a day (on a versioned bucket that makes it noncurrent behind a delete
// marker), the noncurrent version a day later, and S3 then removes the expired object
// delete marker by itself, because the rule expires current versions
// (ExpiredObjectDeleteMarker cannot be set together with Days). A canary is one small
// PutObject, but an interrupted multipart upload under the prefix is aborted too.
func (st *stage) canaryLifecycleRule() s3types.LifecycleRule {
	return s3types.LifecycleRule{
		ID:                             aws.String(names.CanaryLifecycleRuleID(st.req.CanaryKeyPrefix())),
		Status:                         s3types.ExpirationStatusEnabled,
		Filter:                         &s3types.LifecycleRuleFilter{Prefix: aws.String(st.req.CanaryKeyPrefix())},
		Expiration:                     &s3types.LifecycleExpiration{Days: aws.Int32(canaryExpiryDays)},
		NoncurrentVersionExpiration:    &s3types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(canaryExpiryDays)},
		AbortIncompleteMultipartUpload: &s3types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(canaryExpiryDays)},
	}
}

// readLifecycle returns a bucket's lifecycle rules; none when it has no configuration.
func readLifecycle(ctx context.Context, m *member, name string) ([]s3types.LifecycleRule, error) {
	out, err := m.s3.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(name)})
	switch {
	case err == nil:
		return out.Rules, nil
	case awsclient.IsNotFound(err):
		return nil, nil
	}
	return nil, m.classify("s3:GetLifecycleConfiguration "+name, err)
}

// ensureCanaryLifecycle merges the pair's canary rule into the bucket's lifecycle
// configuration by rule ID. PutBucketLifecycleConfiguration replaces the whole
// configuration, so every other rule is read and written back as it was, in its place;
// pairs sharing the bucket write the same configuration, so the merge runs under its
// lease and is read back, as every shared document's is.
func (st *stage) ensureCanaryLifecycle(ctx context.Context, m *member, name string, created bool) error {
	return st.withLease(ctx, sharedDocument{key: lease.S3Document(name, "lifecycle"),
		merge:   func(reread bool) error { return st.ensureCanaryLifecycleOnce(ctx, m, name, created && !reread) },
		missing: func() ([]string, error) { return st.canaryLifecycleMissing(ctx, m, name) }})
}

// canaryLifecycleMissing reads the configuration back and names the pair's rule when it
// is not there as s3crr wrote it.
func (st *stage) canaryLifecycleMissing(ctx context.Context, m *member, name string) ([]string, error) {
	rules, err := readLifecycle(ctx, m, name)
	if err != nil {
		return nil, err
	}
	want := st.canaryLifecycleRule()
	for _, r := range rules {
		if lifecycleRuleEqual(r, want) {
			return nil, nil
		}
	}
	return []string{"lifecycle rule " + aws.ToString(want.ID)}, nil
}

func (st *stage) ensureCanaryLifecycleOnce(ctx context.Context, m *member, name string, created bool) error {
	var rules []s3types.LifecycleRule
	if !created {
		var err error
		if rules, err = readLifecycle(ctx, m, name); err != nil {
			return err
		}
	}
	want := st.canaryLifecycleRule()
	at := -1
	for i, r := range rules {
		if aws.ToString(r.ID) == aws.ToString(want.ID) {
			at = i
		}
	}
	action := "add lifecycle rule"
	switch {
	case at >= 0 && lifecycleRuleEqual(rules[at], want):
		return nil
	case at >= 0:
		action = "update lifecycle rule"
		rules[at] = want
	case len(rules) >= maxLifecycleRules:
		return &Conflict{Message: fmt.Sprintf("bucket %s has %d lifecycle rules, S3's limit: s3crr cannot add %s, which expires left-over canaries under %s (fix: merge or remove a rule you own, then re-run)",
			name, len(rules), aws.ToString(want.ID), st.req.CanaryKeyPrefix())}
	default:
		rules = append(rules, want)
	}
	detail := fmt.Sprintf("%s: expire %s* after %d day (other rules kept)", aws.ToString(want.ID), st.req.CanaryKeyPrefix(), canaryExpiryDays)
	return st.change(m, "arn:aws:s3:::"+name, action, detail, func() error {
		_, err := m.s3.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String(name),
			LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: rules}})
		return m.classify("s3:PutLifecycleConfiguration "+name, err)
	})
}

// prefixStillUsed says why the destination's canary rule must stay: another registered
// pair replicates into the bucket under the same rule prefix, or there is no registry to
// tell. "" when no other pair needs it.
func (st *stage) prefixStillUsed(ctx context.Context, bucket string) (string, error) {
	if st.svc.cfg.Registry == nil {
		return "no pairs registry is configured to tell whether other pairs use it", nil
	}
	all, err := st.svc.cfg.Registry.PairsInto(ctx, st.req.Destination.Account)
	if err != nil {
		return "", fmt.Errorf("read the pairs registry: %w", err)
	}
	for _, o := range all {
		if o.PairID != st.req.PairID && o.DestinationBucket == bucket && o.Prefix == st.req.Rule.Prefix {
			return "pair " + o.PairID + " replicates into it under the same prefix", nil
		}
	}
	return "", nil
}

// sourcePrefixStillUsed says why the source's canary rule must stay: another leg from the
// bucket replicates under the same prefix. "" when none does.
func (st *stage) sourcePrefixStillUsed(ctx context.Context, m *member, bucket string) (string, error) {
	cfg, err := getReplication(ctx, m, bucket)
	if err != nil || cfg == nil {
		return "", ignoreNoBucket(err)
	}
	for _, r := range cfg.Rules {
		id := aws.ToString(r.ID)
		if id == st.req.RuleID() || !strings.HasPrefix(id, names.RuleIDPrefix) || replicationRulePrefix(r) != st.req.Rule.Prefix {
			continue
		}
		return "rule " + id + " of another leg from the bucket replicates under the same prefix", nil
	}
	return "", nil
}

// replicationRulePrefix is the key prefix a replication rule's filter selects ("" for all).
func replicationRulePrefix(r s3types.ReplicationRule) string {
	switch {
	case r.Filter == nil:
		return aws.ToString(r.Prefix)
	case r.Filter.And != nil:
		return aws.ToString(r.Filter.And.Prefix)
	}
	return aws.ToString(r.Filter.Prefix)
}

// lifecycleRuleEqual compares the elements s3crr sets; S3 may return a rule with fields
// it filled in (an empty Transitions list, say), which are not a difference.
func lifecycleRuleEqual(a, b s3types.LifecycleRule) bool {
	pre := func(r s3types.LifecycleRule) string {
		if r.Filter == nil {
			return "\x00"
		}
		return aws.ToString(r.Filter.Prefix)
	}
	return aws.ToString(a.ID) == aws.ToString(b.ID) && a.Status == b.Status && pre(a) == pre(b) &&
		(a.Filter == nil || (a.Filter.Tag == nil && a.Filter.And == nil)) &&
		reflect.DeepEqual(a.Expiration, b.Expiration) &&
		reflect.DeepEqual(a.NoncurrentVersionExpiration, b.NoncurrentVersionExpiration) &&
		reflect.DeepEqual(a.AbortIncompleteMultipartUpload, b.AbortIncompleteMultipartUpload) &&
		len(a.Transitions) == 0 && len(a.NoncurrentVersionTransitions) == 0
}

// destroyCanaryLifecycle removes the pair's canary rule from a bucket's lifecycle
// configuration, keeping every other rule; the configuration is deleted only when the
// pair's rule was its last. On the destination, the rule stays while the pairs registry
// shows another pair into the bucket under the same prefix (or cannot tell).
// On the source, the rule stays while another of s3crr's rules in the bucket's replication
// configuration (another leg from the bucket, which destroyReplication left) has the same
// prefix: their canaries are written under it too.
//
// The pairs sharing the bucket write the same configuration, so the removal runs under
// its lease and is read back, as the merge is.
func (st *stage) destroyCanaryLifecycle(ctx context.Context, m *member, name string) error {
	return st.withLease(ctx, sharedDocument{key: lease.S3Document(name, "lifecycle"), removal: true,
		merge:   func(bool) error { return st.destroyCanaryLifecycleOnce(ctx, m, name) },
		missing: func() ([]string, error) { return st.canaryLifecycleLeft(ctx, m, name) }})
}

func (st *stage) destroyCanaryLifecycleOnce(ctx context.Context, m *member, name string) error {
	rules, err := readLifecycle(ctx, m, name)
	if err != nil {
		return ignoreNoBucket(err)
	}
	id := names.CanaryLifecycleRuleID(st.req.CanaryKeyPrefix())
	if !slices.ContainsFunc(rules, func(r s3types.LifecycleRule) bool { return aws.ToString(r.ID) == id }) {
		return nil
	}
	// The rule is per canary prefix: another pair replicating into this bucket under the
	// same prefix, or another leg from this source bucket under it, still relies on it.
	var kept string
	if st.side() == SideSource {
		kept, err = st.sourcePrefixStillUsed(ctx, m, name)
	} else {
		kept, err = st.prefixStillUsed(ctx, name)
	}
	if err != nil {
		return err
	}
	if kept != "" {
		st.warn("lifecycle rule %s on %s kept: %s", id, name, kept)
		return nil
	}
	rest := make([]s3types.LifecycleRule, 0, len(rules))
	for _, r := range rules {
		if aws.ToString(r.ID) != id {
			rest = append(rest, r)
		}
	}
	if len(rest) == len(rules) {
		return nil
	}
	arn := "arn:aws:s3:::" + name
	if len(rest) == 0 {
		return st.change(m, arn, "delete lifecycle configuration", "its only rule was the pair's: "+id, func() error {
			_, err := m.s3.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: aws.String(name)})
			return m.classify("s3:PutLifecycleConfiguration (DeleteBucketLifecycle) "+name, err)
		})
	}
	return st.change(m, arn, "remove lifecycle rule", fmt.Sprintf("%s (%d other rules kept)", id, len(rest)), func() error {
		_, err := m.s3.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String(name),
			LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: rest}})
		return m.classify("s3:PutLifecycleConfiguration "+name, err)
	})
}
