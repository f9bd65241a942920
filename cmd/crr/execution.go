package main

// Following a provision execution and printing how it ended, shared by apply and status.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/s3crr/s3crr/statemachine"
)

// executionAPI lists the Step Functions calls the CLI makes.
type executionAPI interface {
	StartExecution(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(context.Context, *sfn.DescribeExecutionInput, ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	GetExecutionHistory(context.Context, *sfn.GetExecutionHistoryInput, ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
	RedriveExecution(context.Context, *sfn.RedriveExecutionInput, ...func(*sfn.Options)) (*sfn.RedriveExecutionOutput, error)
	ListExecutions(context.Context, *sfn.ListExecutionsInput, ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
}

var _ executionAPI = (*sfn.Client)(nil)

// pollInterval is how often apply --wait reads the execution's history once it has run a
// while. Step Functions allows GetExecutionHistory a sustained rate of several calls a
// second per account, so one follower every two seconds leaves room for the console and
// other followers. The first reads come sooner (firstPoll, doubling up to pollInterval),
// so a run that takes a second or two is not reported up to two seconds late.
var (
	pollInterval = 2 * time.Second
	firstPoll    = 250 * time.Millisecond
)

// follow prints the execution's progress until it ends, then its result. It returns an
// error (exit 1) if the execution did not succeed or if following was interrupted.
func follow(ctx context.Context, env *cliEnv, c executionAPI, arn string) error {
	d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return explain(err, "states:DescribeExecution", arn, nil)
	}
	h := newHistoryPrinter(env.stdout, aws.ToTime(d.StartDate))
	fmt.Fprintln(env.stdout)
	wait := min(firstPoll, pollInterval)
	for {
		// Describe before reading the history: once the status is final, the history
		// read after it holds every event up to the end.
		if d == nil {
			if d, err = c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)}); err != nil {
				return interrupted(ctx, arn, explain(err, "states:DescribeExecution", arn, nil))
			}
		}
		if err := h.poll(ctx, c, arn); err != nil {
			return interrupted(ctx, arn, err)
		}
		if d.Status != sfntypes.ExecutionStatusRunning && d.Status != sfntypes.ExecutionStatusPendingRedrive {
			break
		}
		d = nil
		select {
		case <-ctx.Done():
			return interrupted(ctx, arn, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, pollInterval)
	}
	fmt.Fprintln(env.stdout)
	return reportEnd(env.stdout, d, "fix the cause, then run crr apply again with --redrive to resume from the failed state")
}

// interrupted explains that only the following stopped, not the execution.
func interrupted(ctx context.Context, arn string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("stopped following; the execution goes on: crr status %s", arn)
	}
	return err
}

// reportEnd prints how an execution ended and returns an error unless it succeeded.
func reportEnd(w io.Writer, d *sfn.DescribeExecutionOutput, hint string) error {
	printExecutionResult(w, d)
	if d.Status == sfntypes.ExecutionStatusSucceeded {
		return nil
	}
	if hint != "" {
		fmt.Fprintf(w, "\n%s\n", hint)
	}
	return fmt.Errorf("execution %s %s", aws.ToString(d.Name), d.Status)
}

// printExecutionResult prints an execution's status and, once it has ended, its result:
// the output summary on success, the Fail state's error and cause otherwise.
func printExecutionResult(w io.Writer, d *sfn.DescribeExecutionOutput) {
	start, stop := aws.ToTime(d.StartDate), aws.ToTime(d.StopDate)
	line := fmt.Sprintf("%s  %s", d.Status, aws.ToString(d.Name))
	if !stop.IsZero() {
		line += "  in " + formatElapsed(stop.Sub(start))
	} else {
		line += "  started " + start.UTC().Format(time.RFC3339)
	}
	fmt.Fprintln(w, line)
	switch d.Status {
	case sfntypes.ExecutionStatusSucceeded:
		printOutputSummary(w, aws.ToString(d.Output))
	case sfntypes.ExecutionStatusFailed, sfntypes.ExecutionStatusTimedOut, sfntypes.ExecutionStatusAborted:
		if e := aws.ToString(d.Error); e != "" {
			fmt.Fprintf(w, "  error  %s\n", e)
		}
		if c := aws.ToString(d.Cause); c != "" {
			fmt.Fprintf(w, "  cause  %s\n", indent(readableCause(c), "         "))
		}
		if d.Status == sfntypes.ExecutionStatusTimedOut && aws.ToString(d.Error) == "" {
			fmt.Fprintln(w, "  error  States.Timeout: the execution ran longer than the state machine's TimeoutSeconds")
		}
	}
}

// printOutputSummary prints a successful provision execution's output: the pair's ARNs,
// how many changes it made, and the verification result.
func printOutputSummary(w io.Writer, raw string) {
	var out statemachine.Output
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		fmt.Fprintf(w, "  output (not a provision summary: %v)\n  %s\n", err, raw)
		return
	}
	if len(out.Legs) == 0 {
		printPairSummary(w, out)
		return
	}
	// A fan-out or two-way request: each pair's result, as for a plain request.
	fmt.Fprintf(w, "  %-19s %s: %d pairs, %d changes\n", "request", out.PairID, len(out.Legs), len(out.Changes()))
	for _, leg := range out.Legs {
		fmt.Fprintln(w)
		printPairSummary(w, leg)
	}
}

