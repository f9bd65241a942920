package localrun

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/names"
)

// The member side of the route is S3 → the events queue → an EventBridge Pipe →
// the member region's default bus → a rule → the hub bus. Locally the simulator
// hands each S3 notification to a forwarder, which does what that chain does to
// it: a message on the events queue becomes an SQS record (the Pipe's event,
// with the S3 message as its string body), and the Pipe puts the record on the
// bus as the detail of an event with MemberStack's source and detail-type, which
// the forwarding rule passes on unchanged to the hub bus.
//
// Differences from AWS: kumo stamps its own account and region on every event
// (a forwarded event carries the member's). On the hub bus, HubStack's rules
// deliver to the monitor Lambda (monitor.go); one more rule copies the
// replication events to an inbox queue, so that tests can read them back.

// forwarder is the simulator's EventSink.
type forwarder struct {
	log io.Writer

	mu        sync.Mutex
	eb        *eventbridge.Client // nil until the hub is up: earlier events are dropped
	bus       string
	forwarded int
	errs      []error
}

func (f *forwarder) start(eb *eventbridge.Client, bus string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.eb, f.bus = eb, bus
}

// forward runs on the simulator's replication goroutine, after the S3 event is
// recorded; it returns once the hub accepted the event, so that WaitIdle
// returning means the events are on the hub bus.
func (f *forwarder) forward(ev localaws.Event) {
	if !isEventsQueue(ev.TargetARN) {
		return // the route reads only MemberStack's queue; other targets are not s3crr's
	}
	f.mu.Lock()
	eb, bus := f.eb, f.bus
	f.mu.Unlock()
	if eb == nil {
		return
	}
	detail, err := pipeRecord(ev)
	if err == nil {
		err = putEvent(eb, bus, detail)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		err = fmt.Errorf("forward %s from %s to the hub bus: %w", ev.EventName, ev.Bucket, err)
		f.errs = append(f.errs, err)
		fmt.Fprintln(f.log, err)
		return
	}
	f.forwarded++
}

func putEvent(eb *eventbridge.Client, bus string, detail []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: aws.String(bus),
		Source:       aws.String(names.ReplicationEventSource),
		DetailType:   aws.String(names.ReplicationEventDetailType),
		Detail:       aws.String(string(detail)),
	}}})
	if err != nil {
		return err
	}
	if out.FailedEntryCount > 0 && len(out.Entries) > 0 {
		return fmt.Errorf("%s: %s", aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage))
	}
	return nil
}

// isEventsQueue reports whether arn is an events queue of MemberStack's, in any
// member account and region.
func isEventsQueue(arn string) bool {
	parts := strings.Split(arn, ":")
	return len(parts) == 6 && parts[2] == "sqs" && parts[5] == names.EventsQueueName
}

// pipeRecord is the detail an EventBridge Pipe with an SQS source puts on its
// target bus for one message: the SQS record, the body left a string.
func pipeRecord(ev localaws.Event) ([]byte, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("make message ID: %w", err)
	}
	sum := md5.Sum(ev.Body)
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	rec := events.SQSMessage{
		MessageId:     uuid(id),
		ReceiptHandle: hex.EncodeToString(id),
		Body:          string(ev.Body),
		Md5OfBody:     hex.EncodeToString(sum[:]),
		Attributes: map[string]string{
			"ApproximateReceiveCount":          "1",
			"SentTimestamp":                    now,
			"SenderId":                         "s3.amazonaws.com", // an opaque ID of S3's sender in AWS
			"ApproximateFirstReceiveTimestamp": now,
		},
		MessageAttributes: map[string]events.SQSMessageAttribute{},
		EventSourceARN:    ev.TargetARN,
		EventSource:       "aws:sqs",
		AWSRegion:         ev.Region,
	}
	return json.Marshal(rec)
}

