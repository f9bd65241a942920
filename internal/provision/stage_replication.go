package provision

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/lease"
	"github.com/s3crr/s3crr/internal/spec"
)

// rtcMinutes is the only value S3 accepts for Replication Time Control and its metrics
// event threshold.
const rtcMinutes = 15

// desiredRule is the pair's replication rule in the V2 schema (Filter, Priority,
// DeleteMarkerReplication), with the full destination key ARN: an alias would resolve in
// the requester's account, and S3 does not validate the key (docs/aws-facts.md#F-REPLICA-KMS-KEY-ARN).
// ownerOverride is [stage.ownerOverrideNeeded]'s decision, the same one the role and
// bucket policies are built from, so the rule never carries AccessControlTranslation
// without the permission it needs.
func desiredRule(r spec.Request, dstKeyARN string, ownerOverride bool) s3types.ReplicationRule {
	rule := s3types.ReplicationRule{
		ID:       aws.String(r.RuleID()),
		Priority: r.Rule.Priority,
		Status:   s3types.ReplicationRuleStatusEnabled,
		Filter:   ruleFilter(r.Rule.Prefix, r.Rule.Tags),
		DeleteMarkerReplication: &s3types.DeleteMarkerReplication{
			Status: s3types.DeleteMarkerReplicationStatusDisabled,
		},
		SourceSelectionCriteria: &s3types.SourceSelectionCriteria{
			SseKmsEncryptedObjects: &s3types.SseKmsEncryptedObjects{Status: s3types.SseKmsEncryptedObjectsStatusEnabled},
		},
		Destination: &s3types.Destination{
			Bucket:                  aws.String(r.DestinationBucketARN()),
			StorageClass:            s3types.StorageClass(r.Rule.StorageClass),
			EncryptionConfiguration: &s3types.EncryptionConfiguration{ReplicaKmsKeyID: aws.String(dstKeyARN)},
		},
	}
	if r.Rule.DeleteMarkerReplication {
		rule.DeleteMarkerReplication.Status = s3types.DeleteMarkerReplicationStatusEnabled
	}
	if r.Rule.ReplicaModifications {
		rule.SourceSelectionCriteria.ReplicaModifications = &s3types.ReplicaModifications{Status: s3types.ReplicaModificationsStatusEnabled}
	}
	if r.IsCrossAccount() {
		rule.Destination.Account = aws.String(r.Destination.Account)
	}
	if ownerOverride {
		rule.Destination.AccessControlTranslation = &s3types.AccessControlTranslation{Owner: s3types.OwnerOverrideDestination}
	}
	if r.MetricsEnabled() {
		rule.Destination.Metrics = &s3types.Metrics{Status: s3types.MetricsStatusEnabled}
	}
	if r.Rule.ReplicationTimeControl {
		rule.Destination.ReplicationTime = &s3types.ReplicationTime{
			Status: s3types.ReplicationTimeStatusEnabled,
			Time:   &s3types.ReplicationTimeValue{Minutes: aws.Int32(rtcMinutes)},
		}
		// The threshold events (OperationMissedThreshold...) need an event threshold,
		// which S3 allows only together with RTC; RTC requires Metrics (spec validates it,
		// and S3 rejects RTC without Metrics, so turn them on rather than crash).
		if rule.Destination.Metrics == nil {
			rule.Destination.Metrics = &s3types.Metrics{Status: s3types.MetricsStatusEnabled}
		}
		rule.Destination.Metrics.EventThreshold = &s3types.ReplicationTimeValue{Minutes: aws.Int32(rtcMinutes)}
	}
	return rule
}

func ruleFilter(prefix string, tags map[string]string) *s3types.ReplicationRuleFilter {
	if len(tags) == 0 {
		return &s3types.ReplicationRuleFilter{Prefix: aws.String(prefix)}
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	set := make([]s3types.Tag, 0, len(keys))
	for _, k := range keys {
		set = append(set, s3types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	if prefix == "" && len(set) == 1 {
		return &s3types.ReplicationRuleFilter{Tag: &set[0]}
	}
	return &s3types.ReplicationRuleFilter{And: &s3types.ReplicationRuleAndOperator{Prefix: aws.String(prefix), Tags: set}}
}

// getReplication returns a bucket's replication configuration, nil if it has none.
func getReplication(ctx context.Context, m *member, bucket string) (*s3types.ReplicationConfiguration, error) {
	out, err := m.s3.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(bucket)})
	if awsclient.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, m.classify("s3:GetReplicationConfiguration "+bucket, err)
	}
	return out.ReplicationConfiguration, nil
}

