package main

import (
	"fmt"
	"io"

	"github.com/s3crr/s3crr/internal/localrun"
)

// printBreakage prints the demo's failure step as far as it got: what was broken, the
// object that failed, the monitor's alert as the alert topic's subscriber read it (the
// subject and the body's key lines), the repairing run and the object replicated after it.
func printBreakage(w io.Writer, b *localrun.Breakage) {
	if b == nil {
		return
	}
	fmt.Fprintf(w, "broken   %s\n", b.How)
	if f := b.Failed; f.SourceVersionID != "" {
		fmt.Fprintf(w, "  s3://%s/%s  version %s  FAILED %s\n", f.SourceBucket, f.Key, f.SourceVersionID, orNone(b.Code))
	}
	if a := b.Alert; a.Pair != "" {
		fmt.Fprintf(w, "alert    %q\n", a.Subject)
		fmt.Fprintf(w, "  pair     %s   reason %s   severity %s\n", a.Pair, a.Reason, a.Severity)
		fmt.Fprintf(w, "  object   %s  version %s\n", a.Object, orNone(a.VersionID))
		fmt.Fprintf(w, "  why      %s\n", a.Cause)
		for i, f := range a.Fix {
			fmt.Fprintf(w, "  fix %d    %s\n", i+1, f)
		}
		for _, st := range a.Statements {
			fmt.Fprintf(w, "  listed   %s\n", st)
		}
	}
	if r := b.Repair; r != nil && r.Succeeded() {
		fmt.Fprintf(w, "repaired %s  %d changes  in %s\n", r.Name, len(r.Output.Changes()), formatElapsed(r.Execution.Elapsed))
	}
	if a := b.After; a.ReplicaStatus != "" {
		fmt.Fprintf(w, "replica  s3://%s/%s  status %s  source status %s\n", a.DestinationBucket, a.Key, a.ReplicaStatus, orNone(a.SourceStatus))
	}
	if r := b.Redrive; r != nil {
		fmt.Fprintf(w, "redrive  %s  %s: s3://%s/%s is now %s\n", r.Execution.Status, r.Execution.ARN, b.Failed.SourceBucket, b.Failed.Key, orNone(b.RedrivenStatus))
	}
}
