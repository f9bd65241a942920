package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/statemachine"
)

// DestroyInput is the destroy state machine's input, as `crr destroy` starts it
// (statemachine/destroy.asl.json): the pair, and what may go beyond s3crr's configuration.
type DestroyInput struct {
	PairID  string `json:"pairId"`
	Destroy struct {
		DeleteKeys          bool  `json:"deleteKeys,omitempty"`
		DeleteBuckets       bool  `json:"deleteBuckets,omitempty"`
		PendingWindowInDays int32 `json:"pendingWindowInDays,omitempty"`
	} `json:"destroy"`
}

// Destroy runs one execution of the destroy state machine on the local hub, with the same
// substitutions as the provision one, and counts the member-account writes it made. A
// FAILED execution is a Run, not an error; Output stays empty (the destroy output is the
// stages' results, in Execution.Output).
func (e *Env) Destroy(ctx context.Context, in DestroyInput, onProgress func(Progress)) (*Run, error) {
	def, err := statemachine.Load(statemachine.Destroy, map[string]string{
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
		return nil, fmt.Errorf("encode destroy input: %w", err)
	}
	name := in.PairID + "-destroy-" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	e.Sim.ResetCalls()
	tracker := &progressTracker{labels: labels, emit: onProgress}
	exec, err := e.Hub.Run(ctx, localhub.RunInput{
		Definition: def, Input: input, Name: name,
		WaitOverrides: e.cfg.WaitOverrides, RetryOverrides: e.cfg.RetryOverrides,
	}, tracker.observe)
	if err != nil {
		return nil, fmt.Errorf("run destroy execution %s: %w", name, err)
	}
	run := &Run{Name: name, Execution: exec, Calls: e.Sim.Calls()}
	for _, c := range run.Calls {
		if c.Mutating && c.Account != localaws.HubAccount {
			run.MemberWrites += c.Count
		}
	}
	return run, nil
}
