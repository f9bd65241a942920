package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/s3crr/s3crr/internal/verify"
	"github.com/s3crr/s3crr/internal/verifyjob"
)

// fakeVerifySFN runs one verify execution: RUNNING for the first describe, then it
// ends with output.
type fakeVerifySFN struct {
	executionAPI
	started   *sfn.StartExecutionInput
	describes int
	output    string
}

func (f *fakeVerifySFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.started = in
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String("arn:aws:states:us-east-1:333333333333:execution:s3crr-verify:" + aws.ToString(in.Name))}, nil
}

func (f *fakeVerifySFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	f.describes++
	if f.describes == 1 {
		return &sfn.DescribeExecutionOutput{Status: sfntypes.ExecutionStatusRunning}, nil
	}
	return &sfn.DescribeExecutionOutput{Status: sfntypes.ExecutionStatusSucceeded, Output: aws.String(f.output)}, nil
}

func verifyOutput(t *testing.T, results ...verifyjob.Result) string {
	b, err := json.Marshal(map[string]any{"results": results})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestVerifyWaitPrintsEachPairAndFailsOnAFailedOne(t *testing.T) {
	defer func(d time.Duration) { pollInterval = d }(pollInterval)
	pollInterval = time.Millisecond
	fix := "aws kms enable-key --key-id arn:aws:kms:us-east-1:222222222222:key/k"
	f := &fakeVerifySFN{output: verifyOutput(t,
		verifyjob.Result{PairID: "payments-archive", Status: verifyjob.StatusPassed, LatencySeconds: 12.5},
		verifyjob.Result{PairID: "logs", Status: verifyjob.StatusFailed, FindingCount: 1, Findings: []verify.Finding{
			{Check: "destination-key-state", Severity: verify.SeverityError, Code: "DstKmsKeyInvalidState", Account: "222222222222", Message: "disabled", Fix: fix}}},
	)}
	var out bytes.Buffer
	err := startVerify(context.Background(), &cliEnv{stdout: &out}, f, "arn:aws:states:us-east-1:333333333333:stateMachine:s3crr-verify", "", true, false)
	var vf *verifyFailedError
	if !errors.As(err, &vf) || vf.failed != 1 || vf.exitCode() != exitFailure {
		t.Fatalf("err = %v, want one failed pair (exit 1)", err)
	}
	if got := aws.ToString(f.started.Input); got != "{}" {
		t.Errorf("--all input %s, want {} (every registered pair)", got)
	}
	if name := aws.ToString(f.started.Name); !strings.HasPrefix(name, "verify-all-") {
		t.Errorf("execution name %q", name)
	}
	for _, want := range []string{"pair payments-archive: PASSED (canary replicated in 12.5s", "pair logs: FAILED", "DstKmsKeyInvalidState", "fix: " + fix} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestVerifyOnePairStartsWithItsIDAndJSONWithoutWait(t *testing.T) {
	f := &fakeVerifySFN{}
	var out bytes.Buffer
	if err := startVerify(context.Background(), &cliEnv{stdout: &out}, f, "arn:aws:states:us-east-1:333333333333:stateMachine:s3crr-verify", "payments-archive", false, true); err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(f.started.Input); got != `{"pairId":"payments-archive"}` {
		t.Errorf("input %s", got)
	}
	var got map[string]string
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || !strings.Contains(got["executionArn"], ":execution:s3crr-verify:verify-payments-archive-") {
		t.Errorf("output %s (%v)", out.String(), err)
	}
	if f.describes != 0 {
		t.Error("without --wait the execution was followed")
	}
}

func TestVerifyExecutionNameFitsStepFunctions(t *testing.T) {
	at := time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)
	if got := verifyExecutionName("payments-archive", at); got != "verify-payments-archive-20261203T030000Z" {
		t.Errorf("name %q", got)
	}
	if got := verifyExecutionName(strings.Repeat("p", 100), at); len(got) > 80 || !strings.HasSuffix(got, "-20261203T030000Z") {
		t.Errorf("long pair: %q (%d characters)", got, len(got))
	}
}

func TestVerifyUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"payments-archive", "--all"}, {"Not_A_Pair"}, {"--all", "--output", "yaml"}} {
		err := verifyPairs(context.Background(), &cliEnv{stdout: &bytes.Buffer{}}, args)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}
