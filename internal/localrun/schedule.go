package localrun

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/s3crr/s3crr/internal/schedule"
	"github.com/s3crr/s3crr/statemachine"
)

// The nightly schedule's stand-in: HubStack's EventBridge Scheduler schedule starts the
// verify state machine at the times its expression names in its time zone, with
// statemachine.ScheduledVerifyInput as the input. Locally the same expression and time
// zone are evaluated by internal/schedule, and each firing is a StartExecution through
// the hub's Step Functions API, as Scheduler's target makes it.

// VerifySchedule is the schedule the local hub fires the verify state machine on.
type VerifySchedule struct {
	// Expression and TimeZone default to schedule.DefaultVerifyExpression and
	// schedule.DefaultVerifyTimeZone, HubStack's defaults.
	Expression, TimeZone string
}

// ScheduleFiring is one start of the verify state machine by the schedule.
type ScheduleFiring struct {
	At           time.Time
	ExecutionARN string
	Err          error
}

// ScheduledRun is a running schedule stand-in.
type ScheduledRun struct {
	Schedule *schedule.Schedule
	Location *time.Location
	// Fired receives every firing; it is not closed, and a firing nobody reads is dropped.
	Fired chan ScheduleFiring
	// Next returns when the schedule fires next, evaluated now.
	Next func() (time.Time, bool)
}

// FireSchedule starts the verify state machine as the nightly schedule does: the same
// input, through the Step Functions API. name defaults to one derived from the time.
func (e *Env) FireSchedule(ctx context.Context, name string) (string, error) {
	if err := e.EnableVerify(ctx); err != nil {
		return "", err
	}
	if name == "" {
		name = "scheduled-" + time.Now().UTC().Format("20060102T150405.000Z")
	}
	out, err := e.sfn.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(e.VerifyStateMachineARN),
		Name: aws.String(name), Input: aws.String(statemachine.ScheduledVerifyInput())})
	if err != nil {
		return "", fmt.Errorf("start the scheduled verification: %w", err)
	}
	return aws.ToString(out.ExecutionArn), nil
}

// StartSchedule fires the verify state machine at every time s names, until ctx ends.
// after stands in for the clock's timer (nil: time.After), so a test can fire it without
// waiting for 03:00.
func (e *Env) StartSchedule(ctx context.Context, s VerifySchedule, after func(time.Duration) <-chan time.Time) (*ScheduledRun, error) {
	if s.Expression == "" {
		s.Expression = schedule.DefaultVerifyExpression
	}
	if s.TimeZone == "" {
		s.TimeZone = schedule.DefaultVerifyTimeZone
	}
	sched, err := schedule.Parse(s.Expression)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("schedule time zone %q: %w", s.TimeZone, err)
	}
	if err := e.EnableVerify(ctx); err != nil {
		return nil, err
	}
	if after == nil {
		after = time.After
	}
	run := &ScheduledRun{Schedule: sched, Location: loc, Fired: make(chan ScheduleFiring, 16),
		Next: func() (time.Time, bool) { return sched.Next(time.Now(), loc) }}
	go func() {
		last := time.Now()
		for {
			next, ok := sched.Next(last, loc)
			if !ok {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-after(time.Until(next)):
			}
			arn, err := e.FireSchedule(ctx, "scheduled-"+next.UTC().Format("20060102T1504Z"))
			select {
			case run.Fired <- ScheduleFiring{At: next, ExecutionARN: arn, Err: err}:
			default:
			}
			last = next
		}
	}()
	return run, nil
}
