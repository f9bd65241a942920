package provision

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/lease"
	"github.com/s3crr/s3crr/internal/policy"
)

// bucketPolicy adds the pair to the destination bucket policy's shared replica-write
// grant (and, when its rule changes the owner, to the shared owner-override grant),
// folding in and removing the per-pair statements earlier versions wrote; the TLS-only
// statement is the bucket stage's. A policy that would pass S3's 20 KB limit is refused
// before the write, naming the fix.
func (st *stage) bucketPolicy(ctx context.Context) error {
	if st.res.Side != "" && st.res.Side != SideDestination {
		return &InvalidSpec{Message: fmt.Sprintf("event.side %q: the bucketPolicy stage runs for the destination only", st.res.Side)}
	}
	p, err := st.params(ctx)
	if err != nil {
		return err
	}
	m, err := st.session(ctx, SideDestination)
	if err != nil {
		return err
	}
	name := st.req.Destination.Bucket
	me := st.sharedPart(p)
	sids := []string{policy.SidReplicaWriteShared, policy.SidOwnerOverrideShared}
	// Every pair into the bucket merges into this policy: under its lease, with a read-back.
	return st.withLease(ctx, sharedDocument{key: lease.S3Document(name, "policy"),
		merge: func(bool) error { return st.destinationBucketPolicyOnce(ctx, m, name, p) },
		missing: func() ([]string, error) {
			doc, err := readBucketPolicy(ctx, m, name)
			if err != nil {
				return nil, err
			}
			return shareMissing(doc, sids, me), nil
		}})
}

// destinationBucketPolicyOnce reads the destination bucket policy, adds the pair to the
// shared grants and puts it when that changed it.
func (st *stage) destinationBucketPolicyOnce(ctx context.Context, m *member, name string, p policy.ReplicationParams) error {
	existing, err := readBucketPolicy(ctx, m, name)
	if err != nil {
		return err
	}
	merged, folded := st.withShared(existing, st.sharedPart(p), policy.PurposeReplicaWrite,
		[]string{policy.SidReplicaWriteShared, policy.SidOwnerOverrideShared}, sharedBucketStatement)
	if policy.Equivalent(existing, merged) {
		return nil
	}
	if err := checkPolicySize(merged, policy.MaxBucketPolicyBytes, "the bucket policy of "+name); err != nil {
		return err
	}
	detail := fmt.Sprintf("%s admits %s's replication roles on %s (other statements kept)", policy.SidReplicaWriteShared, p.SourceAccount, policy.ObjectsARN(name, p.Prefix))
	if len(folded) > 0 {
		detail += fmt.Sprintf("; per-pair statements %v folded into it", folded)
	}
	return st.change(m, "arn:aws:s3:::"+name, "merge bucket policy", detail, func() error {
		_, err := m.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String(string(merged.JSON()))})
		return m.classify("s3:PutBucketPolicy "+name, err)
	})
}

// sharedBucketStatement builds a destination bucket policy's shared grant by Sid.
func sharedBucketStatement(sid string, s policy.Share) policy.Statement {
	return policy.SharedReplicaWriteStatement(s, sid == policy.SidOwnerOverrideShared)
}

// encryption sets a side's default encryption to SSE-KMS with the pair's key and S3 Bucket
// Keys as requested, unless defaultEncryption finds a configuration it must not replace.
func (st *stage) encryption(ctx context.Context) error {
	side := st.side()
	m, err := st.session(ctx, side)
	if err != nil {
		return err
	}
	keyARN, err := st.keyARN(ctx, side)
	if err != nil {
		return err
	}
	ep := st.endpoint(side)
	bucketKey := st.req.BucketKeyEnabled()

	rule, err := st.defaultEncryption(ctx, m, side, keyARN)
	if err != nil {
		return err
	}
	if rule != nil {
		// With no conflict, an SSE-KMS rule naming a key names the pair's key.
		def := rule.ApplyServerSideEncryptionByDefault
		if def != nil && def.SSEAlgorithm == s3types.ServerSideEncryptionAwsKms && aws.ToString(def.KMSMasterKeyID) != "" &&
			aws.ToBool(rule.BucketKeyEnabled) == bucketKey {
			return nil
		}
	}
	detail := fmt.Sprintf("SSE-KMS with %s, Bucket Keys %v", keyARN, bucketKey)
	return st.change(m, "arn:aws:s3:::"+ep.Bucket, "set default encryption", detail, func() error {
		_, err := m.s3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
			Bucket: aws.String(ep.Bucket),
			ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
				ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(keyARN)},
				BucketKeyEnabled:                   aws.Bool(bucketKey),
			}}},
		})
		return m.classify("s3:PutEncryptionConfiguration "+ep.Bucket, err)
	})
}

