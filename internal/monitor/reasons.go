package monitor

import (
	"sort"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// FailureCodesURL is the S3 User Guide page listing the replication failure reasons S3 puts
// in failureReason (events and Batch Replication completion reports). The table below follows
// it; codes it marks "specific to Batch Replication" have BatchOnly set
// (docs/aws-facts.md#F-REPL-FAILURE-CODES).
const FailureCodesURL = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-failure-codes.html"

// Party is the account whose owner must act on an alert.
type Party string

// Parties.
const (
	// PartySource is the source bucket's account (it holds the replication role and the
	// source key).
	PartySource Party = "source"
	// PartyDestination is the destination bucket's account (destination bucket policy and
	// key policy).
	PartyDestination Party = "destination"
	// PartyHub is the automation account: Batch jobs and re-drives are started from there.
	PartyHub Party = "hub"
)

// Document names a policy document s3crr writes for a pair, so a remediation can point at
// the exact statement.
type Document string

// Documents s3crr writes per pair.
const (
	// DocTrust is the replication role's trust policy (source account).
	DocTrust Document = "trust policy of the replication role"
	// DocRole is the replication role's inline policy s3crr-replication (source account).
	DocRole Document = "inline policy " + names.ReplicationPolicyName + " of the replication role"
	// DocSourceKey is the source key's key policy (source account).
	DocSourceKey Document = "key policy of the source key"
	// DocDestinationKey is the destination key's key policy (destination account).
	DocDestinationKey Document = "key policy of the destination key"
	// DocDestinationBucket is the destination bucket's bucket policy (destination account).
	DocDestinationBucket Document = "bucket policy of the destination bucket"
	// DocBatchRole is the Batch Operations role's inline policy (source account).
	DocBatchRole Document = "inline policy " + names.BatchPolicyName + " of the Batch Operations role"
)

// Grant is one statement s3crr generates that, when missing or overridden by a Deny,
// produces a failure reason. The Sid is policy.SidOf(pairID, Purpose): per pair in the
// role policy, shared by every pair in the destination's bucket and key policies.
type Grant struct {
	Doc     Document
	Purpose string
	// Actions are the actions in that statement the failure is about.
	Actions []string
}

// Reason explains one failureReason.
type Reason struct {
	// Code is the failureReason as S3 sends it.
	Code string
	// Aliases are other spellings AWS pages have used for the same reason.
	Aliases []string
	// BatchOnly marks reasons AWS documents as specific to Batch Replication.
	BatchOnly bool
	// Cause is the usual cause, in one sentence.
	Cause string
	// Actor is the account that must act.
	Actor Party
	// Grants are the s3crr statements to check, most likely first.
	Grants []Grant
	// Fix is what to do beyond restoring Grants, in one or two sentences.
	Fix string
	// Rerun reports whether re-running the pair's provisioning repairs the cause (it
	// rewrites every statement, the rule, versioning and the buckets s3crr created).
	Rerun bool
}

var (
	gTrust = Grant{DocTrust, policy.PurposeReplicationTrust, []string{"sts:AssumeRole"}}

	gRoleSourceBucket = Grant{DocRole, policy.PurposeSourceBucket, []string{policy.ActGetReplicationConfiguration, policy.ActListBucket}}

	gRoleSourceObjects = func(actions ...string) Grant { return Grant{DocRole, policy.PurposeSourceObjects, actions} }
	gRoleSourceDecrypt = Grant{DocRole, policy.PurposeSourceDecrypt, []string{policy.ActKMSDecrypt}}
	gKeySourceDecrypt  = Grant{DocSourceKey, policy.PurposeSourceDecrypt, []string{policy.ActKMSDecrypt}}

	gRoleReplicaWrite   = func(actions ...string) Grant { return Grant{DocRole, policy.PurposeReplicaWrite, actions} }
	gBucketReplicaWrite = func(actions ...string) Grant {
		return Grant{DocDestinationBucket, policy.PurposeReplicaWriteShared, actions}
	}
	// replicaWrite is a replica-write grant as s3crr writes it: the same actions in the
	// destination bucket policy and in the role policy, both needed.
	replicaWrite = func(actions ...string) []Grant {
		return []Grant{gBucketReplicaWrite(actions...), gRoleReplicaWrite(actions...)}
	}
	replicaKeyActions   = []string{policy.ActKMSEncrypt, policy.ActKMSGenerateDataKey, policy.ActKMSDecrypt}
	gKeyReplicaEncrypt  = Grant{DocDestinationKey, policy.PurposeReplicaEncryptShared, replicaKeyActions}
	gRoleReplicaEncrypt = Grant{DocRole, policy.PurposeReplicaEncrypt, replicaKeyActions}

	// replicaPut is every statement a replica write depends on: the destination bucket
	// policy, the destination key policy (a key policy that does not allow the role, or
	// denies it, also shows as a Dst*NotPermitted code), and the role's own grants.
	replicaPut = []Grant{
		gBucketReplicaWrite(policy.ActReplicateObject),
		{DocDestinationBucket, policy.PurposeOwnerOverrideShared, []string{policy.ActObjectOwnerOverride}},
		gKeyReplicaEncrypt,
		gRoleReplicaWrite(policy.ActReplicateObject, policy.ActObjectOwnerOverride),
		gRoleReplicaEncrypt,
	}
)

// reasonTable is every failure reason on FailureCodesURL (34 codes), in the page's order.
var reasonTable = []Reason{
	{Code: "AssumeRoleNotPermitted", Actor: PartySource, Rerun: true,
		Cause:  "S3 cannot assume the replication role: its trust policy no longer allows s3.amazonaws.com, or the role was deleted.",
		Grants: []Grant{gTrust},
		Fix:    "Re-running the pair restores the role and its trust policy."},
	{Code: "DstBucketInvalidRegion", BatchOnly: true, Actor: PartyHub,
		Cause: "A Batch Replication job named a Region for the destination bucket that is not the bucket's Region.",
		Fix:   "Start the Batch Replication job again with the destination Region recorded for the pair."},
	{Code: "DstBucketNotFound", Actor: PartyDestination, Rerun: true,
		Cause: "The destination bucket named in the replication rule does not exist (deleted, or never created in that account).",
		Fix:   "Re-running the pair recreates the destination bucket with versioning, encryption and its policy."},
	{Code: "DstBucketObjectLockConfigMissing", Actor: PartyDestination, Rerun: true,
		Cause: "The source bucket uses Object Lock and the destination bucket does not have Object Lock enabled.",
		Fix:   "Enable Object Lock on the destination bucket (s3crr does not change Object Lock on an existing bucket), then re-run the pair."},
	{Code: "DstBucketUnversioned", Actor: PartyDestination, Rerun: true,
		Cause: "Versioning is not enabled (or was suspended) on the destination bucket.",
		Fix:   "Re-running the pair re-enables versioning on the destination bucket."},
	{Code: "DstDelObjNotPermitted", Actor: PartyDestination, Rerun: true,
		Cause:  "S3 could not replicate a delete marker: the replication role lacks s3:ReplicateDelete on the destination bucket.",
		Grants: replicaWrite(policy.ActReplicateDelete),
		Fix:    "Re-running the pair merges the grant back into the destination bucket policy and the role policy."},
	{Code: "DstKmsKeyInvalidState", Actor: PartyDestination, Rerun: true,
		Cause: "The destination KMS key is disabled or pending deletion.",
		Fix:   "Enable the destination key (or cancel its scheduled deletion) in the destination account, then re-run the pair to verify."},
	{Code: "DstKmsKeyNotFound", Actor: PartyDestination, Rerun: true,
		Cause: "The KMS key the rule names for replicas (ReplicaKmsKeyID) does not exist in the destination Region.",
		Fix:   "Re-running the pair recreates or re-resolves the destination key and rewrites the rule with the key's full ARN."},
	{Code: "DstMultipartCompleteNotPermitted", Actor: PartyDestination, Rerun: true,
		Cause:  "S3 could not complete the multipart upload of a large replica: the role lacks s3:ReplicateObject on the destination bucket or the destination key does not allow it.",
		Grants: replicaPut,
		Fix:    "Re-running the pair merges the grants back."},
	{Code: "DstMultipartInitNotPermitted", Actor: PartyDestination, Rerun: true,
		Cause:  "S3 could not start the multipart upload of a large replica: the role lacks s3:ReplicateObject on the destination bucket or the destination key does not allow it.",
		Grants: replicaPut,
		Fix:    "Re-running the pair merges the grants back."},
	{Code: "DstMultipartUploadNotPermitted", Aliases: []string{"DstMultipartPartUploadNotPermitted"}, Actor: PartyDestination, Rerun: true,
		Cause:  "S3 could not upload a part of a large replica: the role lacks s3:ReplicateObject on the destination bucket or the destination key does not allow it.",
		Grants: replicaPut,
		Fix:    "Re-running the pair merges the grants back."},
	{Code: "DstObjectHardDeleted", BatchOnly: true, Actor: PartyHub,
		Cause: "Batch Replication does not replicate a version again after it was permanently deleted (by version ID) from the destination.",
		Fix:   "Copy the object with S3 Batch Operations Copy instead of Batch Replication."},
	{Code: "DstPutAclNotPermitted", Actor: PartyDestination, Rerun: true,
		Cause:  "S3 could not replicate the object's ACL: the role lacks s3:ReplicateObject (or s3:ObjectOwnerOverrideToBucketOwner with owner override) on the destination bucket.",
		Grants: replicaWrite(policy.ActReplicateObject, policy.ActObjectOwnerOverride),
		Fix:    "Re-running the pair merges the grants back."},
	{Code: "DstPutLegalHoldNotPermitted", Actor: PartyDestination, Rerun: true,
		Cause:  "S3 could not set the replica's Object Lock legal hold: the role lacks s3:PutObjectLegalHold on the destination bucket.",
		Grants: replicaWrite(policy.ActReplicateObject),
		Fix:    "s3crr grants s3:ReplicateObject for replica writes; if a Deny or an SCP blocks s3:PutObjectLegalHold on the destination bucket, lift it, then re-run the pair."},
	{Code: "DstPutObjectNotPermitted", Actor: PartyDestination, Rerun: true,
		Cause:  "S3 could not write the replica: the destination bucket policy no longer grants the role s3:ReplicateObject, or the destination key policy does not allow (or denies) the role kms:Encrypt.",
		Grants: replicaPut,
		Fix:    "Re-running the pair merges the grants back into both policies; remove any Deny on the role in them."},
	{Code: "DstPutRetentionNotPermitted", Actor: PartyDestination, Rerun: true,
		Cause:  "S3 could not set the replica's Object Lock retention: the role lacks s3:PutObjectRetention on the destination bucket.",
		Grants: replicaWrite(policy.ActReplicateObject),
		Fix:    "s3crr grants s3:ReplicateObject for replica writes; if a Deny or an SCP blocks s3:PutObjectRetention on the destination bucket, lift it, then re-run the pair."},
	{Code: "DstPutTaggingNotPermitted", Actor: PartyDestination, Rerun: true,
		Cause:  "S3 could not write the replica's tags: the role lacks s3:ReplicateTags on the destination bucket.",
		Grants: replicaWrite(policy.ActReplicateTags),
		Fix:    "Re-running the pair merges the grant back."},
	{Code: "DstVersionNotFound", Actor: PartyDestination,
		Cause: "The destination has no version of the object whose metadata S3 was replicating (the replica version was deleted).",
		Fix:   "Nothing to grant: re-drive the object so S3 replicates the version again."},
	{Code: "InitiateReplicationNotPermitted", BatchOnly: true, Actor: PartySource,
		Cause:  "The Batch Replication job's role lacks s3:InitiateReplication on the source objects.",
		Grants: []Grant{{DocBatchRole, policy.PurposeBatchInitiate, []string{policy.ActInitiateReplication}}},
		Fix:    "Give the Batch Operations role s3:InitiateReplication on the source objects (and s3:GetReplicationConfiguration, s3:PutInventoryConfiguration on the source bucket; crr redrive rewrites the role's policy, so check its permissions boundary and any Deny), then start the job again."},
	{Code: "SrcBucketInvalidRegion", BatchOnly: true, Actor: PartyHub,
		Cause: "A Batch Replication job was started in a Region that is not the source bucket's Region.",
		Fix:   "Start the Batch Replication job in the source bucket's Region."},
	{Code: "SrcBucketNotFound", Actor: PartySource,
		Cause: "S3 could not find the source bucket.",
		Fix:   "Recreate the source bucket (s3crr never creates a source bucket that existed before) or retire the pair."},
	{Code: "SrcBucketReplicationConfigMissing", Actor: PartySource, Rerun: true,
		Cause:  "S3 could not read the source bucket's replication configuration as the role (it was deleted, or the role lacks s3:GetReplicationConfiguration).",
		Grants: []Grant{gRoleSourceBucket},
		Fix:    "Re-running the pair restores the rule and the role's grant."},
	{Code: "SrcGetAclNotPermitted", Actor: PartySource, Rerun: true,
		Cause:  "The role could not read the source version's ACL (s3:GetObjectVersionAcl).",
		Grants: []Grant{gRoleSourceObjects(policy.ActGetObjectVersionACL)},
		Fix:    "Re-running the pair restores the role policy; remove any Deny on the role in the source bucket policy."},
	{Code: "SrcGetLegalHoldNotPermitted", Actor: PartySource, Rerun: true,
		Cause:  "The role could not read the source version's Object Lock legal hold (s3:GetObjectLegalHold).",
		Grants: []Grant{gRoleSourceObjects(policy.ActGetObjectLegalHold)},
		Fix:    "Re-running the pair restores the role policy (with objectLock on in the request)."},
	{Code: "SrcGetObjectNotPermitted", Actor: PartySource, Rerun: true,
		Cause: "The role could not read the source version: it lacks s3:GetObjectVersionForReplication, or the source key does not let it kms:Decrypt through S3.",
		// Object Lock reads are listed too: the AWS page now has their own codes, but
		// internal/policy's requirement table (and the simulator) report a missing one as
		// this code.
		Grants: []Grant{gRoleSourceObjects(policy.ActGetObjectVersionForReplication, policy.ActGetObjectRetention, policy.ActGetObjectLegalHold), gRoleSourceDecrypt, gKeySourceDecrypt},
		Fix:    "Re-running the pair restores the role policy and the source key statement; if the source key policy does not delegate to IAM, keep s3crr's statement in it."},
	{Code: "SrcGetRetentionNotPermitted", Actor: PartySource, Rerun: true,
		Cause:  "The role could not read the source version's Object Lock retention (s3:GetObjectRetention).",
		Grants: []Grant{gRoleSourceObjects(policy.ActGetObjectRetention)},
		Fix:    "Re-running the pair restores the role policy (with objectLock on in the request)."},
	{Code: "SrcGetTaggingNotPermitted", Actor: PartySource, Rerun: true,
		Cause:  "The role could not read the source version's tags (s3:GetObjectVersionTagging).",
		Grants: []Grant{gRoleSourceObjects(policy.ActGetObjectVersionTagging)},
		Fix:    "Re-running the pair restores the role policy."},
	{Code: "SrcHeadObjectNotPermitted", Actor: PartySource, Rerun: true,
		Cause:  "The role could not read the source version's metadata (s3:GetObjectVersionForReplication, and s3:ListBucket for delete markers).",
		Grants: []Grant{gRoleSourceObjects(policy.ActGetObjectVersionForReplication), gRoleSourceBucket},
		Fix:    "Re-running the pair restores the role policy."},
	{Code: "SrcKeyNotFound", Actor: PartySource,
		Cause: "The KMS key that encrypted the source object does not exist any more.",
		Fix:   "The object cannot be decrypted by anyone: restore it from another copy; new objects use the pair's source key."},
	{Code: "SrcKmsKeyInvalidState", Actor: PartySource, Rerun: true,
		Cause: "The source KMS key is disabled or pending deletion.",
		Fix:   "Enable the source key (or cancel its scheduled deletion) in the source account, then re-run the pair to verify."},
	{Code: "SrcObjectNotEligible", Actor: PartySource, Rerun: true,
		Cause: "The object is not eligible for replication under the rule (for example SSE-C, or SSE-KMS while the rule does not select KMS-encrypted objects).",
		Fix:   "Re-running the pair restores the rule's SseKmsEncryptedObjects selection; objects written with SSE-C are never replicated."},
	{Code: "SrcObjectNotFound", Actor: PartySource,
		Cause: "The source object no longer exists (deleted before S3 replicated it).",
		Fix:   "Nothing to repair unless the deletion was unexpected."},
	{Code: "SrcReplicationNotPending", Actor: PartySource,
		Cause: "The object is no longer pending replication (it was already replicated or its status changed).",
		Fix:   "Nothing to repair; check the object's x-amz-replication-status."},
	{Code: "SrcVersionNotFound", Actor: PartySource,
		Cause: "The source object version no longer exists (deleted before S3 replicated it).",
		Fix:   "Nothing to repair unless the deletion was unexpected."},
}

// reasonIndex maps every code and alias to its entry.
var reasonIndex = func() map[string]*Reason {
	m := make(map[string]*Reason, len(reasonTable)+4)
	for i := range reasonTable {
		r := &reasonTable[i]
		m[r.Code] = r
		for _, a := range r.Aliases {
			m[a] = r
		}
	}
	return m
}()

// LookupReason returns the entry for a failureReason code or one of its aliases.
func LookupReason(code string) (Reason, bool) {
	r, ok := reasonIndex[code]
	if !ok {
		return Reason{}, false
	}
	return *r, true
}

// Reasons returns every documented reason, sorted by code.
func Reasons() []Reason {
	out := append([]Reason(nil), reasonTable...)
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}
