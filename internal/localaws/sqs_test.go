package localaws

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/s3crr/s3crr/internal/awsclient"
)

// createQueue creates a queue as the root user of account in region, as MemberStack
// does for the events queue, and returns its ARN.
func createQueue(t testing.TB, endpoint, account, region, name string) string {
	t.Helper()
	c := sqs.NewFromConfig(RootConfig(endpoint, account, region))
	if _, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name)}); err != nil {
		t.Fatalf("create queue %s in %s/%s: %v", name, account, region, err)
	}
	return sqsQueueARN(region, account, name)
}

// The queues MemberStack creates are per account and region; GetQueueUrl finds them by
// name and owner, GetQueueAttributes by URL, and a missing queue is QueueDoesNotExist,
// which the SDK decodes into its own error type.
func TestSQSQueues(t *testing.T) {
	e := newS3Env(t, Options{})
	ctx := context.Background()
	arn := createQueue(t, e.endpoint, s3A, s3Mumbai, "events")
	c := sqs.NewFromConfig(RootConfig(e.endpoint, s3A, s3Mumbai))
	url, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("events"), QueueOwnerAWSAccountId: aws.String(s3A)})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil || attrs.Attributes["QueueArn"] != arn {
		t.Errorf("GetQueueAttributes = %v, %v; want QueueArn %s", attrs, err, arn)
	}
	// Again: CreateQueue with the same attributes is idempotent.
	createQueue(t, e.endpoint, s3A, s3Mumbai, "events")

	for _, tt := range []struct{ account, region, name string }{
		{s3A, "us-east-1", "events"}, // another region
		{s3B, s3Mumbai, "events"},    // another account
		{s3A, s3Mumbai, "other"},     // another name
	} {
		c := sqs.NewFromConfig(RootConfig(e.endpoint, tt.account, tt.region))
		_, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(tt.name)})
		var missing *sqstypes.QueueDoesNotExist
		if !errors.As(err, &missing) {
			t.Errorf("GetQueueUrl %s in %s/%s = %v, want QueueDoesNotExist", tt.name, tt.account, tt.region, err)
		}
	}
	if got := e.s.Queues(); len(got) != 1 || got[0] != arn {
		t.Errorf("Queues() = %v, want [%s]", got, arn)
	}
}

// A role may read a queue only as its identity policy allows: GetQueueUrl is authorized
// on the queue's ARN before the lookup, so without the grant a caller learns nothing.
func TestSQSGetQueueURLIsAuthorized(t *testing.T) {
	e := newS3Env(t, Options{})
	ctx := context.Background()
	createQueue(t, e.endpoint, s3A, s3Mumbai, "events")
	role := e.role(s3A, "reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:GetQueueUrl","Resource":"arn:aws:sqs:*:`+s3A+`:events"}]}`)
	creds := assumeForTest(t, e, role)
	c := sqs.NewFromConfig(SessionConfig(e.endpoint, s3Mumbai, creds))
	if _, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("events")}); err != nil {
		t.Errorf("GetQueueUrl with the grant: %v", err)
	}
	_, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("missing")})
	if !awsclient.IsAccessDenied(err) {
		t.Errorf("GetQueueUrl outside the grant = %v, want AccessDenied", err)
	}
}

// S3 verifies that every SQS destination of a notification configuration exists before it
// stores the configuration, and refuses it otherwise with "Unable to validate the
// following destination configurations" (docs/aws-facts.md#F-S3-NOTIFICATION-DESTINATION-CHECK);
// nothing of the refused configuration is stored.
func TestS3NotificationRefusesAMissingQueue(t *testing.T) {
	e := newS3Env(t, Options{})
	c := e.bucket(s3A, s3Mumbai, "events-bucket", false)
	queue := sqsQueueARN(s3Mumbai, s3A, "s3crr-replication-events")
	put := func() error {
		_, err := c.PutBucketNotificationConfiguration(s3Ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("events-bucket"),
			NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
				QueueArn: aws.String(queue), Events: []s3types.Event{"s3:Replication:*"}}}}})
		return err
	}
	err := put()
	s3WantCode(t, "PutBucketNotificationConfiguration to a missing queue", err, "InvalidArgument")
	if !strings.Contains(s3Message(err), "Unable to validate the following destination configurations") {
		t.Errorf("message %q", s3Message(err))
	}
	out, gerr := c.GetBucketNotificationConfiguration(s3Ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("events-bucket")})
	s3Must(t, "GetBucketNotificationConfiguration", gerr)
	if len(out.QueueConfigurations) != 0 {
		t.Errorf("a refused configuration was stored: %+v", out.QueueConfigurations)
	}
	createQueue(t, e.endpoint, s3A, s3Mumbai, "s3crr-replication-events")
	s3Must(t, "PutBucketNotificationConfiguration once the queue exists", put())
}

// assumeForTest assumes roleARN as its account's root user.
func assumeForTest(t *testing.T, e *s3Env, roleARN string) aws.Credentials {
	t.Helper()
	out, err := sts.NewFromConfig(RootConfig(e.endpoint, accountOfARN(roleARN), "us-east-1")).AssumeRole(context.Background(),
		&sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("test")})
	if err != nil {
		t.Fatalf("assume %s: %v", roleARN, err)
	}
	return aws.Credentials{AccessKeyID: aws.ToString(out.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey), SessionToken: aws.ToString(out.Credentials.SessionToken)}
}
