package localhub

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/s3crr/s3crr/internal/names"
)

// Paths of the ASL runner, relative to the module root. Node 22 comes from the
// npm package "node" (aws-local-stepfunctions needs it; the machine's may be older).
const (
	runnerScript = "localhub/sfn-runner/run.mjs"
	nodeBinary   = "node_modules/node/bin/node"
	runnerDep    = "node_modules/aws-local-stepfunctions/package.json"
)

// CheckRunner reports whether the ASL runner can run under moduleRoot: its
// script, Node 22 and aws-local-stepfunctions must be there (`npm ci` installs
// the last two).
func CheckRunner(moduleRoot string) error {
	for _, p := range []string{runnerScript, nodeBinary, runnerDep} {
		if _, err := os.Stat(filepath.Join(moduleRoot, p)); err != nil {
			return fmt.Errorf("ASL runner not installed (%s missing): run `npm ci` in %s", p, moduleRoot)
		}
	}
	return nil
}

// Execution statuses, as Step Functions names them.
const (
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	// StatusTimedOut ends an execution that outlived the definition's TimeoutSeconds.
	StatusTimedOut = "TIMED_OUT"
)

// Event is one line of the runner's progress: a state entered, exited, failed,
// retried or caught, or a Parallel branch started or ended.
type Event struct {
	// Type is aws-local-stepfunctions' event type: StateEntered, StateExited,
	// StateFailed, StateRetried, StateCaught, ParallelBranchStarted, ... and
	// ExecutionStarted.
	Type      string `json:"type"`
	State     string `json:"state,omitempty"`
	StateType string `json:"stateType,omitempty"`
	// Parent is the Parallel or Map state of a branch event.
	Parent    string `json:"parent,omitempty"`
	ElapsedMs int64  `json:"elapsedMs"`
	// DurationMs is set on StateExited: time since the state was entered,
	// retries included.
	DurationMs int64 `json:"durationMs,omitempty"`
	// Error and Cause are set on StateFailed and ParallelBranchFailed.
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
	// Attempt is the retry number on StateRetried (1 for the first retry).
	Attempt     int      `json:"attempt,omitempty"`
	ErrorEquals []string `json:"errorEquals,omitempty"`
	// Next is where a StateCaught event's Catch goes.
	Next   string          `json:"next,omitempty"`
	Input  json.RawMessage `json:"input,omitempty"`
	Output json.RawMessage `json:"output,omitempty"`
}

// Execution is the outcome of one run.
type Execution struct {
	ARN    string
	Status string
	// Output is the execution output when it succeeded.
	Output json.RawMessage
	// Error and Cause are the execution's when it failed.
	Error, Cause string
	Elapsed      time.Duration
	// Events is every progress event, in order.
	Events []Event
}

// Retries counts the StateRetried events of a state.
func (e *Execution) Retries(state string) int {
	n := 0
	for _, ev := range e.Events {
		if ev.Type == "StateRetried" && ev.State == state {
			n++
		}
	}
	return n
}

// RunInput says what to run.
type RunInput struct {
	// Definition is the ASL, placeholders substituted (statemachine.Load).
	Definition []byte
	// Input is the execution input (JSON); default {}.
	Input []byte
	// Name is the execution name; $$.Execution.Name and the end of $$.Execution.Id.
	Name string
	// StateMachineName makes $$.StateMachine.Id; default names.ProvisionStateMachineName.
	StateMachineName string
	// WaitOverrides replace the duration of the named Wait states.
	WaitOverrides map[string]time.Duration
	// RetryOverrides replace the pause before every retry of the named states
	// (the retries themselves, their count and matching stay as defined).
	RetryOverrides map[string]time.Duration
	// Verbose adds each state's input and output to the events.
	Verbose bool
	// StartAt, when set, runs from this top-level state instead of the
	// definition's StartAt, with Input as that state's input: how a redrive
	// resumes from the state that failed.
	StartAt string
	// ExecutionInput and StartTime, when set, are $$.Execution.Input and
	// $$.Execution.StartTime (a redrive keeps the original execution's).
	ExecutionInput []byte
	StartTime      time.Time
	// RedriveCount is $$.Execution.RedriveCount.
	RedriveCount int
}

