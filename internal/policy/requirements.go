package policy

import (
	"sort"
	"strings"

	"github.com/s3crr/s3crr/internal/names"
)

// This file records, as data, why every Allow action s3crr grants exists:
// the replication failure S3 reports without it, or the stage that fails with
// AccessDenied. The permission-minimality test walks the generated documents,
// removes one action at a time and expects exactly this outcome; the
// simulator (internal/localaws) is built independently from the same AWS
// documentation, so a disagreement between the two shows up as a failing
// test rather than a shared mistake.
//
// Replication failure codes are those of the S3 User Guide,
// replication-failure-codes (docs/aws-facts.md#F-REPL-FAILURE-CODES). AWS documents which permission
// each Dst*/Src* code usually means (s3:ReplicateObject for
// DstPutObjectNotPermitted, s3:ReplicateDelete for DstDelObjNotPermitted,
// s3:GetObjectVersionForReplication for SrcGetObjectNotPermitted, ...). For
// the rest, the choice below is s3crr's reading, marked "s3crr's mapping" in
// Why:
//   - KMS: a denied source-key Decrypt stops S3 reading the object, hence
//     SrcGetObjectNotPermitted; a denied destination-key call stops the replica
//     write, hence DstPutObjectNotPermitted.
//   - s3:GetReplicationConfiguration: S3 cannot read the rules it is to apply,
//     hence SrcBucketReplicationConfigMissing.
//   - s3:ListBucket: S3 needs it to tell a missing key from a denied one when
//     replicating delete markers, hence SrcHeadObjectNotPermitted.
//   - The owner override is part of writing the replica.
//
// Deny statements (the TLS-only deny) are not in the table: removing an
// action from a Deny widens access and causes no failure.

// Trigger names the replicated operation that exposes a missing replication
// permission, so a test knows what to write to the source bucket.
type Trigger string

// Triggers.
const (
	// TriggerObject: any new SSE-KMS object version under the prefix.
	TriggerObject Trigger = "object"
	// TriggerTaggedObject: a new object version with object tags.
	TriggerTaggedObject Trigger = "tagged-object"
	// TriggerDeleteMarker: a delete without version ID (a delete marker),
	// with delete-marker replication on.
	TriggerDeleteMarker Trigger = "delete-marker"
	// TriggerLockedObject: an object version with a retention period or a
	// legal hold, in an Object Lock bucket.
	TriggerLockedObject Trigger = "locked-object"
	// TriggerBucketKeyObject: a new SSE-KMS object version uploaded with
	// x-amz-server-side-encryption-bucket-key-enabled: true, whatever the
	// buckets' default; its replica keeps the S3 Bucket Key.
	TriggerBucketKeyObject Trigger = "bucket-key-object"
	// TriggerBatchJob: a Batch Replication job over the pair's FAILED objects. Its
	// Failure is the job's FailureCode or the failed tasks' ErrorCode in the report.
	TriggerBatchJob Trigger = "batch-job"
)

// Options under which a replication action is granted (ReplicationParams
// fields); a test must turn the option on to see the action at all.
const (
	OnlyOwnerOverride = "OwnerOverride"
	OnlyObjectLock    = "ObjectLock"
)

// Hub components, for the permissions of the hub roles. The provisioning stages a
// permission is for are the stage names of internal/names, as the state machine passes
// them to the provision Lambda.
const (
	HubProvisionFunction = "provision-function"
	HubStateMachine      = "state-machine"
	// HubReplicationMonitor is the replication monitor Lambda (ReplicationMonitorPolicy).
	HubReplicationMonitor = "replication-monitor"
	// HubVerifyFunction is the verify Lambda (VerifyFunctionPolicy).
	HubVerifyFunction = "verify-function"
	// HubVerifyStateMachine and HubVerifySchedule are the verify state machine and the
	// nightly schedule that starts it.
	HubVerifyStateMachine = "verify-state-machine"
	HubVerifySchedule     = "verify-schedule"
	// VerifyCanary is the verification canary, written as the member verifier role.
	VerifyCanary = "canary"
)

// Requirement explains one granted action in one kind of statement.
type Requirement struct {
	// Purpose is the statement's purpose (see ParseSid).
	Purpose string
	// Action is the IAM action as granted.
	Action string
	// Failure is the replication failureReason recorded on the source
	// version when a replication permission is missing; empty for
	// provisioner and hub permissions.
	Failure string
	// Trigger is what exposes Failure.
	Trigger Trigger
	// Only names the ReplicationParams option the action is granted under;
	// empty when always granted.
	Only string
	// Stages lists the provisioning stages or hub components whose calls fail
	// with AccessDenied without the action; the first one listed is the first
	// to run into it.
	Stages []string
	// Calls lists the API calls that need the action.
	Calls []string
	// Why says why it is needed, or why this failure.
	Why string
}

