package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/localrun"
	"github.com/s3crr/s3crr/internal/spec"
)

// localCommand is the "local" group: running s3crr against simulated accounts.
func localCommand() *command {
	return &command{
		name:    "local",
		summary: "run s3crr locally: the member-account simulator (serve) or the full run (demo)",
		subs: []*command{{
			name:    "serve",
			summary: "serve simulated S3, KMS, IAM and STS accounts on one endpoint until interrupted",
			run:     localServe,
		}, {
			name:    "demo",
			summary: "provision a pair on local stand-ins with the real state machine and Lambda, and show the replica",
			run:     localDemo,
		}},
	}
}

// needsKumoPort reports whether the command line runs the local demo, whose hub
// stand-in (kumo) must learn its own port from KUMO_PORT before its init functions
// run: main then has localhub.EnsureKumoPort re-execute the process with it set.
// No other command starts kumo, so no other command pays for the re-exec.
func needsKumoPort(args []string) bool {
	return len(args) >= 2 && args[0] == "local" && args[1] == "demo"
}

// accountRoles names the well-known simulated accounts in the printed banner.
var accountRoles = map[string]string{
	localaws.HubAccount:         "hub (automation account)",
	localaws.SourceAccount:      "member A (source)",
	localaws.DestinationAccount: "member B (destination)",
}

// newFlagSet returns a flag set that reports errors to the caller instead of printing or
// exiting, so run decides the exit code.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args; -h prints the flags to stdout and reports done.
func parseFlags(fs *flag.FlagSet, env *cliEnv, usage string, args []string) (done bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(env.stdout, "Usage: %s\n\nFlags:\n", usage)
			fs.SetOutput(env.stdout)
			fs.PrintDefaults()
			return true, nil
		}
		return false, usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return false, usagef("unexpected argument %q", fs.Arg(0))
	}
	return false, nil
}

// localServe runs `crr local serve`.
func localServe(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("crr local serve")
	addr := fs.String("addr", "127.0.0.1:0", "`host:port` to listen on; port 0 picks a free port (printed)")
	delay := fs.Duration("replication-delay", 0, "postpone each replication by this `duration` (e.g. 2s) to make PENDING observable")
	window := fs.Duration("propagation-window", 0, "new IAM roles stay invisible to KMS, S3 and STS for this `duration`, as IAM's eventual consistency")
	accounts := fs.String("accounts", strings.Join([]string{localaws.HubAccount, localaws.SourceAccount, localaws.DestinationAccount}, ","),
		"comma-separated 12-digit `account IDs` to simulate")
	usage := "crr local serve [--addr 127.0.0.1:PORT] [--replication-delay D] [--propagation-window D] [--accounts IDS]"
	if done, err := parseFlags(fs, env, usage, args); done || err != nil {
		return err
	}
	if *delay < 0 || *window < 0 {
		return usagef("durations must not be negative")
	}
	ids, err := parseAccounts(*accounts)
	if err != nil {
		return err
	}

	var logMu sync.Mutex // the event sink runs on replication goroutines
	sim := localaws.New(localaws.Options{
		Accounts:          ids,
		ReplicationDelay:  *delay,
		PropagationWindow: *window,
		EventSink: func(e localaws.Event) {
			logMu.Lock()
			defer logMu.Unlock()
			fmt.Fprintf(env.stderr, "event %s bucket=%s target=%s\n%s\n", e.EventName, e.Bucket, e.TargetARN, e.Body)
		},
	})
	defer sim.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	endpoint := "http://" + ln.Addr().String()
	printBanner(env.stdout, endpoint, sim.Accounts(), *delay, *window)

	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve %s: %w", endpoint, err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down %s: %w", endpoint, err)
	}
	fmt.Fprintln(env.stdout, "stopped")
	return nil
}

