package main

// Small text formatting shared by the commands' output.

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// indent prefixes every line of s after the first, so a multi-line text lines up under
// its label.
func indent(s, prefix string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}

// formatElapsed prints a duration at a useful precision: tenths of a second under a
// minute, whole seconds above.
func formatElapsed(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// firstLine is s up to its first newline: a history line shows one line of a cause.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// shorten cuts s to n bytes and marks the cut, keeping a progress line on one screen line.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// arnField returns the i-th colon-separated field of an ARN ("" if it has fewer).
func arnField(arn string, i int) string {
	parts := strings.SplitN(arn, ":", 7)
	if i < len(parts) {
		return parts[i]
	}
	return ""
}

// arnName is the last field of an ARN: a queue's name.
func arnName(arn string) string {
	return arn[strings.LastIndex(arn, ":")+1:]
}

// orNone shows an empty value as "(none)" rather than as a gap in a column.
func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// formatLatency prints a replication latency in whole milliseconds.
func formatLatency(d time.Duration) string {
	if d < time.Millisecond {
		return "<1 ms"
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}

// onOff prints a request option as on or off.
func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
