package cdk

import "strings"

// A reviewedWildcard is one AwsSolutions-IAM5 finding a reviewer has accepted: the
// statement that produces it, the finding as cdk-nag reports it, and why the wildcard
// is as narrow as AWS allows. {account}, {buckets}, {aliases} and {provisioner} stand for
// the member account, the configured bucket pattern (Config.BucketPattern), the configured
// alias pattern (Config.AliasPattern) and the provisioner role's name.
//
// This list is written by hand on purpose: a wildcard added to a policy builder in
// internal/policy is not on it, so cdk-nag reports it unsuppressed and synth fails
// until someone adds it here with a reason (TestNagCatchesNewWildcard).
type reviewedWildcard struct {
	sid, finding, reason string
}

// provisionerWildcards are the accepted wildcards of the member provisioner role
// (policy.ProvisionerPolicy).
var provisionerWildcards = []reviewedWildcard{
	{"S3crrBucketConfigRead", "Resource::arn:aws:s3:::{buckets}", "buckets s3crr may manage: the configured bucketNamePrefix"},
	{"S3crrBucketConfigWrite", "Resource::arn:aws:s3:::{buckets}", "buckets s3crr may manage: the configured bucketNamePrefix"},
	{"S3crrReplicationConfig", "Resource::arn:aws:s3:::{buckets}", "buckets s3crr may manage: the configured bucketNamePrefix"},
	{"S3crrPassReplicationRole", "Resource::arn:aws:iam::{account}:role/s3crr/s3crr-repl-*", "replication roles are created per source bucket under /s3crr/ with the boundary; passed only to S3"},
	{"S3crrPassBatchRole", "Resource::arn:aws:iam::{account}:role/s3crr/s3crr-batch-*", "Batch Operations roles are created per pair under /s3crr/ with the boundary; passed only to S3 Batch Operations"},
	{"S3crrRoleCreate", "Resource::arn:aws:iam::{account}:role/s3crr/*", "replication roles are created per pair under /s3crr/, only with the boundary"},
	{"S3crrRoleManage", "Resource::arn:aws:iam::{account}:role/s3crr/*", "replication roles under /s3crr/, which carry the boundary"},
	{"S3crrRolePolicyWrite", "Resource::arn:aws:iam::{account}:role/s3crr/*", "replication roles under /s3crr/, only those carrying the boundary (iam:PermissionsBoundary)"},
	{"S3crrBucketTeardown", "Resource::arn:aws:s3:::{buckets}", "crr destroy: buckets s3crr may manage (bucketNamePrefix); DeleteBucket fails on any bucket holding a version, and the stage deletes only buckets tagged as s3crr's for the pair"},
	{"S3crrRoleTeardown", "Resource::arn:aws:iam::{account}:role/s3crr/*", "crr destroy: replication roles under /s3crr/, only those tagged s3crr:managed-by (aws:ResourceTag)"},
	{"S3crrRoleLookup", "Resource::arn:aws:iam::{account}:role/s3crr-repl-*", "read-only GetRole of a replication role before it exists (IAM authorizes it without the path)"},
	{"S3crrRoleLookup", "Resource::arn:aws:iam::{account}:role/s3crr-batch-*", "read-only GetRole of a pair's Batch Operations role before it exists (IAM authorizes it without the path)"},
	{"S3crrBatchJobs", "Resource::*", "s3:CreateJob has no resource (the job does not exist yet); the job's role is passed only if it is an s3crr role under /s3crr/"},
	{"S3crrBatchJobManage", "Resource::arn:aws:s3:*:{account}:job/*", "DescribeJob and UpdateJobStatus of this account's Batch Operations jobs (job IDs are generated), in any region since source regions vary per pair"},
	{"S3crrBatchReportRead", "Resource::arn:aws:s3:::{buckets}/.s3crr-batch-reports/*", "GetObject of Batch Replication completion reports only, under the reserved prefix of the configured buckets"},
	{"S3crrKeyCreate", "Resource::*", "kms:CreateKey has no resource; conditioned on key spec and usage"},
	{"S3crrKeyCreateTags", "Resource::*", "CreateKey's kms:TagResource is checked before the key exists; conditioned on s3crr's marker tag"},
	{"S3crrKeyList", "Resource::*", "kms:ListKeys supports no resource-level permissions"},
	{"S3crrAliasWrite", "Resource::arn:aws:kms:*:{account}:{aliases}", "s3crr's aliases (the configured kmsAliasPrefix); pairs live in any region"},
	{"S3crrAliasTargetKey", "Resource::arn:aws:kms:*:{account}:key/*", "keys are created at run time; CreateAlias is also authorized on the target key; only keys s3crr created (s3crr:managed-by)"},
	{"S3crrAliasTargetBroughtKey", "Resource::arn:aws:kms:*:{account}:key/*", "a key the user brings; only if its owner tagged it s3crr:provisioner-access=allow"},
	{"S3crrKeyRead", "Resource::arn:aws:kms:*:{account}:key/*", "read-only; preflight inspects a key the user names before it has an s3crr alias"},
	{"S3crrKeyManage", "Resource::arn:aws:kms:*:{account}:key/*", "keys are created at run time; conditioned on an alias under the configured kmsAliasPrefix and s3crr's creation tag"},
	{"S3crrKeyManageBroughtKey", "Resource::arn:aws:kms:*:{account}:key/*", "PutKeyPolicy on a key the user brings; conditioned on an alias under the configured kmsAliasPrefix and the owner's s3crr:provisioner-access tag"},
	{"S3crrKeyDiscard", "Resource::arn:aws:kms:*:{account}:key/*", "a duplicate run deletes the key it created; only keys s3crr created that no alias names"},
	{"S3crrDenyTaggingExistingKeys", "Resource::arn:aws:kms:*:{account}:key/*", "a Deny: no tagging of any existing key, so s3crr's tags prove creation"},
	{"S3crrDenyLockoutBypass", "Resource::*", "a Deny: no key policy may skip the lockout safety check"},
	{"S3crrAlarms", "Resource::arn:aws:cloudwatch:*:{account}:alarm:s3crr-*", "s3crr's alarms of this account, in any region since source regions vary per pair"},
	{"S3crrEventsQueueLookup", "Resource::arn:aws:sqs:*:{account}:s3crr-replication-events", "read-only GetQueueUrl of MemberStack's events queue (one name) in this account, in any region since source regions vary per pair"},
}

