package provision

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/lease"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// key ensures a side's KMS key. A key given by ARN is only checked (it is the owner's:
// s3crr changes nothing on it here). Otherwise the key behind the pair's alias is used, or
// created with the alias and rotation on. A key created by an earlier run that died before
// creating the alias is found by its s3crr:alias tag and adopted, so re-runs converge
// instead of leaving orphan keys.
func (st *stage) key(ctx context.Context) error {
	side := st.side()
	m, err := st.session(ctx, side)
	if err != nil {
		return err
	}
	ep := st.endpoint(side)
	meta, found, err := describeKey(ctx, m, ep)
	if err != nil {
		return err
	}
	if found {
		if p := keyProblem(meta); p != "" {
			return &PreflightFailed{Message: fmt.Sprintf("%s key %s %s", side, aws.ToString(meta.Arn), p)}
		}
		st.res.Outputs["keyArn"] = aws.ToString(meta.Arn)
		if ep.KMSKeyARN != "" {
			return st.ensureAliasOnBroughtKey(ctx, m, side, aws.ToString(meta.Arn))
		}
		// The alias may be the owner's, on a key s3crr did not create (the request named
		// an existing alias): rotation is then the owner's choice, only warned on.
		ours, err := keyCreatedByS3crr(ctx, m, aws.ToString(meta.Arn))
		if err != nil {
			return err
		}
		if !ours {
			return st.warnIfRotationOff(ctx, m, aws.ToString(meta.Arn))
		}
		return st.ensureRotation(ctx, m, aws.ToString(meta.Arn))
	}
	if ep.KMSKeyARN != "" {
		return &PreflightFailed{Message: fmt.Sprintf("%s.kmsKeyArn: key %s does not exist (fix: give an existing key's ARN, or remove kmsKeyArn so s3crr creates one)", side, ep.KMSKeyARN)}
	}

	keyARN, err := findKeyByAliasTag(ctx, m, ep.KMSKeyAlias)
	if err != nil {
		return err
	}
	if keyARN == "" {
		err := st.change(m, ep.KMSKeyAlias, "create key", "symmetric customer managed key, default key policy (IAM-delegated)", func() error {
			out, err := m.kms.CreateKey(ctx, &kms.CreateKeyInput{
				Description: aws.String(fmt.Sprintf("s3crr %s key of pair %s", side, st.req.PairID)),
				KeySpec:     kmstypes.KeySpecSymmetricDefault,
				KeyUsage:    kmstypes.KeyUsageTypeEncryptDecrypt,
				Tags: []kmstypes.Tag{
					{TagKey: aws.String(names.ManagedByTagKey), TagValue: aws.String(names.ManagedByTagValue)},
					{TagKey: aws.String(names.PairIDTagKey), TagValue: aws.String(st.req.PairID)},
					{TagKey: aws.String(names.AliasTagKey), TagValue: aws.String(ep.KMSKeyAlias)},
				},
			})
			if err != nil {
				return m.classify("kms:CreateKey", err)
			}
			keyARN = aws.ToString(out.KeyMetadata.Arn)
			return nil
		})
		if err != nil {
			return err
		}
	}
	if st.plan && keyARN == "" {
		keyARN = plannedKeyARN(ep)
	}
	err = st.change(m, ep.KMSKeyAlias, "create alias", "→ "+keyARN, func() error {
		err := createAlias(ctx, m, side, ep.KMSKeyAlias, keyARN)
		var race *aliasTaken
		if !errors.As(err, &race) {
			return err
		}
		winner, err := st.convergeOnWinner(ctx, m, race)
		if err != nil {
			return err
		}
		keyARN = winner
		return nil
	})
	if err != nil {
		return err
	}
	st.res.Outputs["keyArn"] = keyARN
	if st.plan {
		return st.change(m, keyARN, "enable key rotation", "", nil)
	}
	return st.ensureRotation(ctx, m, keyARN)
}

