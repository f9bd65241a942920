package policy

// This file builds the documents of one replication pair: the replication
// role's trust and permission policies, the statements s3crr adds to the
// source and destination key policies and to the destination bucket policy,
// and the TLS-only statement every s3crr bucket carries. Actions and
// conditions follow docs/aws-facts.md (F-REPL-ROLE-PERMS, F-KMS-REPL-CONDITIONS,
// F-BUCKET-KEY); requirements.go says, for each action,
// what fails without it.

// Condition operators and keys used by the builders.
const (
	StringEquals    = "StringEquals"
	StringLike      = "StringLike"
	ArnLike         = "ArnLike"
	Bool            = "Bool"
	ForAnyValueLike = "ForAnyValue:StringLike"

	// KeyViaService limits a KMS permission to requests a service makes on
	// the caller's behalf.
	KeyViaService = "kms:ViaService"
	// KeyS3Context limits a KMS permission to S3's encryption context: the
	// object ARN, or the bucket ARN when S3 Bucket Keys are on.
	KeyS3Context = "kms:EncryptionContext:aws:s3:arn"
	// KeySecureTransport is true when the request came over TLS.
	KeySecureTransport = "aws:SecureTransport"
)

// ReplicationParams describes one replication pair for the policy builders.
// Callers (provision, CDK, the local set-up) map their request onto it.
type ReplicationParams struct {
	// PairID identifies the pair; it is embedded in every per-pair Sid.
	PairID string

	SourceAccount string
	SourceRegion  string
	SourceBucket  string
	// SourceKeyARN is the full ARN of the key the source bucket encrypts
	// with (never an alias: grants on aliases do not cover the key).
	SourceKeyARN string

	DestinationAccount string
	DestinationRegion  string
	DestinationBucket  string
	// DestinationKeyARN is the full ARN of the replica key
	// (ReplicaKmsKeyID).
	DestinationKeyARN string

	// Prefix is the rule's key prefix, "" for the whole bucket. It must not
	// contain the IAM wildcards * or ?, which would widen every grant
	// (internal/spec rejects them).
	Prefix string

	// RoleARN is the replication role's ARN, path included.
	RoleARN string

	// OwnerOverride adds s3:ObjectOwnerOverrideToBucketOwner to the role
	// policy and the destination bucket policy; set it exactly when the rule
	// sets AccessControlTranslation Owner=Destination, which needs the
	// permission in both whatever the destination's Object Ownership
	// (docs/aws-facts.md#F-REPL-OWNER-OVERRIDE).
	OwnerOverride bool
	// ObjectLock adds s3:GetObjectRetention and s3:GetObjectLegalHold on the
	// source, needed when the source bucket has Object Lock.
	ObjectLock bool
	// BatchReplication lets S3 Batch Operations assume the role too, for
	// re-driving FAILED objects with Batch Replication.
	BatchReplication bool
}

// Replication actions, named once so the builders, the failure table and the
// tests agree on spelling.
const (
	ActGetReplicationConfiguration    = "s3:GetReplicationConfiguration"
	ActListBucket                     = "s3:ListBucket"
	ActGetObjectVersionForReplication = "s3:GetObjectVersionForReplication"
	ActGetObjectVersionACL            = "s3:GetObjectVersionAcl"
	ActGetObjectVersionTagging        = "s3:GetObjectVersionTagging"
	ActGetObjectRetention             = "s3:GetObjectRetention"
	ActGetObjectLegalHold             = "s3:GetObjectLegalHold"
	ActReplicateObject                = "s3:ReplicateObject"
	ActReplicateDelete                = "s3:ReplicateDelete"
	ActReplicateTags                  = "s3:ReplicateTags"
	ActObjectOwnerOverride            = "s3:ObjectOwnerOverrideToBucketOwner"
	ActKMSDecrypt                     = "kms:Decrypt"
	ActKMSEncrypt                     = "kms:Encrypt"
	ActKMSGenerateDataKey             = "kms:GenerateDataKey"
)

// ReplicationTrustPolicy is the replication role's trust policy: S3 (and S3
// Batch Operations when asked) may assume it.
//
// It deliberately has no aws:SourceAccount or aws:SourceArn condition: AWS's
// replication documentation shows none and no S3 page recommends them, and a
// condition on a key the service does not send evaluates to false and would
// silently break replication with AssumeRoleNotPermitted
// (docs/aws-facts.md#F-REPL-TRUST). Add them only once verified against real
// S3.
func ReplicationTrustPolicy(p ReplicationParams) Document {
	services := []string{S3Service}
	if p.BatchReplication {
		services = append(services, BatchOperationsService)
	}
	return Document{Version: Version, Statement: []Statement{{
		Sid:       SidFor(p.PairID, PurposeReplicationTrust),
		Effect:    Allow,
		Principal: ServicePrincipal(services...),
		Action:    []string{"sts:AssumeRole"},
	}}}
}

