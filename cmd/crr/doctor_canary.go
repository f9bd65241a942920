package main

// `crr doctor --canary`: the canary of a pair, through the verify Lambda. The members'
// s3crr-verifier roles trust only the verify Lambda's role, so an operator's credentials reach
// the canary prefix by invoking the Lambda's stages, as `crr plan` invokes the provision
// Lambda's; the CLI does the waiting between them.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/s3crr/s3crr/internal/spec"
	"github.com/s3crr/s3crr/internal/verify"
	"github.com/s3crr/s3crr/internal/verifyjob"
)

// canaryPoll is how often doctor --canary reads the canary's replication status.
var canaryPoll = 5 * time.Second

// runCanary checks, puts the canary, polls it until it is no longer pending, and deletes
// it, each step one invocation of the verify Lambda.
func runCanary(ctx context.Context, c invokeAPI, function string, req spec.Request) (verify.CanaryResult, error) {
	raw, err := json.Marshal(req)
	if err != nil {
		return verify.CanaryResult{}, fmt.Errorf("encode request: %w", err)
	}
	st := verifyjob.PairState{PairID: req.PairID, Request: string(raw)}
	for _, stage := range []string{verifyjob.StageCheck, verifyjob.StageCanaryPut} {
		if st, err = invokeVerifyStage(ctx, c, function, stage, st); err != nil {
			return verify.CanaryResult{}, err
		}
	}
	for st.Canary != nil && st.Canary.Status == verify.CanaryPending {
		select {
		case <-ctx.Done():
			_, _ = invokeVerifyStage(context.WithoutCancel(ctx), c, function, verifyjob.StageCleanup, st)
			return *st.Canary, ctx.Err()
		case <-time.After(canaryPoll):
		}
		next, err := invokeVerifyStage(ctx, c, function, verifyjob.StageCanaryCheck, st)
		if err != nil {
			_, _ = invokeVerifyStage(ctx, c, function, verifyjob.StageCleanup, st)
			return *st.Canary, err
		}
		st = next
	}
	if st.Canary == nil {
		return verify.CanaryResult{}, fmt.Errorf("the verify Lambda returned no canary")
	}
	if _, err := invokeVerifyStage(ctx, c, function, verifyjob.StageCleanup, st); err != nil {
		return *st.Canary, err
	}
	return *st.Canary, nil
}

func invokeVerifyStage(ctx context.Context, c invokeAPI, function, stage string, st verifyjob.PairState) (verifyjob.PairState, error) {
	payload, err := json.Marshal(verifyjob.Event{Stage: stage, State: &st})
	if err != nil {
		return st, fmt.Errorf("encode event for stage %s: %w", stage, err)
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(function), InvocationType: lambdatypes.InvocationTypeRequestResponse, Payload: payload})
	if err != nil {
		return st, explain(err, "lambda:InvokeFunction", function, map[string]string{
			"ResourceNotFoundException": "no such function in this account and region: deploy the HubStack, or pass --function with the verify function's name (and --region for the hub's region)",
		})
	}
	if out.FunctionError != nil {
		var le lambdaError
		if err := json.Unmarshal(out.Payload, &le); err != nil || le.ErrorType == "" {
			le = lambdaError{ErrorType: aws.ToString(out.FunctionError), ErrorMessage: string(out.Payload)}
		}
		return st, &stageFailedError{stage: stage, errorType: le.ErrorType, message: le.ErrorMessage}
	}
	var next verifyjob.PairState
	if err := json.Unmarshal(out.Payload, &next); err != nil {
		return st, fmt.Errorf("decode the result of stage %s: %w (payload %.200s)", stage, err, out.Payload)
	}
	return next, nil
}

// printCanary prints the canary's outcome and its findings.
func printCanary(w io.Writer, res verify.CanaryResult) {
	switch res.Status {
	case verify.CanaryCompleted:
		fmt.Fprintf(w, "\ncanary: replicated under the destination key in %.1fs (s3://%s/%s, deleted on both sides)\n", res.LatencySeconds, res.Canary.SourceBucket, res.Canary.Key)
	default:
		fmt.Fprintf(w, "\ncanary: %s (replication status %s)\n", res.Status, orDash(res.ReplicationStatus))
	}
	for _, f := range res.Findings {
		fmt.Fprintf(w, "%-7s %s [%s]\n        %s\n        fix: %s\n", f.Severity, f.Check, f.Account, f.Message, f.Fix)
	}
}