// ensureAliasOnBroughtKey gives a key the request names by ARN the pair's default alias
// for its side. The provisioner role may change only keys with an alias under the
// deployment's prefix (kms:ResourceAliases), so this is what lets it add the pair's
// key-policy statements to a key it did not create; nothing else about the key changes
// (its rotation setting is the owner's).
func (st *stage) ensureAliasOnBroughtKey(ctx context.Context, m *member, side, keyARN string) error {
	alias := st.svc.cfg.defaultAlias(side, st.req.PairID)
	out, err := m.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
	switch {
	case err == nil:
		if got := aws.ToString(out.KeyMetadata.Arn); got != keyARN {
			return &Conflict{Message: fmt.Sprintf("alias %s already points to key %s, not %s (fix: point it at the pair's key, or give %s.kmsKeyArn = %s)", alias, got, keyARN, side, got)}
		}
		return nil
	case !awsclient.IsNotFound(err):
		return m.classify("kms:DescribeKey "+alias, err)
	}
	return st.change(m, alias, "create alias", "→ "+keyARN+" (so the provisioner may add the pair's key-policy statements)", func() error {
		return createAlias(ctx, m, side, alias, keyARN)
	})
}

// aliasTaken is createAlias's Conflict when the alias was created meanwhile for another
// key: the keys stage can still converge when that key is s3crr's for the same pair.
type aliasTaken struct {
	Conflict
	alias, ours, theirs string
}

// convergeOnWinner handles the loser of a create race between duplicate runs of one pair
// (at-least-once Lambda retries, a double start, two operators): when the key the alias
// names was created by s3crr for this pair and alias (the tags only CreateKey can set),
// the run adopts it and schedules deletion of the key it created itself, which nothing
// uses, instead of failing or leaving a billed key behind. Any other key is a Conflict.
func (st *stage) convergeOnWinner(ctx context.Context, m *member, race *aliasTaken) (string, error) {
	tags, err := keyTags(ctx, m, race.theirs)
	if err != nil {
		return "", err
	}
	if tags[names.ManagedByTagKey] != names.ManagedByTagValue || tags[names.PairIDTagKey] != st.req.PairID || tags[names.AliasTagKey] != race.alias {
		return "", &race.Conflict
	}
	_, err = m.kms.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(race.ours), PendingWindowInDays: aws.Int32(discardWindowDays)})
	if err != nil && !awsclient.IsNotFound(err) && awsclient.ErrorCode(err) != "KMSInvalidStateException" {
		return "", m.classify("kms:ScheduleKeyDeletion "+race.ours, err)
	}
	st.warn("alias %s was created meanwhile by a duplicate run of pair %s for key %s; this run uses that key and scheduled deletion of the key it created, %s (in %d days)", race.alias, st.req.PairID, race.theirs, race.ours, discardWindowDays)
	return race.theirs, nil
}

// discardWindowDays is the waiting period of a duplicate run's discarded key: KMS's
// minimum, since no object was ever encrypted with it (no alias ever named it).
const discardWindowDays = 7

// keyTags reads a key's tags into a map.
func keyTags(ctx context.Context, m *member, keyARN string) (map[string]string, error) {
	tags := map[string]string{}
	p := kms.NewListResourceTagsPaginator(m.kms, &kms.ListResourceTagsInput{KeyId: aws.String(keyARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, m.classify("kms:ListResourceTags "+keyARN, err)
		}
		for _, t := range page.Tags {
			tags[aws.ToString(t.TagKey)] = aws.ToString(t.TagValue)
		}
	}
	return tags, nil
}

// createAlias points a new alias at keyARN. The alias can turn out to exist already: made
// by this very call retried after a lost response (the SDK retries), which is success, or
// by someone else since the stage looked, which is an *aliasTaken Conflict rather than a
// failure that would hide which key the alias now names.
//
// A key pending deletion (KMSInvalidStateException) is the same race seen from the other
// side: this run adopted, by its s3crr:alias tag, a key a duplicate run had just created,
// and that run, having lost the alias to a third, scheduled its deletion. The alias then
// names the winner's key, which this run converges on like any loser.
func createAlias(ctx context.Context, m *member, side, alias, keyARN string) error {
	_, err := m.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(keyARN)})
	code := awsclient.ErrorCode(err)
	if code != "AlreadyExistsException" && code != "KMSInvalidStateException" {
		return m.classify("kms:CreateAlias "+alias, err)
	}
	out, derr := m.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
	switch {
	case derr != nil && code == "KMSInvalidStateException":
		return m.classify("kms:CreateAlias "+alias, err) // no alias: the key is simply not usable
	case derr != nil:
		return m.classify("kms:DescribeKey "+alias, derr)
	}
	if got := aws.ToString(out.KeyMetadata.Arn); got != keyARN {
		return &aliasTaken{
			Conflict: Conflict{Message: fmt.Sprintf("alias %s was created meanwhile for key %s, not %s, and that key is not s3crr's for this pair (fix: point the alias at the pair's key, or give %s.kmsKeyArn = %s)", alias, got, keyARN, side, got)},
			alias:    alias, ours: keyARN, theirs: got,
		}
	}
	return nil
}