// printPairSummary prints one pair's part of a provision execution's output.
func printPairSummary(w io.Writer, out statemachine.Output) {
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %-19s %s\n", k, v)
		}
	}
	row("pair", out.PairID)
	row("source bucket", out.ARNs.SourceBucket)
	row("destination bucket", out.ARNs.DestinationBucket)
	row("source key", out.ARNs.SourceKey)
	row("destination key", out.ARNs.DestinationKey)
	row("replication role", out.ARNs.ReplicationRole)
	row("rule", out.RuleID)
	changes := out.Changes()
	switch len(changes) {
	case 0:
		row("changes", "none: every configuration was already in place (0 configuration writes)")
	case 1:
		row("changes", "1")
	default:
		row("changes", fmt.Sprint(len(changes)))
	}
	for _, c := range changes {
		fmt.Fprintf(w, "    %s\n", changeLine(c.Action, c.Resource, c.Account, c.Region, c.Detail))
	}
	v := out.Verification
	switch {
	case v.Outputs["ready"] == "true":
		row("verification", "replication is configured and ready")
	case v.Outputs["reason"] != "":
		row("verification", "not ready: "+v.Outputs["reason"])
	default:
		row("verification", "no result")
	}
	for _, warn := range v.Warnings {
		fmt.Fprintf(w, "    ! %s\n", warn)
	}
	if vr := out.Verify; vr != nil {
		// The new pair's canary run (a provision that did not pass fails instead).
		line := vr.Status
		if vr.LatencySeconds > 0 {
			line += fmt.Sprintf(": the canary replicated in %.1f s under the destination key", vr.LatencySeconds)
		}
		row("canary", line)
		// A converged re-run still proves the pair: its canary is data, not configuration,
		// so it is not among the changes; say so where "changes: none" is read.
		if vr.LatencySeconds > 0 {
			fmt.Fprintf(w, "  %-19s %s\n", "", "its probe object was written under the reserved canary prefix and both its versions deleted: data writes, not configuration changes")
		}
		for _, f := range vr.Findings {
			fmt.Fprintf(w, "    ! %s %s: %s (fix: %s)\n", f.Severity, f.Check, f.Message, f.Fix)
		}
	}
	if out.NotificationError != nil {
		row("notification", "the success notice was not published: "+out.NotificationError.Error+": "+out.NotificationError.Cause)
	}
}

// changeLine renders one change like provision.Change.String.
func changeLine(action, resource, account, region, detail string) string {
	s := fmt.Sprintf("%s %s in %s", action, resource, account)
	if region != "" {
		s += "/" + region
	}
	if detail != "" {
		s += ": " + detail
	}
	return s
}

// lambdaError is the payload of a failed Lambda invocation, as a Step Functions cause
// or an Invoke response with FunctionError set.
type lambdaError struct {
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
}

// readableCause unpacks a Lambda error payload embedded in a cause ("stage preflight
// failed with AccessDenied: {"errorType":...,"errorMessage":...}") so its message, which
// carries the fix, prints as text rather than escaped JSON.
func readableCause(cause string) string {
	i := strings.Index(cause, "{")
	if i < 0 {
		return cause
	}
	var le lambdaError
	if err := json.Unmarshal([]byte(cause[i:]), &le); err != nil || le.ErrorMessage == "" {
		return cause
	}
	return cause[:i] + le.ErrorMessage
}

// executionDoc is an execution in --output json documents: DescribeExecution's facts,
// the output kept as the JSON it is.
type executionDoc struct {
	ExecutionARN    string          `json:"executionArn"`
	Name            string          `json:"name"`
	StateMachineARN string          `json:"stateMachineArn"`
	Status          string          `json:"status"`
	StartDate       *time.Time      `json:"startDate,omitempty"`
	StopDate        *time.Time      `json:"stopDate,omitempty"`
	Error           string          `json:"error,omitempty"`
	Cause           string          `json:"cause,omitempty"`
	RedriveCount    int32           `json:"redriveCount,omitempty"`
	Output          json.RawMessage `json:"output,omitempty"`
	// Changes is how many changes a successful provision execution made (the text's
	// "changes" row); the list is in Output.
	Changes *int `json:"changes,omitempty"`
}

func newExecutionDoc(d *sfn.DescribeExecutionOutput) *executionDoc {
	doc := &executionDoc{
		ExecutionARN: aws.ToString(d.ExecutionArn), Name: aws.ToString(d.Name), StateMachineARN: aws.ToString(d.StateMachineArn),
		Status: string(d.Status), StartDate: d.StartDate, StopDate: d.StopDate,
		Error: aws.ToString(d.Error), Cause: aws.ToString(d.Cause), RedriveCount: aws.ToInt32(d.RedriveCount),
	}
	if raw := aws.ToString(d.Output); json.Valid([]byte(raw)) {
		doc.Output = json.RawMessage(raw)
		var out statemachine.Output
		if d.Status == sfntypes.ExecutionStatusSucceeded && json.Unmarshal([]byte(raw), &out) == nil {
			n := len(out.Changes())
			doc.Changes = &n
		}
	}
	return doc
}