// defaultEncryption reads a side's default encryption rule (nil when the bucket has none,
// or does not exist yet) and refuses, with a Conflict, one s3crr must not replace:
// SSE-KMS with a customer key other than keyARN (the owner's objects would be encrypted
// with a key the replication role may not use, and s3crr would be switching the owner's
// key), or dual-layer SSE-KMS (the owner's deliberate choice, which single-layer SSE-KMS
// would weaken). SSE-S3 and the AWS managed aws/s3 key are replaced. Preflight runs it as
// well, so such a bucket stops the run before anything has changed.
func (st *stage) defaultEncryption(ctx context.Context, m *member, side, keyARN string) (*s3types.ServerSideEncryptionRule, error) {
	ep := st.endpoint(side)
	out, err := m.s3.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(ep.Bucket)})
	switch {
	case awsclient.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, m.classify("s3:GetEncryptionConfiguration "+ep.Bucket, err)
	case out.ServerSideEncryptionConfiguration == nil || len(out.ServerSideEncryptionConfiguration.Rules) == 0:
		return nil, nil
	}
	rule := out.ServerSideEncryptionConfiguration.Rules[0]
	def := rule.ApplyServerSideEncryptionByDefault
	switch {
	case def == nil:
	case def.SSEAlgorithm == s3types.ServerSideEncryptionAwsKmsDsse:
		return nil, &Conflict{Message: fmt.Sprintf("bucket %s is default-encrypted with dual-layer SSE-KMS (aws:kms:dsse, key %q); s3crr sets single-layer SSE-KMS and will not weaken it (fix: change the bucket's default encryption to SSE-KMS yourself if that is acceptable, or use another bucket)",
			ep.Bucket, aws.ToString(def.KMSMasterKeyID))}
	case def.SSEAlgorithm == s3types.ServerSideEncryptionAwsKms && aws.ToString(def.KMSMasterKeyID) != "":
		current, err := st.resolveKeyARN(ctx, m, aws.ToString(def.KMSMasterKeyID))
		if err != nil {
			return nil, err
		}
		if current != keyARN {
			fix := fmt.Sprintf("set %s.kmsKeyArn to %s so the pair uses that key", side, current)
			if !strings.HasPrefix(current, fmt.Sprintf("arn:aws:kms:%s:%s:key/", ep.Region, ep.Account)) {
				fix = "the key is not in the bucket's account and region, so the pair cannot use it: change the bucket's default encryption, or use another bucket"
			}
			return nil, &Conflict{Message: fmt.Sprintf("bucket %s is default-encrypted with KMS key %s, not the pair's key %s; s3crr will not change it (fix: %s)", ep.Bucket, current, keyARN, fix)}
		}
	}
	return &rule, nil
}

// resolveKeyARN turns a key ID, alias or alias ARN into the key's ARN; a key ARN is
// already one (and may be another account's key, which DescribeKey could not see).
func (st *stage) resolveKeyARN(ctx context.Context, m *member, id string) (string, error) {
	if strings.HasPrefix(id, "arn:") && strings.Contains(id, ":key/") {
		return id, nil
	}
	out, err := m.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	if err != nil {
		return "", m.classify("kms:DescribeKey "+id, err)
	}
	return aws.ToString(out.KeyMetadata.Arn), nil
}
