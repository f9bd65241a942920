package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/spec"
	"github.com/s3crr/s3crr/statemachine"
)

// Names the HubStack gives the resources the CLI addresses. They are cdk.ProvisionStateMachineName,
// cdk.PairsTableName and the provision function's name in cdk/function.go; the CLI does
// not import package cdk, which would link the jsii runtime and aws-cdk-lib into it.
// names_test.go holds the first two to package cdk's constants.
const (
	provisionStateMachineName = "s3crr-provision"
	pairsTableName            = "s3crr-pairs"
	provisionFunctionName     = "s3crr-provision"
)

// pollInterval is how often apply --wait reads the execution's history. Step Functions
// allows GetExecutionHistory a sustained rate of several calls a second per account, so
// one follower every two seconds leaves room for the console and other followers.
var pollInterval = 2 * time.Second

// executionAPI lists the Step Functions calls the CLI makes.
type executionAPI interface {
	StartExecution(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(context.Context, *sfn.DescribeExecutionInput, ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	GetExecutionHistory(context.Context, *sfn.GetExecutionHistoryInput, ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
	RedriveExecution(context.Context, *sfn.RedriveExecutionInput, ...func(*sfn.Options)) (*sfn.RedriveExecutionOutput, error)
	ListExecutions(context.Context, *sfn.ListExecutionsInput, ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
}

var _ executionAPI = (*sfn.Client)(nil)

// applyCommand is `crr apply`.
func applyCommand() *command {
	return &command{
		name:    "apply",
		summary: "start the provision state machine for a pair request (--wait to follow it)",
		run:     apply,
	}
}

func apply(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("crr apply")
	file := addRequestFlag(fs)
	smARN := fs.String("state-machine", "", "provision state machine `ARN`; default arn:<partition>:states:<region>:<your account>:stateMachine:"+provisionStateMachineName)
	wait := fs.Bool("wait", false, "follow the execution until it ends, printing each state as it runs")
	redrive := fs.Bool("redrive", false, "if this request's execution failed, timed out or was aborted, redrive it from the failed state (within 14 days)")
	rerun := fs.Bool("rerun", false, "start a new execution even if this exact request already ran (e.g. to repair drift); its name gets a -r<UTC time> suffix")
	aw := addAWSFlags(fs)
	usage := "crr apply -f pair.json [--wait] [--state-machine ARN] [--redrive | --rerun] [--region R] [--profile P]\n\n" +
		"Validates the request locally (exit 3 if invalid), then starts the provision state machine\n" +
		"with it. The execution is named <pairId>-<request hash>: applying the same request again\n" +
		"follows the existing execution instead of starting another. Needs states:StartExecution,\n" +
		"states:DescribeExecution and, with --wait, states:GetExecutionHistory; --redrive needs\n" +
		"states:RedriveExecution. Exits 1 if the execution fails, times out or is aborted."
	if done, err := parseFlags(fs, env, usage, args); done || err != nil {
		return err
	}
	if *redrive && *rerun {
		return usagef("--redrive and --rerun exclude each other: redrive resumes the failed execution, rerun starts a new one")
	}
	req, err := loadRequest(env, *file)
	if err != nil {
		return err
	}
	cfg, err := aw.load(ctx)
	if err != nil {
		return err
	}
	if *smARN == "" {
		if *smARN, err = defaultStateMachineARN(ctx, cfg); err != nil {
			return err
		}
	}
	client := awsclient.SFN(cfg)
	name := req.ExecutionName()
	if *rerun {
		name += "-r" + time.Now().UTC().Format("20060102T150405")
	}
	fmt.Fprintf(env.stdout, "state machine  %s\n", *smARN)

	arn, err := startOrAttach(ctx, env, client, *smARN, name, canonicalInput(req), *redrive)
	if err != nil {
		return err
	}
	if arn == "" { // attached to an execution that had already ended, and reported it
		return nil
	}
	if !*wait {
		fmt.Fprintf(env.stdout, "\nfollow it with:  crr status %s\n", arn)
		fmt.Fprintf(env.stdout, "console:         %s\n", consoleURL(arn))
		return nil
	}
	return follow(ctx, env, client, arn)
}

// canonicalInput is the execution input for a request: the defaulted request as compact
// JSON. Sending the canonical form rather than the file's bytes makes "same request" mean
// "same input" to Step Functions, which treats a StartExecution with the name and input
// of a running execution as a success instead of ExecutionAlreadyExists.
func canonicalInput(r spec.Request) string {
	// Marshal of a Request cannot fail: strings, bools, integers and a string map.
	b, err := json.Marshal(r)
	if err != nil {
		panic("marshal request: " + err.Error())
	}
	return string(b)
}

// joinTolerance is how much older than our StartExecution call an execution's start date
// must be for us to say we joined a running execution rather than started it; it absorbs
// clock skew between this machine and AWS.
const joinTolerance = 10 * time.Second

// startOrAttach starts the execution, or finds the one this request already has. It
// returns the ARN to follow, or "" when the existing execution has ended and has been
// reported (a failed one also returns an error).
func startOrAttach(ctx context.Context, env *cliEnv, c executionAPI, smARN, name, input string, redrive bool) (string, error) {
	called := time.Now()
	out, err := c.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(smARN), Name: aws.String(name), Input: aws.String(input),
	})
	if err == nil {
		arn := aws.ToString(out.ExecutionArn)
		if start := aws.ToTime(out.StartDate); !start.IsZero() && start.Before(called.Add(-joinTolerance)) {
			fmt.Fprintf(env.stdout, "joined        %s\n  (the same request has been running since %s; Step Functions starts one execution per name)\n",
				arn, start.UTC().Format(time.RFC3339))
		} else {
			fmt.Fprintf(env.stdout, "started       %s\n", arn)
		}
		if redrive {
			fmt.Fprintln(env.stdout, "  (--redrive: nothing to redrive, the execution is new or still running)")
		}
		return arn, nil
	}
	if apiCode(err) != "ExecutionAlreadyExists" {
		return "", explain(err, "states:StartExecution", smARN, map[string]string{
			"StateMachineDoesNotExist": "deploy the HubStack first (see README), or pass --state-machine with its ARN (output ProvisionStateMachineArn of stack s3crr-hub), and --region for the hub's region",
			"ExecutionLimitExceeded":   "too many executions are running: wait for some to end, or stop stuck ones in the Step Functions console",
			"InvalidExecutionInput":    "the request is too large or not JSON; run crr validate -f FILE",
			"InvalidArn":               "--state-machine must look like arn:aws:states:REGION:ACCOUNT:stateMachine:" + provisionStateMachineName,
			"StateMachineDeleting":     "the state machine is being deleted: redeploy the HubStack",
		})
	}

	// Same name: this exact request already has an execution (names are unique for 90
	// days). Follow it rather than fail.
	arn := executionARN(smARN, name)
	d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return "", explain(err, "states:DescribeExecution", arn, nil)
	}
	status := d.Status
	fmt.Fprintf(env.stdout, "exists        %s\n  this exact request already has an execution (name = pair ID + request hash), %s, started %s: following it instead of starting another\n",
		arn, status, aws.ToTime(d.StartDate).UTC().Format(time.RFC3339))
	switch status {
	case sfntypes.ExecutionStatusRunning, sfntypes.ExecutionStatusPendingRedrive:
		return arn, nil
	case sfntypes.ExecutionStatusSucceeded:
		fmt.Fprintln(env.stdout)
		printExecutionResult(env.stdout, d)
		fmt.Fprintln(env.stdout, "\nthe pair was provisioned by that execution; to run it again (e.g. to repair drift) use --rerun")
		return "", nil
	}
	if redrive {
		if _, err := c.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(arn)}); err != nil {
			return "", explain(err, "states:RedriveExecution", arn, map[string]string{
				"ExecutionNotRedrivable": "the execution can no longer be redriven (Step Functions allows it for 14 days after it ended, up to 1000 times): start a new run with --rerun",
			})
		}
		fmt.Fprintln(env.stdout, "redriven      resuming from the state that failed")
		return arn, nil
	}
	fmt.Fprintln(env.stdout)
	return "", reportEnd(env.stdout, d, "fix the cause, then run crr apply again with --redrive to resume from the failed state (or --rerun to start over)")
}

