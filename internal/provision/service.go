// Package provision turns a pair request into a working replication pair, one idempotent
// stage at a time. Each stage reads the current state in the member accounts, computes the
// difference with what the pair needs, applies only that, and reports every change it made.
// Stages find what earlier stages made by deterministic names (aliases, role name, rule ID),
// so they need nothing from each other and any of them can be re-run after a failure.
//
// s3crr runs in other people's accounts: it merges instead of replacing (key and bucket
// policy statements by Sid, replication rules by ID, notification configurations by ID),
// deletes nothing while provisioning, and refuses (Conflict) to take over what it did not create.
package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/s3crr/s3crr/internal/lease"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/spec"
)

// Sides of a pair.
const (
	SideSource      = "source"
	SideDestination = "destination"
)

// Stages is the order in which a full run (the state machine, or Plan) runs the stages,
// with the sides each runs for.
var Stages = []struct {
	Name  string
	Sides []string
}{
	{names.StageValidate, []string{""}},
	{names.StagePreflight, []string{""}},
	{names.StageBucket, []string{SideSource, SideDestination}},
	{names.StageKey, []string{SideSource, SideDestination}},
	{names.StageRole, []string{SideSource}},
	{names.StageKeyPolicy, []string{SideSource, SideDestination}},
	{names.StageBucketPolicy, []string{SideDestination}},
	{names.StageEncryption, []string{SideSource, SideDestination}},
	{names.StageReplication, []string{SideSource}},
	{names.StageEvents, []string{SideSource}},
	{names.StageCheckReplication, []string{""}},
	// Only with rule.replicateExisting (otherwise they skip): replicate the objects that
	// existed before the rule. The redrive state machine runs the same four.
	{names.StageBatchRole, []string{SideSource}},
	{names.StageBatchStart, []string{SideSource}},
	{names.StageBatchStatus, []string{SideSource}},
	{names.StageBatchReport, []string{SideSource}},
}

// RedriveStages are the stages the redrive state machine runs, in order; batchStatus is
// polled until its output done is "true".
var RedriveStages = []string{names.StageBatchRole, names.StageBatchStart, names.StageBatchStatus, names.StageBatchReport}

// stageRunners maps each stage name to the method that runs it.
var stageRunners = map[string]func(*stage, context.Context) error{
	names.StageValidate:         (*stage).validate,
	names.StagePreflight:        (*stage).preflight,
	names.StageBucket:           (*stage).bucket,
	names.StageKey:              (*stage).key,
	names.StageRole:             (*stage).role,
	names.StageKeyPolicy:        (*stage).keyPolicy,
	names.StageBucketPolicy:     (*stage).bucketPolicy,
	names.StageEncryption:       (*stage).encryption,
	names.StageReplication:      (*stage).replication,
	names.StageEvents:           (*stage).events,
	names.StageCheckReplication: (*stage).checkReplication,
	names.StageBatchRole:        (*stage).batchRole,
	names.StageBatchStart:       (*stage).batchStart,
	names.StageBatchStatus:      (*stage).batchStatus,
	names.StageBatchReport:      (*stage).batchReport,

	names.StageDestroyReplication:  (*stage).destroyReplication,
	names.StageDestroyEvents:       (*stage).destroyEvents,
	names.StageDestroyBucketPolicy: (*stage).destroyBucketPolicy,
	names.StageDestroyKeyPolicy:    (*stage).destroyKeyPolicy,
	names.StageDestroyRole:         (*stage).destroyRole,
	names.StageDestroyKey:          (*stage).destroyKey,
	names.StageDestroyBucket:       (*stage).destroyBucket,
}

// Event is the provision Lambda's input: one stage for one side of a pair.
type Event struct {
	Stage   string          `json:"stage"`
	Side    string          `json:"side,omitempty"`
	Request json.RawMessage `json:"request"`
	// Plan makes the stage read-only: it reports the changes it would make.
	Plan bool `json:"plan,omitempty"`
	// Destroy carries `crr destroy`'s options to the destroy stages; other stages ignore it.
	Destroy DestroyOptions `json:"destroy,omitzero"`
	// Batch is set by the redrive state machine for the Batch Replication stages.
	Batch *BatchInput `json:"batch,omitempty"`
}

// Change is one change a stage made (or, in plan mode, would make).
type Change struct {
	Account  string `json:"account"`
	Region   string `json:"region,omitempty"`
	Resource string `json:"resource"`
	Action   string `json:"action"`
	Detail   string `json:"detail,omitempty"`
}

