package provision

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/lease"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// bucket ensures a side's bucket: exists in the right region, versioned, Block Public
// Access and BucketOwnerEnforced (set when absent, never overwritten), tagged for the pair,
// with the pair's canary lifecycle rule (merged into its lifecycle configuration), and
// carrying the TLS-only deny statement (merged into its policy).
func (st *stage) bucket(ctx context.Context) error {
	side := st.side()
	m, err := st.session(ctx, side)
	if err != nil {
		return err
	}
	ep := st.endpoint(side)
	name := ep.Bucket
	arn := "arn:aws:s3:::" + name
	st.res.Outputs["bucketArn"] = arn

	info, err := inspectBucket(ctx, m, name, ep.Region)
	if err != nil {
		return err
	}
	created := false
	if !info.exists {
		lock := false
		if side == SideDestination {
			// A destination for an Object Lock source must have Object Lock, and that can
			// only be chosen when the bucket is created.
			src, err := st.session(ctx, SideSource)
			if err != nil {
				return err
			}
			if lock, err = objectLockEnabled(ctx, src, st.req.Source.Bucket); err != nil {
				return err
			}
		}
		in := &s3.CreateBucketInput{
			Bucket:          aws.String(name),
			ObjectOwnership: s3types.ObjectOwnershipBucketOwnerEnforced,
		}
		if ep.Region != "us-east-1" {
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(ep.Region)}
		}
		if lock {
			in.ObjectLockEnabledForBucket = aws.Bool(true)
		}
		detail := "versioned, SSE-KMS, private"
		if lock {
			detail += ", Object Lock"
		}
		// CreateBucket is authorized for every action its headers need, so a denial names
		// them all (docs/aws-facts.md#F-CREATEBUCKET-OBJECT-LOCK).
		actions := "s3:CreateBucket, s3:PutBucketOwnershipControls"
		if lock {
			actions += ", s3:PutBucketObjectLockConfiguration, s3:PutBucketVersioning"
		}
		alreadyOwned := false
		err := st.change(m, arn, "create", detail, func() error {
			_, err := m.s3.CreateBucket(ctx, in)
			if awsclient.ErrorCode(err) == "BucketAlreadyOwnedByYou" {
				alreadyOwned = true
				return nil
			}
			return m.classify(actions+" (CreateBucket) "+name, err)
		})
		if err != nil {
			return err
		}
		// BucketAlreadyOwnedByYou is most likely this create retried after a lost response,
		// but the account may also have created the bucket since HeadBucket: either way its
		// settings, tags and policy are read and merged rather than overwritten as a new
		// bucket's would be.
		created = !alreadyOwned
	} else if info.region != ep.Region {
		return &PreflightFailed{Message: fmt.Sprintf("%s.bucket: %q is in %s, not %s (fix: set %s.region)", side, name, info.region, ep.Region, side)}
	}

	if err := st.ensureVersioning(ctx, m, name, created); err != nil {
		return err
	}
	if err := st.ensurePublicAccessBlock(ctx, m, name, created); err != nil {
		return err
	}
	if err := st.ensureOwnership(ctx, m, name, created); err != nil {
		return err
	}
	if err := st.ensureBucketTags(ctx, m, name, side, created); err != nil {
		return err
	}
	if err := st.ensureCanaryLifecycle(ctx, m, name, created); err != nil {
		return err
	}
	return st.mergeBucketPolicy(ctx, m, name, created, []policy.Statement{policy.DenyInsecureTransport(name)})
}

func (st *stage) ensureVersioning(ctx context.Context, m *member, name string, created bool) error {
	// A bucket this run created (or, planning, would create) has no settings to read yet.
	if !created {
		out, err := m.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(name)})
		if err != nil {
			return m.classify("s3:GetBucketVersioning "+name, err)
		}
		if out.Status == s3types.BucketVersioningStatusEnabled {
			return nil
		}
	}
	return st.change(m, "arn:aws:s3:::"+name, "enable versioning", "replication needs versioning on both buckets", func() error {
		_, err := m.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
			Bucket:                  aws.String(name),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
		})
		return m.classify("s3:PutBucketVersioning "+name, err)
	})
}

