// Package monitor turns S3 replication events, in whatever envelope they reach the hub
// (S3 notification, SQS record, the member Pipe's EventBridge event, a CloudWatch alarm
// state change), into one clear SNS alert per pair, reason and window: what failed, where,
// why, who must act and the command that repairs it.
//
// Delivery is at least once everywhere on the route, so de-duplication lives in DynamoDB
// (conditional writes with a TTL), never in process memory: a redelivered event neither
// alerts nor counts twice, and an invocation that fails on DynamoDB or SNS returns an error
// so EventBridge retries it.
package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// Config is the monitor Lambda's configuration.
type Config struct {
	// PairsTable is the table of registered pairs (s3crr-pairs).
	PairsTable string
	// DedupTable is the de-duplication table (partition key DedupKey, TTL DedupTTLAttribute).
	DedupTable string
	// TopicARN is the alert topic.
	TopicARN string
	// Window is how long one alert stands for a (pair, reason); repeats within it are
	// counted and reported by the next alert. Default DefaultWindow.
	Window time.Duration
}

// DefaultWindow is one alert per pair and reason per hour.
const DefaultWindow = time.Hour

// Environment variables ConfigFromEnv reads.
const (
	EnvPairsTable = "PAIRS_TABLE_NAME"
	EnvDedupTable = "DEDUP_TABLE_NAME"
	EnvTopicARN   = "ALERT_TOPIC_ARN"
	EnvWindow     = "ALERT_WINDOW"
)

// ConfigFromEnv reads and validates the configuration; getenv is os.Getenv in the Lambda.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{PairsTable: getenv(EnvPairsTable), DedupTable: getenv(EnvDedupTable), TopicARN: getenv(EnvTopicARN), Window: DefaultWindow}
	if w := getenv(EnvWindow); w != "" {
		d, err := time.ParseDuration(w)
		if err != nil {
			return c, fmt.Errorf("%s=%q: want a Go duration such as 1h or 30m: %w", EnvWindow, w, err)
		}
		c.Window = d
	}
	return c, c.Validate()
}

// Validate names the first missing or impossible setting.
func (c Config) Validate() error {
	var errs []error
	for _, v := range []struct{ name, val string }{{EnvPairsTable, c.PairsTable}, {EnvDedupTable, c.DedupTable}, {EnvTopicARN, c.TopicARN}} {
		if v.val == "" {
			errs = append(errs, fmt.Errorf("%s is not set", v.name))
		}
	}
	if c.Window < time.Minute || c.Window > 7*24*time.Hour {
		errs = append(errs, fmt.Errorf("%s=%s: want between 1m and 168h", EnvWindow, c.Window))
	}
	return errors.Join(errs...)
}

