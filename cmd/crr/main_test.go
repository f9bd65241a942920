package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/s3crr/s3crr/internal/testenv"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name       string
		give       []string
		want       int
		wantStderr string
	}{
		{"no command", nil, exitUsage, "Exit codes:"},
		{"help", []string{"-h"}, exitOK, "local"},
		{"unknown command", []string{"deploy"}, exitUsage, `unknown command "deploy"`},
		{"group without subcommand", []string{"local"}, exitUsage, "serve"},
		{"unknown subcommand", []string{"local", "demo2"}, exitUsage, `unknown command "demo2"`},
		{"unknown flag", []string{"local", "serve", "--port", "1"}, exitUsage, "flag provided but not defined: -port"},
		{"bad duration", []string{"local", "serve", "--replication-delay", "soon"}, exitUsage, "invalid value"},
		{"negative duration", []string{"local", "serve", "--propagation-window", "-1s"}, exitUsage, "must not be negative"},
		{"bad account", []string{"local", "serve", "--accounts", "1234"}, exitUsage, `"1234" is not a 12-digit account ID`},
		{"stray argument", []string{"local", "serve", "now"}, exitUsage, `unexpected argument "now"`},
		{"unusable address", []string{"local", "serve", "--addr", "256.0.0.1:1"}, exitFailure, "listen on 256.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			got := run(context.Background(), &cliEnv{stdout: &stdout, stderr: &stderr}, tt.give)
			if got != tt.want {
				t.Errorf("exit code %d, want %d\nstderr: %s", got, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

func TestLocalServeHelpListsFlags(t *testing.T) {
	var stdout, stderr syncBuffer
	if code := run(context.Background(), &cliEnv{stdout: &stdout, stderr: &stderr}, []string{"local", "serve", "-h"}); code != exitOK {
		t.Fatalf("exit code %d, want 0", code)
	}
	for _, flag := range []string{"-addr", "-replication-delay", "-propagation-window", "-accounts"} {
		if !strings.Contains(stdout.String(), flag) {
			t.Errorf("help does not list %s:\n%s", flag, stdout.String())
		}
	}
}

var endpointLine = regexp.MustCompile(`(?m)^endpoint: (http://127\.0\.0\.1:[0-9]+)$`)

func TestLocalServeServesUntilInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &cliEnv{stdout: &stdout, stderr: &stderr},
			[]string{"local", "serve", "--addr", "127.0.0.1:0", "--accounts", "111111111111,222222222222"})
	}()

	var endpoint string
	deadline := time.Now().Add(10 * time.Second)
	for endpoint == "" {
		if m := endpointLine.FindStringSubmatch(stdout.String()); m != nil {
			endpoint = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d before printing its endpoint\nstderr: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no endpoint line within 10s; stdout: %s", stdout.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	banner := stdout.String()
	for _, want := range []string{"111111111111  member A (source)", "222222222222  member B (destination)"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner does not list %q:\n%s", want, banner)
		}
	}
	if strings.Contains(banner, "000000000000") {
		t.Errorf("banner lists the hub account although --accounts left it out:\n%s", banner)
	}

	// The endpoint answers the SDK as the account of the credentials, and only for the
	// simulated accounts.
	client := func(account string) *sts.Client {
		return sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(account, "secret", "")})
	}
	id, err := client("222222222222").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if got := aws.ToString(id.Account); got != "222222222222" {
		t.Errorf("caller account %s, want 222222222222", got)
	}
	if _, err := client("000000000000").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
		t.Errorf("an account left out of --accounts was accepted")
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit code %d after interrupt, want 0; stderr: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop within 10s of the interrupt")
	}
}

// TestAWSCLISmoke runs scripts/awscli-smoke.sh: the AWS CLI against `crr local serve`.
func TestAWSCLISmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI and may install the AWS CLI: not in -short mode")
	}
	bash := testenv.RequireCommand(t, "bash", "install bash (`apt-get install -y bash`)")
	script, err := filepath.Abs("../../scripts/awscli-smoke.sh")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(script); err != nil {
		t.Fatalf("smoke script: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, script)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		t.Logf("%s", out)
	case errors.As(err, &exit) && exit.ExitCode() == 77:
		t.Logf("%s", out)
		testenv.Missing(t, "the AWS CLI", testenv.InstallAWSCLI)
	default:
		t.Fatalf("awscli-smoke.sh: %v\n%s", err, out)
	}
}