func uuid(b []byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Forwarded is how many replication events reached the hub bus, and the errors
// of those that did not.
func (e *Env) Forwarded() (n int, errs []error) {
	e.fwd.mu.Lock()
	defer e.fwd.mu.Unlock()
	return e.fwd.forwarded, append([]error(nil), e.fwd.errs...)
}

// startEventRoute creates the hub side of the route: the bus, a rule on it for
// MemberStack's events (HubStack's monitor rule matches the same), and an inbox
// queue as its target. It is idempotent, since kumo's state outlives an Env.
func (e *Env) startEventRoute(ctx context.Context) error {
	cfg := e.Hub.AWSConfig()
	eb := eventbridge.NewFromConfig(cfg)
	q := sqs.NewFromConfig(cfg)
	e.EventBusName = e.cfg.EventBus
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(e.EventBusName)}); err != nil {
		var exists *ebtypes.ResourceAlreadyExistsException
		if !errors.As(err, &exists) {
			return fmt.Errorf("create event bus %s: %w", e.EventBusName, err)
		}
	}
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(e.cfg.EventsInbox)})
	if err != nil {
		return fmt.Errorf("create events inbox %s: %w", e.cfg.EventsInbox, err)
	}
	e.EventsInboxURL = aws.ToString(out.QueueUrl)
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       out.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return fmt.Errorf("read events inbox ARN: %w", err)
	}
	e.EventsInboxARN = attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	pattern, err := json.Marshal(map[string][]string{
		"source":      {names.ReplicationEventSource},
		"detail-type": {names.ReplicationEventDetailType},
	})
	if err != nil {
		return fmt.Errorf("event pattern: %w", err)
	}
	rule := e.cfg.EventsInbox
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{
		Name:         aws.String(rule),
		EventBusName: aws.String(e.EventBusName),
		EventPattern: aws.String(string(pattern)),
		State:        ebtypes.RuleStateEnabled,
	}); err != nil {
		return fmt.Errorf("put rule %s on %s: %w", rule, e.EventBusName, err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule:         aws.String(rule),
		EventBusName: aws.String(e.EventBusName),
		Targets:      []ebtypes.Target{{Id: aws.String("inbox"), Arn: aws.String(e.EventsInboxARN)}},
	}); err != nil {
		return fmt.Errorf("put target of rule %s: %w", rule, err)
	}
	e.fwd.start(eb, e.EventBusName)
	return nil
}

// HubEvent is a replication event as it arrived on the hub bus.
type HubEvent struct {
	// Event is the EventBridge envelope (source, detail-type, ...).
	Event events.EventBridgeEvent
	// Record is its detail: the events queue's SQS record, as the Pipe put it.
	Record events.SQSMessage
	// Notification is the record's body: the S3 event notification.
	Notification events.S3Event
}

// ReceiveReplicationEvents reads (and deletes) the replication events waiting in
// the hub's inbox, waiting up to wait for the first one.
func (e *Env) ReceiveReplicationEvents(ctx context.Context, wait time.Duration) ([]HubEvent, error) {
	q := sqs.NewFromConfig(e.Hub.AWSConfig())
	var out []HubEvent
	deadline := time.Now().Add(wait)
	for {
		res, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(e.EventsInboxURL),
			MaxNumberOfMessages: 10,
			WaitTimeSeconds:     1,
		})
		if err != nil {
			return out, fmt.Errorf("receive replication events: %w", err)
		}
		for _, m := range res.Messages {
			ev, err := decodeHubEvent([]byte(aws.ToString(m.Body)))
			if err != nil {
				return out, fmt.Errorf("decode hub event %s: %w", aws.ToString(m.MessageId), err)
			}
			out = append(out, ev)
			if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(e.EventsInboxURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return out, fmt.Errorf("delete hub event: %w", err)
			}
		}
		if (len(out) > 0 && len(res.Messages) == 0) || time.Now().After(deadline) {
			return out, nil
		}
	}
}

func decodeHubEvent(body []byte) (HubEvent, error) {
	var ev HubEvent
	if err := json.Unmarshal(body, &ev.Event); err != nil {
		return ev, fmt.Errorf("envelope: %w", err)
	}
	if err := json.Unmarshal(ev.Event.Detail, &ev.Record); err != nil {
		return ev, fmt.Errorf("detail: %w", err)
	}
	if err := json.Unmarshal([]byte(ev.Record.Body), &ev.Notification); err != nil {
		return ev, fmt.Errorf("S3 notification in the record body: %w", err)
	}
	return ev, nil
}
