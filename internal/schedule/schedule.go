// Package schedule evaluates EventBridge Scheduler schedule expressions, cron(...) and
// rate(...), in a time zone, as Scheduler does (docs/aws-facts.md#F-SCHEDULER-EXPRESSIONS):
// the local hub fires the nightly verification with it, from the same expression and time
// zone HubStack gives its schedule, so the two cannot disagree on when a run happens.
package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The nightly verification's schedule when the deployment names none: 03:00 every day, in
// UTC. HubStack's context keys verifySchedule and verifyTimeZone override both.
const (
	DefaultVerifyExpression = "cron(0 3 * * ? *)"
	DefaultVerifyTimeZone   = "UTC"
)

// The cdk.json context keys of the nightly verification's schedule, read by HubStack and
// by `crr local up`.
const (
	ContextExpression = "verifySchedule"
	ContextTimeZone   = "verifyTimeZone"
)

// maxYear is the last year a cron expression may name.
const maxYear = 2199

// Schedule is a parsed recurring schedule expression.
type Schedule struct {
	expr string
	cron *cron
	rate time.Duration
}

// String returns the expression as given.
func (s *Schedule) String() string { return s.expr }

// Parse reads "cron(minutes hours day-of-month month day-of-week year)" or
// "rate(value unit)"; the error names the part that is wrong.
func Parse(expr string) (*Schedule, error) {
	e := strings.TrimSpace(expr)
	switch {
	case strings.HasPrefix(e, "cron(") && strings.HasSuffix(e, ")"):
		c, err := parseCron(e[len("cron(") : len(e)-1])
		if err != nil {
			return nil, fmt.Errorf("schedule expression %q: %w", expr, err)
		}
		return &Schedule{expr: expr, cron: c}, nil
	case strings.HasPrefix(e, "rate(") && strings.HasSuffix(e, ")"):
		d, err := parseRate(e[len("rate(") : len(e)-1])
		if err != nil {
			return nil, fmt.Errorf("schedule expression %q: %w", expr, err)
		}
		return &Schedule{expr: expr, rate: d}, nil
	}
	return nil, fmt.Errorf("schedule expression %q: want cron(minutes hours day-of-month month day-of-week year) or rate(value unit)", expr)
}

// Next returns the first time after `after` at which the schedule fires, evaluated in loc.
// A rate schedule fires every interval from after; a cron schedule at the wall-clock times
// it names in loc, skipping a time that daylight saving time removes and firing once for a
// time it repeats. ok is false when a cron schedule never fires again (its years are past).
func (s *Schedule) Next(after time.Time, loc *time.Location) (next time.Time, ok bool) {
	if s.rate > 0 {
		return after.Add(s.rate), true
	}
	return s.cron.next(after, loc)
}

func parseRate(body string) (time.Duration, error) {
	f := strings.Fields(body)
	if len(f) != 2 {
		return 0, errors.New("rate takes a value and a unit, e.g. rate(5 minutes)")
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("rate value %q is not a positive whole number", f[0])
	}
	units := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
	unit := strings.TrimSuffix(f[1], "s")
	d, known := units[unit]
	if !known {
		return 0, fmt.Errorf("rate unit %q: want minutes, hours or days", f[1])
	}
	return time.Duration(n) * d, nil
}

// cron is a parsed cron expression: each field the set of values it allows, plus the
// day rules that depend on the month (L, W, #).
type cron struct {
	minutes, hours, months, years set
	dom                           dayRule
	dow                           dayRule
}

// set is the values a field allows; nil allows every value.
type set map[int]bool

func (s set) has(v int) bool { return s == nil || s[v] }

// dayRule is a day-of-month or day-of-week field.
type dayRule struct {
	any      bool // "?"
	values   set  // plain values, ranges, lists, steps; nil with any false: "*"
	last     bool // day-of-month "L": the month's last day; day-of-week "L": Saturday
	weekday  int  // day-of-month "nW": the weekday nearest day n
	lastDow  int  // day-of-week "nL": the month's last weekday n
	nth, nDw int  // day-of-week "d#n": the nth weekday d of the month
}

var monthNames = names("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
var dayNames = names("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")

func names(list ...string) map[string]int {
	m := map[string]int{}
	for i, n := range list {
		m[n] = i + 1
	}
	return m
}

func parseCron(body string) (*cron, error) {
	f := strings.Fields(body)
	if len(f) != 6 {
		return nil, fmt.Errorf("cron takes six fields (minutes hours day-of-month month day-of-week year), got %d", len(f))
	}
	c := &cron{}
	var err error
	if c.minutes, err = parseField("minutes", f[0], 0, 59, nil); err != nil {
		return nil, err
	}
	if c.hours, err = parseField("hours", f[1], 0, 23, nil); err != nil {
		return nil, err
	}
	if c.months, err = parseField("month", f[3], 1, 12, monthNames); err != nil {
		return nil, err
	}
	if c.years, err = parseField("year", f[5], 1970, maxYear, nil); err != nil {
		return nil, err
	}
	if c.dom, err = parseDom(f[2]); err != nil {
		return nil, err
	}
	if c.dow, err = parseDow(f[4]); err != nil {
		return nil, err
	}
	// "You can't use * in both the Day-of-month and Day-of-week fields. If you use it in
	// one, you must use ? in the other." A value in both is refused the same way.
	if c.dom.any == c.dow.any {
		return nil, errors.New("one of day-of-month and day-of-week must be ?, and only one")
	}
	return c, nil
}

// parseField reads a list of values, ranges (a-b) and steps (a/n, a-b/n, */n).
func parseField(name, field string, lo, hi int, words map[string]int) (set, error) {
	if field == "*" {
		return nil, nil
	}
	out := set{}
	for _, part := range strings.Split(field, ",") {
		rng, step := part, 1
		if i := strings.IndexByte(part, '/'); i >= 0 {
			n, err := strconv.Atoi(part[i+1:])
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("%s: step %q is not a positive number", name, part[i+1:])
			}
			rng, step = part[:i], n
		}
		from, to := lo, hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if from, err = value(name, a, lo, hi, words); err != nil {
				return nil, err
			}
			if to, err = value(name, b, lo, hi, words); err != nil {
				return nil, err
			}
			if from > to {
				return nil, fmt.Errorf("%s: range %q runs backwards", name, rng)
			}
		default:
			v, err := value(name, rng, lo, hi, words)
			if err != nil {
				return nil, err
			}
			from = v
			if step == 1 {
				to = v // a single value; with a step, a start ("0/15")
			}
		}
		for v := from; v <= to; v += step {
			out[v] = true
		}
	}
	return out, nil
}