// Run runs a state machine on the ASL runner against the hub's services and
// returns once it ends, calling onEvent (if not nil) for each progress event as
// it happens. A failed execution is not an error: see Execution.Status.
func (h *Hub) Run(ctx context.Context, in RunInput, onEvent func(Event)) (*Execution, error) {
	if err := CheckRunner(h.ModuleRoot); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "s3crr-sfn-")
	if err != nil {
		return nil, fmt.Errorf("run state machine: %w", err)
	}
	defer os.RemoveAll(dir)
	input := in.Input
	if len(input) == 0 {
		input = []byte("{}")
	}
	defPath, inPath := filepath.Join(dir, "definition.json"), filepath.Join(dir, "input.json")
	if err := os.WriteFile(defPath, in.Definition, 0o600); err != nil {
		return nil, fmt.Errorf("run state machine: %w", err)
	}
	if err := os.WriteFile(inPath, input, 0o600); err != nil {
		return nil, fmt.Errorf("run state machine: %w", err)
	}
	smName := in.StateMachineName
	if smName == "" {
		smName = names.ProvisionStateMachineName
	}
	name := in.Name
	if name == "" {
		name = "local-" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	}
	args := []string{
		filepath.Join(h.ModuleRoot, runnerScript),
		"--definition", defPath, "--input", inPath, "--name", name,
		"--state-machine-arn", "arn:aws:states:" + h.Region + ":" + h.Account + ":stateMachine:" + smName,
	}
	args = append(args, overrideArgs("--wait", in.WaitOverrides)...)
	args = append(args, overrideArgs("--retry", in.RetryOverrides)...)
	if in.Verbose {
		args = append(args, "--verbose")
	}
	if in.StartAt != "" {
		args = append(args, "--start-at", in.StartAt)
	}
	if len(in.ExecutionInput) > 0 {
		p := filepath.Join(dir, "execution-input.json")
		if err := os.WriteFile(p, in.ExecutionInput, 0o600); err != nil {
			return nil, fmt.Errorf("run state machine: %w", err)
		}
		args = append(args, "--execution-input", p)
	}
	if !in.StartTime.IsZero() {
		args = append(args, "--start-time", in.StartTime.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	if in.RedriveCount > 0 {
		args = append(args, "--redrive-count", strconv.Itoa(in.RedriveCount))
	}
	cmd := exec.CommandContext(ctx, filepath.Join(h.ModuleRoot, nodeBinary), args...)
	cmd.Dir = h.ModuleRoot
	// Only what the runner needs: never the caller's AWS profile or endpoints.
	cmd.Env = []string{
		"AWS_REGION=" + h.Region,
		"AWS_ACCESS_KEY_ID=" + accessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + secretAccessKey,
		"AWS_ENDPOINT_URL_LAMBDA=" + h.Endpoint,
		"AWS_ENDPOINT_URL_SNS=" + h.Endpoint,
		"AWS_ENDPOINT_URL_DYNAMODB=" + h.Endpoint,
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
		"HOME=" + dir,
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("run state machine: %w", err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start ASL runner: %w", err)
	}
	run := &Execution{}
	var result *runnerResult
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64*1024), 64*1024*1024) // verbose events carry whole state documents
	for sc.Scan() {
		line := sc.Bytes()
		var probe struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(line, &probe); err != nil {
			continue // not ours (a library writing to stdout)
		}
		if probe.Type == "ExecutionResult" {
			result = &runnerResult{}
			if err := json.Unmarshal(line, result); err != nil {
				return nil, fmt.Errorf("decode runner result: %w", err)
			}
			continue
		}
		var ev Event
		if err := json.Unmarshal(line, &ev); err != nil {
			return nil, fmt.Errorf("decode runner event: %w", err)
		}
		run.Events = append(run.Events, ev)
		if onEvent != nil {
			onEvent(ev)
		}
	}
	scanErr := sc.Err()
	waitErr := cmd.Wait()
	run.Elapsed = time.Since(start)
	if result == nil && scanErr != nil {
		return nil, fmt.Errorf("read the ASL runner's output: %w", scanErr)
	}
	if result == nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("run state machine: %w", ctx.Err())
		}
		return nil, fmt.Errorf("ASL runner ended without a result (%v): %s", waitErr, bytes.TrimSpace(stderr.Bytes()))
	}
	run.ARN, run.Status = result.ExecutionARN, result.Status
	run.Output, run.Error, run.Cause = result.Output, result.Error, result.Cause
	return run, nil
}

type runnerResult struct {
	Status       string          `json:"status"`
	Output       json.RawMessage `json:"output"`
	Error        string          `json:"error"`
	Cause        string          `json:"cause"`
	ExecutionARN string          `json:"executionArn"`
}

func overrideArgs(flag string, m map[string]time.Duration) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		out = append(out, flag, n+":"+strconv.FormatInt(m[n].Milliseconds(), 10))
	}
	return out
}
