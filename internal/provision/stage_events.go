package provision

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/lease"
	"github.com/s3crr/s3crr/internal/names"
)

// ReplicationEvents are the S3 replication events s3crr routes to the hub. They need
// replication Metrics on the rule; the threshold events need RTC too.
var ReplicationEvents = []s3types.Event{
	"s3:Replication:OperationFailedReplication",
	"s3:Replication:OperationMissedThreshold",
	"s3:Replication:OperationReplicatedAfterThreshold",
	"s3:Replication:OperationNotTracked",
}

// events wires both routes by which a pair's replication failures reach the hub, in the
// source account and region:
//   - the member account's events queue (MemberStack's) subscribed to the source bucket's
//     replication events, keeping every other notification (PutBucketNotificationConfiguration
//     replaces the whole configuration, so this is a read-modify-write);
//   - the pair's CloudWatch alarm on S3's OperationsFailedReplication metric, whose state
//     changes reach the hub bus through the member's default bus and MemberStack's
//     forwarding rule (so the alarm has no actions of its own).
func (st *stage) events(ctx context.Context) error {
	m, err := st.session(ctx, SideSource)
	if err != nil {
		return err
	}
	if !st.req.MetricsEnabled() {
		st.warn("rule.metrics is off: S3 sends no replication failure events and publishes no OperationsFailedReplication metric (so s3crr creates no alarm), so failures of this pair reach the hub only through the nightly verification")
	}
	if err := st.subscribeEvents(ctx, m); err != nil {
		return err
	}
	if !st.req.MetricsEnabled() {
		return nil // an alarm on a metric S3 never publishes would never leave INSUFFICIENT_DATA
	}
	return st.ensureFailureAlarm(ctx, m)
}

// subscribeEvents subscribes the events queue to the source bucket's replication events.
func (st *stage) subscribeEvents(ctx context.Context, m *member) error {
	bucket := st.req.Source.Bucket
	queueARN := st.eventsQueueARN()
	st.res.Outputs["eventsQueueArn"] = queueARN
	// Every pair from the bucket merges into the same configuration: under its lease,
	// with a read-back.
	return st.withLease(ctx, sharedDocument{key: lease.S3Document(bucket, "notification"),
		merge:   func(bool) error { return st.subscribeEventsOnce(ctx, m, bucket, queueARN) },
		missing: func() ([]string, error) { return notificationMissing(ctx, m, bucket, queueARN) }})
}

func (st *stage) subscribeEventsOnce(ctx context.Context, m *member, bucket, queueARN string) error {
	out, err := m.s3.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(bucket)})
	if err != nil && !awsclient.IsNotFound(err) {
		return m.classify("s3:GetBucketNotification "+bucket, err)
	}
	in := &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String(bucket), NotificationConfiguration: &s3types.NotificationConfiguration{}}
	if out != nil {
		in.NotificationConfiguration = &s3types.NotificationConfiguration{
			QueueConfigurations:          out.QueueConfigurations,
			TopicConfigurations:          out.TopicConfigurations,
			LambdaFunctionConfigurations: out.LambdaFunctionConfigurations,
			EventBridgeConfiguration:     out.EventBridgeConfiguration,
		}
	}
	ours := s3types.QueueConfiguration{Id: aws.String(names.EventsConfigurationID), QueueArn: aws.String(queueARN), Events: ReplicationEvents}
	nc := in.NotificationConfiguration
	covered, err := foreignReplicationEvents(bucket, queueARN, nc)
	if err != nil || covered {
		return err
	}
	found := false
	for i, q := range nc.QueueConfigurations {
		if aws.ToString(q.Id) != names.EventsConfigurationID {
			continue
		}
		found = true
		if aws.ToString(q.QueueArn) == queueARN && sameEvents(q.Events, ours.Events) && q.Filter == nil {
			return nil
		}
		nc.QueueConfigurations[i] = ours
	}
	if !found {
		nc.QueueConfigurations = append(nc.QueueConfigurations, ours)
	}
	return st.change(m, "arn:aws:s3:::"+bucket, "subscribe replication events", fmt.Sprintf("%s → %s (other notifications kept)", names.EventsConfigurationID, queueARN), func() error {
		_, err := m.s3.PutBucketNotificationConfiguration(ctx, in)
		return m.classify("s3:PutBucketNotification "+bucket, err)
	})
}

// eventsQueueARN is MemberStack's events queue in the pair's source account and region.
func (st *stage) eventsQueueARN() string {
	return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", st.req.Source.Region, st.req.Source.Account, st.svc.cfg.EventsQueueName)
}

