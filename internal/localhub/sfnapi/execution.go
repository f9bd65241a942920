package sfnapi

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/s3crr/s3crr/internal/localhub"
)

// Execution statuses, as Step Functions names them.
const (
	statusRunning   = "RUNNING"
	statusSucceeded = "SUCCEEDED"
	statusFailed    = "FAILED"
	statusTimedOut  = "TIMED_OUT"
	statusAborted   = "ABORTED"
)

// Redrive limits (API_RedriveExecution.html; the history limit is the
// 25,000-event execution quota, with room for the redrive's own events).
const (
	redrivablePeriod = 14 * 24 * time.Hour
	maxRedrives      = 1000
	maxHistory       = 24999
)

type execution struct {
	arn, name, input string
	machine          *stateMachine
	// tasks is the Task states of the definition, nested ones included.
	tasks map[string]taskKind

	status         string
	start, stop    time.Time
	output         string
	errName, cause string
	redriveCount   int
	redriveDate    time.Time
	history        []historyEvent
	lastByState    map[string]int64 // state name -> its latest event ID
	resumeAt       string           // the last top-level state entered
	resumeInput    json.RawMessage  // and its input
	gen            int              // which run events belong to; a stop or redrive starts another
	cancel         context.CancelFunc
	done           chan struct{}
}

// taskKind says which events a Task state's work produces in the history: a
// service integration (arn:aws:states:::lambda:invoke, sns:publish, ...) gives
// Task* events with resourceType and resource; a Lambda function ARN as the
// Resource gives LambdaFunction* events.
type taskKind struct {
	lambda                 bool
	resourceType, resource string
}

