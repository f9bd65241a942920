package main

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/statemachine"
)

// kumoOutput is what the stand-in provision state machine returns: the shape of the real
// one's output (statemachine.Output), with the pair ID taken from the execution input.
func kumoOutput() map[string]any {
	out := statemachine.Output{
		ARNs: statemachine.ARNs{
			SourceBucket:      "arn:aws:s3:::payments-src",
			DestinationBucket: "arn:aws:s3:::payments-dst",
			SourceKey:         "arn:aws:kms:ap-south-1:111111111111:key/1111aaaa-1111-4111-8111-111111111111",
			DestinationKey:    "arn:aws:kms:us-east-1:222222222222:key/2222bbbb-2222-4222-8222-222222222222",
			ReplicationRole:   "arn:aws:iam::111111111111:role/s3crr/s3crr-repl-payments-src-38d30e55",
		},
		RuleID:       "s3crr-payments-archive",
		Verification: statemachine.StageResult{Stage: "checkReplication", Outputs: map[string]string{"ready": "true", "reason": ""}},
	}
	out.Stages.Resources.Source.Bucket.Result.Changes = []statemachine.Change{
		{Account: "111111111111", Region: "ap-south-1", Resource: "arn:aws:s3:::payments-src", Action: "create"},
		{Account: "111111111111", Region: "ap-south-1", Resource: "arn:aws:s3:::payments-src", Action: "enable versioning"},
	}
	b, _ := json.Marshal(out)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	delete(m, "pairId")
	m["pairId.$"] = "$.pairId"
	return m
}

var (
	kumoSMOnce sync.Once
	kumoSMARN  string
	kumoSMErr  error
)

// kumoStateMachine creates, once per process, a state machine named like the HubStack's
// in kumo: a single Pass state that returns a provision-shaped output. kumo's engine cannot
// run the real ASL (see internal/localhub), and what is under test here is the CLI's use
// of the Step Functions API, not the ASL.
func kumoStateMachine(t *testing.T, endpoint string) string {
	t.Helper()
	kumoSMOnce.Do(func() {
		def, _ := json.Marshal(map[string]any{
			"StartAt": "Summarize",
			"States": map[string]any{
				"Summarize": map[string]any{"Type": "Pass", "Parameters": kumoOutput(), "End": true},
			},
		})
		c := sfn.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: staticCreds{}})
		out, err := c.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
			Name: aws.String(names.ProvisionStateMachineName), Definition: aws.String(string(def)),
			RoleArn: aws.String("arn:aws:iam::000000000000:role/s3crr-provision-state-machine"),
		})
		if err != nil {
			kumoSMErr = err
			return
		}
		kumoSMARN = aws.ToString(out.StateMachineArn)
	})
	if kumoSMErr != nil {
		t.Fatalf("create the state machine in kumo: %v", kumoSMErr)
	}
	return kumoSMARN
}

type staticCreds struct{}

func (staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "crr-test", SecretAccessKey: "crr-test-secret"}, nil
}

// kumoEndpoints are the hub services the CLI calls, all on kumo.
func kumoEndpoints(url string) map[string]string {
	return map[string]string{"SFN": url, "STS": url, "DYNAMODB": url, "LAMBDA": url}
}

