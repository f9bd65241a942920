package policy

import (
	"sort"
	"strings"
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
//   - Object Lock reads and the owner override are part of reading the source
//     version and writing the replica.
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
)

// Options under which a replication action is granted (ReplicationParams
// fields); a test must turn the option on to see the action at all.
const (
	OnlyOwnerOverride = "OwnerOverride"
	OnlyObjectLock    = "ObjectLock"
	OnlyBucketKey     = "BucketKeyEnabled"
)

// Provisioning stages and hub components, as named in docs/architecture.md. They label
// which step fails with AccessDenied when a provisioner or hub action is
// missing.
const (
	StagePreflight   = "preflight"
	StageBuckets     = "buckets"
	StageKeys        = "keys"
	StageRole        = "role"
	StagePolicies    = "policies"
	StageEncryption  = "encryption"
	StageReplication = "replication"
	StageEvents      = "events"
	StageVerify      = "verify"

	HubProvisionFunction = "provision-function"
	HubVerifyFunction    = "verify-function"
	HubMonitorFunction   = "monitor-function"
	HubStateMachine      = "state-machine"
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
		{Purpose: PurposeSourceObjects, Action: ActGetObjectRetention, Failure: "SrcGetObjectNotPermitted", Trigger: TriggerLockedObject, Only: OnlyObjectLock,
			Why: "reads the version's retention to replicate it (S3 UG object-lock-managing); s3crr's mapping of the failure code"},
		{Purpose: PurposeSourceObjects, Action: ActGetObjectLegalHold, Failure: "SrcGetObjectNotPermitted", Trigger: TriggerLockedObject, Only: OnlyObjectLock,
			Why: "reads the version's legal hold to replicate it; s3crr's mapping of the failure code"},
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
		{Purpose: PurposeReplicaEncrypt, Action: ActKMSGenerateDataKey, Failure: "DstPutObjectNotPermitted", Trigger: TriggerObject, Only: OnlyBucketKey,
			Why: "with Bucket Keys S3 generates the destination bucket key as the role (docs/aws-facts.md#F-BUCKET-KEY)"},
		{Purpose: PurposeReplicaEncrypt, Action: ActKMSDecrypt, Failure: "DstPutObjectNotPermitted", Trigger: TriggerObject, Only: OnlyBucketKey,
			Why: "with Bucket Keys S3 decrypts the destination bucket key as the role (docs/aws-facts.md#F-BUCKET-KEY)"},
		// The boundary's single KMS statement bounds both keys.
		{Purpose: PurposeReplicationKeys, Action: ActKMSDecrypt, Failure: "SrcGetObjectNotPermitted", Trigger: TriggerObject,
			Why: "the boundary must admit the source-key Decrypt (and the destination one with Bucket Keys)"},
		{Purpose: PurposeReplicationKeys, Action: ActKMSEncrypt, Failure: "DstPutObjectNotPermitted", Trigger: TriggerObject,
			Why: "the boundary must admit the destination-key Encrypt"},
		{Purpose: PurposeReplicationKeys, Action: ActKMSGenerateDataKey, Failure: "DstPutObjectNotPermitted", Trigger: TriggerObject, Only: OnlyBucketKey,
			Why: "the boundary must admit GenerateDataKey for destination Bucket Keys"},
	}
	for _, r := range repl {
		add(r)
	}

	// The provisioner's permissions: the stage table of provisioner.go.
	prov := func(purpose, action string, stages []string, calls ...string) {
		add(Requirement{Purpose: purpose, Action: action, Stages: stages, Calls: calls})
	}
	s := func(v ...string) []string { return v }
	prov(PurposeProvisionerTrust, "sts:AssumeRole", s(StagePreflight), "sts:AssumeRole")
	prov(PurposeBucketConfigRead, "s3:ListBucket", s(StagePreflight), "HeadBucket")
	prov(PurposeBucketConfigRead, "s3:GetBucketVersioning", s(StagePreflight, StageBuckets, StageVerify), "GetBucketVersioning")
	prov(PurposeBucketConfigRead, "s3:GetReplicationConfiguration", s(StagePreflight, StageReplication, StageVerify), "GetBucketReplication")
	prov(PurposeBucketConfigRead, "s3:GetBucketObjectLockConfiguration", s(StagePreflight), "GetObjectLockConfiguration")
	prov(PurposeBucketConfigRead, "s3:GetBucketPublicAccessBlock", s(StageBuckets), "GetPublicAccessBlock")
	prov(PurposeBucketConfigRead, "s3:GetBucketOwnershipControls", s(StageBuckets), "GetBucketOwnershipControls")
	prov(PurposeBucketConfigRead, "s3:GetBucketPolicy", s(StageBuckets, StagePolicies, StageVerify), "GetBucketPolicy")
	prov(PurposeBucketConfigRead, "s3:GetBucketTagging", s(StageBuckets), "GetBucketTagging")
	prov(PurposeBucketConfigRead, "s3:GetEncryptionConfiguration", s(StageEncryption), "GetBucketEncryption")
	prov(PurposeBucketConfigRead, "s3:GetBucketNotification", s(StageEvents), "GetBucketNotificationConfiguration")
	prov(PurposeBucketConfigWrite, "s3:CreateBucket", s(StageBuckets), "CreateBucket")
	prov(PurposeBucketConfigWrite, "s3:PutBucketVersioning", s(StageBuckets), "PutBucketVersioning")
	prov(PurposeBucketConfigWrite, "s3:PutBucketPublicAccessBlock", s(StageBuckets), "PutPublicAccessBlock")
	prov(PurposeBucketConfigWrite, "s3:PutBucketOwnershipControls", s(StageBuckets), "PutBucketOwnershipControls")
	prov(PurposeBucketConfigWrite, "s3:PutBucketPolicy", s(StageBuckets, StagePolicies), "PutBucketPolicy")
	prov(PurposeBucketConfigWrite, "s3:PutBucketTagging", s(StageBuckets), "PutBucketTagging")
	prov(PurposeBucketConfigWrite, "s3:PutEncryptionConfiguration", s(StageEncryption), "PutBucketEncryption")
	prov(PurposeBucketConfigWrite, "s3:PutBucketNotification", s(StageEvents), "PutBucketNotificationConfiguration")
	prov(PurposeReplicationConfig, "s3:PutReplicationConfiguration", s(StageReplication), "PutBucketReplication")
	prov(PurposePassRole, "iam:PassRole", s(StageReplication), "PutBucketReplication")
	prov(PurposeRoleCreate, "iam:CreateRole", s(StageRole), "CreateRole")
	prov(PurposeRoleManage, "iam:GetRole", s(StageRole), "GetRole")
	prov(PurposeRoleLookup, "iam:GetRole", s(StagePreflight, StageRole), "GetRole of the replication role before it exists")
	prov(PurposeRoleManage, "iam:UpdateAssumeRolePolicy", s(StageRole), "UpdateAssumeRolePolicy")
	prov(PurposeRoleManage, "iam:PutRolePolicy", s(StageRole), "PutRolePolicy")
	prov(PurposeRoleManage, "iam:GetRolePolicy", s(StageRole), "GetRolePolicy")
	prov(PurposeRoleManage, "iam:TagRole", s(StageRole), "CreateRole with Tags", "TagRole")
	prov(PurposeKeyCreate, "kms:CreateKey", s(StageKeys), "CreateKey")
	prov(PurposeKeyCreateTags, "kms:TagResource", s(StageKeys), "CreateKey with Tags")
	prov(PurposeAliasWrite, "kms:CreateAlias", s(StageKeys), "CreateAlias")
	prov(PurposeAliasTarget, "kms:CreateAlias", s(StageKeys), "CreateAlias")
	prov(PurposeKeyList, "kms:ListKeys", s(StageKeys), "ListKeys (adopting an unaliased key of an earlier run)")
	prov(PurposeKeyRead, "kms:DescribeKey", s(StagePreflight, StageKeys, StageVerify), "DescribeKey")
	prov(PurposeKeyRead, "kms:GetKeyPolicy", s(StagePolicies, StageVerify), "GetKeyPolicy")
	prov(PurposeKeyRead, "kms:GetKeyRotationStatus", s(StageKeys), "GetKeyRotationStatus")
	prov(PurposeKeyRead, "kms:ListResourceTags", s(StageKeys), "ListResourceTags (adopting an unaliased key of an earlier run)")
	prov(PurposeKeyManage, "kms:PutKeyPolicy", s(StagePolicies), "PutKeyPolicy")
	prov(PurposeKeyManage, "kms:EnableKeyRotation", s(StageKeys), "EnableKeyRotation")
	prov(PurposeCanaryObjects, "s3:PutObject", s(StageVerify), "PutObject")
	prov(PurposeCanaryObjects, "s3:GetObject", s(StageVerify), "GetObject", "HeadObject")
	prov(PurposeCanaryObjects, "s3:GetObjectVersion", s(StageVerify), "GetObject(versionId)", "HeadObject(versionId)")
	prov(PurposeCanaryObjects, "s3:DeleteObjectVersion", s(StageVerify), "DeleteObject(versionId)")
	prov(PurposeCanaryList, "s3:ListBucketVersions", s(StageVerify), "ListObjectVersions")
	prov(PurposeCanaryKeys, ActKMSGenerateDataKey, s(StageVerify), "PutObject (S3 calls GenerateDataKey)")
	prov(PurposeCanaryKeys, ActKMSDecrypt, s(StageVerify), "GetObject (S3 calls Decrypt)")
	prov(PurposeAlarms, "cloudwatch:PutMetricAlarm", s(StageEvents), "PutMetricAlarm")
	prov(PurposeAlarms, "cloudwatch:DescribeAlarms", s(StageEvents), "DescribeAlarms")

	// The hub roles.
	prov(PurposeAssumeProvisioner, "sts:AssumeRole", s(HubProvisionFunction, HubVerifyFunction), "sts:AssumeRole")
	prov(PurposePutMetrics, "cloudwatch:PutMetricData", s(HubVerifyFunction), "PutMetricData")
	prov(PurposePublishAlerts, "sns:Publish", s(HubStateMachine, HubVerifyFunction, HubMonitorFunction), "Publish")
	prov(PurposeAlertKey, ActKMSGenerateDataKey, s(HubStateMachine, HubVerifyFunction, HubMonitorFunction), "Publish (SNS calls GenerateDataKey)")
	prov(PurposeAlertKey, ActKMSDecrypt, s(HubStateMachine, HubVerifyFunction, HubMonitorFunction), "Publish (SNS calls Decrypt)")
	prov(PurposePairsLookup, "dynamodb:GetItem", s(HubMonitorFunction), "GetItem")
	prov(PurposePairsLookup, "dynamodb:UpdateItem", s(HubMonitorFunction), "UpdateItem")
	prov(PurposePairsLookup, "dynamodb:PutItem", s(HubMonitorFunction), "PutItem")
	prov(PurposePairsRegister, "dynamodb:PutItem", s(HubStateMachine), "dynamodb:putItem task")
	prov(PurposeInvokeFunctions, "lambda:InvokeFunction", s(HubStateMachine), "lambda:invoke task")
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
