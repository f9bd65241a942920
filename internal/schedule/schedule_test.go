package schedule

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zone database, whatever the host has
)

func at(t *testing.T, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04 Mon", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func runs(t *testing.T, expr string, loc *time.Location, from time.Time, n int) []string {
	t.Helper()
	s, err := Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	cur := from
	for range n {
		next, ok := s.Next(cur, loc)
		if !ok {
			break
		}
		out = append(out, next.In(loc).Format("2006-01-02 15:04 Mon"))
		cur = next
	}
	return out
}

// The examples of the EventBridge cron expression reference and Scheduler's schedule
// types page, each with what the page says it does.
func TestDocumentedCronExamples(t *testing.T) {
	utc := time.UTC
	from := at(t, utc, "2026-12-03 07:44 Thu")
	tests := []struct {
		expr, doc string
		want      []string
	}{
		{"cron(0 10 * * ? *)", "10:00 every day", []string{"2026-12-03 10:00 Thu", "2026-12-04 10:00 Fri"}},
		{"cron(15 12 * * ? *)", "12:15 every day", []string{"2026-12-03 12:15 Thu", "2026-12-04 12:15 Fri"}},
		{"cron(0 18 ? * MON-FRI *)", "18:00 Monday to Friday", []string{"2026-12-03 18:00 Thu", "2026-12-04 18:00 Fri", "2026-12-07 18:00 Mon"}},
		{"cron(0 8 1 * ? *)", "08:00 on the first day of the month", []string{"2027-01-01 08:00 Fri", "2027-02-01 08:00 Mon"}},
		{"cron(0/15 * * * ? *)", "every 15 minutes", []string{"2026-12-03 07:45 Thu", "2026-12-03 08:00 Thu", "2026-12-03 08:15 Thu"}},
		{"cron(0/10 * ? * MON-FRI *)", "every 10 minutes Monday to Friday", []string{"2026-12-03 07:50 Thu", "2026-12-03 08:00 Thu"}},
		{"cron(0/5 8-17 ? * MON-FRI *)", "every 5 minutes between 08:00 and 17:55 Monday to Friday", []string{"2026-12-03 08:00 Thu", "2026-12-03 08:05 Thu"}},
		{"cron(0 9 ? * 2#1 *)", "09:00 on the first Monday of the month", []string{"2026-12-07 09:00 Mon", "2027-01-04 09:00 Mon"}},
		{"cron(1/10 * * * ? *)", "every tenth minute from the first: 11, 21, 31", []string{"2026-12-03 07:51 Thu", "2026-12-03 08:01 Thu"}},
		{"cron(0 0 L * ? *)", "midnight on the last day of the month", []string{"2026-12-31 00:00 Thu", "2027-01-31 00:00 Sun", "2027-02-28 00:00 Sun"}},
		{"cron(0 12 3W * ? *)", "noon on the weekday nearest the 3rd", []string{"2026-12-03 12:00 Thu", "2027-01-04 12:00 Mon", "2027-02-03 12:00 Wed"}},
		{"cron(0 12 ? * 6L *)", "noon on the last Friday of the month", []string{"2026-12-25 12:00 Fri", "2027-01-29 12:00 Fri"}},
		{"cron(30 6 ? * JAN,SUN 2027)", "wrong on purpose: JAN is a month", nil},
		{"cron(0 3 * * ? 2026)", "03:00 daily in 2026 only", []string{"2026-12-04 03:00 Fri"}},
		{DefaultVerifyExpression, "the nightly verification", []string{"2026-12-04 03:00 Fri", "2026-12-05 03:00 Sat"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			if tt.want == nil {
				if _, err := Parse(tt.expr); err == nil {
					t.Errorf("%s (%s) parsed", tt.expr, tt.doc)
				}
				return
			}
			got := runs(t, tt.expr, utc, from, len(tt.want))
			if strings.Join(got, ", ") != strings.Join(tt.want, ", ") {
				t.Errorf("%s (%s): %v, want %v", tt.expr, tt.doc, got, tt.want)
			}
		})
	}
	// The last run of a year-bounded schedule is its last.
	if got := runs(t, "cron(0 3 * * ? 2026)", utc, at(t, utc, "2026-12-31 04:00 Thu"), 1); len(got) != 0 {
		t.Errorf("a 2026-only schedule fires after 2026: %v", got)
	}
}

// Scheduler evaluates the expression in the schedule's time zone and adjusts for daylight
// saving time: a time the spring change skips is not fired, a time the autumn change
// repeats is fired once.
func TestTimeZoneAndDaylightSavingTime(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	if got := runs(t, "cron(0 3 * * ? *)", ny, at(t, ny, "2026-12-03 07:44 Thu"), 1); got[0] != "2026-12-04 03:00 Fri" {
		t.Errorf("03:00 New York: %v", got)
	}
	s, _ := Parse("cron(0 3 * * ? *)")
	next, _ := s.Next(at(t, ny, "2026-12-03 07:44 Thu"), ny)
	if next.UTC().Hour() != 8 {
		t.Errorf("03:00 EST is %s UTC, want 08:00", next.UTC())
	}
	// 2027-03-14: 02:00 jumps to 03:00, so 02:30 does not exist that day.
	if got := runs(t, "cron(30 2 * * ? *)", ny, at(t, ny, "2027-03-13 12:00 Sat"), 2); strings.Join(got, ", ") != "2027-03-15 02:30 Mon, 2027-03-16 02:30 Tue" {
		t.Errorf("02:30 across the spring change: %v, want the 14th skipped", got)
	}
	// 2027-11-07: 01:00-01:59 happens twice; 01:30 fires once.
	got := runs(t, "cron(30 1 * * ? *)", ny, at(t, ny, "2027-11-06 12:00 Sat"), 2)
	if strings.Join(got, ", ") != "2027-11-07 01:30 Sun, 2027-11-08 01:30 Mon" {
		t.Errorf("01:30 across the autumn change: %v, want once on the 7th", got)
	}
}

func TestRateAndRefusedExpressions(t *testing.T) {
	s, err := Parse("rate(5 minutes)")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 12, 3, 7, 44, 0, 0, time.UTC)
	if next, _ := s.Next(from, time.UTC); !next.Equal(from.Add(5 * time.Minute)) {
		t.Errorf("rate(5 minutes) after %s: %s", from, next)
	}
	if s, err := Parse("rate(1 day)"); err != nil || s.rate != 24*time.Hour {
		t.Errorf("rate(1 day): %v", err)
	}
	for _, bad := range []string{
		"cron(0 3 * * * *)",       // * in both day fields
		"cron(0 3 ? * ? *)",       // ? in both
		"cron(0 3 * *)",           // four fields
		"cron(60 3 * * ? *)",      // minute 60
		"cron(0 3 32 * ? *)",      // day 32
		"cron(0 3 ? * 8 *)",       // day-of-week 8
		"cron(0 3 * * ? 2200)",    // after 2199
		"cron(0 3 ? * 2#6 *)",     // a sixth Monday
		"cron(0 10-2 * * ? *)",    // backwards range
		"rate(0 minutes)",         // not positive
		"rate(5 weeks)",           // not a unit
		"at(2026-12-03T03:00:00)", // one-time schedules are not recurring
		"0 3 * * *",               // Unix cron
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted it", bad)
		}
	}
}
