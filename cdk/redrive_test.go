package cdk

import (
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/statemachine"
)

// The HubStack deploys statemachine/redrive.asl.json verbatim, with the same three
// substitutions as the provision state machine, under its own role whose policy reads
// and updates the pairs table but cannot register a pair.
func TestRedriveStateMachine(t *testing.T) {
	tm := tmpl(t, names.HubStackName)
	sm := only(t, tm, "AWS::StepFunctions::StateMachine", "StateMachineName", names.RedriveStateMachineName)
	raw, err := statemachine.Raw(statemachine.Redrive)
	if err != nil {
		t.Fatal(err)
	}
	if def := render(sm.props["DefinitionString"]); def != string(raw) {
		t.Errorf("DefinitionString is not statemachine/redrive.asl.json verbatim (%d vs %d bytes)", len(def), len(raw))
	}
	fn := only(t, tm, "AWS::Lambda::Function", "FunctionName", names.ProvisionFunctionName)
	table := only(t, tm, "AWS::DynamoDB::Table", "TableName", names.PairsTableName)
	subs, _ := sm.props["DefinitionSubstitutions"].(map[string]any)
	if got := render(subs[statemachine.ProvisionFunctionArn]); got != "${"+fn.id+".Arn}" {
		t.Errorf("function substitution %s", got)
	}
	if got := render(subs[statemachine.PairsTableName]); got != "${"+table.id+"}" {
		t.Errorf("table substitution %s", got)
	}
	roleID := strings.TrimSuffix(strings.TrimPrefix(render(sm.props["RoleArn"]), "${"), ".Arn}")
	role, ok := tm["Resources"].(map[string]any)[roleID].(map[string]any)
	if !ok {
		t.Fatalf("state machine role %s not in the template", roleID)
	}
	policies := render(role["Properties"].(map[string]any)["Policies"])
	for _, want := range []string{"dynamodb:GetItem", "dynamodb:UpdateItem", "lambda:InvokeFunction", "sns:Publish"} {
		if !strings.Contains(policies, want) {
			t.Errorf("redrive role policy lacks %s", want)
		}
	}
	if strings.Contains(policies, "dynamodb:PutItem") {
		t.Errorf("redrive role may register pairs (dynamodb:PutItem)")
	}
	outputs, _ := tm["Outputs"].(map[string]any)
	if _, ok := outputs["RedriveStateMachineArn"]; !ok {
		t.Errorf("no RedriveStateMachineArn output")
	}
}
