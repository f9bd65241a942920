package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localrun"
	"github.com/s3crr/s3crr/internal/spec"
	"github.com/s3crr/s3crr/statemachine"
)

// localDemo runs `crr local demo`.
func localDemo(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("crr local demo")
	file := fs.String("f", "", "pair request `file` (JSON); default statemachine/sample-pair.json (built in); - reads standard input")
	keep := fs.Bool("keep", false, "keep the stand-ins serving after the run, printing their endpoints, until interrupted (Ctrl-C)")
	quiet := fs.Bool("quiet", false, "print only the result, not the progress")
	usage := "crr local demo [-f request.json] [--keep] [--quiet]\n\n" +
		"Runs s3crr end to end on this machine: the member-account simulator as accounts A and B,\n" +
		"the hub stand-in (kumo, with the ASL runner; Node 20 and npm install it on first use), the MemberStack and\n" +
		"HubStack roles, and statemachine/provision.asl.json with the real provision Lambda. It\n" +
		"provisions the request, writes an object in A and shows its replica in B, then runs the\n" +
		"same request again, which must change nothing. Then it breaks the pair (a Deny of\n" +
		"s3:ReplicateObject on the replication role), writes an object, shows the alert the monitor\n" +
		"Lambda sends, repairs the pair with a third run and shows the next object replicating.\n" +
		"Last it verifies the pair (checks and a canary), removes the destination key policy's\n" +
		"statement, shows the verification naming it with the fix, re-applies, and verifies again.\n" +
		"Exits 1 if any of that fails."
	if done, err := parseFlags(fs, env, usage, args); done || err != nil {
		return err
	}
	var request []byte
	var err error
	if *file == "" {
		request = statemachine.SamplePair()
	} else if request, err = readRequestFile(env, *file); err != nil {
		return err
	}
	if _, err := spec.Parse(request); err != nil {
		return reportInvalid(env, err)
	}

	say := func(format string, a ...any) {
		if !*quiet {
			fmt.Fprintf(env.stdout, format, a...)
		}
	}
	say("starting the local stack, as crr local up does\n")
	// The simulator replicates at once, so the verification's first canary check need not
	// wait the deployed 15 s.
	st, err := startStack(ctx, env, localrun.Config{WaitOverrides: map[string]time.Duration{"WaitForReplica": time.Second}})
	if err != nil {
		return err
	}
	keepLog := false
	defer func() { st.Close(keepLog) }()
	lenv := st.Env
	say("members  %s  (A %s, B %s: S3, KMS, IAM, STS)\n", lenv.MemberEndpoint, localaws.SourceAccount, localaws.DestinationAccount)
	say("hub      %s  (%s: Step Functions, Lambda, SNS, SQS, EventBridge, DynamoDB; Lambda output: %s)\n", lenv.Hub.Endpoint, lenv.Hub.Account, st.LogPath)

	lastRun := 0
	report, demoErr := lenv.Demo(ctx, request, func(p localrun.Progress) {
		if *quiet {
			return
		}
		if p.Run != lastRun {
			lastRun = p.Run
			fmt.Fprintf(env.stdout, "\nrun %d\n", p.Run)
		}
		fmt.Fprintln(env.stdout, progressLine(p))
	})
	say("\n")
	if report != nil {
		printDemoReport(env.stdout, report)
	}
	if demoErr == nil {
		var vd *localrun.VerifyDemo
		vd, demoErr = lenv.DemoVerification(ctx, request)
		printVerifyDemo(env.stdout, vd)
	}
	if demoErr != nil {
		var ee *localrun.ExecutionError
		if errors.As(demoErr, &ee) {
			printFailedRun(ctx, env.stdout, lenv, ee.Run)
			// The details are above; the error line only names the outcome.
			demoErr = fmt.Errorf("execution %s FAILED with %s", ee.Run.Name, ee.Run.Execution.Error)
		}
		keepLog = true
		fmt.Fprintf(env.stdout, "Lambda output: %s\n", st.LogPath)
	}
	if *keep {
		printKeep(env.stdout, lenv, report)
		<-ctx.Done()
		fmt.Fprintln(env.stdout, "stopped")
	}
	return demoErr // a clean run's Lambda log is removed: nothing to look into
}

// progressLine renders one state transition: "[  1.2s] preflight           SUCCEEDED".
func progressLine(p localrun.Progress) string {
	line := fmt.Sprintf("[%6.1fs] %-26s %s", p.Elapsed.Seconds(), p.Stage, p.Status)
	switch {
	case p.Status == localrun.StatusRetrying:
		line += fmt.Sprintf(" (attempt %d)", p.Attempt+1)
	case p.Error != "":
		line += "  " + p.Error
	}
	return line
}

