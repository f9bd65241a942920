// Package localhub is the local stand-in for s3crr's hub (automation) account:
// kumo, embedded in this process, serves Lambda, SNS, SQS, EventBridge and
// DynamoDB; the hub's Lambda functions run as real bootstrap processes behind
// kumo's Lambda Runtime API; and state machines run on the ASL runner in
// localhub/sfn-runner (aws-local-stepfunctions on Node 22), because kumo's own
// Step Functions engine does not honour named errors, Retry/Catch on them,
// intrinsic functions, or SNS and DynamoDB tasks (see localhub/README.md).
//
// A Hub holds the resources the provision state machine uses: the alert topic,
// an SQS queue subscribed to it so alerts can be read back, and the pairs table.
package localhub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/s3crr/s3crr/internal/names"
)

// Config configures a Hub. The zero value is usable.
type Config struct {
	// Region of the hub; default us-east-1, the region kumo puts in its ARNs.
	Region string
	// TopicName is the alert topic; default s3crr-alerts.
	TopicName string
	// TableName is the pairs table; default s3crr-pairs.
	TableName string
	// LeaseTableName is the document lease table; default names.LeaseTableName.
	LeaseTableName string
	// ModuleRoot is the repository root, where node_modules and
	// localhub/sfn-runner are; default: the nearest parent of the working
	// directory that holds go.mod.
	ModuleRoot string
	// Log receives the Lambda processes' output, one prefixed line at a time;
	// default: discarded.
	Log io.Writer
}

// Hub is a running hub stand-in.
type Hub struct {
	// Endpoint is the one URL of every hub service (AWS_ENDPOINT_URL).
	Endpoint string
	// Region and Account are the hub's, as they appear in kumo's ARNs.
	Region, Account string
	// TopicARN is the alert topic; QueueURL and QueueARN the queue subscribed to it.
	TopicARN, QueueURL, QueueARN string
	// TableName is the pairs table (key: pairId).
	TableName string
	// LeaseTableName is the provision Lambda's document lease table (HubStack's).
	LeaseTableName string
	// ModuleRoot is the repository root the hub found or was given.
	ModuleRoot string
	// SelfCalls reports whether kumo's calls to itself reach this hub, which
	// needs KUMO_PORT set before the process started (see EnsureKumoPort).
	SelfCalls bool

	front    *front
	log      io.Writer
	lambda   *lambda.Client
	sns      *sns.Client
	sqs      *sqs.Client
	dynamodb *dynamodb.Client

	mu        sync.Mutex
	functions map[string]*function
}

// Credentials the hub's clients and the ASL runner use; kumo does not check them.
const (
	accessKeyID     = names.LocalAccessKeyID
	secretAccessKey = names.LocalSecretAccessKey
)

// Start starts the hub stand-in (kumo is started once per process and shared,
// since its state is process-wide anyway) and creates the hub resources, or
// reuses them if an earlier hub in this process created them.
func Start(ctx context.Context, cfg Config) (*Hub, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.TopicName == "" {
		cfg.TopicName = names.AlertTopicName
	}
	if cfg.TableName == "" {
		cfg.TableName = names.PairsTableName
	}
	if cfg.LeaseTableName == "" {
		cfg.LeaseTableName = names.LeaseTableName
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.ModuleRoot == "" {
		root, err := FindModuleRoot()
		if err != nil {
			return nil, err
		}
		cfg.ModuleRoot = root
	}
	f, err := sharedFront()
	if err != nil {
		return nil, err
	}
	awsCfg := aws.Config{
		Region:       cfg.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, ""),
		BaseEndpoint: aws.String(f.url),
	}
	h := &Hub{
		Endpoint:       f.url,
		Region:         cfg.Region,
		TableName:      cfg.TableName,
		LeaseTableName: cfg.LeaseTableName,
		ModuleRoot:     cfg.ModuleRoot,
		SelfCalls:      f.selfCalls,
		front:          f,
		log:            cfg.Log,
		lambda:         lambda.NewFromConfig(awsCfg),
		sns:            sns.NewFromConfig(awsCfg),
		sqs:            sqs.NewFromConfig(awsCfg),
		dynamodb:       dynamodb.NewFromConfig(awsCfg),
		functions:      map[string]*function{},
	}
	if err := h.createResources(ctx, cfg.TopicName); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Hub) createResources(ctx context.Context, topicName string) error {
	topic, err := h.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(topicName)})
	if err != nil {
		return fmt.Errorf("create alert topic %s: %w", topicName, err)
	}
	h.TopicARN = aws.ToString(topic.TopicArn)
	if parts := strings.Split(h.TopicARN, ":"); len(parts) == 6 {
		h.Account = parts[4]
	}

	queueName := topicName + "-inbox"
	q, err := h.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(queueName)})
	if err != nil {
		return fmt.Errorf("create alert queue %s: %w", queueName, err)
	}
	h.QueueURL = aws.ToString(q.QueueUrl)
	attrs, err := h.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return fmt.Errorf("read alert queue ARN: %w", err)
	}
	h.QueueARN = attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	subs, err := h.sns.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: topic.TopicArn})
	if err != nil {
		return fmt.Errorf("list alert subscriptions: %w", err)
	}
	subscribed := false
	for _, s := range subs.Subscriptions {
		subscribed = subscribed || aws.ToString(s.Endpoint) == h.QueueARN
	}
	if !subscribed {
		if _, err := h.sns.Subscribe(ctx, &sns.SubscribeInput{
			TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(h.QueueARN),
		}); err != nil {
			return fmt.Errorf("subscribe %s to %s: %w", queueName, topicName, err)
		}
	}

	_, err = h.dynamodb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(h.TableName),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pairId"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pairId"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	var inUse *ddbtypes.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create pairs table %s: %w", h.TableName, err)
	}
	return CreateLeaseTable(ctx, h.dynamodb, h.LeaseTableName)
}

