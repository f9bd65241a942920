package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/provision"
	"github.com/s3crr/s3crr/internal/spec"
)

// invokeAPI lists the Lambda call plan makes.
type invokeAPI interface {
	Invoke(context.Context, *lambda.InvokeInput, ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

var _ invokeAPI = (*lambda.Client)(nil)

// planCommand is `crr plan`.
func planCommand() *command {
	return &command{
		name:    "plan",
		summary: "show what provisioning a pair would change, changing nothing",
		run:     plan,
	}
}

// stageEvent is the provision Lambda's input exactly as the state machine's Task states
// write it (provision.asl.json): every field present, side "" for the pair-wide stages.
type stageEvent struct {
	Stage   string          `json:"stage"`
	Side    string          `json:"side"`
	Request json.RawMessage `json:"request"`
	Plan    bool            `json:"plan"`
	// Destroy is set for the destroy stages only, as destroy.asl.json passes it.
	Destroy *provision.DestroyOptions `json:"destroy,omitempty"`
}

func plan(ctx context.Context, env *cliEnv, args []string) (err error) {
	fs := newFlagSet("crr plan")
	file := addRequestFlag(fs)
	function := fs.String("function", names.ProvisionFunctionName, "the provision Lambda's `name or ARN` (the HubStack names it "+names.ProvisionFunctionName+")")
	aw := addAWSFlags(fs)
	out := addOutputFlag(fs)
	usage := "crr plan -f pair.json [--function NAME|ARN] [--region R] [--profile P] [--endpoint-url URL] [--output json]\n\n" +
		"Validates the request locally (exit 3 if invalid), then invokes the deployed provision\n" +
		"Lambda once per stage, in the state machine's order, with \"plan\": true: each stage reads\n" +
		"the member accounts through the provisioner roles and reports what it would change,\n" +
		"changing nothing. Needs lambda:InvokeFunction on the function. Exits 1 if a stage fails."
	if done, err := parseFlags(fs, env, usage, args); done || err != nil {
		return err
	}
	asJSON, err := out.json()
	if err != nil {
		return err
	}
	req, err := loadRequest(env, *file)
	if err != nil {
		return err
	}
	cfg, err := aw.load(ctx)
	if err != nil {
		return err
	}
	client := awsclient.Lambda(cfg)
	doc := planDoc{PairID: req.PairID, ExecutionName: req.ExecutionName(), Function: *function, Stages: []planStage{}}
	if asJSON {
		stdout := env.stdout
		env = &cliEnv{stdin: env.stdin, stdout: io.Discard, stderr: env.stderr}
		defer func() {
			if err != nil {
				doc.Error = err.Error()
			}
			if werr := writeJSON(stdout, doc); werr != nil && err == nil {
				err = werr
			}
		}()
	}

	fmt.Fprintf(env.stdout, "plan for pair %s (execution name %s), read-only, through %s\n\n", req.PairID, req.ExecutionName(), *function)
	// The state machine passes its input to validate and the defaulted request validate
	// returns to every later stage; plan does the same.
	// Validate returns the legs (the request itself for a plain one); like the state
	// machine's Map, plan runs every later stage once per leg, in order. A leg's plan is
	// against the accounts as they are: it does not see what an earlier leg would create.
	request := json.RawMessage(canonicalInput(req))
	total := 0
	step := func(name, side, pair string, request json.RawMessage) (provision.Result, error) {
		res, err := invokeStage(ctx, client, *function, stageEvent{Stage: name, Side: side, Request: request, Plan: true})
		var sf *stageFailedError
		if errors.As(err, &sf) {
			fmt.Fprintf(env.stdout, "%-26s FAILED (%s, below)\n", stageName(name, side), sf.errorType)
		}
		if err != nil {
			return res, err
		}
		printStagePlan(env, res, name, side)
		total += len(res.Changes)
		doc.Stages = append(doc.Stages, planStage{Stage: name, Side: side, Pair: pair, Changes: nonNil(res.Changes), Warnings: res.Warnings})
		doc.Changes = total
		return res, nil
	}
	res, err := step(names.StageValidate, "", "", request)
	if err != nil {
		return err
	}
	legs := res.Legs
	if len(legs) == 0 && res.Request != nil {
		legs = []spec.Request{*res.Request}
	}
	for _, leg := range legs {
		b, err := json.Marshal(leg)
		if err != nil {
			return fmt.Errorf("encode leg %s: %w", leg.PairID, err)
		}
		pair := ""
		if len(legs) > 1 {
			pair = leg.PairID
			fmt.Fprintf(env.stdout, "\npair %s\n", leg.PairID)
		}
		for _, st := range provision.Stages[1:] {
			for _, side := range st.Sides {
				if _, err := step(st.Name, side, pair, b); err != nil {
					return err
				}
			}
		}
	}
	fmt.Fprintln(env.stdout)
	switch total {
	case 0:
		fmt.Fprintln(env.stdout, "no changes: the pair is provisioned as requested")
	case 1:
		fmt.Fprintln(env.stdout, "1 change would be made; crr apply -f FILE makes it")
	default:
		fmt.Fprintf(env.stdout, "%d changes would be made; crr apply -f FILE makes them\n", total)
	}
	return nil
}

// stageFailedError is a stage whose invocation ended in a function error: the Lambda's
// errorType (one of statemachine.LambdaErrorNames, or a runtime error such as
// Sandbox.Timedout) and errorMessage, which for s3crr's errors says what to fix.
type stageFailedError struct {
	stage, errorType, message string
}

func (e *stageFailedError) Error() string {
	return fmt.Sprintf("stage %s failed with %s:\n  %s", e.stage, e.errorType, indent(e.message, "  "))
}

// invokeStage invokes the provision Lambda synchronously for one stage and decodes its
// result, or its function error.
func invokeStage(ctx context.Context, c invokeAPI, function string, ev stageEvent) (provision.Result, error) {
	label := stageName(ev.Stage, ev.Side)
	payload, err := json.Marshal(ev)
	if err != nil {
		return provision.Result{}, fmt.Errorf("encode event for stage %s: %w", label, err)
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(function),
		InvocationType: lambdatypes.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	if err != nil {
		return provision.Result{}, explain(err, "lambda:InvokeFunction", function, map[string]string{
			"ResourceNotFoundException": "no such function in this account and region: deploy the HubStack, or pass --function with the provision function's name or ARN (and --region for the hub's region)",
			"TooManyRequestsException":  "the function's concurrency is exhausted: wait and retry",
		})
	}
	if out.FunctionError != nil {
		var le lambdaError
		if err := json.Unmarshal(out.Payload, &le); err != nil || le.ErrorType == "" {
			le = lambdaError{ErrorType: aws.ToString(out.FunctionError), ErrorMessage: string(out.Payload)}
		}
		return provision.Result{}, &stageFailedError{stage: label, errorType: le.ErrorType, message: le.ErrorMessage}
	}
	var res provision.Result
	if err := json.Unmarshal(out.Payload, &res); err != nil {
		return provision.Result{}, fmt.Errorf("decode the result of stage %s: %w (payload %.200s)", label, err, out.Payload)
	}
	return res, nil
}

// printStagePlan prints one stage's planned changes and warnings.
func printStagePlan(env *cliEnv, res provision.Result, stage, side string) {
	label := stageName(stage, side)
	switch n := len(res.Changes); n {
	case 0:
		fmt.Fprintf(env.stdout, "%-26s no changes\n", label)
	case 1:
		fmt.Fprintf(env.stdout, "%-26s 1 change\n", label)
	default:
		fmt.Fprintf(env.stdout, "%-26s %d changes\n", label, n)
	}
	for _, c := range res.Changes {
		fmt.Fprintf(env.stdout, "  + %s\n", c.String())
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(env.stdout, "  ! %s\n", w)
	}
}

func stageName(stage, side string) string {
	if side == "" {
		return stage
	}
	return stage + " (" + side + ")"
}

// planDoc is plan's --output json document.
type planDoc struct {
	PairID        string      `json:"pairId"`
	ExecutionName string      `json:"executionName"`
	Function      string      `json:"function"`
	Stages        []planStage `json:"stages"`
	// Changes is how many changes a run would make, over every stage.
	Changes int `json:"changes"`
	// Error is why the plan stopped (a stage failed, an AWS error), if it did.
	Error string `json:"error,omitempty"`
}

// planStage is one stage's planned changes and warnings.
type planStage struct {
	Stage string `json:"stage"`
	// Pair is the leg the stage ran for, when the request has several.
	Pair     string             `json:"pair,omitempty"`
	Side     string             `json:"side,omitempty"`
	Changes  []provision.Change `json:"changes"`
	Warnings []string           `json:"warnings,omitempty"`
}

func nonNil(c []provision.Change) []provision.Change {
	if c == nil {
		return []provision.Change{}
	}
	return c
}
