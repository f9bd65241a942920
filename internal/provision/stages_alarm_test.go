package provision

// The events stage's second route: the pair's CloudWatch alarm on S3's
// OperationsFailedReplication metric.

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/spec"
)

const fakeAlarmName = "s3crr-payments-archive-failed-replication"

// TestFailureAlarmWatchesThePairsRule: after a full run the source account and region
// hold one alarm on exactly the metric S3 publishes for the pair's rule, firing on any
// failed operation, keeping its state without data, and with no actions; the destination
// account holds none.
func TestFailureAlarmWatchesThePairsRule(t *testing.T) {
	env := newFakeEnv(t)
	env.applyAll(t, requestJSON(t))
	a, ok := env.src.cloudwatch.alarms[fakeAlarmName]
	if !ok {
		t.Fatalf("no alarm %s in the source account; alarms: %v", fakeAlarmName, env.src.cloudwatch.alarms)
	}
	if n := len(env.dst.cloudwatch.alarms); n != 0 {
		t.Errorf("%d alarms in the destination account, want 0: S3 publishes replication metrics in the source region", n)
	}
	dims := map[string]string{}
	for _, d := range a.Dimensions {
		dims[aws.ToString(d.Name)] = aws.ToString(d.Value)
	}
	checks := []struct {
		field     string
		got, want any
	}{
		{"Namespace", aws.ToString(a.Namespace), "AWS/S3"},
		{"MetricName", aws.ToString(a.MetricName), "OperationsFailedReplication"},
		{"dimensions", len(dims), 3},
		{"SourceBucket", dims["SourceBucket"], "payments-src"},
		{"DestinationBucket", dims["DestinationBucket"], "payments-dst"},
		{"RuleId", dims["RuleId"], "s3crr-payments-archive"},
		{"Statistic", a.Statistic, cwtypes.StatisticSum},
		{"Period", aws.ToInt32(a.Period), int32(300)},
		{"EvaluationPeriods", aws.ToInt32(a.EvaluationPeriods), int32(1)},
		{"Threshold", aws.ToFloat64(a.Threshold), float64(0)},
		{"ComparisonOperator", a.ComparisonOperator, cwtypes.ComparisonOperatorGreaterThanThreshold},
		{"TreatMissingData", aws.ToString(a.TreatMissingData), "ignore"},
		{"actions", len(a.AlarmActions) + len(a.OKActions) + len(a.InsufficientDataActions), 0},
		{"Unit", a.Unit, cwtypes.StandardUnit("")},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	desc := aws.ToString(a.AlarmDescription)
	for _, w := range []string{"payments-archive", "payments-src", "payments-dst", "Batch Replication", "Managed by s3crr"} {
		if !strings.Contains(desc, w) {
			t.Errorf("description %q lacks %q", desc, w)
		}
	}
	if len(desc) > 1024 {
		t.Errorf("description is %d characters, CloudWatch allows 1024", len(desc))
	}
}

// TestFailureAlarmDriftIsReplaced: an existing alarm of the pair that differs in anything
// PutMetricAlarm sets is replaced whole (one call, a change naming what differed, state
// kept); one that differs only in ways that mean the same alarm is left alone.
func TestFailureAlarmDriftIsReplaced(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*cwtypes.MetricAlarm)
		wantDiff string // "" means no change
	}{
		{"converged", func(*cwtypes.MetricAlarm) {}, ""},
		{"dimensions in another order", func(a *cwtypes.MetricAlarm) { slices.Reverse(a.Dimensions) }, ""},
		{"DatapointsToAlarm spelled out", func(a *cwtypes.MetricAlarm) { a.DatapointsToAlarm = aws.Int32(1) }, ""},
		{"edited description", func(a *cwtypes.MetricAlarm) { a.AlarmDescription = aws.String("mine") }, "AlarmDescription"},
		{"raised threshold", func(a *cwtypes.MetricAlarm) { a.Threshold = aws.Float64(10) }, "Threshold"},
		{"shorter period", func(a *cwtypes.MetricAlarm) { a.Period = aws.Int32(60) }, "Period"},
		{"another statistic", func(a *cwtypes.MetricAlarm) { a.Statistic = cwtypes.StatisticAverage }, "Statistic"},
		{"another bucket", func(a *cwtypes.MetricAlarm) {
			a.Dimensions[1] = cwtypes.Dimension{Name: aws.String("DestinationBucket"), Value: aws.String("old-dst")}
		}, "Dimensions"},
		{"a dimension dropped", func(a *cwtypes.MetricAlarm) { a.Dimensions = a.Dimensions[:2] }, "Dimensions"},
		{"missing data breaching", func(a *cwtypes.MetricAlarm) { a.TreatMissingData = aws.String("breaching") }, "TreatMissingData"},
		{"an action added", func(a *cwtypes.MetricAlarm) {
			a.AlarmActions = []string{"arn:aws:sns:ap-south-1:111111111111:ops"}
		}, "actions"},
		{"actions disabled", func(a *cwtypes.MetricAlarm) { a.ActionsEnabled = aws.Bool(false) }, "ActionsEnabled"},
		{"two datapoints of three", func(a *cwtypes.MetricAlarm) {
			a.EvaluationPeriods, a.DatapointsToAlarm = aws.Int32(3), aws.Int32(2)
		}, "EvaluationPeriods, DatapointsToAlarm"},
		{"another metric", func(a *cwtypes.MetricAlarm) { a.MetricName = aws.String("OperationsPendingReplication") }, "MetricName"},
	}
	req := requestJSON(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newFakeEnv(t)
			env.applyAll(t, req)
			a := env.src.cloudwatch.alarms[fakeAlarmName]
			a.StateValue = cwtypes.StateValueAlarm
			tt.edit(&a)
			env.src.cloudwatch.alarms[fakeAlarmName] = a

			env.log.reset()
			res := env.mustRun(t, names.StageEvents, SideSource, req)
			puts := env.log.count("PutMetricAlarm")
			if tt.wantDiff == "" {
				if puts != 0 || len(res.Changes) != 0 {
					t.Fatalf("%d PutMetricAlarm, changes %q: the alarm already is what s3crr wants", puts, changeActions(res))
				}
				return
			}
			if puts != 1 || !slices.Equal(changeActions(res), []string{"update failed-replication alarm"}) {
				t.Fatalf("%d PutMetricAlarm, changes %q, want one update", puts, changeActions(res))
			}
			if got := res.Changes[0].Detail; got != "differs in "+tt.wantDiff {
				t.Errorf("detail %q, want it to name %s", got, tt.wantDiff)
			}
			after := env.src.cloudwatch.alarms[fakeAlarmName]
			st := &stage{req: parsed(t, req)}
			if diff := alarmDiff(after, st.desiredFailureAlarm()); len(diff) != 0 {
				t.Errorf("after the update the alarm still differs in %v", diff)
			}
			if after.StateValue != cwtypes.StateValueAlarm {
				t.Errorf("state %s, want ALARM kept", after.StateValue)
			}
		})
	}
}

// TestEventsStageWithoutMetricsMakesNoAlarm: S3 publishes OperationsFailedReplication
// only for rules with replication metrics, so with metrics off the stage neither reads
// nor writes an alarm (it would stay INSUFFICIENT_DATA forever) and says why.
func TestEventsStageWithoutMetricsMakesNoAlarm(t *testing.T) {
	env := newFakeEnv(t)
	req := requestJSON(t, func(r *spec.Request) { r.Rule.Metrics, r.Rule.ReplicationTimeControl = aws.Bool(false), false })
	env.applyBefore(t, names.StageEvents, SideSource, req)
	env.log.reset()
	res := env.mustRun(t, names.StageEvents, SideSource, req)
	for _, c := range env.log.calls {
		if c.Service == "cloudwatch" {
			t.Errorf("call %s with metrics off", c)
		}
	}
	if _, ok := res.Outputs["failedReplicationAlarmArn"]; ok {
		t.Error("an alarm ARN is reported although no alarm was made")
	}
	if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "no alarm") }) {
		t.Errorf("warnings %q do not say the alarm was skipped", res.Warnings)
	}
}
