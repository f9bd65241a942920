package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/spec"
	"github.com/s3crr/s3crr/internal/verifyjob"
	"github.com/s3crr/s3crr/statemachine"
)

// verifyCommand is `crr verify`.
func verifyCommand() *command {
	return &command{
		name:    "verify",
		summary: "start a verification (checks and a canary) of a registered pair or of all of them",
		run:     verifyPairs,
	}
}

func verifyPairs(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("crr verify")
	all := fs.Bool("all", false, "verify every registered pair")
	wait := fs.Bool("wait", false, "wait for the verification to end and print each pair's result")
	smARN := fs.String("state-machine", "", "verify state machine `ARN`; default arn:<partition>:states:<region>:<your account>:stateMachine:"+names.VerifyStateMachineName)
	output := addOutputFlag(fs)
	aw := addAWSFlags(fs)
	usage := "crr verify <pair-id> | --all [--wait] [--output text|json] [--state-machine ARN] [--region R] [--profile P]\n\n" +
		"Starts the verify state machine for one registered pair or all of them (--all starts\n" +
		"what the nightly schedule starts, with its input): sufficiency and drift checks through the members' auditor roles, then a\n" +
		"canary object that must replicate under the destination key. The outcome is recorded on\n" +
		"the pair (crr status shows it), put as s3crr metrics and alerted when it fails. With\n" +
		"--wait, exits 1 when any pair failed."
	var pairID string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		pairID, args = args[0], args[1:]
	}
	if done, err := parseFlags(fs, env, usage, args); done || err != nil {
		return err
	}
	asJSON, err := output.json()
	if err != nil {
		return err
	}
	switch {
	case *all == (pairID != ""):
		return usagef("give a pair ID or --all, not both and not neither")
	case pairID != "" && !spec.ValidPairID(pairID):
		return usagef("%q is not a pair ID (lowercase letters, digits and -)", pairID)
	}
	cfg, err := aw.load(ctx)
	if err != nil {
		return err
	}
	if *smARN == "" {
		if *smARN, err = hubStateMachineARN(ctx, cfg, names.VerifyStateMachineName); err != nil {
			return err
		}
	}
	return startVerify(ctx, env, awsclient.SFN(cfg), *smARN, pairID, *wait, asJSON)
}

// verifyExecutionName is "verify-<pair or all>-<UTC time>", within Step Functions' 80
// characters: a pair's verifications sort by time, and two starts in one second of the
// same pair are one execution (the second gets ExecutionAlreadyExists).
func verifyExecutionName(pairID string, now time.Time) string {
	who := pairID
	if who == "" {
		who = "all"
	}
	suffix := "-" + now.UTC().Format("20060102T150405Z")
	if room := 80 - len("verify-") - len(suffix); len(who) > room {
		who = who[:room]
	}
	return "verify-" + who + suffix
}

func startVerify(ctx context.Context, env *cliEnv, c executionAPI, smARN, pairID string, wait, asJSON bool) error {
	// --all starts exactly what the nightly schedule starts.
	input := statemachine.ScheduledVerifyInput()
	if pairID != "" {
		b, _ := json.Marshal(map[string]string{"pairId": pairID})
		input = string(b)
	}
	out, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(smARN),
		Name: aws.String(verifyExecutionName(pairID, time.Now())), Input: aws.String(input)})
	if err != nil {
		return explain(err, "states:StartExecution", smARN, map[string]string{
			"StateMachineDoesNotExist": "deploy the HubStack first, or pass --state-machine with the verify state machine's ARN, and --region for the hub's region",
			"ExecutionAlreadyExists":   "a verification of this pair started this second; wait a second and retry",
		})
	}
	arn := aws.ToString(out.ExecutionArn)
	if !wait {
		if asJSON {
			return writeJSON(env.stdout, map[string]string{"executionArn": arn})
		}
		fmt.Fprintf(env.stdout, "started %s\n  %s\n", arn, consoleURL(arn))
		return nil
	}
	if !asJSON {
		fmt.Fprintf(env.stdout, "started %s, waiting for it to end\n", arn)
	}
	d, err := waitExecution(ctx, c, arn)
	if err != nil {
		return err
	}
	if d.Status != sfntypes.ExecutionStatusSucceeded {
		return fmt.Errorf("verification %s ended %s: %s: %s", arn, d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	var res struct {
		Results []verifyjob.Result `json:"results"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &res); err != nil {
		return fmt.Errorf("read the output of %s: %w", arn, err)
	}
	if asJSON {
		if err := writeJSON(env.stdout, res); err != nil {
			return err
		}
	} else {
		printResults(env.stdout, res.Results)
	}
	failed := 0
	for _, r := range res.Results {
		if r.Status != verifyjob.StatusPassed {
			failed++
		}
	}
	if failed > 0 {
		return &verifyFailedError{failed: failed}
	}
	return nil
}

// waitExecution polls until the execution has ended.
func waitExecution(ctx context.Context, c executionAPI, arn string) (*sfn.DescribeExecutionOutput, error) {
	for {
		d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			return nil, explain(err, "states:DescribeExecution", arn, nil)
		}
		if d.Status != sfntypes.ExecutionStatusRunning && d.Status != sfntypes.ExecutionStatusPendingRedrive {
			return d, nil
		}
		select {
		case <-ctx.Done():
			return nil, interrupted(ctx, arn, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// printResults prints each pair's outcome, then its findings with their fixes.
func printResults(w io.Writer, results []verifyjob.Result) {
	for _, r := range results {
		latency := "no replica"
		if r.LatencySeconds > 0 {
			latency = "canary replicated in " + strconv.FormatFloat(r.LatencySeconds, 'f', 1, 64) + "s"
		}
		fmt.Fprintf(w, "\npair %s: %s (%s, %d finding(s))\n", r.PairID, strings.ToUpper(orDash(r.Status)), latency, r.FindingCount)
		for _, f := range r.Findings {
			code := ""
			if f.Code != "" {
				code = " → " + f.Code
			}
			fmt.Fprintf(w, "  %-7s %s%s [%s]\n          %s\n          fix: %s\n", f.Severity, f.Check, code, f.Account, f.Message, f.Fix)
		}
	}
}

// printLastVerification adds the pair's last verification to `crr status`.
func printLastVerification(w io.Writer, item map[string]ddbtypes.AttributeValue) {
	at := str(item, verifyjob.AttrLastVerified)
	if at == "" {
		fmt.Fprintf(w, "  %-13s never (crr verify <pair-id> starts one)\n", "verified")
		return
	}
	num := func(k string) string {
		if n, ok := item[k].(*ddbtypes.AttributeValueMemberN); ok {
			return n.Value
		}
		return "?"
	}
	fmt.Fprintf(w, "  %-13s %s at %s: canary latency %ss, %s finding(s)\n", "verified", strings.ToUpper(str(item, verifyjob.AttrVerifyStatus)), at,
		num(verifyjob.AttrCanaryLatency), num(verifyjob.AttrFindingCount))
	if ex := str(item, verifyjob.AttrVerifyExec); ex != "" {
		fmt.Fprintf(w, "  %-13s %s\n", "", ex)
	}
}

// verifyFailedError ends `crr verify --wait` when a pair failed; the results are printed.
type verifyFailedError struct{ failed int }

func (e *verifyFailedError) Error() string {
	return fmt.Sprintf("%d pair(s) failed verification (above)", e.failed)
}

func (e *verifyFailedError) exitCode() int { return exitFailure }
