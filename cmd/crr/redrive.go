package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/spec"
)

// redriveCommand is `crr redrive`.
func redriveCommand() *command {
	return &command{
		name:    "redrive",
		summary: "re-drive a pair's FAILED (or never replicated) objects with S3 Batch Replication after a repair",
		run:     redrive,
	}
}

// redriveResult is --output json's document.
type redriveResult struct {
	ExecutionARN string            `json:"executionArn"`
	Status       string            `json:"status"`
	Job          map[string]string `json:"job,omitempty"`
	Error        string            `json:"error,omitempty"`
	Cause        string            `json:"cause,omitempty"`
}

func redrive(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("crr redrive")
	statuses := fs.String("statuses", "FAILED", "replication `statuses` to re-drive, comma-separated: FAILED, NONE (objects that never replicated)")
	wait := fs.Bool("wait", false, "follow the job until it ends, printing tasks succeeded and failed of the total")
	smARN := fs.String("state-machine", "", "redrive state machine `ARN`; default arn:<partition>:states:<region>:<your account>:stateMachine:"+names.RedriveStateMachineName)
	output := addOutputFlag(fs)
	aw := addAWSFlags(fs)
	usage := "crr redrive <pair-id> [--statuses FAILED[,NONE]] [--wait] [--output json] [--state-machine ARN] [--region R] [--profile P]\n\n" +
		"Starts the redrive state machine for a registered pair: it ensures the pair's Batch\n" +
		"Operations role in the source account, creates an S3 Batch Replication job over the\n" +
		"objects with the given replication statuses, follows it, records the result on the pair\n" +
		"and alerts with the completion report's failure reasons. Run it after repairing what\n" +
		"made objects FAIL (usually crr apply --rerun). Needs states:StartExecution,\n" +
		"states:DescribeExecution and, with --wait, states:GetExecutionHistory. Exits 1 if the\n" +
		"re-drive fails."
	pairID, done, err := parseFlagsWithArg(fs, env, usage, args)
	if done || err != nil {
		return err
	}
	asJSON, err := output.json()
	if err != nil {
		return err
	}
	if !spec.ValidPairID(pairID) {
		return usagef("%q is not a pair ID (lowercase letters, digits and single hyphens)", pairID)
	}
	list, err := parseStatuses(*statuses)
	if err != nil {
		return err
	}
	cfg, err := aw.load(ctx)
	if err != nil {
		return err
	}
	if *smARN == "" {
		if *smARN, err = defaultStateMachineARN(ctx, cfg); err != nil {
			return err
		}
		*smARN = strings.TrimSuffix(*smARN, names.ProvisionStateMachineName) + names.RedriveStateMachineName
	}
	return runRedrive(ctx, env, awsclient.SFN(cfg), *smARN, pairID, list, *wait, asJSON)
}

