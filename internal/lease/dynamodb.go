package lease

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
)

// API is what the DynamoDB store calls: one conditional PutItem to acquire, one
// conditional DeleteItem to release (the provision Lambda's grant on the lease table,
// policy.PurposeDocumentLeases).
type API interface {
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// DynamoDB is the Store on the hub's lease table (partition key names.LeaseTableKey, TTL
// attribute names.LeaseTTLAttribute).
type DynamoDB struct {
	DB    API
	Table string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

var _ Store = DynamoDB{}

// Attribute names of a lease item.
const (
	attrResource = names.LeaseTableKey
	attrExpires  = names.LeaseTTLAttribute
	attrOwner    = "owner"
)

// KeyAttribute is the table's partition key attribute, whose value is the lease's Resource.
func (DynamoDB) KeyAttribute() string { return attrResource }

func (d DynamoDB) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Acquire implements Store: PutItem under the condition that no unexpired lease of another
// owner exists. The condition compares expiresAt with the caller's clock rather than
// trusting TTL, which deletes expired items only eventually (days later).
func (d DynamoDB) Acquire(ctx context.Context, l Lease) error {
	_, err := d.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(d.Table),
		Item: map[string]ddbtypes.AttributeValue{
			attrResource: &ddbtypes.AttributeValueMemberS{Value: l.Resource},
			attrOwner:    &ddbtypes.AttributeValueMemberS{Value: l.Owner},
			attrExpires:  &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(l.Expires.Unix(), 10)},
		},
		ConditionExpression:      aws.String("attribute_not_exists(#r) OR #e < :now OR #o = :me"),
		ExpressionAttributeNames: map[string]string{"#r": attrResource, "#e": attrExpires, "#o": attrOwner},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":now": &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(d.now().Unix(), 10)},
			":me":  &ddbtypes.AttributeValueMemberS{Value: l.Owner},
		},
		// The holder, for the message of the run that must wait; DynamoDB returns it with
		// the failed condition, at no extra read.
		ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		h := &Held{Resource: l.Resource}
		if v, ok := ccf.Item[attrOwner].(*ddbtypes.AttributeValueMemberS); ok {
			h.Holder = v.Value
		}
		if v, ok := ccf.Item[attrExpires].(*ddbtypes.AttributeValueMemberN); ok {
			if s, perr := strconv.ParseInt(v.Value, 10, 64); perr == nil {
				h.Expires = time.Unix(s, 0)
			}
		}
		return h
	}
	if err != nil {
		return fmt.Errorf("take the lease on %s in table %s: %w", l.Resource, d.Table, err)
	}
	return nil
}

// Release implements Store: DeleteItem only while the item is still this owner's.
func (d DynamoDB) Release(ctx context.Context, l Lease) error {
	_, err := d.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(d.Table),
		Key:                       map[string]ddbtypes.AttributeValue{attrResource: &ddbtypes.AttributeValueMemberS{Value: l.Resource}},
		ConditionExpression:       aws.String("#o = :me"),
		ExpressionAttributeNames:  map[string]string{"#o": attrOwner},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":me": &ddbtypes.AttributeValueMemberS{Value: l.Owner}},
	})
	var ccf *ddbtypes.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("release the lease on %s in table %s: %w", l.Resource, d.Table, err)
	}
	return nil
}
