package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/s3crr/s3crr/internal/localaws"
)

// localCommand is the "local" group: running s3crr against simulated accounts.
func localCommand() *command {
	return &command{
		name:    "local",
		summary: "run s3crr locally: the whole stack as a service (up), the full run (demo), or the member simulator alone (serve)",
		subs: []*command{{
			name:    "up",
			summary: "serve the member accounts and the hub (Step Functions, Lambda, ...) with s3crr deployed, until interrupted",
			run:     localUp,
		}, {
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
// No other command but local up (isLocalUp, on a port of the user's choice) starts
// kumo, so no other command pays for the re-exec.
func needsKumoPort(args []string) bool {
	return len(args) >= 2 && args[0] == "local" && args[1] == "demo"
}

// isLocalUp reports whether the command line runs crr local up.
func isLocalUp(args []string) bool {
	return len(args) >= 2 && args[0] == "local" && args[1] == "up"
}

// accountRoles names the well-known simulated accounts in the printed banner.
var accountRoles = map[string]string{
	localaws.HubAccount:         "hub (automation account)",
	localaws.SourceAccount:      "member A (source)",
	localaws.DestinationAccount: "member B (destination)",
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
