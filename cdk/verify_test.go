package cdk

import (
	"slices"
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/verifyjob"
	"github.com/s3crr/s3crr/statemachine"
)

// The verify state machine is statemachine/verify.asl.json verbatim, invoking the verify
// Lambda and nothing else; the Lambda's role has exactly VerifyFunctionPolicy's grants.
func TestVerifyStateMachineAndFunction(t *testing.T) {
	tm := tmpl(t, names.HubStackName)
	sm := only(t, tm, "AWS::StepFunctions::StateMachine", "StateMachineName", names.VerifyStateMachineName)
	raw, err := statemachine.Raw(statemachine.Verify)
	if err != nil {
		t.Fatal(err)
	}
	if render(sm.props["DefinitionString"]) != string(raw) {
		t.Error("DefinitionString is not statemachine/verify.asl.json verbatim")
	}
	fn := only(t, tm, "AWS::Lambda::Function", "FunctionName", names.VerifyFunctionName)
	subs, _ := sm.props["DefinitionSubstitutions"].(map[string]any)
	if len(subs) != 1 || render(subs[statemachine.VerifyFunctionArn]) != "${"+fn.id+".Arn}" {
		t.Errorf("substitutions %v, want only the verify Lambda's ARN", subs)
	}
	smRole := strings.TrimSuffix(strings.TrimPrefix(render(sm.props["RoleArn"]), "${"), ".Arn}")
	// Its Distributed Map starts child executions of this state machine only, and follows
	// (describes, stops) only this state machine's executions.
	childGrants := map[string]string{}
	for _, st := range roleStatements(t, tm, smRole) {
		for _, a := range strs(st["Action"]) {
			if strings.HasPrefix(a, "states:") {
				childGrants[a] = render(st["Resource"])
			}
		}
	}
	self := ":stateMachine:" + names.VerifyStateMachineName
	children := ":execution:" + names.VerifyStateMachineName + "/*"
	if len(childGrants) != 3 || !strings.HasSuffix(childGrants["states:StartExecution"], self) ||
		!strings.HasSuffix(childGrants["states:DescribeExecution"], children) || !strings.HasSuffix(childGrants["states:StopExecution"], children) {
		t.Errorf("the verify state machine's states: grants %v; want StartExecution on itself, DescribeExecution and StopExecution on its executions", childGrants)
	}
	for _, st := range roleStatements(t, tm, smRole) {
		actions := strs(st["Action"])
		if slices.Contains(actions, "lambda:InvokeFunction") && render(st["Resource"]) != "${"+fn.id+".Arn}" {
			t.Errorf("the verify state machine invokes %s, want only the verify Lambda", render(st["Resource"]))
		}
		for _, a := range actions {
			if strings.HasPrefix(a, "sns:") || strings.HasPrefix(a, "dynamodb:") {
				t.Errorf("the verify state machine's role grants %s: the Lambda records and alerts itself", a)
			}
		}
	}
	env := fn.props["Environment"].(map[string]any)["Variables"].(map[string]any)
	topic := only(t, tm, "AWS::SNS::Topic", "TopicName", names.AlertTopicName)
	if got := render(env["ALERT_TOPIC_ARN"]); got != "${"+topic.id+"}" {
		t.Errorf("ALERT_TOPIC_ARN = %s, want the alert topic", got)
	}
	role := only(t, tm, "AWS::IAM::Role", "RoleName", names.VerifyFunctionRoleName)
	var metrics, assumes bool
	for _, st := range roleStatements(t, tm, role.id) {
		actions := strs(st["Action"])
		switch {
		case slices.Equal(actions, []string{"cloudwatch:PutMetricData"}):
			metrics = true
			if !strings.Contains(render(st["Condition"]), policy.MetricsNamespace) {
				t.Errorf("PutMetricData without the namespace condition: %s", render(st["Condition"]))
			}
		case slices.Equal(actions, []string{"sts:AssumeRole"}):
			assumes = true
			want := []string{"arn:aws:iam::111111111111:role/s3crr-auditor", "arn:aws:iam::222222222222:role/s3crr-auditor",
				"arn:aws:iam::111111111111:role/s3crr-verifier", "arn:aws:iam::222222222222:role/s3crr-verifier"}
			got := strs(st["Resource"])
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("sts:AssumeRole on %v, want %v", got, want)
			}
		}
	}
	if !metrics || !assumes {
		t.Errorf("verify role: metric grant %v, assume grant %v; want both", metrics, assumes)
	}
}

