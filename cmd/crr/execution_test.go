package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestApplyWaitPrintsEachStateOnceWithRetriesAndTheFailure(t *testing.T) {
	start := time.Now().Add(-time.Second).Truncate(time.Second)
	h := &history{start: start}
	cause := `{"errorType":"AccessDenied","errorMessage":"stage preflight: the hub could not assume the provisioner role in account 222222222222 (fix: deploy the MemberStack)"}`
	notReady := `{"errorType":"PrincipalNotReady","errorMessage":"role not visible to KMS yet"}`
	f := &fakeSFN{t: t, startDate: start, exec: execState{Status: "RUNNING"}}
	f.batches = [][]histEvent{
		{
			h.ev(0, "ExecutionStarted", 0, nil),
			h.ev(0, "TaskStateEntered", 1, map[string]any{"stateEnteredEventDetails": map[string]any{"name": "Validate"}}),
			h.ev(0.1, "TaskScheduled", 2, nil),
			h.ev(1.2, "TaskSucceeded", 3, nil),
			h.ev(1.3, "TaskStateExited", 4, map[string]any{"stateExitedEventDetails": map[string]any{"name": "Validate"}}),
		},
		{
			h.ev(1.4, "TaskStateEntered", 5, map[string]any{"stateEnteredEventDetails": map[string]any{"name": "Preflight"}}),
			h.ev(1.5, "TaskScheduled", 6, nil),
			h.ev(2.5, "TaskFailed", 7, map[string]any{"taskFailedEventDetails": map[string]any{"error": "PrincipalNotReady", "cause": notReady, "resource": "invoke", "resourceType": "lambda"}}),
		},
		{}, // a poll that finds nothing new
		{
			h.ev(7.5, "TaskScheduled", 8, nil),
			h.ev(8.5, "TaskFailed", 9, map[string]any{"taskFailedEventDetails": map[string]any{"error": "AccessDenied", "cause": cause, "resource": "invoke", "resourceType": "lambda"}}),
			h.ev(8.6, "TaskStateExited", 10, map[string]any{"stateExitedEventDetails": map[string]any{"name": "Preflight"}}),
			h.ev(8.7, "FailStateEntered", 11, map[string]any{"stateEnteredEventDetails": map[string]any{"name": "Failed"}}),
			h.ev(8.8, "ExecutionFailed", 12, map[string]any{"executionFailedEventDetails": map[string]any{"error": "preflight: AccessDenied"}}),
		},
	}
	f.final = execState{Status: "FAILED", Error: "preflight: AccessDenied", Cause: "stage preflight failed with AccessDenied: " + cause}
	useEndpoints(t, map[string]string{"SFN": f.serve()})

	code, stdout, stderr := runCLI(t, "apply", "-f", samplePath, "--wait", "--state-machine", "arn:aws:states:us-east-1:123456789012:stateMachine:s3crr-provision")
	if code != exitFailure {
		t.Fatalf("exit code %d, want 1 for a FAILED execution", code)
	}
	wantLines := []string{
		"    0.0s  started",
		"    0.0s  entered   Validate",
		"    1.3s  exited    Validate (1.3s)",
		"    1.4s  entered   Preflight",
		"    2.5s  failed    Preflight: PrincipalNotReady: role not visible to KMS yet",
		"    7.5s  retrying  Preflight (attempt 2)",
		"    8.5s  failed    Preflight: AccessDenied: stage preflight: the hub could not assume the provisioner role in account 222222222222 (fix: deploy the MemberStack)",
		"    8.6s  exited    Preflight (7.2s)",
		"    8.7s  entered   Failed",
		"    8.8s  failed",
	}
	for _, want := range wantLines {
		if n := strings.Count(stdout, want+"\n"); n != 1 {
			t.Errorf("line %q printed %d times, want once", want, n)
		}
	}
	// In order.
	last := -1
	for _, want := range wantLines {
		i := strings.Index(stdout, want+"\n")
		if i <= last {
			t.Errorf("line %q out of order", want)
		}
		last = i
	}
	for _, want := range []string{
		"FAILED  payments-archive-",
		"  error  preflight: AccessDenied\n",
		// The Lambda's error payload in the cause is unpacked to its message.
		"  cause  stage preflight failed with AccessDenied: stage preflight: the hub could not assume the provisioner role in account 222222222222 (fix: deploy the MemberStack)\n",
		"--redrive",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout does not contain %q", want)
		}
	}
	if !strings.Contains(stderr, "execution payments-archive-") || !strings.Contains(stderr, " FAILED") {
		t.Errorf("stderr does not say the execution FAILED")
	}
	if !f.reverse || f.tokens == 0 {
		t.Errorf("history was not read newest first with nextToken paging (reverse %v, token calls %d)", f.reverse, f.tokens)
	}
	if f.withData {
		t.Errorf("history was read with the states' inputs and outputs, which are not printed")
	}
}

func TestApplyWaitInterruptedLeavesTheExecutionRunning(t *testing.T) {
	f := &fakeSFN{t: t, startDate: time.Now(), exec: execState{Status: "RUNNING"}}
	useEndpoints(t, map[string]string{"SFN": f.serve()})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var out, errOut syncBuffer
	code := run(ctx, &cliEnv{stdout: &out, stderr: &errOut}, []string{"apply", "-f", samplePath, "--wait", "--state-machine", "arn:aws:states:us-east-1:123456789012:stateMachine:s3crr-provision"})
	if code != exitFailure {
		t.Errorf("exit code %d, want 1", code)
	}
	if want := "stopped following; the execution goes on: crr status arn:aws:states:us-east-1:123456789012:execution:s3crr-provision:payments-archive-"; !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr %q does not contain %q", errOut.String(), want)
	}
}
