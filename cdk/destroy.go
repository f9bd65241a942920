package cdk

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/statemachine"
)

// newDestroyStateMachine deploys statemachine/destroy.asl.json (`crr destroy`) as
// newProvisionStateMachine deploys the provision one: unchanged, with the same
// placeholders filled by CloudFormation, and a role of its own whose policy
// (policy.DestroyStateMachinePolicy) can read and delete a registration but not write one.
func newDestroyStateMachine(stack awscdk.Stack, h *HubStack, hp policy.HubParams) (awsstepfunctions.StateMachine, error) {
	return newHubStateMachine(stack, hubStateMachine{
		id: "Destroy", asl: statemachine.Destroy, name: names.DestroyStateMachineName,
		subs:   h.provisionSubstitutions(),
		policy: policy.DestroyStateMachinePolicy(hp),
	})
}
