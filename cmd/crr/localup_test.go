package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/testenv"
	"github.com/s3crr/s3crr/statemachine"
)

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
			if i == 300 { // 30 s: replication is immediate, but the machine may be busy
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
