package verify

import (
	"fmt"
	"sort"
)

// Severity says how much a finding matters.
type Severity string

// Severities, most severe first.
const (
	// SeverityError: replication fails (or silently does not happen) as configured.
	SeverityError Severity = "error"
	// SeverityWarning: replication works today, but something s3crr set up is gone or
	// a document could not be fully judged.
	SeverityWarning Severity = "warning"
	// SeverityInfo: worth knowing, no action needed.
	SeverityInfo Severity = "info"
)

func (s Severity) rank() int {
	switch s {
	case SeverityError:
		return 0
	case SeverityWarning:
		return 1
	}
	return 2
}

// Kinds of check, for grouping and for the verify state machine's metrics.
const (
	KindSufficiency = "sufficiency"
	KindDrift       = "drift"
	KindAccess      = "access"
)

// Finding is one problem found in a pair.
type Finding struct {
	// Check names the check, e.g. "destination-versioning"; stable, for tests and
	// dashboards.
	Check string `json:"check"`
	// Kind is KindSufficiency, KindDrift or KindAccess (the auditor could not read).
	Kind     string   `json:"kind"`
	Severity Severity `json:"severity"`
	// Code is the failureReason S3 records on the source version if this bites
	// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-failure-codes.html);
	// empty when S3 records none (nothing is replicated at all, or drift only).
	Code string `json:"code,omitempty"`
	// Account is the account whose document is at fault.
	Account string `json:"account"`
	// Document names the document or resource at fault, e.g. "key policy of arn:...".
	Document string `json:"document"`
	// Statement is the Sid, statement or setting at fault, when there is one.
	Statement string `json:"statement,omitempty"`
	// Message says what is wrong.
	Message string `json:"message"`
	// Fix says what to do.
	Fix string `json:"fix"`
}

// String is the finding on one line, for logs and test failures.
func (f Finding) String() string {
	s := fmt.Sprintf("%s %s [%s]", f.Severity, f.Check, f.Account)
	if f.Code != "" {
		s += " " + f.Code
	}
	s += ": " + f.Message
	return s
}

// Report is the result of checking one pair.
type Report struct {
	PairID string `json:"pairId"`
	// Managed is true when s3crr provisioned the pair, so drift was checked too.
	Managed bool `json:"managed"`
	// RoleARN is the replication role the source's rule names.
	RoleARN  string    `json:"roleArn,omitempty"`
	Findings []Finding `json:"findings"`
	// Calls is the number of AWS API calls the checks made (all reads).
	Calls int `json:"calls"`
}

// Fails reports whether any finding would make replication fail.
func (r Report) Fails() bool {
	for _, f := range r.Findings {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Has reports whether the report holds a finding of this check, for tests and callers
// that act on one check.
func (r Report) Has(check string) (Finding, bool) {
	for _, f := range r.Findings {
		if f.Check == check {
			return f, true
		}
	}
	return Finding{}, false
}

// sortFindings orders findings by severity, then check, so output is stable.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Severity.rank() != fs[j].Severity.rank() {
			return fs[i].Severity.rank() < fs[j].Severity.rank()
		}
		return fs[i].Check < fs[j].Check
	})
}
