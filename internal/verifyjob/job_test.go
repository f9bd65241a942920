package verifyjob

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/s3crr/s3crr/internal/verify"
)

type fakeDB struct {
	pairsAPI
	items   []map[string]ddbtypes.AttributeValue
	updates []*dynamodb.UpdateItemInput
	pages   int
	// limits and projection are what each Scan asked for.
	limits     []int32
	projection string
}

func (f *fakeDB) Scan(_ context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	f.pages++
	f.limits = append(f.limits, aws.ToInt32(in.Limit))
	f.projection = aws.ToString(in.ProjectionExpression)
	// One item per page, so the listing must follow LastEvaluatedKey.
	i := 0
	if in.ExclusiveStartKey != nil {
		i = 1 + indexOf(f.items, in.ExclusiveStartKey["pairId"].(*ddbtypes.AttributeValueMemberS).Value)
	}
	out := &dynamodb.ScanOutput{}
	if i < len(f.items) {
		out.Items = f.items[i : i+1]
		if i+1 < len(f.items) {
			out.LastEvaluatedKey = map[string]ddbtypes.AttributeValue{"pairId": f.items[i]["pairId"]}
		}
	}
	return out, nil
}

func indexOf(items []map[string]ddbtypes.AttributeValue, id string) int {
	for i, it := range items {
		if it["pairId"].(*ddbtypes.AttributeValueMemberS).Value == id {
			return i
		}
	}
	return -1
}

func (f *fakeDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if i := indexOf(f.items, in.Key["pairId"].(*ddbtypes.AttributeValueMemberS).Value); i >= 0 {
		return &dynamodb.GetItemOutput{Item: f.items[i]}, nil
	}
	return &dynamodb.GetItemOutput{}, nil
}

func (f *fakeDB) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	f.updates = append(f.updates, in)
	return &dynamodb.UpdateItemOutput{}, nil
}

type fakeCW struct {
	puts []*cloudwatch.PutMetricDataInput
}

func (f *fakeCW) PutMetricData(_ context.Context, in *cloudwatch.PutMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error) {
	f.puts = append(f.puts, in)
	return &cloudwatch.PutMetricDataOutput{}, nil
}

type fakeSNS struct{ published []*sns.PublishInput }

func (f *fakeSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.published = append(f.published, in)
	return &sns.PublishOutput{}, nil
}

const request = `{"pairId":"payments-archive","source":{"account":"111111111111","region":"ap-south-1","bucket":"payments-src","kmsKeyAlias":"alias/s3crr-src"},"destination":{"account":"222222222222","region":"us-east-1","bucket":"payments-dst","kmsKeyAlias":"alias/s3crr-dst"}}`

func item(id string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{"pairId": &ddbtypes.AttributeValueMemberS{Value: id}, "request": &ddbtypes.AttributeValueMemberS{Value: request}}
}

func newService(db *fakeDB, cw *fakeCW, pub *fakeSNS) *Service {
	now := time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)
	return New(Config{TableName: "s3crr-pairs", TopicARN: "arn:aws:sns:eu-central-1:333333333333:s3crr-alerts", Now: func() time.Time { return now }},
		db, cw, pub, nil, nil)
}

func TestListFollowsEveryPageAndOnePairMustExist(t *testing.T) {
	db := &fakeDB{items: []map[string]ddbtypes.AttributeValue{item("a"), item("b"), item("c")}}
	s := newService(db, &fakeCW{}, &fakeSNS{})
	out, err := s.Handle(context.Background(), Event{Stage: StageList})
	if err != nil {
		t.Fatal(err)
	}
	got := out.(ListResult).Pairs
	if len(got) != 3 || got[2].PairID != "c" || db.pages != 3 {
		t.Errorf("listed %v in %d pages", got, db.pages)
	}
	// No Scan without a Limit, and only the IDs: a thousand requests would not fit the
	// state payload; each child execution's check reads its own.
	if slices.Contains(db.limits, 0) || db.projection != "pairId" {
		t.Errorf("Scan limits %v, projection %q; want a Limit on every page and only pairId", db.limits, db.projection)
	}
	loaded, err := s.load(context.Background(), PairState{PairID: "b"})
	if err != nil || loaded.Request != request {
		t.Errorf("load of a listed pair: %+v, %v; want its registered request", loaded, err)
	}
	_, err = s.Handle(context.Background(), Event{Stage: StageList, PairID: "nope"})
	var nf *PairNotFound
	if !errors.As(err, &nf) {
		t.Errorf("unregistered pair: %v, want PairNotFound", err)
	}
}