// alertPublisher is what the monitor needs from SNS.
type alertPublisher interface {
	Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ alertPublisher = (*sns.Client)(nil)

// Service handles monitor invocations.
type Service struct {
	cfg   Config
	pairs pairLookup
	dedup deduper
	sns   alertPublisher
	now   func() time.Time
}

// New builds the service; db is a DynamoDB client (both tables), pub an SNS client.
func New(cfg Config, db interface {
	pairLookup
	dedupStore
}, pub alertPublisher) *Service {
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	return &Service{cfg: cfg, pairs: db, dedup: deduper{db: db, table: cfg.DedupTable, window: cfg.Window}, sns: pub, now: time.Now}
}

// Handle processes one invocation. Malformed records are logged and dropped; an error
// (DynamoDB or SNS) fails the invocation so it is retried, and the retry does not alert
// twice for what this one already sent.
func (s *Service) Handle(ctx context.Context, payload json.RawMessage) error {
	d, err := Decode(payload)
	if err != nil {
		// Retrying cannot fix the shape: log and drop.
		slog.Error("drop unrecognised event", "error", err)
		return nil
	}
	for _, m := range d.Malformed {
		slog.Error("drop malformed record", "record", m.ID, "error", m.Err)
	}
	for _, sk := range d.Skipped {
		slog.Info("no alert", "record", sk.ID, "why", sk.Why)
	}
	var errs []error
	for _, sig := range d.Signals {
		if err := s.signal(ctx, sig); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Service) signal(ctx context.Context, sig Signal) error {
	// The window is keyed by the pair ID the names carry, so the pairs table is read only
	// for the events that alert, not for every event of a storm.
	pairKey := candidatePairID(sig)
	if pairKey == "" {
		pairKey = UnmanagedPair + ":" + sig.SourceBucket + ":" + sig.RuleID
	}
	reason := reasonOf(sig)
	if r, ok := LookupReason(reason); ok {
		reason = r.Code // aliases share a window
	}
	c, err := s.dedup.register(ctx, sig.ID, pairKey, reason, s.now())
	if err != nil {
		return err
	}
	if !c.Alert {
		slog.Info("alert suppressed", "record", sig.Origin, "pair", pairKey, "reason", reason, "duplicate", c.Duplicate)
		return nil
	}
	pair, managed, err := findPair(ctx, s.pairs, s.cfg.PairsTable, sig)
	if err != nil {
		return err
	}
	a := build(sig, pair, managed, c.Count, c.Since)
	in, err := PublishInput(s.cfg.TopicARN, a)
	if err != nil {
		return err
	}
	if _, err := s.sns.Publish(ctx, in); err != nil {
		return fmt.Errorf("publish alert %s/%s: %w", a.Pair, a.Reason, err)
	}
	slog.Info("alert published", "record", sig.Origin, "pair", a.Pair, "reason", a.Reason, "severity", a.Severity, "count", a.Count)
	return s.dedup.sent(ctx, sig.ID, pairKey, reason)
}

// Preview returns the alerts payload would produce, without de-duplication, look-ups of
// the pairs table or publishing (the CLI's `crr monitor preview`): every alert is for an
// unmanaged pair unless lookup is non-nil.
func Preview(ctx context.Context, payload []byte, lookup func(Signal) (Pair, bool)) ([]Alert, Decoded, error) {
	d, err := Decode(payload)
	if err != nil {
		return nil, d, err
	}
	var out []Alert
	for _, sig := range d.Signals {
		var p Pair
		managed := false
		if lookup != nil {
			p, managed = lookup(sig)
		}
		out = append(out, build(sig, p, managed, 1, time.Time{}))
	}
	return out, d, nil
}

// maxMessage is SNS's limit on a message with its attributes (256 KiB).
const maxMessage = 256 << 10

// PublishInput is the SNS message for an alert: MessageStructure json with the e-mail text
// under "email" and the alert as JSON under "default" (every other protocol), and the
// message attributes pair, reason, severity and account for subscription filters.
func PublishInput(topicARN string, a Alert) (*sns.PublishInput, error) {
	facts, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encode alert: %w", err)
	}
	msg, err := json.Marshal(map[string]string{"default": string(facts), "email": a.Body})
	if err != nil {
		return nil, fmt.Errorf("encode alert message: %w", err)
	}
	if len(msg)+1024 > maxMessage {
		a.Raw = nil
		a.Body = a.Body[:min(len(a.Body), 64<<10)]
		return PublishInput(topicARN, a)
	}
	account := a.Account
	switch a.Actor {
	case PartySource:
		account = firstNonEmpty(a.Source.Account, a.Account)
	case PartyDestination:
		account = firstNonEmpty(a.Dest.Account, a.Account)
	}
	attr := func(v string) snstypes.MessageAttributeValue {
		if v == "" {
			v = "unknown"
		}
		return snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return &sns.PublishInput{
		TopicArn:         aws.String(topicARN),
		Subject:          aws.String(a.Subject),
		Message:          aws.String(string(msg)),
		MessageStructure: aws.String("json"),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"pair":     attr(a.Pair),
			"reason":   attr(a.Reason),
			"severity": attr(string(a.Severity)),
			"account":  attr(account),
		},
	}, nil
}
