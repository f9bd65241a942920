package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/statemachine"
)

// redriveWaitState is the redrive ASL's poll Wait, shortened locally (withDefaults).
const redriveWaitState = "WaitForJob"

// RedriveInput is the redrive state machine's input, as `crr redrive` starts it.
type RedriveInput struct {
	PairID   string   `json:"pairId"`
	Statuses []string `json:"statuses"`
}

// registerRedrive registers the redrive state machine next to provision in the hub's Step
// Functions API, as HubStack deploys it, so `crr redrive` works against `crr local up`.
func (e *Env) registerRedrive() error {
	def, err := statemachine.Load(statemachine.Redrive, map[string]string{
		statemachine.ProvisionFunctionArn: e.FunctionARN,
		statemachine.AlertTopicArn:        e.Hub.TopicARN,
		statemachine.PairsTableName:       e.Hub.TableName,
	})
	if err != nil {
		return err
	}
	if e.redriveLabels, err = stageLabels(def); err != nil {
		return err
	}
	if e.RedriveStateMachineARN, err = e.StepFunctions.Register(names.RedriveStateMachineName, string(def), "arn:aws:iam::"+e.Hub.Account+":role/"+names.RedriveStateMachineName); err != nil {
		return fmt.Errorf("register state machine %s: %w", names.RedriveStateMachineName, err)
	}
	return nil
}

// Redrive runs one execution of the redrive state machine (statemachine/redrive.asl.json)
// for a registered pair through the hub's Step Functions API, as `crr redrive` starts it,
// calling onProgress for each state transition. name defaults to a timestamped one. A
// FAILED execution is a Run, not an error; Output stays empty (the re-drive's summary is
// in Execution.Output).
func (e *Env) Redrive(ctx context.Context, in RedriveInput, name string, onProgress func(Progress)) (*Run, error) {
	input, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encode redrive input: %w", err)
	}
	if name == "" {
		name = "redrive-" + in.PairID + "-" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	}
	return e.execute(ctx, e.RedriveStateMachineARN, e.redriveLabels, "redrive", name, input, onProgress)
}
