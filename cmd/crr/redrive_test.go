package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const redriveSM = "arn:aws:states:us-east-1:123456789012:stateMachine:s3crr-redrive"

// jobStatusExit is the history event of the JobStatus state ending with the job's progress.
func jobStatusExit(h *history, sec float64, state string, outputs map[string]string) histEvent {
	key := map[string]string{"JobStatus": "batchStatus", "JobReport": "batchReport"}[state]
	out, _ := json.Marshal(map[string]any{"results": map[string]any{key: map[string]any{"result": map[string]any{"outputs": outputs}}}})
	return h.ev(sec, "TaskStateExited", 0, map[string]any{"stateExitedEventDetails": map[string]any{"name": state, "output": string(out)}})
}

func TestRedriveWaitShowsTasksOfTheTotal(t *testing.T) {
	h := &history{start: time.Now()}
	job := func(status, ok, failed string) map[string]string {
		return map[string]string{"jobId": "job-1", "status": status, "total": "10", "succeeded": ok, "failed": failed}
	}
	f := &fakeSFN{t: t, startDate: time.Now(), exec: execState{Status: "RUNNING"},
		batches: [][]histEvent{
			{jobStatusExit(h, 1, "JobStatus", job("Active", "4", "0"))},
			{jobStatusExit(h, 2, "JobStatus", job("Complete", "10", "0"))},
		},
		final: execState{Status: "SUCCEEDED", Output: `{"job":{"jobId":"job-1","status":"Complete","total":"10","succeeded":"10","failed":"0"}}`}}
	useEndpoints(t, map[string]string{"SFN": f.serve()})
	old := pollInterval
	pollInterval = time.Millisecond
	t.Cleanup(func() { pollInterval = old })

	code, stdout, stderr := runCLI(t, "redrive", "payments-archive", "--wait", "--statuses", "failed,NONE", "--state-machine", redriveSM)
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	for _, want := range []string{
		"started       arn:aws:states:us-east-1:123456789012:execution:s3crr-provision:redrive-payments-archive-",
		"job job-1  Active     4 succeeded, 0 failed of 10 tasks",
		"job job-1  Complete   10 succeeded, 0 failed of 10 tasks",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestRedriveJSONReportsAFailedRedrive(t *testing.T) {
	f := &fakeSFN{t: t, startDate: time.Now(), exec: execState{Status: "RUNNING"}, batches: [][]histEvent{{}},
		final: execState{Status: "FAILED", Error: "batchReport: BatchReplicationFailed", Cause: "2 object(s) failed with DstObjectHardDeleted"}}
	useEndpoints(t, map[string]string{"SFN": f.serve()})
	old := pollInterval
	pollInterval = time.Millisecond
	t.Cleanup(func() { pollInterval = old })

	code, stdout, _ := runCLI(t, "redrive", "payments-archive", "--wait", "--output", "json", "--state-machine", redriveSM)
	if code != exitFailure {
		t.Fatalf("exit code %d, want 1 for a failed re-drive", code)
	}
	var got redriveResult
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
	}
	if got.Status != "FAILED" || !strings.Contains(got.Cause, "DstObjectHardDeleted") {
		t.Errorf("result %+v", got)
	}
}

func TestRedriveRejectsBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{"redrive", "Not_A_Pair"},
		{"redrive", "payments-archive", "--statuses", "COMPLETED"},
		{"redrive"},
	} {
		if code, _, _ := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit code %d, want %d", args, code, exitUsage)
		}
	}
}

// crr status shows the last re-drive the redrive state machine recorded on the pair.
func TestStatusShowsTheLastRedrive(t *testing.T) {
	var b strings.Builder
	printLastRedrive(&b, map[string]ddbtypes.AttributeValue{})
	if !strings.Contains(b.String(), "re-driven     never") {
		t.Errorf("without a re-drive: %q", b.String())
	}
	b.Reset()
	printLastRedrive(&b, map[string]ddbtypes.AttributeValue{"lastRedrive": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
		"executionArn": &ddbtypes.AttributeValueMemberS{Value: "arn:aws:states:us-east-1:000000000000:execution:s3crr-redrive:pay-1"},
		"at":           &ddbtypes.AttributeValueMemberS{Value: "2026-12-03T09:00:00Z"},
		"jobId":        &ddbtypes.AttributeValueMemberS{Value: "job-7"},
		"status":       &ddbtypes.AttributeValueMemberS{Value: "Complete"},
		"total":        &ddbtypes.AttributeValueMemberN{Value: "12"},
		"succeeded":    &ddbtypes.AttributeValueMemberN{Value: "11"},
		"failed":       &ddbtypes.AttributeValueMemberN{Value: "1"},
	}}})
	for _, want := range []string{"Complete at 2026-12-03T09:00:00Z: job job-7, 11 of 12 task(s) succeeded, 1 failed", "execution:s3crr-redrive:pay-1"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status %q lacks %q", b.String(), want)
		}
	}
}
