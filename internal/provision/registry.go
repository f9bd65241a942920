package provision

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableScanner is the DynamoDB call TableRegistry makes.
type TableScanner interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// TableRegistry reads the pairs table the state machines write (RegisterPair: the
// pair's source and destination with their key ARNs, and the request as JSON).
type TableRegistry struct {
	Client TableScanner
	Table  string
}

// PairsInto scans the table for the pairs whose destination is in account. A Scan (the
// table has no index by destination) reads every registration, about 1 MB per page for
// a thousand pairs; teardown is the only caller.
func (r TableRegistry) PairsInto(ctx context.Context, account string) ([]RegisteredPair, error) {
	in := &dynamodb.ScanInput{
		TableName:                aws.String(r.Table),
		FilterExpression:         aws.String("#d.#a = :a"),
		ProjectionExpression:     aws.String("pairId, #d, #r"),
		ExpressionAttributeNames: map[string]string{"#d": "destination", "#a": "account", "#r": "request"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":a": &ddbtypes.AttributeValueMemberS{Value: account},
		},
	}
	var out []RegisteredPair
	p := dynamodb.NewScanPaginator(r.Client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", r.Table, err)
		}
		for _, item := range page.Items {
			rp, err := registeredPair(item)
			if err != nil {
				return nil, fmt.Errorf("read a registration in %s: %w", r.Table, err)
			}
			out = append(out, rp)
		}
	}
	return out, nil
}

// registeredPair decodes one item of the pairs table.
func registeredPair(item map[string]ddbtypes.AttributeValue) (RegisteredPair, error) {
	str := func(m map[string]ddbtypes.AttributeValue, k string) string {
		if v, ok := m[k].(*ddbtypes.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	rp := RegisteredPair{PairID: str(item, "pairId")}
	if d, ok := item["destination"].(*ddbtypes.AttributeValueMemberM); ok {
		rp.DestinationAccount, rp.DestinationBucket, rp.DestinationKeyARN = str(d.Value, "account"), str(d.Value, "bucket"), str(d.Value, "keyArn")
	}
	// Only the fields teardown needs, decoded without internal/spec's defaults: the
	// registered request was valid when it was provisioned.
	var req struct {
		Source struct {
			Account string `json:"account"`
		} `json:"source"`
		Rule struct {
			Prefix        string `json:"prefix"`
			OwnerOverride bool   `json:"ownerOverride"`
		} `json:"rule"`
	}
	if raw := str(item, "request"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &req); err != nil {
			return rp, fmt.Errorf("pair %s: request: %w", rp.PairID, err)
		}
	}
	rp.SourceAccount, rp.Prefix, rp.OwnerOverride = req.Source.Account, req.Rule.Prefix, req.Rule.OwnerOverride
	return rp, nil
}
