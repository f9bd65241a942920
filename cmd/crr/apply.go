package main

import (
	"context"
	"fmt"
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

func apply(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("crr apply")
	file := addRequestFlag(fs)
	smARN := fs.String("state-machine", "", "provision state machine `ARN`; default arn:<partition>:states:<region>:<your account>:stateMachine:"+names.ProvisionStateMachineName)
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
	if awsclient.ErrorCode(err) != "ExecutionAlreadyExists" {
		return "", explain(err, "states:StartExecution", smARN, map[string]string{
			"StateMachineDoesNotExist": "deploy the HubStack first (see README), or pass --state-machine with its ARN (output ProvisionStateMachineArn of stack s3crr-hub), and --region for the hub's region",
			"ExecutionLimitExceeded":   "too many executions are running: wait for some to end, or stop stuck ones in the Step Functions console",
			"InvalidExecutionInput":    "the request is too large or not JSON; run crr validate -f FILE",
			"InvalidArn":               "--state-machine must look like arn:aws:states:REGION:ACCOUNT:stateMachine:" + names.ProvisionStateMachineName,
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
