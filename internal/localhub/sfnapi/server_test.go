package sfnapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/localhub/sfnapi"
	"github.com/s3crr/s3crr/internal/testenv"
)

const (
	region  = "us-east-1"
	account = "123456789012"
	role    = "arn:aws:iam::123456789012:role/local-states"
)

// needRunner skips when node_modules is absent (fails instead under CI: testenv)
// and fails when it is there but cannot run.
func needRunner(t *testing.T) string {
	t.Helper()
	root, err := localhub.FindModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	testenv.RequireNodeModules(t, root)
	if err := localhub.CheckRunner(root); err != nil {
		t.Fatal(err)
	}
	return root
}

// serve starts the API on runner and returns an SDK client pointed at it, as
// crr is when AWS_ENDPOINT_URL names the local hub.
func serve(t *testing.T, runner sfnapi.Runner) (*sfnapi.Server, *sfn.Client, string) {
	t.Helper()
	srv := sfnapi.New(sfnapi.Config{Runner: runner, Region: region, Account: account})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { srv.Close(); hs.Close() })
	c := sfn.NewFromConfig(aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(hs.URL),
	})
	return srv, c, hs.URL
}

func readASL(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// flowMachine registers testdata/flow.asl.json through CreateStateMachine.
func flowMachine(t *testing.T, c *sfn.Client) string {
	t.Helper()
	out, err := c.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
		Name: aws.String("flow"), Definition: aws.String(readASL(t, "flow.asl.json")), RoleArn: aws.String(role),
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.StateMachineArn)
}

