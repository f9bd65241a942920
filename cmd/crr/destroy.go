package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/provision"
	"github.com/s3crr/s3crr/internal/spec"
)

// destroyCommand is `crr destroy`.
func destroyCommand() *command {
	return &command{
		name:    "destroy",
		summary: "tear a pair down, removing only what s3crr made for it (--plan to preview)",
		run:     destroy,
	}
}

// destroyInput is the destroy state machine's input (statemachine/destroy.asl.json).
type destroyInput struct {
	PairID  string                   `json:"pairId"`
	Destroy provision.DestroyOptions `json:"destroy"`
	// Request is set only with -f: it lets a pair that is no longer registered be swept.
	Request json.RawMessage `json:"request,omitempty"`
}

// destroyPlan is `crr destroy --plan --output json`: every destroy stage's result.
type destroyPlan struct {
	PairID  string                   `json:"pairId"`
	Options provision.DestroyOptions `json:"options"`
	Stages  []provision.Result       `json:"stages"`
	Total   int                      `json:"changes"`
}

func destroy(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("crr destroy")
	file := addRequestFlag(fs)
	planOnly := fs.Bool("plan", false, "print what would be removed and change nothing")
	wait := fs.Bool("wait", false, "follow the execution until it ends, printing each state as it runs")
	deleteKeys := fs.Bool("delete-keys", false, "also schedule the deletion of the pair's keys s3crr created (with a waiting period) and remove their aliases")
	deleteBuckets := fs.Bool("delete-buckets", false, "also delete the pair's buckets s3crr created, when they hold no object version and no delete marker")
	window := fs.Int("pending-window-days", provision.DefaultKeyPendingWindowDays, "the keys' waiting `days` before KMS deletes them (7 to 30)")
	output := addOutputFlag(fs)
	table := fs.String("table", names.PairsTableName, "the pairs DynamoDB `table`")
	smARN := fs.String("state-machine", "", "destroy state machine `ARN`; default arn:<partition>:states:<region>:<your account>:stateMachine:"+names.DestroyStateMachineName)
	function := fs.String("function", names.ProvisionFunctionName, "with --plan: the provision Lambda's `name or ARN`")
	aw := addAWSFlags(fs)
	usage := "crr destroy <pair-id> [--plan] [--wait] [--delete-keys [--pending-window-days N]] [--delete-buckets] [-f pair.json] [--output text|json] [--region R] [--profile P]\n\n" +
		"Starts the destroy state machine for a registered pair: it removes the pair's replication\n" +
		"rule, its statements in the bucket and key policies (by Sid), its replication role,\n" +
		"notification and alarm, and its registration, keeping everything s3crr did not make.\n" +
		"Keys and buckets are kept unless asked for, and a bucket holding any object version is\n" +
		"always kept: no data is deleted. --plan invokes the provision Lambda once per destroy\n" +
		"stage read-only and prints what would be removed (needs lambda:InvokeFunction and\n" +
		"dynamodb:GetItem). -f names the request of a pair no longer registered. A second destroy\n" +
		"changes nothing. Exits 1 if the execution fails."
	pairID, done, err := parseFlagsWithArg(fs, env, usage, args)
	if done || err != nil {
		return err
	}
	asJSON, err := output.json()
	if err != nil {
		return err
	}
	format := outputText
	if asJSON {
		format = outputJSON
	}
	switch {
	case !spec.ValidPairID(pairID):
		return usagef("%q is not a pair ID (lowercase letters, digits and -)", pairID)
	case *window < 7 || *window > 30:
		return usagef("--pending-window-days %d: KMS accepts 7 to 30", *window)
	case *planOnly && *wait:
		return usagef("--plan changes nothing, so there is nothing to --wait for")
	}
	opts := provision.DestroyOptions{DeleteKeys: *deleteKeys, DeleteBuckets: *deleteBuckets, PendingWindowInDays: int32(*window)}
	var request json.RawMessage
	if *file != "" {
		req, err := loadRequest(env, *file)
		if err != nil {
			return err
		}
		if req.PairID != pairID {
			return usagef("%s is the request of pair %q, not %q", *file, req.PairID, pairID)
		}
		request = json.RawMessage(canonicalInput(req))
	}
	cfg, err := aw.load(ctx)
	if err != nil {
		return err
	}
	if *planOnly {
		if request == nil {
			found := false
			if request, found, err = registeredRequest(ctx, awsclient.DynamoDB(cfg), *table, pairID); err != nil {
				return err
			}
			if !found {
				fmt.Fprintf(env.stdout, "pair %s is not registered in %s: nothing to destroy (pass -f pair.json to sweep what its request names)\n", pairID, *table)
				return nil
			}
		}
		return planDestroy(ctx, env, awsclient.Lambda(cfg), *function, pairID, request, opts, format)
	}
	if *smARN == "" {
		if *smARN, err = hubStateMachineARN(ctx, cfg, names.DestroyStateMachineName); err != nil {
			return err
		}
	}
	in, err := json.Marshal(destroyInput{PairID: pairID, Destroy: opts, Request: request})
	if err != nil {
		return fmt.Errorf("encode the destroy input: %w", err)
	}
	client := awsclient.SFN(cfg)
	// A new name every time: a second destroy must run (and find nothing to remove), not
	// be refused as a duplicate of the first.
	name := pairID + "-destroy-" + time.Now().UTC().Format("20060102T150405")
	out, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(*smARN), Name: aws.String(name), Input: aws.String(string(in))})
	if err != nil {
		return explain(err, "states:StartExecution", *smARN, map[string]string{
			"StateMachineDoesNotExist": "deploy the HubStack (it creates " + names.DestroyStateMachineName + "), or pass --state-machine and --region",
		})
	}
	arn := aws.ToString(out.ExecutionArn)
	if format == outputJSON && !*wait {
		return json.NewEncoder(env.stdout).Encode(map[string]string{"executionArn": arn})
	}
	fmt.Fprintf(env.stdout, "state machine  %s\nstarted        %s\n", *smARN, arn)
	if !*wait {
		fmt.Fprintf(env.stdout, "\nfollow it with:  crr status %s\n", arn)
		return nil
	}
	return follow(ctx, env, client, arn)
}

