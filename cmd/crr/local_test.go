package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/localrun"
	"github.com/s3crr/s3crr/internal/testenv"
)

// needDemoRunner skips the demo tests when node_modules is absent, and fails them
// under CI (testenv); when it is there, a broken runner makes the demo fail.
func needDemoRunner(t *testing.T) string {
	t.Helper()
	root, err := localhub.FindModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	testenv.RequireNodeModules(t, root)
	return root
}

var (
	demoProgressRE = regexp.MustCompile(`(?m)^\[ +[0-9]+\.[0-9]s\] (\S+(?: \S+)?) +(SUCCEEDED|FAILED|RETRYING|WAITING)`)
	demoReplicaRE  = regexp.MustCompile(`(?m)^replica  s3://payments-dst/demo/hello\.txt  version (\S+)\n` +
		`  SSE-KMS key  (arn:aws:kms:us-east-1:222222222222:key/\S+)   \(destination key: yes\)\n` +
		`  status       REPLICA +source status COMPLETED +latency (?:<1|[0-9]+) ms\n` +
		`second run: 0 changes \(no configuration writes in the member accounts; the verification's canary made its 3 data writes under the reserved prefix\)$`)
	demoAlertRE = regexp.MustCompile(`(?ms)^broken   added an explicit Deny of s3:ReplicateObject.*\n` +
		`  s3://payments-src/demo/while-broken\.txt  version \S+  FAILED DstPutObjectNotPermitted\n` +
		`alert    "s3crr FAILURE DstPutObjectNotPermitted: payments-archive[^"]*"\n` +
		`  pair     payments-archive   reason DstPutObjectNotPermitted   severity failure\n` +
		`  object   demo/while-broken\.txt  version \S+\n` +
		`  why      .+\n` +
		`  fix 1    .+` +
		`repaired payments-archive-\S+-repair  [1-9][0-9]* changes.*\n` +
		`replica  s3://payments-dst/demo/after-repair\.txt  status REPLICA  source status COMPLETED$`)
)

func TestLocalDemoProvisionsShowsTheReplicaAndRerunsWithoutChanges(t *testing.T) {
	needDemoRunner(t)
	code, stdout, _ := runCLI(t, "local", "demo")
	if code != exitOK {
		t.Fatalf("exit code %d, want 0", code)
	}
	var stages []string
	for _, m := range demoProgressRE.FindAllStringSubmatch(stdout, -1) {
		stages = append(stages, m[1]+" "+m[2])
	}
	for _, want := range []string{"validate SUCCEEDED", "preflight SUCCEEDED", "key destination SUCCEEDED", "replication source SUCCEEDED"} {
		if n := countLines(stages, want); n != 3 {
			t.Errorf("progress shows %q %d times, want once per run (provision, rerun, repair); progress: %q", want, n, stages)
		}
	}
	// The re-drive after the repair is a fourth execution, of the redrive state machine.
	for want, times := range map[string]int{"notifySuccess SUCCEEDED": 4, "batchReport source SUCCEEDED": 1} {
		if n := countLines(stages, want); n != times {
			t.Errorf("progress shows %q %d times, want %d (provision, rerun, repair, redrive); progress: %q", want, n, times, stages)
		}
	}
	if !regexp.MustCompile(`redrive  SUCCEEDED  \S+:execution:s3crr-redrive:\S+: s3://payments-src/demo/while-broken\.txt is now COMPLETED`).MatchString(stdout) {
		t.Errorf("no line showing the object that failed while broken re-driven to COMPLETED:\n%s", stdout)
	}
	if !strings.Contains(stdout, "\nrun 1\n") || !strings.Contains(stdout, "\nrun 2\n") {
		t.Error("progress does not say which run it belongs to")
	}
	if !demoReplicaRE.MatchString(stdout) {
		t.Errorf("no final block with the replica in B under B's key, REPLICA, COMPLETED and a clean second run:\n%s", stdout)
	}
	if !strings.Contains(stdout, "first run: payments-archive-") {
		t.Error("no first-run summary")
	}
	if !demoAlertRE.MatchString(stdout) {
		t.Errorf("no block with the monitor's alert for the broken pair, the repair and the next replica:\n%s", stdout)
	}
	for _, want := range []string{"PASSED  (canary replicated in", "tampered  FAILED", "destination-key-policy → DstPutObjectNotPermitted", "fix: ", "repaired  PASSED"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the verification step does not show %q:\n%s", want, stdout)
		}
	}
}