// waitEnd polls until the execution is no longer RUNNING (the deadline only
// keeps a broken runner from hanging the test).
func waitEnd(t *testing.T, c *sfn.Client, arn string) *sfn.DescribeExecutionOutput {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		d, err := c.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still RUNNING", arn)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitEvent polls the history until an event of type typ appears after the
// latest event of type after (after "" means anywhere).
func waitEvent(t *testing.T, c *sfn.Client, arn string, typ sfntypes.HistoryEventType, after sfntypes.HistoryEventType) []sfntypes.HistoryEvent {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		events := history(t, c, arn, true)
		seen := after == ""
		for _, ev := range events {
			if ev.Type == after {
				seen = true
			} else if seen && ev.Type == typ {
				return events
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event in %s", typ, arn)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// history reads every event, oldest first, page by page.
func history(t *testing.T, c *sfn.Client, arn string, withData bool) []sfntypes.HistoryEvent {
	t.Helper()
	var all []sfntypes.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(c, &sfn.GetExecutionHistoryInput{
		ExecutionArn: aws.String(arn), IncludeExecutionData: aws.Bool(withData), MaxResults: 3,
	})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out.Events...)
	}
	return all
}

func types(events []sfntypes.HistoryEvent) []string {
	out := make([]string, len(events))
	for i, ev := range events {
		out[i] = string(ev.Type)
	}
	return out
}

func apiCode(err error) string {
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestStartDescribeAndHistoryOfAFailedExecution(t *testing.T) {
	root := needRunner(t)
	_, c, _ := serve(t, &localhub.Hub{ModuleRoot: root, Region: region, Account: account})
	sm := flowMachine(t, c)
	ctx := context.Background()

	input := `{"mode":"fail"}`
	out, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(sm), Name: aws.String("boom-1"), Input: aws.String(input)})
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:states:us-east-1:123456789012:execution:flow:boom-1"; aws.ToString(out.ExecutionArn) != want {
		t.Fatalf("execution ARN %s, want %s", aws.ToString(out.ExecutionArn), want)
	}
	d := waitEnd(t, c, aws.ToString(out.ExecutionArn))
	if d.Status != sfntypes.ExecutionStatusFailed || aws.ToString(d.Error) != "Local.Boom" || aws.ToString(d.Cause) != "the input asked to fail" {
		t.Errorf("status %s error %q cause %q, want FAILED Local.Boom with the Fail state's cause", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	if aws.ToString(d.Input) != input || aws.ToString(d.Name) != "boom-1" || aws.ToString(d.StateMachineArn) != sm {
		t.Errorf("describe = input %q name %q machine %q", aws.ToString(d.Input), aws.ToString(d.Name), aws.ToString(d.StateMachineArn))
	}
	if d.StopDate == nil || d.StopDate.Before(*d.StartDate) || d.RedriveStatus != sfntypes.ExecutionRedriveStatusRedrivable || d.RedriveCount == nil || *d.RedriveCount != 0 {
		t.Errorf("start %v stop %v redrive %s count %v", d.StartDate, d.StopDate, d.RedriveStatus, d.RedriveCount)
	}

	events := history(t, c, aws.ToString(out.ExecutionArn), true)
	want := []string{"ExecutionStarted", "PassStateEntered", "PassStateExited", "ChoiceStateEntered", "ChoiceStateExited", "FailStateEntered", "ExecutionFailed"}
	if got := types(events); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("history %v, want %v", got, want)
	}
	for i, ev := range events {
		if ev.Id != int64(i+1) || ev.PreviousEventId != int64(i) || ev.Timestamp == nil {
			t.Errorf("event %d: id %d previous %d timestamp %v", i, ev.Id, ev.PreviousEventId, ev.Timestamp)
		}
	}
	if det := events[0].ExecutionStartedEventDetails; det == nil || aws.ToString(det.Input) != input || aws.ToString(det.RoleArn) != role {
		t.Errorf("ExecutionStarted details %+v", det)
	}
	if det := events[1].StateEnteredEventDetails; det == nil || aws.ToString(det.Name) != "Prepare" || aws.ToString(det.Input) != input {
		t.Errorf("PassStateEntered details %+v", det)
	}
	if det := events[2].StateExitedEventDetails; det == nil || aws.ToString(det.Name) != "Prepare" || !strings.Contains(aws.ToString(det.Output), `"prepared":true`) {
		t.Errorf("PassStateExited details %+v", det)
	}
	if det := events[6].ExecutionFailedEventDetails; det == nil || aws.ToString(det.Error) != "Local.Boom" {
		t.Errorf("ExecutionFailed details %+v", det)
	}

	// What crr apply --wait asks for: newest first, no data, one page at a time.
	rev, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{
		ExecutionArn: out.ExecutionArn, ReverseOrder: true, MaxResults: 2, IncludeExecutionData: aws.Bool(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rev.Events) != 2 || rev.Events[0].Id != 7 || rev.Events[1].Id != 6 || rev.NextToken == nil {
		t.Fatalf("reverse page: %v next %v", types(rev.Events), rev.NextToken)
	}
	if det := rev.Events[1].StateEnteredEventDetails; det == nil || aws.ToString(det.Name) != "Boom" || det.Input != nil {
		t.Errorf("includeExecutionData=false: FailStateEntered details %+v, want the name and no input", det)
	}
	next, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{
		ExecutionArn: out.ExecutionArn, ReverseOrder: true, MaxResults: 2, NextToken: rev.NextToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Events) != 2 || next.Events[0].Id != 5 || next.Events[1].Id != 4 {
		t.Errorf("second reverse page: %v", types(next.Events))
	}

	// A closed execution keeps its name: the same start again is
	// ExecutionAlreadyExists, even with the same input (API_StartExecution.html).
	_, err = c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(sm), Name: aws.String("boom-1"), Input: aws.String(input)})
	var exists *sfntypes.ExecutionAlreadyExists
	if !errors.As(err, &exists) {
		t.Errorf("restart of a closed execution: %v, want ExecutionAlreadyExists", err)
	}
}

