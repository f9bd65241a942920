package provision

// The read-backs of the shared documents (see withLease): each reads the document as it
// is now and lists what of the pair's entries it lacks, in words for DocumentChanged.

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

func bucketPolicyMissing(ctx context.Context, m *member, bucket string, ours []policy.Statement) ([]string, error) {
	doc := policy.Document{Version: policy.Version}
	out, err := m.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	switch {
	case err == nil:
		if doc, err = policy.ParseDocument([]byte(aws.ToString(out.Policy))); err != nil {
			return nil, fmt.Errorf("parse the bucket policy of %s read back: %w", bucket, err)
		}
	case !awsclient.IsNotFound(err):
		return nil, m.classify("s3:GetBucketPolicy "+bucket, err)
	}
	return missingStatements(doc, ours), nil
}

func keyPolicyMissing(ctx context.Context, m *member, keyARN string, ours []policy.Statement) ([]string, error) {
	out, err := m.kms.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(keyARN), PolicyName: aws.String("default")})
	if err != nil {
		return nil, m.classify("kms:GetKeyPolicy "+keyARN, err)
	}
	doc, err := policy.ParseDocument([]byte(aws.ToString(out.Policy)))
	if err != nil {
		return nil, fmt.Errorf("parse the key policy of %s read back: %w", keyARN, err)
	}
	return missingStatements(doc, ours), nil
}

func rolePolicyMissing(ctx context.Context, m *member, role string, want policy.Document) ([]string, error) {
	out, err := m.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(names.ReplicationPolicyName)})
	if awsclient.IsNotFound(err) {
		return []string{"policy " + names.ReplicationPolicyName}, nil
	}
	if err != nil {
		return nil, m.classify("iam:GetRolePolicy "+role, err)
	}
	doc, err := decodePolicyDocument(aws.ToString(out.PolicyDocument))
	if err != nil {
		return nil, fmt.Errorf("parse policy %s of role %s read back: %w", names.ReplicationPolicyName, role, err)
	}
	return missingStatements(doc, want.Statement), nil
}

func bucketTagsMissing(ctx context.Context, m *member, bucket string, want map[string]string) ([]string, error) {
	have := map[string]string{}
	out, err := m.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	switch {
	case err == nil:
		for _, t := range out.TagSet {
			have[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	case !awsclient.IsNotFound(err):
		return nil, m.classify("s3:GetBucketTagging "+bucket, err)
	}
	var missing []string
	for k, v := range want {
		if have[k] != v {
			missing = append(missing, "tag "+k+"="+v)
		}
	}
	return missing, nil
}

func replicationMissing(ctx context.Context, m *member, bucket, roleARN string, ours s3types.ReplicationRule) ([]string, error) {
	cfg, err := getReplication(ctx, m, bucket)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return []string{"rule " + aws.ToString(ours.ID) + " (no replication configuration)"}, nil
	}
	var missing []string
	found := false
	for _, r := range cfg.Rules {
		if aws.ToString(r.ID) == aws.ToString(ours.ID) && rulesEqual(r, ours) {
			found = true
		}
	}
	if !found {
		missing = append(missing, "rule "+aws.ToString(ours.ID))
	}
	if aws.ToString(cfg.Role) != roleARN {
		missing = append(missing, "role "+roleARN)
	}
	return missing, nil
}

func notificationMissing(ctx context.Context, m *member, bucket, queueARN string) ([]string, error) {
	out, err := m.s3.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(bucket)})
	if err != nil && !awsclient.IsNotFound(err) {
		return nil, m.classify("s3:GetBucketNotification "+bucket, err)
	}
	if out != nil {
		for _, q := range out.QueueConfigurations {
			if aws.ToString(q.Id) == names.EventsConfigurationID && aws.ToString(q.QueueArn) == queueARN && sameEvents(q.Events, ReplicationEvents) {
				return nil, nil
			}
		}
	}
	return []string{"queue configuration " + names.EventsConfigurationID + " → " + queueARN}, nil
}
