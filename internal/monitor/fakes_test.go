package monitor

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// fakeDB is both tables in memory. It implements the three update expressions the monitor
// sends (count, claim, resume, sent) by what they mean, so the tests exercise the
// monitor's decisions; kumo_test.go runs the same scenarios against kumo's DynamoDB, which
// parses the expressions.
type fakeDB struct {
	pairLookup // embedded: an unexpected call panics
	dedupStore

	mu    sync.Mutex
	pairs map[string]map[string]ddbtypes.AttributeValue
	items map[string]map[string]ddbtypes.AttributeValue
	calls map[string]int
	fail  map[string]error // op -> error to return once
}

func newFakeDB() *fakeDB {
	return &fakeDB{pairs: map[string]map[string]ddbtypes.AttributeValue{}, items: map[string]map[string]ddbtypes.AttributeValue{}, calls: map[string]int{}, fail: map[string]error{}}
}

func (f *fakeDB) injected(op string) error {
	f.calls[op]++
	if err, ok := f.fail[op]; ok {
		delete(f.fail, op)
		return err
	}
	return nil
}

func (f *fakeDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("GetItem"); err != nil {
		return nil, err
	}
	return &dynamodb.GetItemOutput{Item: f.pairs[str(in.Key[pairsKey])]}, nil
}

func (f *fakeDB) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("TransactWriteItems"); err != nil {
		return nil, err
	}
	put, up := in.TransactItems[0].Put, in.TransactItems[1].Update
	k := str(put.Item[DedupKey])
	if old, ok := f.items[k]; ok && func() bool { d, _ := boolOf(old["done"]); return d }() {
		return nil, &ddbtypes.TransactionCanceledException{CancellationReasons: []ddbtypes.CancellationReason{{Code: aws.String("ConditionalCheckFailed")}, {Code: aws.String("None")}}}
	}
	f.items[k] = put.Item
	wk := str(up.Key[DedupKey])
	w := f.window(wk)
	v := up.ExpressionAttributeValues
	w["seen"] = n(num(w["seen"]) + num(v[":one"]))
	if _, ok := w["firstSeen"]; !ok {
		w["firstSeen"] = v[":now"]
	}
	w["lastSeen"], w[DedupTTLAttribute] = v[":now"], v[":ttl"]
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

func (f *fakeDB) window(k string) map[string]ddbtypes.AttributeValue {
	w, ok := f.items[k]
	if !ok {
		w = map[string]ddbtypes.AttributeValue{DedupKey: s(k)}
		f.items[k] = w
	}
	return w
}

func boolOf(v ddbtypes.AttributeValue) (bool, bool) {
	b, ok := v.(*ddbtypes.AttributeValueMemberBOOL)
	if !ok {
		return false, false
	}
	return b.Value, true
}

func (f *fakeDB) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("UpdateItem"); err != nil {
		return nil, err
	}
	k := str(in.Key[DedupKey])
	w, exists := f.items[k]
	v := in.ExpressionAttributeValues
	ownedUnsent := func() bool {
		sent, ok := boolOf(w["sent"])
		return exists && str(w["owner"]) == str(v[":me"]) && ok && !sent
	}
	ccf := &ddbtypes.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	expr := aws.ToString(in.UpdateExpression)
	switch {
	case strings.HasPrefix(expr, "SET seen = :zero"): // claim, returning the old item
		_, hasEnd := w["windowEnd"]
		if exists && hasEnd && num(w["windowEnd"]) > num(v[":now"]) && !ownedUnsent() {
			return nil, ccf
		}
		w = f.window(k)
		old := map[string]ddbtypes.AttributeValue{}
		for a, x := range w {
			old[a] = x
		}
		w["seen"], w["claimedAt"], w["windowEnd"], w["owner"], w["sent"] = v[":zero"], v[":now"], v[":end"], v[":me"], v[":f"]
		return &dynamodb.UpdateItemOutput{Attributes: old}, nil
	case strings.HasPrefix(expr, "SET done"):
		w = f.window(k)
		w["done"] = v[":t"]
	case strings.HasPrefix(expr, "SET sent"):
		if !exists || str(w["owner"]) != str(v[":me"]) {
			return nil, ccf
		}
		w["sent"] = v[":t"]
	default:
		panic("fakeDB: unexpected update " + expr)
	}
	out := map[string]ddbtypes.AttributeValue{}
	for a, x := range w {
		out[a] = x
	}
	return &dynamodb.UpdateItemOutput{Attributes: out}, nil
}

func (f *fakeDB) addPair(id, srcBucket, ruleID string) {
	m := func(acct, region, bucket, key string) ddbtypes.AttributeValue {
		return &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
			"account": s(acct), "region": s(region), "bucket": s(bucket), "keyArn": s(key)}}
	}
	f.pairs[id] = map[string]ddbtypes.AttributeValue{
		pairsKey:      s(id),
		"ruleId":      s(ruleID),
		"roleArn":     s("arn:aws:iam::111111111111:role/s3crr/s3crr-repl-" + id),
		"source":      m("111111111111", "ap-south-1", srcBucket, "arn:aws:kms:ap-south-1:111111111111:key/1111aaaa-1111-4111-8111-111111111111"),
		"destination": m("222222222222", "us-east-1", "payments-dst", "arn:aws:kms:us-east-1:222222222222:key/2222bbbb-2222-4222-8222-222222222222"),
	}
}

func (f *fakeDB) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// fakeSNS records what was published.
type fakeSNS struct {
	alertPublisher
	mu   sync.Mutex
	msgs []*sns.PublishInput
	fail error
}

func (f *fakeSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		err := f.fail
		f.fail = nil
		return nil, err
	}
	f.msgs = append(f.msgs, in)
	return &sns.PublishOutput{MessageId: aws.String(strconv.Itoa(len(f.msgs)))}, nil
}

// alerts decodes the "default" (JSON) form of every published message.
func (f *fakeSNS) alerts() []Alert {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Alert
	for _, m := range f.msgs {
		var env map[string]string
		if err := json.Unmarshal([]byte(aws.ToString(m.Message)), &env); err != nil {
			panic(err)
		}
		var a Alert
		if err := json.Unmarshal([]byte(env["default"]), &a); err != nil {
			panic(err)
		}
		a.Subject, a.Body = aws.ToString(m.Subject), env["email"]
		out = append(out, a)
	}
	return out
}

var readFile = os.ReadFile