func TestStartIsIdempotentWhileRunningAndStopAborts(t *testing.T) {
	root := needRunner(t)
	_, c, _ := serve(t, &localhub.Hub{ModuleRoot: root, Region: region, Account: account})
	sm := flowMachine(t, c)
	ctx := context.Background()

	start := func(input string) (*sfn.StartExecutionOutput, error) {
		return c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(sm), Name: aws.String("hold-1"), Input: aws.String(input)})
	}
	first, err := start(`{"mode":"wait"}`)
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(first.ExecutionArn)
	waitEvent(t, c, arn, sfntypes.HistoryEventTypeWaitStateEntered, "")

	again, err := start(`{"mode":"wait"}`)
	if err != nil {
		t.Fatalf("same name and input while running: %v, want the running execution", err)
	}
	if aws.ToString(again.ExecutionArn) != arn || !again.StartDate.Equal(*first.StartDate) {
		t.Errorf("idempotent start = %s at %v, want %s at %v", aws.ToString(again.ExecutionArn), again.StartDate, arn, first.StartDate)
	}
	_, err = start(`{"mode":"wait","other":1}`)
	var exists *sfntypes.ExecutionAlreadyExists
	if !errors.As(err, &exists) {
		t.Errorf("same name, other input: %v, want ExecutionAlreadyExists", err)
	}

	// A second execution, to list.
	done, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(sm), Name: aws.String("quick-1"), Input: aws.String(`{"mode":"go"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if d := waitEnd(t, c, aws.ToString(done.ExecutionArn)); d.Status != sfntypes.ExecutionStatusSucceeded || aws.ToString(d.Output) != `{"mode":"go","prepared":true}` {
		t.Errorf("quick-1: %s output %s", d.Status, aws.ToString(d.Output))
	}
	list, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(sm), MaxResults: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Executions) != 1 || aws.ToString(list.Executions[0].Name) != "quick-1" || list.NextToken == nil {
		t.Fatalf("first page %+v, want the newest (quick-1) and a token", list.Executions)
	}
	list, err = c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(sm), MaxResults: 1, NextToken: list.NextToken})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Executions) != 1 || aws.ToString(list.Executions[0].Name) != "hold-1" || list.NextToken != nil {
		t.Fatalf("second page %+v, want hold-1 and no token", list.Executions)
	}
	running, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(sm), StatusFilter: sfntypes.ExecutionStatusRunning})
	if err != nil {
		t.Fatal(err)
	}
	if len(running.Executions) != 1 || aws.ToString(running.Executions[0].ExecutionArn) != arn {
		t.Errorf("RUNNING filter: %+v", running.Executions)
	}
	if _, err := c.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(arn)}); apiCode(err) != "ExecutionNotRedrivable" {
		t.Errorf("redrive of a running execution: %v, want ExecutionNotRedrivable", err)
	}

	stop, err := c.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(arn), Error: aws.String("Operator.Stop"), Cause: aws.String("no longer needed")})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != sfntypes.ExecutionStatusAborted || aws.ToString(d.Error) != "Operator.Stop" || aws.ToString(d.Cause) != "no longer needed" || !d.StopDate.Equal(*stop.StopDate) {
		t.Errorf("after stop: %s %q %q stop %v (StopExecution said %v)", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause), d.StopDate, stop.StopDate)
	}
	events := history(t, c, arn, true)
	last := events[len(events)-1]
	if last.Type != sfntypes.HistoryEventTypeExecutionAborted || aws.ToString(last.ExecutionAbortedEventDetails.Error) != "Operator.Stop" {
		t.Errorf("last event %s %+v, want ExecutionAborted with the stop's error", last.Type, last.ExecutionAbortedEventDetails)
	}
	// The runner was ended, not left waiting 600 s: nothing is added later.
	if n := len(history(t, c, arn, true)); n != len(events) {
		t.Errorf("history grew from %d to %d events after the stop", len(events), n)
	}

	// An aborted execution can be redriven: it resumes in the Wait it was in.
	if _, err := c.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	events = waitEvent(t, c, arn, sfntypes.HistoryEventTypeWaitStateEntered, sfntypes.HistoryEventTypeExecutionRedriven)
	var after []string
	for i, ev := range events {
		if ev.Type == sfntypes.HistoryEventTypeExecutionRedriven {
			after = types(events[i:])
			if ev.ExecutionRedrivenEventDetails == nil || aws.ToInt32(ev.ExecutionRedrivenEventDetails.RedriveCount) != 1 {
				t.Errorf("ExecutionRedriven details %+v", ev.ExecutionRedrivenEventDetails)
			}
		}
	}
	if strings.Join(after, " ") != "ExecutionRedriven WaitStateEntered" {
		t.Errorf("after the redrive: %v, want the Wait state entered again and nothing before it", after)
	}
	if _, err := c.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
}

// Redrive resumes at the Task that failed, with that Task's input; the states
// before it are not rerun, and $$.Execution keeps the original input and start.
func TestRedriveResumesFromTheFailedTask(t *testing.T) {
	root := needRunner(t)
	ctx := context.Background()
	hub, err := localhub.Start(ctx, localhub.Config{ModuleRoot: root, TopicName: "sfnapi-redrive", TableName: "sfnapi-redrive-pairs"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Close() })
	bootstrap, err := localhub.BuildLambda(ctx, root, "./internal/localhub/testdata/flaky", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fn := "sfnapi-flaky-once"
	fnARN, err := hub.AddFunction(ctx, localhub.Function{
		Name: fn, Bootstrap: bootstrap, Concurrency: 1,
		Env: map[string]string{"FLAKY_COUNTER": filepath.Join(t.TempDir(), "count"), "FLAKY_FAILURES": "1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, c, _ := serve(t, hub)
	smARN, err := srv.Register("redrive", strings.ReplaceAll(readASL(t, "redrive.asl.json"), "${FunctionArn}", fnARN), role)
	if err != nil {
		t.Fatal(err)
	}

	input := `{"pairId":"p1"}`
	out, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(smARN), Name: aws.String("p1-a"), Input: aws.String(input)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.ExecutionArn)
	d := waitEnd(t, c, arn)
	if d.Status != sfntypes.ExecutionStatusFailed || aws.ToString(d.Error) != "PrincipalNotReady" {
		t.Fatalf("first run: %s %q, want FAILED PrincipalNotReady", d.Status, aws.ToString(d.Error))
	}

	// The history as crr apply --wait reads it: each task event leads back to
	// the state it belongs to through previousEventId.
	events := history(t, c, arn, true)
	byID := map[int64]sfntypes.HistoryEvent{}
	for _, ev := range events {
		byID[ev.Id] = ev
	}
	stateOf := func(ev sfntypes.HistoryEvent) string {
		for ev.StateEnteredEventDetails == nil && ev.PreviousEventId != 0 {
			ev = byID[ev.PreviousEventId]
		}
		if ev.StateEnteredEventDetails == nil {
			return ""
		}
		return aws.ToString(ev.StateEnteredEventDetails.Name)
	}
	want := "ExecutionStarted PassStateEntered PassStateExited TaskStateEntered TaskScheduled TaskStarted TaskFailed ExecutionFailed"
	if got := strings.Join(types(events), " "); got != want {
		t.Fatalf("first run history:\n%s\nwant\n%s", got, want)
	}
	sched, failed := events[4], events[6]
	if det := sched.TaskScheduledEventDetails; det == nil || aws.ToString(det.ResourceType) != "lambda" || aws.ToString(det.Resource) != "invoke" || stateOf(sched) != "Provision" {
		t.Errorf("TaskScheduled %+v of state %q", sched.TaskScheduledEventDetails, stateOf(sched))
	}
	if det := failed.TaskFailedEventDetails; det == nil || aws.ToString(det.Error) != "PrincipalNotReady" || !strings.Contains(aws.ToString(det.Cause), "invocation 1") || stateOf(failed) != "Provision" {
		t.Errorf("TaskFailed %+v of state %q", failed.TaskFailedEventDetails, stateOf(failed))
	}

	red, err := c.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	d = waitEnd(t, c, arn)
	if d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("after redrive: %s %q %q", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	if aws.ToInt32(d.RedriveCount) != 1 || d.RedriveDate == nil || !d.RedriveDate.Equal(*red.RedriveDate) || d.RedriveStatus != sfntypes.ExecutionRedriveStatusNotRedrivable {
		t.Errorf("redriveCount %v date %v (RedriveExecution said %v) status %s", d.RedriveCount, d.RedriveDate, red.RedriveDate, d.RedriveStatus)
	}
	var result struct {
		Prepared       string          `json:"prepared"`
		Attempt        string          `json:"attempt"`
		RedriveCount   int             `json:"redriveCount"`
		ExecutionInput json.RawMessage `json:"executionInput"`
		StartTime      string          `json:"startTime"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &result); err != nil {
		t.Fatalf("output %q: %v", aws.ToString(d.Output), err)
	}
	if result.Prepared != "done" || result.Attempt != "2" || result.RedriveCount != 1 || string(result.ExecutionInput) != input {
		t.Errorf("output %+v: want Provision's input kept (prepared), attempt 2, $$.Execution.RedriveCount 1 and the original input", result)
	}
	if st, err := time.Parse(time.RFC3339, result.StartTime); err != nil || st.Sub(*d.StartDate).Abs() > time.Millisecond {
		t.Errorf("$$.Execution.StartTime %q, want the original start %v", result.StartTime, d.StartDate)
	}
	if got := hub.Invocations(fn); got != 2 {
		t.Errorf("the function was invoked %d times, want 2 (the failure, then the redrive)", got)
	}
	events = history(t, c, arn, true)
	entered := 0
	for i, ev := range events {
		if ev.Type == sfntypes.HistoryEventTypePassStateEntered && aws.ToString(ev.StateEnteredEventDetails.Name) == "Prepare" {
			entered++
		}
		if ev.Type == sfntypes.HistoryEventTypeExecutionRedriven {
			want := "ExecutionRedriven TaskStateEntered TaskScheduled TaskStarted TaskSucceeded TaskStateExited PassStateEntered PassStateExited ExecutionSucceeded"
			if got := strings.Join(types(events[i:]), " "); got != want {
				t.Errorf("after the redrive:\n%s\nwant\n%s", got, want)
			}
		}
	}
	if entered != 1 {
		t.Errorf("Prepare was entered %d times, want 1: a redrive does not rerun the states that succeeded", entered)
	}
	if _, err := c.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(arn)}); apiCode(err) != "ExecutionNotRedrivable" {
		t.Errorf("redrive of a succeeded execution: %v, want ExecutionNotRedrivable", err)
	}
}

