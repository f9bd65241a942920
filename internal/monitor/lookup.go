package monitor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/s3crr/s3crr/internal/names"
)

// Pair is what the pairs table records about a registered pair (the provision state
// machine's RegisterPair task writes it).
type Pair struct {
	ID          string
	Source      Side
	Destination Side
	RuleID      string
	RoleARN     string
}

// Side is one end of a pair.
type Side struct {
	Account string
	Region  string
	Bucket  string
	KeyARN  string
}

// pairLookup is what the monitor needs from the pairs table.
type pairLookup interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

var _ pairLookup = (*dynamodb.Client)(nil)

// pairsKey is the pairs table's partition key.
const pairsKey = names.PairsTableKey

// alarmSuffix ends every failed-replication alarm name (names.FailedReplicationAlarmName).
const alarmSuffix = names.FailedReplicationAlarmSuffix

// candidatePairID derives the pair ID from the names s3crr gives: the default rule ID
// s3crr-<pairId> and the alarm s3crr-<pairId>-failed-replication. A rule ID chosen in the
// request (rule.id) does not name the pair: such events are reported unmanaged until the
// table has an index by source bucket and rule (not yet; a Scan per event would cost a
// read of the whole table).
func candidatePairID(s Signal) string {
	if s.Kind == KindAlarm {
		id, ok := strings.CutSuffix(strings.TrimPrefix(s.AlarmName, names.AlarmNamePrefix), alarmSuffix)
		if ok && strings.HasPrefix(s.AlarmName, names.AlarmNamePrefix) {
			return id
		}
	}
	if id, ok := strings.CutPrefix(s.RuleID, names.RuleIDPrefix); ok {
		return id
	}
	return ""
}

// findPair returns the registered pair the signal belongs to, or ok=false when s3crr does
// not manage it (no such pair, or the registered pair has another source bucket or rule).
func findPair(ctx context.Context, db pairLookup, table string, s Signal) (Pair, bool, error) {
	id := candidatePairID(s)
	if id == "" {
		return Pair{}, false, nil
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]ddbtypes.AttributeValue{pairsKey: &ddbtypes.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(false),
	})
	if err != nil {
		return Pair{}, false, fmt.Errorf("get pair %s: %w", id, err)
	}
	if len(out.Item) == 0 {
		return Pair{}, false, nil
	}
	p, err := pairFromItem(out.Item)
	if err != nil {
		return Pair{}, false, fmt.Errorf("read pair %s: %w", id, err)
	}
	if s.SourceBucket != "" && p.Source.Bucket != s.SourceBucket {
		return Pair{}, false, nil
	}
	if s.RuleID != "" && p.RuleID != "" && p.RuleID != s.RuleID {
		return Pair{}, false, nil
	}
	return p, true, nil
}

func pairFromItem(item map[string]ddbtypes.AttributeValue) (Pair, error) {
	p := Pair{ID: str(item[pairsKey]), RuleID: str(item["ruleId"]), RoleARN: str(item["roleArn"])}
	if p.ID == "" {
		return p, errors.New("item has no pairId")
	}
	p.Source, p.Destination = sideFromItem(item["source"]), sideFromItem(item["destination"])
	return p, nil
}

func sideFromItem(v ddbtypes.AttributeValue) Side {
	m, ok := v.(*ddbtypes.AttributeValueMemberM)
	if !ok {
		return Side{}
	}
	return Side{Account: str(m.Value["account"]), Region: str(m.Value["region"]), Bucket: str(m.Value["bucket"]), KeyARN: str(m.Value["keyArn"])}
}

func str(v ddbtypes.AttributeValue) string {
	if s, ok := v.(*ddbtypes.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}
