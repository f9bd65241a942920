package monitor

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/s3crr/s3crr/internal/policy"
)

// Window is the de-duplication table's record of one (pair, reason): when the last alert
// went out and what has been counted since, as `crr status` shows it.
type Window struct {
	// Reason is the failure reason or signal kind the alerts were for.
	Reason string
	// LastAlert is when the last alert was claimed; Sent whether it was published.
	LastAlert time.Time
	Sent      bool
	// WindowEnd is when the next occurrence alerts again.
	WindowEnd time.Time
	// SinceAlert is how many occurrences arrived after the last alert (suppressed, to be
	// reported by the next one).
	SinceAlert int64
	// FirstSeen and LastSeen are the first and latest occurrence the table remembers.
	FirstSeen, LastSeen time.Time
}

// windowScanner is what PairWindows needs from DynamoDB.
type windowScanner interface {
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// PairWindows reads a pair's alert windows from the de-duplication table, the most
// recent occurrence first. The table's only key is the partition key, so this is a Scan
// filtered on the window prefix: it reads the whole table (occurrence markers live a day,
// windows a month), which is cheap for an operator's command and never done by the
// monitor itself.
func PairWindows(ctx context.Context, db windowScanner, table, pair string) ([]Window, error) {
	prefix := policy.DedupWindowKeyPrefix + pair + "#"
	var out []Window
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{
		TableName:                 aws.String(table),
		FilterExpression:          aws.String("begins_with(#k, :p)"),
		ExpressionAttributeNames:  map[string]string{"#k": DedupKey},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":p": s(prefix)},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", table, err)
		}
		for _, it := range page.Items {
			k := str(it[DedupKey])
			if !strings.HasPrefix(k, prefix) {
				continue
			}
			w := Window{Reason: strings.TrimPrefix(k, prefix), SinceAlert: num(it["seen"]), Sent: boolean(it["sent"])}
			w.LastAlert, w.WindowEnd = unix(it["claimedAt"]), unix(it["windowEnd"])
			w.FirstSeen, w.LastSeen = unix(it["firstSeen"]), unix(it["lastSeen"])
			out = append(out, w)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].LastSeen.Equal(out[j].LastSeen) {
			return out[i].LastSeen.After(out[j].LastSeen)
		}
		return out[i].Reason < out[j].Reason
	})
	return out, nil
}

func unix(v ddbtypes.AttributeValue) time.Time {
	if x := num(v); x > 0 {
		return time.Unix(x, 0).UTC()
	}
	return time.Time{}
}

func boolean(v ddbtypes.AttributeValue) bool {
	b, ok := v.(*ddbtypes.AttributeValueMemberBOOL)
	return ok && b.Value
}