func (c Change) String() string {
	s := fmt.Sprintf("%s %s in %s", c.Action, c.Resource, c.Account)
	if c.Region != "" {
		s += "/" + c.Region
	}
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

// Result is the provision Lambda's output for one stage.
type Result struct {
	Stage    string            `json:"stage"`
	Side     string            `json:"side,omitempty"`
	Changes  []Change          `json:"changes"`
	Outputs  map[string]string `json:"outputs,omitempty"`
	Warnings []string          `json:"warnings,omitempty"`
	// Request is the defaulted request, returned by the validate stage so later stages and
	// the execution output show exactly what was provisioned.
	Request *spec.Request `json:"request,omitempty"`
	// Legs are the single-destination pairs the request provisions (spec.Options.Legs),
	// returned by the validate stage: the state machine runs the other stages once per
	// leg, in order. A plain request is its own only leg.
	Legs []spec.Request `json:"legs,omitempty"`
}

// Config is what a deployment fixes for every pair.
type Config struct {
	// ProvisionerRoleName is the role MemberStack creates in each member account.
	ProvisionerRoleName string
	// ExternalID is the deployment's ExternalId, required by the provisioner roles' trust.
	ExternalID string
	// BoundaryPolicyARNFormat gives the permissions boundary every replication role gets,
	// with %s for the account: MemberStack creates the policy, the provisioner role may
	// create roles only with it.
	BoundaryPolicyARNFormat string
	// EventsQueueName is the SQS queue MemberStack creates in each source region for S3
	// replication events (forwarded to the hub's bus by an EventBridge Pipe).
	EventsQueueName string
	// BucketNamePrefix is the deployment's bucket name prefix (names.EnvBucketNamePrefix): a
	// request for another bucket is InvalidSpec before any call. "" or "*" admits all.
	BucketNamePrefix string
	// KMSAliasPrefix is the deployment's key alias prefix (names.EnvKMSAliasPrefix): the
	// default aliases are built under it and a request naming another alias is
	// InvalidSpec. "" means names.AliasPrefix.
	KMSAliasPrefix string
	// OrganizationID is the deployment's organizationId (names.EnvOrganizationID): when
	// set, the destination's shared grants admit the replication roles of the
	// organization's accounts (aws:PrincipalOrgID) instead of listing each source account.
	OrganizationID string
	// Registry lists the registered pairs, for teardown to tell whether another pair still
	// uses a shared grant. Nil keeps every shared grant on teardown (with a warning).
	Registry Registry
	// BatchPollInterval is how long Apply waits between reads of a Batch Replication job
	// (the state machine has its own Wait state). Default 5 s.
	BatchPollInterval time.Duration
	// Leases serialise the stages' merges into documents other pairs also write
	// (lease.DynamoDB on the hub's lease table in the Lambda). Default: an in-process
	// lease.Memory, which serialises only the runs of this Service.
	Leases lease.Store
	// LeaseDuration is how long a lease counts before another run may take it from a
	// holder that crashed. Default 2 minutes.
	LeaseDuration time.Duration
}

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.ProvisionerRoleName == "" {
		c.ProvisionerRoleName = names.ProvisionerRoleName
	}
	if c.BoundaryPolicyARNFormat == "" {
		c.BoundaryPolicyARNFormat = names.BoundaryPolicyARNFormat
	}
	if c.EventsQueueName == "" {
		c.EventsQueueName = names.EventsQueueName
	}
	if c.BatchPollInterval == 0 {
		c.BatchPollInterval = 5 * time.Second
	}
	if c.Leases == nil {
		c.Leases = &lease.Memory{}
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = DefaultLeaseDuration
	}
	return c
}

// Service runs stages.
type Service struct {
	cfg     Config
	connect connector
}

// New returns a Service that reaches member accounts through conn.
func New(cfg Config, conn AssumeRoleConnector) *Service {
	cfg = cfg.WithDefaults()
	if conn.ProvisionerRoleName == "" {
		conn.ProvisionerRoleName = cfg.ProvisionerRoleName
	}
	if conn.ExternalID == "" {
		conn.ExternalID = cfg.ExternalID
	}
	return &Service{cfg: cfg, connect: conn}
}

// Run runs one stage. Errors the state machine reacts to by name (InvalidSpec,
// PreflightFailed, PrincipalNotReady, AccessDenied, Conflict) are returned unwrapped.
func (s *Service) Run(ctx context.Context, ev Event) (Result, error) {
	res, err := s.run(ctx, ev)
	return res, surface(err)
}