func TestApplyStartsWaitsAndThenFollowsTheSameExecution(t *testing.T) {
	hub := startHub(t)
	smARN := kumoStateMachine(t, hub.Endpoint)
	useEndpoints(t, kumoEndpoints(hub.Endpoint))
	pairID := uniqueName("crr-apply")
	file, req := parsedRequestFile(t, pairID)
	wantARN := strings.Replace(smARN, ":stateMachine:", ":execution:", 1) + ":" + req.ExecutionName()

	// No --state-machine: the ARN comes from the caller's account and region.
	code, stdout, _ := runCLI(t, "apply", "-f", file, "--wait")
	if code != exitOK {
		t.Fatalf("apply --wait: exit code %d, want 0", code)
	}
	for _, want := range []string{
		"state machine  " + smARN + "\n",
		"started       " + wantARN + "\n",
		"started\n", // the first progress line, from the execution's history
		"SUCCEEDED  " + req.ExecutionName(),
		"pair                " + pairID + "\n",
		"destination key     arn:aws:kms:us-east-1:222222222222:key/2222bbbb-2222-4222-8222-222222222222\n",
		"replication role    arn:aws:iam::111111111111:role/s3crr/s3crr-repl-payments-src-38d30e55\n",
		"changes             2\n",
		"    create arn:aws:s3:::payments-src in 111111111111/ap-south-1\n",
		"verification        replication is configured and ready\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("apply --wait output does not contain %q", want)
		}
	}

	// The execution's input is the canonical defaulted request.
	c := sfn.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hub.Endpoint), Credentials: staticCreds{}})
	d, err := c.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(wantARN)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(d.Input); got != canonicalInput(req) {
		t.Errorf("execution input %s, want the canonical request %s", got, canonicalInput(req))
	}

	// The same request again: same name, so no second execution; apply says so and shows
	// the result.
	code, stdout, _ = runCLI(t, "apply", "-f", file)
	if code != exitOK {
		t.Fatalf("second apply: exit code %d, want 0", code)
	}
	for _, want := range []string{"exists        " + wantARN, "already has an execution", "SUCCEEDED", "--rerun"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("second apply output does not contain %q", want)
		}
	}
	if strings.Contains(stdout, "started       ") {
		t.Errorf("second apply claims to have started an execution")
	}
	list, err := c.ListExecutions(context.Background(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(smARN)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range list.Executions {
		if strings.HasPrefix(aws.ToString(e.Name), pairID+"-") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d executions for the pair after two applies, want 1", n)
	}

	// --rerun starts a second execution under a suffixed name.
	code, stdout, _ = runCLI(t, "apply", "-f", file, "--rerun", "--state-machine", smARN)
	if code != exitOK || !strings.Contains(stdout, "started       "+wantARN+"-r") {
		t.Errorf("apply --rerun: exit %d, output does not show a new execution named %s-r<time>", code, req.ExecutionName())
	}
}

func TestApplyValidatesBeforeCallingAWS(t *testing.T) {
	// No endpoints and no credentials: an invalid request must stop before any AWS call.
	t.Setenv("AWS_ENDPOINT_URL_SFN", "http://127.0.0.1:1")
	code, _, stderr := runCLI(t, "apply", "-f", "testdata/invalid-pair.json", "--state-machine", "arn:aws:states:us-east-1:000000000000:stateMachine:x")
	if code != exitInvalid || !strings.Contains(stderr, "destination.region: is required") {
		t.Errorf("exit code %d, want %d with the problems", code, exitInvalid)
	}
	if code, _, _ := runCLI(t, "apply", "-f", samplePath, "--redrive", "--rerun"); code != exitUsage {
		t.Errorf("--redrive with --rerun: exit code %d, want %d", code, exitUsage)
	}
}

func TestApplyAttachesToAnEndedExecution(t *testing.T) {
	sm := "arn:aws:states:us-east-1:123456789012:stateMachine:s3crr-provision"
	tests := []struct {
		name        string
		exec        execState
		args        []string
		want        int
		wantOut     []string
		wantRedrive bool
	}{
		{
			name: "failed, not redriven", exec: execState{Status: "FAILED", Error: "role: AccessDenied", Cause: "stage role failed"},
			want: exitFailure, wantOut: []string{"exists ", "already has an execution", "FAILED", "error  role: AccessDenied", "with --redrive"},
		},
		{
			name: "failed, redriven", exec: execState{Status: "FAILED", Error: "role: AccessDenied"}, args: []string{"--redrive", "--wait"},
			want: exitOK, wantOut: []string{"redriven      resuming from the state that failed", "SUCCEEDED", "verification        replication is configured and ready"}, wantRedrive: true,
		},
		{
			name: "timed out", exec: execState{Status: "TIMED_OUT"},
			want: exitFailure, wantOut: []string{"TIMED_OUT", "States.Timeout"},
		},
		{
			name: "succeeded", exec: execState{Status: "SUCCEEDED", Output: `{"pairId":"payments-archive","ruleId":"s3crr-payments-archive","verification":{"outputs":{"ready":"true"}}}`},
			want: exitOK, wantOut: []string{"SUCCEEDED", "changes             none: every configuration was already in place (0 configuration writes)", "--rerun"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSFN{t: t, startErr: "ExecutionAlreadyExists", startDate: time.Now().Add(-time.Hour), exec: tt.exec,
				batches: [][]histEvent{{}}, final: execState{Status: "SUCCEEDED", Output: `{"verification":{"outputs":{"ready":"true"}}}`}}
			useEndpoints(t, map[string]string{"SFN": f.serve()})
			code, stdout, _ := runCLI(t, append([]string{"apply", "-f", samplePath, "--state-machine", sm}, tt.args...)...)
			if code != tt.want {
				t.Errorf("exit code %d, want %d", code, tt.want)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout does not contain %q", w)
				}
			}
			if f.redriven != tt.wantRedrive {
				t.Errorf("RedriveExecution called: %v, want %v", f.redriven, tt.wantRedrive)
			}
		})
	}
}

func TestApplyJoinsARunningExecutionOfTheSameRequest(t *testing.T) {
	// Step Functions answers StartExecution with the running execution of the same name
	// and input: the start date gives it away.
	f := &fakeSFN{t: t, startDate: time.Now().Add(-3 * time.Minute), exec: execState{Status: "RUNNING"}}
	useEndpoints(t, map[string]string{"SFN": f.serve()})
	code, stdout, _ := runCLI(t, "apply", "-f", samplePath, "--state-machine", "arn:aws:states:us-east-1:123456789012:stateMachine:s3crr-provision")
	if code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	if !strings.Contains(stdout, "joined ") || !strings.Contains(stdout, "has been running since") {
		t.Errorf("apply does not say it joined the running execution")
	}
	if !strings.Contains(stdout, "crr status arn:aws:states:us-east-1:123456789012:execution:s3crr-provision:payments-archive-") {
		t.Errorf("apply without --wait does not say how to follow the execution")
	}
}