// planDestroy invokes every destroy stage read-only and prints what it would remove.
func planDestroy(ctx context.Context, env *cliEnv, c invokeAPI, function, pairID string, request json.RawMessage, opts provision.DestroyOptions, output string) error {
	plan := destroyPlan{PairID: pairID, Options: opts, Stages: []provision.Result{}}
	if output == outputText {
		fmt.Fprintf(env.stdout, "destroy plan for pair %s, read-only, through %s\n\n", pairID, function)
	}
	for _, st := range provision.DestroyStages {
		for _, side := range st.Sides {
			res, err := invokeStage(ctx, c, function, stageEvent{Stage: st.Name, Side: side, Request: request, Plan: true, Destroy: &opts})
			var sf *stageFailedError
			if errors.As(err, &sf) && output == outputText {
				fmt.Fprintf(env.stdout, "%-26s FAILED (%s, below)\n", stageName(st.Name, side), sf.errorType)
			}
			if err != nil {
				return err
			}
			plan.Stages = append(plan.Stages, res)
			plan.Total += len(res.Changes)
			if output == outputText {
				printStagePlan(env, res, st.Name, side)
			}
		}
	}
	if output == outputJSON {
		return json.NewEncoder(env.stdout).Encode(plan)
	}
	fmt.Fprintln(env.stdout)
	if plan.Total == 0 {
		fmt.Fprintln(env.stdout, "nothing to remove: nothing of s3crr's is left for this pair")
		return nil
	}
	fmt.Fprintf(env.stdout, "%d removals would be made; crr destroy %s makes them (no object is ever deleted)\n", plan.Total, pairID)
	return nil
}

// registeredRequest reads the request a pair was provisioned with from its registration.
func registeredRequest(ctx context.Context, c pairTableAPI, table, pairID string) (json.RawMessage, bool, error) {
	out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]ddbtypes.AttributeValue{
		names.PairsTableKey: &ddbtypes.AttributeValueMemberS{Value: pairID}}})
	if err != nil {
		return nil, false, explain(err, "dynamodb:GetItem", table, map[string]string{
			"ResourceNotFoundException": "no such table here: pass --region with the hub's region, or --table",
		})
	}
	if out.Item == nil {
		return nil, false, nil
	}
	s, ok := out.Item["request"].(*ddbtypes.AttributeValueMemberS)
	if !ok {
		return nil, false, fmt.Errorf("pair %s in %s has no request attribute (registered by an older s3crr?): pass -f pair.json", pairID, table)
	}
	return json.RawMessage(s.Value), true, nil
}
