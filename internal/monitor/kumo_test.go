package monitor

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/sivchari/kumo"
)

// kumoHub starts kumo in-process with the two tables, the alert topic and an SQS queue
// subscribed to it (how the local demo and tests read alerts).
type kumoHub struct {
	db       *dynamodb.Client
	sns      *sns.Client
	sqs      *sqs.Client
	topicARN string
	queueURL string
	// pairs and dedup are this test's tables: kumo's state is shared by the process.
	pairs, dedup string
}

func startKumo(t *testing.T) *kumoHub {
	t.Helper()
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("333333333333", "x", ""), BaseEndpoint: aws.String(srv.URL)}
	h := &kumoHub{db: dynamodb.NewFromConfig(cfg), sns: sns.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg),
		pairs: t.Name() + "-pairs", dedup: t.Name() + "-dedup"}
	ctx := t.Context()
	for table, key := range map[string]string{h.pairs: pairsKey, h.dedup: DedupKey} {
		_, err := h.db.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(table),
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(key), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(key), KeyType: ddbtypes.KeyTypeHash}},
			BillingMode:          ddbtypes.BillingModePayPerRequest,
		})
		if err != nil {
			t.Fatalf("create table %s: %v", table, err)
		}
	}
	f := newFakeDB()
	f.addPair("payments-archive", "payments-src", "s3crr-payments-archive")
	if _, err := h.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(h.pairs), Item: f.pairs["payments-archive"]}); err != nil {
		t.Fatal(err)
	}
	topic, err := h.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(t.Name() + "-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	h.topicARN = *topic.TopicArn
	q, err := h.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(t.Name() + "-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	h.queueURL = *q.QueueUrl
	attrs, err := h.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(attrs.Attributes["QueueArn"])}); err != nil {
		t.Fatal(err)
	}
	return h
}

// countingSNS counts successful publishes (what the subscriber would receive).
type countingSNS struct {
	alertPublisher
	n    int
	last *sns.PublishInput
}

func (c *countingSNS) Publish(ctx context.Context, in *sns.PublishInput, o ...func(*sns.Options)) (*sns.PublishOutput, error) {
	out, err := c.alertPublisher.Publish(ctx, in, o...)
	if err == nil {
		c.n++
		c.last = in
	}
	return out, err
}

// TestKumoDedup runs the de-duplication scenarios against kumo's DynamoDB, which parses
// the condition and update expressions the fake only imitates.
func TestKumoDedup(t *testing.T) {
	h := startKumo(t)
	pub := &countingSNS{alertPublisher: h.sns}
	svc := New(Config{PairsTable: h.pairs, DedupTable: h.dedup, TopicARN: h.topicARN, Window: time.Hour}, h.db, pub)
	c := &clock{t: time.Date(2026, 12, 3, 4, 11, 0, 0, time.UTC)}
	svc.now = c.now
	ctx := t.Context()

	// The same event delivered twice, in two envelopes: one alert.
	for _, f := range []string{"pipe-string-body.json", "pipe-parsed-body.json"} {
		if err := svc.Handle(ctx, readEvent(t, f)); err != nil {
			t.Fatal(err)
		}
	}
	if pub.n != 1 {
		t.Fatalf("%d alerts for one event delivered twice", pub.n)
	}
	// A storm of one reason: no more alerts; two other reasons: one each.
	for i := range 50 {
		if err := svc.Handle(ctx, failure("DstPutObjectNotPermitted", 100+i)); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range []string{"SrcGetObjectNotPermitted", "DstKmsKeyInvalidState", "SrcGetObjectNotPermitted"} {
		if err := svc.Handle(ctx, failure(r, 200+i)); err != nil {
			t.Fatal(err)
		}
	}
	if pub.n != 3 {
		t.Fatalf("%d alerts, want 3 (one per reason)", pub.n)
	}
	// After the window: the next alert carries the 50 repeats and itself.
	c.t = c.t.Add(61 * time.Minute)
	if err := svc.Handle(ctx, failure("DstPutObjectNotPermitted", 300)); err != nil {
		t.Fatal(err)
	}
	if pub.n != 4 {
		t.Fatalf("%d alerts after the window", pub.n)
	}
	out, err := h.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(h.dedup), Key: map[string]ddbtypes.AttributeValue{DedupKey: s("alert#payments-archive#DstPutObjectNotPermitted")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := num(out.Item["seen"]); got != 0 || num(out.Item["claimedAt"]) != c.t.Unix() {
		t.Errorf("window after the second claim: seen %d claimedAt %d", got, num(out.Item["claimedAt"]))
	}
	if pub.last == nil || !strings.Contains(*pub.last.Message, `\"Count\":51`) {
		t.Errorf("second alert does not carry the count 51: %v", pub.last)
	}
	if _, ok := out.Item[DedupTTLAttribute]; !ok {
		t.Error("window item has no TTL attribute")
	}

	// The subscriber reads the alerts: MessageStructure json delivers "default" to SQS.
	msgs, err := h.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(h.queueURL), MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs.Messages) == 0 {
		t.Skip("kumo delivered no SNS message to the SQS subscription; publishing was checked by the call count")
	}
	var note struct{ Message, Subject string }
	if err := json.Unmarshal([]byte(*msgs.Messages[0].Body), &note); err != nil {
		t.Fatalf("SNS notification: %v: %s", err, *msgs.Messages[0].Body)
	}
	var a Alert
	if err := json.Unmarshal([]byte(note.Message), &a); err != nil || a.Pair != "payments-archive" || a.Reason == "" {
		t.Errorf("subscriber got %q (%v)", note.Message, err)
	}
}
