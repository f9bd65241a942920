package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/testenv"
	"github.com/s3crr/s3crr/statemachine"
)

var (
	crrOnce sync.Once
	crrBin  string
	crrErr  error
)

// crrBinary builds crr once per test process: local up runs its own binary as the
// hub's Lambda process (crr __lambda provision), which a test binary cannot be.
func crrBinary(t *testing.T) string {
	t.Helper()
	crrOnce.Do(func() {
		dir, err := os.MkdirTemp("", "s3crr-crr-test-")
		if err != nil {
			crrErr = err
			return
		}
		crrBin = filepath.Join(dir, "crr")
		out, err := exec.Command("go", "build", "-o", crrBin, ".").CombinedOutput()
		if err != nil {
			crrErr = &buildError{err: err, out: string(out)}
		}
	})
	if crrErr != nil {
		t.Fatal(crrErr)
	}
	return crrBin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "build crr: " + e.err.Error() + "\n" + e.out }

// upProcess is a running `crr local up`.
type upProcess struct {
	cmd      *exec.Cmd
	envFile  string
	env      []string // the test's environment with the env file's variables
	vars     map[string]string
	stdout   *syncBuffer
	stderr   *syncBuffer
	children []int
	done     chan error
}

// cleanEnv is the environment without anything that would point crr or the AWS CLI
// elsewhere: AWS variables, KUMO_PORT, the user's AWS config files.
func cleanEnv(t *testing.T) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "KUMO_PORT=") || strings.HasPrefix(kv, "S3CRR_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_EC2_METADATA_DISABLED=true")
}

// startUp starts `crr local up` with args in dir and waits for its env file, which it
// writes only once ready; the test ends (fails) if the process exits first.
func startUp(t *testing.T, bin, dir string, env []string, args ...string) *upProcess {
	t.Helper()
	p := &upProcess{envFile: filepath.Join(t.TempDir(), "s3crr.env"), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, append([]string{"local", "up", "--env-file", p.envFile}, args...)...)
	p.cmd.Dir, p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = dir, env, p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	for {
		if b, err := os.ReadFile(p.envFile); err == nil {
			p.vars = parseEnvFile(t, b)
			break
		}
		select {
		case err := <-p.done:
			t.Fatalf("crr local up exited (%v) before it was ready\nstdout:\n%s\nstderr:\n%s", err, p.stdout, p.stderr)
		case <-time.After(100 * time.Millisecond):
		}
	}
	p.env = append(append([]string(nil), env...), "AWS_ENDPOINT_URL="+p.vars["AWS_ENDPOINT_URL"], "AWS_ACCESS_KEY_ID="+p.vars["AWS_ACCESS_KEY_ID"],
		"AWS_SECRET_ACCESS_KEY="+p.vars["AWS_SECRET_ACCESS_KEY"], "AWS_REGION="+p.vars["AWS_REGION"])
	p.children = childPIDs(p.cmd.Process.Pid)
	return p
}

// parseEnvFile reads the `export K=V` lines, as a shell sourcing the file would.
func parseEnvFile(t *testing.T, b []byte) map[string]string {
	t.Helper()
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || !strings.HasPrefix(line, "export ") {
			t.Fatalf("env file line %q is not `export K=V`", line)
		}
		vars[k] = v
	}
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "S3CRR_LOCAL_MEMBERS_URL"} {
		if vars[k] == "" {
			t.Fatalf("env file lacks %s:\n%s", k, b)
		}
	}
	return vars
}

// childPIDs lists pid's child processes (Linux /proc: every thread's children, since Go
// starts processes from any thread); nil where that is unavailable.
func childPIDs(pid int) []int {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var pids []int
	for _, task := range tasks {
		b, err := os.ReadFile(task)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				pids = append(pids, n)
			}
		}
	}
	return pids
}

// stop sends SIGTERM and checks that local up exits 0 and leaves nothing behind: no
// child process, no env file, no Lambda log.
func (p *upProcess) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("crr local up exited with %v after SIGTERM\nstderr:\n%s", err, p.stderr)
		}
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		t.Fatalf("crr local up still running a minute after SIGTERM")
	}
	if len(p.children) == 0 {
		t.Error("local up had no child processes (Lambda environments) to check")
	}
	for _, c := range p.children {
		if err := syscall.Kill(c, 0); err == nil {
			if b, _ := os.ReadFile("/proc/" + strconv.Itoa(c) + "/stat"); !bytes.Contains(b, []byte(") Z ")) {
				t.Errorf("child process %d of local up is still running", c)
			}
		}
	}
	if _, err := os.Stat(p.envFile); err == nil {
		t.Errorf("env file %s is still there after local up exited", p.envFile)
	}
	if log := logPath(p.stdout.String()); log == "" {
		t.Errorf("local up did not print its Lambda log path:\n%s", p.stdout)
	} else if _, err := os.Stat(log); err == nil {
		t.Errorf("Lambda log %s is still there after local up exited", log)
	}
}

