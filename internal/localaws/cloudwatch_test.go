package localaws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/fxamacker/cbor/v2"
)

// cwTestEnv is a running simulator with a settable clock and CloudWatch clients.
type cwTestEnv struct{ *kmsTestEnv }

func newCWTestEnv(t *testing.T) cwTestEnv {
	t.Helper()
	return cwTestEnv{newKMSTestEnv(t, Options{})}
}

// cw returns a CloudWatch client acting as the root user of account in region.
func (e cwTestEnv) cw(account, region string) *cloudwatch.Client {
	return cloudwatch.NewFromConfig(RootConfig(e.endpoint, account, region))
}

// roleCW returns a CloudWatch client acting as a session of a role with an inline policy.
func (e cwTestEnv) roleCW(t *testing.T, account, region, name, policy string) *cloudwatch.Client {
	t.Helper()
	e.role(t, account, name, policy)
	_, creds := e.session(account, name)
	return cloudwatch.NewFromConfig(SessionConfig(e.endpoint, region, creds))
}

// failedReplicationAlarm is the alarm s3crr's events stage puts, as a request.
func failedReplicationAlarm(name string) *cloudwatch.PutMetricAlarmInput {
	return &cloudwatch.PutMetricAlarmInput{
		AlarmName:        aws.String(name),
		AlarmDescription: aws.String("replication failed: see the failure events"),
		Namespace:        aws.String("AWS/S3"),
		MetricName:       aws.String("OperationsFailedReplication"),
		Dimensions: []cwtypes.Dimension{
			{Name: aws.String("SourceBucket"), Value: aws.String("payments-src")},
			{Name: aws.String("DestinationBucket"), Value: aws.String("payments-dst")},
			{Name: aws.String("RuleId"), Value: aws.String("s3crr-payments-archive")},
		},
		Statistic:          cwtypes.StatisticSum,
		Period:             aws.Int32(300),
		EvaluationPeriods:  aws.Int32(1),
		Threshold:          aws.Float64(0),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
		TreatMissingData:   aws.String("ignore"),
		ActionsEnabled:     aws.Bool(true),
	}
}

func describeOne(t *testing.T, c *cloudwatch.Client, name string) cwtypes.MetricAlarm {
	t.Helper()
	out, err := c.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}})
	if err != nil {
		t.Fatalf("describe %s: %v", name, err)
	}
	if len(out.MetricAlarms) != 1 {
		t.Fatalf("describe %s: %d alarms, want 1", name, len(out.MetricAlarms))
	}
	return out.MetricAlarms[0]
}

