package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
)

// applyCommand is `crr apply`.
func applyCommand() *command {
	return &command{
		name:    "apply",
		summary: "start the provision state machine for a pair request (--wait to follow it)",
		run:     apply,
	}
}

func apply(ctx context.Context, env *cliEnv, args []string) (err error) {
	var doc applyDoc
	fs := newFlagSet("crr apply")
	file := addRequestFlag(fs)
	smARN := fs.String("state-machine", "", "provision state machine `ARN`; default arn:<partition>:states:<region>:<your account>:stateMachine:"+names.ProvisionStateMachineName)
	wait := fs.Bool("wait", false, "follow the execution until it ends, printing each state as it runs")
	redrive := fs.Bool("redrive", false, "if this request's execution failed, timed out or was aborted, redrive it from the failed state (within 14 days)")
	rerun := fs.Bool("rerun", false, "start a new execution even if this exact request already ran (e.g. to repair drift); its name gets a -r<UTC time> suffix")
	aw := addAWSFlags(fs)
	out := addOutputFlag(fs)
	usage := "crr apply -f pair.json [--wait] [--state-machine ARN] [--redrive | --rerun] [--region R] [--profile P] [--endpoint-url URL] [--output json]\n\n" +
		"Validates the request locally (exit 3 if invalid), then starts the provision state machine\n" +
		"with it. The execution is named <pairId>-<request hash>: applying the same request again\n" +
		"follows the existing execution instead of starting another. Needs states:StartExecution,\n" +
		"states:DescribeExecution and, with --wait, states:GetExecutionHistory; --redrive needs\n" +
		"states:RedriveExecution. Exits 1 if the execution fails, times out or is aborted.\n" +
		"--output json prints, instead of the text, one document once apply is done (with\n" +
		"--wait, once the execution has ended): what apply did and the execution's description."
	if done, err := parseFlags(fs, env, usage, args); done || err != nil {
		return err
	}
	asJSON, err := out.json()
	if err != nil {
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
	if asJSON {
		// The same steps, their text discarded; the document says what they found.
		stdout := env.stdout
		env = &cliEnv{stdin: env.stdin, stdout: io.Discard, stderr: env.stderr}
		defer func() { err = emitApply(ctx, stdout, client, *smARN, doc, err) }()
	}
	name := req.ExecutionName()
	if *rerun {
		name += "-r" + time.Now().UTC().Format("20060102T150405")
	}
	fmt.Fprintf(env.stdout, "state machine  %s\n", *smARN)

	doc.StateMachineARN = *smARN
	var ended bool
	doc.ExecutionARN, doc.Action, ended, err = startOrAttach(ctx, env, client, *smARN, name, canonicalInput(req), *redrive)
	if err != nil || ended { // an execution that had already ended is reported
		return err
	}
	arn := doc.ExecutionARN
	if !*wait {
		fmt.Fprintf(env.stdout, "\nfollow it with:  crr status %s\n", arn)
		fmt.Fprintf(env.stdout, "console:         %s\n", consoleURL(arn))
		return nil
	}
	return follow(ctx, env, client, arn)
}

// joinTolerance is how much older than our StartExecution call an execution's start date
// must be for us to say we joined a running execution rather than started it; it absorbs
// clock skew between this machine and AWS.
const joinTolerance = 10 * time.Second

// startOrAttach starts the execution, or finds the one this request already has. It
// returns the ARN to follow and what it did (started, joined, exists, redriven); ended
// is true when the existing execution has ended and has been reported (a failed one also
// returns an error).
func startOrAttach(ctx context.Context, env *cliEnv, c executionAPI, smARN, name, input string, redrive bool) (arn, action string, ended bool, err error) {
	called := time.Now()
	out, err := c.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(smARN), Name: aws.String(name), Input: aws.String(input),
	})
	if err == nil {
		arn := aws.ToString(out.ExecutionArn)
		action := "started"
		if start := aws.ToTime(out.StartDate); !start.IsZero() && start.Before(called.Add(-joinTolerance)) {
			action = "joined"
			fmt.Fprintf(env.stdout, "joined        %s\n  (the same request has been running since %s; Step Functions starts one execution per name)\n",
				arn, start.UTC().Format(time.RFC3339))
		} else {
			fmt.Fprintf(env.stdout, "started       %s\n", arn)
		}
		if redrive {
			fmt.Fprintln(env.stdout, "  (--redrive: nothing to redrive, the execution is new or still running)")
		}
		return arn, action, false, nil
	}
	if awsclient.ErrorCode(err) != "ExecutionAlreadyExists" {
		return "", "", false, explain(err, "states:StartExecution", smARN, map[string]string{
			"StateMachineDoesNotExist": "deploy the HubStack first (see README), or pass --state-machine with its ARN (output ProvisionStateMachineArn of stack s3crr-hub), and --region for the hub's region",
			"ExecutionLimitExceeded":   "too many executions are running: wait for some to end, or stop stuck ones in the Step Functions console",
			"InvalidExecutionInput":    "the request is too large or not JSON; run crr validate -f FILE",
			"InvalidArn":               "--state-machine must look like arn:aws:states:REGION:ACCOUNT:stateMachine:" + names.ProvisionStateMachineName,
			"StateMachineDeleting":     "the state machine is being deleted: redeploy the HubStack",
		})
	}

	// Same name: this exact request already has an execution (names are unique for 90
	// days). Follow it rather than fail.
	arn = executionARN(smARN, name)
	d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return "", "", false, explain(err, "states:DescribeExecution", arn, nil)
	}
	status := d.Status
	fmt.Fprintf(env.stdout, "exists        %s\n  this exact request already has an execution (name = pair ID + request hash), %s, started %s: following it instead of starting another\n",
		arn, status, aws.ToTime(d.StartDate).UTC().Format(time.RFC3339))
	switch status {
	case sfntypes.ExecutionStatusRunning, sfntypes.ExecutionStatusPendingRedrive:
		return arn, "exists", false, nil
	case sfntypes.ExecutionStatusSucceeded:
		fmt.Fprintln(env.stdout)
		printExecutionResult(env.stdout, d)
		fmt.Fprintln(env.stdout, "\nthe pair was provisioned by that execution; to run it again (e.g. to repair drift) use --rerun")
		return arn, "exists", true, nil
	}
	if redrive {
		if _, err := c.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(arn)}); err != nil {
			return "", "", false, explain(err, "states:RedriveExecution", arn, map[string]string{
				"ExecutionNotRedrivable": "the execution can no longer be redriven (Step Functions allows it for 14 days after it ended, up to 1000 times): start a new run with --rerun",
			})
		}
		fmt.Fprintln(env.stdout, "redriven      resuming from the state that failed")
		return arn, "redriven", false, nil
	}
	fmt.Fprintln(env.stdout)
	return arn, "exists", true, reportEnd(env.stdout, d, "fix the cause, then run crr apply again with --redrive to resume from the failed state (or --rerun to start over)")
}

// applyDoc is apply's --output json document.
type applyDoc struct {
	StateMachineARN string `json:"stateMachineArn"`
	// Action is what apply did: started, joined (the same request was running), exists
	// (the same request had an execution) or redriven.
	Action       string        `json:"action,omitempty"`
	ExecutionARN string        `json:"executionArn,omitempty"`
	Execution    *executionDoc `json:"execution,omitempty"`
	Error        string        `json:"error,omitempty"`
}

// emitApply writes apply's JSON document, describing the execution as it is now, and
// returns runErr (apply's own outcome, which decides the exit code).
func emitApply(ctx context.Context, w io.Writer, c executionAPI, smARN string, doc applyDoc, runErr error) error {
	if doc.StateMachineARN == "" {
		doc.StateMachineARN = smARN
	}
	if doc.ExecutionARN != "" {
		d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(doc.ExecutionARN)})
		if err == nil {
			doc.Execution = newExecutionDoc(d)
		} else if runErr == nil {
			runErr = explain(err, "states:DescribeExecution", doc.ExecutionARN, nil)
		}
	}
	if runErr != nil {
		doc.Error = runErr.Error()
	}
	if err := writeJSON(w, doc); err != nil && runErr == nil {
		return err
	}
	return runErr
}
