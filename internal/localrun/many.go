package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/spec"
)

// Batch is the outcome of many provision executions run at once.
type Batch struct {
	// Runs are the executions, in the order of the requests.
	Runs []*Run
	// Wall is the time from the first start to the last end.
	Wall time.Duration
	// Throttled is how many member-account requests the simulator throttled meanwhile:
	// each was retried by the SDK, or failed its stage as Throttled.
	Throttled int
	// StateRetries counts the state machines' retries by the retrier that matched, named
	// by its ErrorEquals joined with commas ("Throttled", "PrincipalNotReady", ...).
	StateRetries map[string]int
	// Failed is how many executions did not succeed.
	Failed int
}

// ProvisionMany starts one provision execution per request at once, through the Step
// Functions API as `crr apply` does, and follows them all to the end. Nothing bounds
// how many run together but what bounds them in AWS: the provision Lambda's
// concurrency (Config.ProvisionConcurrency) and the member accounts' request rates
// (Config.RateLimit). A FAILED execution is counted, not an error. Each execution is
// named as `crr apply` names it (spec.ExecutionName) plus suffix, so a second round of
// the same requests can run (Step Functions refuses a name twice).
func (e *Env) ProvisionMany(ctx context.Context, requests [][]byte, suffix string) (*Batch, error) {
	throttledBefore := e.Sim.Throttled()
	b := &Batch{Runs: make([]*Run, len(requests)), StateRetries: map[string]int{}}
	var mu sync.Mutex
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(requests))
	for i, req := range requests {
		r, err := spec.Parse(req)
		if err != nil {
			return nil, fmt.Errorf("request %d: %w", i, err)
		}
		name := r.ExecutionName() + suffix
		run := &Run{Name: name, Execution: &localhub.Execution{ARN: e.ExecutionARN(name)}}
		b.Runs[i] = run
		unwatch := e.watch(run.Execution.ARN, func(ev localhub.Event) {
			mu.Lock()
			defer mu.Unlock()
			run.Execution.Events = append(run.Execution.Events, ev)
			if ev.Type == "StateRetried" {
				b.StateRetries[strings.Join(ev.ErrorEquals, ",")]++
			}
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer unwatch()
			errs[i] = e.follow(ctx, run, req)
		}()
	}
	wg.Wait()
	b.Wall = time.Since(start)
	b.Throttled = e.Sim.Throttled() - throttledBefore
	for i, run := range b.Runs {
		if errs[i] != nil {
			return b, errs[i]
		}
		if !run.Succeeded() {
			b.Failed++
		}
	}
	return b, nil
}

// follow starts one execution and waits for its end.
func (e *Env) follow(ctx context.Context, run *Run, request []byte) error {
	if _, err := e.sfn.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(e.StateMachineARN), Name: aws.String(run.Name), Input: aws.String(string(request)),
	}); err != nil {
		return fmt.Errorf("start provision execution %s: %w", run.Name, err)
	}
	d, err := e.waitEnd(ctx, run.Execution.ARN)
	if err != nil {
		return fmt.Errorf("run provision execution %s: %w", run.Name, err)
	}
	run.Execution.Status = string(d.Status)
	run.Execution.Output = json.RawMessage(aws.ToString(d.Output))
	run.Execution.Error, run.Execution.Cause = aws.ToString(d.Error), aws.ToString(d.Cause)
	run.Execution.Elapsed = aws.ToTime(d.StopDate).Sub(aws.ToTime(d.StartDate))
	if run.Succeeded() {
		if err := json.Unmarshal(run.Execution.Output, &run.Output); err != nil {
			return fmt.Errorf("decode output of execution %s: %w", run.Name, err)
		}
	}
	return nil
}

// RetryNames returns the errors StateRetries counts, sorted.
func (b *Batch) RetryNames() []string {
	out := make([]string, 0, len(b.StateRetries))
	for k := range b.StateRetries {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ManyRequests derives n distinct pair requests from base (a request's JSON): pair
// "<pairId>-<i>" replicating bucket "<source bucket>-<i>" to "<destination bucket>-<i>",
// each with its own keys under the default aliases (any alias in base is dropped, since
// two pairs cannot create the same alias).
func ManyRequests(base []byte, n int) ([][]byte, error) {
	out := make([][]byte, 0, n)
	for i := range n {
		var req map[string]any
		if err := json.Unmarshal(base, &req); err != nil {
			return nil, fmt.Errorf("read the base request: %w", err)
		}
		suffix := fmt.Sprintf("-%03d", i)
		id, _ := req["pairId"].(string)
		req["pairId"] = id + suffix
		for _, side := range []string{"source", "destination"} {
			ep, ok := req[side].(map[string]any)
			if !ok {
				return nil, fmt.Errorf("the base request has no %s", side)
			}
			bucket, _ := ep["bucket"].(string)
			ep["bucket"] = bucket + suffix
			delete(ep, "kmsKeyAlias")
		}
		b, err := json.Marshal(req)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
