package policy

import "github.com/s3crr/s3crr/internal/names"

// This file builds the member account's provisioner role (trusted by the hub
// Lambdas) and the permissions boundary every replication role carries.
//
// Why each action is granted (the stage and API call that need it) is
// written once, as data, in requirements.go; the permission-minimality test
// walks these documents against it.
//
// Deletes are granted only for `crr destroy`, and only on what s3crr makes: roles under
// /s3crr/ tagged s3crr:managed-by, aliases under the alias prefix and keys tagged
// s3crr:managed-by (which only CreateKey can set), s3crr's alarms, in-prefix buckets
// (DeleteBucket fails on a bucket holding any version, and the destroy stage deletes only
// buckets tagged as s3crr's for the pair). Not granted: deleting objects, disabling keys,
// deleting a key s3crr did not create; iam:PutRolePermissionsBoundary / DeleteRolePermissionsBoundary (so a role
// created with the boundary keeps it); iam:AttachRolePolicy (inline only).

// More condition operators and keys.
const (
	ArnEquals = "ArnEquals"

	KeyExternalID         = "sts:ExternalId"
	KeyPrincipalArn       = "aws:PrincipalArn"
	KeyPermissionsBound   = "iam:PermissionsBoundary"
	KeyPassedToService    = "iam:PassedToService"
	KeyKMSKeySpec         = "kms:KeySpec"
	KeyKMSKeyUsage        = "kms:KeyUsage"
	KeyKMSResourceAliases = "kms:ResourceAliases"
	KeyKMSBypassLockout   = "kms:BypassPolicyLockoutSafetyCheck"
	KeyTagKeys            = "aws:TagKeys"
	KeyS3ResourceAccount  = "s3:ResourceAccount"
	KeyResourceOrgID      = "aws:ResourceOrgID"
	ForAllValuesEquals    = "ForAllValues:StringEquals"
	Null                  = "Null"
)

// ResourceTagKey is the aws:ResourceTag/<tag> condition key.
func ResourceTagKey(tag string) string { return "aws:ResourceTag/" + tag }

// ProvisionerParams configures the member provisioner role. Values may be CDK
// tokens: the builders only concatenate them.
type ProvisionerParams struct {
	// Account is the member account the role lives in.
	Account string
	// HubAccount is the automation account whose Lambda roles assume this role.
	HubAccount string
	// HubRoleARNs are the hub Lambda roles (today the provision Lambda's) allowed to
	// assume the provisioner. ArnLike patterns are accepted.
	HubRoleARNs []string
	// ExternalID is the deployment's shared ExternalId.
	ExternalID string
	// BucketPattern limits every S3 permission to matching bucket names,
	// e.g. "acme-*"; empty means "*".
	BucketPattern string
	// AliasPattern limits the aliases the role may create and the keys it may
	// change (kms:ResourceAliases), e.g. "alias/acme-*"; empty means the
	// names.AliasPattern. A deployment setting, since teams name keys by
	// their own conventions.
	AliasPattern string
}

func (p ProvisionerParams) aliasPattern() string {
	if p.AliasPattern == "" {
		return names.AliasPattern
	}
	return p.AliasPattern
}

func (p ProvisionerParams) bucketPattern() string {
	if p.BucketPattern == "" {
		return "*"
	}
	return p.BucketPattern
}

// Provisioner purposes (fixed Sids: SidPrefix + purpose).
const (
	PurposeProvisionerTrust   = "ProvisionerTrust"
	PurposeBucketConfigRead   = "BucketConfigRead"
	PurposeBucketConfigWrite  = "BucketConfigWrite"
	PurposeReplicationConfig  = "ReplicationConfig"
	PurposePassRole           = "PassReplicationRole"
	PurposePassBatchRole      = "PassBatchRole"
	PurposeRoleCreate         = "RoleCreate"
	PurposeRoleManage         = "RoleManage"
	PurposeRoleLookup         = "RoleLookup"
	PurposeKeyCreate          = "KeyCreate"
	PurposeKeyCreateTags      = "KeyCreateTags"
	PurposeAliasWrite         = "AliasWrite"
	PurposeAliasTarget        = "AliasTargetKey"
	PurposeAliasTargetBrought = "AliasTargetBroughtKey"
	PurposeKeyList            = "KeyList"
	PurposeKeyRead            = "KeyRead"
	PurposeKeyManage          = "KeyManage"
	PurposeKeyManageBrought   = "KeyManageBroughtKey"
	PurposeKeyDiscard         = "KeyDiscard"
	PurposeRolePolicyWrite    = "RolePolicyWrite"
	PurposeAlarms             = "Alarms"
	PurposeEventsQueueLookup  = "EventsQueueLookup"
	PurposeBucketTeardown     = "BucketTeardown"
	PurposeRoleTeardown       = "RoleTeardown"
	PurposeBatchJobs          = "BatchJobs"
	PurposeBatchJobManage     = "BatchJobManage"
	PurposeBatchReportRead    = "BatchReportRead"
	// Deny purposes: guards, not grants (no requirement rows).
	PurposeDenyKeyRetag      = "DenyTaggingExistingKeys"
	PurposeDenyLockoutBypass = "DenyLockoutBypass"
)

