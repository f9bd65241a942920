package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/localrun"
	"github.com/s3crr/s3crr/internal/schedule"
)

// verifySchedule is the schedule `crr local up` fires the verify state machine on: the
// flags, else the cdk.json context HubStack reads (when crr runs inside the repository),
// else HubStack's defaults. A bad expression or zone is a usage error naming its source.
func verifySchedule(o *upOptions) (localrun.VerifySchedule, error) {
	s := localrun.VerifySchedule{Expression: o.schedule, TimeZone: o.timeZone}
	from := "--verify-schedule"
	if s.Expression == "" || s.TimeZone == "" {
		ctxExpr, ctxZone, path, err := cdkScheduleContext()
		if err != nil {
			return s, err
		}
		if s.Expression == "" && ctxExpr != "" {
			s.Expression, from = ctxExpr, path+" context "+schedule.ContextExpression
		}
		if s.TimeZone == "" {
			s.TimeZone = ctxZone
		}
	}
	if s.Expression != "" {
		if _, err := schedule.Parse(s.Expression); err != nil {
			return s, usagef("%s: %v", from, err)
		}
	}
	return s, nil
}

// cdkScheduleContext reads the schedule's context keys from the repository's cdk.json;
// outside a checkout there is none, and the defaults apply.
func cdkScheduleContext() (expr, zone, path string, err error) {
	root, err := localhub.FindModuleRoot()
	if err != nil {
		return "", "", "", nil
	}
	path = filepath.Join(root, "cdk.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", "", "", nil
	} else if err != nil {
		return "", "", "", fmt.Errorf("read %s: %w", path, err)
	}
	var doc struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return "", "", "", fmt.Errorf("read %s: %w", path, err)
	}
	expr, _ = doc.Context[schedule.ContextExpression].(string)
	zone, _ = doc.Context[schedule.ContextTimeZone].(string)
	return expr, zone, path, nil
}

// logFirings says on stderr when the schedule starts a verification, as Scheduler's
// invocation metrics would.
func logFirings(w io.Writer, run *localrun.ScheduledRun) {
	for f := range run.Fired {
		if f.Err != nil {
			fmt.Fprintf(w, "schedule %s: %v\n", f.At.UTC().Format("2006-01-02T15:04Z"), f.Err)
			continue
		}
		fmt.Fprintf(w, "schedule %s: started %s\n", f.At.UTC().Format("2006-01-02T15:04Z"), f.ExecutionARN)
	}
}
