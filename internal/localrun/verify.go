package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/s3crr/s3crr/internal/localdeploy"
	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/verifyjob"
	"github.com/s3crr/s3crr/statemachine"
)

// canaryWaitState is the Wait between canary checks, in the verify state machine and in
// the provision state machine's verification of the new pair (the same states).
const canaryWaitState = "WaitForReplica"

// VerifyRun is one execution of the verify state machine.
type VerifyRun struct {
	Name      string
	Execution *localhub.Execution
	// Results are the pairs' results when the execution succeeded.
	Results []verifyjob.Result
}

// EnableVerify registers the verify Lambda in the hub with HubStack's environment and
// the verify role's credentials, and the verify state machine, with the same
// substitution as CDK, in the hub's Step Functions API. Start calls it.
func (e *Env) EnableVerify(ctx context.Context) error {
	if e.VerifyDefinition != nil {
		return nil
	}
	if err := e.addVerifyFunction(ctx); err != nil {
		return err
	}
	def, err := statemachine.Load(statemachine.Verify, map[string]string{statemachine.VerifyFunctionArn: e.VerifyFunctionARN})
	if err != nil {
		return err
	}
	// Registered in the hub's Step Functions API too, so `crr verify` works against
	// `crr local up` as against AWS.
	if e.StepFunctions != nil {
		roleARN := "arn:aws:iam::" + e.Hub.Account + ":role/" + names.VerifyStateMachineName
		arn, err := e.StepFunctions.Register(names.VerifyStateMachineName, string(def), roleARN)
		if err != nil {
			return fmt.Errorf("register state machine %s: %w", names.VerifyStateMachineName, err)
		}
		e.VerifyStateMachineARN = arn
	}
	e.VerifyDefinition = def
	return nil
}

// addVerifyFunction registers the verify Lambda in the hub once: the provision state
// machine invokes it too (the new pair's verification), so Start adds it before loading
// that definition.
func (e *Env) addVerifyFunction(ctx context.Context) error {
	if e.VerifyFunctionARN != "" {
		return nil
	}
	creds, err := localdeploy.HubRoleConfig(ctx, e.deployParams(), names.VerifyFunctionRoleName)
	if err != nil {
		return err
	}
	c, err := creds.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("retrieve the verify role's credentials: %w", err)
	}
	bootstrap, args, err := e.lambdaCommand(ctx, names.VerifyFunctionDir)
	if err != nil {
		return err
	}
	env := e.functionEnv(c)
	for _, k := range []string{"BOUNDARY_POLICY_ARN_FORMAT", "EVENTS_QUEUE_NAME", "PROVISIONER_ROLE_NAME", names.EnvLeaseTable} {
		delete(env, k) // the provision Lambda's settings
	}
	env["VERIFIER_ROLE_NAME"] = names.VerifierRoleName
	// The verify Lambda reads the pairs table and publishes alerts in the hub (kumo);
	// every member call, and its metrics (the hub account is in the simulator), go to
	// the member simulator.
	env["AWS_ENDPOINT_URL_DYNAMODB"] = e.Hub.Endpoint
	env["AWS_ENDPOINT_URL_SNS"] = e.Hub.Endpoint
	env["PAIRS_TABLE_NAME"] = e.Hub.TableName
	env["ALERT_TOPIC_ARN"] = e.Hub.TopicARN
	arn, err := e.Hub.AddFunction(ctx, localhub.Function{Name: names.VerifyFunctionName, Bootstrap: bootstrap, Args: args, Env: env, Timeout: 2 * time.Minute})
	if err != nil {
		return err
	}
	e.VerifyFunctionARN = arn
	return nil
}

// Verify runs the verify state machine once: input {"pairId": ...} for one pair, {}
// for every registered pair. name defaults to one derived from the time. The Wait
// between canary checks is 200 ms unless WaitOverrides["WaitForReplica"] says otherwise.
func (e *Env) Verify(ctx context.Context, input []byte, name string) (*VerifyRun, error) {
	if err := e.EnableVerify(ctx); err != nil {
		return nil, err
	}
	if name == "" {
		name = "verify-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	exec, err := e.Hub.Run(ctx, localhub.RunInput{Definition: e.VerifyDefinition, Input: input, Name: name,
		StateMachineName: names.VerifyStateMachineName, WaitOverrides: e.cfg.WaitOverrides, RetryOverrides: e.cfg.RetryOverrides}, nil)
	if err != nil {
		return nil, fmt.Errorf("run verify execution %s: %w", name, err)
	}
	run := &VerifyRun{Name: name, Execution: exec}
	if exec.Status == localhub.StatusSucceeded {
		var out struct {
			Results []verifyjob.Result `json:"results"`
		}
		if err := json.Unmarshal(exec.Output, &out); err != nil {
			return run, fmt.Errorf("decode output of execution %s: %w", name, err)
		}
		run.Results = out.Results
	}
	return run, nil
}