// TestCloudWatchPutDescribeRoundTrip: what PutMetricAlarm stores is what DescribeAlarms
// returns, field by field, through the SDK's RPC v2 CBOR codec (timestamps included); a
// second PutMetricAlarm replaces the whole configuration and keeps the state.
func TestCloudWatchPutDescribeRoundTrip(t *testing.T) {
	e := newCWTestEnv(t)
	ctx := context.Background()
	c := e.cw(SourceAccount, "ap-south-1")
	created := e.clock.Now()
	if _, err := c.PutMetricAlarm(ctx, failedReplicationAlarm("s3crr-p1-failed-replication")); err != nil {
		t.Fatal(err)
	}
	got := describeOne(t, c, "s3crr-p1-failed-replication")
	checks := []struct {
		field     string
		got, want any
	}{
		{"AlarmArn", aws.ToString(got.AlarmArn), "arn:aws:cloudwatch:ap-south-1:111111111111:alarm:s3crr-p1-failed-replication"},
		{"AlarmDescription", aws.ToString(got.AlarmDescription), "replication failed: see the failure events"},
		{"Namespace", aws.ToString(got.Namespace), "AWS/S3"},
		{"MetricName", aws.ToString(got.MetricName), "OperationsFailedReplication"},
		{"Dimensions", fmt.Sprint(dims(got.Dimensions)), "[SourceBucket=payments-src DestinationBucket=payments-dst RuleId=s3crr-payments-archive]"},
		{"Statistic", got.Statistic, cwtypes.StatisticSum},
		{"Period", aws.ToInt32(got.Period), int32(300)},
		{"EvaluationPeriods", aws.ToInt32(got.EvaluationPeriods), int32(1)},
		{"DatapointsToAlarm", got.DatapointsToAlarm == nil, true},
		{"Threshold", aws.ToFloat64(got.Threshold), float64(0)},
		{"ComparisonOperator", got.ComparisonOperator, cwtypes.ComparisonOperatorGreaterThanThreshold},
		{"TreatMissingData", aws.ToString(got.TreatMissingData), "ignore"},
		{"ActionsEnabled", aws.ToBool(got.ActionsEnabled), true},
		{"AlarmActions", len(got.AlarmActions), 0},
		{"StateValue", got.StateValue, cwtypes.StateValueInsufficientData},
		{"StateUpdatedTimestamp", aws.ToTime(got.StateUpdatedTimestamp).Equal(created), true},
		{"AlarmConfigurationUpdatedTimestamp", aws.ToTime(got.AlarmConfigurationUpdatedTimestamp).Equal(created), true},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.field, ch.got, ch.want)
		}
	}

	// Replace: a new period and description; the dimensions dropped; the state kept.
	e.clock.advance(90*time.Second + 250*time.Millisecond)
	in := failedReplicationAlarm("s3crr-p1-failed-replication")
	in.Period, in.Dimensions, in.AlarmDescription, in.DatapointsToAlarm = aws.Int32(60), nil, nil, aws.Int32(1)
	if _, err := c.PutMetricAlarm(ctx, in); err != nil {
		t.Fatal(err)
	}
	got = describeOne(t, c, "s3crr-p1-failed-replication")
	if aws.ToInt32(got.Period) != 60 || len(got.Dimensions) != 0 || got.AlarmDescription != nil || aws.ToInt32(got.DatapointsToAlarm) != 1 {
		t.Errorf("after replace: period %d, dimensions %v, description %v, datapoints %v: the old configuration survived",
			aws.ToInt32(got.Period), dims(got.Dimensions), got.AlarmDescription, got.DatapointsToAlarm)
	}
	if !aws.ToTime(got.StateUpdatedTimestamp).Equal(created) {
		t.Errorf("state updated %v, want %v: an update must not reset the state", got.StateUpdatedTimestamp, created)
	}
	if want := created.Add(90*time.Second + 250*time.Millisecond); !aws.ToTime(got.AlarmConfigurationUpdatedTimestamp).Equal(want) {
		t.Errorf("configuration updated %v, want %v (fractional seconds survive the CBOR tag)", got.AlarmConfigurationUpdatedTimestamp, want)
	}
}

func dims(ds []cwtypes.Dimension) []string {
	var out []string
	for _, d := range ds {
		out = append(out, aws.ToString(d.Name)+"="+aws.ToString(d.Value))
	}
	return out
}

// TestCloudWatchAlarmsArePerAccountAndRegion: an alarm lives in one account and region.
func TestCloudWatchAlarmsArePerAccountAndRegion(t *testing.T) {
	e := newCWTestEnv(t)
	ctx := context.Background()
	if _, err := e.cw(SourceAccount, "ap-south-1").PutMetricAlarm(ctx, failedReplicationAlarm("s3crr-a")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		account, region string
		want            int
	}{
		{SourceAccount, "ap-south-1", 1},
		{SourceAccount, "us-east-1", 0},
		{DestinationAccount, "ap-south-1", 0},
	}
	for _, tt := range tests {
		out, err := e.cw(tt.account, tt.region).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"s3crr-a"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.MetricAlarms) != tt.want {
			t.Errorf("%s/%s sees %d alarms, want %d", tt.account, tt.region, len(out.MetricAlarms), tt.want)
		}
	}
	if got := e.s.AlarmNames(SourceAccount, "ap-south-1"); !slices.Equal(got, []string{"s3crr-a"}) {
		t.Errorf("AlarmNames = %q", got)
	}
}

