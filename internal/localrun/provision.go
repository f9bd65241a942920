package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/spec"
	"github.com/s3crr/s3crr/statemachine"
)

// Statuses of a Progress line.
const (
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusRetrying  = "RETRYING"
	StatusWaiting   = "WAITING"
)

// Progress is one state transition of an execution, for a live display: a
// stage ended (SUCCEEDED or FAILED), is retried, or a Wait state began.
type Progress struct {
	// Run numbers the executions of one Demo (1, 2); 0 outside Demo.
	Run int
	// Elapsed is the time since the execution started.
	Elapsed time.Duration
	// State is the ASL state; Stage its label: the provision stage and side it
	// runs ("bucket source", "preflight"), or the state name for the others.
	State, Stage string
	Status       string
	// Error is a failed state's error; Attempt is the retry number of RETRYING.
	Error   string
	Attempt int
}

// Run is one provision execution.
type Run struct {
	// Name is the execution name.
	Name string
	// Execution is the runner's account of it: status, error and cause, events.
	Execution *localhub.Execution
	// Output is the execution output when it succeeded.
	Output statemachine.Output
	// MemberWrites counts the mutating calls (creates, puts, updates, deletes)
	// made in member accounts while it ran, except the canary's; Calls are every call
	// counted then.
	MemberWrites int
	// CanaryWrites are the new pair's verification writes: the canary object and the
	// deletion of its two versions. A probe, not a change, so a converged re-run makes
	// exactly these and nothing else.
	CanaryWrites int
	Calls        []localaws.CallCount
}

// canaryOperations are the only object writes s3crr makes: the verifier's canary (the
// provisioner writes no object).
var canaryOperations = map[string]bool{"PutObject": true, "DeleteObjectVersion": true, "DeleteObject": true}

// Succeeded reports whether the execution succeeded.
func (r *Run) Succeeded() bool { return r.Execution.Status == localhub.StatusSucceeded }

// Provision runs one execution of the provision state machine with request as
// its input, calling onProgress (if not nil) for each state transition as it
// happens. name defaults to the request's execution name (spec.ExecutionName).
// A FAILED execution is a Run, not an error.
//
// It starts and follows the execution through the hub's Step Functions API, as
// `crr apply` does (StartExecution, DescribeExecution), so the demo exercises
// the same wiring as every client of `crr local up`; Step Functions' rules
// apply, so a name that has already run cannot start again.
//
// Executions must not overlap: the member-write count is the simulator's
// counters, reset at the start.
func (e *Env) Provision(ctx context.Context, request []byte, name string, onProgress func(Progress)) (*Run, error) {
	if name == "" {
		name = "local-" + strconv.FormatInt(time.Now().UnixMilli(), 10)
		if r, err := spec.Parse(request); err == nil {
			name = r.ExecutionName()
		}
	}
	run, err := e.execute(ctx, e.StateMachineARN, e.labels, "provision", name, request, onProgress)
	if err != nil {
		return nil, err
	}
	if run.Succeeded() {
		if err := json.Unmarshal(run.Execution.Output, &run.Output); err != nil {
			return run, fmt.Errorf("decode output of execution %s: %w", name, err)
		}
	}
	return run, nil
}

// execute starts an execution of a registered state machine through the hub's Step
// Functions API and follows it to the end, reporting progress per state and counting the
// member-account writes (the simulator's counters, reset at the start). kind names the
// state machine in errors.
func (e *Env) execute(ctx context.Context, stateMachineARN string, labels map[string]string, kind, name string, input []byte, onProgress func(Progress)) (*Run, error) {
	e.Sim.ResetCalls()
	tracker := &progressTracker{labels: labels, emit: onProgress}
	exec := &localhub.Execution{ARN: executionARN(stateMachineARN, name)}
	var mu sync.Mutex
	unwatch := e.watch(exec.ARN, func(ev localhub.Event) {
		mu.Lock()
		defer mu.Unlock()
		exec.Events = append(exec.Events, ev)
		tracker.observe(ev)
	})
	defer unwatch()
	if _, err := e.sfn.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(stateMachineARN), Name: aws.String(name), Input: aws.String(string(input)),
	}); err != nil {
		return nil, fmt.Errorf("start %s execution %s: %w", kind, name, err)
	}
	d, err := e.waitEnd(ctx, exec.ARN)
	if err != nil {
		return nil, fmt.Errorf("run %s execution %s: %w", kind, name, err)
	}
	unwatch()
	mu.Lock()
	defer mu.Unlock()
	exec.Status = string(d.Status)
	exec.Output = json.RawMessage(aws.ToString(d.Output))
	exec.Error, exec.Cause = aws.ToString(d.Error), aws.ToString(d.Cause)
	exec.Elapsed = aws.ToTime(d.StopDate).Sub(aws.ToTime(d.StartDate))
	run := &Run{Name: name, Execution: exec, Calls: e.Sim.Calls()}
	run.MemberWrites, run.CanaryWrites = memberWrites(run.Calls)
	return run, nil
}

