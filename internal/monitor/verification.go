package monitor

import (
	"fmt"
	"strings"
	"time"
)

// KindVerification marks an alert raised by the verify state machine rather than by an S3
// event: a pair's checks or canary found that replication fails or would fail.
const KindVerification Kind = "VerificationFailed"

// VerificationFinding is one problem a verification found, as the alert shows it. It
// mirrors internal/verify's Finding without importing it, so the monitor stays free of
// the verifier's SDK clients.
type VerificationFinding struct {
	Check, Severity, Code, Account, Document, Statement, Message, Fix string
}

// VerificationFailure is a failed verification of one pair.
type VerificationFailure struct {
	PairID       string
	Source, Dest Side
	// Status is the verification's outcome ("failed").
	Status   string
	Findings []VerificationFinding
	// Execution is the verify execution's ID, so the reader can open its history.
	Execution string
	At        time.Time
}

// verificationDoc is the page that explains the failure codes findings carry.
const verificationDoc = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-failure-codes.html"

// VerificationAlert is the alert for a failed verification, in the same format (subject,
// attributes, e-mail layout) as the monitor's alerts for replication events, so one
// subscription filter and one reader serve both. The reason is the first error finding's
// failure code, or its check when S3 would record no code.
func VerificationAlert(v VerificationFailure) Alert {
	a := Alert{
		Severity: SeverityFailure, Pair: v.PairID, Managed: true, Known: true, Kind: KindVerification,
		Reason: "VerificationFailed", Account: v.Source.Account, Region: v.Source.Region,
		Source: v.Source, Dest: v.Dest, Count: 1, EventTime: v.At, Doc: verificationDoc,
		Cause: fmt.Sprintf("verification of pair %s found %d problem(s) that make replication fail", v.PairID, len(v.Findings)),
	}
	for _, f := range v.Findings {
		if f.Severity != "error" {
			continue
		}
		if a.Reason == "VerificationFailed" {
			a.Reason = firstNonEmpty(f.Code, f.Check)
			a.Actor = PartySource
			if f.Account != "" && f.Account == v.Dest.Account && f.Account != v.Source.Account {
				a.Actor = PartyDestination
			}
		}
		a.Fix = append(a.Fix, f.Fix)
		if f.Statement != "" {
			a.Statements = append(a.Statements, f.Document+": "+f.Statement)
		}
	}
	if a.Actor == "" {
		a.Actor = PartySource
	}
	a.Subject = subject(a)
	a.Body = verificationBody(a, v)
	return a
}

func verificationBody(a Alert, v VerificationFailure) string {
	var b strings.Builder
	line := func(k, val string) {
		if val != "" {
			fmt.Fprintf(&b, "%-13s %s\n", k+":", val)
		}
	}
	fmt.Fprintf(&b, "Verification failed (%s).\n\n", a.Reason)
	line("Pair", a.Pair)
	line("Source", side(a.Source))
	line("Destination", side(a.Dest))
	if !v.At.IsZero() {
		line("Verified", v.At.UTC().Format(time.RFC3339))
	}
	line("Execution", v.Execution)
	fmt.Fprintf(&b, "\nWhy\n  %s\n", a.Cause)
	b.WriteString("\nFindings\n")
	for _, f := range v.Findings {
		code := ""
		if f.Code != "" {
			code = " " + f.Code
		}
		fmt.Fprintf(&b, "  - %s %s%s [%s] %s\n", f.Severity, f.Check, code, f.Account, f.Message)
		if f.Document != "" {
			fmt.Fprintf(&b, "    in %s %s\n", f.Document, f.Statement)
		}
	}
	b.WriteString("\nHow to fix\n")
	for i, f := range a.Fix {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, f)
	}
	fmt.Fprintf(&b, "\nReference: %s\n", a.Doc)
	b.WriteString("\n(s3crr verify)\n")
	return b.String()
}
