package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/statemachine"
)

// RedriveInput is the redrive state machine's input, as `crr redrive` starts it.
type RedriveInput struct {
	PairID   string   `json:"pairId"`
	Statuses []string `json:"statuses"`
}

// Redrive runs one execution of the redrive state machine (statemachine/redrive.asl.json)
// for a registered pair, as `crr redrive` starts it in AWS, calling onProgress for each
// state transition. A FAILED execution is returned, not an error.
func (e *Env) Redrive(ctx context.Context, in RedriveInput, name string, onProgress func(Progress)) (*localhub.Execution, error) {
	def, err := statemachine.Load(statemachine.Redrive, map[string]string{
		statemachine.ProvisionFunctionArn: e.FunctionARN,
		statemachine.AlertTopicArn:        e.Hub.TopicARN,
		statemachine.PairsTableName:       e.Hub.TableName,
	})
	if err != nil {
		return nil, err
	}
	labels, err := stageLabels(def)
	if err != nil {
		return nil, err
	}
	input, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encode redrive input: %w", err)
	}
	if name == "" {
		name = fmt.Sprintf("redrive-%s-%d", in.PairID, time.Now().UnixMilli())
	}
	// The simulator's jobs end in milliseconds; AWS's take minutes, which the ASL's
	// 30-second poll is for.
	waits := map[string]time.Duration{"WaitForJob": 200 * time.Millisecond}
	for k, v := range e.cfg.WaitOverrides {
		waits[k] = v
	}
	tracker := &progressTracker{labels: labels, emit: onProgress}
	exec, err := e.Hub.Run(ctx, localhub.RunInput{Definition: def, Input: input, Name: name, StateMachineName: names.RedriveStateMachineName,
		WaitOverrides: waits, RetryOverrides: e.cfg.RetryOverrides}, tracker.observe)
	if err != nil {
		return nil, fmt.Errorf("run redrive execution %s: %w", name, err)
	}
	return exec, nil
}