// The nightly schedule starts the verify state machine with {} (every pair) at the
// configured expression and time zone, through a role that may only start it.
func TestVerifyScheduleAndDashboard(t *testing.T) {
	tm := tmpl(t, names.HubStackName)
	sched := resources(tm, "AWS::Scheduler::Schedule")
	if len(sched) != 1 {
		t.Fatalf("%d schedules, want 1", len(sched))
	}
	p := sched[0].props
	if got := render(p["ScheduleExpression"]); got != DefaultVerifySchedule {
		t.Errorf("expression %s, want %s", got, DefaultVerifySchedule)
	}
	if got := render(p["ScheduleExpressionTimezone"]); got != "UTC" {
		t.Errorf("time zone %s, want UTC", got)
	}
	sm := only(t, tm, "AWS::StepFunctions::StateMachine", "StateMachineName", names.VerifyStateMachineName)
	target := p["Target"].(map[string]any)
	if got := render(target["Arn"]); got != "${"+sm.id+"}" {
		t.Errorf("target %s, want the verify state machine %s", got, sm.id)
	}
	if got := render(target["Input"]); got != statemachine.ScheduledVerifyInput() || got != "{}" {
		t.Errorf("input %s, want statemachine.ScheduledVerifyInput(), {} (every registered pair), which the local hub sends too", got)
	}
	roleID := strings.TrimSuffix(strings.TrimPrefix(render(target["RoleArn"]), "${"), ".Arn}")
	sts := roleStatements(t, tm, roleID)
	if len(sts) != 1 || !slices.Equal(strs(sts[0]["Action"]), []string{"states:StartExecution"}) || render(sts[0]["Resource"]) != "${"+sm.id+"}" {
		t.Errorf("schedule role statements %v, want only states:StartExecution on the verify state machine", sts)
	}
	dash := resources(tm, "AWS::CloudWatch::Dashboard")
	if len(dash) != 1 {
		t.Fatalf("%d dashboards, want 1", len(dash))
	}
	body := render(dash[0].props["DashboardBody"])
	for _, m := range []string{verifyjob.MetricVerificationFailed, verifyjob.MetricFindings, verifyjob.MetricCanaryLatency} {
		if !strings.Contains(body, m) || !strings.Contains(body, verifyjob.DimensionPairID) {
			t.Errorf("dashboard does not show %s per %s", m, verifyjob.DimensionPairID)
		}
	}
}

// Each member's primary region has the verifier role: trusted only by the verify Lambda's
// role with the ExternalId, with exactly policy.VerifierPolicy.
func TestVerifierRole(t *testing.T) {
	tm := tmpl(t, "s3crr-member-111111111111-ap-south-1")
	role := only(t, tm, "AWS::IAM::Role", "RoleName", names.VerifierRoleName)
	vp := policy.VerifierParams{Account: "111111111111", HubAccount: "333333333333", ExternalID: "test-external-id",
		HubRoleARN: "arn:aws:iam::333333333333:role/" + names.VerifyFunctionRoleName, BucketPattern: "acme-*"}
	if !jsonEqual(t, role.props["AssumeRolePolicyDocument"], policy.VerifierTrustPolicy(vp).JSON()) {
		t.Errorf("trust differs from policy.VerifierTrustPolicy:\n%s", render(role.props["AssumeRolePolicyDocument"]))
	}
	pols := asList(role.props["Policies"])
	if len(pols) != 1 || !jsonEqual(t, pols[0].(map[string]any)["PolicyDocument"], policy.VerifierPolicy(vp).JSON()) {
		t.Errorf("permission policy differs from policy.VerifierPolicy")
	}
}
