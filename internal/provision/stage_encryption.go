package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/policy"
)

// bucketPolicy merges the replica-write grant for the replication role into the
// destination bucket's policy (the TLS-only statement is the bucket stage's).
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
	return st.mergeBucketPolicy(ctx, m, st.req.Destination.Bucket, false, policy.DestinationBucketStatements(p))
}

// encryption sets a side's default encryption to SSE-KMS with the pair's key and S3 Bucket
// Keys as requested. A bucket default-encrypted with another KMS key is a Conflict: its
// objects would be encrypted with a key the replication role may not use. So is dual-layer
// SSE-KMS, which s3crr would otherwise silently downgrade.
func (st *stage) encryption(ctx context.Context) error {
	side := st.res.Side
	if side == "" {
		side = SideSource
	}
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

	out, err := m.s3.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(ep.Bucket)})
	switch {
	case err == nil && out.ServerSideEncryptionConfiguration != nil && len(out.ServerSideEncryptionConfiguration.Rules) > 0:
		rule := out.ServerSideEncryptionConfiguration.Rules[0]
		def := rule.ApplyServerSideEncryptionByDefault
		if def != nil && def.SSEAlgorithm == s3types.ServerSideEncryptionAwsKmsDsse {
			// Dual-layer encryption is the owner's deliberate choice (often a compliance
			// requirement); replacing it with single-layer SSE-KMS would weaken it.
			return &Conflict{Message: fmt.Sprintf("bucket %s is default-encrypted with dual-layer SSE-KMS (aws:kms:dsse, key %q); s3crr sets single-layer SSE-KMS and will not weaken it (fix: change the bucket's default encryption to SSE-KMS yourself if that is acceptable, or use another bucket)", ep.Bucket, aws.ToString(def.KMSMasterKeyID))}
		}
		if def != nil && def.SSEAlgorithm == s3types.ServerSideEncryptionAwsKms && aws.ToString(def.KMSMasterKeyID) != "" {
			current, err := st.resolveKeyARN(ctx, m, aws.ToString(def.KMSMasterKeyID))
			if err != nil {
				return err
			}
			if current != keyARN {
				field := side + ".kmsKeyArn"
				return &Conflict{Message: fmt.Sprintf("bucket %s is default-encrypted with KMS key %s, not the pair's key %s; s3crr will not change it (fix: set %s to %s so the pair uses that key)", ep.Bucket, current, keyARN, field, current)}
			}
			if aws.ToBool(rule.BucketKeyEnabled) == bucketKey {
				return nil
			}
		}
	case err != nil && !isNotFound(err):
		return m.classify("s3:GetEncryptionConfiguration "+ep.Bucket, err)
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

// resolveKeyARN turns a key ID, alias or ARN into the key's ARN.
func (st *stage) resolveKeyARN(ctx context.Context, m *member, id string) (string, error) {
	out, err := m.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	if err != nil {
		return "", m.classify("kms:DescribeKey "+id, err)
	}
	return aws.ToString(out.KeyMetadata.Arn), nil
}
