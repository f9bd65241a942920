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

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
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
//     at-least-once, EventBridge's retries) is neither counted nor alerted twice once it
//     was handled (done). It lives for a day, longer than EventBridge retries (24 hours at
//     most). An occurrence whose handling failed half-way (done still false) is handled
//     again when retried; its count may then be one too high, never its alerts.
//   - "alert#<pair>#<reason>": the window. seen counts occurrences (ADD); an alert claims
//     the window with a conditional update that succeeds only once the last window has
//     ended (or when this occurrence claimed it and did not get to publish), reading and
//     resetting seen, so the alert carries the number of occurrences since the previous
//     alert. (A claim re-done after a failed publish counts only what arrived since.)
const (
	// DedupKey is the de-duplication table's partition key (a string).
	DedupKey = names.DedupTableKey
	// DedupTTLAttribute is the table's TTL attribute (epoch seconds).
	DedupTTLAttribute = names.DedupTTLAttribute

	occurrenceTTL = 24 * time.Hour
	// windowRetention keeps a window's counters well after it ends, so repeats counted in
	// one window still appear in the next alert, days later.
	windowRetention = 30 * 24 * time.Hour
)

// claim is the result of registering one occurrence.
type claim struct {
	// Duplicate: this occurrence was handled before.
	Duplicate bool
	// Alert: this occurrence owns the window and must publish, then call done.
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

// Keys carry the prefixes the monitor's role is limited to (policy.ReplicationMonitorPolicy).
func (d deduper) windowKey(pair, reason string) string {
	return policy.DedupWindowKeyPrefix + pair + "#" + reason
}

func eventKey(occurrence string) string { return policy.DedupEventKeyPrefix + occurrence }

var (
	avFalse = &ddbtypes.AttributeValueMemberBOOL{Value: false}
	avTrue  = &ddbtypes.AttributeValueMemberBOOL{Value: true}
)

// register records the occurrence and decides whether it alerts: one transaction (the
// occurrence marker and the count), then one conditional update (the claim). A suppressed
// occurrence is then marked done (a third call); an alerting one after publishing.
func (d deduper) register(ctx context.Context, occurrence, pair, reason string, now time.Time) (claim, error) {
	wk := d.windowKey(pair, reason)
	nowS := now.Unix()
	_, err := d.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
		{Put: &ddbtypes.Put{
			TableName: aws.String(d.table),
			Item: map[string]ddbtypes.AttributeValue{
				DedupKey:          s(eventKey(occurrence)),
				"window":          s(wk),
				"done":            avFalse,
				"at":              n(nowS),
				DedupTTLAttribute: n(now.Add(occurrenceTTL).Unix()),
			},
			ConditionExpression:       aws.String("attribute_not_exists(#k) OR done = :f"),
			ExpressionAttributeNames:  map[string]string{"#k": DedupKey},
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":f": avFalse},
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
		if conditionFailedAt(err, 0) {
			return claim{Duplicate: true}, nil
		}
		return claim{}, fmt.Errorf("record occurrence %s: %w", occurrence, err)
	}
	// The claim reads the old counter and resets it in one conditional update: the alert
	// reports every occurrence counted since the previous claim (this one included).
	// Operands are values, never other attributes, which keeps the expression within what
	// every DynamoDB implementation evaluates.
	out, err := d.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(d.table),
		Key:                      map[string]ddbtypes.AttributeValue{DedupKey: s(wk)},
		ConditionExpression:      aws.String("attribute_not_exists(windowEnd) OR windowEnd <= :now OR (#owner = :me AND sent = :f)"),
		UpdateExpression:         aws.String("SET seen = :zero, claimedAt = :now, windowEnd = :end, #owner = :me, sent = :f"),
		ExpressionAttributeNames: map[string]string{"#owner": "owner"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":now": n(nowS), ":end": n(now.Add(d.window).Unix()), ":me": s(occurrence), ":f": avFalse, ":zero": n(0),
		},
		ReturnValues: ddbtypes.ReturnValueAllOld,
	})
	if err != nil {
		var ccf *ddbtypes.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return claim{}, d.done(ctx, occurrence)
		}
		return claim{}, fmt.Errorf("claim alert window %s: %w", wk, err)
	}
	old := out.Attributes
	c := claim{Alert: true, Count: max(num(old["seen"]), 1)}
	since, ok := old["claimedAt"]
	if !ok {
		since = old["firstSeen"]
	}
	c.Since = time.Unix(num(since), 0).UTC()
	if num(since) == 0 {
		c.Since = now.UTC()
	}
	return c, nil
}

// sent marks the window's alert as published and the occurrence as handled, so a later
// redelivery does not publish it again.
func (d deduper) sent(ctx context.Context, occurrence, pair, reason string) error {
	_, err := d.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.table),
		Key:                       map[string]ddbtypes.AttributeValue{DedupKey: s(d.windowKey(pair, reason))},
		ConditionExpression:       aws.String("#owner = :me"),
		UpdateExpression:          aws.String("SET sent = :t"),
		ExpressionAttributeNames:  map[string]string{"#owner": "owner"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":me": s(occurrence), ":t": avTrue},
	})
	var ccf *ddbtypes.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("mark alert sent for %s/%s: %w", pair, reason, err)
	}
	return d.done(ctx, occurrence)
}

// done marks the occurrence handled.
func (d deduper) done(ctx context.Context, occurrence string) error {
	_, err := d.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.table),
		Key:                       map[string]ddbtypes.AttributeValue{DedupKey: s(eventKey(occurrence))},
		UpdateExpression:          aws.String("SET done = :t"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":t": avTrue},
	})
	if err != nil {
		return fmt.Errorf("mark occurrence %s handled: %w", occurrence, err)
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