// findKeyByAliasTag returns the ARN of an enabled key tagged with alias, or "".
func findKeyByAliasTag(ctx context.Context, m *member, alias string) (string, error) {
	p := kms.NewListKeysPaginator(m.kms, &kms.ListKeysInput{})
	var denied error
	readable := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", m.classify("kms:ListKeys", err)
		}
		for _, k := range page.Keys {
			tags, err := m.kms.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: k.KeyArn})
			if awsclient.IsNotFound(err) {
				continue // deleted since ListKeys
			}
			if awsclient.IsAccessDenied(err) {
				// A key whose policy neither delegates to IAM nor names the provisioner is
				// not one s3crr created (those keep the default, IAM-delegating policy), and
				// one locked-down key must not stop every new pair in the account. Only if
				// no key at all is readable is the provisioner's own permission missing.
				if denied == nil {
					denied = err
				}
				continue
			}
			readable++
			if err != nil {
				return "", m.classify("kms:ListResourceTags", err)
			}
			for _, t := range tags.Tags {
				if aws.ToString(t.TagKey) == names.AliasTagKey && aws.ToString(t.TagValue) == alias {
					meta, err := m.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyArn})
					if err != nil {
						return "", m.classify("kms:DescribeKey", err)
					}
					if meta.KeyMetadata.KeyState == kmstypes.KeyStateEnabled {
						return aws.ToString(k.KeyArn), nil
					}
				}
			}
		}
	}
	if readable == 0 && denied != nil {
		return "", m.classify("kms:ListResourceTags (denied on every key)", denied)
	}
	return "", nil
}

// keyCreatedByS3crr reports whether a key carries the tag s3crr puts on keys it creates.
func keyCreatedByS3crr(ctx context.Context, m *member, keyARN string) (bool, error) {
	tags, err := keyTags(ctx, m, keyARN)
	return tags[names.ManagedByTagKey] == names.ManagedByTagValue, err
}

// warnIfRotationOff reports, without changing it, a key of the owner's that does not
// rotate.
func (st *stage) warnIfRotationOff(ctx context.Context, m *member, keyARN string) error {
	out, err := m.kms.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(keyARN)})
	if err != nil {
		return m.classify("kms:GetKeyRotationStatus "+keyARN, err)
	}
	if !out.KeyRotationEnabled {
		st.warn("key %s does not rotate automatically; s3crr did not create it and leaves its rotation to its owner", keyARN)
	}
	return nil
}

func (st *stage) ensureRotation(ctx context.Context, m *member, keyARN string) error {
	out, err := m.kms.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(keyARN)})
	if err != nil {
		return m.classify("kms:GetKeyRotationStatus "+keyARN, err)
	}
	if out.KeyRotationEnabled {
		return nil
	}
	return st.change(m, keyARN, "enable key rotation", "yearly automatic rotation", func() error {
		_, err := m.kms.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(keyARN)})
		return m.classifyAliasAuthorized(ctx, "kms:EnableKeyRotation", keyARN, err)
	})
}

// keyPolicy merges the pair's statements into a side's key policy, keeping every foreign
// statement. On the destination the pair joins the shared grant of every pair encrypting
// with the key (destinationKeyPolicyOnce); on
// the source the role gets Decrypt only when the key policy does not delegate to IAM,
// since otherwise the role policy's grant already works (see policy.SourceKeyStatements).
func (st *stage) keyPolicy(ctx context.Context) error {
	side := st.side()
	p, err := st.params(ctx)
	if err != nil {
		return err
	}
	m, err := st.session(ctx, side)
	if err != nil {
		return err
	}
	keyARN := p.SourceKeyARN
	if side == SideDestination {
		keyARN = p.DestinationKeyARN
	}
	// Other pairs merge into the same key policy (a shared destination key): under the
	// key policy's lease, with a read-back.
	if side == SideDestination {
		me := st.sharedPart(p)
		return st.withLease(ctx, sharedDocument{key: lease.KeyPolicy(keyARN),
			merge: func(bool) error { return st.destinationKeyPolicyOnce(ctx, m, keyARN, p) },
			missing: func() ([]string, error) {
				doc, err := readKeyPolicy(ctx, m, keyARN)
				if err != nil {
					return nil, err
				}
				return shareMissing(doc, []string{policy.SidReplicaEncryptShared}, me), nil
			}})
	}
	var ours []policy.Statement
	return st.withLease(ctx, sharedDocument{key: lease.KeyPolicy(keyARN),
		merge: func(bool) (err error) {
			ours, err = st.mergeKeyPolicyOnce(ctx, m, side, keyARN, p)
			return err
		},
		missing: func() ([]string, error) { return keyPolicyMissing(ctx, m, keyARN, ours) }})
}

