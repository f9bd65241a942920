// Package sfnapi serves the AWS Step Functions API (the JSON 1.0 protocol the
// SDKs and the AWS CLI speak: POST /, X-Amz-Target: AWSStepFunctions.<Op>) for
// the local hub, and runs executions on the faithful ASL runner
// (localhub.Hub.Run) rather than on kumo's engine, which does not honour named
// errors, Retry/Catch or intrinsics (see localhub/README.md). Any client pointed
// at it with AWS_ENDPOINT_URL_SFN (or --endpoint-url) sees executions, their
// history, stops and redrives with the statuses, fields and errors Step
// Functions documents.
//
// The rules it follows, from the Step Functions API reference
// (https://docs.aws.amazon.com/step-functions/latest/apireference/):
//   - StartExecution (API_StartExecution.html): for a STANDARD workflow, the same
//     name and input as a running execution succeeds with the original response;
//     a closed execution, or a different input, is 400 ExecutionAlreadyExists.
//   - RedriveExecution (API_RedriveExecution.html): an execution that did not
//     succeed (FAILED, ABORTED, TIMED_OUT) may be redriven within 14 days of its
//     end, up to 1000 times; it resumes from the unsuccessful state with that
//     state's input, keeps its ARN, and its history records ExecutionRedriven;
//     otherwise ExecutionNotRedrivable.
//
// Departures, by design of a local stand-in: executions live in memory for the
// life of the process; only STANDARD state machines; a redrive resumes at the
// last top-level state entered (a failure inside a Parallel or Map reruns the
// whole state, where Step Functions reruns only the failed branches).
package sfnapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/s3crr/s3crr/internal/localhub"
)

// Runner runs one execution to its end, calling onEvent for each progress event
// as it happens; cancelling ctx ends the run. *localhub.Hub is one.
type Runner interface {
	Run(ctx context.Context, in localhub.RunInput, onEvent func(localhub.Event)) (*localhub.Execution, error)
}

var _ Runner = (*localhub.Hub)(nil)

// Config configures a Server.
type Config struct {
	// Runner runs the executions (the hub).
	Runner Runner
	// Region and Account make the ARNs: arn:aws:states:<Region>:<Account>:...
	Region, Account string
	// WaitOverrides and RetryOverrides are passed to every run (see
	// localhub.RunInput): a local stack may shorten the provision machine's
	// waits without a different definition.
	WaitOverrides, RetryOverrides map[string]time.Duration
	// Observe, when set, sees each runner event of every execution as it
	// happens, after the history recorded it, without the server's lock held:
	// the local demo draws its live progress from it while it drives the
	// executions through this API like any client.
	Observe func(executionARN string, ev localhub.Event)
}

// Server is the Step Functions API of the local hub; it is an http.Handler.
type Server struct {
	cfg Config

	mu         sync.Mutex
	machines   map[string]*stateMachine // by ARN
	machineSeq []string                 // ARNs in creation order
	executions map[string]*execution    // by ARN
	started    []*execution             // in start order
}

// New returns a Server with no state machines.
func New(cfg Config) *Server {
	return &Server{cfg: cfg, machines: map[string]*stateMachine{}, executions: map[string]*execution{}}
}

type stateMachine struct {
	arn, name, definition, roleARN string
	created                        time.Time
}

// Register creates the state machine name from a definition whose placeholders
// are already substituted (statemachine.Load, as the CDK does), or returns the
// existing one if it has the same definition and role, as CreateStateMachine
// does. It returns the state machine's ARN.
func (s *Server) Register(name, definition, roleARN string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sm, err := s.register(name, definition, roleARN)
	if err != nil {
		return "", err
	}
	return sm.arn, nil
}

func (s *Server) register(name, definition, roleARN string) (*stateMachine, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	var def struct {
		StartAt string                     `json:"StartAt"`
		States  map[string]json.RawMessage `json:"States"`
	}
	if err := json.Unmarshal([]byte(definition), &def); err != nil || def.StartAt == "" || def.States[def.StartAt] == nil {
		return nil, apiErr(400, "InvalidDefinition", "Invalid State Machine Definition: the definition must be JSON with StartAt naming one of its States")
	}
	arn := fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", s.cfg.Region, s.cfg.Account, name)
	if sm, ok := s.machines[arn]; ok {
		if sm.definition != definition || sm.roleARN != roleARN {
			return nil, apiErr(400, "StateMachineAlreadyExists", "State Machine Already Exists: '"+arn+"'")
		}
		return sm, nil
	}
	sm := &stateMachine{arn: arn, name: name, definition: definition, roleARN: roleARN, created: time.Now()}
	s.machines[arn] = sm
	s.machineSeq = append(s.machineSeq, arn)
	return sm, nil
}

// Close stops every running execution and waits for their runner processes to end.
func (s *Server) Close() {
	s.mu.Lock()
	var running []*execution
	for _, e := range s.started {
		if e.status == statusRunning {
			running = append(running, e)
		}
	}
	s.mu.Unlock()
	for _, e := range running {
		s.stop(e, "", "the local hub shut down")
	}
}

// apiError is an error in the AWS JSON 1.0 shape: {"__type": ..., "message": ...}.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func apiErr(status int, code, msg string) *apiError {
	return &apiError{status: status, code: code, msg: msg}
}

// ServeHTTP serves one Step Functions API call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "AWSStepFunctions.")
	if r.Method != http.MethodPost || !ok {
		writeErr(w, apiErr(400, "UnknownOperationException", "not a Step Functions call: want POST with X-Amz-Target: AWSStepFunctions.<Operation>"))
		return
	}
	h, ok := operations[op]
	if !ok {
		writeErr(w, apiErr(400, "UnknownOperationException", "the local hub does not implement "+op))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeErr(w, apiErr(400, "SerializationException", "read request: "+err.Error()))
		return
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	out, err := h(s, body)
	if err != nil {
		writeErr(w, err)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeErr(w, apiErr(500, "InternalFailure", "encode response: "+err.Error()))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_, _ = w.Write(b)
}

func writeErr(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = apiErr(500, "InternalFailure", err.Error())
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Errortype", ae.code)
	w.WriteHeader(ae.status)
	b, _ := json.Marshal(map[string]string{"__type": ae.code, "message": ae.msg})
	_, _ = w.Write(b)
}

// decode unmarshals a request body. Members it does not know are ignored, so
// a newer SDK or AWS CLI sending a newer member still works.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return apiErr(400, "SerializationException", "decode request: "+err.Error())
	}
	return nil
}

// epoch is a timestamp as the JSON 1.0 protocol sends it: seconds since the
// epoch, with a fraction.
type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%.3f", float64(time.Time(t).UnixMilli())/1000)), nil
}

func epochPtr(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

// validName checks a state machine or execution name as Step Functions does:
// 1 to 80 characters, none of whitespace, brackets, wildcards, the listed
// punctuation or control characters (API_StartExecution.html, "name").
func validName(name string) error {
	if name == "" || len([]rune(name)) > 80 {
		return apiErr(400, "InvalidName", fmt.Sprintf("Invalid Name: '%s' (1 to 80 characters)", name))
	}
	for _, c := range name {
		if c <= 0x20 || (c >= 0x7f && c <= 0x9f) || strings.ContainsRune("<>{}[]?*\"#%\\^|~`$&,;:/", c) {
			return apiErr(400, "InvalidName", fmt.Sprintf("Invalid Name: '%s' (character %q is not allowed)", name, c))
		}
	}
	return nil
}
