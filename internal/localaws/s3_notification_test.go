package localaws

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestS3BucketNotification(t *testing.T) {
	e := newS3Env(t, Options{})
	c := e.bucket(s3A, s3Mumbai, "events-bucket", false)
	b := aws.String("events-bucket")
	const queue = "arn:aws:sqs:ap-south-1:111111111111:s3crr-replication-events"
	const topic = "arn:aws:sns:ap-south-1:111111111111:uploads"
	createQueue(t, e.endpoint, s3A, s3Mumbai, "s3crr-replication-events")

	get := func() *s3.GetBucketNotificationConfigurationOutput {
		t.Helper()
		out, err := c.GetBucketNotificationConfiguration(s3Ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: b})
		s3Must(t, "GetBucketNotificationConfiguration", err)
		return out
	}
	if out := get(); len(out.QueueConfigurations)+len(out.TopicConfigurations)+len(out.LambdaFunctionConfigurations) != 0 || out.EventBridgeConfiguration != nil {
		t.Fatalf("new bucket has notifications: %+v", out)
	}

	replication := s3types.QueueConfiguration{
		Id:       aws.String("s3crr-replication-failures"),
		QueueArn: aws.String(queue),
		Events: []s3types.Event{"s3:Replication:OperationFailedReplication", "s3:Replication:OperationMissedThreshold",
			"s3:Replication:OperationReplicatedAfterThreshold", "s3:Replication:OperationNotTracked"},
	}
	uploads := s3types.TopicConfiguration{
		Id: aws.String("uploads"), TopicArn: aws.String(topic), Events: []s3types.Event{"s3:ObjectCreated:*"},
		Filter: &s3types.NotificationConfigurationFilter{Key: &s3types.S3KeyFilter{FilterRules: []s3types.FilterRule{
			{Name: s3types.FilterRuleNamePrefix, Value: aws.String("in/")}, {Name: s3types.FilterRuleNameSuffix, Value: aws.String(".csv")}}}},
	}
	want := &s3types.NotificationConfiguration{
		QueueConfigurations:      []s3types.QueueConfiguration{replication},
		TopicConfigurations:      []s3types.TopicConfiguration{uploads},
		EventBridgeConfiguration: &s3types.EventBridgeConfiguration{},
	}
	_, err := c.PutBucketNotificationConfiguration(s3Ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: b, NotificationConfiguration: want})
	s3Must(t, "PutBucketNotificationConfiguration", err)
	got := get()
	// S3 reports filter rule names capitalised, whatever case they were written in.
	uploads.Filter.Key.FilterRules[0].Name, uploads.Filter.Key.FilterRules[1].Name = "Prefix", "Suffix"
	want.TopicConfigurations = []s3types.TopicConfiguration{uploads}
	gotJSON, _ := json.Marshal(s3types.NotificationConfiguration{QueueConfigurations: got.QueueConfigurations,
		TopicConfigurations: got.TopicConfigurations, LambdaFunctionConfigurations: got.LambdaFunctionConfigurations,
		EventBridgeConfiguration: got.EventBridgeConfiguration})
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("notification configuration\n%s\nwant\n%s", gotJSON, wantJSON)
	}

	tests := []struct {
		name        string
		cfg         *s3types.NotificationConfiguration
		wantCode    string
		wantMessage string
	}{
		{name: "unknown event", cfg: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
			QueueArn: aws.String(queue), Events: []s3types.Event{"s3:Replication:OperationSucceeded"}}}},
			wantCode: "InvalidArgument", wantMessage: "The event is not supported for notifications"},
		{name: "queue in another region", cfg: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
			QueueArn: aws.String("arn:aws:sqs:us-east-1:111111111111:q"), Events: []s3types.Event{"s3:Replication:*"}}}},
			wantCode: "InvalidArgument", wantMessage: "region is not valid"},
		{name: "not a queue ARN", cfg: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
			QueueArn: aws.String(topic), Events: []s3types.Event{"s3:Replication:*"}}}},
			wantCode: "InvalidArgument", wantMessage: "The ARN is not well formed"},
		{name: "overlapping configurations", cfg: &s3types.NotificationConfiguration{
			QueueConfigurations: []s3types.QueueConfiguration{{QueueArn: aws.String(queue), Events: []s3types.Event{"s3:Replication:*"}}},
			TopicConfigurations: []s3types.TopicConfiguration{{TopicArn: aws.String(topic), Events: []s3types.Event{"s3:Replication:OperationNotTracked"}}}},
			wantCode: "InvalidArgument", wantMessage: "Configurations overlap"},
		{name: "same events, disjoint prefixes", cfg: &s3types.NotificationConfiguration{
			QueueConfigurations: []s3types.QueueConfiguration{{QueueArn: aws.String(queue), Events: []s3types.Event{"s3:ObjectCreated:Put"},
				Filter: &s3types.NotificationConfigurationFilter{Key: &s3types.S3KeyFilter{FilterRules: []s3types.FilterRule{{Name: "prefix", Value: aws.String("a/")}}}}}},
			TopicConfigurations: []s3types.TopicConfiguration{{TopicArn: aws.String(topic), Events: []s3types.Event{"s3:ObjectCreated:*"},
				Filter: &s3types.NotificationConfigurationFilter{Key: &s3types.S3KeyFilter{FilterRules: []s3types.FilterRule{{Name: "prefix", Value: aws.String("b/")}}}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.PutBucketNotificationConfiguration(s3Ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: b, NotificationConfiguration: tt.cfg})
			s3WantCode(t, "PutBucketNotificationConfiguration", err, tt.wantCode)
			if !strings.Contains(s3Message(err), tt.wantMessage) {
				t.Errorf("message %q, want %q", s3Message(err), tt.wantMessage)
			}
		})
	}

	// PUT replaces the whole configuration; an empty one clears it.
	_, err = c.PutBucketNotificationConfiguration(s3Ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: b,
		NotificationConfiguration: &s3types.NotificationConfiguration{}})
	s3Must(t, "clear notifications", err)
	if out := get(); len(out.QueueConfigurations)+len(out.TopicConfigurations) != 0 || out.EventBridgeConfiguration != nil {
		t.Errorf("after clearing: %+v", out)
	}
}
