package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// historyPrinter turns new history events into progress lines, remembering across polls
// which state each event belongs to (an event names its state only when the state is
// entered or exited; the others point at their predecessor).
type historyPrinter struct {
	w        io.Writer
	start    time.Time
	lastID   int64
	state    map[int64]string     // event ID -> state name
	entered  map[string]time.Time // state name -> when it was last entered
	attempts map[string]int       // state name -> tasks scheduled since it was entered
}

func newHistoryPrinter(w io.Writer, start time.Time) *historyPrinter {
	return &historyPrinter{w: w, start: start, state: map[int64]string{}, entered: map[string]time.Time{}, attempts: map[string]int{}}
}

// poll reads the events after the last one printed, newest first page by page until it
// reaches the ones already seen (so a long execution is not re-read on every poll), and
// prints them in order.
func (h *historyPrinter) poll(ctx context.Context, c executionAPI, arn string) error {
	var fresh []sfntypes.HistoryEvent
	var token *string
	for {
		out, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{
			ExecutionArn: aws.String(arn), ReverseOrder: true, MaxResults: 500, NextToken: token,
			// States' inputs and outputs (which carry every earlier stage's result) are
			// not printed, so they are not fetched; names, errors and causes still are.
			IncludeExecutionData: aws.Bool(false),
		})
		if err != nil {
			return explain(err, "states:GetExecutionHistory", arn, nil)
		}
		reached := false
		for _, ev := range out.Events {
			if ev.Id <= h.lastID {
				reached = true
				break
			}
			fresh = append(fresh, ev)
		}
		if reached || out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	for i := len(fresh) - 1; i >= 0; i-- {
		h.print(fresh[i])
	}
	return nil
}

func (h *historyPrinter) print(ev sfntypes.HistoryEvent) {
	if ev.Id > h.lastID {
		h.lastID = ev.Id
	}
	at := aws.ToTime(ev.Timestamp)
	name := h.state[ev.PreviousEventId]
	line := func(verb, text string) {
		fmt.Fprintln(h.w, strings.TrimRight(fmt.Sprintf("%8s  %-9s %s", formatElapsed(at.Sub(h.start)), verb, text), " "))
	}
	typ := string(ev.Type)
	switch {
	case ev.StateEnteredEventDetails != nil:
		name = aws.ToString(ev.StateEnteredEventDetails.Name)
		h.entered[name] = at
		h.attempts[name] = 0
		line("entered", name)
	case ev.StateExitedEventDetails != nil:
		name = aws.ToString(ev.StateExitedEventDetails.Name)
		took := ""
		if t, ok := h.entered[name]; ok {
			took = " (" + formatElapsed(at.Sub(t)) + ")"
		}
		line("exited", name+took)
	case ev.Type == sfntypes.HistoryEventTypeTaskScheduled || ev.Type == sfntypes.HistoryEventTypeLambdaFunctionScheduled:
		h.attempts[name]++
		if n := h.attempts[name]; n > 1 {
			line("retrying", fmt.Sprintf("%s (attempt %d)", name, n))
		}
	case ev.Type == sfntypes.HistoryEventTypeExecutionStarted:
		line("started", "")
	case ev.Type == sfntypes.HistoryEventTypeExecutionRedriven:
		line("redriven", "")
	case ev.Type == sfntypes.HistoryEventTypeExecutionSucceeded:
		line("succeeded", "")
	case ev.Type == sfntypes.HistoryEventTypeExecutionFailed:
		line("failed", "")
	case ev.Type == sfntypes.HistoryEventTypeExecutionTimedOut:
		line("timed out", "")
	case ev.Type == sfntypes.HistoryEventTypeExecutionAborted:
		line("aborted", "")
	default:
		if e, c, ok := failureDetails(ev); ok {
			text := name + ": " + e
			if c != "" {
				text += ": " + shorten(firstLine(readableCause(c)), 160)
			}
			if strings.HasSuffix(typ, "TimedOut") {
				line("timed out", text)
			} else {
				line("failed", text)
			}
		}
	}
	h.state[ev.Id] = name
}

// failureDetails returns the error and cause of an event that records a task or state
// failure, whichever of the many *FailedEventDetails it carries.
func failureDetails(ev sfntypes.HistoryEvent) (errName, cause string, ok bool) {
	switch {
	case ev.TaskFailedEventDetails != nil:
		return aws.ToString(ev.TaskFailedEventDetails.Error), aws.ToString(ev.TaskFailedEventDetails.Cause), true
	case ev.TaskTimedOutEventDetails != nil:
		return aws.ToString(ev.TaskTimedOutEventDetails.Error), aws.ToString(ev.TaskTimedOutEventDetails.Cause), true
	case ev.TaskStartFailedEventDetails != nil:
		return aws.ToString(ev.TaskStartFailedEventDetails.Error), aws.ToString(ev.TaskStartFailedEventDetails.Cause), true
	case ev.TaskSubmitFailedEventDetails != nil:
		return aws.ToString(ev.TaskSubmitFailedEventDetails.Error), aws.ToString(ev.TaskSubmitFailedEventDetails.Cause), true
	case ev.LambdaFunctionFailedEventDetails != nil:
		return aws.ToString(ev.LambdaFunctionFailedEventDetails.Error), aws.ToString(ev.LambdaFunctionFailedEventDetails.Cause), true
	case ev.LambdaFunctionTimedOutEventDetails != nil:
		return aws.ToString(ev.LambdaFunctionTimedOutEventDetails.Error), aws.ToString(ev.LambdaFunctionTimedOutEventDetails.Cause), true
	case ev.LambdaFunctionStartFailedEventDetails != nil:
		return aws.ToString(ev.LambdaFunctionStartFailedEventDetails.Error), aws.ToString(ev.LambdaFunctionStartFailedEventDetails.Cause), true
	case ev.LambdaFunctionScheduleFailedEventDetails != nil:
		return aws.ToString(ev.LambdaFunctionScheduleFailedEventDetails.Error), aws.ToString(ev.LambdaFunctionScheduleFailedEventDetails.Cause), true
	case ev.EvaluationFailedEventDetails != nil:
		return aws.ToString(ev.EvaluationFailedEventDetails.Error), aws.ToString(ev.EvaluationFailedEventDetails.Cause), true
	}
	return "", "", false
}