// mergeRule puts ours into an existing configuration by rule ID, keeping every other rule.
// It refuses (Conflict) what would change someone else's replication or cannot work:
// another role (one configuration has one role for all its rules), another rule with
// ours' priority, or another rule in the V1 schema.
// changed is false when the configuration already has ours as is.
func mergeRule(cfg *s3types.ReplicationConfiguration, roleARN string, ours s3types.ReplicationRule) (changed bool, err error) {
	others := 0
	found := false
	for i, r := range cfg.Rules {
		if aws.ToString(r.ID) == aws.ToString(ours.ID) {
			found = true
			if !rulesEqual(r, ours) {
				cfg.Rules[i] = ours
				changed = true
			}
			continue
		}
		others++
		if r.Filter == nil {
			// A rule without Filter makes the whole configuration the V1 schema, in which
			// S3 rejects Filter, Priority and DeleteMarkerReplication: the pair's V2 rule
			// could never be added, and PutBucketReplication would fail only at the end.
			return false, &Conflict{Message: fmt.Sprintf("rule %q on the source bucket uses the V1 replication schema (no Filter), which S3 cannot combine with the pair's V2 rule (fix: rewrite the bucket's rules with Filter, Priority and DeleteMarkerReplication, or use another source bucket)", aws.ToString(r.ID))}
		}
		if r.Priority != nil && ours.Priority != nil && *r.Priority == *ours.Priority {
			return false, &Conflict{Message: fmt.Sprintf("rule %q on the source bucket already has priority %d (fix: set rule.priority to a free value)", aws.ToString(r.ID), *ours.Priority)}
		}
	}
	if !found {
		cfg.Rules = append(cfg.Rules, ours)
		changed = true
	}
	if aws.ToString(cfg.Role) != roleARN {
		if others > 0 {
			return false, &Conflict{Message: fmt.Sprintf("the source bucket's replication configuration uses role %s for its other rules; S3 allows one role per bucket, and s3crr will not replace it (fix: add the pair's permissions to that role and replicate with it, or use another source bucket)", aws.ToString(cfg.Role))}
		}
		cfg.Role = aws.String(roleARN)
		changed = true
	}
	return changed, nil
}

// rulesEqual compares two rules as S3 stores them; S3 may fill defaults (an empty prefix
// reads back as absent), so both are normalised first.
func rulesEqual(a, b s3types.ReplicationRule) bool {
	return reflect.DeepEqual(normaliseRule(a), normaliseRule(b))
}

func normaliseRule(r s3types.ReplicationRule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "id=%s status=%s", aws.ToString(r.ID), r.Status)
	if r.Priority != nil {
		fmt.Fprintf(&b, " priority=%d", *r.Priority)
	}
	if f := r.Filter; f != nil {
		fmt.Fprintf(&b, " prefix=%s", aws.ToString(f.Prefix))
		var tags []s3types.Tag
		if f.Tag != nil {
			tags = append(tags, *f.Tag)
		}
		if f.And != nil {
			fmt.Fprintf(&b, " prefix=%s", aws.ToString(f.And.Prefix))
			tags = append(tags, f.And.Tags...)
		}
		kv := make([]string, 0, len(tags))
		for _, t := range tags {
			kv = append(kv, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
		}
		sort.Strings(kv)
		fmt.Fprintf(&b, " tags=%v", kv)
	} else {
		fmt.Fprintf(&b, " legacyPrefix=%s", aws.ToString(r.Prefix))
	}
	if r.DeleteMarkerReplication != nil {
		fmt.Fprintf(&b, " dm=%s", r.DeleteMarkerReplication.Status)
	}
	if s := r.SourceSelectionCriteria; s != nil {
		if s.SseKmsEncryptedObjects != nil {
			fmt.Fprintf(&b, " ssekms=%s", s.SseKmsEncryptedObjects.Status)
		}
		if s.ReplicaModifications != nil && s.ReplicaModifications.Status == s3types.ReplicaModificationsStatusEnabled {
			b.WriteString(" replicaMods")
		}
	}
	if d := r.Destination; d != nil {
		sc := d.StorageClass
		if sc == "" {
			sc = s3types.StorageClassStandard
		}
		fmt.Fprintf(&b, " dst=%s acct=%s sc=%s", aws.ToString(d.Bucket), aws.ToString(d.Account), sc)
		if d.AccessControlTranslation != nil {
			fmt.Fprintf(&b, " owner=%s", d.AccessControlTranslation.Owner)
		}
		if d.EncryptionConfiguration != nil {
			fmt.Fprintf(&b, " key=%s", aws.ToString(d.EncryptionConfiguration.ReplicaKmsKeyID))
		}
		if t := d.ReplicationTime; t != nil && t.Status == s3types.ReplicationTimeStatusEnabled {
			b.WriteString(" rtc")
		}
		if mt := d.Metrics; mt != nil && mt.Status == s3types.MetricsStatusEnabled {
			b.WriteString(" metrics")
			if mt.EventThreshold != nil {
				fmt.Fprintf(&b, "/%d", aws.ToInt32(mt.EventThreshold.Minutes))
			}
		}
	}
	return b.String()
}

