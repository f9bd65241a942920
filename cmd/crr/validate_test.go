package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/spec"
)

func TestValidateSamplePrintsDefaultsAndDerivedNames(t *testing.T) {
	raw, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	req, err := spec.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "validate", "-f", samplePath)
	if code != exitOK {
		t.Fatalf("exit code %d, want 0", code)
	}
	if stderr != "" {
		t.Errorf("stderr %q, want nothing", stderr)
	}
	for _, want := range []string{
		"pair payments-archive: valid",
		"s3://payments-src in 111111111111/ap-south-1, key alias/s3crr-src",
		"s3://payments-dst in 222222222222/us-east-1, key alias/s3crr-dst",
		// Derived and defaulted: rule ID and priority, storage class, metrics and bucket
		// keys on by default, the role and the execution name.
		"rule              s3crr-payments-archive, priority " + itoa(spec.DefaultPriority("payments-archive")) + ", whole bucket, storage class STANDARD",
		"metrics on", "bucket keys on", "RTC on", "owner override on",
		"replication role  arn:aws:iam::111111111111:role/s3crr/s3crr-repl-payments-src-38d30e55",
		"execution name    " + req.ExecutionName(),
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output does not contain %q", want)
		}
	}
	if !strings.HasPrefix(req.ExecutionName(), "payments-archive-") || len(req.ExecutionName()) != len("payments-archive-")+10 {
		t.Errorf("execution name %q is not <pairId>-<10 hex>", req.ExecutionName())
	}
}

func itoa(i int32) string { b, _ := json.Marshal(i); return string(b) }

func TestValidateInvalidPrintsEveryProblemAndExits3(t *testing.T) {
	raw, err := os.ReadFile("testdata/invalid-pair.json")
	if err != nil {
		t.Fatal(err)
	}
	_, perr := spec.Parse(raw)
	ve, ok := perr.(*spec.ValidationError)
	if !ok || len(ve.Problems) < 5 {
		t.Fatalf("testdata/invalid-pair.json should have several problems, got %v", perr)
	}
	code, stdout, stderr := runCLI(t, "validate", "-f", "testdata/invalid-pair.json")
	if code != exitInvalid {
		t.Fatalf("exit code %d, want %d", code, exitInvalid)
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
	for _, p := range ve.Problems {
		if want := p.Path + ": " + p.Message + "\n    fix: " + p.Fix + "\n"; !strings.Contains(stderr, want) {
			t.Errorf("stderr does not show problem %q as path, message and fix", p.Path)
		}
	}
	for _, path := range []string{"pairId", "source.account", "destination.region", "destination.bucket", "rule.Prefix", "rule.metrics"} {
		if !strings.Contains(stderr, "\n"+path+": ") && !strings.HasPrefix(stderr, path+": ") {
			t.Errorf("stderr does not name %s", path)
		}
	}
	if !strings.Contains(stderr, "crr validate: the request is invalid: 6 problems") {
		t.Errorf("stderr does not end with the count of problems")
	}
}

func TestValidateReadsStandardInput(t *testing.T) {
	raw, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	code := run(context.Background(), &cliEnv{stdin: strings.NewReader(string(raw)), stdout: &out, stderr: &errOut}, []string{"validate", "-f", "-"})
	if code != exitOK || !strings.Contains(out.String(), "pair payments-archive: valid") {
		t.Errorf("validate -f - = %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}

	var out2, errOut2 syncBuffer
	code = run(context.Background(), &cliEnv{stdin: strings.NewReader(`{"pairId": "x"`), stdout: &out2, stderr: &errOut2}, []string{"validate", "-f", "-"})
	if code != exitInvalid || !strings.Contains(errOut2.String(), "request: not valid JSON") {
		t.Errorf("truncated JSON on stdin = %d, stderr %q; want 3 and a problem at the request", code, errOut2.String())
	}
}

func TestValidateJSON(t *testing.T) {
	code, stdout, _ := runCLI(t, "validate", "-f", samplePath, "--json")
	if code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	// The printed request is the defaulted one and parses back to itself.
	req, err := spec.Parse([]byte(stdout))
	if err != nil {
		t.Fatalf("--json output does not parse as a request: %v", err)
	}
	if req.Rule.ID != "s3crr-payments-archive" || req.Rule.Priority == nil || req.Rule.Metrics == nil || !*req.Rule.Metrics {
		t.Errorf("--json output lacks the defaults: %+v", req.Rule)
	}
	if again := canonicalInput(req); strings.Join(strings.Fields(stdout), "") != again {
		t.Errorf("--json output and the execution input differ:\n%s\n%s", stdout, again)
	}

	code, stdout, _ = runCLI(t, "validate", "-f", "testdata/invalid-pair.json", "--json")
	if code != exitInvalid {
		t.Fatalf("exit code %d, want %d", code, exitInvalid)
	}
	var ve spec.ValidationError
	if err := json.Unmarshal([]byte(stdout), &ve); err != nil || len(ve.Problems) != 6 || ve.Problems[0].Fix == "" {
		t.Errorf("--json problems = %+v (%v), want the 6 problems with fixes", ve, err)
	}
}

func TestValidateCommandLine(t *testing.T) {
	runCLICases(t, []cliCase{
		{"no file", []string{"validate"}, exitUsage, []string{"-f is required"}},
		{"missing file", []string{"validate", "-f", "testdata/nope.json"}, exitFailure, []string{"read pair request: open testdata/nope.json"}},
		{"stray argument", []string{"validate", "-f", samplePath, "extra"}, exitUsage, []string{`unexpected argument "extra"`}},
		{"usage lists exit code 3", []string{"-h"}, exitOK, []string{"3  the request is invalid"}},
	})
}

// With the deployment's kmsAliasPrefix in S3CRR_KMS_ALIAS_PREFIX, the CLI accepts the
// aliases the deployment's provisioners may manage, refuses the default prefix's, and
// derives default aliases under it, as the provision Lambda does with the same variable.
func TestValidateReadsTheDeploymentAliasPrefix(t *testing.T) {
	t.Setenv(names.EnvKMSAliasPrefix, "alias/s3-crr-key")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tutorial := write("tutorial.json", `{"pairId":"tutorial","source":{"account":"111111111111","region":"ap-south-1","bucket":"tutorial-src","kmsKeyAlias":"alias/s3-crr-key-account-a"},
		"destination":{"account":"222222222222","region":"us-east-1","bucket":"tutorial-dst"}}`)
	code, stdout, stderr := runCLI(t, "validate", "-f", tutorial)
	if code != exitOK {
		t.Fatalf("exit code %d (stderr %q), want 0", code, stderr)
	}
	for _, want := range []string{"key alias/s3-crr-key-account-a", "key alias/s3-crr-key/tutorial/destination"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output does not contain %q:\n%s", want, stdout)
		}
	}
	code, _, stderr = runCLI(t, "validate", "-f", samplePath)
	if code != exitInvalid || !strings.Contains(stderr, `must start with "alias/s3-crr-key"`) {
		t.Errorf("sample (alias/s3crr-src) under prefix alias/s3-crr-key: exit %d, stderr %q; want exit %d naming the prefix", code, stderr, exitInvalid)
	}
}