func TestLocalDemoFailedStageQuiet(t *testing.T) {
	root := needDemoRunner(t)
	// A destination account without MemberStack's provisioner role.
	b, err := os.ReadFile(localrun.RequestPath(root))
	if err != nil {
		t.Fatal(err)
	}
	req := filepath.Join(t.TempDir(), "no-role.json")
	if err := os.WriteFile(req, bytes.ReplaceAll(b, []byte("222222222222"), []byte("333333333333")), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "local", "demo", "--quiet", "-f", req)
	if m := regexp.MustCompile(`(?m)^Lambda output: (\S+)$`).FindStringSubmatch(stdout); m != nil {
		t.Cleanup(func() { os.Remove(m[1]) }) // kept for people after a failure, not for tests
	}
	if code != exitFailure {
		t.Fatalf("exit code %d, want %d", code, exitFailure)
	}
	if demoProgressRE.MatchString(stdout) || strings.Contains(stdout, "starting the stand-ins") {
		t.Errorf("--quiet printed progress:\n%s", stdout)
	}
	for _, want := range []string{
		"FAILED  payments-archive-",
		"  error  preflight: AccessDenied\n",
		"arn:aws:iam::333333333333:role/s3crr-provisioner",
		`  alert  "s3crr: provisioning failed at stage preflight"`,
		"Lambda output: ",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "replica  s3://") {
		t.Error("a failed provisioning printed a replica")
	}
	if !strings.Contains(stderr, "FAILED with preflight: AccessDenied") || strings.Contains(stderr, "errorMessage") {
		t.Errorf("stderr %q, want one line naming the failed stage", stderr)
	}
}

func TestLocalDemoCommandLine(t *testing.T) {
	dir := t.TempDir()
	invalid := filepath.Join(dir, "invalid.json")
	if err := os.WriteFile(invalid, []byte(`{"pairId":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		give       []string
		want       int
		wantStdout string
		wantStderr string
	}{
		{name: "help", give: []string{"local", "demo", "-h"}, want: exitOK, wantStdout: "-keep"},
		{name: "unknown flag", give: []string{"local", "demo", "--fast"}, want: exitUsage, wantStderr: "fast"},
		{name: "argument", give: []string{"local", "demo", "now"}, want: exitUsage, wantStderr: `unexpected argument "now"`},
		{name: "missing file", give: []string{"local", "demo", "-f", filepath.Join(dir, "nope.json")}, want: exitFailure, wantStderr: "nope.json"},
		{name: "invalid request", give: []string{"local", "demo", "-f", invalid}, want: exitInvalid, wantStderr: "pairId: must be 3 to 48 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.give...)
			if code != tt.want || !strings.Contains(stdout, tt.wantStdout) || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
					code, stdout, stderr, tt.want, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

func TestNeedsKumoPortOnlyForTheDemo(t *testing.T) {
	tests := []struct {
		give []string
		want bool
	}{
		{give: []string{"local", "demo"}, want: true},
		{give: []string{"local", "demo", "--keep"}, want: true},
		{give: []string{"local", "serve"}, want: false},
		{give: []string{"local"}, want: false},
		{give: []string{"validate", "-f", "local"}, want: false},
		{give: []string{"apply", "local", "demo"}, want: false},
		{give: nil, want: false},
	}
	for _, tt := range tests {
		if got := needsKumoPort(tt.give); got != tt.want {
			t.Errorf("needsKumoPort(%q) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	tests := []struct {
		give localrun.Progress
		want string
	}{
		{
			give: localrun.Progress{Elapsed: 1234 * time.Millisecond, Stage: "preflight", Status: localrun.StatusSucceeded},
			want: "[   1.2s] preflight                  SUCCEEDED",
		},
		{
			give: localrun.Progress{Elapsed: 65 * time.Second, Stage: "key destination", Status: localrun.StatusFailed, Error: "PrincipalNotReady"},
			want: "[  65.0s] key destination            FAILED  PrincipalNotReady",
		},
		{
			give: localrun.Progress{Stage: "key destination", Status: localrun.StatusRetrying, Attempt: 1},
			want: "[   0.0s] key destination            RETRYING (attempt 2)",
		},
	}
	for _, tt := range tests {
		if got := progressLine(tt.give); got != tt.want {
			t.Errorf("progressLine(%+v)\n got %q\nwant %q", tt.give, got, tt.want)
		}
	}
}

func TestDemoReportSaysWhetherTheReplicaKeyIsTheDestinationKey(t *testing.T) {
	const bKey = "arn:aws:kms:us-east-1:222222222222:key/b"
	tests := []struct {
		name       string
		replicaKey string
		want       string
	}{
		{name: "B's key", replicaKey: bKey, want: "  SSE-KMS key  " + bKey + "   (destination key: yes)\n"},
		{name: "A's key", replicaKey: "arn:aws:kms:ap-south-1:111111111111:key/a", want: "(destination key: no, want " + bKey + ")"},
		{name: "no key", replicaKey: "", want: "  SSE-KMS key  (none)   (destination key: no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w bytes.Buffer
			printDemoReport(&w, &localrun.Report{Replica: localrun.Replica{
				DestinationBucket: "payments-dst", Key: "demo/hello.txt", SourceVersionID: "v1", ReplicaVersionID: "v1",
				SourceStatus: "COMPLETED", ReplicaStatus: "REPLICA", ReplicaKMSKeyID: tt.replicaKey, DestinationKeyARN: bKey,
				Latency: 12 * time.Millisecond,
			}})
			if !strings.Contains(w.String(), tt.want) || !strings.Contains(w.String(), "latency 12 ms") {
				t.Errorf("report:\n%s\nwant %q and the latency", w.String(), tt.want)
			}
		})
	}
}

func countLines(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
