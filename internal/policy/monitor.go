package policy

// This file builds the replication monitor Lambda's role policy: the target of the hub bus
// rule that turns S3 replication failure events and alarm state changes into
// SNS alerts.

// Monitor purposes (fixed Sids: SidPrefix + purpose).
const (
	// PurposeMonitorPairRead: the monitor reads a pair's registration to name its
	// accounts, Regions and keys in an alert.
	PurposeMonitorPairRead = "MonitorPairRead"
	// PurposeMonitorDedup: the monitor records occurrences and claims alert windows in
	// its de-duplication table.
	PurposeMonitorDedup = "MonitorDedup"
)

// Partition-key prefixes of the de-duplication table's two kinds of item; internal/monitor
// writes exactly these, and the role may write no other key.
const (
	DedupEventKeyPrefix  = "event#"
	DedupWindowKeyPrefix = "alert#"
)

// KeyDynamoDBLeadingKeys is the partition-key values an item request touches.
const KeyDynamoDBLeadingKeys = "dynamodb:LeadingKeys"

// forAllValuesLike is the set operator for "every value matches one of these patterns".
const forAllValuesLike = "ForAllValues:StringLike"

// ReplicationMonitorPolicy is the monitor Lambda's policy:
//   - sns:Publish on the alert topic, and the alert key's use by SNS on its behalf;
//   - dynamodb:GetItem on the pairs table (h.TableARN), read only: the monitor never
//     changes a registration;
//   - dynamodb:PutItem and dynamodb:UpdateItem on the de-duplication table, for keys
//     under its two prefixes only. TransactWriteItems needs no action of its own: its
//     Put and Update are authorised as PutItem and UpdateItem (DynamoDB Developer Guide,
//     https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
//
// No DeleteItem: expired items go through the table's TTL, not the role.
func ReplicationMonitorPolicy(h HubParams, dedupTableARN string) Document {
	st := h.publishAlerts()
	st = append(st,
		Statement{
			Sid:      SidPrefix + PurposeMonitorPairRead,
			Effect:   Allow,
			Action:   []string{"dynamodb:GetItem"},
			Resource: []string{h.TableARN},
		},
		Statement{
			Sid:      SidPrefix + PurposeMonitorDedup,
			Effect:   Allow,
			Action:   []string{"dynamodb:PutItem", "dynamodb:UpdateItem"},
			Resource: []string{dedupTableARN},
			Condition: map[string]map[string][]string{forAllValuesLike: {
				KeyDynamoDBLeadingKeys: {DedupEventKeyPrefix + "*", DedupWindowKeyPrefix + "*"},
			}},
		},
	)
	return Document{Version: Version, Statement: st}
}
