package localrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/s3crr/s3crr/internal/localhub"
)

func TestMain(m *testing.M) {
	// kumo's deliveries (the hub bus rule to the inbox queue) must reach this
	// process's hub: KUMO_PORT has to be set before kumo's init functions run.
	if err := localhub.EnsureKumoPort(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// needRunner skips when node_modules is absent (CI runs `npm ci` first); when it
// is there, a broken runner fails Start instead.
func needRunner(t *testing.T) string {
	t.Helper()
	root, err := localhub.FindModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules")); err != nil {
		t.Skip("node_modules is missing: run `npm ci` in the repository root to install the ASL runner and Node 22")
	}
	return root
}

// startEnv starts a local deployment whose hub resources are this test's own:
// kumo's state lives as long as the process, so -count=N repetitions must not
// read each other's alerts, pairs or events.
func startEnv(t *testing.T, cfg Config) *Env {
	t.Helper()
	cfg.ModuleRoot = needRunner(t)
	name := fmt.Sprintf("%s-%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), time.Now().UnixNano())
	cfg.Hub.TopicName = name
	cfg.Hub.TableName = name + "-pairs"
	cfg.EventsInbox = name + "-events"
	cfg.Log = testLog{t}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	return env
}

func sampleRequest(t *testing.T, root string) []byte {
	t.Helper()
	b, err := os.ReadFile(RequestPath(root))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLocalRun(t *testing.T) {
	env := startEnv(t, Config{})
	ctx := context.Background()
	request := sampleRequest(t, env.ModuleRoot())
	var lines []Progress
	rep, err := env.Demo(ctx, request, func(p Progress) { lines = append(lines, p) })
	for _, p := range lines {
		t.Logf("run %d [%6.1fs] %-24s %s %s", p.Run, p.Elapsed.Seconds(), p.Stage, p.Status, p.Error)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rep.Replica)
}
