package policy_test

import (
	"fmt"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// The key-policy stage reads the destination key's policy, merges s3crr's
// statements by Sid and writes only when something changed.
func ExampleMerge() {
	p := policy.ReplicationParams{
		PairID:            "payments-archive",
		DestinationRegion: "us-east-1",
		DestinationBucket: "payments-dst",
		RoleARN:           policy.RoleARN("111111111111", names.RolePath, "s3crr-repl-payments-src-38d30e55"),
	}
	current := []byte(`{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions",
		"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"kms:*","Resource":"*"}]}`)

	existing, err := policy.ParseDocument(current)
	if err != nil {
		fmt.Println(err)
		return
	}
	merged, changed := policy.Merge(existing, policy.DestinationKeyStatements(p))
	fmt.Println(changed, len(merged.Statement), merged.Statement[1].Sid)

	_, changed = policy.Merge(merged, policy.DestinationKeyStatements(p))
	fmt.Println(changed)
	// Output:
	// true 2 S3crrPaymentsArchiveReplicaEncrypt
	// false
}

// The permission-minimality test asks, for each action it removes, what
// should break.
func ExampleRequiredBy() {
	r, _ := policy.RequiredBy("S3crrPaymentsArchiveReplicaWrite", "s3:ReplicateObject")
	fmt.Println(r.Failure, r.Trigger)

	r, _ = policy.RequiredBy("S3crrPassReplicationRole", "iam:PassRole")
	fmt.Println(r.Stages, r.Calls)
	// Output:
	// DstPutObjectNotPermitted object
	// [replication] [PutBucketReplication]
}