// verifierWildcards are the accepted wildcards of the member verifier role
// (policy.VerifierPolicy): the canary's objects and its key use.
var verifierWildcards = []reviewedWildcard{
	{"S3crrCanaryObjects", "Resource::arn:aws:s3:::{buckets}/*.s3crr-canary/*", "only the verification canary's reserved prefix (any rule prefix, then .s3crr-canary/) of the configured buckets"},
	{"S3crrCanaryKey", "Resource::arn:aws:kms:*:{account}:key/*", "GenerateDataKey for the canary's SSE-KMS upload; only through S3 (kms:ViaService) and only for the canary prefix or the bucket (encryption context)"},
}

// auditorWildcards are the accepted wildcards of the read-only auditor role
// (policy.AuditorPolicy): a pair set up by hand has bucket, key and role names s3crr did
// not choose, so the reads cover the account's own resources of each kind.
var auditorWildcards = []reviewedWildcard{
	{"S3crrAuditBuckets", "Resource::arn:aws:s3:::*", "configuration reads (no object data) of this account's buckets only (s3:ResourceAccount)"},
	{"S3crrAuditKeys", "Resource::arn:aws:kms:*:{account}:key/*", "DescribeKey, GetKeyPolicy, GetKeyRotationStatus of this account's keys, in any region"},
	{"S3crrAuditRoles", "Resource::arn:aws:iam::{account}:role/*", "reads and policy simulation of this account's roles: a hand-made replication role has any name and path"},
	{"S3crrAuditAlarmConfig", "Resource::arn:aws:cloudwatch:*:{account}:alarm:*", "DescribeAlarms of this account's alarms, in any region"},
}