// CreateLeaseTable creates the document lease table as HubStack does: partition key
// names.LeaseTableKey, on-demand, TTL on names.LeaseTTLAttribute. A table that exists
// already is kept.
func CreateLeaseTable(ctx context.Context, db *dynamodb.Client, table string) error {
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(names.LeaseTableKey), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(names.LeaseTableKey), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	var inUse *ddbtypes.ResourceInUseException
	if errors.As(err, &inUse) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create lease table %s: %w", table, err)
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(table),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(names.LeaseTTLAttribute), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("enable TTL on lease table %s: %w", table, err)
	}
	return nil
}

// Close stops the hub's Lambda processes. kumo and its state stay for the
// life of the process.
func (h *Hub) Close() error {
	h.mu.Lock()
	names := make([]string, 0, len(h.functions))
	for n := range h.functions {
		names = append(names, n)
	}
	h.mu.Unlock()
	for _, n := range names {
		h.stopFunction(n)
	}
	return nil
}

// AWSConfig is an SDK configuration whose clients reach the hub's services.
func (h *Hub) AWSConfig() aws.Config {
	return aws.Config{
		Region:       h.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, ""),
		BaseEndpoint: aws.String(h.Endpoint),
	}
}

func (h *Hub) logWriter() io.Writer { return h.log }

// ServeStepFunctions routes the Step Functions API calls (X-Amz-Target:
// AWSStepFunctions.*) that reach the hub's endpoint to api (an sfnapi.Server),
// so that AWS_ENDPOINT_URL alone points a client at every hub service; nil
// gives them back to kumo. kumo's front is shared by the process, so the last
// hub to call this serves them.
func (h *Hub) ServeStepFunctions(api http.Handler) {
	h.front.mu.Lock()
	defer h.front.mu.Unlock()
	h.front.sfn = api
}

// Alert is an SNS message as it arrives in the queue subscribed to the alert
// topic: the SNS notification envelope.
type Alert struct {
	MessageID         string `json:"MessageId"`
	TopicARN          string `json:"TopicArn"`
	Subject           string `json:"Subject"`
	Message           string `json:"Message"`
	MessageAttributes map[string]struct {
		Type  string `json:"Type"`
		Value string `json:"Value"`
	} `json:"MessageAttributes"`
}

// ReceiveAlerts reads (and deletes) the alerts waiting in the alert queue,
// waiting up to wait for the first one.
func (h *Hub) ReceiveAlerts(ctx context.Context, wait time.Duration) ([]Alert, error) {
	var out []Alert
	deadline := time.Now().Add(wait)
	for {
		res, err := h.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(h.QueueURL),
			MaxNumberOfMessages: 10,
			WaitTimeSeconds:     1,
		})
		if err != nil {
			return out, fmt.Errorf("receive alerts: %w", err)
		}
		for _, m := range res.Messages {
			var a Alert
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &a); err != nil {
				return out, fmt.Errorf("decode alert %s: %w", aws.ToString(m.MessageId), err)
			}
			out = append(out, a)
			if _, err := h.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(h.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return out, fmt.Errorf("delete alert: %w", err)
			}
		}
		if (len(out) > 0 && len(res.Messages) == 0) || time.Now().After(deadline) {
			return out, nil
		}
	}
}

// Pair reads a registered pair from the pairs table; ok is false if there is none.
func (h *Hub) Pair(ctx context.Context, pairID string) (item map[string]ddbtypes.AttributeValue, ok bool, err error) {
	out, err := h.dynamodb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(h.TableName),
		Key:            map[string]ddbtypes.AttributeValue{"pairId": &ddbtypes.AttributeValueMemberS{Value: pairID}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, false, fmt.Errorf("get pair %s: %w", pairID, err)
	}
	return out.Item, len(out.Item) > 0, nil
}

// FindModuleRoot returns the nearest directory, from the working directory up,
// that holds go.mod.
func FindModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find module root: no go.mod above the working directory")
		}
		dir = parent
	}
}
