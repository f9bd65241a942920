package main

// Where the HubStack's resources are: the ARNs that follow from their names (internal/names).

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
)

// defaultStateMachineARN is where the HubStack puts the provision state machine: it has
// a fixed name, so the ARN follows from the caller's account and region.
func defaultStateMachineARN(ctx context.Context, cfg aws.Config) (string, error) {
	return hubStateMachineARN(ctx, cfg, names.ProvisionStateMachineName)
}

// hubStateMachineARN is the ARN of one of the HubStack's state machines, by its fixed name.
func hubStateMachineARN(ctx context.Context, cfg aws.Config, name string) (string, error) {
	id, err := awsclient.STS(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", explain(err, "sts:GetCallerIdentity", "", map[string]string{
			"AccessDenied": "pass --state-machine with the " + name + " state machine's ARN",
		})
	}
	partition := arnField(aws.ToString(id.Arn), 1)
	if partition == "" {
		partition = "aws"
	}
	return fmt.Sprintf("arn:%s:states:%s:%s:stateMachine:%s", partition, cfg.Region, aws.ToString(id.Account), name), nil
}

// executionARN is the ARN Step Functions gives an execution of a standard state machine:
// the state machine's ARN with "execution" for "stateMachine", and the name appended.
func executionARN(smARN, name string) string {
	return strings.Replace(smARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

// consoleURL is the execution's page in the Step Functions console.
func consoleURL(execARN string) string {
	region := arnField(execARN, 3)
	return "https://" + region + ".console.aws.amazon.com/states/home?region=" + region + "#/v2/executions/details/" + execARN
}
