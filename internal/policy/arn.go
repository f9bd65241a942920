package policy

import (
	"strings"

	"github.com/s3crr/s3crr/internal/names"
)

// Service principals s3crr names in trust policies.
const (
	// S3Service is the principal S3 replication assumes the role as.
	S3Service = "s3.amazonaws.com"
	// BatchOperationsService is the principal S3 Batch Replication uses.
	BatchOperationsService = "batchoperations.s3.amazonaws.com"
)

// ViaS3 returns the kms:ViaService value for S3 in a region, e.g.
// "s3.ap-south-1.amazonaws.com".
func ViaS3(region string) string { return "s3." + region + ".amazonaws.com" }

// viaS3AnyRegion matches ViaS3 for every region, for StringLike.
const viaS3AnyRegion = "s3.*.amazonaws.com"

// BucketARN returns the bucket's ARN. S3 ARNs carry no account or region.
func BucketARN(bucket string) string { return "arn:" + names.Partition + ":s3:::" + bucket }

// ObjectsARN returns the ARN pattern matching every object key that starts
// with prefix, "arn:aws:s3:::bucket/prefix*". An empty prefix matches the
// whole bucket.
func ObjectsARN(bucket, prefix string) string { return BucketARN(bucket) + "/" + prefix + "*" }

// CanaryPrefix returns the reserved key prefix for canary objects of a rule
// with the given prefix.
func CanaryPrefix(prefix string) string { return prefix + names.CanaryDir }

// AccountRootARN returns "arn:aws:iam::<account>:root", the principal that
// stands for the whole account.
func AccountRootARN(account string) string {
	return "arn:" + names.Partition + ":iam::" + account + ":root"
}

// RoleARN returns the ARN of a role with a path ("/" or "/a/b/"; missing
// slashes are added).
func RoleARN(account, path, name string) string {
	return "arn:" + names.Partition + ":iam::" + account + ":role" + normPath(path) + name
}

// ManagedPolicyARN returns the ARN of a customer managed policy with a path.
func ManagedPolicyARN(account, path, name string) string {
	return "arn:" + names.Partition + ":iam::" + account + ":policy" + normPath(path) + name
}

// KeyARN returns a KMS key's ARN from its ID.
func KeyARN(region, account, keyID string) string {
	return "arn:" + names.Partition + ":kms:" + region + ":" + account + ":key/" + keyID
}

func normPath(path string) string {
	if path == "" {
		return "/"
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	return path
}