// ReplicationRolePolicy is the replication role's inline permission policy,
// exactly docs/aws-facts.md#F-REPL-ROLE-PERMS: reads on the source, replica writes on the
// destination, source-key Decrypt and destination-key Encrypt, each KMS grant
// limited to S3 in the key's region and to S3's encryption context for the
// pair's bucket and prefix.
//
// Not granted, and why: s3:GetObjectVersion (does not allow SSE-KMS
// replication; GetObjectVersionForReplication does); any Get* on the
// destination or Replicate* on the source (the tutorial's mix-up); kms:ReEncrypt*
// and kms:GenerateDataKey* wildcards; "key/*" resources.
func ReplicationRolePolicy(p ReplicationParams) Document {
	return Document{Version: Version, Statement: []Statement{
		{
			Sid:      SidFor(p.PairID, PurposeSourceBucket),
			Effect:   Allow,
			Action:   []string{ActGetReplicationConfiguration, ActListBucket},
			Resource: []string{BucketARN(p.SourceBucket)},
		},
		{
			Sid:      SidFor(p.PairID, PurposeSourceObjects),
			Effect:   Allow,
			Action:   sourceObjectActions(p),
			Resource: []string{ObjectsARN(p.SourceBucket, p.Prefix)},
		},
		{
			// Bucket names are global: the write goes only to the destination account's
			// bucket of that name, never to one another account took.
			Sid:       SidFor(p.PairID, PurposeReplicaWrite),
			Effect:    Allow,
			Action:    replicaWriteActions(p),
			Resource:  []string{ObjectsARN(p.DestinationBucket, p.Prefix)},
			Condition: inAccounts([]string{p.DestinationAccount}),
		},
		{
			Sid:       SidFor(p.PairID, PurposeSourceDecrypt),
			Effect:    Allow,
			Action:    []string{ActKMSDecrypt},
			Resource:  []string{p.SourceKeyARN},
			Condition: s3KeyCondition(p.SourceRegion, p.SourceBucket, p.Prefix),
		},
		{
			Sid:       SidFor(p.PairID, PurposeReplicaEncrypt),
			Effect:    Allow,
			Action:    replicaKeyActions(p),
			Resource:  []string{p.DestinationKeyARN},
			Condition: s3KeyCondition(p.DestinationRegion, p.DestinationBucket, p.Prefix),
		},
	}}
}

// SourceKeyStatements are the statements s3crr merges into the source key's
// policy: the replication role may use kms:Decrypt, through S3 in the source
// region, on the pair's objects only.
//
// Same account, so when is this needed? KMS lets an IAM policy grant access
// to a key only if the key policy delegates to IAM (the root statement of
// [DefaultKeyPolicy]). Keys s3crr creates keep that statement, and then the
// role policy's SourceDecrypt grant is enough and this statement would be a
// second, redundant grant. An existing key the user brings may have a custom
// policy without delegation, and the provisioner cannot rely on it. So the
// rule, applied by the key-policy stage: merge these statements when
// !DelegatesToIAM(keyPolicy, SourceAccount, "kms:Decrypt"), and not
// otherwise. Either way exactly one grant is effective, which is what the
// permission-minimality test expects.
func SourceKeyStatements(p ReplicationParams) []Statement {
	return []Statement{{
		Sid:       SidFor(p.PairID, PurposeSourceDecrypt),
		Effect:    Allow,
		Principal: AWSPrincipal(p.RoleARN),
		Action:    []string{ActKMSDecrypt},
		// In a key policy "*" means "this key"; it is the only valid value.
		Resource:  []string{"*"},
		Condition: s3KeyCondition(p.SourceRegion, p.SourceBucket, p.Prefix),
	}}
}

// SourceKeyNeedsGrant applies the rule of [SourceKeyStatements] to the
// source key's current policy.
func SourceKeyNeedsGrant(keyPolicy Document, p ReplicationParams) bool {
	return !DelegatesToIAM(keyPolicy, p.SourceAccount, ActKMSDecrypt)
}

// DestinationKeyStatements are the per-pair statements earlier versions of s3crr merged
// into the destination key's policy; the key-policy stage now writes the shared grant
// ([SharedReplicaEncryptStatement]), which a key used by many pairs can hold, and folds
// these into it ([LegacyGrants]); verification still accepts them. Each says: the
// replication role, from the source account,
// may encrypt replicas (plus GenerateDataKey and Decrypt for Bucket Keys)
// through S3 in the destination region, for the pair's objects only.
// Cross-account, both this statement and the role policy's ReplicaEncrypt
// grant are required.
func DestinationKeyStatements(p ReplicationParams) []Statement {
	return []Statement{{
		Sid:       SidFor(p.PairID, PurposeReplicaEncrypt),
		Effect:    Allow,
		Principal: AWSPrincipal(p.RoleARN),
		Action:    replicaKeyActions(p),
		Resource:  []string{"*"},
		Condition: s3KeyCondition(p.DestinationRegion, p.DestinationBucket, p.Prefix),
	}}
}

