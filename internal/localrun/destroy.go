package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
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

// Destroy runs one execution of the destroy state machine HubStack deploys next to the
// provision one, through the hub's Step Functions API as `crr destroy` starts it, and
// counts the member-account writes it made. A FAILED execution is a Run, not an error;
// Output stays empty (the destroy output is the stages' results, in Execution.Output).
func (e *Env) Destroy(ctx context.Context, in DestroyInput, onProgress func(Progress)) (*Run, error) {
	input, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encode destroy input: %w", err)
	}
	name := in.PairID + "-destroy-" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	return e.execute(ctx, e.DestroyStateMachineARN, e.destroyLabels, "destroy", name, input, onProgress)
}
