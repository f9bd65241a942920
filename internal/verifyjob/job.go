// Package verifyjob is the verify Lambda: the stages the verify state machine
// (statemachine/verify.asl.json) invokes for each registered pair. The checks and the
// canary themselves are internal/verify's; this package reads the pairs table, carries
// each pair's state between the stages, records the outcome on the pair, puts the
// s3crr metrics and publishes the alert of a failed verification.
//
// Every stage returns at once: the state machine's Wait states do the waiting between
// the canary's put and its checks, so no Lambda sleeps.
package verifyjob

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/spec"
	"github.com/s3crr/s3crr/internal/verify"
)

// Stages the state machine passes as the event's stage.
const (
	StageList        = "list"
	StageCheck       = "check"
	StageCanaryPut   = "canaryPut"
	StageCanaryCheck = "canaryCheck"
	StageRecord      = "record"
	// StageCleanup only deletes the canary: `crr doctor --canary`, which records nothing.
	StageCleanup = "cleanup"
)

// Outcomes of a pair's verification.
const (
	StatusPassed = "passed"
	StatusFailed = "failed"
)

// Event is one invocation.
type Event struct {
	Stage string `json:"stage"`
	// PairID selects one pair for StageList; empty lists every registered pair.
	PairID string `json:"pairId,omitempty"`
	// State is the pair's state for every other stage.
	State *PairState `json:"state,omitempty"`
	// Execution is the verify execution's ID, for the record and the alert.
	Execution string `json:"execution,omitempty"`
}

// PairState is what the state machine carries for one pair between the stages.
type PairState struct {
	PairID string `json:"pairId"`
	// Request is the pair's request as registered (JSON text).
	Request string `json:"request"`
	// Report is the checks' result; SourceKeyARN and DestinationKeyARN the keys read.
	Report            *verify.Report `json:"report,omitempty"`
	SourceKeyARN      string         `json:"sourceKeyArn,omitempty"`
	DestinationKeyARN string         `json:"destinationKeyArn,omitempty"`
	// Canary is the canary's state; its Status drives the state machine's wait loop.
	Canary *verify.CanaryResult `json:"canary,omitempty"`
	// Error is a stage failure the state machine caught ({Error, Cause}).
	Error *StageError `json:"error,omitempty"`
}

// StageError is a Catch's error output.
type StageError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// ListResult is StageList's output: the Map's items.
type ListResult struct {
	Pairs []PairState `json:"pairs"`
}

// Result is one pair's verification, StageRecord's output and the Map's result.
type Result struct {
	PairID     string    `json:"pairId"`
	Status     string    `json:"status"`
	VerifiedAt time.Time `json:"verifiedAt"`
	// LatencySeconds is the canary's latency; 0 when it did not replicate.
	LatencySeconds float64          `json:"latencySeconds,omitempty"`
	FindingCount   int              `json:"findingCount"`
	Findings       []verify.Finding `json:"findings"`
	// Alerted reports whether an alert was published.
	Alerted bool `json:"alerted"`
	// Summary is the outcome in one line: the latency, or every failing finding with
	// its fix. The provision state machine fails with it as the cause when a new pair
	// does not pass, so `crr apply --wait` names the fault without a second lookup.
	Summary string `json:"summary"`
}

