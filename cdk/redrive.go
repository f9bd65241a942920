package cdk

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/statemachine"
)

// newRedriveStateMachine deploys statemachine/redrive.asl.json unchanged, as the
// provision state machine is deployed (DefinitionSubstitutions for its ${...}
// placeholders), with its own role: it reads and updates the pairs table but never
// registers a pair.
func newRedriveStateMachine(stack awscdk.Stack, h *HubStack, hp policy.HubParams) (awsstepfunctions.StateMachine, error) {
	return newHubStateMachine(stack, hubStateMachine{
		id: "Redrive", asl: statemachine.Redrive, name: names.RedriveStateMachineName,
		subs:   h.provisionSubstitutions(),
		policy: policy.RedriveStateMachinePolicy(hp),
	})
}