var (
	integration    = regexp.MustCompile(`^arn:aws[a-z-]*:states:::([a-zA-Z0-9-]+):(.+)$`)
	lambdaFunction = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:`)
)

// taskStates walks a definition, Parallel branches and Map processors included.
func taskStates(def []byte) map[string]taskKind {
	out := map[string]taskKind{}
	type machine struct {
		States map[string]struct {
			Type, Resource          string
			Branches                []json.RawMessage
			Iterator, ItemProcessor json.RawMessage
		}
	}
	var walk func([]byte)
	walk = func(b []byte) {
		var m machine
		if json.Unmarshal(b, &m) != nil {
			return
		}
		for name, st := range m.States {
			if st.Type == "Task" {
				if g := integration.FindStringSubmatch(st.Resource); g != nil {
					out[name] = taskKind{resourceType: g[1], resource: g[2]}
				} else if lambdaFunction.MatchString(st.Resource) {
					out[name] = taskKind{lambda: true, resource: st.Resource}
				}
			}
			for _, br := range st.Branches {
				walk(br)
			}
			for _, p := range []json.RawMessage{st.Iterator, st.ItemProcessor} {
				if len(p) > 0 {
					walk(p)
				}
			}
		}
	}
	walk(def)
	return out
}

// historyEvent is one event of GetExecutionHistory. detailsKey is the member
// that carries its details (stateEnteredEventDetails, taskFailedEventDetails, ...).
type historyEvent struct {
	id, prev   int64
	at         time.Time
	typ        string
	detailsKey string
	details    map[string]any
}

// dataMembers are what includeExecutionData=false leaves out.
var dataMembers = []string{"input", "inputDetails", "output", "outputDetails", "parameters"}

func (h historyEvent) wire(withData bool) map[string]any {
	out := map[string]any{"id": h.id, "previousEventId": h.prev, "timestamp": epoch(h.at), "type": h.typ}
	if h.detailsKey != "" {
		d := make(map[string]any, len(h.details))
		for k, v := range h.details {
			d[k] = v
		}
		if !withData {
			for _, k := range dataMembers {
				delete(d, k)
			}
		}
		out[h.detailsKey] = d
	}
	return out
}

// add appends an event after prev (0: after the latest event) and returns its ID.
func (e *execution) add(prev int64, typ, detailsKey string, details map[string]any) int64 {
	id := int64(len(e.history)) + 1
	if prev == 0 {
		prev = id - 1
	}
	e.history = append(e.history, historyEvent{id: id, prev: prev, at: time.Now(), typ: typ, detailsKey: detailsKey, details: details})
	return id
}

// data is a state's or execution's input or output as the API carries it: a
// JSON string, with its details.
func data(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "null"
	}
	return string(raw)
}

// record turns one runner event into the events Step Functions writes for it.
// previousEventId links each event to the one before it in the same state, so
// a reader can name the state of a TaskScheduled or TaskFailed, as crr's
// history printer does.
func (e *execution) record(ev localhub.Event) {
	task, isTask := e.tasks[ev.State]
	taskEvent := func(what string, details map[string]any) {
		key := ""
		typ := "Task" + what
		if task.lambda {
			typ = "LambdaFunction" + what
		} else {
			details["resourceType"], details["resource"] = task.resourceType, task.resource
		}
		if len(details) > 0 {
			key = strings.ToLower(typ[:1]) + typ[1:] + "EventDetails"
		}
		e.lastByState[ev.State] = e.add(e.lastByState[ev.State], typ, key, details)
	}
	schedule := func() {
		if task.lambda {
			taskEvent("Scheduled", map[string]any{"resource": task.resource})
			taskEvent("Started", map[string]any{})
			return
		}
		taskEvent("Scheduled", map[string]any{"region": regionOf(e.arn)})
		taskEvent("Started", map[string]any{})
	}
	switch ev.Type {
	case "StateEntered":
		e.lastByState[ev.State] = e.add(0, ev.StateType+"StateEntered", "stateEnteredEventDetails", map[string]any{
			"name": ev.State, "input": data(ev.Input), "inputDetails": map[string]bool{"truncated": false},
		})
		if ev.Parent == "" {
			e.resumeAt, e.resumeInput = ev.State, ev.Input
		}
		if isTask {
			schedule()
		}
	case "StateRetried":
		if isTask {
			schedule()
		}
	case "StateFailed":
		if isTask {
			taskEvent("Failed", map[string]any{"error": ev.Error, "cause": ev.Cause})
		}
	case "StateExited":
		if isTask {
			taskEvent("Succeeded", map[string]any{"output": data(ev.Output), "outputDetails": map[string]bool{"truncated": false}})
		}
		e.lastByState[ev.State] = e.add(e.lastByState[ev.State], ev.StateType+"StateExited", "stateExitedEventDetails", map[string]any{
			"name": ev.State, "output": data(ev.Output), "outputDetails": map[string]bool{"truncated": false},
		})
	}
}

// finish records how a run ended.
func (e *execution) finish(res *localhub.Execution, err error) {
	e.stop = time.Now()
	switch {
	case err != nil:
		// The runner could not run the definition (an unsupported resource, a
		// broken install): the execution fails, naming why.
		e.status, e.errName, e.cause = statusFailed, "States.Runtime", err.Error()
		e.add(0, "ExecutionFailed", "executionFailedEventDetails", map[string]any{"error": e.errName, "cause": e.cause})
	case res.Status == localhub.StatusSucceeded:
		e.status, e.output = statusSucceeded, data(res.Output)
		e.add(0, "ExecutionSucceeded", "executionSucceededEventDetails", map[string]any{
			"output": e.output, "outputDetails": map[string]bool{"truncated": false},
		})
	case res.Status == localhub.StatusTimedOut:
		e.status, e.errName, e.cause = statusTimedOut, res.Error, res.Cause
		e.add(0, "ExecutionTimedOut", "executionTimedOutEventDetails", map[string]any{"error": e.errName, "cause": e.cause})
	default:
		e.status, e.errName, e.cause = statusFailed, res.Error, res.Cause
		e.add(0, "ExecutionFailed", "executionFailedEventDetails", map[string]any{"error": e.errName, "cause": e.cause})
	}
}

// notRedrivable is why RedriveExecution would refuse the execution now, in
// Step Functions' words (DescribeExecution redriveStatusReason), or "".
func (e *execution) notRedrivable(now time.Time) string {
	switch {
	case e.status == statusRunning:
		return "Execution is RUNNING and cannot be redriven"
	case e.status == statusSucceeded:
		return "Execution is SUCCEEDED and cannot be redriven"
	case now.Sub(e.stop) > redrivablePeriod:
		return "Execution redrivable period exceeded"
	case e.redriveCount >= maxRedrives:
		return fmt.Sprintf("Execution has been redriven %d times, the most Step Functions allows", maxRedrives)
	case len(e.history) >= maxHistory:
		return "Execution history event limit exceeded"
	}
	return ""
}

func regionOf(arn string) string {
	if parts := strings.SplitN(arn, ":", 5); len(parts) == 5 {
		return parts[3]
	}
	return ""
}

// start starts an execution, or returns the running one with the same name
// and input (StartExecution's idempotency for STANDARD workflows).
func (s *Server) start(smARN, name, input string) (*execution, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sm, err := s.machine(smARN)
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = rand.Text()
	} else if err := validName(name); err != nil {
		return nil, err
	}
	arn := strings.Replace(sm.arn, ":stateMachine:", ":execution:", 1) + ":" + name
	if e, ok := s.executions[arn]; ok {
		if e.status == statusRunning && e.input == input {
			return e, nil
		}
		return nil, apiErr(400, "ExecutionAlreadyExists", "Execution Already Exists: '"+arn+"'")
	}
	e := &execution{
		arn: arn, name: name, input: input, machine: sm, tasks: taskStates([]byte(sm.definition)),
		status: statusRunning, start: time.Now(), lastByState: map[string]int64{},
	}
	e.add(0, "ExecutionStarted", "executionStartedEventDetails", map[string]any{
		"input": input, "inputDetails": map[string]bool{"truncated": false}, "roleArn": sm.roleARN,
	})
	s.executions[arn] = e
	s.started = append(s.started, e)
	s.launch(e, localhub.RunInput{Input: []byte(input)})
	return e, nil
}

// launch runs the execution (from in.StartAt, if set) in the background; the
// caller holds s.mu. Events of an earlier run that arrive after a stop or a
// redrive are dropped.
func (s *Server) launch(e *execution, in localhub.RunInput) {
	e.gen++
	gen := e.gen
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	e.cancel, e.done = cancel, done
	in.Definition = []byte(e.machine.definition)
	in.Name = e.name
	in.StateMachineName = e.machine.name
	in.Verbose = true // states' inputs: the history shows them and a redrive resumes with one
	in.WaitOverrides, in.RetryOverrides = s.cfg.WaitOverrides, s.cfg.RetryOverrides
	go func() {
		defer close(done)
		defer cancel()
		res, err := s.cfg.Runner.Run(ctx, in, func(ev localhub.Event) {
			s.mu.Lock()
			current := e.gen == gen && e.status == statusRunning
			if current {
				e.record(ev)
			}
			s.mu.Unlock()
			if current && s.cfg.Observe != nil {
				s.cfg.Observe(e.arn, ev)
			}
		})
		s.mu.Lock()
		defer s.mu.Unlock()
		if e.gen == gen && e.status == statusRunning {
			e.finish(res, err)
		}
	}()
}

// stop aborts a running execution and waits until its runner process is gone;
// it returns the execution's stop date (unchanged if it had already ended).
func (s *Server) stop(e *execution, errName, cause string) time.Time {
	s.mu.Lock()
	if e.status != statusRunning {
		defer s.mu.Unlock()
		return e.stop
	}
	e.status, e.stop, e.errName, e.cause = statusAborted, time.Now(), errName, cause
	details := map[string]any{}
	if errName != "" {
		details["error"] = errName
	}
	if cause != "" {
		details["cause"] = cause
	}
	e.add(0, "ExecutionAborted", "executionAbortedEventDetails", details)
	stopped, cancel, done := e.stop, e.cancel, e.done
	s.mu.Unlock()
	cancel()
	<-done
	return stopped
}

// redrive resumes a FAILED, ABORTED or TIMED_OUT execution at the last
// top-level state it entered, with that state's input; the caller holds s.mu.
func (s *Server) redrive(e *execution) error {
	now := time.Now()
	if reason := e.notRedrivable(now); reason != "" {
		return apiErr(400, "ExecutionNotRedrivable", reason+": '"+e.arn+"'")
	}
	in := localhub.RunInput{Input: []byte(e.input)}
	if e.resumeAt != "" {
		in.StartAt, in.Input = e.resumeAt, e.resumeInput
	}
	e.redriveCount++
	e.redriveDate = now
	e.status, e.stop, e.output, e.errName, e.cause = statusRunning, time.Time{}, "", "", ""
	e.add(0, "ExecutionRedriven", "executionRedrivenEventDetails", map[string]any{"redriveCount": e.redriveCount})
	in.ExecutionInput, in.StartTime, in.RedriveCount = []byte(e.input), e.start, e.redriveCount
	s.launch(e, in)
	return nil
}
