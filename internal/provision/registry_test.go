package provision

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localaws/authz"
	"github.com/s3crr/s3crr/internal/policy"
)

// fakeScanner serves the pairs table's Scan in pages of one item, applying no filter
// (so the test sees that the registry passes the filter, and reads every page).
type fakeScanner struct {
	items  []map[string]ddbtypes.AttributeValue
	inputs []*dynamodb.ScanInput
}

func (f *fakeScanner) Scan(_ context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	f.inputs = append(f.inputs, in)
	i := 0
	if in.ExclusiveStartKey != nil {
		i = int(in.ExclusiveStartKey["i"].(*ddbtypes.AttributeValueMemberN).Value[0]-'0') + 1
	}
	out := &dynamodb.ScanOutput{Items: f.items[i : i+1]}
	if i+1 < len(f.items) {
		out.LastEvaluatedKey = map[string]ddbtypes.AttributeValue{"i": &ddbtypes.AttributeValueMemberN{Value: string(rune('0' + i))}}
	}
	return out, nil
}

func registration(pairID, srcAccount, dstAccount, bucket, keyARN, request string) map[string]ddbtypes.AttributeValue {
	s := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	return map[string]ddbtypes.AttributeValue{
		"pairId":      s(pairID),
		"source":      &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{"account": s(srcAccount)}},
		"destination": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{"account": s(dstAccount), "bucket": s(bucket), "keyArn": s(keyARN)}},
		"request":     s(request),
	}
}

// TableRegistry reads the items RegisterPair writes, every page, filtered by the
// destination account.
func TestTableRegistryReadsRegistrations(t *testing.T) {
	f := &fakeScanner{items: []map[string]ddbtypes.AttributeValue{
		registration("a", "111111111111", "222222222222", "central", "arn:k", `{"source":{"account":"111111111111"},"rule":{"prefix":"logs/","ownerOverride":true}}`),
		registration("b", "333333333333", "222222222222", "central", "arn:k", `{"source":{"account":"333333333333"}}`),
	}}
	got, err := TableRegistry{Client: f, Table: "s3crr-pairs"}.PairsInto(context.Background(), "222222222222")
	if err != nil {
		t.Fatal(err)
	}
	want := []RegisteredPair{
		{PairID: "a", SourceAccount: "111111111111", DestinationAccount: "222222222222", DestinationBucket: "central", DestinationKeyARN: "arn:k", Prefix: "logs/", OwnerOverride: true},
		{PairID: "b", SourceAccount: "333333333333", DestinationAccount: "222222222222", DestinationBucket: "central", DestinationKeyARN: "arn:k"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("PairsInto = %+v, want %+v", got, want)
	}
	if len(f.inputs) != 2 || aws.ToString(f.inputs[0].TableName) != "s3crr-pairs" ||
		f.inputs[0].ExpressionAttributeValues[":a"].(*ddbtypes.AttributeValueMemberS).Value != "222222222222" {
		t.Errorf("scans = %d, first %+v", len(f.inputs), f.inputs[0])
	}
}

// TestProvisionFunctionTableReadIsMinimal walks the provision Lambda's pairs-table grant.
// The hub's DynamoDB stand-in (kumo) enforces no IAM, so the call TableRegistry makes (a
// Scan of the table) is put to the simulator's evaluator: allowed with the whole policy,
// denied without dynamodb:Scan.
func TestProvisionFunctionTableReadIsMinimal(t *testing.T) {
	const hub = localaws.HubAccount
	table := "arn:aws:dynamodb:eu-central-1:" + hub + ":table/s3crr-pairs"
	hp := policy.HubParams{MemberAccounts: []string{localaws.SourceAccount}, ExternalID: testExternalID, TableARN: table,
		LeaseTableARN: "arn:aws:dynamodb:eu-central-1:" + hub + ":table/s3crr-leases"}
	scan := authz.Request{Principal: authz.Principal{Account: hub, ARN: policy.RoleARN(hub, "/", "s3crr-provision-function")}, Action: "dynamodb:Scan", Resource: table}
	allowed := func(doc policy.Document) bool {
		p, err := authz.Parse(doc.JSON())
		must(t, err)
		return authz.Authorize(authz.Input{Request: scan, Mode: authz.ModeStandard, Identity: []*authz.Policy{p}, ResourceAccount: hub}).Allowed
	}
	doc := policy.ProvisionFunctionPolicy(hp)
	if !allowed(doc) {
		t.Fatalf("the provision function policy does not allow the registry's Scan: %s", doc)
	}
	if allowed(without(doc, policy.SidPrefix+policy.PurposePairsRead, "dynamodb:Scan")) {
		t.Error("without dynamodb:Scan the registry's Scan is still allowed")
	}
	if r, ok := policy.RequiredBy(policy.SidPrefix+policy.PurposePairsRead, "dynamodb:Scan"); !ok || len(r.Stages) == 0 {
		t.Error("dynamodb:Scan has no requirement row")
	}
}