// replication merges the pair's rule into the source bucket's replication configuration.
func (st *stage) replication(ctx context.Context) error {
	m, err := st.session(ctx, SideSource)
	if err != nil {
		return err
	}
	dstKey, err := st.keyARN(ctx, SideDestination)
	if err != nil {
		return err
	}
	bucket := st.req.Source.Bucket
	roleARN := st.req.ReplicationRoleARN()
	ownerOverride, err := st.ownerOverrideNeeded(ctx)
	if err != nil {
		return err
	}
	ours := desiredRule(st.req, dstKey, ownerOverride)
	st.res.Outputs["ruleId"] = st.req.RuleID()
	// Other pairs from the same source bucket merge their rules into the same
	// configuration: under its lease, with a read-back.
	return st.withLease(ctx, sharedDocument{key: lease.S3Document(bucket, "replication"),
		merge:   func(bool) error { return st.mergeReplicationOnce(ctx, m, bucket, roleARN, dstKey, ours) },
		missing: func() ([]string, error) { return replicationMissing(ctx, m, bucket, roleARN, ours) }})
}

// mergeReplicationOnce reads the source bucket's replication configuration, merges the
// pair's rule in and puts it when it differed.
func (st *stage) mergeReplicationOnce(ctx context.Context, m *member, bucket, roleARN, dstKey string, ours s3types.ReplicationRule) error {
	cfg, err := getReplication(ctx, m, bucket)
	if err != nil {
		return err
	}
	if cfg == nil {
		cfg = &s3types.ReplicationConfiguration{}
	}
	changed, err := mergeRule(cfg, roleARN, ours)
	if err != nil || !changed {
		return err
	}
	detail := fmt.Sprintf("rule %s → %s, replica key %s, role %s (other rules kept)", st.req.RuleID(), st.req.DestinationBucketARN(), dstKey, roleARN)
	return st.change(m, "arn:aws:s3:::"+bucket, "merge replication rule", detail, func() error {
		_, err := m.s3.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String(bucket), ReplicationConfiguration: cfg})
		return m.classify("s3:PutReplicationConfiguration "+bucket, err)
	})
}

// checkReplication is the read-only end-of-run check: the rule is in place as the request
// says, the role exists, and both keys are usable. It reports readiness in outputs rather
// than failing, so the state machine's loop decides how long to wait.
func (st *stage) checkReplication(ctx context.Context) error {
	m, err := st.session(ctx, SideSource)
	if err != nil {
		return err
	}
	ready, reason := true, "the rule, the role and both keys are in place"
	notReady := func(why string) {
		if ready {
			ready, reason = false, why
		}
	}
	// The keys first: a missing or disabled key is the root cause of a differing rule. A
	// missing destination key leaves the placeholder in the rule comparison below.
	dstKey := plannedKeyARN(st.req.Destination)
	for _, side := range []string{SideSource, SideDestination} {
		sm, err := st.session(ctx, side)
		if err != nil {
			return err
		}
		meta, found, err := describeKey(ctx, sm, st.endpoint(side))
		if err != nil {
			return err
		}
		switch {
		case !found:
			notReady("the " + side + " key is missing")
			continue
		case side == SideDestination:
			dstKey = aws.ToString(meta.Arn)
		}
		if p := keyProblem(meta); p != "" {
			notReady("the " + side + " key " + p)
		}
	}
	cfg, err := getReplication(ctx, m, st.req.Source.Bucket)
	if err != nil {
		return err
	}
	if cfg == nil {
		notReady("the source bucket has no replication configuration")
	} else {
		ownerOverride, err := st.ownerOverrideNeeded(ctx)
		if err != nil {
			return err
		}
		want := desiredRule(st.req, dstKey, ownerOverride)
		found := false
		for _, r := range cfg.Rules {
			if aws.ToString(r.ID) == st.req.RuleID() {
				found = true
				if !rulesEqual(r, want) {
					notReady("rule " + st.req.RuleID() + " differs from the request")
				}
			}
		}
		if !found {
			notReady("rule " + st.req.RuleID() + " is missing")
		}
		if aws.ToString(cfg.Role) != st.req.ReplicationRoleARN() {
			notReady("the configuration uses role " + aws.ToString(cfg.Role))
		}
	}
	if _, err := m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(st.req.ReplicationRoleName())}); err != nil {
		if !awsclient.IsNotFound(err) {
			return m.classify("iam:GetRole", err)
		}
		notReady("the replication role is missing")
	}
	st.res.Outputs["ready"] = fmt.Sprint(ready)
	st.res.Outputs["reason"] = reason
	return nil
}