// boundaryWildcards are the accepted wildcards of the replication permissions
// boundary (policy.ReplicationBoundary), attached to no principal by itself.
var boundaryWildcards = []reviewedWildcard{
	{"S3crrBoundarySourceBucket", "Resource::arn:aws:s3:::{buckets}", "the configured bucketNamePrefix, source and destination alike"},
	{"S3crrBoundarySourceObjects", "Resource::arn:aws:s3:::{buckets}/*", "the configured bucketNamePrefix's objects"},
	{"S3crrBoundaryReplicaWrite", "Resource::arn:aws:s3:::{buckets}/*", "the configured bucketNamePrefix's objects"},
	{"S3crrBoundaryBatchManifest", "Resource::arn:aws:s3:::{buckets}", "the configured bucketNamePrefix: the Batch role's inventory for the generated manifest"},
	{"S3crrBoundaryBatchInitiate", "Resource::arn:aws:s3:::{buckets}/*", "the configured bucketNamePrefix's objects: the Batch role starts their replication"},
	{"S3crrBoundaryBatchReportWrite", "Resource::arn:aws:s3:::{buckets}/.s3crr-batch-reports/*", "completion reports only, under the reserved prefix of the configured buckets"},
	{"S3crrBoundaryReplicationKeys", "Resource::arn:aws:kms:*:*:key/*", "keys are created at run time in both accounts; narrowed by kms:ViaService (S3) and the buckets' encryption context"},
}

// organizationHubWildcards are the accepted wildcards of a hub Lambda role that assumes
// the provisioner roles when organizationId is set (policy.HubParams.OrganizationID).
var organizationHubWildcards = []reviewedWildcard{
	{"S3crrAssumeProvisioner", "Resource::arn:aws:iam::*:role/{provisioner}", "the provisioner role of any account of the configured organization (aws:ResourceOrgID), so a new member account needs no hub redeploy; each role still trusts only this role with the ExternalId"},
}

// verifyFunctionWildcards are the accepted wildcards of the verify Lambda's role
// (policy.VerifyFunctionPolicy).
var verifyFunctionWildcards = []reviewedWildcard{
	{"S3crrVerifyMetrics", "Resource::*", "cloudwatch:PutMetricData supports no resource-level permissions; conditioned on cloudwatch:namespace = s3crr"},
}

// verifyStateMachineWildcards are the accepted wildcards of the verify state machine's
// role (policy.VerifyStateMachinePolicy).
var verifyStateMachineWildcards = []reviewedWildcard{
	{"S3crrVerifyChildExecutions", "Resource::arn:aws:states:{region}:{account}:execution:s3crr-verify/*", "the Distributed Map's child workflow executions of the verify state machine itself, whose names Step Functions generates (<state machine>/<Map Run label>:<id>); DescribeExecution and StopExecution only, as AWS documents for a Distributed Map"},
}

// organizationVerifyWildcards are the accepted wildcards of the verify Lambda's role when
// organizationId is set (policy.VerifyFunctionPolicy).
var organizationVerifyWildcards = []reviewedWildcard{
	{"S3crrVerifyAssumeMemberRoles", "Resource::arn:aws:iam::*:role/s3crr-verifier", "the verify Lambda writes the canary as the verifier role of any account of the configured organization (aws:ResourceOrgID)"},
	{"S3crrVerifyAssumeMemberRoles", "Resource::arn:aws:iam::*:role/s3crr-auditor", "the verify Lambda reads as the auditor role of any account of the configured organization (aws:ResourceOrgID)"},
}

// expandWildcards renders a list for one member account and the configuration, and
// the reason cdk-nag shows: every accepted finding with its statement and reason.
func expandWildcards(list []reviewedWildcard, account string, cfg Config) (findings []string, reason string) {
	r := strings.NewReplacer("{account}", account, "{buckets}", cfg.BucketPattern(), "{aliases}", cfg.AliasPattern(),
		"{provisioner}", cfg.ProvisionerRoleName, "{region}", cfg.HubRegion)
	var why []string
	for _, w := range list {
		findings = append(findings, r.Replace(w.finding))
		why = append(why, w.sid+": "+w.reason)
	}
	return findings, strings.Join(why, "; ") + "."
}