// parseAccounts validates the --accounts list.
func parseAccounts(list string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	for _, id := range strings.Split(list, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if len(id) != 12 || strings.Trim(id, "0123456789") != "" {
			return nil, usagef("account %q is not a 12-digit account ID", id)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, usagef("--accounts names no account")
	}
	return ids, nil
}

// printBanner prints the endpoint first, on a line of its own that scripts can read
// ("endpoint: URL"), then the accounts and how to call them.
func printBanner(w io.Writer, endpoint string, accounts []string, delay, window time.Duration) {
	fmt.Fprintf(w, "endpoint: %s\n", endpoint)
	fmt.Fprintln(w, "services: S3 (path-style), KMS, IAM, STS; the region comes from each request's signature")
	fmt.Fprintln(w, "accounts (root credentials: access key ID = account ID, any secret):")
	for _, id := range accounts {
		role := accountRoles[id]
		if role == "" {
			role = "member"
		}
		fmt.Fprintf(w, "  %s  %s\n", id, role)
	}
	fmt.Fprintf(w, "replication delay: %s, IAM propagation window: %s\n", delay, window)
	fmt.Fprintf(w, "try: AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=any AWS_REGION=ap-south-1 aws --endpoint-url %s sts get-caller-identity\n",
		accounts[0], endpoint)
	fmt.Fprintln(w, "serving until interrupted (Ctrl-C)")
}

// localDemo runs `crr local demo`.
func localDemo(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("crr local demo")
	file := fs.String("f", "", "pair request `file` (JSON); default statemachine/sample-pair.json; - reads standard input")
	keep := fs.Bool("keep", false, "keep the stand-ins serving after the run, printing their endpoints, until interrupted (Ctrl-C)")
	quiet := fs.Bool("quiet", false, "print only the result, not the progress")
	usage := "crr local demo [-f request.json] [--keep] [--quiet]\n\n" +
		"Runs s3crr end to end on this machine: the member-account simulator as accounts A and B,\n" +
		"the hub stand-in (kumo, with the ASL runner; needs `npm ci` once), the MemberStack and\n" +
		"HubStack roles, and statemachine/provision.asl.json with the real provision Lambda. It\n" +
		"provisions the request, writes an object in A and shows its replica in B, then runs the\n" +
		"same request again, which must change nothing. Exits 1 if any of that fails."
	if done, err := parseFlags(fs, env, usage, args); done || err != nil {
		return err
	}
	root, err := localhub.FindModuleRoot()
	if err != nil {
		return fmt.Errorf("find the s3crr repository (run crr local demo inside it): %w", err)
	}
	if *file == "" {
		*file = localrun.RequestPath(root)
	}
	request, err := readRequestFile(env, *file)
	if err != nil {
		return err
	}
	if _, err := spec.Parse(request); err != nil {
		return reportInvalid(env, err)
	}
	if err := localhub.CheckRunner(root); err != nil {
		return err
	}

	logFile, err := os.CreateTemp("", "s3crr-demo-lambda-*.log")
	if err != nil {
		return fmt.Errorf("create the Lambda log: %w", err)
	}
	defer logFile.Close()
	say := func(format string, a ...any) {
		if !*quiet {
			fmt.Fprintf(env.stdout, format, a...)
		}
	}
	say("starting the stand-ins and building the provision Lambda (Lambda output: %s)\n", logFile.Name())
	lenv, err := localrun.Start(ctx, localrun.Config{ModuleRoot: root, Log: logFile})
	if err != nil {
		return fmt.Errorf("start the local deployment: %w (Lambda output: %s)", err, logFile.Name())
	}
	defer lenv.Close()
	say("members  %s  (A %s, B %s: S3, KMS, IAM, STS)\n", lenv.MemberEndpoint, localaws.SourceAccount, localaws.DestinationAccount)
	say("hub      %s  (%s: Lambda, SNS, SQS, EventBridge, DynamoDB)\n", lenv.Hub.Endpoint, lenv.Hub.Account)

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
	if demoErr != nil {
		var ee *localrun.ExecutionError
		if errors.As(demoErr, &ee) {
			printFailedRun(ctx, env.stdout, lenv, ee.Run)
			// The details are above; the error line only names the outcome.
			demoErr = fmt.Errorf("execution %s FAILED with %s", ee.Run.Name, ee.Run.Execution.Error)
		}
		fmt.Fprintf(env.stdout, "Lambda output: %s\n", logFile.Name())
	}
	if *keep {
		printKeep(env.stdout, lenv, report)
		<-ctx.Done()
		fmt.Fprintln(env.stdout, "stopped")
	}
	if demoErr != nil {
		return demoErr
	}
	logFile.Close()
	os.Remove(logFile.Name()) // nothing to look into after a clean run
	return nil
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
		writes := "no writes in the member accounts"
		if r.Second.MemberWrites > 0 {
			writes = fmt.Sprintf("%d writes in the member accounts", r.Second.MemberWrites)
		}
		fmt.Fprintf(w, "second run: %d changes (%s)\n", n, writes)
	}
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
	fmt.Fprintf(w, "  events   replication failures on bus %s, delivered to queue %s\n", lenv.EventBusName, arnName(lenv.EventsInboxARN))
	fmt.Fprintf(w, "  the provision Lambda's credentials (the hub role's session) expire at %s: start the demo again after that\n",
		lenv.CredentialsExpire.UTC().Format("15:04 MST"))
	if r != nil && r.Replica.SourceVersionID != "" {
		req := r.Request
		fmt.Fprintf(w, "try: AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=any AWS_REGION=%s aws --endpoint-url %s s3api head-object --bucket %s --key %s\n",
			req.Destination.Account, req.Destination.Region, lenv.MemberEndpoint, req.Destination.Bucket, r.Replica.Key)
	}
}

// arnName is the last field of an ARN: a queue's name.
func arnName(arn string) string {
	return arn[strings.LastIndex(arn, ":")+1:]
}

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
