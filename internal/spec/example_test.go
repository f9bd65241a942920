package spec_test

import (
	"fmt"

	"github.com/s3crr/s3crr/internal/spec"
)

// Parse decodes a request, fills in the defaults and returns the names every
// component derives from it.
func ExampleParse() {
	r, err := spec.Parse([]byte(`{
	  "pairId": "payments-archive",
	  "source":      {"account": "111111111111", "region": "ap-south-1", "bucket": "payments-src"},
	  "destination": {"account": "222222222222", "region": "us-east-1",  "bucket": "payments-dst"},
	  "rule": {"prefix": "invoices/", "deleteMarkerReplication": true, "replicationTimeControl": true}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.ReplicationRolePath() + r.ReplicationRoleName())
	fmt.Println(r.Source.KMSKeyAlias, r.Destination.KMSKeyAlias)
	fmt.Println(r.RuleID(), *r.Rule.Priority, r.Rule.StorageClass, r.MetricsEnabled(), r.BucketKeyEnabled())
	fmt.Println(r.CanaryKeyPrefix())
	fmt.Println(r.ExecutionName())
	// Output:
	// /s3crr/s3crr-repl-payments-src-38d30e55
	// alias/s3crr/payments-archive/source alias/s3crr/payments-archive/destination
	// s3crr-payments-archive 31130 STANDARD true true
	// invoices/.s3crr-canary/
	// payments-archive-55ec3f1559
}

// Every problem is reported at once, one per line, with its JSON path and a fix.
func ExampleParse_errors() {
	_, err := spec.Parse([]byte(`{
	  "pairId": "Payments",
	  "source":      {"account": "111111111111", "region": "us-east-1", "bucket": "payments-src",
	                  "kmsKeyArn": "arn:aws:kms:us-east-1:111111111111:alias/aws/s3"},
	  "destination": {"account": "222222222222", "region": "us-east-1", "bucket": "payments_dst"},
	  "rule": {"tags": {"replicate": "yes"}, "deleteMarkerReplication": true, "storagClass": "GLACIER"}
	}`))
	fmt.Println(err)
	// Output:
	// rule.storagClass: unknown field (fix: did you mean "storageClass"? (field names are case-sensitive); the fields of rule are: id, priority, prefix, tags, storageClass, deleteMarkerReplication, replicationTimeControl, metrics, ownerOverride, bucketKeyEnabled, replicaModifications, replicateExisting)
	// pairId: must start with a lowercase letter and contain only lowercase letters, digits and hyphens (fix: use e.g. "payments-archive": it names the replication role (s3crr-repl-<pairId>), the key aliases, the rule and the execution)
	// source.kmsKeyArn: names an AWS managed key (fix: AWS managed keys (alias/aws/...) cannot be used cross-account: their key policy cannot grant the replication role; use a customer managed key, or leave kmsKeyArn out to have s3crr create one)
	// destination.bucket: may contain only lowercase letters, digits, dots and hyphens (fix: S3 bucket names are 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit)
	// destination.region: is the same region as source.region (fix: choose a destination in another region for cross-region replication, or set allowSameRegion: true to ask for same-region replication (SRR) on purpose)
	// rule.tags: a tag filter cannot be combined with deleteMarkerReplication: true (fix: S3 rejects delete-marker replication in a rule with a tag filter (delete markers carry no tags); remove the tags or set deleteMarkerReplication: false)
}
