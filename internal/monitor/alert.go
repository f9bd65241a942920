package monitor

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// Severity ranks an alert; subscription filters can match it (message attribute severity).
type Severity string

// Severities.
const (
	// SeverityFailure: objects are not replicating and will not without a fix.
	SeverityFailure Severity = "failure"
	// SeverityWarning: replication is late (RTC threshold missed).
	SeverityWarning Severity = "warning"
	// SeverityRecovery: a late object did replicate.
	SeverityRecovery Severity = "recovery"
	// SeverityInfo: nothing to repair, worth knowing.
	SeverityInfo Severity = "info"
)

// Alert is what the monitor publishes for one (pair, reason) window.
type Alert struct {
	Subject  string `json:"-"`
	Severity Severity
	// Pair is the pair ID, or "unmanaged" when s3crr does not manage the bucket.
	Pair      string
	Managed   bool
	Reason    string
	Known     bool
	Kind      Kind
	Cause     string
	Actor     Party
	Account   string
	Region    string
	Source    Side
	Dest      Side
	RuleID    string
	Object    string `json:",omitempty"`
	VersionID string `json:",omitempty"`
	Operation string `json:",omitempty"`
	// RequestTime is the replicated request's time; EventTime when S3 reported it.
	RequestTime time.Time `json:",omitzero"`
	EventTime   time.Time `json:",omitzero"`
	Count       int64
	Since       time.Time `json:",omitzero"`
	Statements  []string  `json:",omitempty"`
	Fix         []string
	Doc         string
	Raw         json.RawMessage `json:",omitempty"`
	// Body is the e-mail text.
	Body string `json:"-"`
}

// UnmanagedPair is the pair attribute of alerts for buckets s3crr does not manage.
const UnmanagedPair = "unmanaged"

// maxSubject is SNS's limit: under 100 characters, ASCII, no line breaks
// (docs/aws-facts.md#F-SNS-LIMITS).
const maxSubject = 99

// maxRaw bounds the raw event carried in an alert, far below SNS's 256 KB.
const maxRaw = 32 << 10