// The alarm's evaluation. S3 publishes OperationsFailedReplication (AWS/S3, per rule, once
// replication metrics are on) every minute; any failed operation is worth raising, so the
// alarm fires on a Sum above 0 in one period. The period is five minutes rather than one:
// the alarm is the aggregate backstop of the failure events, which already carry each
// object's reason to the hub within a minute, and with one-minute periods sporadic
// failures would flap it ALARM/OK/ALARM, each flap an event on the hub bus and a monitor
// run; five minutes turns a burst into one state change at the same price. Missing data
// is ignored (keep the state), as the S3 User Guide says for replication metric alarms:
// no data means no replication traffic, not that failures stopped.
const (
	alarmNamespace        = "AWS/S3"
	alarmMetric           = "OperationsFailedReplication"
	alarmPeriodSeconds    = 300
	alarmEvaluationPeriod = 1
	alarmThreshold        = 0
	alarmMissingData      = "ignore"
)

// desiredFailureAlarm is the pair's alarm as PutMetricAlarm takes it. It has no actions
// and no tags: the state change reaches the hub through EventBridge, and the name is
// s3crr's (which is why replacing the whole alarm on a difference is fine).
func (st *stage) desiredFailureAlarm() *cloudwatch.PutMetricAlarmInput {
	r := st.req
	return &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(names.FailedReplicationAlarmName(r.PairID)),
		AlarmDescription: aws.String(fmt.Sprintf(
			"s3crr pair %s: objects failed to replicate from s3://%s (%s, %s) to s3://%s (%s, %s) under rule %s. "+
				"The hub's alert for the same pair names the failure reason and its fix; the source objects show FAILED (x-amz-replication-status). "+
				"Fix the cause, then re-drive the FAILED objects with S3 Batch Replication (`crr status %s` shows the pair). "+
				"Managed by s3crr: edits are overwritten by the next provisioning run.",
			r.PairID, r.Source.Bucket, r.Source.Account, r.Source.Region, r.Destination.Bucket, r.Destination.Account, r.Destination.Region, r.RuleID(), r.PairID)),
		Namespace:  aws.String(alarmNamespace),
		MetricName: aws.String(alarmMetric),
		// S3 names the buckets in these dimensions by name, not ARN, and the rule by its ID.
		Dimensions: []cwtypes.Dimension{
			{Name: aws.String("SourceBucket"), Value: aws.String(r.Source.Bucket)},
			{Name: aws.String("DestinationBucket"), Value: aws.String(r.Destination.Bucket)},
			{Name: aws.String("RuleId"), Value: aws.String(r.RuleID())},
		},
		Statistic:          cwtypes.StatisticSum,
		Period:             aws.Int32(alarmPeriodSeconds),
		EvaluationPeriods:  aws.Int32(alarmEvaluationPeriod),
		Threshold:          aws.Float64(alarmThreshold),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
		TreatMissingData:   aws.String(alarmMissingData),
		ActionsEnabled:     aws.Bool(true),
	}
}

// ensureFailureAlarm creates the pair's alarm, or replaces it when its configuration
// differs from what s3crr wants (PutMetricAlarm replaces the whole alarm).
func (st *stage) ensureFailureAlarm(ctx context.Context, m *member) error {
	want := st.desiredFailureAlarm()
	name := aws.ToString(want.AlarmName)
	arn := fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", m.region, m.account, name)
	st.res.Outputs["failedReplicationAlarmArn"] = arn

	out, err := m.cloudwatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}})
	if err != nil {
		return m.classify("cloudwatch:DescribeAlarms "+name, err)
	}
	action, detail := "create failed-replication alarm", fmt.Sprintf("%s %s Sum > %d over %ds, missing data %s", alarmNamespace, alarmMetric, alarmThreshold, alarmPeriodSeconds, alarmMissingData)
	for _, a := range out.MetricAlarms {
		if aws.ToString(a.AlarmName) != name {
			continue
		}
		diff := alarmDiff(a, want)
		if len(diff) == 0 {
			return nil
		}
		action, detail = "update failed-replication alarm", "differs in "+strings.Join(diff, ", ")
	}
	return st.change(m, arn, action, detail, func() error {
		_, err := m.cloudwatch.PutMetricAlarm(ctx, want)
		return m.classify("cloudwatch:PutMetricAlarm "+name, err)
	})
}