// TestCloudWatchDescribeFilters: name prefix, state, alarm types, and pagination.
func TestCloudWatchDescribeFilters(t *testing.T) {
	e := newCWTestEnv(t)
	ctx := context.Background()
	c := e.cw(SourceAccount, "ap-south-1")
	for _, n := range []string{"s3crr-b", "s3crr-a", "other", "s3crr-c"} {
		if _, err := c.PutMetricAlarm(ctx, failedReplicationAlarm(n)); err != nil {
			t.Fatal(err)
		}
	}
	names := func(out *cloudwatch.DescribeAlarmsOutput) []string {
		var r []string
		for _, a := range out.MetricAlarms {
			r = append(r, aws.ToString(a.AlarmName))
		}
		return r
	}
	tests := []struct {
		name string
		give cloudwatch.DescribeAlarmsInput
		want []string
	}{
		{"all, in name order", cloudwatch.DescribeAlarmsInput{}, []string{"other", "s3crr-a", "s3crr-b", "s3crr-c"}},
		{"prefix", cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("s3crr-")}, []string{"s3crr-a", "s3crr-b", "s3crr-c"}},
		{"names, one missing", cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"s3crr-c", "nope", "other"}}, []string{"other", "s3crr-c"}},
		{"state", cloudwatch.DescribeAlarmsInput{StateValue: cwtypes.StateValueAlarm}, nil},
		{"composite only", cloudwatch.DescribeAlarmsInput{AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeCompositeAlarm}}, nil},
		{"metric and composite", cloudwatch.DescribeAlarmsInput{AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeCompositeAlarm, cwtypes.AlarmTypeMetricAlarm}, AlarmNamePrefix: aws.String("o")}, []string{"other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.DescribeAlarms(ctx, &tt.give)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(out); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	var pages [][]string
	p := cloudwatch.NewDescribeAlarmsPaginator(c, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("s3crr-"), MaxRecords: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, names(out))
	}
	if fmt.Sprint(pages) != "[[s3crr-a s3crr-b] [s3crr-c]]" {
		t.Errorf("pages = %q", pages)
	}
}

