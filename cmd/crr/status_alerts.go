package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/monitor"
)

// printPairAlerts prints the pair's alert windows from the monitor's de-duplication
// table: per reason, the last alert, the occurrences counted since it (suppressed, to be
// reported by the next one) and the latest occurrence. A deployment without the monitor
// (no table) gets a note, not a failure: the rest of the status stands.
func printPairAlerts(ctx context.Context, env *cliEnv, c *dynamodb.Client, table, pairID string, doc *pairDoc) {
	ws, err := monitor.PairWindows(ctx, c, table, pairID)
	doc.AlertsTable, doc.Alerts = table, ws
	if err != nil {
		doc.AlertsError = awsclient.ErrorCode(err)
		note := "needs dynamodb:Scan on it"
		if awsclient.ErrorCode(err) == "ResourceNotFoundException" {
			note = "deploy the HubStack with the monitor, or pass --alerts-table and --region for the hub's"
		}
		fmt.Fprintf(env.stdout, "\nalerts: not read from table %s (%s): %v\n", table, note, awsclient.ErrorCode(err))
		return
	}
	if len(ws) == 0 {
		fmt.Fprintf(env.stdout, "\nno alerts for pair %s in %s (windows are kept 30 days after their last alert)\n", pairID, table)
		return
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(env.stdout, "\nalerts (latest occurrence first):\n")
	fmt.Fprintf(env.stdout, "  %-34s %-22s %-8s %s\n", "REASON", "LAST ALERT", "SINCE", "LAST SEEN")
	for _, w := range ws {
		last := ts(w.LastAlert)
		if !w.Sent && !w.LastAlert.IsZero() {
			last += "!" // claimed but not published yet: the retry publishes it
		}
		fmt.Fprintf(env.stdout, "  %-34s %-22s %-8d %s\n", w.Reason, last, w.SinceAlert, ts(w.LastSeen))
	}
	fmt.Fprintf(env.stdout, "  (SINCE: occurrences after the last alert, reported by the next one; ! = alert not yet published)\n")
}