// ProvisionerTrustPolicy lets the hub's Lambda roles assume the provisioner,
// only with the deployment's ExternalId.
//
// The principal is the hub account root narrowed by aws:PrincipalArn rather
// than the role ARNs themselves: IAM rewrites a role principal to the role's
// unique ID, so a hub role recreated by a redeploy would silently lose
// access, and naming a role that does not exist yet makes the trust policy
// invalid, which would force a deploy order between the stacks.
func ProvisionerTrustPolicy(p ProvisionerParams) Document {
	return Document{Version: Version, Statement: []Statement{{
		Sid:       SidPrefix + PurposeProvisionerTrust,
		Effect:    Allow,
		Principal: AWSPrincipal(AccountRootARN(p.HubAccount)),
		Action:    []string{"sts:AssumeRole"},
		Condition: map[string]map[string][]string{
			StringEquals: {KeyExternalID: {p.ExternalID}},
			ArnLike:      {KeyPrincipalArn: cloneStrings(p.HubRoleARNs)},
		},
	}}}
}

// ProvisionerPolicy is the provisioner role's permission policy: exactly what
// the provisioning stages call (requirements.go says which stage needs each
// action), scoped to the configured buckets, to s3crr's key aliases, to
// roles under /s3crr/ that carry the boundary, and to s3crr's alarms.
//
// KMS key scope: keys are created at run time, so key ARNs cannot be listed.
// Reads (DescribeKey, GetKeyPolicy, GetKeyRotationStatus) cover every key in
// the account, because preflight must inspect a key the user names before it
// has an s3crr alias. Every change to a key (pointing an alias at it,
// PutKeyPolicy, EnableKeyRotation) requires a tag only the key's owner can
// have set: s3crr:managed-by=s3crr, which the provisioner can set only in
// CreateKey (TagResource on an existing key is denied, and at creation
// aws:TagKeys limits it to s3crr's creation tags), or the owner's
// s3crr:provisioner-access=allow on a key they bring. So no grant here lets
// the provisioner take over a key it did not create and was not given
// (docs/aws-facts.md#F-KMS-ABAC-TAGS). Policy changes additionally need an
// alias/s3crr* alias (kms:ResourceAliases), and bypassing the key policy
// lockout safety check is denied (docs/aws-facts.md#F-KMS-LOCKOUT-CHECK).
func ProvisionerPolicy(p ProvisionerParams) Document {
	acct := p.Account
	buckets := BucketARN(p.bucketPattern())
	keys := "arn:" + names.Partition + ":kms:*:" + acct + ":key/*"
	aliases := "arn:" + names.Partition + ":kms:*:" + acct + ":" + p.aliasPattern()
	rolePath := "arn:" + names.Partition + ":iam::" + acct + ":role" + names.RolePath
	roles := rolePath + "*"
	withAlias := map[string][]string{KeyKMSResourceAliases: {p.aliasPattern()}}
	createdKey := map[string][]string{ResourceTagKey(names.ManagedByTagKey): {names.ManagedByTagValue}}
	broughtKey := map[string][]string{ResourceTagKey(names.BroughtKeyTagKey): {names.BroughtKeyTagValue}}

	st := []Statement{
		{
			Sid:    SidPrefix + PurposeBucketConfigRead,
			Effect: Allow,
			Action: []string{
				"s3:ListBucket",
				"s3:GetBucketVersioning",
				"s3:GetReplicationConfiguration",
				"s3:GetBucketObjectLockConfiguration",
				"s3:GetBucketPublicAccessBlock",
				"s3:GetBucketOwnershipControls",
				"s3:GetBucketPolicy",
				"s3:GetBucketTagging",
				"s3:GetEncryptionConfiguration",
				"s3:GetBucketNotification",
				// The bucket stage merges the canary lifecycle rule into what is there.
				"s3:GetLifecycleConfiguration",
				// The destroy stage deletes a bucket only when it holds no version
				// and no delete marker.
				"s3:ListBucketVersions",
			},
			Resource: []string{buckets},
		},
		{
			// `crr destroy`: a bucket policy whose only statements were the pair's,
			// and (with --delete-buckets) an empty bucket s3crr created. S3 refuses
			// DeleteBucket on a bucket with any object version (BucketNotEmpty), so
			// no grant here can remove data.
			Sid:      SidPrefix + PurposeBucketTeardown,
			Effect:   Allow,
			Action:   []string{"s3:DeleteBucketPolicy", "s3:DeleteBucket"},
			Resource: []string{buckets},
		},
		{
			Sid:    SidPrefix + PurposeBucketConfigWrite,
			Effect: Allow,
			Action: []string{
				"s3:CreateBucket",
				// With s3:CreateBucket, these two let the buckets stage create the
				// destination of an Object Lock source with Object Lock
				// (CreateBucket with ObjectLockEnabledForBucket needs both).
				"s3:PutBucketObjectLockConfiguration",
				"s3:PutBucketVersioning",
				"s3:PutBucketPublicAccessBlock",
				"s3:PutBucketOwnershipControls",
				"s3:PutBucketPolicy",
				"s3:PutBucketTagging",
				"s3:PutEncryptionConfiguration",
				"s3:PutBucketNotification",
				// The canary lifecycle rule; DeleteBucketLifecycle, when the pair's rule
				// was the last, is authorized as this action too.
				"s3:PutLifecycleConfiguration",
			},
			Resource: []string{buckets},
		},
		{
			Sid:      SidPrefix + PurposeReplicationConfig,
			Effect:   Allow,
			Action:   []string{"s3:PutReplicationConfiguration"},
			Resource: []string{buckets},
		},
		{
			// PutBucketReplication checks that the caller may pass the role it
			// names: only s3crr's replication roles, only to S3. Every role under
			// /s3crr/ also carries the boundary, which bounds what a passed role
			// can do.
			Sid:       SidPrefix + PurposePassRole,
			Effect:    Allow,
			Action:    []string{"iam:PassRole"},
			Resource:  []string{rolePath + names.ReplicationRoleNamePrefix + "*"},
			Condition: map[string]map[string][]string{StringEquals: {KeyPassedToService: {S3Service}}},
		},
		{
			// CreateJob checks the same for the job's role: only s3crr's Batch
			// Operations roles, only to S3 Batch Operations.
			Sid:       SidPrefix + PurposePassBatchRole,
			Effect:    Allow,
			Action:    []string{"iam:PassRole"},
			Resource:  []string{rolePath + names.BatchRoleNamePrefix + "*"},
			Condition: map[string]map[string][]string{StringEquals: {KeyPassedToService: {BatchOperationsService}}},
		},
		{
			// CreateJob has no resource (the job does not exist yet).
			Sid:      SidPrefix + PurposeBatchJobs,
			Effect:   Allow,
			Action:   []string{"s3:CreateJob"},
			Resource: []string{"*"},
		},
		{
			// The batch stages follow and confirm the jobs of this account only.
			Sid:      SidPrefix + PurposeBatchJobManage,
			Effect:   Allow,
			Action:   []string{"s3:DescribeJob", "s3:UpdateJobStatus"},
			Resource: []string{"arn:" + names.Partition + ":s3:*:" + acct + ":job/*"},
		},
		{
			// The batchReport stage reads completion reports, only under the
			// reserved report prefix.
			Sid:      SidPrefix + PurposeBatchReportRead,
			Effect:   Allow,
			Action:   []string{"s3:GetObject"},
			Resource: []string{buckets + "/" + names.BatchReportDir + "*"},
		},
		{
			// A role can only be created with the boundary, so nothing the
			// provisioner puts in its inline policy can exceed the boundary.
			Sid:       SidPrefix + PurposeRoleCreate,
			Effect:    Allow,
			Action:    []string{"iam:CreateRole"},
			Resource:  []string{roles},
			Condition: map[string]map[string][]string{StringEquals: {KeyPermissionsBound: {names.BoundaryPolicyARN(acct)}}},
		},
		{
			// IAM authorizes GetRole of a role that does not exist yet against
			// role/<name>, without the path it will have, and answers
			// AccessDenied rather than NoSuchEntity when that is not allowed.
			// Preflight and the role stage look the replication role up
			// before creating it, so GetRole also covers s3crr's role names
			// at the root path; it is read-only.
			Sid:    SidPrefix + PurposeRoleLookup,
			Effect: Allow,
			Action: []string{"iam:GetRole"},
			Resource: []string{
				"arn:" + names.Partition + ":iam::" + acct + ":role/" + names.ReplicationRoleNamePrefix + "*",
				"arn:" + names.Partition + ":iam::" + acct + ":role/" + names.BatchRoleNamePrefix + "*",
			},
		},
		{
			// These actions do not take iam:PermissionsBoundary (IAM sets it only for
			// requests that create a role or change its permissions); none of them can
			// widen what a role may do.
			Sid:    SidPrefix + PurposeRoleManage,
			Effect: Allow,
			Action: []string{
				"iam:GetRole",
				"iam:UpdateAssumeRolePolicy",
				"iam:GetRolePolicy",
				"iam:TagRole",
			},
			Resource: []string{roles},
		},
		{
			// Writing a role's permissions only on a role that carries the boundary
			// (IAM sets iam:PermissionsBoundary to the role's current boundary for
			// PutRolePolicy, docs/aws-facts.md#F-IAM-BOUNDARY-CONDITION): a role under
			// /s3crr/ someone made without it gets nothing from the provisioner.
			Sid:       SidPrefix + PurposeRolePolicyWrite,
			Effect:    Allow,
			Action:    []string{"iam:PutRolePolicy"},
			Resource:  []string{roles},
			Condition: map[string]map[string][]string{StringEquals: {KeyPermissionsBound: {names.BoundaryPolicyARN(acct)}}},
		},
		{
			// `crr destroy` deletes the pair's replication role: only roles under
			// /s3crr/ that carry s3crr's creation tag, so a same-named role someone
			// else made there is never touched.
			Sid:       SidPrefix + PurposeRoleTeardown,
			Effect:    Allow,
			Action:    []string{"iam:ListRolePolicies", "iam:DeleteRolePolicy", "iam:DeleteRole"},
			Resource:  []string{roles},
			Condition: map[string]map[string][]string{StringEquals: {ResourceTagKey(names.ManagedByTagKey): {names.ManagedByTagValue}}},
		},
		{
			// CreateKey with Tags also needs kms:TagResource, in an IAM policy not
			// restricted to particular keys (the key does not exist yet). The keys
			// stage tags every key it creates with s3crr:managed-by, s3crr:pair-id and
			// s3crr:alias, so an interrupted run's key can be found and adopted. The
			// conditions keep this grant to requests that carry s3crr's marker tag and
			// no other tag key; the Deny below keeps it to CreateKey.
			Sid:      SidPrefix + PurposeKeyCreateTags,
			Effect:   Allow,
			Action:   []string{"kms:TagResource"},
			Resource: []string{"*"},
			Condition: map[string]map[string][]string{
				StringEquals:       {"aws:RequestTag/" + names.ManagedByTagKey: {names.ManagedByTagValue}},
				ForAllValuesEquals: {KeyTagKeys: {names.ManagedByTagKey, names.PairIDTagKey, names.AliasTagKey}},
			},
		},
		{
			// TagResource on an existing key is authorized on the key's ARN; denying
			// it there leaves only tagging at creation, so s3crr:managed-by on a key
			// proves s3crr created it and no key can be made to look like s3crr's or
			// like one its owner brought.
			Sid:      SidPrefix + PurposeDenyKeyRetag,
			Effect:   Deny,
			Action:   []string{"kms:TagResource"},
			Resource: []string{keys},
		},
		{
			// The lockout safety check is what keeps a key policy s3crr writes from
			// locking the key's owner out; nothing s3crr does needs to skip it.
			Sid:       SidPrefix + PurposeDenyLockoutBypass,
			Effect:    Deny,
			Action:    []string{"kms:PutKeyPolicy", "kms:CreateKey"},
			Resource:  []string{"*"},
			Condition: map[string]map[string][]string{Bool: {KeyKMSBypassLockout: {"true"}}},
		},
		{
			// CreateKey has no resource; the conditions keep it to the
			// symmetric encryption keys S3 can use.
			Sid:      SidPrefix + PurposeKeyCreate,
			Effect:   Allow,
			Action:   []string{"kms:CreateKey"},
			Resource: []string{"*"},
			Condition: map[string]map[string][]string{StringEquals: {
				KeyKMSKeySpec:  {"SYMMETRIC_DEFAULT"},
				KeyKMSKeyUsage: {"ENCRYPT_DECRYPT"},
			}},
		},
		{
			Sid:      SidPrefix + PurposeAliasWrite,
			Effect:   Allow,
			Action:   []string{"kms:CreateAlias", "kms:DeleteAlias"},
			Resource: []string{aliases},
		},
		{
			// CreateAlias and DeleteAlias are authorized on the key as well (an
			// alias can grant access through alias-based policies), so only a key
			// s3crr created...
			Sid:       SidPrefix + PurposeAliasTarget,
			Effect:    Allow,
			Action:    []string{"kms:CreateAlias", "kms:DeleteAlias"},
			Resource:  []string{keys},
			Condition: map[string]map[string][]string{StringEquals: createdKey},
		},
		{
			// ...or one its owner brought and tagged for s3crr.
			Sid:       SidPrefix + PurposeAliasTargetBrought,
			Effect:    Allow,
			Action:    []string{"kms:CreateAlias"},
			Resource:  []string{keys},
			Condition: map[string]map[string][]string{StringEquals: broughtKey},
		},
		{
			// ListKeys supports no resource-level permissions. With the
			// ListResourceTags grant below it lets the key stage find a key an
			// interrupted earlier run created but never aliased.
			Sid:      SidPrefix + PurposeKeyList,
			Effect:   Allow,
			Action:   []string{"kms:ListKeys"},
			Resource: []string{"*"},
		},
		{
			Sid:      SidPrefix + PurposeKeyRead,
			Effect:   Allow,
			Action:   []string{"kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"},
			Resource: []string{keys},
		},
		{
			Sid:       SidPrefix + PurposeKeyManage,
			Effect:    Allow,
			Action:    []string{"kms:PutKeyPolicy", "kms:EnableKeyRotation"},
			Resource:  []string{keys},
			Condition: map[string]map[string][]string{ForAnyValueLike: withAlias, StringEquals: createdKey},
		},
		{
			// A brought key's rotation is its owner's: only the pair's statements.
			Sid:       SidPrefix + PurposeKeyManageBrought,
			Effect:    Allow,
			Action:    []string{"kms:PutKeyPolicy"},
			Resource:  []string{keys},
			Condition: map[string]map[string][]string{ForAnyValueLike: withAlias, StringEquals: broughtKey},
		},
		{
			// Two runs of the same pair at once can each create a key; the one whose
			// alias lost the race schedules deletion of the key it created. And
			// `crr destroy --delete-keys` schedules the deletion of the pair's keys
			// while their alias still names them (so an interrupted teardown finds
			// them again). Only keys s3crr created, with KMS's waiting period, during
			// which the owner can cancel.
			Sid:       SidPrefix + PurposeKeyDiscard,
			Effect:    Allow,
			Action:    []string{"kms:ScheduleKeyDeletion"},
			Resource:  []string{keys},
			Condition: map[string]map[string][]string{StringEquals: createdKey},
		},
	}
	// The events stage ensures every pair's replication-failure alarm, so the grant is
	// not optional: a provisioner without it would fail every pair at that stage.
	// CloudWatch authorizes both calls on the alarm ARN (DescribeAlarms with AlarmNames
	// on each named alarm), so s3crr's name prefix scopes them; any region, since
	// source regions are per pair.
	st = append(st, Statement{
		Sid:      SidPrefix + PurposeAlarms,
		Effect:   Allow,
		Action:   []string{"cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"},
		Resource: []string{"arn:" + names.Partition + ":cloudwatch:*:" + acct + ":alarm:" + names.AlarmNamePrefix + "*"},
	})
	// Preflight checks that the source region has MemberStack's events queue before
	// replication is configured: S3 refuses a notification to a missing queue, which
	// would otherwise fail the events stage after the rule is live. Read-only, the one
	// queue name of this account; any region, since source regions vary per pair.
	st = append(st, Statement{
		Sid:      SidPrefix + PurposeEventsQueueLookup,
		Effect:   Allow,
		Action:   []string{"sqs:GetQueueUrl"},
		Resource: []string{"arn:" + names.Partition + ":sqs:*:" + acct + ":" + names.EventsQueueName},
	})
	return Document{Version: Version, Statement: st}
}