// TestCloudWatchValidation: invalid requests fail with CloudWatch's Query error codes (what
// the SDK reports through X-Amzn-Query-Error) and the modelled error types (from __type).
func TestCloudWatchValidation(t *testing.T) {
	e := newCWTestEnv(t)
	ctx := context.Background()
	c := e.cw(SourceAccount, "ap-south-1")
	put := func(edit func(*cloudwatch.PutMetricAlarmInput)) func() error {
		return func() error {
			in := failedReplicationAlarm("s3crr-v")
			edit(in)
			_, err := c.PutMetricAlarm(ctx, in)
			return err
		}
	}
	invalidValue := func(err error) bool { var x *cwtypes.InvalidParameterValueException; return errors.As(err, &x) }
	combination := func(err error) bool { var x *cwtypes.InvalidParameterCombinationException; return errors.As(err, &x) }
	missing := func(err error) bool { var x *cwtypes.MissingRequiredParameterException; return errors.As(err, &x) }
	validation := func(err error) bool { var x *cwtypes.ValidationException; return errors.As(err, &x) }
	tests := []struct {
		name     string
		call     func() error
		wantCode string
		wantType func(error) bool
	}{
		{"no EvaluationPeriods", put(func(in *cloudwatch.PutMetricAlarmInput) { in.EvaluationPeriods = nil }), "ValidationError", validation},
		{"no ComparisonOperator", put(func(in *cloudwatch.PutMetricAlarmInput) { in.ComparisonOperator = "" }), "ValidationError", validation},
		{"bad ComparisonOperator", put(func(in *cloudwatch.PutMetricAlarmInput) { in.ComparisonOperator = "Above" }), "ValidationError", validation},
		{"EvaluationPeriods 0", put(func(in *cloudwatch.PutMetricAlarmInput) { in.EvaluationPeriods = aws.Int32(0) }), "ValidationError", validation},
		{"long name", put(func(in *cloudwatch.PutMetricAlarmInput) { in.AlarmName = aws.String(strings.Repeat("a", 256)) }), "ValidationError", validation},
		{"bad statistic", put(func(in *cloudwatch.PutMetricAlarmInput) { in.Statistic = "Total" }), "ValidationError", validation},
		{"Statistic and ExtendedStatistic", put(func(in *cloudwatch.PutMetricAlarmInput) { in.ExtendedStatistic = aws.String("p99") }), "InvalidParameterCombination", combination},
		{"neither statistic", put(func(in *cloudwatch.PutMetricAlarmInput) { in.Statistic = "" }), "InvalidParameterCombination", combination},
		{"no MetricName", put(func(in *cloudwatch.PutMetricAlarmInput) { in.MetricName = nil }), "InvalidParameterCombination", combination},
		{"no Namespace", put(func(in *cloudwatch.PutMetricAlarmInput) { in.Namespace = nil }), "MissingParameter", missing},
		{"no Period", put(func(in *cloudwatch.PutMetricAlarmInput) { in.Period = nil }), "MissingParameter", missing},
		{"Period 45", put(func(in *cloudwatch.PutMetricAlarmInput) { in.Period = aws.Int32(45) }), "InvalidParameterValue", invalidValue},
		{"more than a day of short periods", put(func(in *cloudwatch.PutMetricAlarmInput) { in.EvaluationPeriods = aws.Int32(289) }), "InvalidParameterCombination", combination},
		{"DatapointsToAlarm above EvaluationPeriods", put(func(in *cloudwatch.PutMetricAlarmInput) { in.DatapointsToAlarm = aws.Int32(2) }), "InvalidParameterCombination", combination},
		{"no Threshold", put(func(in *cloudwatch.PutMetricAlarmInput) { in.Threshold = nil }), "MissingParameter", missing},
		{"bad TreatMissingData", put(func(in *cloudwatch.PutMetricAlarmInput) { in.TreatMissingData = aws.String("sometimes") }), "InvalidParameterValue", invalidValue},
		{"duplicate dimension", put(func(in *cloudwatch.PutMetricAlarmInput) {
			in.Dimensions = append(in.Dimensions, cwtypes.Dimension{Name: aws.String("RuleId"), Value: aws.String("x")})
		}), "InvalidParameterValue", invalidValue},
		{"action not an ARN", put(func(in *cloudwatch.PutMetricAlarmInput) { in.AlarmActions = []string{"my-topic"} }), "InvalidParameterValue", invalidValue},
		{"reserved tag", put(func(in *cloudwatch.PutMetricAlarmInput) {
			in.Tags = []cwtypes.Tag{{Key: aws.String("aws:owner"), Value: aws.String("x")}}
		}), "InvalidParameterValue", invalidValue},
		{"metric math", put(func(in *cloudwatch.PutMetricAlarmInput) {
			in.MetricName, in.Namespace, in.Statistic, in.Period = nil, nil, "", nil
			in.Metrics = []cwtypes.MetricDataQuery{{Id: aws.String("m1"), Expression: aws.String("SUM(METRICS())")}}
		}), "LocalawsUnsupported", func(error) bool { return true }},
		{"names and prefix", func() error {
			_, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"a"}, AlarmNamePrefix: aws.String("a")})
			return err
		}, "InvalidParameterCombination", combination},
		{"MaxRecords 101", func() error {
			_, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{MaxRecords: aws.Int32(101)})
			return err
		}, "ValidationError", validation},
		{"forged NextToken", func() error {
			_, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{NextToken: aws.String("bm9wZQ")})
			return err
		}, "InvalidNextToken", func(err error) bool { var x *cwtypes.InvalidNextToken; return errors.As(err, &x) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if got := apiCode(err); got != tt.wantCode {
				t.Fatalf("code = %q (%v), want %s", got, err, tt.wantCode)
			}
			if !tt.wantType(err) {
				t.Errorf("%T is not the modelled error type of %s", errors.Unwrap(err), tt.wantCode)
			}
		})
	}
	if n := len(e.s.AlarmNames(SourceAccount, "ap-south-1")); n != 0 {
		t.Errorf("%d alarms stored by invalid requests", n)
	}
}

