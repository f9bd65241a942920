package cdk

import (
	"fmt"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/statemachine"
)

// newRedriveStateMachine deploys statemachine/redrive.asl.json unchanged, as the
// provision state machine is deployed (DefinitionSubstitutions for its ${...}
// placeholders), with its own role: it reads and updates the pairs table but never
// registers a pair.
func newRedriveStateMachine(stack awscdk.Stack, h *HubStack, hp policy.HubParams) (awsstepfunctions.StateMachine, error) {
	raw, err := statemachine.Raw(statemachine.Redrive)
	if err != nil {
		return nil, fmt.Errorf("redrive state machine: %w", err)
	}
	subs := map[string]*string{
		statemachine.ProvisionFunctionArn: h.Functions["provision"].FunctionArn(),
		statemachine.AlertTopicArn:        h.AlertTopic.TopicArn(),
		statemachine.PairsTableName:       h.PairsTable.TableName(),
	}
	want, err := statemachine.Placeholders(statemachine.Redrive)
	if err != nil {
		return nil, fmt.Errorf("redrive state machine: %w", err)
	}
	have := make([]string, 0, len(subs))
	for k := range subs {
		have = append(have, k)
	}
	sort.Strings(have)
	if fmt.Sprint(want) != fmt.Sprint(have) {
		return nil, fmt.Errorf("redrive state machine: the ASL has placeholders %v, the stack substitutes %v", want, have)
	}
	role := awsiam.NewRole(stack, jsii.String("RedriveStateMachineRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("states.amazonaws.com"), nil),
		Description: jsii.String("s3crr redrive state machine; its policy comes from internal/policy"),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			names.StateMachinePolicyName: awsiam.PolicyDocument_FromJson(jsonValue(policy.RedriveStateMachinePolicy(hp).JSON())),
		},
	})
	logs := awslogs.NewLogGroup(stack, jsii.String("RedriveStateMachineLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/vendedlogs/states/" + names.RedriveStateMachineName),
		Retention:     LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	sm := awsstepfunctions.NewStateMachine(stack, jsii.String("RedriveStateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineName:        jsii.String(names.RedriveStateMachineName),
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(string(raw))),
		DefinitionSubstitutions: &subs,
		Role:                    role,
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false),
		},
		TracingEnabled: jsii.Bool(true),
	})
	waive(role, iam5Waiver(
		"Logging to CloudWatch Logs needs logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies and DescribeLogGroups on \"*\" (Step Functions' documented log-delivery policy: these calls support no resource-level permissions); tracing adds X-Ray's trace and sampling calls, which support none either.",
		"",
		findingAnyResource,
	))
	return sm, nil
}
