package provision

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// EventsConfigurationID is the ID of the queue configuration s3crr adds to a source
// bucket's notifications. One per bucket, shared by every pair replicating from it: S3
// rejects overlapping configurations for the same event types, and the events name their
// rule (replicationRuleId), which is how the monitor finds the pair.
const EventsConfigurationID = "s3crr-replication-events"

// ReplicationEvents are the S3 replication events s3crr routes to the hub. They need
// replication Metrics on the rule; the threshold events need RTC too.
var ReplicationEvents = []s3types.Event{
	"s3:Replication:OperationFailedReplication",
	"s3:Replication:OperationMissedThreshold",
	"s3:Replication:OperationReplicatedAfterThreshold",
	"s3:Replication:OperationNotTracked",
}

// events subscribes the member account's events queue (MemberStack's, in the source
// region) to the source bucket's replication events, keeping every other notification
// (PutBucketNotificationConfiguration replaces the whole configuration, so this is a
// read-modify-write).
func (st *stage) events(ctx context.Context) error {
	m, err := st.session(ctx, SideSource)
	if err != nil {
		return err
	}
	bucket := st.req.Source.Bucket
	queueARN := fmt.Sprintf("arn:aws:sqs:%s:%s:%s", st.req.Source.Region, st.req.Source.Account, st.svc.cfg.EventsQueueName)
	st.res.Outputs["eventsQueueArn"] = queueARN
	if !st.req.MetricsEnabled() {
		st.warn("rule.metrics is off: S3 sends no replication failure events, so failures of this pair reach the hub only through the nightly verification")
	}

	out, err := m.s3.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(bucket)})
	if err != nil && !isNotFound(err) {
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
	ours := s3types.QueueConfiguration{Id: aws.String(EventsConfigurationID), QueueArn: aws.String(queueARN), Events: ReplicationEvents}
	nc := in.NotificationConfiguration
	found := false
	for i, q := range nc.QueueConfigurations {
		if aws.ToString(q.Id) != EventsConfigurationID {
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
	return st.change(m, "arn:aws:s3:::"+bucket, "subscribe replication events", fmt.Sprintf("%s → %s (other notifications kept)", EventsConfigurationID, queueARN), func() error {
		_, err := m.s3.PutBucketNotificationConfiguration(ctx, in)
		return m.classify("s3:PutBucketNotification "+bucket, err)
	})
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
