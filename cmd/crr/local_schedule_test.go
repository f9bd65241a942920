package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/schedule"
)

// local up fires the schedule HubStack deploys: from the flags, else cdk.json's context
// (the test runs inside the repository), and refuses an expression Scheduler would.
func TestLocalUpVerifySchedule(t *testing.T) {
	expr, _, path, err := cdkScheduleContext()
	if err != nil || path == "" || expr == "" {
		t.Fatalf("cdk.json's %s context: %q from %q (%v)", schedule.ContextExpression, expr, path, err)
	}
	s, err := verifySchedule(&upOptions{})
	if err != nil || s.Expression != expr {
		t.Errorf("default schedule %+v (%v), want cdk.json's %s", s, err, expr)
	}
	s, err = verifySchedule(&upOptions{schedule: "rate(1 hour)", timeZone: "Europe/Berlin"})
	if err != nil || s.Expression != "rate(1 hour)" || s.TimeZone != "Europe/Berlin" {
		t.Errorf("flags: %+v (%v)", s, err)
	}
	_, err = verifySchedule(&upOptions{schedule: "cron(0 3 * * * *)"})
	var u *usageError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "--verify-schedule") {
		t.Errorf("a cron with * in both day fields: %v, want a usage error naming --verify-schedule", err)
	}
}
