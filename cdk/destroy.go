package cdk

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/statemachine"
)

// newDestroyStateMachine deploys statemachine/destroy.asl.json (`crr destroy`) as
// newProvisionStateMachine deploys the provision one: unchanged, with the same
// placeholders filled by CloudFormation, and a role of its own whose policy
// (policy.DestroyStateMachinePolicy) can read and delete a registration but not write one.
func newDestroyStateMachine(stack awscdk.Stack, h *HubStack, hp policy.HubParams) (awsstepfunctions.StateMachine, error) {
	raw, err := statemachine.Raw(statemachine.Destroy)
	if err != nil {
		return nil, fmt.Errorf("destroy state machine: %w", err)
	}
	subs := map[string]*string{
		statemachine.ProvisionFunctionArn: h.Functions[names.ProvisionFunctionDir].FunctionArn(),
		statemachine.AlertTopicArn:        h.AlertTopic.TopicArn(),
		statemachine.PairsTableName:       h.PairsTable.TableName(),
	}
	want, err := statemachine.Placeholders(statemachine.Destroy)
	if err != nil {
		return nil, fmt.Errorf("destroy state machine: %w", err)
	}
	if len(want) != len(subs) {
		return nil, fmt.Errorf("destroy state machine: the ASL has placeholders %v, the stack substitutes %d", want, len(subs))
	}
	for _, p := range want {
		if subs[p] == nil {
			return nil, fmt.Errorf("destroy state machine: the ASL has placeholder %s, which the stack does not substitute", p)
		}
	}
	doc := policy.DestroyStateMachinePolicy(hp)
	role := awsiam.NewRole(stack, jsii.String("DestroyStateMachineRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("states.amazonaws.com"), nil),
		Description: jsii.String("s3crr destroy state machine; its policy comes from internal/policy"),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			names.StateMachinePolicyName: awsiam.PolicyDocument_FromJson(jsonValue(doc.JSON())),
		},
	})
	logs := awslogs.NewLogGroup(stack, jsii.String("DestroyStateMachineLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/vendedlogs/states/" + names.DestroyStateMachineName),
		Retention:     LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	sm := awsstepfunctions.NewStateMachine(stack, jsii.String("DestroyStateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineName:        jsii.String(names.DestroyStateMachineName),
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