func TestRecordDecidesRecordsMeasuresAndAlerts(t *testing.T) {
	completed := &verify.CanaryResult{Status: verify.CanaryCompleted, LatencySeconds: 7.5}
	failedCanary := &verify.CanaryResult{Status: verify.CanaryFailed, Findings: []verify.Finding{{Check: "canary-replication-failed", Severity: verify.SeverityError, Fix: "f"}}}
	warning := &verify.Report{Findings: []verify.Finding{{Check: "rotation", Severity: verify.SeverityWarning, Fix: "enable"}}}
	tests := []struct {
		name        string
		st          PairState
		wantStatus  string
		wantLatency float64
		wantAlert   bool
	}{
		{"canary replicated, a warning", PairState{Report: warning, Canary: completed}, StatusPassed, 7.5, false},
		{"canary failed", PairState{Report: &verify.Report{}, Canary: failedCanary}, StatusFailed, 0, true},
		{"a stage error caught", PairState{Error: &StageError{Error: "AccessDenied", Cause: "assume"}}, StatusFailed, 0, true},
		{"no canary verdict", PairState{Report: &verify.Report{}, Canary: &verify.CanaryResult{Status: verify.CanaryPending}}, StatusFailed, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, cw, pub := &fakeDB{}, &fakeCW{}, &fakeSNS{}
			st := tt.st
			st.PairID, st.Request = "payments-archive", request
			out, err := newService(db, cw, pub).Handle(context.Background(), Event{Stage: StageRecord, State: &st, Execution: "exec"})
			if err != nil {
				t.Fatal(err)
			}
			res := out.(Result)
			if res.Status != tt.wantStatus || res.LatencySeconds != tt.wantLatency || res.Alerted != tt.wantAlert || (len(pub.published) == 1) != tt.wantAlert {
				t.Errorf("status %s latency %v alerted %v (%d published), want %s %v %v", res.Status, res.LatencySeconds, res.Alerted, len(pub.published), tt.wantStatus, tt.wantLatency, tt.wantAlert)
			}
			if len(db.updates) != 1 || db.updates[0].ExpressionAttributeValues[":st"].(*ddbtypes.AttributeValueMemberS).Value != tt.wantStatus ||
				aws.ToString(db.updates[0].ConditionExpression) != "attribute_exists(#pk)" {
				t.Errorf("pair record %+v", db.updates)
			}
			if len(cw.puts) != 1 || aws.ToString(cw.puts[0].Namespace) != "s3crr" {
				t.Fatalf("metrics %+v", cw.puts)
			}
			var names []string
			for _, d := range cw.puts[0].MetricData {
				names = append(names, aws.ToString(d.MetricName))
				if aws.ToString(d.Dimensions[0].Value) != "payments-archive" {
					t.Errorf("metric %s dimension %v", aws.ToString(d.MetricName), aws.ToString(d.Dimensions[0].Value))
				}
			}
			if got := strings.Join(names, ","); (tt.wantLatency > 0) != strings.Contains(got, MetricCanaryLatency) || !strings.Contains(got, MetricVerificationFailed) {
				t.Errorf("metrics %s", got)
			}
		})
	}
}

// The summary is what a failed provision run shows as its cause: it must name every
// error finding with its code, account and fix, and leave warnings out of the list.
func TestSummaryNamesEveryErrorWithItsFix(t *testing.T) {
	res := Result{Status: StatusFailed, Findings: []verify.Finding{
		{Check: "destination-key-policy", Severity: verify.SeverityError, Code: "AccessDenied", Account: "222222222222",
			Message: "the key policy does not allow the role to encrypt", Fix: "add the statement s3crrReplicaEncrypt"},
		{Check: "canary-lifecycle", Severity: verify.SeverityWarning, Message: "no backstop", Fix: "re-apply"},
	}}
	got := summarize(res)
	for _, want := range []string{"1 error(s)", "destination-key-policy (AccessDenied) in account 222222222222",
		"does not allow the role to encrypt", "fix: add the statement s3crrReplicaEncrypt"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "no backstop") {
		t.Errorf("summary %q lists a warning", got)
	}
	if got := summarize(Result{Status: StatusPassed, LatencySeconds: 2.25}); !strings.Contains(got, "2.2 s") && !strings.Contains(got, "2.3 s") {
		t.Errorf("passed summary %q lacks the latency", got)
	}
	if got := summarize(Result{Status: StatusFailed}); !strings.Contains(got, "no verdict") {
		t.Errorf("summary without findings %q does not say there was no verdict", got)
	}
}

type throttledDB struct{ fakeDB }

func (throttledDB) Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException", Message: "Rate exceeded"}
}

// TestThrottlingIsNamed: a stage whose AWS calls still throttle after the SDK's retries
// fails as *Throttled, the name the verify state machine retries.
func TestThrottlingIsNamed(t *testing.T) {
	s := New(Config{TableName: "pairs"}, &throttledDB{}, &fakeCW{}, &fakeSNS{}, nil, nil)
	_, err := s.Handle(context.Background(), Event{Stage: StageList})
	var th *Throttled
	if !errors.As(err, &th) || !strings.Contains(th.Message, "ProvisionedThroughputExceededException") {
		t.Fatalf("err = %v (%T), want *Throttled keeping the AWS code", err, err)
	}
}