// build turns a signal into an alert; pair is the registered pair when managed.
func build(sig Signal, pair Pair, managed bool, count int64, since time.Time) Alert {
	a := Alert{
		Pair: UnmanagedPair, Managed: managed, Kind: sig.Kind, Reason: reasonOf(sig),
		Account: sig.Account, Region: sig.Region, RuleID: sig.RuleID,
		Source: Side{Bucket: sig.SourceBucket, Region: sig.Region, Account: sig.Account},
		Dest:   Side{Bucket: sig.DestinationBucket},
		Object: sig.Key, VersionID: sig.VersionID, Operation: sig.S3Operation,
		RequestTime: sig.RequestTime, EventTime: sig.EventTime,
		Count: count, Since: since, Doc: FailureCodesURL,
	}
	if managed {
		a.Pair, a.Source, a.Dest = pair.ID, pair.Source, pair.Destination
		if a.RuleID == "" {
			a.RuleID = pair.RuleID
		}
	}
	if a.Count < 1 {
		a.Count = 1
	}
	rerun := fmt.Sprintf("crr apply --rerun -f <the pair's request, %s.json>", a.Pair)
	redrive := fmt.Sprintf("Then re-drive the FAILED objects with S3 Batch Replication: crr redrive %s --wait", a.Pair)
	switch sig.Kind {
	case KindFailed:
		a.Severity = SeverityFailure
		r, ok := LookupReason(sig.Reason)
		a.Known = ok
		if !ok {
			a.Actor = PartyHub
			a.Cause = "S3 reported a failure reason s3crr does not know (" + sig.Reason + "); the raw event is attached."
			a.Fix = []string{"Look the code up on " + FailureCodesURL + ".", rerun, redrive}
			a.Raw = clip(sig.RawJSON())
			break
		}
		a.Reason, a.Cause, a.Actor = r.Code, r.Cause, r.Actor
		for _, g := range r.Grants {
			a.Statements = append(a.Statements, statement(g, a))
		}
		if len(a.Statements) > 0 {
			a.Fix = append(a.Fix, "Check the statements s3crr wrote for the pair (listed below): restore them, and remove any Deny on the replication role.")
		}
		a.Fix = append(a.Fix, r.Fix)
		if r.Rerun {
			a.Fix = append(a.Fix, rerun)
		}
		if !r.BatchOnly {
			a.Fix = append(a.Fix, redrive)
		}
	case KindMissedThreshold:
		a.Severity, a.Actor = SeverityWarning, PartySource
		a.Cause = "An object has not replicated within the S3 Replication Time Control threshold" + suffix(" (", sig.Threshold, ")") + "; it is still pending."
		a.Fix = []string{"Nothing to repair yet: S3 keeps trying. A later OperationReplicatedAfterThreshold event says it arrived; a FAILED status or OperationFailedReplication event needs the fix it names."}
	case KindReplicatedAfterThreshold:
		a.Severity, a.Actor = SeverityRecovery, PartySource
		a.Cause = "An object that missed the Replication Time Control threshold has now replicated" + suffix(" (after ", sig.ReplicationTime, ")") + "."
		a.Fix = []string{"Nothing to do: this is a recovery note."}
	case KindNotTracked:
		a.Severity, a.Actor = SeverityInfo, PartySource
		a.Cause = "An object eligible for replication is no longer tracked by replication metrics."
		a.Fix = []string{"Nothing to repair; check the object's x-amz-replication-status if in doubt."}
	case KindAlarm:
		a.Severity, a.Actor = SeverityFailure, PartySource
		a.Cause = fmt.Sprintf("CloudWatch alarm %s is in ALARM: S3 counted %g failed replication operations in its period (%s).", sig.AlarmName, sig.FailedOperations, sig.AlarmReason)
		a.Fix = []string{
			"The per-object failure alerts for this pair name the reason and its fix; if none arrived, failure events are not reaching the hub: check the member's " + names.EventsDLQName + " queue and the source bucket's event notification.",
			redrive,
		}
	case KindEventsUndelivered:
		// Not about one pair: the member region's whole route is broken, so every pair
		// whose source bucket is there is silent until it is repaired.
		a.Severity, a.Actor = SeverityFailure, PartySource
		a.Reason = string(KindEventsUndelivered)
		a.Cause = fmt.Sprintf("Replication events are not reaching the hub: alarm %s is in ALARM because messages are waiting in the %s queue of account %s, %s (%s). Until that is repaired, failures of every pair with a source bucket there are not alerted.",
			sig.AlarmName, names.EventsDLQName, orUnknown(sig.Account), orUnknown(sig.Region), sig.AlarmReason)
		a.Fix = []string{
			"In account " + orUnknown(sig.Account) + ", " + orUnknown(sig.Region) + ": read a message in " + names.EventsDLQName + " to see which hop refused it; the Pipe " + names.EventsPipeName + " (its role, policy " + names.PipePolicyName + ") and the rules " + names.ForwardReplicationRuleName + " and " + names.ForwardAlarmRuleName + " send to the hub bus " + names.EventBusName + ", whose policy must admit this account's rules (redeploy HubStack after adding a member to cdk.json).",
			"Redeploy the member stack " + names.MemberStackName(orUnknown(sig.Account), orUnknown(sig.Region)) + " if a piece is missing (cdk deploy), then move the dead-lettered messages back to " + names.EventsQueueName + " (SQS dead-letter queue redrive: aws sqs start-message-move-task --source-arn <" + names.EventsDLQName + " ARN>).",
			"Check each source bucket's replication status meanwhile: crr status <pair-id>.",
		}
	case KindOtherAlarm:
		a.Severity, a.Actor = SeverityFailure, PartySource
		a.Reason = string(KindOtherAlarm)
		a.Cause = fmt.Sprintf("s3crr alarm %s in account %s, %s is in ALARM: %s", sig.AlarmName, orUnknown(sig.Account), orUnknown(sig.Region), orUnknown(sig.AlarmReason))
		a.Fix = []string{"Open the alarm in the CloudWatch console of account " + orUnknown(sig.Account) + ", " + orUnknown(sig.Region) + ": its description says what it watches."}
	}
	a.Subject = subject(a)
	a.Body = body(a, sig)
	return a
}

