package policy

// This file builds the read-only s3crr-auditor role every member account gets: `crr doctor`
// and verification assume it from the hub to read what decides whether a pair replicates.
// It reads any bucket, key, role and alarm of its own account, because a pair set up by
// hand has names s3crr did not choose; it changes nothing.

// Auditor purposes (fixed Sids: SidPrefix + purpose).
const (
	PurposeAuditorTrust = "AuditorTrust"
	PurposeAuditBuckets = "AuditBuckets"
	PurposeAuditKeys    = "AuditKeys"
	PurposeAuditRoles   = "AuditRoles"
	PurposeAuditAlarms  = "AuditAlarmConfig"
)

// AuditorParams configures the member auditor role.
type AuditorParams struct {
	// Account is the member account the role lives in.
	Account string
	// HubAccount is the automation account allowed to assume the role.
	HubAccount string
	// ExternalID is the deployment's shared ExternalId.
	ExternalID string
}

// Auditor component: what fails without an auditor grant (requirements.go).
const AuditorDoctor = "doctor"

// AuditorTrustPolicy lets principals of the hub account assume the auditor with the
// deployment's ExternalId. Unlike the provisioner's trust it names no hub role: the
// auditor can change nothing, and the hub account's own IAM decides who may run
// `crr doctor` (an operator's role as well as the verify Lambda's).
func AuditorTrustPolicy(p AuditorParams) Document {
	return Document{Version: Version, Statement: []Statement{{
		Sid:       SidPrefix + PurposeAuditorTrust,
		Effect:    Allow,
		Principal: AWSPrincipal(AccountRootARN(p.HubAccount)),
		Action:    []string{"sts:AssumeRole"},
		Condition: map[string]map[string][]string{StringEquals: {KeyExternalID: {p.ExternalID}}},
	}}}
}

// AuditorBucketActions are the bucket-configuration reads of a pair's checks.
var AuditorBucketActions = []string{
	"s3:GetBucketVersioning", ActGetReplicationConfiguration, "s3:GetBucketPolicy",
	"s3:GetEncryptionConfiguration", "s3:GetBucketPublicAccessBlock", "s3:GetBucketNotification",
	"s3:GetBucketObjectLockConfiguration",
	// The drift check of the canary lifecycle rule (managed pairs).
	"s3:GetLifecycleConfiguration",
}

// AuditorPolicy is the auditor's permission policy: exactly the reads internal/verify
// makes (the minimality test removes each and expects the check to report it), no object
// data (no s3:GetObject*, no kms:Decrypt), each scoped to the auditor's own account.
// Buckets carry no account in their ARN, so s3:ResourceAccount keeps the grant to the
// account's own buckets; keys, roles and alarms are any of the account's, because a
// hand-made pair has names s3crr did not choose.
//
// Not granted, and why: kms:ListAliases (DescribeKey resolves an alias itself);
// iam:ListAttachedRolePolicies, iam:GetPolicy and iam:GetPolicyVersion
// (SimulatePrincipalPolicy evaluates the role's
// attached managed policies and boundary, so the checks never read them);
// s3:GetBucketOwnershipControls (the checks judge the rule's owner override by its
// permission, not by the destination's ownership setting).
func AuditorPolicy(p AuditorParams) Document {
	acct := p.Account
	return Document{Version: Version, Statement: []Statement{
		{
			Sid:       SidPrefix + PurposeAuditBuckets,
			Effect:    Allow,
			Action:    cloneStrings(AuditorBucketActions),
			Resource:  []string{BucketARN("*")},
			Condition: inAccounts([]string{acct}),
		},
		{
			Sid:      SidPrefix + PurposeAuditKeys,
			Effect:   Allow,
			Action:   []string{"kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus"},
			Resource: []string{"arn:aws:kms:*:" + acct + ":key/*"},
		},
		{
			Sid:      SidPrefix + PurposeAuditRoles,
			Effect:   Allow,
			Action:   []string{"iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:SimulatePrincipalPolicy"},
			Resource: []string{"arn:aws:iam::" + acct + ":role/*"},
		},
		{
			Sid:      SidPrefix + PurposeAuditAlarms,
			Effect:   Allow,
			Action:   []string{"cloudwatch:DescribeAlarms"},
			Resource: []string{"arn:aws:cloudwatch:*:" + acct + ":alarm:*"},
		},
	}}
}