func logPath(stdout string) string {
	for _, line := range strings.Split(stdout, "\n") {
		if rest, ok := strings.CutPrefix(line, "logs     Lambda output in "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

// crr runs the crr binary with local up's environment in dir.
func (p *upProcess) crr(t *testing.T, bin, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, p.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("crr %s: %v", strings.Join(args, " "), err)
	}
	t.Logf("crr %s → %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String(), errOut.String()
}

func writePair(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "pair.json")
	if err := os.WriteFile(path, statemachine.SamplePair(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLocalUpServesTheCLIAndTheAWSCLI shows `crr local up` as a user meets it: one,
// its env file sourced, and every client against it as against AWS — crr validate,
// plan, apply --wait (twice), status, and the AWS CLI reading the replica in B. The
// subtests share the one local up and run in order.
func TestLocalUpServesTheCLIAndTheAWSCLI(t *testing.T) {
	root, err := localhub.FindModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	testenv.RequireNodeModules(t, root)
	aws := testenv.RequireCommand(t, "aws", testenv.InstallAWSCLI)
	bin := crrBinary(t)
	dir := t.TempDir()
	pair := writePair(t, dir)
	up := startUp(t, bin, root, cleanEnv(t), "--port", "0", "--members-port", "0")
	t.Cleanup(func() { up.stop(t) })
	if !strings.Contains(up.stdout.String(), "ready in ") {
		t.Errorf("no ready line:\n%s", up.stdout)
	}

	t.Run("validate", func(t *testing.T) {
		if code, out, _ := up.crr(t, bin, dir, "validate", "-f", pair); code != 0 || !strings.Contains(out, "pair payments-archive: valid") {
			t.Errorf("validate: exit %d", code)
		}
	})
	t.Run("plan", func(t *testing.T) {
		code, out, _ := up.crr(t, bin, dir, "plan", "-f", pair, "--output", "json")
		var doc planDoc
		if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
			t.Fatalf("plan --output json: exit %d, not one JSON document", code)
		}
		if doc.Changes == 0 || doc.Error != "" || len(doc.Stages) == 0 {
			t.Errorf("plan of a new pair: %d changes, error %q, %d stages; want changes and no error", doc.Changes, doc.Error, len(doc.Stages))
		}
	})
	var destKey string
	t.Run("apply", func(t *testing.T) {
		code, out, _ := up.crr(t, bin, dir, "apply", "-f", pair, "--wait")
		if code != 0 || !strings.Contains(out, "SUCCEEDED") || !strings.Contains(out, "verification        replication is configured and ready") {
			t.Fatalf("apply --wait: exit %d", code)
		}
		// The same request again, run anew: nothing left to change.
		code, out, _ = up.crr(t, bin, dir, "apply", "-f", pair, "--wait", "--rerun", "--output", "json")
		var doc applyDoc
		if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || doc.Execution == nil {
			t.Fatalf("second apply --output json: exit %d, not one JSON document with the execution", code)
		}
		if doc.Execution.Status != "SUCCEEDED" || doc.Execution.Changes == nil || *doc.Execution.Changes != 0 {
			t.Errorf("second apply: status %s, changes %v; want SUCCEEDED with 0 changes", doc.Execution.Status, doc.Execution.Changes)
		}
		var o statemachine.Output
		if err := json.Unmarshal(doc.Execution.Output, &o); err != nil {
			t.Fatal(err)
		}
		destKey = o.ARNs.DestinationKey
	})
	t.Run("status", func(t *testing.T) {
		code, out, _ := up.crr(t, bin, dir, "status", "payments-archive")
		if code != 0 || !strings.Contains(out, "pair payments-archive: registered") || strings.Count(out, "SUCCEEDED") != 2 {
			t.Errorf("status: exit %d; want the registration and two SUCCEEDED executions", code)
		}
	})
	t.Run("aws cli reads the replica in B", func(t *testing.T) {
		if destKey == "" {
			t.Skip("apply did not give the destination key")
		}
		awsEnv := func(account, region string) []string {
			return append(cleanEnv(t), "AWS_ACCESS_KEY_ID="+account, "AWS_SECRET_ACCESS_KEY=any", "AWS_REGION="+region)
		}
		members := up.vars["S3CRR_LOCAL_MEMBERS_URL"]
		obj := filepath.Join(dir, "hello.txt")
		if err := os.WriteFile(obj, []byte("hello from the AWS CLI\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		put := exec.Command(aws, "--endpoint-url", members, "s3", "cp", obj, "s3://payments-src/cli/hello.txt")
		put.Env = awsEnv("111111111111", "ap-south-1")
		if out, err := put.CombinedOutput(); err != nil {
			t.Fatalf("aws s3 cp: %v\n%s", err, out)
		}
		var head struct {
			ReplicationStatus, SSEKMSKeyId, ServerSideEncryption string
		}
		for i := 0; ; i++ { // replication is asynchronous: read until the replica is there
			get := exec.Command(aws, "--endpoint-url", members, "s3api", "head-object", "--bucket", "payments-dst", "--key", "cli/hello.txt")
			get.Env = awsEnv("222222222222", "us-east-1")
			out, err := get.Output()
			if err == nil {
				if err := json.Unmarshal(out, &head); err != nil {
					t.Fatalf("head-object output: %v\n%s", err, out)
				}
				break
			}
			if i == 50 {
				t.Fatalf("no replica in B: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if head.ReplicationStatus != "REPLICA" || head.ServerSideEncryption != "aws:kms" || head.SSEKMSKeyId != destKey {
			t.Errorf("replica: %+v; want REPLICA, aws:kms with B's key %s", head, destKey)
		}
	})
	t.Run("a second local up on the same ports", func(t *testing.T) {
		hubPort := portOf(t, up.vars["AWS_ENDPOINT_URL"])
		membersPort := portOf(t, up.vars["S3CRR_LOCAL_MEMBERS_URL"])
		for _, args := range [][]string{
			{"--port", hubPort, "--members-port", "0"},
			{"--port", "0", "--members-port", membersPort},
		} {
			code, _, stderr := up.crr(t, bin, dir, append([]string{"local", "up"}, args...)...)
			if code != exitFailure || strings.Count(strings.TrimSpace(stderr), "\n") != 0 ||
				!strings.Contains(stderr, "port in use") || !strings.Contains(stderr, "another crr local up") {
				t.Errorf("local up %v: exit %d, stderr %q; want exit 1 and one line naming the port in use and the fix", args, code, stderr)
			}
		}
	})
}

func portOf(t *testing.T, endpoint string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(endpoint, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// TestLocalUpRefusesBadInput: what a user gets wrong is one line on stderr with the fix,
// before anything starts.
func TestLocalUpRefusesBadInput(t *testing.T) {
	bin := crrBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"hub port in use", []string{"--port", taken, "--members-port", "0"}, []string{"hub port", taken, "port in use", "--port"}},
		{"members port in use", []string{"--port", "0", "--members-port", taken}, []string{"members port", taken, "port in use", "--members-port"}},
		{"unwritable env file", []string{"--port", "0", "--members-port", "0", "--env-file", "/nonexistent-dir/s3crr.env"}, []string{"--env-file /nonexistent-dir/s3crr.env cannot be written", "writable directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"local", "up"}, tt.args...)...)
			cmd.Env = cleanEnv(t)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			_ = cmd.Run()
			msg := strings.TrimSpace(stderr.String())
			if cmd.ProcessState.ExitCode() != exitFailure || strings.Contains(msg, "\n") {
				t.Errorf("exit %d, stderr %q; want exit 1 and one line", cmd.ProcessState.ExitCode(), msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("stderr %q does not mention %q", msg, w)
				}
			}
		})
	}
}

// TestLocalUpFromGoInstallInAnEmptyDirectory: crr installed with go install runs local
// up with no source tree around it (the runner comes from the binary, installed into the
// user cache on first use; the Lambda is crr itself) and applies a pair.
func TestLocalUpFromGoInstallInAnEmptyDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("go install builds crr from scratch: not in -short")
	}
	testenv.RequireCommand(t, "npm", localhub.InstallNode)
	gobin := t.TempDir()
	install := exec.Command("go", "install", ".")
	install.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install: %v\n%s", err, out)
	}
	bin := filepath.Join(gobin, "crr")
	empty := t.TempDir()
	up := startUp(t, bin, empty, cleanEnv(t), "--port", "0", "--members-port", "0")
	t.Cleanup(func() { up.stop(t) })
	pair := writePair(t, t.TempDir())
	if code, out, _ := up.crr(t, bin, empty, "apply", "-f", pair, "--wait"); code != 0 || !strings.Contains(out, "SUCCEEDED") {
		t.Errorf("apply --wait from an empty directory: exit %d", code)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("local up and apply wrote %d files into the working directory", len(entries))
	}
}
