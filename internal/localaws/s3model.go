package localaws

import (
	"time"

	"github.com/s3crr/s3crr/internal/localaws/authz"
)

// This file is the S3 data model shared by the S3 API handlers (s3*.go) and the replication
// engine (replication*.go). All fields are guarded by Server.mu.

// bucket is an S3 bucket. Names are global; a bucket lives in one account and region.
type bucket struct {
	name    string
	account string // owner
	region  string
	created time.Time

	versioning        string // "" (never enabled), "Enabled" or "Suspended"
	objectLockEnabled bool   // set at creation (x-amz-bucket-object-lock-enabled), implies versioning
	// lifecycle is the lifecycle configuration's rules, each its XML as put.
	lifecycle         []string
	ownership         string // ObjectOwnership: "", "BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"
	publicAccessBlock *publicAccessBlock
	policyDoc         string // as written by PutBucketPolicy
	policy            *authz.Policy
	encryption        *bucketEncryption
	replication       *replicationConfig
	notification      *notificationConfig
	tags              map[string]string
	// sseS3Key is the bucket's SSE-S3 (AES256) key, created on first use (s3_crypto.go).
	sseS3Key []byte

	// objects maps a key to its versions, oldest first. In an unversioned bucket each key
	// has at most one version, with versionID "null".
	objects map[string][]*objectVersion
	// uploads are the bucket's multipart uploads in progress, by upload ID
	// (s3_multipart.go).
	uploads map[string]*multipartUpload
}

type publicAccessBlock struct {
	BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets bool
}

// bucketEncryption is the bucket's default encryption (one rule, as S3 allows).
type bucketEncryption struct {
	algorithm        string // "AES256", "aws:kms" or "aws:kms:dsse"
	kmsKeyID         string // as written: key ID, key ARN, alias name or alias ARN; "" = aws/s3
	bucketKeyEnabled bool
}

// objectVersion is one version of an object, or a delete marker.
type objectVersion struct {
	key            string
	versionID      string
	isDeleteMarker bool
	lastModified   time.Time
	owner          string // canonical owner: the account that owns the object

	data []byte // stored bytes: ciphertext when SSE-KMS, else plaintext
	size int64  // plaintext size
	etag string // quoted MD5 of the plaintext, as S3 reports for single-part uploads
	// partSizes are the plaintext sizes of the parts of an object written by a multipart
	// upload, nil otherwise; its ETag is then md5-of-part-md5s-N, and replication writes its
	// replica as a multipart upload with the same parts.
	partSizes    []int64
	contentType  string
	metadata     map[string]string // x-amz-meta-*
	tags         map[string]string
	storageClass string // "" means STANDARD

	// Server-side encryption.
	sse              string // "", "AES256", "aws:kms"
	kmsKeyARN        string // full ARN of the KMS key that protects the data key
	bucketKeyEnabled bool
	// encryptedDataKey is the KMS ciphertext blob of the object's data key, bound to
	// encryptionContext ({"aws:s3:arn": object ARN, or the bucket ARN with Bucket Keys}).
	encryptedDataKey  []byte
	encryptionContext map[string]string

	// Replication.
	replicationStatus string // "", "PENDING", "COMPLETED", "FAILED", "REPLICA"
	// replicationFailure is the documented failure code of the last failed attempt
	// (e.g. "DstKmsKeyNotFound"); simulator-only, for tests and events.
	replicationFailure string
	// replicationDetail explains replicationFailure (the authorization decision's reason).
	replicationDetail string
}

// replicationConfig is a bucket's replication configuration.
type replicationConfig struct {
	role  string // IAM role ARN S3 assumes
	rules []*replicationRule
}

// replicationRule is one rule, in the V2 schema or the legacy V1 (top-level Prefix) schema.
type replicationRule struct {
	id       string
	priority int32
	// v2 is true when the rule has a Filter element; V2 rules require Priority and
	// DeleteMarkerReplication and are the only ones that can have tag filters.
	v2          bool
	hasPriority bool
	status      string // "Enabled" or "Disabled"

	// Filter: prefix and/or tags (And).
	prefix     string
	filterTags map[string]string
	// filterShape remembers how the filter was written, so GetBucketReplication returns
	// what was put: "prefix", "tag", "and", "empty" (an empty <Filter/>), or "" for V1.
	filterShape string
	// filterTagOrder is the order And-filter tags were written in, for GetBucketReplication.
	filterTagOrder []string

	deleteMarkerReplication bool // DeleteMarkerReplication.Status == Enabled
	hasDeleteMarkerElement  bool
	existingObjects         bool // ExistingObjectReplication.Status == Enabled
	hasExistingObjects      bool

	sseKMSEncryptedObjects bool // SourceSelectionCriteria.SseKmsEncryptedObjects.Status == Enabled
	hasSSEKMSCriterion     bool
	replicaModifications   bool
	hasReplicaMods         bool

	// Destination.
	destBucketARN   string // arn:aws:s3:::name
	destAccount     string // Destination.Account, required with AccessControlTranslation
	storageClass    string // "" keeps the source's
	ownerOverride   bool   // AccessControlTranslation.Owner == Destination
	replicaKMSKeyID string // EncryptionConfiguration.ReplicaKmsKeyID, as written
	rtc             bool   // ReplicationTime.Status == Enabled (Minutes 15)
	hasRTC          bool
	metrics         bool // Metrics.Status == Enabled
	hasMetrics      bool
	metricsMinutes  int32 // Metrics.EventThreshold.Minutes, 0 if absent
}

// notificationConfig is a bucket's event notification configuration.
type notificationConfig struct {
	queues      []notificationTarget
	topics      []notificationTarget
	lambdas     []notificationTarget
	eventBridge bool
}

// notificationTarget is one QueueConfiguration, TopicConfiguration or
// CloudFunctionConfiguration.
type notificationTarget struct {
	id     string
	arn    string
	events []string // e.g. "s3:Replication:*", "s3:ObjectCreated:Put"
	prefix string   // Filter.S3Key rule "prefix", "" if none
	suffix string   // Filter.S3Key rule "suffix"
}
