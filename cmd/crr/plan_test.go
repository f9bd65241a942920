package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localdeploy"
	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/provision"
	"github.com/s3crr/s3crr/internal/spec"
)

// The plan, apply and status tests drive the commands against local stand-ins: kumo
// (internal/localhub) as the hub's Lambda, Step Functions, DynamoDB and STS, the member
// simulator (internal/localaws) behind the real provision Lambda, and, where kumo's
// execution history is too thin (it names no states), a fake Step Functions endpoint.

var lambdaBuildDir string

func TestMain(m *testing.M) {
	// kumo's self-calls must reach this process's hub (localhub.EnsureKumoPort re-executes
	// the test binary with KUMO_PORT set).
	if err := localhub.EnsureKumoPort(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "crr-test-lambdas-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lambdaBuildDir = dir
	pollInterval = 20 * time.Millisecond
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runCLI runs crr with args and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut syncBuffer
	code = run(context.Background(), &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}, args)
	t.Logf("crr %s → %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String(), errOut.String()
}

// useEndpoints points the CLI's SDK clients at local endpoints the standard way
// (AWS_ENDPOINT_URL_<SERVICE>), with static credentials and no shared config files,
// exactly as a user of the local stand-ins would.
func useEndpoints(t *testing.T, endpoints map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "crr-test",
		"AWS_SECRET_ACCESS_KEY":       "crr-test-secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  "us-east-1",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            "",
	} {
		t.Setenv(k, v)
	}
	for svc, url := range endpoints {
		t.Setenv("AWS_ENDPOINT_URL_"+svc, url)
	}
}

var unique atomic.Int64

// uniqueName is a lowercase name unique within this process and across -count runs
// (kumo's state lives as long as the process).
func uniqueName(prefix string) string {
	return prefix + "-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36) + strconv.FormatInt(unique.Add(1), 10)
}

// samplePath is statemachine/sample-pair.json, the request the README and DESIGN show.
const samplePath = "../../statemachine/sample-pair.json"

// requestFile writes the sample request with another pair ID and returns its path.
func requestFile(t *testing.T, pairID string) string {
	t.Helper()
	b, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), `"payments-archive"`, strconv.Quote(pairID), 1)
	if s == string(b) {
		t.Fatal("sample-pair.json no longer has pairId payments-archive")
	}
	p := filepath.Join(t.TempDir(), pairID+".json")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// parsedRequestFile is requestFile together with the request it holds, parsed as the CLI
// parses it, for tests that predict names derived from the request (the execution name).
func parsedRequestFile(t *testing.T, pairID string) (string, spec.Request) {
	t.Helper()
	file := requestFile(t, pairID)
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	req, err := spec.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return file, req
}

// cliCase is a command line and how it must end: the exit code, and text stderr must
// contain. The commands' error tables share it and runCLICases.
type cliCase struct {
	name       string
	give       []string
	want       int
	wantStderr []string
}

