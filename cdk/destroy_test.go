package cdk

import (
	"slices"
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/statemachine"
)

// TestDestroyStateMachine: HubStack deploys statemachine/destroy.asl.json verbatim with the
// provision function, topic and table substituted, under a role that may read and delete
// a registration but never write one.
func TestDestroyStateMachine(t *testing.T) {
	tm := tmpl(t, names.HubStackName)
	sm := only(t, tm, "AWS::StepFunctions::StateMachine", "StateMachineName", names.DestroyStateMachineName)
	raw, err := statemachine.Raw(statemachine.Destroy)
	if err != nil {
		t.Fatal(err)
	}
	if def := render(sm.props["DefinitionString"]); def != string(raw) {
		t.Errorf("DefinitionString is not statemachine/destroy.asl.json verbatim (%d vs %d bytes)", len(def), len(raw))
	}
	fn := only(t, tm, "AWS::Lambda::Function", "FunctionName", names.ProvisionFunctionName)
	table := only(t, tm, "AWS::DynamoDB::Table", "TableName", names.PairsTableName)
	subs, _ := sm.props["DefinitionSubstitutions"].(map[string]any)
	if got := render(subs[statemachine.ProvisionFunctionArn]); got != "${"+fn.id+".Arn}" {
		t.Errorf("ProvisionFunctionArn = %s", got)
	}
	if got := render(subs[statemachine.PairsTableName]); got != "${"+table.id+"}" {
		t.Errorf("PairsTableName = %s", got)
	}
	roleID := strings.TrimSuffix(strings.TrimPrefix(render(sm.props["RoleArn"]), "${"), ".Arn}")
	var dynamo []string
	for _, st := range roleStatements(t, tm, roleID) {
		for _, a := range strs(st["Action"]) {
			if strings.HasPrefix(a, "dynamodb:") {
				dynamo = append(dynamo, a)
			}
		}
	}
	slices.Sort(dynamo)
	if !slices.Equal(dynamo, []string{"dynamodb:DeleteItem", "dynamodb:GetItem"}) {
		t.Errorf("the destroy role's DynamoDB actions = %v, want GetItem and DeleteItem only", dynamo)
	}
}
