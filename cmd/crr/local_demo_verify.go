package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/s3crr/s3crr/internal/localrun"
	"github.com/s3crr/s3crr/internal/verifyjob"
)

// printVerifyDemo prints the demo's verification step: the pass, the tampering and the
// finding that names it with its fix, the repair, and the pass again.
func printVerifyDemo(w io.Writer, d *localrun.VerifyDemo) {
	if d == nil {
		return
	}
	line := func(label string, r verifyjob.Result) {
		if r.PairID == "" {
			return
		}
		latency := "no replica"
		if r.LatencySeconds > 0 {
			latency = fmt.Sprintf("canary replicated in %.2fs", r.LatencySeconds)
		}
		fmt.Fprintf(w, "verify   %-9s %s  (%s, %d finding(s))\n", label, strings.ToUpper(r.Status), latency, r.FindingCount)
	}
	fmt.Fprintln(w)
	line("", d.Healthy)
	if d.Removed != "" {
		fmt.Fprintf(w, "tamper   removed statement %s from the destination key policy\n", d.Removed)
	}
	line("tampered", d.Tampered)
	if f := d.Finding; f.Check != "" {
		fmt.Fprintf(w, "  %s %s → %s [%s]\n  %s\n  fix: %s\n", f.Severity, f.Check, f.Code, f.Account, f.Message, f.Fix)
	}
	if d.Repair != nil && d.Repair.Succeeded() {
		fmt.Fprintf(w, "repair   %s: %d change(s)\n", d.Repair.Name, len(d.Repair.Output.Changes()))
	}
	line("repaired", d.Repaired)
}
