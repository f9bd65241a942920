package sfnapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// operations maps each implemented X-Amz-Target operation to its handler.
var operations = map[string]func(*Server, []byte) (any, error){
	"CreateStateMachine":   (*Server).createStateMachine,
	"DescribeStateMachine": (*Server).describeStateMachine,
	"ListStateMachines":    (*Server).listStateMachines,
	"StartExecution":       (*Server).startExecution,
	"DescribeExecution":    (*Server).describeExecution,
	"ListExecutions":       (*Server).listExecutions,
	"GetExecutionHistory":  (*Server).getExecutionHistory,
	"StopExecution":        (*Server).stopExecution,
	"RedriveExecution":     (*Server).redriveExecution,
}

func (s *Server) createStateMachine(body []byte) (any, error) {
	var in struct {
		Name, Definition, RoleArn, Type string
		LoggingConfiguration            json.RawMessage
		TracingConfiguration            json.RawMessage
		Tags                            json.RawMessage
		Publish                         bool
		VersionDescription              string
		EncryptionConfiguration         json.RawMessage
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Type != "" && in.Type != "STANDARD" {
		return nil, apiErr(400, "ValidationException", "the local hub runs STANDARD state machines only, not "+in.Type)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sm, err := s.register(in.Name, in.Definition, in.RoleArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"stateMachineArn": sm.arn, "creationDate": epoch(sm.created)}, nil
}

// machine resolves a state machine ARN. The caller holds s.mu.
func (s *Server) machine(arn string) (*stateMachine, error) {
	return resolve(s.machines, arn, "stateMachine", "StateMachineDoesNotExist", "State Machine Does Not Exist")
}

// resolve finds arn in m after checking that it is an ARN of resource type kind: a
// malformed one is InvalidArn, an unknown one the code notFound, as Step Functions answers.
func resolve[T any](m map[string]*T, arn, kind, notFound, message string) (*T, error) {
	if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":"+kind+":") {
		return nil, apiErr(400, "InvalidArn", "Invalid Arn: '"+arn+"'")
	}
	v, ok := m[arn]
	if !ok {
		return nil, apiErr(400, notFound, message+": '"+arn+"'")
	}
	return v, nil
}

func (s *Server) describeStateMachine(body []byte) (any, error) {
	var in struct{ StateMachineArn, IncludedData string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sm, err := s.machine(in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"stateMachineArn": sm.arn, "name": sm.name, "status": "ACTIVE", "definition": sm.definition,
		"roleArn": sm.roleARN, "type": "STANDARD", "creationDate": epoch(sm.created),
		"loggingConfiguration": map[string]any{"level": "OFF", "includeExecutionData": false},
	}, nil
}

func (s *Server) listStateMachines(body []byte) (any, error) {
	var in struct {
		MaxResults int
		NextToken  string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	from, n, err := page(in.NextToken, in.MaxResults, len(s.machineSeq))
	if err != nil {
		return nil, err
	}
	items := []map[string]any{}
	for _, arn := range s.machineSeq[from : from+n] {
		sm := s.machines[arn]
		items = append(items, map[string]any{"stateMachineArn": sm.arn, "name": sm.name, "type": "STANDARD", "creationDate": epoch(sm.created)})
	}
	return withToken(map[string]any{"stateMachines": items}, from+n, len(s.machineSeq)), nil
}

func (s *Server) startExecution(body []byte) (any, error) {
	var in struct {
		StateMachineArn, Name, TraceHeader string
		Input                              *string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	input := "{}"
	if in.Input != nil {
		input = *in.Input
	}
	if !json.Valid([]byte(input)) {
		return nil, apiErr(400, "InvalidExecutionInput", "Invalid State Machine Execution Input: the input is not JSON")
	}
	e, err := s.start(in.StateMachineArn, in.Name, input)
	if err != nil {
		return nil, err
	}
	return map[string]any{"executionArn": e.arn, "startDate": epoch(e.start)}, nil
}

// execution resolves an execution ARN. The caller holds s.mu.
func (s *Server) execution(arn string) (*execution, error) {
	return resolve(s.executions, arn, "execution", "ExecutionDoesNotExist", "Execution Does Not Exist")
}

// executionInput is the member by which an operation's input names its execution.
type executionInput struct{ ExecutionArn string }

func (in *executionInput) executionARN() string { return in.ExecutionArn }

// lockedExecution decodes body into in, locks s.mu and resolves the execution in names:
// the opening of every operation on one execution. On success the caller holds s.mu and
// unlocks it; on failure nothing is held.
func (s *Server) lockedExecution(body []byte, in interface{ executionARN() string }) (*execution, error) {
	if err := decode(body, in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	e, err := s.execution(in.executionARN())
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	return e, nil
}

// executionSummary is what ListExecutions says of an execution; DescribeExecution says it
// too, and more.
func executionSummary(e *execution) map[string]any {
	out := map[string]any{
		"executionArn": e.arn, "stateMachineArn": e.machine.arn, "name": e.name, "status": e.status,
		"startDate": epoch(e.start), "redriveCount": e.redriveCount,
	}
	if d := epochPtr(e.stop); d != nil {
		out["stopDate"] = d
	}
	if d := epochPtr(e.redriveDate); d != nil {
		out["redriveDate"] = d
	}
	return out
}

func (s *Server) describeExecution(body []byte) (any, error) {
	var in struct {
		executionInput
		IncludedData string
	}
	e, err := s.lockedExecution(body, &in)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := executionSummary(e)
	out["input"], out["inputDetails"] = e.input, map[string]bool{"included": true}
	if e.status == statusSucceeded {
		out["output"] = e.output
		out["outputDetails"] = map[string]bool{"included": true}
	}
	if e.errName != "" {
		out["error"] = e.errName
	}
	if e.cause != "" {
		out["cause"] = e.cause
	}
	if reason := e.notRedrivable(time.Now()); reason != "" {
		out["redriveStatus"], out["redriveStatusReason"] = "NOT_REDRIVABLE", reason
	} else {
		out["redriveStatus"] = "REDRIVABLE"
	}
	return out, nil
}

func (s *Server) listExecutions(body []byte) (any, error) {
	var in struct {
		StateMachineArn, StatusFilter, NextToken, MapRunArn, RedriveFilter string
		MaxResults                                                         int
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.machine(in.StateMachineArn); err != nil {
		return nil, err
	}
	switch in.StatusFilter {
	case "", statusRunning, statusSucceeded, statusFailed, statusTimedOut, statusAborted, "PENDING_REDRIVE":
	default:
		return nil, apiErr(400, "ValidationException", "statusFilter must be one of RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE")
	}
	// Newest first, as Step Functions lists them.
	var match []*execution
	for i := len(s.started) - 1; i >= 0; i-- {
		e := s.started[i]
		if e.machine.arn == in.StateMachineArn && (in.StatusFilter == "" || e.status == in.StatusFilter) {
			match = append(match, e)
		}
	}
	from, n, err := page(in.NextToken, in.MaxResults, len(match))
	if err != nil {
		return nil, err
	}
	items := []map[string]any{}
	for _, e := range match[from : from+n] {
		items = append(items, executionSummary(e))
	}
	return withToken(map[string]any{"executions": items}, from+n, len(match)), nil
}

func (s *Server) getExecutionHistory(body []byte) (any, error) {
	var in struct {
		executionInput
		NextToken            string
		MaxResults           int
		ReverseOrder         bool
		IncludeExecutionData *bool
	}
	e, err := s.lockedExecution(body, &in)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	withData := in.IncludeExecutionData == nil || *in.IncludeExecutionData
	from, n, err := page(in.NextToken, in.MaxResults, len(e.history))
	if err != nil {
		return nil, err
	}
	events := make([]map[string]any, 0, n)
	for i := from; i < from+n; i++ {
		j := i
		if in.ReverseOrder {
			j = len(e.history) - 1 - i
		}
		events = append(events, e.history[j].wire(withData))
	}
	return withToken(map[string]any{"events": events}, from+n, len(e.history)), nil
}

func (s *Server) stopExecution(body []byte) (any, error) {
	var in struct {
		executionInput
		Error, Cause string
	}
	e, err := s.lockedExecution(body, &in)
	if err != nil {
		return nil, err
	}
	s.mu.Unlock()
	stopped := s.stop(e, in.Error, in.Cause)
	return map[string]any{"stopDate": epoch(stopped)}, nil
}

func (s *Server) redriveExecution(body []byte) (any, error) {
	var in struct {
		executionInput
		ClientToken string
	}
	e, err := s.lockedExecution(body, &in)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if err := s.redrive(e); err != nil {
		return nil, err
	}
	return map[string]any{"redriveDate": epoch(e.redriveDate)}, nil
}

// Paging. Step Functions' default and largest page are 100 and 1000 items
// (API_GetExecutionHistory.html, maxResults); a token is opaque to clients, so
// an offset, base64-encoded, serves.

const (
	defaultPage = 100
	maxPage     = 1000
)

func page(token string, max, total int) (from, n int, err error) {
	if max < 0 || max > maxPage {
		return 0, 0, apiErr(400, "ValidationException", fmt.Sprintf("maxResults must be between 0 and %d", maxPage))
	}
	if max == 0 {
		max = defaultPage
	}
	if token != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(token)
		off, perr := strconv.Atoi(string(raw))
		if derr != nil || perr != nil || off < 0 || off > total {
			return 0, 0, apiErr(400, "InvalidToken", "Invalid Token: '"+token+"'")
		}
		from = off
	}
	n = min(max, total-from)
	return from, n, nil
}

func withToken(out map[string]any, next, total int) map[string]any {
	if next < total {
		out["nextToken"] = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(next)))
	}
	return out
}