// TestCloudWatchNotFound: deleting or tagging an alarm that does not exist.
func TestCloudWatchNotFound(t *testing.T) {
	e := newCWTestEnv(t)
	ctx := context.Background()
	c := e.cw(SourceAccount, "ap-south-1")
	if _, err := c.PutMetricAlarm(ctx, failedReplicationAlarm("s3crr-keep")); err != nil {
		t.Fatal(err)
	}
	_, err := c.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"s3crr-keep", "s3crr-gone"}})
	var nf *cwtypes.ResourceNotFound
	if apiCode(err) != "ResourceNotFound" || !errors.As(err, &nf) || !strings.Contains(err.Error(), "s3crr-gone") {
		t.Fatalf("delete with a missing name: %v, want ResourceNotFound naming s3crr-gone", err)
	}
	if got := e.s.AlarmNames(SourceAccount, "ap-south-1"); !slices.Equal(got, []string{"s3crr-keep"}) {
		t.Errorf("alarms %q after a failed DeleteAlarms: it must delete nothing", got)
	}
	arn := "arn:aws:cloudwatch:ap-south-1:111111111111:alarm:s3crr-gone"
	_, err = c.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
	var rnf *cwtypes.ResourceNotFoundException
	if apiCode(err) != "ResourceNotFoundException" || !errors.As(err, &rnf) {
		t.Errorf("list tags of a missing alarm: %v, want ResourceNotFoundException", err)
	}
	// The same name in another region is another alarm.
	_, err = c.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: aws.String("arn:aws:cloudwatch:us-east-1:111111111111:alarm:s3crr-keep")})
	if apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("list tags in another region: %v, want ResourceNotFoundException", err)
	}
	if _, err := c.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"s3crr-keep"}}); err != nil {
		t.Fatal(err)
	}
	if got := e.s.AlarmNames(SourceAccount, "ap-south-1"); len(got) != 0 {
		t.Errorf("alarms %q after deleting the last one", got)
	}
}

// TestCloudWatchTags: tags given at creation, TagResource merging, UntagResource, and
// PutMetricAlarm ignoring tags on an update.
func TestCloudWatchTags(t *testing.T) {
	e := newCWTestEnv(t)
	ctx := context.Background()
	c := e.cw(SourceAccount, "ap-south-1")
	in := failedReplicationAlarm("s3crr-t")
	in.Tags = []cwtypes.Tag{{Key: aws.String("team"), Value: aws.String("storage")}}
	if _, err := c.PutMetricAlarm(ctx, in); err != nil {
		t.Fatal(err)
	}
	arn := aws.String("arn:aws:cloudwatch:ap-south-1:111111111111:alarm:s3crr-t")
	tags := func() string {
		t.Helper()
		out, err := c.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: arn})
		if err != nil {
			t.Fatal(err)
		}
		var kv []string
		for _, x := range out.Tags {
			kv = append(kv, aws.ToString(x.Key)+"="+aws.ToString(x.Value))
		}
		return strings.Join(kv, ",")
	}
	if got := tags(); got != "team=storage" {
		t.Errorf("tags after create = %q", got)
	}
	in.Tags = []cwtypes.Tag{{Key: aws.String("team"), Value: aws.String("other")}}
	if _, err := c.PutMetricAlarm(ctx, in); err != nil {
		t.Fatal(err)
	}
	if got := tags(); got != "team=storage" {
		t.Errorf("tags after an update with tags = %q: PutMetricAlarm ignores tags on update", got)
	}
	if _, err := c.TagResource(ctx, &cloudwatch.TagResourceInput{ResourceARN: arn, Tags: []cwtypes.Tag{{Key: aws.String("cost"), Value: aws.String("c1")}, {Key: aws.String("team"), Value: aws.String("x")}}}); err != nil {
		t.Fatal(err)
	}
	if got := tags(); got != "cost=c1,team=x" {
		t.Errorf("tags after TagResource = %q", got)
	}
	if _, err := c.UntagResource(ctx, &cloudwatch.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"team", "absent"}}); err != nil {
		t.Fatal(err)
	}
	if got := tags(); got != "cost=c1" {
		t.Errorf("tags after UntagResource = %q", got)
	}
}