// mergeKeyPolicyOnce reads a side's key policy, merges the pair's statements in and puts
// it when something was missing. ours is what the pair needs in it (none on a source key
// that delegates to IAM).
func (st *stage) mergeKeyPolicyOnce(ctx context.Context, m *member, side, keyARN string, p policy.ReplicationParams) (ours []policy.Statement, err error) {
	existing, err := st.currentKeyPolicy(ctx, m, side, keyARN)
	if err != nil {
		return nil, err
	}
	switch {
	case policy.SourceKeyNeedsGrant(existing, p):
		ours = policy.SourceKeyStatements(p)
	default:
		st.res.Outputs["note"] = "the source key policy delegates to IAM; the replication role's policy grants kms:Decrypt"
		return nil, nil
	}
	merged, changed := policy.Merge(existing, ours)
	if !changed {
		return ours, nil
	}
	return ours, st.change(m, keyARN, "merge key policy", fmt.Sprintf("grant %s to %s (other statements kept)", ours[0].Action, p.RoleARN), func() error {
		_, err := m.kms.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(keyARN), PolicyName: aws.String("default"), Policy: aws.String(string(merged.JSON()))})
		return m.classifyAliasAuthorized(ctx, "kms:PutKeyPolicy", keyARN, err)
	})
}

// currentKeyPolicy reads a side's key policy; planning, a key the key stage has not
// created yet has the policy CreateKey gives a new key.
func (st *stage) currentKeyPolicy(ctx context.Context, m *member, side, keyARN string) (policy.Document, error) {
	if keyARN == plannedKeyARN(st.endpoint(side)) {
		return policy.DefaultKeyPolicy(m.account), nil
	}
	return readKeyPolicy(ctx, m, keyARN)
}

// readKeyPolicy reads and parses a key's policy.
func readKeyPolicy(ctx context.Context, m *member, keyARN string) (policy.Document, error) {
	out, err := m.kms.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(keyARN), PolicyName: aws.String("default")})
	if err != nil {
		return policy.Document{}, m.classify("kms:GetKeyPolicy "+keyARN, err)
	}
	doc, err := policy.ParseDocument([]byte(aws.ToString(out.Policy)))
	if err != nil {
		return policy.Document{}, fmt.Errorf("parse the key policy of %s: %w", keyARN, err)
	}
	return doc, nil
}

// destinationKeyPolicyOnce adds the pair to the destination key policy's shared grant
// (policy.SharedReplicaEncryptStatement: S3 in the key's region, the pairs' encryption
// contexts), folding in and removing the per-pair statements earlier versions wrote. A
// policy that would pass KMS's 32 KB limit is refused before the write, naming the fix.
func (st *stage) destinationKeyPolicyOnce(ctx context.Context, m *member, keyARN string, p policy.ReplicationParams) error {
	existing, err := st.currentKeyPolicy(ctx, m, SideDestination, keyARN)
	if err != nil {
		return err
	}
	region := p.DestinationRegion
	merged, folded := st.withShared(existing, st.sharedPart(p), policy.PurposeReplicaEncrypt,
		[]string{policy.SidReplicaEncryptShared}, func(_ string, s policy.Share) policy.Statement {
			return policy.SharedReplicaEncryptStatement(region, s)
		})
	if policy.Equivalent(existing, merged) {
		return nil
	}
	if err := checkPolicySize(merged, policy.MaxKeyPolicyBytes, "the key policy of "+keyARN); err != nil {
		return err
	}
	detail := fmt.Sprintf("%s admits %s's replication roles for %s (other statements kept)", policy.SidReplicaEncryptShared, p.SourceAccount, policy.ObjectsARN(p.DestinationBucket, p.Prefix))
	if len(folded) > 0 {
		detail += fmt.Sprintf("; per-pair statements %v folded into it", folded)
	}
	return st.change(m, keyARN, "merge key policy", detail, func() error {
		_, err := m.kms.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(keyARN), PolicyName: aws.String("default"), Policy: aws.String(string(merged.JSON()))})
		return m.classifyAliasAuthorized(ctx, "kms:PutKeyPolicy", keyARN, err)
	})
}