// ensurePublicAccessBlock blocks all public access on a bucket that has no Block Public
// Access configuration; an existing configuration is the owner's choice and only warned on.
// S3 creates new buckets with all four settings on, so a bucket this run creates needs no
// call (and, planning, none is listed); it is still read back after a real creation, in
// case an account or a partition behaves differently.
func (st *stage) ensurePublicAccessBlock(ctx context.Context, m *member, name string, created bool) error {
	if created && st.plan {
		return nil
	}
	out, err := m.s3.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(name)})
	switch {
	case err == nil:
		c := out.PublicAccessBlockConfiguration
		if c == nil || !aws.ToBool(c.BlockPublicAcls) || !aws.ToBool(c.IgnorePublicAcls) || !aws.ToBool(c.BlockPublicPolicy) || !aws.ToBool(c.RestrictPublicBuckets) {
			st.warn("bucket %s does not block all public access; s3crr leaves an existing Block Public Access configuration as it is", name)
		}
		return nil
	case !awsclient.IsNotFound(err):
		return m.classify("s3:GetBucketPublicAccessBlock "+name, err)
	}
	return st.change(m, "arn:aws:s3:::"+name, "block public access", "all four Block Public Access settings on", func() error {
		_, err := m.s3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{
			Bucket: aws.String(name),
			PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
				BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true),
				BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
			},
		})
		return m.classify("s3:PutBucketPublicAccessBlock "+name, err)
	})
}

// ensureOwnership sets BucketOwnerEnforced (ACLs off) where no ownership controls exist.
// Buckets s3crr creates get it in CreateBucket.
func (st *stage) ensureOwnership(ctx context.Context, m *member, name string, created bool) error {
	if created {
		return nil
	}
	out, err := m.s3.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String(name)})
	switch {
	case err == nil:
		if out.OwnershipControls == nil || len(out.OwnershipControls.Rules) == 0 || out.OwnershipControls.Rules[0].ObjectOwnership != s3types.ObjectOwnershipBucketOwnerEnforced {
			st.warn("bucket %s does not use BucketOwnerEnforced object ownership; s3crr leaves existing ownership controls as they are", name)
		}
		return nil
	case !awsclient.IsNotFound(err):
		return m.classify("s3:GetBucketOwnershipControls "+name, err)
	}
	return st.change(m, "arn:aws:s3:::"+name, "enforce bucket owner", "ObjectOwnership BucketOwnerEnforced (ACLs disabled)", func() error {
		_, err := m.s3.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{
			Bucket:            aws.String(name),
			OwnershipControls: &s3types.OwnershipControls{Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipBucketOwnerEnforced}}},
		})
		return m.classify("s3:PutBucketOwnershipControls "+name, err)
	})
}

// ensureBucketTags keeps a constant number of s3crr tags on a bucket, however many pairs
// use it: a bucket this run creates gets ManagedBy and the creating pair's ID (what
// teardown's --delete-buckets checks); which pairs use a bucket is the pairs registry's
// business, not a tag's, since S3 allows 50 tags per bucket
// (docs/aws-facts.md#F-POLICY-SIZE-LIMITS). The per-pair tags earlier versions added
// ("s3crr:pair:<id>") are s3crr's own and are removed; a bucket they marked as s3crr's
// gets the creator tag of this pair, which uses it. Every other tag is kept
// (PutBucketTagging replaces the whole set), under the tag set's lease and with a
// read-back.
func (st *stage) ensureBucketTags(ctx context.Context, m *member, name, side string, created bool) error {
	var want map[string]string
	return st.withLease(ctx, sharedDocument{key: lease.S3Document(name, "tagging"),
		merge: func(reread bool) (err error) {
			want, err = st.ensureBucketTagsOnce(ctx, m, name, side, created && !reread)
			return err
		},
		missing: func() ([]string, error) { return bucketTagsMissing(ctx, m, name, want) }})
}

