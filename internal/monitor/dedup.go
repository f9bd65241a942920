package monitor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// dedupStore is what de-duplication needs from DynamoDB.
type dedupStore interface {
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var _ dedupStore = (*dynamodb.Client)(nil)

// The de-duplication table (partition key DedupKey, TTL attribute DedupTTLAttribute) holds
// two kinds of item:
//
//   - "event#<occurrence ID>": one per occurrence, so a redelivered event (S3's
//     at-least-once, EventBridge's retries) is neither counted nor alerted twice. It lives
//     for a day, longer than EventBridge retries (24 hours at most).
//   - "alert#<pair>#<reason>": the window. seen counts every occurrence ever (ADD); an
//     alert claims the window with a conditional update that succeeds only once the last
//     window has ended, records seen as baseline and keeps the previous baseline, so the
//     alert carries the number of occurrences since the previous alert. owner and sent let
//     the same occurrence re-claim a window whose alert it failed to publish (the retry
//     after an SNS error), and nobody else.
const (
	// DedupKey is the de-duplication table's partition key (a string).
	DedupKey = "dedupKey"
	// DedupTTLAttribute is the table's TTL attribute (epoch seconds).
	DedupTTLAttribute = "expiresAt"

	occurrenceTTL = 24 * time.Hour
	// windowRetention keeps a window's counters well after it ends, so repeats counted in
	// one window still appear in the next alert, days later.
	windowRetention = 30 * 24 * time.Hour
)

// claim is the result of registering one occurrence.
type claim struct {
	// Duplicate: this occurrence was seen before and its alert (if any) was sent.
	Duplicate bool
	// Alert: this occurrence owns the window and must publish.
	Alert bool
	// Count is the number of occurrences since the previous alert, this one included.
	Count int64
	// Since is when the first of them arrived (the previous alert's time, or the first
	// occurrence ever).
	Since time.Time
}

type deduper struct {
	db     dedupStore
	table  string
	window time.Duration
}

func (d deduper) windowKey(pair, reason string) string { return "alert#" + pair + "#" + reason }

// register records the occurrence and decides whether it alerts. DynamoDB calls: one
// transaction, then one conditional update (claim, or resume after a duplicate).
func (d deduper) register(ctx context.Context, occurrence, pair, reason string, now time.Time) (claim, error) {
	wk := d.windowKey(pair, reason)
	nowS := now.Unix()
	dup := false
	_, err := d.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
		{Put: &ddbtypes.Put{
			TableName: aws.String(d.table),
			Item: map[string]ddbtypes.AttributeValue{
				DedupKey:          s("event#" + occurrence),
				"window":          s(wk),
				DedupTTLAttribute: n(now.Add(occurrenceTTL).Unix()),
			},
			ConditionExpression:      aws.String("attribute_not_exists(#k)"),
			ExpressionAttributeNames: map[string]string{"#k": DedupKey},
		}},
		{Update: &ddbtypes.Update{
			TableName:                 aws.String(d.table),
			Key:                       map[string]ddbtypes.AttributeValue{DedupKey: s(wk)},
			UpdateExpression:          aws.String("ADD seen :one SET firstSeen = if_not_exists(firstSeen, :now), lastSeen = :now, #ttl = :ttl"),
			ExpressionAttributeNames:  map[string]string{"#ttl": DedupTTLAttribute},
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":one": n(1), ":now": n(nowS), ":ttl": n(now.Add(d.window + windowRetention).Unix())},
		}},
	}})
	if err != nil {
		if !conditionFailedAt(err, 0) {
			return claim{}, fmt.Errorf("record occurrence %s: %w", occurrence, err)
		}
		dup = true
	}
	var up *dynamodb.UpdateItemInput
	if dup {
		// Only finish an alert this occurrence claimed and did not send.
		up = &dynamodb.UpdateItemInput{
			TableName:                 aws.String(d.table),
			Key:                       map[string]ddbtypes.AttributeValue{DedupKey: s(wk)},
			ConditionExpression:       aws.String("#owner = :me AND sent = :f"),
			UpdateExpression:          aws.String("SET resumedAt = :now"),
			ExpressionAttributeNames:  map[string]string{"#owner": "owner"},
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":me": s(occurrence), ":f": &ddbtypes.AttributeValueMemberBOOL{Value: false}, ":now": n(nowS)},
			ReturnValues:              ddbtypes.ReturnValueAllNew,
		}
	} else {
		up = &dynamodb.UpdateItemInput{
			TableName:           aws.String(d.table),
			Key:                 map[string]ddbtypes.AttributeValue{DedupKey: s(wk)},
			ConditionExpression: aws.String("attribute_not_exists(windowEnd) OR windowEnd <= :now OR (#owner = :me AND sent = :f)"),
			UpdateExpression: aws.String("SET prevBaseline = if_not_exists(baseline, :zero), prevClaimedAt = if_not_exists(claimedAt, firstSeen), " +
				"baseline = seen, claimedAt = :now, windowEnd = :end, #owner = :me, sent = :f"),
			ExpressionAttributeNames: map[string]string{"#owner": "owner"},
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
				":now": n(nowS), ":end": n(now.Add(d.window).Unix()), ":me": s(occurrence),
				":f": &ddbtypes.AttributeValueMemberBOOL{Value: false}, ":zero": n(0),
			},
			ReturnValues: ddbtypes.ReturnValueAllNew,
		}
	}
	out, err := d.db.UpdateItem(ctx, up)
	if err != nil {
		var ccf *ddbtypes.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return claim{Duplicate: dup}, nil
		}
		return claim{}, fmt.Errorf("claim alert window %s: %w", wk, err)
	}
	c := claim{Alert: true, Count: num(out.Attributes["baseline"]) - num(out.Attributes["prevBaseline"])}
	if c.Count < 1 {
		c.Count = 1
	}
	c.Since = time.Unix(num(out.Attributes["prevClaimedAt"]), 0).UTC()
	return c, nil
}

// sent marks the window's alert as published, so a later redelivery of the occurrence does
// not publish it again.
func (d deduper) sent(ctx context.Context, occurrence, pair, reason string) error {
	_, err := d.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.table),
		Key:                       map[string]ddbtypes.AttributeValue{DedupKey: s(d.windowKey(pair, reason))},
		ConditionExpression:       aws.String("#owner = :me"),
		UpdateExpression:          aws.String("SET sent = :t"),
		ExpressionAttributeNames:  map[string]string{"#owner": "owner"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":me": s(occurrence), ":t": &ddbtypes.AttributeValueMemberBOOL{Value: true}},
	})
	var ccf *ddbtypes.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("mark alert sent for %s/%s: %w", pair, reason, err)
	}
	return nil
}

// conditionFailedAt reports whether a transaction was cancelled because the condition of
// item i failed (and nothing else went wrong).
func conditionFailedAt(err error, i int) bool {
	var tc *ddbtypes.TransactionCanceledException
	if !errors.As(err, &tc) || i >= len(tc.CancellationReasons) {
		return false
	}
	for j, r := range tc.CancellationReasons {
		code := aws.ToString(r.Code)
		if j == i && code != "ConditionalCheckFailed" {
			return false
		}
		if j != i && code != "" && code != "None" {
			return false
		}
	}
	return true
}

func s(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }

func n(v int64) ddbtypes.AttributeValue {
	return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func num(v ddbtypes.AttributeValue) int64 {
	if m, ok := v.(*ddbtypes.AttributeValueMemberN); ok {
		x, _ := strconv.ParseInt(m.Value, 10, 64)
		return x
	}
	return 0
}