// executionARN is the ARN Step Functions gives an execution of a standard state machine:
// the state machine's ARN with "execution" for "stateMachine", and the name appended.
func executionARN(smARN, name string) string {
	return strings.Replace(smARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

// consoleURL is the execution's page in the Step Functions console.
func consoleURL(execARN string) string {
	region := arnField(execARN, 3)
	return "https://" + region + ".console.aws.amazon.com/states/home?region=" + region + "#/v2/executions/details/" + execARN
}

// arnField returns the i-th colon-separated field of an ARN ("" if it has fewer).
func arnField(arn string, i int) string {
	parts := strings.SplitN(arn, ":", 7)
	if i < len(parts) {
		return parts[i]
	}
	return ""
}

// follow prints the execution's progress until it ends, then its result. It returns an
// error (exit 1) if the execution did not succeed or if following was interrupted.
func follow(ctx context.Context, env *cliEnv, c executionAPI, arn string) error {
	d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return explain(err, "states:DescribeExecution", arn, nil)
	}
	h := newHistoryPrinter(env.stdout, aws.ToTime(d.StartDate))
	fmt.Fprintln(env.stdout)
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
		case <-time.After(pollInterval):
		}
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
		row("changes", "none: everything was already in place")
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

func indent(s, prefix string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}

// formatElapsed prints a duration at a useful precision: tenths of a second under a
// minute, whole seconds above.
func formatElapsed(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// historyPrinter turns new history events into progress lines, remembering across polls
// which state each event belongs to (an event names its state only when the state is
// entered or exited; the others point at their predecessor).
type historyPrinter struct {
	w        io.Writer
	start    time.Time
	lastID   int64
	state    map[int64]string     // event ID -> state name
	entered  map[string]time.Time // state name -> when it was last entered
	attempts map[string]int       // state name -> tasks scheduled since it was entered
}

func newHistoryPrinter(w io.Writer, start time.Time) *historyPrinter {
	return &historyPrinter{w: w, start: start, state: map[int64]string{}, entered: map[string]time.Time{}, attempts: map[string]int{}}
}

// poll reads the events after the last one printed, newest first page by page until it
// reaches the ones already seen (so a long execution is not re-read on every poll), and
// prints them in order.
func (h *historyPrinter) poll(ctx context.Context, c executionAPI, arn string) error {
	var fresh []sfntypes.HistoryEvent
	var token *string
	for {
		out, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{
			ExecutionArn: aws.String(arn), ReverseOrder: true, MaxResults: 500, NextToken: token,
			// States' inputs and outputs (which carry every earlier stage's result) are
			// not printed, so they are not fetched; names, errors and causes still are.
			IncludeExecutionData: aws.Bool(false),
		})
		if err != nil {
			return explain(err, "states:GetExecutionHistory", arn, nil)
		}
		reached := false
		for _, ev := range out.Events {
			if ev.Id <= h.lastID {
				reached = true
				break
			}
			fresh = append(fresh, ev)
		}
		if reached || out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	for i := len(fresh) - 1; i >= 0; i-- {
		h.print(fresh[i])
	}
	return nil
}

func (h *historyPrinter) print(ev sfntypes.HistoryEvent) {
	if ev.Id > h.lastID {
		h.lastID = ev.Id
	}
	at := aws.ToTime(ev.Timestamp)
	name := h.state[ev.PreviousEventId]
	line := func(verb, text string) {
		fmt.Fprintln(h.w, strings.TrimRight(fmt.Sprintf("%8s  %-9s %s", formatElapsed(at.Sub(h.start)), verb, text), " "))
	}
	typ := string(ev.Type)
	switch {
	case ev.StateEnteredEventDetails != nil:
		name = aws.ToString(ev.StateEnteredEventDetails.Name)
		h.entered[name] = at
		h.attempts[name] = 0
		line("entered", name)
	case ev.StateExitedEventDetails != nil:
		name = aws.ToString(ev.StateExitedEventDetails.Name)
		took := ""
		if t, ok := h.entered[name]; ok {
			took = " (" + formatElapsed(at.Sub(t)) + ")"
		}
		line("exited", name+took)
	case ev.Type == sfntypes.HistoryEventTypeTaskScheduled || ev.Type == sfntypes.HistoryEventTypeLambdaFunctionScheduled:
		h.attempts[name]++
		if n := h.attempts[name]; n > 1 {
			line("retrying", fmt.Sprintf("%s (attempt %d)", name, n))
		}
	case ev.Type == sfntypes.HistoryEventTypeExecutionStarted:
		line("started", "")
	case ev.Type == sfntypes.HistoryEventTypeExecutionRedriven:
		line("redriven", "")
	case ev.Type == sfntypes.HistoryEventTypeExecutionSucceeded:
		line("succeeded", "")
	case ev.Type == sfntypes.HistoryEventTypeExecutionFailed:
		line("failed", "")
	case ev.Type == sfntypes.HistoryEventTypeExecutionTimedOut:
		line("timed out", "")
	case ev.Type == sfntypes.HistoryEventTypeExecutionAborted:
		line("aborted", "")
	default:
		if e, c, ok := failureDetails(ev); ok {
			text := name + ": " + e
			if c != "" {
				text += ": " + shorten(firstLine(readableCause(c)), 160)
			}
			if strings.HasSuffix(typ, "TimedOut") {
				line("timed out", text)
			} else {
				line("failed", text)
			}
		}
	}
	h.state[ev.Id] = name
}

// failureDetails returns the error and cause of an event that records a task or state
// failure, whichever of the many *FailedEventDetails it carries.
func failureDetails(ev sfntypes.HistoryEvent) (errName, cause string, ok bool) {
	switch {
	case ev.TaskFailedEventDetails != nil:
		return aws.ToString(ev.TaskFailedEventDetails.Error), aws.ToString(ev.TaskFailedEventDetails.Cause), true
	case ev.TaskTimedOutEventDetails != nil:
		return aws.ToString(ev.TaskTimedOutEventDetails.Error), aws.ToString(ev.TaskTimedOutEventDetails.Cause), true
	case ev.TaskStartFailedEventDetails != nil:
		return aws.ToString(ev.TaskStartFailedEventDetails.Error), aws.ToString(ev.TaskStartFailedEventDetails.Cause), true
	case ev.TaskSubmitFailedEventDetails != nil:
		return aws.ToString(ev.TaskSubmitFailedEventDetails.Error), aws.ToString(ev.TaskSubmitFailedEventDetails.Cause), true
	case ev.LambdaFunctionFailedEventDetails != nil:
		return aws.ToString(ev.LambdaFunctionFailedEventDetails.Error), aws.ToString(ev.LambdaFunctionFailedEventDetails.Cause), true
	case ev.LambdaFunctionTimedOutEventDetails != nil:
		return aws.ToString(ev.LambdaFunctionTimedOutEventDetails.Error), aws.ToString(ev.LambdaFunctionTimedOutEventDetails.Cause), true
	case ev.LambdaFunctionStartFailedEventDetails != nil:
		return aws.ToString(ev.LambdaFunctionStartFailedEventDetails.Error), aws.ToString(ev.LambdaFunctionStartFailedEventDetails.Cause), true
	case ev.LambdaFunctionScheduleFailedEventDetails != nil:
		return aws.ToString(ev.LambdaFunctionScheduleFailedEventDetails.Error), aws.ToString(ev.LambdaFunctionScheduleFailedEventDetails.Cause), true
	case ev.EvaluationFailedEventDetails != nil:
		return aws.ToString(ev.EvaluationFailedEventDetails.Error), aws.ToString(ev.EvaluationFailedEventDetails.Cause), true
	}
	return "", "", false
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// awsFlags are the flags every command that calls AWS takes.
type awsFlags struct {
	region, profile *string
}

func addAWSFlags(fs *flag.FlagSet) awsFlags {
	return awsFlags{
		region:  fs.String("region", "", "the hub's AWS `region`; default AWS_REGION or the profile's region"),
		profile: fs.String("profile", "", "shared config `profile`; default AWS_PROFILE or \"default\""),
	}
}

// load returns the SDK configuration from the standard chain (environment, shared files,
// SSO, instance role; endpoints from AWS_ENDPOINT_URL_*), and checks up front that it has
// a region and credentials, so the user gets a fix instead of an SDK error later.
func (f awsFlags) load(ctx context.Context) (aws.Config, error) {
	cfg, err := awsclient.LoadProfile(ctx, *f.region, *f.profile)
	if err != nil {
		return aws.Config{}, fmt.Errorf("%w\n  fix: check --profile / AWS_PROFILE and ~/.aws/config", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("no AWS region: pass --region with the hub's region, or set AWS_REGION")
	}
	if cfg.Credentials == nil {
		return aws.Config{}, errors.New("no AWS credentials\n  fix: pass --profile or set AWS_PROFILE (aws configure, aws sso login), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, fmt.Errorf("get AWS credentials: %w\n  fix: pass --profile or set AWS_PROFILE (aws configure, aws sso login), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", err)
	}
	return cfg, nil
}

// defaultStateMachineARN is where the HubStack puts the provision state machine: it has
// a fixed name, so the ARN follows from the caller's account and region.
func defaultStateMachineARN(ctx context.Context, cfg aws.Config) (string, error) {
	id, err := awsclient.STS(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", explain(err, "sts:GetCallerIdentity", "", map[string]string{
			"AccessDenied": "pass --state-machine with the provision state machine's ARN",
		})
	}
	partition := arnField(aws.ToString(id.Arn), 1)
	if partition == "" {
		partition = "aws"
	}
	return fmt.Sprintf("arn:%s:states:%s:%s:stateMachine:%s", partition, cfg.Region, aws.ToString(id.Account), provisionStateMachineName), nil
}

// apiCode is the AWS error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// explain turns an error from an AWS call into one that names the call (as its IAM
// action), the resource, the AWS error code and what to do. fixes gives call-specific
// advice by error code; common codes (denied, expired or unknown credentials, throttling)
// have advice here.
func explain(err error, action, resource string, fixes map[string]string) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("%s %s: %w", action, resource, err)
	}
	code := ae.ErrorCode()
	fix := fixes[code]
	if fix == "" {
		switch code {
		case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation":
			fix = fmt.Sprintf("your credentials are not allowed %s on %s: add it to their IAM policy, or use --profile for a role that has it (aws sts get-caller-identity shows who you are)", action, orAll(resource))
		case "ExpiredToken", "ExpiredTokenException", "RequestExpired":
			fix = "your session credentials have expired: renew them (e.g. aws sso login) and retry"
		case "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException", "SignatureDoesNotMatch":
			fix = "AWS does not accept your credentials: check --profile / AWS_PROFILE and AWS_ACCESS_KEY_ID"
		case "ThrottlingException", "TooManyRequestsException", "Throttling":
			fix = "AWS is throttling the calls: wait a little and retry"
		}
	}
	where := action
	if resource != "" {
		where += " " + resource
	}
	msg := fmt.Sprintf("%s: %s: %s", where, code, ae.ErrorMessage())
	if fix != "" {
		msg += "\n  fix: " + fix
	}
	return &awsError{msg: msg, err: err}
}

func orAll(resource string) string {
	if resource == "" {
		return "*"
	}
	return resource
}

// awsError is an explained AWS error; it keeps the SDK error for errors.As.
type awsError struct {
	msg string
	err error
}

func (e *awsError) Error() string { return e.msg }
func (e *awsError) Unwrap() error { return e.err }
