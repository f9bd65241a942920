package policy

import "github.com/s3crr/s3crr/internal/names"

// This file builds the member s3crr-verifier role: the verify Lambda writes, reads and
// deletes the verification canary as it. A role of its own, rather than grants on the
// provisioner, keeps each hub Lambda to one member role that does its job: the verify
// Lambda cannot provision, and the provision Lambda cannot write objects.

// Verifier purposes (fixed Sids: SidPrefix + purpose).
const (
	PurposeVerifierTrust = "VerifierTrust"
	PurposeCanaryObjects = "CanaryObjects"
	PurposeCanaryKey     = "CanaryKey"
)

// VerifierParams configures the member verifier role. Values may be CDK tokens.
type VerifierParams struct {
	// Account is the member account the role lives in.
	Account string
	// HubAccount is the automation account whose verify Lambda assumes this role.
	HubAccount string
	// HubRoleARN is the verify Lambda's role, the only principal trusted.
	HubRoleARN string
	// ExternalID is the deployment's shared ExternalId.
	ExternalID string
	// BucketPattern limits the canary to matching bucket names; empty means "*".
	BucketPattern string
}

// VerifierTrustPolicy lets only the hub's verify Lambda role assume the verifier, with
// the ExternalId (the principal form of ProvisionerTrustPolicy, for the same reasons).
func VerifierTrustPolicy(p VerifierParams) Document {
	return Document{Version: Version, Statement: []Statement{{
		Sid:       SidPrefix + PurposeVerifierTrust,
		Effect:    Allow,
		Principal: AWSPrincipal(AccountRootARN(p.HubAccount)),
		Action:    []string{"sts:AssumeRole"},
		Condition: map[string]map[string][]string{
			StringEquals: {KeyExternalID: {p.ExternalID}},
			ArnLike:      {KeyPrincipalArn: {p.HubRoleARN}},
		},
	}}}
}

// VerifierPolicy lets the verifier write, read and delete the verification canary: only
// objects under the reserved prefix (any rule prefix, then names.CanaryDir) of the
// configured buckets. The canary is written SSE-KMS with the source key, so S3 calls
// kms:GenerateDataKey as the verifier, through S3 only, for the canary's object or (with
// an S3 Bucket Key) the bucket (docs/aws-facts.md#F-KMS-REPL-CONDITIONS); the key policy
// must delegate to IAM for that, as s3crr's key policies do. Reading the replica's
// metadata (HeadObject) needs no key use.
func VerifierPolicy(p VerifierParams) Document {
	buckets := p.BucketPattern
	if buckets == "" {
		buckets = "*"
	}
	return Document{Version: Version, Statement: []Statement{
		{
			Sid:      SidPrefix + PurposeCanaryObjects,
			Effect:   Allow,
			Action:   []string{"s3:PutObject", "s3:GetObject", "s3:DeleteObjectVersion"},
			Resource: []string{BucketARN(buckets) + "/*" + names.CanaryDir + "*"},
		},
		{
			Sid:      SidPrefix + PurposeCanaryKey,
			Effect:   Allow,
			Action:   []string{ActKMSGenerateDataKey},
			Resource: []string{"arn:" + names.Partition + ":kms:*:" + p.Account + ":key/*"},
			Condition: map[string]map[string][]string{
				StringLike: {KeyViaService: {viaS3AnyRegion}},
				ArnLike:    {KeyS3Context: {BucketARN(buckets) + "/*" + names.CanaryDir + "*", BucketARN(buckets)}},
			},
		},
	}}
}