// DestinationBucketStatements are the per-pair statements earlier versions of s3crr
// merged into the destination bucket's policy; the bucket-policy stage now writes the
// shared grants ([SharedReplicaWriteStatement]) and folds these into them
// ([LegacyGrants]); verification still accepts them. Each says: the replication role may
// write replicas,
// delete markers and tags under the pair's prefix, and override the owner
// when asked.
//
// No bucket-level grant. AWS's walkthrough and CDK's addReplicationPolicy
// (aws-s3/lib/bucket.ts) add s3:GetBucketVersioning and
// s3:PutBucketVersioning on the bucket, and older guides s3:List*. s3crr
// omits all three: cross-account access needs the role's own policy to allow
// an action as well, and AWS's replication role policy never grants any of
// them on the destination, so S3 cannot be relying on these bucket-policy
// grants; an unversioned destination is reported by S3 itself
// (DstBucketUnversioned). PutBucketVersioning would even let the source
// account suspend versioning on the destination.
//
// ReplicateTags is granted (CDK omits it) because the role policy grants it
// and, without it here, tagged objects fail with DstPutTaggingNotPermitted.
func DestinationBucketStatements(p ReplicationParams) []Statement {
	return []Statement{{
		Sid:       SidFor(p.PairID, PurposeReplicaWrite),
		Effect:    Allow,
		Principal: AWSPrincipal(p.RoleARN),
		Action:    replicaWriteActions(p),
		Resource:  []string{ObjectsARN(p.DestinationBucket, p.Prefix)},
	}}
}

// DenyInsecureTransport is the bucket-wide statement denying every S3 action
// on the bucket and its objects to requests not made over TLS. Its Sid is
// fixed ([SidDenyInsecureTransport]), so pairs sharing a bucket share it.
func DenyInsecureTransport(bucket string) Statement {
	return Statement{
		Sid:       SidDenyInsecureTransport,
		Effect:    Deny,
		Principal: Everyone(),
		Action:    []string{"s3:*"},
		Resource:  []string{BucketARN(bucket), BucketARN(bucket) + "/*"},
		Condition: map[string]map[string][]string{Bool: {KeySecureTransport: {"false"}}},
	}
}

// SourceBucketStatements are the statements s3crr merges into the source
// bucket's policy: only the TLS-only deny. Same account, the role policy
// alone authorises the role's reads.
func SourceBucketStatements(p ReplicationParams) []Statement {
	return []Statement{DenyInsecureTransport(p.SourceBucket)}
}

// DestinationBucketPolicyStatements are the TLS-only deny and the per-pair
// replica-write grant: the destination bucket policy as earlier versions of s3crr
// wrote it for a pair (see [DestinationBucketStatements]).
func DestinationBucketPolicyStatements(p ReplicationParams) []Statement {
	return append([]Statement{DenyInsecureTransport(p.DestinationBucket)}, DestinationBucketStatements(p)...)
}

// DefaultKeyPolicySid is the Sid KMS gives the root statement of a default
// key policy.
const DefaultKeyPolicySid = "Enable IAM User Permissions"

// DefaultKeyPolicy is the key policy KMS attaches to a key created without
// one: the account root may do everything, which delegates access control to
// the account's IAM policies.
func DefaultKeyPolicy(account string) Document {
	return Document{Version: Version, ID: "key-default-1", Statement: []Statement{{
		Sid:       DefaultKeyPolicySid,
		Effect:    Allow,
		Principal: AWSPrincipal(AccountRootARN(account)),
		Action:    []string{"kms:*"},
		Resource:  []string{"*"},
	}}}
}

func sourceObjectActions(p ReplicationParams) []string {
	a := []string{ActGetObjectVersionForReplication, ActGetObjectVersionACL, ActGetObjectVersionTagging}
	if p.ObjectLock {
		a = append(a, ActGetObjectRetention, ActGetObjectLegalHold)
	}
	return a
}

func replicaWriteActions(p ReplicationParams) []string {
	a := []string{ActReplicateObject, ActReplicateDelete, ActReplicateTags}
	if p.OwnerOverride {
		a = append(a, ActObjectOwnerOverride)
	}
	return a
}

// replicaKeyActions are what S3 does with the destination key as the role.
// The Bucket Key calls (kms:GenerateDataKey, and kms:Decrypt to check the
// Bucket Key) are granted whatever the pair's own Bucket Key setting: a
// replica keeps the Bucket Key setting of its source object, which the
// uploader chooses per request (x-amz-server-side-encryption-bucket-key-enabled),
// so a pair without Bucket Keys still receives Bucket Key objects
// (docs/aws-facts.md#F-BUCKET-KEY).
func replicaKeyActions(ReplicationParams) []string {
	return []string{ActKMSEncrypt, ActKMSGenerateDataKey, ActKMSDecrypt}
}

// s3KeyCondition limits a KMS grant to S3 in region, for objects under
// prefix in bucket: the object form of the encryption context
// ("arn:aws:s3:::bucket/prefix*") and the Bucket Key form (the bucket ARN).
func s3KeyCondition(region, bucket, prefix string) map[string]map[string][]string {
	return map[string]map[string][]string{
		StringEquals: {KeyViaService: {ViaS3(region)}},
		StringLike:   {KeyS3Context: {ObjectsARN(bucket, prefix), BucketARN(bucket)}},
	}
}