// printDemoReport prints what the demo established, as far as it got.
func printDemoReport(w io.Writer, r *localrun.Report) {
	if r.First != nil && r.First.Succeeded() {
		fmt.Fprintf(w, "first run: %s  %d changes  in %s\n", r.First.Name, len(r.First.Output.Changes()), formatElapsed(r.First.Execution.Elapsed))
	}
	rep := r.Replica
	if rep.SourceVersionID != "" {
		fmt.Fprintf(w, "replica  s3://%s/%s  version %s\n", rep.DestinationBucket, rep.Key, orNone(rep.ReplicaVersionID))
		yes := "no, want " + rep.DestinationKeyARN
		if rep.ReplicaKMSKeyID != "" && rep.ReplicaKMSKeyID == rep.DestinationKeyARN {
			yes = "yes"
		}
		fmt.Fprintf(w, "  SSE-KMS key  %s   (destination key: %s)\n", orNone(rep.ReplicaKMSKeyID), yes)
		fmt.Fprintf(w, "  status       %-12s source status %-12s latency %s\n", orNone(rep.ReplicaStatus), orNone(rep.SourceStatus), formatLatency(rep.Latency))
	}
	if r.Second != nil && r.Second.Succeeded() {
		n := len(r.Second.Output.Changes())
		writes := "no configuration writes in the member accounts"
		if r.Second.MemberWrites > 0 {
			writes = fmt.Sprintf("%d configuration writes in the member accounts", r.Second.MemberWrites)
		}
		// The run ends with the canary: its object and the deletion of both versions,
		// counted apart, as they prove the pair rather than change it.
		writes += fmt.Sprintf("; the verification's canary made its %d data writes under the reserved prefix", r.Second.CanaryWrites)
		fmt.Fprintf(w, "second run: %d changes (%s)\n", n, writes)
	}
	printBreakage(w, r.Breakage)
}

// printFailedRun prints a FAILED execution's error and cause, and the SNS alert it
// published.
func printFailedRun(ctx context.Context, w io.Writer, lenv *localrun.Env, run *localrun.Run) {
	x := run.Execution
	fmt.Fprintf(w, "FAILED  %s  in %s\n", run.Name, formatElapsed(x.Elapsed))
	fmt.Fprintf(w, "  error  %s\n", x.Error)
	fmt.Fprintf(w, "  cause  %s\n", indent(readableCause(x.Cause), "         "))
	alerts, err := lenv.Hub.ReceiveAlerts(ctx, 2*time.Second)
	if err != nil {
		fmt.Fprintf(w, "  alert  not read: %v\n", err)
		return
	}
	for _, a := range alerts {
		if a.MessageAttributes["outcome"].Value == "failed" {
			fmt.Fprintf(w, "  alert  %q, published to %s\n", a.Subject, a.TopicARN)
		}
	}
}

// printKeep prints how to reach the stand-ins that --keep leaves running.
func printKeep(w io.Writer, lenv *localrun.Env, r *localrun.Report) {
	fmt.Fprintln(w, "\nserving until interrupted (Ctrl-C):")
	fmt.Fprintf(w, "  members  %s  S3 (path-style), KMS, IAM, STS; root credentials: access key ID = account ID, any secret\n", lenv.MemberEndpoint)
	fmt.Fprintf(w, "  hub      %s  Lambda, SNS, SQS, EventBridge, DynamoDB (kumo; any credentials)\n", lenv.Hub.Endpoint)
	fmt.Fprintf(w, "  alerts   topic %s, subscribed queue %s\n", lenv.Hub.TopicARN, arnName(lenv.Hub.QueueARN))
	fmt.Fprintf(w, "  events   replication failures on bus %s, delivered to the monitor %s (and copied to queue %s)\n", lenv.EventBusName, arnName(lenv.Monitor.FunctionARN), arnName(lenv.EventsInboxARN))
	fmt.Fprintf(w, "  the provision Lambda's credentials (the hub role's session) expire at %s: start the demo again after that\n",
		lenv.CredentialsExpire.UTC().Format("15:04 MST"))
	if r != nil && r.Replica.SourceVersionID != "" {
		req := r.Request
		fmt.Fprintf(w, "try: AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=any AWS_REGION=%s aws --endpoint-url %s s3api head-object --bucket %s --key %s\n",
			req.Destination.Account, req.Destination.Region, lenv.MemberEndpoint, req.Destination.Bucket, r.Replica.Key)
	}
}