// runCLICases runs each case as a subtest.
func runCLICases(t *testing.T, tests []cliCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.give...)
			if code != tt.want {
				t.Errorf("exit code %d, want %d", code, tt.want)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q", w)
				}
			}
		})
	}
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startHub starts the kumo hub stand-in with a topic and table of this test's own.
func startHub(t *testing.T) *localhub.Hub {
	t.Helper()
	name := uniqueName("crr")
	h, err := localhub.Start(context.Background(), localhub.Config{TopicName: name, TableName: name + "-pairs", Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

var (
	buildOnce sync.Once
	bootstrap string
	buildErr  error
)

// provisionBootstrap builds functions/provision for this host, once per test binary.
func provisionBootstrap(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := localhub.FindModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		bootstrap, buildErr = localhub.BuildLambda(context.Background(), root, "./functions/provision", lambdaBuildDir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bootstrap
}

const testExternalID = "crr-cli-test-external-id"

// planEnv is a hub whose provision Lambda reaches the member simulator through the hub
// role's credentials, as the deployed Lambda reaches the member accounts.
type planEnv struct {
	hub *localhub.Hub
	sim *localaws.Server
	// deploy is how the member accounts were deployed, for tests that provision directly.
	deploy localdeploy.Params
	// function returns a provision function whose ExternalId is externalID.
	function func(t *testing.T, externalID string) string
}

func newPlanEnv(t *testing.T) *planEnv {
	t.Helper()
	ctx := context.Background()
	sim := localaws.New(localaws.Options{})
	endpoint, stop := sim.Start()
	t.Cleanup(stop)
	p := localdeploy.Params{
		Endpoint:   endpoint,
		HubAccount: localaws.HubAccount,
		Members:    []string{localaws.SourceAccount, localaws.DestinationAccount},
		ExternalID: testExternalID,
	}
	if _, err := localdeploy.Deploy(ctx, p); err != nil {
		t.Fatalf("deploy the local stacks: %v", err)
	}
	creds, err := localdeploy.HubFunctionCredentials(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	hub := startHub(t)
	bin := provisionBootstrap(t)
	return &planEnv{hub: hub, sim: sim, deploy: p, function: func(t *testing.T, externalID string) string {
		t.Helper()
		name := uniqueName("crr-provision")
		_, err := hub.AddFunction(ctx, localhub.Function{
			Name: name, Bootstrap: bin, Timeout: 2 * time.Minute, Concurrency: 1,
			Env: map[string]string{
				"AWS_ACCESS_KEY_ID":           creds.AccessKeyID,
				"AWS_SECRET_ACCESS_KEY":       creds.SecretAccessKey,
				"AWS_SESSION_TOKEN":           creds.SessionToken,
				"AWS_ENDPOINT_URL_STS":        endpoint,
				"AWS_ENDPOINT_URL_S3":         endpoint,
				"AWS_ENDPOINT_URL_KMS":        endpoint,
				"AWS_ENDPOINT_URL_IAM":        endpoint,
				"AWS_ENDPOINT_URL_CLOUDWATCH": endpoint,
				"AWS_ENDPOINT_URL_SQS":        endpoint,
				"AWS_EC2_METADATA_DISABLED":   "true",
				"EXTERNAL_ID":                 externalID,
				// Planning takes no lease, but the Lambda refuses to start without its table.
				"AWS_ENDPOINT_URL_DYNAMODB": hub.Endpoint,
				names.EnvLeaseTable:         names.LeaseTableName,
				// Teardown reads the pairs registry to tell whether shared grants are
				// still used, as HubStack's Lambda does.
				names.EnvPairsTable: hub.TableName,
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return name
	}}
}

func TestPlanInvokesEveryStageReadOnlyAndListsTheChanges(t *testing.T) {
	env := newPlanEnv(t)
	fn := env.function(t, testExternalID)
	useEndpoints(t, map[string]string{"LAMBDA": env.hub.Endpoint})
	env.sim.ResetCalls()

	code, stdout, _ := runCLI(t, "plan", "-f", samplePath, "--function", fn)
	if code != exitOK {
		t.Fatalf("exit code %d, want 0", code)
	}
	if n := env.sim.MutatingCalls(""); n != 0 {
		for _, c := range env.sim.Calls() {
			if c.Mutating {
				t.Logf("mutating: %s %s %s ×%d", c.Account, c.Service, c.Operation, c.Count)
			}
		}
		t.Errorf("plan made %d mutating calls in the member accounts, want 0", n)
	}
	want := 0
	for _, st := range provision.Stages {
		want += len(st.Sides)
		for _, side := range st.Sides {
			if !strings.Contains(stdout, "\n"+stageName(st.Name, side)+" ") {
				t.Errorf("plan does not report stage %s", stageName(st.Name, side))
			}
		}
	}
	if got := env.hub.Invocations(fn); got != want {
		t.Errorf("the provision Lambda was invoked %d times, want once per stage and side (%d)", got, want)
	}
	// A fresh pair: the plan lists the buckets, keys, role and rule the run would create.
	for _, change := range []string{
		"+ create arn:aws:s3:::payments-src in 111111111111/ap-south-1",
		"+ create arn:aws:s3:::payments-dst in 222222222222/us-east-1",
		"+ create key alias/s3crr-src in 111111111111/ap-south-1",
		"+ create key alias/s3crr-dst in 222222222222/us-east-1",
		"+ create role arn:aws:iam::111111111111:role/s3crr/s3crr-repl-payments-src-38d30e55",
		"+ merge replication rule arn:aws:s3:::payments-src",
	} {
		if !strings.Contains(stdout, change) {
			t.Errorf("plan does not list %q", change)
		}
	}
	if !strings.Contains(stdout, "changes would be made; crr apply -f FILE makes them") {
		t.Errorf("plan does not end with the number of changes")
	}
}

func TestPlanReportsTheFailedStageAndExits1(t *testing.T) {
	env := newPlanEnv(t)
	// A function deployed with another ExternalId: the member provisioner roles refuse it,
	// so preflight, the first stage that assumes them, fails with AccessDenied.
	fn := env.function(t, "not-the-deployment-external-id")
	useEndpoints(t, map[string]string{"LAMBDA": env.hub.Endpoint})

	code, stdout, stderr := runCLI(t, "plan", "-f", samplePath, "--function", fn)
	if code != exitFailure {
		t.Fatalf("exit code %d, want 1", code)
	}
	if !strings.Contains(stdout, "validate ") {
		t.Errorf("the validate stage, which passed, is not reported")
	}
	if !strings.Contains(stdout, "\npreflight                  FAILED (AccessDenied, below)") {
		t.Errorf("stdout does not mark the failed stage")
	}
	if !strings.Contains(stderr, "crr plan: stage preflight failed with AccessDenied:\n  ") {
		t.Errorf("stderr does not name the failed stage and its error type")
	}
	if !strings.Contains(stderr, "sts:AssumeRole") {
		t.Errorf("stderr does not carry the function's error message (which names sts:AssumeRole)")
	}
	if got := env.hub.Invocations(fn); got != 2 {
		t.Errorf("the Lambda was invoked %d times; plan must stop at the failed stage (2: validate, preflight)", got)
	}
}

func TestPlanErrors(t *testing.T) {
	hub := startHub(t)
	useEndpoints(t, map[string]string{"LAMBDA": hub.Endpoint})
	tests := []cliCase{
		{"no such function", []string{"plan", "-f", samplePath, "--function", "s3crr-provision-missing"}, exitFailure,
			[]string{"lambda:InvokeFunction s3crr-provision-missing: ResourceNotFoundException", "deploy the HubStack, or pass --function"}},
		{"invalid request, before any call", []string{"plan", "-f", "testdata/invalid-pair.json"}, exitInvalid,
			[]string{"source.account: ", "the request is invalid"}},
		{"no file", []string{"plan"}, exitUsage, []string{"-f is required"}},
	}
	runCLICases(t, tests)
}
