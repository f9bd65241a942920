package cdk

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/jsii-runtime-go"

	"github.com/s3crr/s3crr/internal/names"
)

// newLeaseTable is the provision Lambda's document lease table (internal/lease): one item
// per shared document being merged into, held for a few calls. Leases expire by their
// expiresAt attribute, which the acquire condition compares with the clock; TTL only
// sweeps expired items away later. On demand: a burst of pairs is a burst of tiny writes.
// Point-in-time recovery is on although leases are worth nothing after two minutes: it
// costs next to nothing on a table this small and keeps every s3crr table under the same
// cdk-nag rule (AwsSolutions-DDB3) instead of a waiver.
func newLeaseTable(stack awscdk.Stack) awsdynamodb.Table {
	return awsdynamodb.NewTable(stack, jsii.String("LeaseTable"), &awsdynamodb.TableProps{
		TableName:           jsii.String(names.LeaseTableName),
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String(names.LeaseTableKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String(names.LeaseTTLAttribute),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		// As the other tables: the AWS managed key, so the provision role needs no KMS grant.
		Encryption: awsdynamodb.TableEncryption_AWS_MANAGED,
		// A fixed name, kept like the other tables except when the first deployment rolls
		// back (docs/aws-facts.md#F-CFN-RETENTION).
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
}