// ensureBucketTagsOnce reads the tag set, drops the legacy per-pair tags, adds the
// creation tags where they belong and puts the set when it changed. want is what the
// read-back must find.
func (st *stage) ensureBucketTagsOnce(ctx context.Context, m *member, name, side string, created bool) (want map[string]string, err error) {
	tags := map[string]string{}
	if !created {
		out, err := m.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(name)})
		switch {
		case err == nil:
			for _, t := range out.TagSet {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		case awsclient.IsNotFound(err):
		default:
			return nil, m.classify("s3:GetBucketTagging "+name, err)
		}
	}
	changed := false
	var dropped []string
	for k := range tags {
		if names.IsLegacyPairTagKey(k) {
			dropped = append(dropped, k)
			delete(tags, k)
			changed = true
		}
	}
	want = map[string]string{}
	if created || (len(dropped) > 0 && tags[names.ManagedByTagKey] == names.ManagedByTagValue && tags[names.PairIDTagKey] == "") {
		want = map[string]string{names.ManagedByTagKey: names.ManagedByTagValue, names.PairIDTagKey: st.req.PairID}
		for k, v := range want {
			if tags[k] != v {
				tags[k] = v
				changed = true
			}
		}
	}
	if !changed {
		return want, nil
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
	detail := names.ManagedByTagKey + ", " + names.PairIDTagKey + "=" + st.req.PairID + " (other tags kept)"
	if !created {
		sort.Strings(dropped)
		detail = fmt.Sprintf("per-pair tags %v removed; the pairs registry records who uses the %s bucket (other tags kept)", dropped, side)
	}
	return want, st.change(m, "arn:aws:s3:::"+name, "tag", detail, func() error {
		_, err := m.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(name), Tagging: &s3types.Tagging{TagSet: set}})
		return m.classify("s3:PutBucketTagging "+name, err)
	})
}

// mergeBucketPolicy merges statements into a bucket's policy by Sid, keeping every
// foreign statement, under the policy's lease and with a read-back (other pairs write the
// same policy).
func (st *stage) mergeBucketPolicy(ctx context.Context, m *member, name string, created bool, ours []policy.Statement) error {
	return st.withLease(ctx, sharedDocument{key: lease.S3Document(name, "policy"),
		merge:   func(reread bool) error { return st.mergeBucketPolicyOnce(ctx, m, name, created && !reread, ours) },
		missing: func() ([]string, error) { return bucketPolicyMissing(ctx, m, name, ours) }})
}

func (st *stage) mergeBucketPolicyOnce(ctx context.Context, m *member, name string, created bool, ours []policy.Statement) error {
	existing := policy.Document{Version: policy.Version}
	if !created {
		out, err := m.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(name)})
		switch {
		case err == nil:
			doc, perr := policy.ParseDocument([]byte(aws.ToString(out.Policy)))
			if perr != nil {
				return fmt.Errorf("parse the bucket policy of %s: %w", name, perr)
			}
			existing = doc
		case awsclient.IsNotFound(err):
		default:
			return m.classify("s3:GetBucketPolicy "+name, err)
		}
	}
	merged, changed := policy.Merge(existing, ours)
	if !changed {
		return nil
	}
	sids := make([]string, 0, len(ours))
	for _, s := range ours {
		sids = append(sids, s.Sid)
	}
	return st.change(m, "arn:aws:s3:::"+name, "merge bucket policy", fmt.Sprintf("statements %v (other statements kept)", sids), func() error {
		_, err := m.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String(string(merged.JSON()))})
		return m.classify("s3:PutBucketPolicy "+name, err)
	})
}

// readBucketPolicy reads and parses a bucket's policy; a bucket without one gives an
// empty document.
func readBucketPolicy(ctx context.Context, m *member, name string) (policy.Document, error) {
	out, err := m.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(name)})
	switch {
	case err == nil:
		doc, perr := policy.ParseDocument([]byte(aws.ToString(out.Policy)))
		if perr != nil {
			return policy.Document{}, fmt.Errorf("parse the bucket policy of %s: %w", name, perr)
		}
		return doc, nil
	case awsclient.IsNotFound(err):
		return policy.Document{Version: policy.Version}, nil
	}
	return policy.Document{}, m.classify("s3:GetBucketPolicy "+name, err)
}
