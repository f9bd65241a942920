// Command stubverify is a stand-in for the verify Lambda that keeps its contract (the
// stages' event and result shapes) without touching any account, so tests can run the
// provision state machine's verification of the new pair on the local hub and check the
// data flow of its states.
//
// Environment:
//
//	STUB_STATE_DIR       directory for its memory (required)
//	STUB_VERIFY_PENDING  the canary's first check answers pending this many times first
//	STUB_VERIFY_FAIL     record answers failed with this summary
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Stage     string         `json:"stage"`
	PairID    string         `json:"pairId"`
	State     map[string]any `json:"state"`
	Execution string         `json:"execution"`
}

// checked counts the canary checks in STUB_STATE_DIR: the hub may run each invocation
// in a new process.
func checked() int {
	f := filepath.Join(os.Getenv("STUB_STATE_DIR"), "verify-checks")
	b, _ := os.ReadFile(f)
	n, _ := strconv.Atoi(string(b))
	_ = os.WriteFile(f, []byte(strconv.Itoa(n+1)), 0o600)
	return n
}

func handle(_ context.Context, ev event) (any, error) {
	switch ev.Stage {
	case "list":
		return map[string]any{"pairs": []any{map[string]any{"pairId": ev.PairID, "request": "{}"}}}, nil
	case "check":
		return ev.State, nil
	case "canaryPut", "canaryCheck":
		pending, _ := strconv.Atoi(os.Getenv("STUB_VERIFY_PENDING"))
		status := "completed"
		if ev.Stage == "canaryPut" || checked() < pending {
			status = "pending"
		}
		ev.State["canary"] = map[string]any{"status": status}
		return ev.State, nil
	case "record":
		res := map[string]any{"pairId": ev.State["pairId"], "status": "passed", "verifiedAt": "2026-12-03T00:00:00Z",
			"latencySeconds": 1.5, "findingCount": 0, "findings": []any{}, "alerted": false,
			"summary": "passed: the canary replicated in 1.5 s under the destination key; 0 warning(s)"}
		if why := os.Getenv("STUB_VERIFY_FAIL"); why != "" {
			res["status"], res["summary"], res["alerted"], res["latencySeconds"] = "failed", why, true, 0
		}
		return res, nil
	}
	return nil, fmt.Errorf("stubverify: unknown stage %q", ev.Stage)
}

func main() {
	lambda.Start(handle)
}
