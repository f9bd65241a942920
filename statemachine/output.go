package statemachine

import "encoding/json"

// Change is one thing a provision stage created or changed, as the provision
// Lambda reports it.
type Change struct {
	Account  string `json:"account"`
	Region   string `json:"region"`
	Resource string `json:"resource"`
	Action   string `json:"action"`
	Detail   string `json:"detail,omitempty"`
}

// StageResult is a provision Lambda result as the state machine keeps it.
type StageResult struct {
	Stage    string            `json:"stage"`
	Side     string            `json:"side"`
	Changes  []Change          `json:"changes"`
	Outputs  map[string]string `json:"outputs"`
	Warnings []string          `json:"warnings"`
}

// Stage is one stage's entry in the execution output. The state machine keeps
// the Lambda's payload whole under "result" (picking its fields one by one would
// make a field the Lambda omits a States.Runtime failure).
type Stage struct {
	Result StageResult `json:"result"`
}

// SidePair holds one stage's result for each side of the pair.
type SidePair struct {
	Source      Stage `json:"source"`
	Destination Stage `json:"destination"`
}

// SideResources holds one side's bucket and key stage results.
type SideResources struct {
	Bucket Stage `json:"bucket"`
	Key    Stage `json:"key"`
}

// Policies holds the three policy stages that run in parallel.
type Policies struct {
	SourceKeyPolicy         Stage `json:"sourceKeyPolicy"`
	DestinationKeyPolicy    Stage `json:"destinationKeyPolicy"`
	DestinationBucketPolicy Stage `json:"destinationBucketPolicy"`
}

// Stages is every stage's result, in the shape the provision state machine
// collects them (see provision.asl.json's ResultPath fields).
type Stages struct {
	Validate  Stage `json:"validate"`
	Preflight Stage `json:"preflight"`
	Resources struct {
		Source      SideResources `json:"source"`
		Destination SideResources `json:"destination"`
	} `json:"resources"`
	Role             Stage    `json:"role"`
	Policies         Policies `json:"policies"`
	Encryption       SidePair `json:"encryption"`
	Replication      Stage    `json:"replication"`
	Events           Stage    `json:"events"`
	CheckReplication Stage    `json:"checkReplication"`
	// The Batch Replication stages, present only with rule.replicateExisting.
	BatchRole   Stage `json:"batchRole"`
	BatchStart  Stage `json:"batchStart"`
	BatchStatus Stage `json:"batchStatus"`
	BatchReport Stage `json:"batchReport"`
}

// InOrder returns the stage results in the order the stages run, parallel
// stages source before destination.
func (s Stages) InOrder() []StageResult {
	all := []Stage{
		s.Validate, s.Preflight,
		s.Resources.Source.Bucket, s.Resources.Source.Key,
		s.Resources.Destination.Bucket, s.Resources.Destination.Key,
		s.Role,
		s.Policies.SourceKeyPolicy, s.Policies.DestinationKeyPolicy, s.Policies.DestinationBucketPolicy,
		s.Encryption.Source, s.Encryption.Destination,
		s.Replication, s.Events, s.CheckReplication,
	}
	for _, st := range []Stage{s.BatchRole, s.BatchStart, s.BatchStatus, s.BatchReport} {
		if st.Result.Stage != "" { // run only with rule.replicateExisting
			all = append(all, st)
		}
	}
	out := make([]StageResult, len(all))
	for i, st := range all {
		out[i] = st.Result
	}
	return out
}

// ARNs are the ARNs of the pair's resources, as the execution output lists them.
type ARNs struct {
	SourceBucket      string `json:"sourceBucket"`
	DestinationBucket string `json:"destinationBucket"`
	SourceKey         string `json:"sourceKey"`
	DestinationKey    string `json:"destinationKey"`
	ReplicationRole   string `json:"replicationRole"`
}

// VerifyResult is one pair's verification as the verify Lambda's record stage returns
// it (internal/verifyjob.Result, whose JSON a test holds equal to this shape; mirrored
// here so that this package stays free of the SDK).
type VerifyResult struct {
	PairID     string `json:"pairId"`
	Status     string `json:"status"`
	VerifiedAt string `json:"verifiedAt,omitempty"`
	// LatencySeconds is the canary's replication latency; 0 when it did not replicate.
	LatencySeconds float64         `json:"latencySeconds,omitempty"`
	FindingCount   int             `json:"findingCount"`
	Findings       []VerifyFinding `json:"findings"`
	// Alerted reports whether the verification alert (the monitor's format) went out.
	Alerted bool   `json:"alerted"`
	Summary string `json:"summary"`
	// RecordError is set when the record stage itself failed.
	RecordError *TaskError `json:"recordError,omitempty"`
}

// VerifyFinding is one finding of a verification, with its fix.
type VerifyFinding struct {
	Check     string `json:"check"`
	Kind      string `json:"kind"`
	Severity  string `json:"severity"`
	Code      string `json:"code,omitempty"`
	Account   string `json:"account"`
	Document  string `json:"document"`
	Statement string `json:"statement,omitempty"`
	Message   string `json:"message"`
	Fix       string `json:"fix"`
}

// TaskError is an error Step Functions caught, as a Catch with ResultPath hands it on.
type TaskError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// Output is the output of a successful provision execution.
type Output struct {
	PairID       string `json:"pairId"`
	ExecutionARN string `json:"executionArn"`
	ARNs         ARNs   `json:"arns"`
	RuleID       string `json:"ruleId"`
	// Verification is the last checkReplication result (outputs.ready == "true").
	Verification StageResult `json:"verification"`
	Stages       Stages      `json:"stages"`
	// Verify is the new pair's verification, the same per-pair run as the nightly
	// verify state machine's: a provision execution succeeds only when it passed.
	Verify *VerifyResult `json:"verify,omitempty"`
	// Request is the request with defaults applied, as validate returned it.
	Request json.RawMessage `json:"request"`
	// NotificationError is set when the success notice could not be published;
	// the pair is provisioned and registered regardless.
	NotificationError *TaskError `json:"notificationError,omitempty"`
	// Legs holds each pair's own output, in order, when the request had several
	// (destinations, or twoWay); the fields above are then empty but PairID and
	// ExecutionARN. A plain request's output is its one pair's, without Legs.
	Legs []Output `json:"legs,omitempty"`
}

// Changes returns every change of every stage, in stage order (of every leg, in
// order). An execution that found everything in place returns none.
func (o Output) Changes() []Change {
	var out []Change
	for _, l := range o.Legs {
		out = append(out, l.Changes()...)
	}
	for _, s := range o.Stages.InOrder() {
		out = append(out, s.Changes...)
	}
	return out
}

// Failure is the body of the SNS alert a failed provision execution publishes
// (the Message is this object as JSON); the Fail state's Error is
// FailError and its Cause FailCause.
type Failure struct {
	// Stage is the failed stage, or the stages of a failed parallel group
	// joined by "/" (e.g. "keyPolicy/bucketPolicy").
	Stage string `json:"stage"`
	// Error is the error name, e.g. "AccessDenied" or "States.Timeout".
	Error string `json:"error"`
	// Cause is Step Functions' cause: for a Lambda error, its JSON error payload.
	Cause         string `json:"cause"`
	ExecutionARN  string `json:"executionArn"`
	ExecutionName string `json:"executionName"`
	FailError     string `json:"failError"`
	FailCause     string `json:"failCause"`
}