type reqKey struct{ purpose, action string }

var requirements = func() map[reqKey]Requirement {
	m := map[reqKey]Requirement{}
	add := func(r Requirement) { m[reqKey{r.Purpose, strings.ToLower(r.Action)}] = r }

	// The replication role's permissions. The same purpose names the grant in
	// the role policy, in the resource policy that must also allow it, and in
	// the boundary that must not exclude it, so one entry covers all three.
	repl := []Requirement{
		{Purpose: PurposeReplicationTrust, Action: "sts:AssumeRole", Failure: "AssumeRoleNotPermitted", Trigger: TriggerObject,
			Why: "S3 assumes the replication role for every operation"},
		{Purpose: PurposeSourceBucket, Action: ActGetReplicationConfiguration, Failure: "SrcBucketReplicationConfigMissing", Trigger: TriggerObject,
			Why: "S3 reads the source bucket's rules as the role (s3crr's mapping)"},
		{Purpose: PurposeSourceBucket, Action: ActListBucket, Failure: "SrcHeadObjectNotPermitted", Trigger: TriggerDeleteMarker,
			Why: "needed for delete-marker replication (docs/aws-facts.md#F-REPL-ROLE-PERMS); s3crr's mapping of the failure code"},
		{Purpose: PurposeSourceObjects, Action: ActGetObjectVersionForReplication, Failure: "SrcGetObjectNotPermitted", Trigger: TriggerObject,
			Why: "reads the source version's data and metadata; s3:GetObjectVersion does not allow SSE-KMS replication"},
		{Purpose: PurposeSourceObjects, Action: ActGetObjectVersionACL, Failure: "SrcGetAclNotPermitted", Trigger: TriggerObject,
			Why: "reads the version's ACL to replicate it; with owner override S3 replicates no ACL, but AWS's policies still list it"},
		{Purpose: PurposeSourceObjects, Action: ActGetObjectVersionTagging, Failure: "SrcGetTaggingNotPermitted", Trigger: TriggerTaggedObject,
			Why: "reads the version's tags to replicate them"},
		// AWS lists these two as their own failure codes, not as SrcGetObjectNotPermitted
		// (docs/aws-facts.md#F-REPL-FAILURE-CODES;
		// https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-failure-codes.html).
		{Purpose: PurposeSourceObjects, Action: ActGetObjectRetention, Failure: "SrcGetRetentionNotPermitted", Trigger: TriggerLockedObject, Only: OnlyObjectLock,
			Why: "reads the version's retention to replicate it (S3 UG object-lock-managing)"},
		{Purpose: PurposeSourceObjects, Action: ActGetObjectLegalHold, Failure: "SrcGetLegalHoldNotPermitted", Trigger: TriggerLockedObject, Only: OnlyObjectLock,
			Why: "reads the version's legal hold to replicate it"},
		{Purpose: PurposeReplicaWrite, Action: ActReplicateObject, Failure: "DstPutObjectNotPermitted", Trigger: TriggerObject,
			Why: "writes the replica"},
		{Purpose: PurposeReplicaWrite, Action: ActReplicateDelete, Failure: "DstDelObjNotPermitted", Trigger: TriggerDeleteMarker,
			Why: "writes replicated delete markers"},
		{Purpose: PurposeReplicaWrite, Action: ActReplicateTags, Failure: "DstPutTaggingNotPermitted", Trigger: TriggerTaggedObject,
			Why: "writes the replica's tags"},
		{Purpose: PurposeReplicaWrite, Action: ActObjectOwnerOverride, Failure: "DstPutObjectNotPermitted", Trigger: TriggerObject, Only: OnlyOwnerOverride,
			Why: "the replica write carries the owner change (AccessControlTranslation); s3crr's mapping of the failure code"},
		{Purpose: PurposeSourceDecrypt, Action: ActKMSDecrypt, Failure: "SrcGetObjectNotPermitted", Trigger: TriggerObject,
			Why: "S3 decrypts the source version's data key as the role; s3crr's mapping of the failure code"},
		{Purpose: PurposeReplicaEncrypt, Action: ActKMSEncrypt, Failure: "DstPutObjectNotPermitted", Trigger: TriggerObject,
			Why: "S3 encrypts the replica's data key with the destination key; s3crr's mapping of the failure code"},
		{Purpose: PurposeReplicaEncrypt, Action: ActKMSGenerateDataKey, Failure: "DstPutObjectNotPermitted", Trigger: TriggerBucketKeyObject,
			Why: "a replica keeps its source object's Bucket Key, and S3 generates the destination Bucket Key as the role (docs/aws-facts.md#F-BUCKET-KEY)"},
		{Purpose: PurposeReplicaEncrypt, Action: ActKMSDecrypt, Failure: "DstPutObjectNotPermitted", Trigger: TriggerBucketKeyObject,
			Why: "a replica keeps its source object's Bucket Key, and S3 decrypts the destination Bucket Key as the role to check it (docs/aws-facts.md#F-BUCKET-KEY)"},
		// The destination's shared grants (shared.go) stand for every pair's per-pair
		// ReplicaWrite and ReplicaEncrypt statement there; the role policy keeps those.
		{Purpose: PurposeReplicaWriteShared, Action: ActReplicateObject, Failure: "DstPutObjectNotPermitted", Trigger: TriggerObject,
			Why: "the destination bucket admits the replica write of every s3crr replication role it serves"},
		{Purpose: PurposeReplicaWriteShared, Action: ActReplicateDelete, Failure: "DstDelObjNotPermitted", Trigger: TriggerDeleteMarker,
			Why: "the destination bucket admits replicated delete markers"},
		{Purpose: PurposeReplicaWriteShared, Action: ActReplicateTags, Failure: "DstPutTaggingNotPermitted", Trigger: TriggerTaggedObject,
			Why: "the destination bucket admits the replica's tags"},
		{Purpose: PurposeOwnerOverrideShared, Action: ActObjectOwnerOverride, Failure: "DstPutObjectNotPermitted", Trigger: TriggerObject, Only: OnlyOwnerOverride,
			Why: "the destination bucket admits the owner change of the pairs whose rule carries it; s3crr's mapping of the failure code"},
		{Purpose: PurposeReplicaEncryptShared, Action: ActKMSEncrypt, Failure: "DstPutObjectNotPermitted", Trigger: TriggerObject,
			Why: "the destination key admits S3 encrypting replicas as every s3crr replication role it serves; s3crr's mapping of the failure code"},
		{Purpose: PurposeReplicaEncryptShared, Action: ActKMSGenerateDataKey, Failure: "DstPutObjectNotPermitted", Trigger: TriggerBucketKeyObject,
			Why: "destination Bucket Keys, as for ReplicaEncrypt (docs/aws-facts.md#F-BUCKET-KEY)"},
		{Purpose: PurposeReplicaEncryptShared, Action: ActKMSDecrypt, Failure: "DstPutObjectNotPermitted", Trigger: TriggerBucketKeyObject,
			Why: "destination Bucket Keys, as for ReplicaEncrypt (docs/aws-facts.md#F-BUCKET-KEY)"},
		// The boundary's single KMS statement bounds both keys.
		{Purpose: PurposeReplicationKeys, Action: ActKMSDecrypt, Failure: "SrcGetObjectNotPermitted", Trigger: TriggerObject,
			Why: "the boundary must admit the source-key Decrypt (and the destination one with Bucket Keys)"},
		{Purpose: PurposeReplicationKeys, Action: ActKMSEncrypt, Failure: "DstPutObjectNotPermitted", Trigger: TriggerObject,
			Why: "the boundary must admit the destination-key Encrypt"},
		{Purpose: PurposeReplicationKeys, Action: ActKMSGenerateDataKey, Failure: "DstPutObjectNotPermitted", Trigger: TriggerBucketKeyObject,
			Why: "the boundary must admit GenerateDataKey for destination Bucket Keys"},
	}
	// The Batch role's permissions (and the boundary's, by the same purposes). A
	// Batch Replication job reports a missing one as a job failure or as failed
	// tasks; which code for the bucket-level and report grants is s3crr's mapping
	// (AWS documents only that the role needs them,
	// docs/aws-facts.md#F-BATCH-REPLICATION).
	repl = append(repl,
		Requirement{Purpose: PurposeBatchTrust, Action: "sts:AssumeRole", Failure: "AssumeRoleNotPermitted", Trigger: TriggerBatchJob,
			Why: "S3 Batch Operations assumes the Batch role to run the job; the job fails before any task"},
		Requirement{Purpose: PurposeBatchManifest, Action: ActGetReplicationConfiguration, Failure: "AccessDenied", Trigger: TriggerBatchJob,
			Why: "the generated manifest selects objects by the source bucket's rules; s3crr's mapping of the job failure"},
		Requirement{Purpose: PurposeBatchManifest, Action: ActPutInventoryConfiguration, Failure: "AccessDenied", Trigger: TriggerBatchJob,
			Why: "S3 generates the manifest from an inventory of the source bucket; s3crr's mapping of the job failure"},
		Requirement{Purpose: PurposeBatchInitiate, Action: ActInitiateReplication, Failure: "InitiateReplicationNotPermitted", Trigger: TriggerBatchJob,
			Why: "starts replication of each manifest object; every task fails without it"},
		Requirement{Purpose: PurposeBatchReportWrite, Action: ActPutObject, Failure: "AccessDenied", Trigger: TriggerBatchJob,
			Why: "writes the completion report the batchReport stage reads; s3crr's mapping of the job failure"},
	)
	for _, r := range repl {
		add(r)
	}

	// The provisioner's permissions, stage by stage: the calls each stage
	// makes and the action each call needs. This is the only list of them;
	// ProvisionerPolicy's comments say how each grant is scoped.
	prov := func(purpose, action string, stages []string, calls ...string) {
		add(Requirement{Purpose: purpose, Action: action, Stages: stages, Calls: calls})
	}
	provWhy := func(purpose, action string, stages []string, why string, calls ...string) {
		add(Requirement{Purpose: purpose, Action: action, Stages: stages, Calls: calls, Why: why})
	}
	s := func(v ...string) []string { return v }
	provWhy(PurposeProvisionerTrust, "sts:AssumeRole", s(names.StagePreflight),
		"the hub's provision Lambda works in a member account only as its provisioner role, with the ExternalId", "sts:AssumeRole")
	provWhy(PurposeBucketConfigRead, "s3:ListBucket", s(names.StagePreflight),
		"HeadBucket's x-amz-bucket-region header gives the bucket's region; GetBucketLocation would need s3:GetBucketLocation, not granted", "HeadBucket")
	prov(PurposeBucketConfigRead, "s3:GetBucketVersioning", s(names.StagePreflight, names.StageBucket), "GetBucketVersioning")
	prov(PurposeBucketConfigRead, "s3:GetReplicationConfiguration", s(names.StageValidate, names.StagePreflight, names.StageReplication, names.StageCheckReplication, names.StageDestroyEvents, names.StageDestroyKey, names.StageDestroyBucket), "GetBucketReplication")
	prov(PurposeBucketConfigRead, "s3:GetBucketObjectLockConfiguration", s(names.StageValidate, names.StagePreflight), "GetObjectLockConfiguration")
	prov(PurposeBucketConfigRead, "s3:GetBucketPublicAccessBlock", s(names.StageBucket), "GetPublicAccessBlock")
	prov(PurposeBucketConfigRead, "s3:GetBucketOwnershipControls", s(names.StageValidate, names.StageBucket), "GetBucketOwnershipControls")
	provWhy(PurposeBucketConfigRead, "s3:GetBucketPolicy", s(names.StageBucket, names.StageBucketPolicy),
		"the bucket stage merges the TLS-only deny, the bucketPolicy stage the replica grant, into what is there", "GetBucketPolicy")
	prov(PurposeBucketConfigRead, "s3:GetBucketTagging", s(names.StageBucket), "GetBucketTagging")
	prov(PurposeBucketConfigRead, "s3:GetEncryptionConfiguration", s(names.StageEncryption), "GetBucketEncryption")
	prov(PurposeBucketConfigRead, "s3:GetBucketNotification", s(names.StageEvents), "GetBucketNotificationConfiguration")
	provWhy(PurposeBucketConfigRead, "s3:GetLifecycleConfiguration", s(names.StageBucket, names.StageDestroyBucket),
		"PutBucketLifecycleConfiguration replaces the whole configuration, so the canary rule is merged into what is read (docs/aws-facts.md#F-S3-LIFECYCLE)", "GetBucketLifecycleConfiguration")
	provWhy(PurposeBucketConfigWrite, "s3:PutLifecycleConfiguration", s(names.StageBucket, names.StageDestroyBucket),
		"the canary lifecycle rule expires what a dead verification left; teardown removes it (docs/aws-facts.md#F-S3-LIFECYCLE)", "PutBucketLifecycleConfiguration", "DeleteBucketLifecycle (S3 authorizes it as s3:PutLifecycleConfiguration)")
	prov(PurposeBucketConfigWrite, "s3:CreateBucket", s(names.StageBucket), "CreateBucket")
	prov(PurposeBucketConfigWrite, "s3:PutBucketVersioning", s(names.StageBucket), "PutBucketVersioning", "CreateBucket with ObjectLockEnabledForBucket")
	provWhy(PurposeBucketConfigWrite, "s3:PutBucketObjectLockConfiguration", s(names.StageBucket),
		"the bucket stage creates the destination of an Object Lock source with Object Lock, and CreateBucket with ObjectLockEnabledForBucket needs it (docs/aws-facts.md#F-CREATEBUCKET-OBJECT-LOCK)",
		"CreateBucket with ObjectLockEnabledForBucket")
	prov(PurposeBucketConfigWrite, "s3:PutBucketPublicAccessBlock", s(names.StageBucket), "PutPublicAccessBlock")
	prov(PurposeBucketConfigWrite, "s3:PutBucketOwnershipControls", s(names.StageBucket), "PutBucketOwnershipControls", "CreateBucket with ObjectOwnership")
	prov(PurposeBucketConfigWrite, "s3:PutBucketPolicy", s(names.StageBucket, names.StageBucketPolicy), "PutBucketPolicy")
	prov(PurposeBucketConfigWrite, "s3:PutBucketTagging", s(names.StageBucket), "PutBucketTagging")
	prov(PurposeBucketConfigWrite, "s3:PutEncryptionConfiguration", s(names.StageEncryption), "PutBucketEncryption")
	prov(PurposeBucketConfigWrite, "s3:PutBucketNotification", s(names.StageEvents), "PutBucketNotificationConfiguration")
	prov(PurposeReplicationConfig, "s3:PutReplicationConfiguration", s(names.StageReplication, names.StageDestroyReplication), "PutBucketReplication", "DeleteBucketReplication (S3 authorizes it as s3:PutReplicationConfiguration)")
	provWhy(PurposePassRole, "iam:PassRole", s(names.StageReplication),
		"PutBucketReplication checks that the caller may pass the replication role it names to S3", "PutBucketReplication")
	provWhy(PurposePassBatchRole, "iam:PassRole", s(names.StageBatchStart),
		"CreateJob checks that the caller may pass the Batch role it names to S3 Batch Operations", "CreateJob")
	provWhy(PurposeRoleCreate, "iam:CreateRole", s(names.StageRole),
		"creates the replication role under /s3crr/, only with the permissions boundary", "CreateRole")
	prov(PurposeRoleManage, "iam:GetRole", s(names.StageValidate, names.StageRole, names.StageCheckReplication, names.StageDestroyRole), "GetRole")
	provWhy(PurposeRoleLookup, "iam:GetRole", s(names.StagePreflight, names.StageRole),
		"IAM authorizes GetRole of a role that does not exist yet against role/<name> without its path", "GetRole of the replication role before it exists")
	prov(PurposeRoleManage, "iam:UpdateAssumeRolePolicy", s(names.StageRole), "UpdateAssumeRolePolicy")
	provWhy(PurposeRolePolicyWrite, "iam:PutRolePolicy", s(names.StageRole),
		"the replication role's inline policy, only on a role carrying the boundary (iam:PermissionsBoundary)", "PutRolePolicy")
	prov(PurposeRoleManage, "iam:GetRolePolicy", s(names.StageValidate, names.StageRole, names.StageDestroyRole), "GetRolePolicy")
	prov(PurposeRoleManage, "iam:TagRole", s(names.StageRole), "CreateRole with Tags", "TagRole")
	provWhy(PurposeKeyCreate, "kms:CreateKey", s(names.StageKey),
		"KeySpec SYMMETRIC_DEFAULT and KeyUsage ENCRYPT_DECRYPT are passed explicitly, so the grant's conditions can require them", "CreateKey")
	provWhy(PurposeKeyCreateTags, "kms:TagResource", s(names.StageKey),
		"CreateKey with Tags also needs kms:TagResource; the tags let an interrupted run's key be adopted", "CreateKey with Tags")
	prov(PurposeAliasWrite, "kms:CreateAlias", s(names.StageKey), "CreateAlias")
	provWhy(PurposeAliasTarget, "kms:CreateAlias", s(names.StageKey),
		"CreateAlias is authorized on the alias and on the key it points at; here a key s3crr created (s3crr:managed-by)", "CreateAlias")
	provWhy(PurposeAliasTargetBrought, "kms:CreateAlias", s(names.StageKey),
		"the pair's alias on a key the request names by ARN, which its owner tagged s3crr:provisioner-access=allow", "CreateAlias")
	provWhy(PurposeKeyList, "kms:ListKeys", s(names.StageKey),
		"only when the alias is missing: find a key an earlier run created but did not alias (s3crr:alias tag) instead of creating a second one", "ListKeys")
	prov(PurposeKeyRead, "kms:DescribeKey", s(names.StageValidate, names.StagePreflight, names.StageKey, names.StageCheckReplication), "DescribeKey")
	prov(PurposeKeyRead, "kms:GetKeyPolicy", s(names.StageKeyPolicy), "GetKeyPolicy")
	prov(PurposeKeyRead, "kms:GetKeyRotationStatus", s(names.StageKey), "GetKeyRotationStatus")
	provWhy(PurposeKeyRead, "kms:ListResourceTags", s(names.StageKey),
		"only when the alias is missing, with ListKeys: recognise the unaliased key of an earlier run", "ListResourceTags")
	prov(PurposeKeyManage, "kms:PutKeyPolicy", s(names.StageKeyPolicy), "PutKeyPolicy")
	provWhy(PurposeKeyManageBrought, "kms:PutKeyPolicy", s(names.StageKeyPolicy),
		"the pair's key-policy statements on a key its owner brought and tagged s3crr:provisioner-access=allow", "PutKeyPolicy")
	provWhy(PurposeKeyDiscard, "kms:ScheduleKeyDeletion", s(names.StageKey, names.StageDestroyKey),
		"a duplicate run that lost the alias race to a run of the same pair deletes the key it created, instead of leaving it billed forever; `crr destroy --delete-keys` schedules the deletion of the pair's keys", "ScheduleKeyDeletion")
	// `crr destroy`'s stages.
	provWhy(PurposeBucketConfigRead, "s3:ListBucketVersions", s(names.StageDestroyBucket),
		"a bucket is deleted only when it holds no object version and no delete marker", "ListObjectVersions")
	provWhy(PurposeBucketTeardown, "s3:DeleteBucketPolicy", s(names.StageDestroyBucketPolicy),
		"a bucket policy whose only statements were the pair's is deleted rather than left empty (S3 refuses an empty policy)", "DeleteBucketPolicy")
	provWhy(PurposeBucketTeardown, "s3:DeleteBucket", s(names.StageDestroyBucket),
		"--delete-buckets deletes an empty bucket s3crr created for the pair", "DeleteBucket")
	prov(PurposeRoleTeardown, "iam:ListRolePolicies", s(names.StageDestroyRole), "ListRolePolicies")
	prov(PurposeRoleTeardown, "iam:DeleteRolePolicy", s(names.StageDestroyRole), "DeleteRolePolicy")
	provWhy(PurposeRoleTeardown, "iam:DeleteRole", s(names.StageDestroyRole),
		"the pair's replication role, only one tagged s3crr:managed-by", "DeleteRole")
	prov(PurposeAliasWrite, "kms:DeleteAlias", s(names.StageDestroyKey), "DeleteAlias")
	provWhy(PurposeAliasTarget, "kms:DeleteAlias", s(names.StageDestroyKey),
		"DeleteAlias is authorized on the alias and on the key it points at; here a key s3crr created (s3crr:managed-by)", "DeleteAlias")
	provWhy(PurposeAlarms, "cloudwatch:DeleteAlarms", s(names.StageDestroyEvents),
		"the pair's replication-failure alarm goes with the pair", "DeleteAlarms")
	prov(PurposeKeyManage, "kms:EnableKeyRotation", s(names.StageKey), "EnableKeyRotation")
	provWhy(PurposeAlarms, "cloudwatch:PutMetricAlarm", s(names.StageEvents),
		"the replication-failure alarm, with no tags and no actions", "PutMetricAlarm")
	provWhy(PurposeAlarms, "cloudwatch:DescribeAlarms", s(names.StageEvents),
		"DescribeAlarms with AlarmNames is authorized on each named alarm", "DescribeAlarms")
	prov(PurposeBatchJobs, "s3:CreateJob", s(names.StageBatchStart), "CreateJob")
	prov(PurposeBatchJobManage, "s3:DescribeJob", s(names.StageBatchStatus), "DescribeJob")
	provWhy(PurposeBatchJobManage, "s3:UpdateJobStatus", s(names.StageBatchStatus),
		"the job is created awaiting confirmation, so nothing runs before its manifest is counted, and confirmed here", "UpdateJobStatus")
	prov(PurposeBatchReportRead, "s3:GetObject", s(names.StageBatchReport), "GetObject of the completion report")
	provWhy(PurposeEventsQueueLookup, "sqs:GetQueueUrl", s(names.StagePreflight),
		"preflight finds MemberStack's events queue in the source region before replication is configured; S3 refuses a notification to a missing queue", "GetQueueUrl")

	// The hub roles. Only the Lambdas and state machines that exist get a
	// grant; the verify and monitor Lambdas add theirs with their code.
	prov(PurposeAssumeProvisioner, "sts:AssumeRole", s(HubProvisionFunction), "sts:AssumeRole")
	provWhy(PurposeDocumentLeases, "dynamodb:PutItem", s(HubProvisionFunction),
		"a conditional put takes the lease of a document other pairs also write, so two pairs never read-modify-write it at once (a lost grant)", "PutItem on the lease table")
	provWhy(PurposeDocumentLeases, "dynamodb:DeleteItem", s(HubProvisionFunction),
		"a conditional delete gives the lease back after the merge, so the next pair need not wait for it to expire", "DeleteItem on the lease table")
	provWhy(PurposePairsRead, "dynamodb:Scan", s(names.StageDestroyBucketPolicy, names.StageDestroyKeyPolicy, names.StageDestroyBucket),
		"teardown reads which registered pairs still use a destination's shared grant or bucket (the registry, not tags, says who uses what)", "Scan of the pairs table")
	prov(PurposePublishAlerts, "sns:Publish", s(HubStateMachine), "Publish")
	prov(PurposeAlertKey, ActKMSGenerateDataKey, s(HubStateMachine), "Publish (SNS calls GenerateDataKey)")
	prov(PurposeAlertKey, ActKMSDecrypt, s(HubStateMachine), "Publish (SNS calls Decrypt)")
	prov(PurposePairsRegister, "dynamodb:PutItem", s(HubStateMachine), "dynamodb:putItem task")
	prov(PurposePairsUnregister, "dynamodb:GetItem", s(HubStateMachine), "destroy's dynamodb:getItem task (the registered request)")
	prov(PurposePairsUnregister, "dynamodb:DeleteItem", s(HubStateMachine), "destroy's dynamodb:deleteItem task")
	provWhy(PurposePairsRedrive, "dynamodb:GetItem", s(HubStateMachine), "the redrive state machine loads the pair's registered request", "dynamodb:getItem task")
	provWhy(PurposePairsRedrive, "dynamodb:UpdateItem", s(HubStateMachine), "the redrive state machine records lastRedrive on the pair", "dynamodb:updateItem task")
	// The provision state machine's role may also invoke the verify Lambda: its run ends
	// with the new pair's verification (the verify ASL's per-pair states).
	prov(PurposeInvokeFunctions, "lambda:InvokeFunction", s(HubStateMachine), "lambda:invoke task", "lambda:invoke task of the new pair's verification (provision state machine)")

	// The replication monitor (ReplicationMonitorPolicy).
	prov(PurposeMonitorPairRead, "dynamodb:GetItem", s(HubReplicationMonitor), "GetItem of the pair an alert names")
	prov(PurposeMonitorDedup, "dynamodb:PutItem", s(HubReplicationMonitor), "TransactWriteItems Put of the occurrence marker")
	prov(PurposeMonitorDedup, "dynamodb:UpdateItem", s(HubReplicationMonitor), "TransactWriteItems Update of the window count", "UpdateItem (claim the window, mark sent and handled)")

	// The verifier role (VerifierPolicy): the canary, walked by internal/verify's
	// TestCanaryGrantsAreMinimal.
	can := s(VerifyCanary)
	provWhy(PurposeVerifierTrust, "sts:AssumeRole", can, "the verify Lambda writes the canary only as the member's verifier role, with the ExternalId", "sts:AssumeRole")
	provWhy(PurposeCanaryObjects, "s3:PutObject", can, "writes the canary under the reserved prefix", "PutObject")
	provWhy(PurposeCanaryObjects, "s3:GetObject", can, "reads the canary's replication status and the replica's encryption", "HeadObject")
	provWhy(PurposeCanaryObjects, "s3:DeleteObjectVersion", can, "deletes both canary versions by version ID, adding no delete marker", "DeleteObject with VersionId")
	provWhy(PurposeCanaryKey, ActKMSGenerateDataKey, can, "S3 asks KMS for the canary's data key as the writer", "PutObject with SSE-KMS")

	// The verify Lambda (VerifyFunctionPolicy).
	vf := s(HubVerifyFunction)
	provWhy(PurposeVerifyAssume, "sts:AssumeRole", vf, "the checks read each member as its auditor role, the canary writes as its verifier role", "sts:AssumeRole")
	prov(PurposeVerifyPairs, "dynamodb:Scan", vf, "Scan of the registered pairs (verify all)")
	prov(PurposeVerifyPairs, "dynamodb:GetItem", vf, "GetItem of one pair")
	prov(PurposeVerifyPairs, "dynamodb:UpdateItem", vf, "UpdateItem of the pair's last verification")
	provWhy(PurposeVerifyMetrics, "cloudwatch:PutMetricData", vf, "the s3crr namespace only (cloudwatch:namespace)", "PutMetricData")
	prov(PurposeVerifyAlerts, "sns:Publish", vf, "Publish of a failed verification")
	prov(PurposeVerifyAlertKey, ActKMSGenerateDataKey, vf, "Publish (SNS calls GenerateDataKey)")
	prov(PurposeVerifyAlertKey, ActKMSDecrypt, vf, "Publish (SNS calls Decrypt)")

	prov(PurposeInvokeVerifyFunction, "lambda:InvokeFunction", s(HubVerifyStateMachine), "lambda:invoke task of every verify stage")
	prov(PurposeVerifyChildRuns, "states:StartExecution", s(HubVerifyStateMachine), "the Distributed Map's child workflow execution of each pair")
	prov(PurposeVerifyChildExecutions, "states:DescribeExecution", s(HubVerifyStateMachine), "the Distributed Map following its child executions")
	prov(PurposeVerifyChildExecutions, "states:StopExecution", s(HubVerifyStateMachine), "the Distributed Map stopping its child executions when the Map Run fails")
	prov(PurposeStartVerification, "states:StartExecution", s(HubVerifySchedule), "the schedule's StartExecution target")

	// The member auditor role (AuditorPolicy): every read `crr doctor` makes; without
	// one, the check that needs it reports AccessDenied instead of a verdict.
	doc := s(AuditorDoctor)
	provWhy(PurposeAuditorTrust, "sts:AssumeRole", doc, "the hub reads a member only as its auditor role, with the ExternalId", "sts:AssumeRole")
	for _, a := range [][2]string{
		{"s3:GetBucketVersioning", "GetBucketVersioning"}, {ActGetReplicationConfiguration, "GetBucketReplication"},
		{"s3:GetBucketPolicy", "GetBucketPolicy"}, {"s3:GetEncryptionConfiguration", "GetBucketEncryption"},
		{"s3:GetBucketPublicAccessBlock", "GetPublicAccessBlock"}, {"s3:GetBucketNotification", "GetBucketNotificationConfiguration"},
		{"s3:GetBucketObjectLockConfiguration", "GetObjectLockConfiguration"},
		{"s3:GetLifecycleConfiguration", "GetBucketLifecycleConfiguration"},
	} {
		prov(PurposeAuditBuckets, a[0], doc, a[1])
	}
	prov(PurposeAuditKeys, "kms:DescribeKey", doc, "DescribeKey")
	prov(PurposeAuditKeys, "kms:GetKeyPolicy", doc, "GetKeyPolicy")
	prov(PurposeAuditKeys, "kms:GetKeyRotationStatus", doc, "GetKeyRotationStatus")
	prov(PurposeAuditRoles, "iam:GetRole", doc, "GetRole")
	prov(PurposeAuditRoles, "iam:GetRolePolicy", doc, "GetRolePolicy")
	prov(PurposeAuditRoles, "iam:ListRolePolicies", doc, "ListRolePolicies")
	provWhy(PurposeAuditRoles, "iam:SimulatePrincipalPolicy", doc, "IAM's own evaluator judges the replication role's identity policies", "SimulatePrincipalPolicy")
	prov(PurposeAuditAlarms, "cloudwatch:DescribeAlarms", doc, "DescribeAlarms")
	return m
}()

// RequiredBy explains why the statement with this Sid grants this action:
// the replication failure or the failing stage without it. ok is false for
// a foreign Sid, a Deny-only Sid, or an action s3crr does not grant there.
func RequiredBy(sid, action string) (r Requirement, ok bool) {
	_, purpose, ok := ParseSid(sid)
	if !ok {
		return Requirement{}, false
	}
	r, ok = requirements[reqKey{purpose, strings.ToLower(action)}]
	return r, ok
}

// Requirements returns every entry of the table, for tests and docs.
func Requirements() []Requirement {
	out := make([]Requirement, 0, len(requirements))
	for _, r := range requirements {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Purpose != out[j].Purpose {
			return out[i].Purpose < out[j].Purpose
		}
		return out[i].Action < out[j].Action
	})
	return out
}
