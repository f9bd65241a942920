package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSFN is a Step Functions endpoint (AWS JSON 1.0, as the SDK speaks it) serving one
// execution whose history grows by one batch of events per DescribeExecution, with
// GetExecutionHistory pages of two events, so following it exercises polling, reverse
// paging with nextToken and printing only new events. kumo cannot do this: its history
// names no states and has no task failures.
type fakeSFN struct {
	t *testing.T

	mu sync.Mutex
	// start answers StartExecution: an error code, or "" for success with startDate.
	startErr  string
	listErr   string // ListExecutions' error code, if any
	startDate time.Time
	exec      execState
	batches   [][]histEvent // revealed one per DescribeExecution
	revealed  int
	final     execState // the state once every batch is revealed
	redriven  bool
	calls     []string
	tokens    int // history calls that carried a nextToken
	reverse   bool
	withData  bool // a history call asked for states' inputs and outputs
}

type execState struct {
	Status, Error, Cause, Output string
}

type histEvent map[string]any

func (f *fakeSFN) serve() string {
	srv := httptest.NewServer(http.HandlerFunc(f.handle))
	f.t.Cleanup(srv.Close)
	return srv.URL
}

func (f *fakeSFN) handle(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
	f.calls = append(f.calls, op)
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.t.Errorf("%s: decode request: %v", op, err)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	fail := func(code string) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": code + " (fake)"})
	}
	reply := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	epoch := func(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
	const arn = "arn:aws:states:us-east-1:123456789012:execution:s3crr-provision:"
	switch op {
	case "StartExecution":
		if f.startErr != "" {
			fail(f.startErr)
			return
		}
		reply(map[string]any{"executionArn": arn + in["name"].(string), "startDate": epoch(f.startDate)})
	case "ListExecutions":
		if f.listErr != "" {
			fail(f.listErr)
			return
		}
		reply(map[string]any{"executions": []any{}})
	case "RedriveExecution":
		f.redriven = true
		f.exec = execState{Status: "RUNNING"}
		reply(map[string]any{"redriveDate": epoch(f.startDate.Add(time.Minute))})
	case "DescribeExecution":
		if f.exec.Status == "RUNNING" && f.revealed < len(f.batches) {
			f.revealed++
			if f.revealed == len(f.batches) {
				f.exec = f.final
			}
		}
		name := strings.TrimPrefix(in["executionArn"].(string), arn)
		out := map[string]any{
			"executionArn": in["executionArn"], "name": name, "status": f.exec.Status,
			"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:s3crr-provision",
			"startDate":       epoch(f.startDate),
		}
		if f.exec.Status != "RUNNING" {
			out["stopDate"] = epoch(f.startDate.Add(42 * time.Second))
			out["error"], out["cause"], out["output"] = f.exec.Error, f.exec.Cause, f.exec.Output
		}
		reply(out)
	case "GetExecutionHistory":
		var all []histEvent
		for _, b := range f.batches[:f.revealed] {
			all = append(all, b...)
		}
		f.reverse = in["reverseOrder"] == true
		f.withData = f.withData || in["includeExecutionData"] != false
		if f.reverse {
			for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
				all[i], all[j] = all[j], all[i]
			}
		}
		offset := 0
		if tok, ok := in["nextToken"].(string); ok {
			f.tokens++
			offset, _ = strconv.Atoi(tok)
		}
		end := min(offset+2, len(all))
		out := map[string]any{"events": all[offset:end]}
		if end < len(all) {
			out["nextToken"] = strconv.Itoa(end)
		}
		reply(out)
	default:
		f.t.Errorf("unexpected call %s", op)
		fail("UnknownOperationException")
	}
}

// history builds events with ids and timestamps (seconds after start) in order.
type history struct {
	start time.Time
	next  int64
}

func (h *history) ev(sec float64, typ string, prev int64, details map[string]any) histEvent {
	h.next++
	e := histEvent{"id": h.next, "previousEventId": prev, "type": typ, "timestamp": float64(h.start.UnixMilli())/1000 + sec}
	for k, v := range details {
		e[k] = v
	}
	return e
}
