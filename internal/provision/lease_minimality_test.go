package provision

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/s3crr/s3crr/internal/lease"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localaws/authz"
	"github.com/s3crr/s3crr/internal/policy"
)

// recordingLeaseDB records the lease table calls a run really makes, as the IAM requests
// DynamoDB would authorize: the action, the table, and the item's partition key
// (dynamodb:LeadingKeys).
type recordingLeaseDB struct {
	lease.API
	tableARN string
	mu       sync.Mutex
	calls    []authz.Request
}

func (r *recordingLeaseDB) record(action string, key map[string]ddbtypes.AttributeValue) {
	k, _ := key[lease.DynamoDB{}.KeyAttribute()].(*ddbtypes.AttributeValueMemberS)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, authz.Request{Action: action, Resource: r.tableARN, Context: map[string][]string{policy.KeyDynamoDBLeadingKeys: {k.Value}}})
}

func (r *recordingLeaseDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	r.record("dynamodb:PutItem", in.Item)
	return r.API.PutItem(ctx, in, o...)
}

func (r *recordingLeaseDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	r.record("dynamodb:DeleteItem", in.Key)
	return r.API.DeleteItem(ctx, in, o...)
}

// TestLeasePermissionsAreMinimal walks the provision Lambda's lease grant as the monitor's
// is walked: kumo enforces no IAM, so every lease call a real pair's run makes is put to
// the simulator's evaluator, allowed with the whole policy and denied without its action;
// the LeadingKeys condition keeps the role off every other key and table.
func TestLeasePermissionsAreMinimal(t *testing.T) {
	const hub, region = localaws.HubAccount, "us-east-1"
	hp := policy.HubParams{MemberAccounts: []string{localaws.SourceAccount, localaws.DestinationAccount}, ExternalID: testExternalID,
		LeaseTableARN: "arn:aws:dynamodb:" + region + ":" + hub + ":table/s3crr-leases"}
	env := newLocalEnv(t, localaws.Options{})
	store := kumoLeases(t, nil)
	rec := &recordingLeaseDB{API: store.DB, tableARN: hp.LeaseTableARN}
	store.DB = rec
	env.svc.cfg.Leases = store
	env.apply(t, faninRequest("walk-first"))
	env.apply(t, faninRequest("walk-second"))
	if len(rec.calls) == 0 {
		t.Fatal("two pairs' runs made no lease call")
	}
	// A re-run of a converged pair writes nothing, so it takes no lease either.
	before := len(rec.calls)
	env.srv.ResetCalls()
	env.apply(t, faninRequest("walk-second"))
	if n := len(rec.calls) - before; n != 0 || env.srv.MutatingCalls("") != 0 {
		t.Errorf("re-running a converged pair made %d lease calls and %d member writes, want none", n, env.srv.MutatingCalls(""))
	}
	principal := authz.Principal{Account: hub, ARN: policy.RoleARN(hub, "/", "s3crr-provision-function")}
	allowed := func(doc policy.Document, r authz.Request) bool {
		p, err := authz.Parse(doc.JSON())
		must(t, err)
		r.Principal = principal
		return authz.Authorize(authz.Input{Request: r, Mode: authz.ModeStandard, Identity: []*authz.Policy{p}, ResourceAccount: hub}).Allowed
	}
	doc := policy.ProvisionFunctionPolicy(hp)
	for _, c := range rec.calls {
		if !allowed(doc, c) {
			t.Errorf("the provision function policy does not allow %s on %s %v", c.Action, c.Resource, c.Context)
		}
	}
	pairsTable := "arn:aws:dynamodb:" + region + ":" + hub + ":table/s3crr-pairs"
	for _, c := range []authz.Request{
		{Action: "dynamodb:PutItem", Resource: hp.LeaseTableARN, Context: map[string][]string{policy.KeyDynamoDBLeadingKeys: {"walk-first"}}},
		{Action: "dynamodb:DeleteItem", Resource: pairsTable, Context: map[string][]string{policy.KeyDynamoDBLeadingKeys: {"s3:x"}}},
		{Action: "dynamodb:UpdateItem", Resource: hp.LeaseTableARN, Context: map[string][]string{policy.KeyDynamoDBLeadingKeys: {"s3:x"}}},
		{Action: "dynamodb:GetItem", Resource: hp.LeaseTableARN, Context: map[string][]string{policy.KeyDynamoDBLeadingKeys: {"s3:x"}}},
	} {
		if allowed(doc, c) {
			t.Errorf("the provision function policy allows %s on %s %v, which leases never need", c.Action, c.Resource, c.Context)
		}
	}
	walked := 0
	for _, st := range doc.Statement {
		if st.Sid != policy.SidPrefix+policy.PurposeDocumentLeases {
			continue
		}
		for _, action := range st.Action {
			if _, ok := policy.RequiredBy(st.Sid, action); !ok {
				t.Errorf("%s grants %s, which the requirement table does not list", st.Sid, action)
			}
			reduced := without(doc, st.Sid, action)
			if !slices.ContainsFunc(rec.calls, func(c authz.Request) bool { return strings.EqualFold(c.Action, action) && !allowed(reduced, c) }) {
				t.Errorf("without %s every lease call is still allowed", action)
			}
			walked++
		}
	}
	if walked != 2 {
		t.Errorf("walked %d lease actions, want PutItem and DeleteItem", walked)
	}
}
