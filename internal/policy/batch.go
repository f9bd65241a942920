package policy

import "github.com/s3crr/s3crr/internal/names"

// This file builds the documents of a pair's S3 Batch Replication role: the role
// S3 Batch Operations assumes to re-drive the pair's objects (FAILED ones after a
// repair, or those that existed before the rule). Its actions follow
// docs/aws-facts.md#F-BATCH-REPLICATION; requirements.go says what fails without
// each. Replication itself is still done by the replication role: this role only
// starts it, builds the manifest and writes the completion report.

// Batch role purposes.
const (
	// PurposeBatchTrust: the Batch role's trust statement.
	PurposeBatchTrust = "BatchTrust"
	// PurposeBatchManifest: the Batch role reads the source bucket's replication
	// configuration and sets up the inventory S3 generates the manifest from.
	PurposeBatchManifest = "BatchManifest"
	// PurposeBatchInitiate: the Batch role starts replication of source objects.
	PurposeBatchInitiate = "BatchInitiate"
	// PurposeBatchReportWrite: the Batch role writes the job's completion report
	// under the pair's reserved report prefix.
	PurposeBatchReportWrite = "BatchReportWrite"
)

// Batch Replication actions.
const (
	ActInitiateReplication       = "s3:InitiateReplication"
	ActPutInventoryConfiguration = "s3:PutInventoryConfiguration"
	ActPutObject                 = "s3:PutObject"
)

// BatchReportObjectsARN is the ARN pattern of a pair's completion reports in its
// source bucket.
func BatchReportObjectsARN(bucket, pairID string) string {
	return BucketARN(bucket) + "/" + names.BatchReportPrefix(pairID) + "/*"
}

// BatchTrustPolicy lets S3 Batch Operations assume a pair's Batch role. Like
// the replication role's trust it has no aws:SourceAccount condition
// (docs/aws-facts.md#F-REPL-TRUST).
func BatchTrustPolicy(p ReplicationParams) Document {
	return Document{Version: Version, Statement: []Statement{{
		Sid:       SidFor(p.PairID, PurposeBatchTrust),
		Effect:    Allow,
		Principal: ServicePrincipal(BatchOperationsService),
		Action:    []string{"sts:AssumeRole"},
	}}}
}

// BatchRolePolicy is a pair's Batch role's inline policy: exactly what a Batch
// Replication job with an S3-generated manifest and a completion report needs.
//
// Not granted, and why: s3:GetObject* (the job reads nothing; the replication
// role reads the source), any KMS action (completion reports are always SSE-S3,
// docs/aws-facts.md#F-BATCH-JOB-LIFECYCLE, and no manifest is written), and
// s3:PutObject outside the pair's report prefix.
func BatchRolePolicy(p ReplicationParams) Document {
	return Document{Version: Version, Statement: []Statement{
		{
			Sid:      SidFor(p.PairID, PurposeBatchManifest),
			Effect:   Allow,
			Action:   []string{ActGetReplicationConfiguration, ActPutInventoryConfiguration},
			Resource: []string{BucketARN(p.SourceBucket)},
		},
		{
			Sid:      SidFor(p.PairID, PurposeBatchInitiate),
			Effect:   Allow,
			Action:   []string{ActInitiateReplication},
			Resource: []string{ObjectsARN(p.SourceBucket, p.Prefix)},
		},
		{
			Sid:      SidFor(p.PairID, PurposeBatchReportWrite),
			Effect:   Allow,
			Action:   []string{ActPutObject},
			Resource: []string{BatchReportObjectsARN(p.SourceBucket, p.PairID)},
		},
	}}
}

// batchBoundaryStatements are what the replication boundary admits for Batch
// roles, which the provisioner creates with the same boundary. The boundary's
// SourceBucket statement already admits s3:GetReplicationConfiguration on the
// same buckets, so it is not repeated here (the minimality test proves it).
func batchBoundaryStatements(pattern string) []Statement {
	return []Statement{
		{
			Sid:      SidFor(boundaryPair, PurposeBatchManifest),
			Effect:   Allow,
			Action:   []string{ActPutInventoryConfiguration},
			Resource: []string{BucketARN(pattern)},
		},
		{
			Sid:      SidFor(boundaryPair, PurposeBatchInitiate),
			Effect:   Allow,
			Action:   []string{ActInitiateReplication},
			Resource: []string{BucketARN(pattern) + "/*"},
		},
		{
			Sid:      SidFor(boundaryPair, PurposeBatchReportWrite),
			Effect:   Allow,
			Action:   []string{ActPutObject},
			Resource: []string{BucketARN(pattern) + "/" + names.BatchReportDir + "*"},
		},
	}
}