// TestCloudWatchAuthorization: every call is authorized on the alarm ARN against the
// caller's identity policies, DescribeAlarms on the alarms it names (or the set its
// prefix names), a new alarm's tags need cloudwatch:TagResource too, and the denial is
// AWS's AccessDenied (403).
func TestCloudWatchAuthorization(t *testing.T) {
	e := newCWTestEnv(t)
	ctx := context.Background()
	root := e.cw(SourceAccount, "ap-south-1")
	for _, n := range []string{"s3crr-x", "other-x"} {
		if _, err := root.PutMetricAlarm(ctx, failedReplicationAlarm(n)); err != nil {
			t.Fatal(err)
		}
	}
	scoped := e.roleCW(t, SourceAccount, "ap-south-1", "alarms", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["cloudwatch:PutMetricAlarm","cloudwatch:DescribeAlarms"],"Resource":"arn:aws:cloudwatch:*:111111111111:alarm:s3crr-*"},
		{"Effect":"Deny","Action":"cloudwatch:PutMetricAlarm","Resource":"*","Condition":{"ForAnyValue:StringLike":{"cloudwatch:AlarmActions":"arn:aws:automate:*"}}}]}`)
	tagger := e.roleCW(t, SourceAccount, "ap-south-1", "tagger", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["cloudwatch:PutMetricAlarm","cloudwatch:TagResource"],"Resource":"arn:aws:cloudwatch:ap-south-1:111111111111:alarm:s3crr-*",
		 "Condition":{"StringEquals":{"aws:RequestTag/team":"storage"}}},
		{"Effect":"Allow","Action":"cloudwatch:PutMetricAlarm","Resource":"arn:aws:cloudwatch:ap-south-1:111111111111:alarm:s3crr-*"}]}`)
	eastOnly := e.roleCW(t, SourceAccount, "ap-south-1", "east-only", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"cloudwatch:DescribeAlarms","Resource":"arn:aws:cloudwatch:us-east-1:111111111111:alarm:*"}]}`)

	withTags := func(name, team string) *cloudwatch.PutMetricAlarmInput {
		in := failedReplicationAlarm(name)
		in.Tags = []cwtypes.Tag{{Key: aws.String("team"), Value: aws.String(team)}}
		return in
	}
	withAction := func(name, action string) *cloudwatch.PutMetricAlarmInput {
		in := failedReplicationAlarm(name)
		in.AlarmActions = []string{action}
		return in
	}
	describe := func(c *cloudwatch.Client, in *cloudwatch.DescribeAlarmsInput) func() error {
		return func() error { _, err := c.DescribeAlarms(ctx, in); return err }
	}
	put := func(c *cloudwatch.Client, in *cloudwatch.PutMetricAlarmInput) func() error {
		return func() error { _, err := c.PutMetricAlarm(ctx, in); return err }
	}
	tests := []struct {
		name       string
		call       func() error
		wantDenied string // the action named in the denial; "" means allowed
	}{
		{"put in scope", put(scoped, failedReplicationAlarm("s3crr-new")), ""},
		{"replace in scope", put(scoped, failedReplicationAlarm("s3crr-x")), ""},
		{"put out of scope", put(scoped, failedReplicationAlarm("other-new")), "cloudwatch:PutMetricAlarm"},
		{"put with an SNS action", put(scoped, withAction("s3crr-sns", "arn:aws:sns:ap-south-1:111111111111:t")), ""},
		{"put with an EC2 action, denied by condition", put(scoped, withAction("s3crr-ec2", "arn:aws:automate:ap-south-1:ec2:stop")), "cloudwatch:PutMetricAlarm"},
		{"describe named in scope", describe(scoped, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"s3crr-x"}}), ""},
		{"describe named, one out of scope", describe(scoped, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"s3crr-x", "other-x"}}), "cloudwatch:DescribeAlarms"},
		{"describe by prefix in scope", describe(scoped, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("s3crr-")}), ""},
		{"describe by a broader prefix", describe(scoped, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("s3")}), "cloudwatch:DescribeAlarms"},
		{"describe everything", describe(scoped, &cloudwatch.DescribeAlarmsInput{}), "cloudwatch:DescribeAlarms"},
		{"delete not granted", func() error {
			_, err := scoped.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"s3crr-x"}})
			return err
		}, "cloudwatch:DeleteAlarms"},
		{"create with tags needs TagResource", put(scoped, withTags("s3crr-tagged", "storage")), "cloudwatch:TagResource"},
		{"create with allowed tags", put(tagger, withTags("s3crr-tagged", "storage")), ""},
		{"create with other tags", put(tagger, withTags("s3crr-tagged2", "ops")), "cloudwatch:TagResource"},
		{"update with tags needs no TagResource", put(scoped, withTags("s3crr-tagged", "ops")), ""},
		{"policy for another region", describe(eastOnly, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"s3crr-x"}}), "cloudwatch:DescribeAlarms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if tt.wantDenied == "" {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				return
			}
			if apiCode(err) != "AccessDenied" || !strings.Contains(err.Error(), tt.wantDenied) || !strings.Contains(err.Error(), "StatusCode: 403") {
				t.Fatalf("err = %v, want a 403 AccessDenied naming %s", err, tt.wantDenied)
			}
		})
	}
	if got := e.s.AlarmNames(SourceAccount, "ap-south-1"); slices.Contains(got, "other-new") || slices.Contains(got, "s3crr-ec2") || slices.Contains(got, "s3crr-tagged2") {
		t.Errorf("a denied PutMetricAlarm stored its alarm: %q", got)
	}
}

// TestCloudWatchCountsAndFaults: calls are counted under "cloudwatch", reads apart from
// writes, and an injected throttle reaches the SDK as the retryable Throttling it is.
func TestCloudWatchCountsAndFaults(t *testing.T) {
	e := newCWTestEnv(t)
	ctx := context.Background()
	c := e.cw(SourceAccount, "ap-south-1")
	e.s.InjectFault(Throttle("cloudwatch", "DescribeAlarms", 1))
	if _, err := c.PutMetricAlarm(ctx, failedReplicationAlarm("s3crr-n")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"s3crr-n"}}); err != nil {
		t.Fatalf("describe after one throttle: %v (the SDK should have retried)", err)
	}
	want := map[string]CallCount{
		"PutMetricAlarm": {Account: SourceAccount, Service: "cloudwatch", Operation: "PutMetricAlarm", Mutating: true, Count: 1},
		"DescribeAlarms": {Account: SourceAccount, Service: "cloudwatch", Operation: "DescribeAlarms", Mutating: false, Count: 2},
	}
	for _, got := range e.s.Calls() {
		if w, ok := want[got.Operation]; ok {
			if got != w {
				t.Errorf("counter %+v, want %+v", got, w)
			}
			delete(want, got.Operation)
		}
	}
	if len(want) != 0 {
		t.Errorf("no counter for %v", want)
	}
}

// TestCloudWatchWireErrors checks the raw error encoding against the RPC v2 CBOR and
// awsQueryCompatible rules, and that a Query-protocol request is told what is supported.
func TestCloudWatchWireErrors(t *testing.T) {
	e := newCWTestEnv(t)
	post := func(path, contentType, protocol string, body []byte) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, e.endpoint+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=111111111111/20260301/ap-south-1/monitoring/aws4_request, SignedHeaders=host, Signature=0")
		req.Header.Set("Content-Type", contentType)
		if protocol != "" {
			req.Header.Set("Smithy-Protocol", protocol)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	body, err := cbor.Marshal(map[string]any{"AlarmNames": []string{"missing"}})
	if err != nil {
		t.Fatal(err)
	}
	resp := post(cwPathPrefix+"DeleteAlarms", "application/cbor", "rpc-v2-cbor", body)
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Amzn-Query-Error") != "ResourceNotFound;Sender" ||
		resp.Header.Get("Content-Type") != "application/cbor" || resp.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
		t.Errorf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	raw, _ := io.ReadAll(resp.Body)
	var eb map[string]string
	if err := cbor.Unmarshal(raw, &eb); err != nil {
		t.Fatalf("error body is not CBOR: %v", err)
	}
	if eb["__type"] != "com.amazonaws.cloudwatch#ResourceNotFound" || !strings.Contains(eb["message"], "missing") {
		t.Errorf("error body %v", eb)
	}

	resp = post("/", "application/x-www-form-urlencoded", "", []byte("Action=DescribeAlarms&Version=2010-08-01"))
	raw, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), "<Code>InvalidAction</Code>") || !strings.Contains(string(raw), "RPC v2 CBOR") {
		t.Errorf("query request: %d %s", resp.StatusCode, raw)
	}
	resp = post(cwPathPrefix+"PutDashboard", "application/cbor", "rpc-v2-cbor", nil)
	if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("X-Amzn-Query-Error"), "UnknownOperationException;") {
		t.Errorf("unknown operation: %d %v", resp.StatusCode, resp.Header)
	}
}
