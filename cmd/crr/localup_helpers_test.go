package main

// Running `crr local up` as a subprocess, for the tests in localup_test.go.

import (
	"bufio"
	"bytes"
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

func portOf(t *testing.T, endpoint string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(endpoint, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return port
}