// Config is the verify Lambda's configuration.
type Config struct {
	ExternalID string
	// VerifierRoleName is the member role the canary is written as.
	VerifierRoleName string
	TableName        string
	TopicARN         string
	// CanaryDeadline bounds a canary's wait; default verify.DefaultCanaryDeadline.
	CanaryDeadline time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

type pairsAPI interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

type metricsAPI interface {
	PutMetricData(context.Context, *cloudwatch.PutMetricDataInput, ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
}

type publishAPI interface {
	Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var (
	_ pairsAPI   = (*dynamodb.Client)(nil)
	_ metricsAPI = (*cloudwatch.Client)(nil)
	_ publishAPI = (*sns.Client)(nil)
)

// Service runs the stages.
type Service struct {
	cfg Config
	db  pairsAPI
	cw  metricsAPI
	sns publishAPI
	// auditor reads the members; writer writes the canary.
	auditor, writer verify.Connector
}

// New builds the service. auditor connects read-only (the members' auditor roles),
// writer as the verifier roles (the canary).
func New(cfg Config, db pairsAPI, cw metricsAPI, pub publishAPI, auditor, writer verify.Connector) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CanaryDeadline <= 0 {
		cfg.CanaryDeadline = verify.DefaultCanaryDeadline
	}
	return &Service{cfg: cfg, db: db, cw: cw, sns: pub, auditor: auditor, writer: writer}
}

// Handle runs one stage. An AWS API that is still throttling after the SDK's retries
// fails the stage as Throttled, which the state machine retries with backoff.
func (s *Service) Handle(ctx context.Context, ev Event) (any, error) {
	out, err := s.handle(ctx, ev)
	if err != nil && awsclient.IsThrottled(err) {
		return out, &Throttled{Message: err.Error()}
	}
	return out, err
}

// Throttled means an AWS API (a member's, or the hub's DynamoDB, CloudWatch or SNS) kept
// throttling after the SDK's retries; the verify state machine retries the stage.
type Throttled struct{ Message string }

func (e *Throttled) Error() string { return e.Message }

func (s *Service) handle(ctx context.Context, ev Event) (any, error) {
	if ev.Stage == StageList {
		return s.list(ctx, ev.PairID)
	}
	if ev.State == nil {
		return nil, &InvalidEvent{Msg: fmt.Sprintf("stage %q needs the pair's state", ev.Stage)}
	}
	st := *ev.State
	switch ev.Stage {
	case StageCheck:
		return s.check(ctx, st)
	case StageCanaryPut:
		return s.canaryPut(ctx, st)
	case StageCanaryCheck:
		return s.canaryCheck(ctx, st)
	case StageRecord:
		return s.record(ctx, st, ev.Execution)
	case StageCleanup:
		if st.Canary == nil {
			return st, nil
		}
		return st, s.cleanup(ctx, st.Canary.Canary)
	}
	return nil, &InvalidEvent{Msg: fmt.Sprintf("unknown stage %q", ev.Stage)}
}

// InvalidEvent is an event no stage can run; the state machine does not retry it.
type InvalidEvent struct{ Msg string }

func (e *InvalidEvent) Error() string { return e.Msg }

// PairNotFound names a pair that is not registered.
type PairNotFound struct{ PairID string }

func (e *PairNotFound) Error() string {
	return fmt.Sprintf("pair %q is not registered in the pairs table: provision it with `crr apply`, or check it with `crr doctor -f`", e.PairID)
}

func (s *Service) request(st PairState) (spec.Request, error) {
	r, err := spec.Parse([]byte(st.Request))
	if err != nil {
		return spec.Request{}, &InvalidEvent{Msg: fmt.Sprintf("pair %s: registered request: %v", st.PairID, err)}
	}
	return r, nil
}

// check runs the sufficiency and drift checks through the auditor roles and keeps the
// keys' ARNs for the canary.
func (s *Service) check(ctx context.Context, st PairState) (PairState, error) {
	st, err := s.load(ctx, st)
	if err != nil {
		return st, err
	}
	req, err := s.request(st)
	if err != nil {
		return st, err
	}
	src, err := s.auditor.Connect(ctx, req.Source.Account, req.Source.Region)
	if err != nil {
		return st, fmt.Errorf("connect to source account %s: %w", req.Source.Account, err)
	}
	dst, err := s.auditor.Connect(ctx, req.Destination.Account, req.Destination.Region)
	if err != nil {
		return st, fmt.Errorf("connect to destination account %s: %w", req.Destination.Account, err)
	}
	snap, err := verify.Read(ctx, req, src, dst)
	if err != nil {
		return st, err
	}
	rep := verify.Check(snap)
	st.Report = &rep
	if snap.Source.Key != nil {
		st.SourceKeyARN = snap.Source.Key.ARN
	}
	if snap.Destination.Key != nil {
		st.DestinationKeyARN = snap.Destination.Key.ARN
	}
	return st, nil
}

func (s *Service) canaryPut(ctx context.Context, st PairState) (PairState, error) {
	req, err := s.request(st)
	if err != nil {
		return st, err
	}
	src, err := s.writer.Connect(ctx, req.Source.Account, req.Source.Region)
	if err != nil {
		return st, fmt.Errorf("connect to source account %s: %w", req.Source.Account, err)
	}
	res, err := verify.PutCanary(ctx, req, src, st.SourceKeyARN, st.DestinationKeyARN, s.cfg.Now(), s.cfg.CanaryDeadline)
	if err != nil {
		return st, err
	}
	st.Canary = &res
	return st, nil
}

func (s *Service) canaryCheck(ctx context.Context, st PairState) (PairState, error) {
	if st.Canary == nil {
		return st, &InvalidEvent{Msg: "canaryCheck without a canary"}
	}
	src, dst, err := s.writerSessions(ctx, st.Canary.Canary)
	if err != nil {
		return st, err
	}
	res, err := verify.CheckCanary(ctx, st.Canary.Canary, src, dst, s.cfg.Now())
	if err != nil {
		return st, err
	}
	st.Canary = &res
	return st, nil
}

func (s *Service) writerSessions(ctx context.Context, c verify.Canary) (src, dst *verify.Session, err error) {
	if src, err = s.writer.Connect(ctx, c.SourceAccount, c.SourceRegion); err != nil {
		return nil, nil, fmt.Errorf("connect to source account %s: %w", c.SourceAccount, err)
	}
	if dst, err = s.writer.Connect(ctx, c.DestinationAccount, c.DestinationRegion); err != nil {
		return nil, nil, fmt.Errorf("connect to destination account %s: %w", c.DestinationAccount, err)
	}
	return src, dst, nil
}
