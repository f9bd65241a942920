package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/localdeploy"
	"github.com/s3crr/s3crr/internal/provision"
)

// TestDestroyPlanListsRemovalsAndChangesNothing provisions the sample pair on the
// simulator, then runs `crr destroy --plan` through the real provision Lambda: it must
// list the pair's rule, statements, role, notification and alarm, and make no mutating
// call in the member accounts.
func TestDestroyPlanListsRemovalsAndChangesNothing(t *testing.T) {
	env := newPlanEnv(t)
	fn := env.function(t, testExternalID)
	useEndpoints(t, map[string]string{"LAMBDA": env.hub.Endpoint})
	ctx := context.Background()
	base, err := localdeploy.HubFunctionConfig(ctx, env.deploy)
	if err != nil {
		t.Fatal(err)
	}
	reqJSON, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	svc := provision.New(provision.Config{ExternalID: testExternalID}, provision.AssumeRoleConnector{Base: base})
	if _, err := svc.Apply(ctx, reqJSON); err != nil {
		t.Fatalf("apply: %v", err)
	}
	env.sim.ResetCalls()

	code, stdout, stderr := runCLI(t, "destroy", "payments-archive", "--plan", "-f", samplePath, "--function", fn, "--output", "json")
	if code != exitOK {
		t.Fatalf("exit code %d, want 0: %s", code, stderr)
	}
	if n := env.sim.MutatingCalls(""); n != 0 {
		t.Errorf("destroy --plan made %d mutating calls in the member accounts, want 0: %v", n, env.sim.Calls())
	}
	var plan destroyPlan
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
		t.Fatalf("decode --output json: %v\n%s", err, stdout)
	}
	var actions []string
	for _, st := range plan.Stages {
		for _, c := range st.Changes {
			actions = append(actions, c.Action+" "+c.Resource)
		}
	}
	all := strings.Join(actions, "\n")
	for _, want := range []string{
		"delete replication configuration arn:aws:s3:::payments-src",
		"unsubscribe replication events arn:aws:s3:::payments-src",
		"delete failed-replication alarm",
		"remove bucket policy statements arn:aws:s3:::payments-dst",
		"remove key policy statements",
		"delete replication role arn:aws:iam::111111111111:role/s3crr/s3crr-repl-payments-src-38d30e55",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the plan does not list %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "delete bucket") || strings.Contains(all, "schedule key deletion") {
		t.Errorf("without --delete-buckets/--delete-keys the plan removes data-bearing resources:\n%s", all)
	}
	if plan.Total != len(actions) {
		t.Errorf("changes = %d, want %d", plan.Total, len(actions))
	}
}

func TestDestroyErrors(t *testing.T) {
	runCLICases(t, []cliCase{
		{"no pair", []string{"destroy"}, exitUsage, nil},
		{"not a pair ID", []string{"destroy", "Payments"}, exitUsage, []string{"not a pair ID"}},
		{"window too short", []string{"destroy", "payments-archive", "--delete-keys", "--pending-window-days", "3"}, exitUsage, []string{"7 to 30"}},
		{"plan and wait", []string{"destroy", "payments-archive", "--plan", "--wait"}, exitUsage, []string{"nothing to --wait for"}},
		{"request of another pair", []string{"destroy", "other-pair", "--plan", "-f", samplePath}, exitUsage, []string{`not "other-pair"`}},
	})
}