func (s *Service) run(ctx context.Context, ev Event) (Result, error) {
	req, err := s.cfg.specOptions().Parse(ev.Request)
	if err != nil {
		return Result{Stage: ev.Stage, Side: ev.Side}, &InvalidSpec{Message: "invalid pair request:\n" + err.Error()}
	}
	if problems := s.cfg.scopeProblems(req); len(problems) > 0 {
		return Result{Stage: ev.Stage, Side: ev.Side}, &InvalidSpec{Message: "the request is outside this deployment's scope:\n" + strings.Join(problems, "\n")}
	}
	st := &stage{svc: s, req: req, plan: ev.Plan, destroy: ev.Destroy, batch: ev.Batch, res: Result{Stage: ev.Stage, Side: ev.Side, Changes: []Change{}, Outputs: map[string]string{}}}
	if ev.Side != "" && ev.Side != SideSource && ev.Side != SideDestination {
		return st.res, &InvalidSpec{Message: fmt.Sprintf("event.side %q: must be %q or %q", ev.Side, SideSource, SideDestination)}
	}
	if ev.Stage != names.StageValidate && (len(req.Destinations) > 0 || req.TwoWay) {
		// Every stage but validate works on one leg: a whole fan-out or two-way request
		// has no single destination to act on.
		return st.res, &InvalidSpec{Message: fmt.Sprintf("event.request: stage %s takes one leg (a single-destination pair), not a request with destinations or twoWay (fix: run the validate stage and pass each of its legs)", ev.Stage)}
	}
	run, ok := stageRunners[ev.Stage]
	if !ok {
		names := make([]string, 0, len(Stages)+len(DestroyStages))
		for _, x := range append(Stages[:len(Stages):len(Stages)], DestroyStages...) {
			names = append(names, x.Name)
		}
		return st.res, &InvalidSpec{Message: fmt.Sprintf("event.stage %q: unknown stage (known: %s)", ev.Stage, strings.Join(names, ", "))}
	}
	if err := run(st, ctx); err != nil {
		return st.res, fmt.Errorf("stage %s: %w", stageLabel(ev.Stage, ev.Side), err)
	}
	return st.res, nil
}

func stageLabel(name, side string) string {
	if side == "" {
		return name
	}
	return name + "(" + side + ")"
}

// Plan runs every stage read-only, in order, and returns their results: the changes a
// real run would make. It makes no mutating call.
func (s *Service) Plan(ctx context.Context, request []byte) ([]Result, error) {
	return s.runAll(ctx, request, true)
}

// Apply runs every stage in order, as the state machine does but without its parallelism
// and with only its retries of DocumentBusy and DocumentChanged. The CLI and tests use it; production runs go through Step Functions.
func (s *Service) Apply(ctx context.Context, request []byte) ([]Result, error) {
	return s.runAll(ctx, request, false)
}

func (s *Service) runAll(ctx context.Context, request []byte, plan bool) ([]Result, error) {
	res, err := s.Run(ctx, Event{Stage: names.StageValidate, Request: request, Plan: plan})
	out := []Result{res}
	if err != nil {
		return out, err
	}
	// The other stages run once per leg, in order, as the state machine's Map does with
	// MaxConcurrency 1: the legs from one source bucket write the same role policy and
	// replication configuration.
	for _, leg := range res.Legs {
		b, err := json.Marshal(leg)
		if err != nil {
			return out, fmt.Errorf("encode leg %s: %w", leg.PairID, err)
		}
		legOut, err := s.runLeg(ctx, b, plan)
		out = append(out, legOut...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// runLeg runs every stage after validate for one leg.
func (s *Service) runLeg(ctx context.Context, request []byte, plan bool) ([]Result, error) {
	var out []Result
	var batch *BatchInput // the job batchStart created, for the stages after it
	for _, stg := range Stages[1:] {
		for _, side := range stg.Sides {
			if batch == nil && (stg.Name == names.StageBatchStatus || stg.Name == names.StageBatchReport) {
				continue // no job was created (skipped, or planned)
			}
			res, err := s.retryBusy(ctx, Event{Stage: stg.Name, Side: side, Request: request, Plan: plan, Batch: batch})
			if stg.Name == names.StageBatchStatus {
				res, err = s.pollJob(ctx, res, err, Event{Stage: stg.Name, Side: side, Request: request, Plan: plan, Batch: batch})
			}
			out = append(out, res)
			if err != nil {
				return out, err
			}
			if id := res.Outputs["jobId"]; stg.Name == names.StageBatchStart && id != "" {
				batch = &BatchInput{JobID: id}
			}
		}
	}
	return out, nil
}

// Redrive runs the redrive state machine's stages in order for the given replication
// statuses (FAILED when none), following the job to its end as the state machine does.
// Tests use it; production re-drives go through Step Functions.
func (s *Service) Redrive(ctx context.Context, request []byte, statuses []string) ([]Result, error) {
	batch := &BatchInput{Statuses: statuses}
	var out []Result
	for _, name := range RedriveStages {
		ev := Event{Stage: name, Side: SideSource, Request: request, Batch: batch}
		res, err := s.Run(ctx, ev)
		if name == names.StageBatchStatus {
			res, err = s.pollJob(ctx, res, err, ev)
		}
		out = append(out, res)
		if err != nil {
			return out, err
		}
		if id := res.Outputs["jobId"]; id != "" {
			batch.JobID = id
		}
	}
	return out, nil
}

// pollJob re-runs batchStatus until the job has ended, as the state machine's Wait loop
// does, waiting Config.BatchPollInterval between reads.
func (s *Service) pollJob(ctx context.Context, res Result, err error, ev Event) (Result, error) {
	for err == nil && res.Outputs["done"] != "true" {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(s.cfg.BatchPollInterval):
		}
		res, err = s.Run(ctx, ev)
	}
	return res, err
}