// memberWrites splits the member accounts' mutating calls into configuration writes and
// the canary's object writes: a converged re-run makes no configuration write, but its
// closing verification always writes and deletes a canary.
func memberWrites(calls []localaws.CallCount) (config, canary int) {
	for _, c := range calls {
		switch {
		case !c.Mutating || c.Account == localaws.HubAccount:
		case c.Service == "s3" && canaryOperations[c.Operation]:
			canary += c.Count
		default:
			config += c.Count
		}
	}
	return config, canary
}

// waitEnd reads the execution until it has ended. The API runs on this
// process, so a short interval costs nothing and keeps the demo's timings true.
func (e *Env) waitEnd(ctx context.Context, arn string) (*sfn.DescribeExecutionOutput, error) {
	for {
		d, err := e.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			return nil, err
		}
		if d.Status != sfntypes.ExecutionStatusRunning && d.Status != sfntypes.ExecutionStatusPendingRedrive {
			return d, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// progressTracker turns the runner's events into Progress lines, as Step
// Functions' execution history shows them: an attempt that fails is FAILED at
// once, and RETRYING follows when a Retry matched (the runner reports the retry
// when it starts, after the pause).
type progressTracker struct {
	labels map[string]string
	emit   func(Progress)
}

func (t *progressTracker) observe(ev localhub.Event) {
	label, ok := t.labels[ev.State]
	if !ok || t.emit == nil {
		return // Pass, Choice, Parallel, Succeed and Fail states: not stages
	}
	p := Progress{Elapsed: time.Duration(ev.ElapsedMs) * time.Millisecond, State: ev.State, Stage: label}
	switch {
	case ev.Type == "StateEntered" && ev.StateType == "Wait":
		p.Status = StatusWaiting
	case ev.Type == "StateExited" && ev.StateType != "Wait":
		p.Status = StatusSucceeded
	case ev.Type == "StateFailed":
		p.Status, p.Error = StatusFailed, ev.Error
	case ev.Type == "StateRetried":
		p.Status, p.Attempt = StatusRetrying, ev.Attempt
	default:
		return
	}
	t.emit(p)
}

// stageLabels names the states a progress display shows: each Task by the
// provision stage and side it invokes ("bucket source"), or by its state name
// for the SNS and DynamoDB tasks, and each Wait state by its name.
func stageLabels(definition []byte) (map[string]string, error) {
	type state struct {
		Type       string `json:"Type"`
		Parameters struct {
			Payload struct {
				Stage string `json:"stage"`
				Side  string `json:"side"`
			} `json:"Payload"`
		} `json:"Parameters"`
		Branches []struct {
			States map[string]json.RawMessage `json:"States"`
		} `json:"Branches"`
		ItemProcessor *struct {
			States map[string]json.RawMessage `json:"States"`
		} `json:"ItemProcessor"`
	}
	labels := map[string]string{}
	var walk func(states map[string]json.RawMessage) error
	walk = func(states map[string]json.RawMessage) error {
		for name, raw := range states {
			var s state
			if err := json.Unmarshal(raw, &s); err != nil {
				return fmt.Errorf("read state %s: %w", name, err)
			}
			switch s.Type {
			case "Task":
				pl := s.Parameters.Payload
				switch {
				case pl.Stage != "" && pl.Side != "":
					labels[name] = pl.Stage + " " + pl.Side
				case pl.Stage != "":
					labels[name] = pl.Stage
				default:
					labels[name] = lowerFirst(name)
				}
			case "Wait":
				labels[name] = lowerFirst(name)
			case "Parallel", "Map":
				for _, b := range s.Branches {
					if err := walk(b.States); err != nil {
						return err
					}
				}
				if s.ItemProcessor != nil {
					if err := walk(s.ItemProcessor.States); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	var def struct {
		States map[string]json.RawMessage `json:"States"`
	}
	if err := json.Unmarshal(definition, &def); err != nil {
		return nil, fmt.Errorf("read state machine: %w", err)
	}
	if err := walk(def.States); err != nil {
		return nil, err
	}
	return labels, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
