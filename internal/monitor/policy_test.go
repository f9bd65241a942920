package monitor

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/s3crr/s3crr/internal/policy"
)

// recordingDB notes the IAM action and the partition key of every item request, as IAM
// would authorise them (a transaction's Put and Update as PutItem and UpdateItem).
type recordingDB struct {
	*fakeDB
	actions map[string][]string // action -> keys
}

func (r *recordingDB) note(action string, key ddbtypes.AttributeValue) {
	r.actions[action] = append(r.actions[action], str(key))
}

func (r *recordingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	r.note("dynamodb:GetItem@"+aws.ToString(in.TableName), in.Key[pairsKey])
	return r.fakeDB.GetItem(ctx, in, o...)
}

func (r *recordingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			r.note("dynamodb:PutItem@"+aws.ToString(it.Put.TableName), it.Put.Item[DedupKey])
		case it.Update != nil:
			r.note("dynamodb:UpdateItem@"+aws.ToString(it.Update.TableName), it.Update.Key[DedupKey])
		default:
			r.note("unexpected transaction item", nil)
		}
	}
	return r.fakeDB.TransactWriteItems(ctx, in, o...)
}

func (r *recordingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	r.note("dynamodb:UpdateItem@"+aws.ToString(in.TableName), in.Key[DedupKey])
	return r.fakeDB.UpdateItem(ctx, in, o...)
}

// TestCallsStayWithinTheRolePolicy: every DynamoDB action the monitor uses, on each table,
// is granted by policy.ReplicationMonitorPolicy, every granted action is used, and every
// de-duplication key matches the role's dynamodb:LeadingKeys patterns.
func TestCallsStayWithinTheRolePolicy(t *testing.T) {
	const pairsARN, dedupARN = "arn:aws:dynamodb:eu-west-1:333333333333:table/s3crr-pairs", "arn:aws:dynamodb:eu-west-1:333333333333:table/s3crr-alert-dedup"
	doc := policy.ReplicationMonitorPolicy(policy.HubParams{Region: "eu-west-1", TopicARN: "arn:aws:sns:eu-west-1:333333333333:s3crr-alerts", TableARN: pairsARN}, dedupARN)
	granted := map[string]policy.Statement{}
	for _, st := range doc.Statement {
		for _, a := range st.Action {
			if strings.HasPrefix(a, "dynamodb:") {
				for _, r := range st.Resource {
					granted[a+"@"+strings.TrimPrefix(r, "arn:aws:dynamodb:eu-west-1:333333333333:table/")] = st
				}
			}
		}
	}
	rec := &recordingDB{fakeDB: newFakeDB(), actions: map[string][]string{}}
	rec.addPair("payments-archive", "payments-src", "s3crr-payments-archive")
	pub := &fakeSNS{}
	svc := New(Config{PairsTable: "s3crr-pairs", DedupTable: "s3crr-alert-dedup", TopicARN: "t", Window: DefaultWindow}, rec, pub)
	for _, f := range []string{"pipe-string-body.json", "pipe-parsed-body.json", "sqs-event.json", "unmanaged-bucket.json", "alarm-state-change.json"} {
		if err := svc.Handle(t.Context(), readEvent(t, f)); err != nil {
			t.Fatal(err)
		}
	}
	for action, keys := range rec.actions {
		st, ok := granted[action]
		if !ok {
			t.Errorf("monitor uses %s, which its role does not grant", action)
			continue
		}
		patterns := st.Condition["ForAllValues:StringLike"][policy.KeyDynamoDBLeadingKeys]
		for _, k := range keys {
			if len(patterns) > 0 && !slices.ContainsFunc(patterns, func(p string) bool { return strings.HasPrefix(k, strings.TrimSuffix(p, "*")) }) {
				t.Errorf("%s on key %q is outside the role's LeadingKeys %v", action, k, patterns)
			}
		}
	}
	for a := range granted {
		if _, used := rec.actions[a]; !used {
			t.Errorf("role grants %s, which the monitor never uses", a)
		}
	}
}