// Errors in the protocol's shape, with the codes the SDK turns into its typed errors.
func TestErrorsHaveTheAWSShape(t *testing.T) {
	srv, c, url := serve(t, &localhub.Hub{})
	ctx := context.Background()
	arn, err := srv.Register("flow", readASL(t, "flow.asl.json"), role)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := srv.Register("flow", readASL(t, "flow.asl.json"), role); err != nil || again != arn {
		t.Errorf("registering the same machine again = %s, %v; want %s", again, err, arn)
	}
	if _, err := srv.Register("flow", `{"StartAt":"X","States":{"X":{"Type":"Succeed"}}}`, role); err == nil || !strings.Contains(err.Error(), "StateMachineAlreadyExists") {
		t.Errorf("another definition under the same name: %v, want StateMachineAlreadyExists", err)
	}
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"unknown execution", func() error {
			_, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String("arn:aws:states:us-east-1:123456789012:execution:flow:nope")})
			return err
		}, "ExecutionDoesNotExist"},
		{"not an ARN", func() error {
			_, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String("flow:nope")})
			return err
		}, "InvalidArn"},
		{"unknown machine", func() error {
			_, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:nope")})
			return err
		}, "StateMachineDoesNotExist"},
		{"input not JSON", func() error {
			_, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String("{")})
			return err
		}, "InvalidExecutionInput"},
		{"bad name", func() error {
			_, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String("a b")})
			return err
		}, "InvalidName"},
	}
	for _, tc := range cases {
		if got := apiCode(tc.call()); got != tc.want {
			t.Errorf("%s: error code %q, want %s", tc.name, got, tc.want)
		}
	}

	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "AWSStepFunctions.SendTaskSuccess")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var shape struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &shape); err != nil || resp.StatusCode != 400 || shape.Type != "UnknownOperationException" || !strings.Contains(shape.Message, "SendTaskSuccess") ||
		resp.Header.Get("Content-Type") != "application/x-amz-json-1.0" {
		t.Errorf("unknown operation: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// A definition's TimeoutSeconds ends the execution TIMED_OUT, which can be redriven.
func TestTimeoutEndsTimedOut(t *testing.T) {
	root := needRunner(t)
	srv, c, _ := serve(t, &localhub.Hub{ModuleRoot: root, Region: region, Account: account})
	arn, err := srv.Register("slow", `{"TimeoutSeconds":1,"StartAt":"Hold","States":{"Hold":{"Type":"Wait","Seconds":600,"End":true}}}`, role)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.StartExecution(context.Background(), &sfn.StartExecutionInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	d := waitEnd(t, c, aws.ToString(out.ExecutionArn))
	if d.Status != sfntypes.ExecutionStatusTimedOut || aws.ToString(d.Error) != "States.Timeout" || d.RedriveStatus != sfntypes.ExecutionRedriveStatusRedrivable {
		t.Errorf("status %s error %q redrive %s, want TIMED_OUT States.Timeout REDRIVABLE", d.Status, aws.ToString(d.Error), d.RedriveStatus)
	}
	events := history(t, c, aws.ToString(out.ExecutionArn), true)
	if last := events[len(events)-1]; last.Type != sfntypes.HistoryEventTypeExecutionTimedOut {
		t.Errorf("last event %s, want ExecutionTimedOut", last.Type)
	}
}