func value(name, s string, lo, hi int, words map[string]int) (int, error) {
	if v, ok := words[strings.ToUpper(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("%s: %q is not a value from %d to %d", name, s, lo, hi)
	}
	return v, nil
}

func parseDom(field string) (dayRule, error) {
	switch {
	case field == "?":
		return dayRule{any: true}, nil
	case field == "L":
		return dayRule{last: true}, nil
	case strings.HasSuffix(field, "W"):
		n, err := value("day-of-month", strings.TrimSuffix(field, "W"), 1, 31, nil)
		if err != nil {
			return dayRule{}, err
		}
		return dayRule{weekday: n}, nil
	}
	s, err := parseField("day-of-month", field, 1, 31, nil)
	return dayRule{values: s}, err
}

func parseDow(field string) (dayRule, error) {
	switch {
	case field == "?":
		return dayRule{any: true}, nil
	case field == "L":
		return dayRule{last: true}, nil
	case strings.HasSuffix(field, "L"):
		d, err := value("day-of-week", strings.TrimSuffix(field, "L"), 1, 7, dayNames)
		if err != nil {
			return dayRule{}, err
		}
		return dayRule{lastDow: d}, nil
	case strings.Contains(field, "#"):
		a, b, _ := strings.Cut(field, "#")
		d, err := value("day-of-week", a, 1, 7, dayNames)
		if err != nil {
			return dayRule{}, err
		}
		n, err := strconv.Atoi(b)
		if err != nil || n < 1 || n > 5 {
			return dayRule{}, fmt.Errorf("day-of-week: %q: the week after # is 1 to 5", field)
		}
		return dayRule{nth: n, nDw: d}, nil
	}
	s, err := parseField("day-of-week", field, 1, 7, dayNames)
	return dayRule{values: s}, err
}

// dayMatches reports whether the date (in its own location) is a day the expression allows.
func (c *cron) dayMatches(y int, m time.Month, d int, loc *time.Location) bool {
	if !c.years.has(y) || !c.months.has(int(m)) {
		return false
	}
	last := time.Date(y, m+1, 0, 0, 0, 0, 0, loc).Day()
	wd := int(time.Date(y, m, d, 12, 0, 0, 0, loc).Weekday()) + 1 // SUN = 1
	if !c.dom.any {
		r := c.dom
		switch {
		case r.last:
			return d == last
		case r.weekday > 0:
			return d == nearestWeekday(y, m, r.weekday, last, loc)
		}
		return r.values.has(d)
	}
	r := c.dow
	switch {
	case r.last:
		return wd == 7
	case r.lastDow > 0:
		return wd == r.lastDow && d+7 > last
	case r.nth > 0:
		return wd == r.nDw && (d-1)/7+1 == r.nth
	}
	return r.values.has(wd)
}

// nearestWeekday is the weekday (Monday to Friday) nearest day n of the month, not
// leaving the month: a Saturday moves to Friday (or Monday on the 1st), a Sunday to
// Monday (or Friday on the last day).
func nearestWeekday(y int, m time.Month, n, last int, loc *time.Location) int {
	if n > last {
		n = last
	}
	switch time.Date(y, m, n, 12, 0, 0, 0, loc).Weekday() {
	case time.Saturday:
		if n == 1 {
			return 3
		}
		return n - 1
	case time.Sunday:
		if n == last {
			return n - 2
		}
		return n + 1
	}
	return n
}

// next walks the days from after's date in loc; on each allowed day it tries the allowed
// hours and minutes in order. A wall-clock time that does not exist that day (skipped by
// daylight saving time) is not fired; one that exists twice is fired at its first instant.
func (c *cron) next(after time.Time, loc *time.Location) (time.Time, bool) {
	local := after.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 12, 0, 0, 0, loc)
	for day.Year() <= maxYear {
		y, m, d := day.Date()
		if c.dayMatches(y, m, d, loc) {
			for h := 0; h < 24; h++ {
				if !c.hours.has(h) {
					continue
				}
				for mi := 0; mi < 60; mi++ {
					if !c.minutes.has(mi) {
						continue
					}
					t := time.Date(y, m, d, h, mi, 0, 0, loc)
					if t.Hour() != h || t.Minute() != mi || t.Day() != d {
						continue // not a time on this day's clock
					}
					if t.After(after) {
						return t, true
					}
				}
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}, false
}