// alarmDiff names the settings in which an existing alarm differs from the wanted one:
// everything PutMetricAlarm sets, since it replaces them all.
func alarmDiff(got cwtypes.MetricAlarm, want *cloudwatch.PutMetricAlarmInput) []string {
	var diff []string
	check := func(name string, same bool) {
		if !same {
			diff = append(diff, name)
		}
	}
	check("AlarmDescription", aws.ToString(got.AlarmDescription) == aws.ToString(want.AlarmDescription))
	check("Namespace", aws.ToString(got.Namespace) == aws.ToString(want.Namespace))
	check("MetricName", aws.ToString(got.MetricName) == aws.ToString(want.MetricName))
	check("Metrics", len(got.Metrics) == 0)
	check("Dimensions", sameDimensions(got.Dimensions, want.Dimensions))
	check("Statistic", got.Statistic == want.Statistic && got.ExtendedStatistic == nil)
	check("Period", aws.ToInt32(got.Period) == aws.ToInt32(want.Period))
	check("Unit", got.Unit == want.Unit)
	check("EvaluationPeriods", aws.ToInt32(got.EvaluationPeriods) == aws.ToInt32(want.EvaluationPeriods))
	// An unset DatapointsToAlarm means "all EvaluationPeriods": the same alarm.
	check("DatapointsToAlarm", got.DatapointsToAlarm == nil || aws.ToInt32(got.DatapointsToAlarm) == aws.ToInt32(want.EvaluationPeriods))
	check("Threshold", got.Threshold != nil && *got.Threshold == aws.ToFloat64(want.Threshold) && got.ThresholdMetricId == nil)
	check("ComparisonOperator", got.ComparisonOperator == want.ComparisonOperator)
	check("TreatMissingData", aws.ToString(got.TreatMissingData) == aws.ToString(want.TreatMissingData))
	check("EvaluateLowSampleCountPercentile", aws.ToString(got.EvaluateLowSampleCountPercentile) == "")
	check("ActionsEnabled", aws.ToBool(got.ActionsEnabled) == aws.ToBool(want.ActionsEnabled))
	check("actions", len(got.AlarmActions)+len(got.OKActions)+len(got.InsufficientDataActions) == 0)
	return diff
}

// sameDimensions compares dimension sets; CloudWatch does not promise their order.
func sameDimensions(a, b []cwtypes.Dimension) bool {
	if len(a) != len(b) {
		return false
	}
	set := map[string]string{}
	for _, d := range a {
		set[aws.ToString(d.Name)] = aws.ToString(d.Value)
	}
	for _, d := range b {
		if v, ok := set[aws.ToString(d.Name)]; !ok || v != aws.ToString(d.Value) {
			return false
		}
	}
	return true
}

func sameEvents(a, b []s3types.Event) bool {
	if len(a) != len(b) {
		return false
	}
	x := make([]string, len(a))
	y := make([]string, len(b))
	for i := range a {
		x[i], y[i] = string(a[i]), string(b[i])
	}
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// foreignReplicationEvents checks the configurations of a source bucket's notifications
// that are not s3crr's (another ID) against s3crr's replication events. S3 refuses two
// configurations sharing an event type unless their key filters are disjoint, and s3crr's
// has no filter, so any other configuration for one of its events would make S3 reject the
// subscription; overwriting it would silently cut another tool off. Such a configuration
// that already sends every one of s3crr's events to s3crr's queue is a subscription made
// another way and is kept as it is (covered is true); any other is a Conflict naming it.
func foreignReplicationEvents(bucket, queueARN string, nc *s3types.NotificationConfiguration) (covered bool, err error) {
	type target struct {
		id, arn string
		events  []s3types.Event
	}
	var others []target
	for _, q := range nc.QueueConfigurations {
		others = append(others, target{aws.ToString(q.Id), aws.ToString(q.QueueArn), q.Events})
	}
	for _, tc := range nc.TopicConfigurations {
		others = append(others, target{aws.ToString(tc.Id), aws.ToString(tc.TopicArn), tc.Events})
	}
	for _, l := range nc.LambdaFunctionConfigurations {
		others = append(others, target{aws.ToString(l.Id), aws.ToString(l.LambdaFunctionArn), l.Events})
	}
	for _, o := range others {
		if o.id == names.EventsConfigurationID {
			continue
		}
		shared := sharedReplicationEvents(o.events)
		if len(shared) == 0 {
			continue
		}
		if o.arn == queueARN && len(shared) == len(ReplicationEvents) {
			return true, nil
		}
		return false, &Conflict{Message: fmt.Sprintf(
			"the notification configuration %q of source bucket %s already sends %s to %s, and S3 refuses a second configuration for the same event types, so s3crr cannot route this pair's replication failures to the hub (fix: remove the replication events from %q, or point it at s3crr's queue %s with all of %s)",
			o.id, bucket, joinEvents(shared), o.arn, o.id, queueARN, joinEvents(ReplicationEvents))}
	}
	return false, nil
}

// sharedReplicationEvents returns s3crr's replication events that events covers, wildcards
// included ("s3:Replication:*" covers all of them).
func sharedReplicationEvents(events []s3types.Event) []s3types.Event {
	var shared []s3types.Event
	for _, ours := range ReplicationEvents {
		for _, e := range events {
			if e == ours || (strings.HasSuffix(string(e), "*") && strings.HasPrefix(string(ours), strings.TrimSuffix(string(e), "*"))) {
				shared = append(shared, ours)
				break
			}
		}
	}
	return shared
}

func joinEvents(events []s3types.Event) string {
	x := make([]string, len(events))
	for i, e := range events {
		x[i] = string(e)
	}
	return strings.Join(x, ", ")
}
