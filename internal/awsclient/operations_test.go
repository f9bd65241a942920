package awsclient

import "testing"

// TestIsMutating is the table of operations both the provision stages' fakes and the
// member-account simulator count writes with: every operation either of them serves, and
// the read-like exceptions.
func TestIsMutating(t *testing.T) {
	tests := []struct {
		service, op string
		want        bool
	}{
		// S3: the stages' calls, and what the replication checks and the demo call.
		{"s3", "CreateBucket", true},
		{"s3", "HeadBucket", false},
		{"s3", "HeadObject", false},
		{"s3", "GetObject", false},
		{"s3", "PutObject", true},
		{"s3", "DeleteObject", true},
		{"s3", "CopyObject", true},
		{"s3", "ListObjectsV2", false},
		{"s3", "SelectObjectContent", false},
		{"s3", "GetBucketReplication", false},
		{"s3", "PutBucketReplication", true},
		{"s3", "DeleteBucketReplication", true},
		{"s3", "GetBucketPolicy", false},
		{"s3", "PutBucketPolicy", true},
		{"s3", "GetBucketVersioning", false},
		{"s3", "PutBucketVersioning", true},
		{"s3", "GetBucketEncryption", false},
		{"s3", "PutBucketEncryption", true},
		{"s3", "GetBucketTagging", false},
		{"s3", "PutBucketTagging", true},
		{"s3", "GetBucketNotificationConfiguration", false},
		{"s3", "PutBucketNotificationConfiguration", true},
		{"s3", "GetBucketOwnershipControls", false},
		{"s3", "GetBucketLifecycleConfiguration", false},
		{"s3", "PutBucketLifecycleConfiguration", true},
		{"s3", "DeleteBucketLifecycle", true},
		{"s3", "PutBucketOwnershipControls", true},
		{"s3", "GetPublicAccessBlock", false},
		{"s3", "PutPublicAccessBlock", true},
		{"s3", "GetObjectLockConfiguration", false},
		// S3 Control: the Batch Replication job API.
		{"s3control", "CreateJob", true},
		{"s3control", "UpdateJobStatus", true},
		{"s3control", "DescribeJob", false},
		{"s3control", "ListJobs", false},
		// KMS: configuration changes mutate; using a key does not.
		{"kms", "CreateKey", true},
		{"kms", "DescribeKey", false},
		{"kms", "ListKeys", false},
		{"kms", "ListAliases", false},
		{"kms", "ListResourceTags", false},
		{"kms", "GetKeyPolicy", false},
		{"kms", "PutKeyPolicy", true},
		{"kms", "GetKeyRotationStatus", false},
		{"kms", "EnableKeyRotation", true},
		{"kms", "DisableKeyRotation", true},
		{"kms", "CreateAlias", true},
		{"kms", "UpdateAlias", true},
		{"kms", "DeleteAlias", true},
		{"kms", "TagResource", true},
		{"kms", "UntagResource", true},
		{"kms", "EnableKey", true},
		{"kms", "DisableKey", true},
		{"kms", "ScheduleKeyDeletion", true},
		{"kms", "CancelKeyDeletion", true},
		{"kms", "UpdateKeyDescription", true},
		{"kms", "Encrypt", false},
		{"kms", "Decrypt", false},
		{"kms", "ReEncrypt", false},
		{"kms", "GenerateDataKey", false},
		{"kms", "GenerateDataKeyWithoutPlaintext", false},
		{"kms", "GenerateRandom", false},
		{"kms", "Sign", false},
		{"kms", "Verify", false},
		// IAM
		{"iam", "CreateRole", true},
		{"iam", "GetRole", false},
		{"iam", "ListRoles", false},
		{"iam", "ListRoleTags", false},
		{"iam", "UpdateRole", true},
		{"iam", "DeleteRole", true},
		{"iam", "TagRole", true},
		{"iam", "UntagRole", true},
		{"iam", "UpdateAssumeRolePolicy", true},
		{"iam", "GetRolePolicy", false},
		{"iam", "PutRolePolicy", true},
		{"iam", "DeleteRolePolicy", true},
		{"iam", "ListRolePolicies", false},
		{"iam", "AttachRolePolicy", true},
		{"iam", "DetachRolePolicy", true},
		{"iam", "ListAttachedRolePolicies", false},
		{"iam", "PutRolePermissionsBoundary", true},
		{"iam", "DeleteRolePermissionsBoundary", true},
		{"iam", "CreatePolicy", true},
		{"iam", "DeletePolicy", true},
		{"iam", "GetPolicy", false},
		{"iam", "GetPolicyVersion", false},
		{"iam", "ListPolicies", false},
		{"iam", "SimulatePrincipalPolicy", false},
		// STS stores nothing.
		{"sts", "AssumeRole", false},
		{"sts", "GetCallerIdentity", false},
		{"sts", "DecodeAuthorizationMessage", false},
		// CloudWatch
		{"cloudwatch", "PutMetricAlarm", true},
		{"cloudwatch", "DescribeAlarms", false},
		{"cloudwatch", "DeleteAlarms", true},
		// An exception of one service is not one of another: Sign in another service, or an
		// operation nobody listed, counts as a write.
		{"s3", "Encrypt", true},
		{"iam", "Sign", true},
		{"somenewservice", "FrobnicateWidget", true},
	}
	for _, tt := range tests {
		if got := IsMutating(tt.service, tt.op); got != tt.want {
			t.Errorf("IsMutating(%q, %q) = %v, want %v", tt.service, tt.op, got, tt.want)
		}
	}
}