func reasonOf(sig Signal) string {
	if sig.Kind == KindFailed {
		return sig.Reason
	}
	return string(sig.Kind)
}

// statement names one statement: its document, where that document lives, and its Sid.
func statement(g Grant, a Alert) string {
	pair := a.Pair
	if !a.Managed {
		pair = "<pair>"
	}
	where := ""
	switch g.Doc {
	case DocTrust, DocRole:
		// The role is the source bucket's, shared by its pairs (a pair provisioned before
		// roles were per bucket may still use s3crr-repl-<pairId>: the bucket's
		// replication configuration names it).
		role := names.ReplicationRoleNamePrefix + "<bucket>-<hash>"
		if a.Source.Account != "" && a.Source.Bucket != "" {
			role = names.SourceReplicationRoleName(a.Source.Account, a.Source.Bucket)
		}
		where = " " + role + " (source account " + orUnknown(a.Source.Account) + ")"
	case DocSourceKey:
		where = " " + orUnknown(a.Source.KeyARN)
	case DocDestinationKey:
		where = " " + orUnknown(a.Dest.KeyARN) + " (destination account " + orUnknown(a.Dest.Account) + ")"
	case DocDestinationBucket:
		where = " s3://" + orUnknown(a.Dest.Bucket) + " (destination account " + orUnknown(a.Dest.Account) + ")"
	}
	return fmt.Sprintf("%s%s, Sid %s (%s)", g.Doc, where, policy.SidOf(pair, g.Purpose), strings.Join(g.Actions, ", "))
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func suffix(pre, v, post string) string {
	if v == "" {
		return ""
	}
	return pre + v + post
}

// subject is "s3crr <SEVERITY> <reason>: pair <pair> <src> -> <dst>", ASCII, cut to SNS's
// limit: the reason and the pair come first so they survive; bucket names are shortened in
// the middle so both ends stay recognisable.
func subject(a Alert) string {
	head := fmt.Sprintf("s3crr %s %s: %s", strings.ToUpper(string(a.Severity)), a.Reason, a.Pair)
	if a.Kind == KindEventsUndelivered || a.Kind == KindOtherAlarm {
		// Not about a pair: name where it happened instead.
		return middle(ascii(fmt.Sprintf("s3crr %s %s: account %s %s", strings.ToUpper(string(a.Severity)), a.Reason, orUnknown(a.Account), orUnknown(a.Region))), maxSubject)
	} else if !a.Managed {
		head = fmt.Sprintf("s3crr %s %s: unmanaged", strings.ToUpper(string(a.Severity)), a.Reason)
	}
	head = ascii(head)
	if len(head) > maxSubject {
		return middle(head, maxSubject)
	}
	room := maxSubject - len(head) - len(" (") - len(" -> ") - len(")")
	src, dst := ascii(a.Source.Bucket), ascii(a.Dest.Bucket)
	if room < 8 || src == "" {
		return head
	}
	if dst == "" {
		return head + " (" + middle(src, room+len(" -> ")) + ")"
	}
	half := room / 2
	if len(src) < half {
		half = room - len(src)
		return head + " (" + src + " -> " + middle(dst, half) + ")"
	}
	if len(dst) < room-half {
		return head + " (" + middle(src, room-len(dst)) + " -> " + dst + ")"
	}
	return head + " (" + middle(src, half) + " -> " + middle(dst, room-half) + ")"
}

// middle shortens s to at most n bytes by replacing its middle with "..".
func middle(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < 5 {
		return s[:n]
	}
	keep := n - 2
	return s[:keep-keep/2] + ".." + s[len(s)-keep/2:]
}

// ascii keeps printable ASCII (SNS subjects allow nothing else) and replaces the rest.
func ascii(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 0x20 && r < 0x7f {
			b.WriteRune(r)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}

func body(a Alert, sig Signal) string {
	var b strings.Builder
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-13s %s\n", k+":", v)
		}
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	what := map[Kind]string{
		KindFailed:                   "Objects failed to replicate",
		KindMissedThreshold:          "Replication is late",
		KindReplicatedAfterThreshold: "Late replication completed",
		KindNotTracked:               "Replication metrics stopped tracking an object",
		KindAlarm:                    "The pair's failed-replication alarm fired",
		KindEventsUndelivered:        "Replication events are not reaching the hub",
		KindOtherAlarm:               "An s3crr alarm fired",
	}[a.Kind]
	fmt.Fprintf(&b, "%s (%s).\n\n", what, a.Reason)
	if a.Managed {
		line("Pair", a.Pair)
	} else {
		line("Pair", "none: s3crr does not manage this bucket and rule (unmanaged)")
	}
	line("Source", side(a.Source))
	line("Destination", side(a.Dest))
	line("Rule", a.RuleID)
	line("Object", a.Object)
	line("Version ID", a.VersionID)
	line("Operation", a.Operation)
	line("Request time", ts(a.RequestTime))
	line("Reported", ts(a.EventTime))
	if a.Count > 1 {
		line("How many", fmt.Sprintf("%d events for this pair and reason since %s (one alert per window)", a.Count, ts(a.Since)))
	} else {
		line("How many", "1 event (further ones are counted, not alerted, for the window)")
	}
	fmt.Fprintf(&b, "\nWhy\n  %s\n", a.Cause)
	fmt.Fprintf(&b, "\nWho must act\n  the %s account", a.Actor)
	switch a.Actor {
	case PartySource:
		fmt.Fprintf(&b, " (%s)", orUnknown(a.Source.Account))
	case PartyDestination:
		fmt.Fprintf(&b, " (%s)", orUnknown(a.Dest.Account))
	}
	b.WriteString("\n\nHow to fix\n")
	for i, f := range a.Fix {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, f)
	}
	if len(a.Statements) > 0 {
		b.WriteString("\nStatements s3crr wrote that this reason depends on\n")
		for _, st := range a.Statements {
			fmt.Fprintf(&b, "  - %s\n", st)
		}
	}
	fmt.Fprintf(&b, "\nReference: %s\n", a.Doc)
	if len(a.Raw) > 0 {
		fmt.Fprintf(&b, "\nRaw event:\n%s\n", a.Raw)
	}
	fmt.Fprintf(&b, "\n(s3crr monitor, event %s)\n", sig.Origin)
	return b.String()
}

func side(s Side) string {
	if s.Bucket == "" {
		return ""
	}
	out := "s3://" + s.Bucket
	var at []string
	if s.Account != "" {
		at = append(at, "account "+s.Account)
	}
	if s.Region != "" {
		at = append(at, s.Region)
	}
	if len(at) > 0 {
		out += " (" + strings.Join(at, ", ") + ")"
	}
	return out
}

// clip bounds a raw event; a cut one is no longer JSON, so it is quoted.
func clip(raw json.RawMessage) json.RawMessage {
	if len(raw) <= maxRaw {
		return raw
	}
	cut := raw[:maxRaw]
	for len(cut) > 0 && !utf8.Valid(cut) {
		cut = cut[:len(cut)-1]
	}
	q, _ := json.Marshal(string(cut) + "...(truncated)")
	return q
}
