package localrun

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/s3crr/s3crr/internal/spec"
)

// Report is what a Demo did and found.
type Report struct {
	// Request is the request, defaulted.
	Request spec.Request
	// First is the provisioning execution; Second the rerun of the same request.
	First, Second *Run
	// Replica is the object written to the source bucket after First.
	Replica Replica
	// Breakage is the failure step after Second: break, alert, repair (Run 3).
	Breakage *Breakage
}

// ExecutionError is a provision execution that ended FAILED.
type ExecutionError struct {
	Run *Run
}

// Error names the execution and gives the Fail state's error and cause.
func (e *ExecutionError) Error() string {
	x := e.Run.Execution
	return fmt.Sprintf("execution %s %s: %s: %s", e.Run.Name, x.Status, x.Error, x.Cause)
}

// Demo is the full local run: it provisions request, writes an object to the
// source bucket and checks its replica (in B, encrypted with B's key, REPLICA,
// the source COMPLETED), then provisions the same request again, which must
// change nothing, and finally breaks the pair, waits for the monitor's alert and
// repairs it (BreakAlertRepair). onProgress (if not nil) sees every state transition of both
// executions, Run telling them apart. The Report holds what was done so far
// when an error ends the demo: an *ExecutionError for a FAILED execution.
func (e *Env) Demo(ctx context.Context, request []byte, onProgress func(Progress)) (*Report, error) {
	req, err := spec.Parse(request)
	if err != nil {
		return nil, fmt.Errorf("read the request: %w", err)
	}
	rep := &Report{Request: req}
	progress := func(run int) func(Progress) {
		if onProgress == nil {
			return nil
		}
		return func(p Progress) {
			p.Run = run
			onProgress(p)
		}
	}

	if rep.First, err = e.Provision(ctx, request, req.ExecutionName(), progress(1)); err != nil {
		return rep, err
	}
	if !rep.First.Succeeded() {
		return rep, &ExecutionError{Run: rep.First}
	}

	rep.Replica, err = e.PutAndCheck(ctx, req, DemoKey(req), rep.First.Output.ARNs.DestinationKey)
	if err != nil {
		return rep, err
	}
	if problems := rep.Replica.Problems(); len(problems) > 0 {
		return rep, fmt.Errorf("%w: s3://%s/%s: %s", ErrReplica, req.Destination.Bucket, rep.Replica.Key, strings.Join(problems, "; "))
	}

	// Step Functions treats a second StartExecution with the same name and input
	// as the first one (no new run), so the rerun gets a name of its own.
	if rep.Second, err = e.Provision(ctx, request, req.ExecutionName()+"-2", progress(2)); err != nil {
		return rep, err
	}
	if !rep.Second.Succeeded() {
		return rep, &ExecutionError{Run: rep.Second}
	}
	if n := len(rep.Second.Output.Changes()); n > 0 || rep.Second.MemberWrites > 0 {
		return rep, fmt.Errorf("the second execution of the same request reported %d changes and made %d configuration writes in the member accounts, want none (the canary's writes are counted apart)", n, rep.Second.MemberWrites)
	}
	rep.Breakage, err = e.BreakAlertRepair(ctx, req, request, rep.First.Output.ARNs.DestinationKey, progress(3))
	return rep, err
}

// ErrReplica marks a replica that is not what provisioning promised (see
// Replica.Problems).
var ErrReplica = errors.New("replica check")