// parseStatuses reads --statuses.
func parseStatuses(v string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, s := range strings.Split(v, ",") {
		s = strings.ToUpper(strings.TrimSpace(s))
		switch s {
		case "FAILED", "NONE":
		default:
			return nil, usagef("--statuses %q: want FAILED, NONE or FAILED,NONE (COMPLETED objects have replicated; REPLICA objects are replicas)", v)
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, nil
}

func runRedrive(ctx context.Context, env *cliEnv, c executionAPI, smARN, pairID string, statuses []string, wait, asJSON bool) error {
	input, _ := json.Marshal(map[string]any{"pairId": pairID, "statuses": statuses})
	name := "redrive-" + pairID + "-" + time.Now().UTC().Format("20060102T150405")
	out, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(smARN), Name: aws.String(name), Input: aws.String(string(input))})
	if err != nil {
		return explain(err, "states:StartExecution", smARN, map[string]string{
			"StateMachineDoesNotExist": "deploy the HubStack (it has the redrive state machine), or pass --state-machine with its ARN, and --region for the hub's region",
		})
	}
	arn := aws.ToString(out.ExecutionArn)
	res := redriveResult{ExecutionARN: arn, Status: string(sfntypes.ExecutionStatusRunning)}
	if !asJSON {
		fmt.Fprintf(env.stdout, "started       %s\n", arn)
	}
	if !wait {
		if asJSON {
			return writeJSON(env.stdout, res)
		}
		fmt.Fprintf(env.stdout, "\nfollow it with:  crr status %s\n", arn)
		return nil
	}
	last := ""
	for {
		d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			return interrupted(ctx, arn, explain(err, "states:DescribeExecution", arn, nil))
		}
		if job, err := jobProgress(ctx, c, arn); err != nil {
			return interrupted(ctx, arn, err)
		} else if line := jobLine(job); line != "" && line != last && !asJSON {
			fmt.Fprintln(env.stdout, line)
			last = line
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			res.Status, res.Error, res.Cause = string(d.Status), aws.ToString(d.Error), aws.ToString(d.Cause)
			var summary struct {
				Job map[string]string `json:"job"`
			}
			if d.Output != nil && json.Unmarshal([]byte(aws.ToString(d.Output)), &summary) == nil {
				res.Job = summary.Job
			}
			break
		}
		select {
		case <-ctx.Done():
			return interrupted(ctx, arn, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
	if asJSON {
		if err := writeJSON(env.stdout, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(env.stdout)
		if res.Job != nil {
			fmt.Fprintln(env.stdout, jobLine(res.Job))
		}
		if res.Status != string(sfntypes.ExecutionStatusSucceeded) {
			fmt.Fprintf(env.stdout, "re-drive %s: %s\n%s\n", res.Status, res.Error, readableCause(res.Cause))
		}
	}
	if res.Status != string(sfntypes.ExecutionStatusSucceeded) {
		return fmt.Errorf("re-drive %s %s", name, res.Status)
	}
	return nil
}

// jobProgress reads the job's latest status from the execution history: the output of
// the last JobStatus (or JobReport) state that ended, or nil before there is one.
func jobProgress(ctx context.Context, c executionAPI, arn string) (map[string]string, error) {
	h, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn),
		ReverseOrder: true, MaxResults: 100, IncludeExecutionData: aws.Bool(true)})
	if err != nil {
		return nil, explain(err, "states:GetExecutionHistory", arn, nil)
	}
	for _, ev := range h.Events {
		x := ev.StateExitedEventDetails
		if x == nil || (aws.ToString(x.Name) != "JobStatus" && aws.ToString(x.Name) != "JobReport") {
			continue
		}
		var state struct {
			Results map[string]struct {
				Result struct {
					Outputs map[string]string `json:"outputs"`
				} `json:"result"`
			} `json:"results"`
		}
		if json.Unmarshal([]byte(aws.ToString(x.Output)), &state) != nil {
			continue
		}
		for _, k := range []string{"batchReport", "batchStatus"} {
			if r, ok := state.Results[k]; ok && r.Result.Outputs["jobId"] != "" {
				return r.Result.Outputs, nil
			}
		}
	}
	return nil, nil
}

// progressLine is one line of --wait's display: the job's status and its tasks.
func jobLine(job map[string]string) string {
	if job == nil || job["jobId"] == "" {
		return ""
	}
	return fmt.Sprintf("job %s  %-9s  %s succeeded, %s failed of %s tasks", job["jobId"], job["status"], job["succeeded"], job["failed"], job["total"])
}

// printLastRedrive prints the last re-drive recorded on a pair's registration (the
// redrive state machine's RecordResult: the Batch job, its status and task counts), so
// `crr status` answers "were the FAILED objects re-driven, and did it work?".
func printLastRedrive(w io.Writer, item map[string]ddbtypes.AttributeValue) {
	m, ok := item["lastRedrive"].(*ddbtypes.AttributeValueMemberM)
	if !ok {
		fmt.Fprintf(w, "  %-13s never (crr redrive <pair-id> re-drives FAILED objects)\n", "re-driven")
		return
	}
	num := func(k string) string {
		if n, ok := m.Value[k].(*ddbtypes.AttributeValueMemberN); ok {
			return n.Value
		}
		return "?"
	}
	fmt.Fprintf(w, "  %-13s %s at %s: job %s, %s of %s task(s) succeeded, %s failed\n", "re-driven",
		str(m.Value, "status"), str(m.Value, "at"), str(m.Value, "jobId"), num("succeeded"), num("total"), num("failed"))
	if ex := str(m.Value, "executionArn"); ex != "" {
		fmt.Fprintf(w, "  %-13s %s\n", "", ex)
	}
}