// BoundaryParams configures the replication permissions boundary.
type BoundaryParams struct {
	// BucketPattern limits the S3 actions to matching buckets (source and
	// destination alike); empty means "*".
	BucketPattern string
	// MemberAccounts are the deployment's member accounts: replica writes are
	// allowed only into buckets they own (s3:ResourceAccount), since bucket names
	// are global and another account's bucket can match BucketPattern.
	MemberAccounts []string
	// OrganizationID, when set, replaces MemberAccounts: replica writes are
	// allowed into buckets owned by any account of the organization
	// (aws:ResourceOrgID), so the boundary, like a StackSet template, names no
	// account and a new member account needs no change to it.
	OrganizationID string
}

// boundaryPair is the pair part of the boundary's Sids, so ParseSid maps
// each boundary statement to the replication purpose it bounds.
const boundaryPair = "Boundary"

// Boundary purposes beyond the replication ones.
const (
	// PurposeReplicationKeys bounds every KMS use of a replication role.
	PurposeReplicationKeys = "ReplicationKeys"
)

// ReplicationBoundary is the permissions boundary every role the provisioner
// creates must carry (iam:CreateRole requires it): the most any replication
// role may ever do, whatever inline policy it gets. It is the union of what
// ReplicationRolePolicy can grant for any pair, with every option on (Object
// Lock, owner override, Bucket Keys), over the configured buckets and any KMS
// key used through S3 for those buckets.
//
// The key resource is a wildcard over accounts and regions because the
// destination key is in another account and keys are created at run time;
// the conditions keep every use to S3 and to the configured buckets'
// encryption context.
func ReplicationBoundary(b BoundaryParams) Document {
	pattern := b.BucketPattern
	if pattern == "" {
		pattern = "*"
	}
	all := ReplicationParams{ObjectLock: true, OwnerOverride: true}
	return Document{Version: Version, Statement: append([]Statement{
		{
			Sid:      SidFor(boundaryPair, PurposeSourceBucket),
			Effect:   Allow,
			Action:   []string{ActGetReplicationConfiguration, ActListBucket},
			Resource: []string{BucketARN(pattern)},
		},
		{
			Sid:      SidFor(boundaryPair, PurposeSourceObjects),
			Effect:   Allow,
			Action:   sourceObjectActions(all),
			Resource: []string{BucketARN(pattern) + "/*"},
		},
		{
			Sid:       SidFor(boundaryPair, PurposeReplicaWrite),
			Effect:    Allow,
			Action:    replicaWriteActions(all),
			Resource:  []string{BucketARN(pattern) + "/*"},
			Condition: b.replicaWriteScope(),
		},
		{
			Sid:      SidFor(boundaryPair, PurposeReplicationKeys),
			Effect:   Allow,
			Action:   []string{ActKMSDecrypt, ActKMSEncrypt, ActKMSGenerateDataKey},
			Resource: []string{"arn:" + names.Partition + ":kms:*:*:key/*"},
			Condition: map[string]map[string][]string{StringLike: {
				KeyViaService: {viaS3AnyRegion},
				KeyS3Context:  {BucketARN(pattern), BucketARN(pattern) + "/*"},
			}},
		},
	}, batchBoundaryStatements(pattern)...)}
}

// replicaWriteScope pins replica writes to the organization's accounts when one is
// configured, else to the member accounts.
func (b BoundaryParams) replicaWriteScope() map[string]map[string][]string {
	if b.OrganizationID != "" {
		return map[string]map[string][]string{StringEquals: {KeyResourceOrgID: {b.OrganizationID}}}
	}
	return inAccounts(b.MemberAccounts)
}

// inAccounts is the s3:ResourceAccount condition pinning S3 actions to buckets
// the given accounts own (docs/aws-facts.md#F-S3-RESOURCE-ACCOUNT). With no
// account it is an impossible condition rather than none: a boundary built
// without the member list must not allow replica writes anywhere.
func inAccounts(accounts []string) map[string]map[string][]string {
	if len(accounts) == 0 {
		accounts = []string{"none"}
	}
	return map[string]map[string][]string{StringEquals: {KeyS3ResourceAccount: cloneStrings(accounts)}}
}
