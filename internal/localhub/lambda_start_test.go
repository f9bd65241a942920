package localhub

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBootstrapThatExitsAtStartFailsAddFunction: a Lambda binary that crashes before it
// polls the Runtime API (a bad build, a missing setting) fails AddFunction at once with
// its last output line, instead of a timeout that names nothing.
func TestBootstrapThatExitsAtStartFailsAddFunction(t *testing.T) {
	h := startHub(t)
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	script := "#!/bin/sh\necho 'EXTERNAL_ID is not set' >&2\nexit 3\n"
	if err := os.WriteFile(bootstrap, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := h.AddFunction(context.Background(), Function{Name: "exits-at-start", Bootstrap: bootstrap, Concurrency: 1})
	if err == nil {
		t.Fatal("AddFunction succeeded with a bootstrap that exits at start")
	}
	for _, want := range []string{"exits before polling the Runtime API", "exit status 3", "EXTERNAL_ID is not set"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q spans lines, want one", err)
	}
}

// TestStepFunctionsCallsReachTheRegisteredAPI: X-Amz-Target AWSStepFunctions.* on the
// hub's endpoint goes to the API a hub registered, everything else to kumo.
func TestStepFunctionsCallsReachTheRegisteredAPI(t *testing.T) {
	h := startHub(t)
	got := ""
	h.ServeStepFunctions(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("X-Amz-Target")
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(func() { h.ServeStepFunctions(nil) })
	req, err := http.NewRequest(http.MethodPost, h.Endpoint+"/", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "AWSStepFunctions.ListStateMachines")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || got != "AWSStepFunctions.ListStateMachines" {
		t.Errorf("Step Functions call: status %d, API saw %q; want it served by the registered API", resp.StatusCode, got)
	}
	// Other targets still reach kumo (DynamoDB here).
	req, _ = http.NewRequest(http.MethodPost, h.Endpoint+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusTeapot {
		t.Error("a DynamoDB call reached the Step Functions API")
	}
}
