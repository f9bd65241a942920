package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/monitor"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/spec"
)

// pairTableAPI lists the DynamoDB call status makes.
type pairTableAPI interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

var _ pairTableAPI = (*dynamodb.Client)(nil)

// statusCommand is `crr status`.
func statusCommand() *command {
	return &command{
		name:    "status",
		summary: "show a pair (registration, latest executions), one execution, or every pair (--all)",
		run:     status,
	}
}

// maxScannedExecutions bounds how far back status looks for a pair's executions:
// ListExecutions has no name filter, so it pages through the state machine's executions.
const maxScannedExecutions = 1000

func status(ctx context.Context, env *cliEnv, args []string) error {
	if isStatusAll(args) {
		return statusAll(ctx, env, args) // status_all.go
	}
	fs := newFlagSet("crr status")
	table := fs.String("table", names.PairsTableName, "the pairs DynamoDB `table`")
	smARN := fs.String("state-machine", "", "provision state machine `ARN`; default arn:<partition>:states:<region>:<your account>:stateMachine:"+names.ProvisionStateMachineName)
	limit := fs.Int("limit", 5, "how many of the pair's latest `executions` to list")
	alertsTable := fs.String("alerts-table", names.DedupTableName, "the monitor's de-duplication `table`, where a pair's recent alerts are counted")
	aw := addAWSFlags(fs)
	out := addOutputFlag(fs)
	usage := "crr status <pair-id | execution-arn> [--table NAME] [--alerts-table NAME] [--state-machine ARN] [--limit N] [--region R] [--profile P] [--endpoint-url URL] [--output json]\n\n" +
		"For an execution ARN: its status and, once it has ended, its result (needs\n" +
		"states:DescribeExecution). For a pair ID: the pair as registered in the pairs table and its\n" +
		"latest executions, newest first, and its recent alerts with their counts (needs\n" +
		"dynamodb:GetItem, states:ListExecutions and dynamodb:Scan on the alerts table). For the\n" +
		"ID of a request with destinations or twoWay, the pairs it registered (its legs) too,\n" +
		"each with its registration and last verification.\n" +
		"Exits 0 whenever it could report, whatever the execution's status.\n" +
		"crr status --all lists every registered pair, a page at a time (crr status --all -h)."
	target, done, err := parseFlagsWithArg(fs, env, usage, args)
	if done || err != nil {
		return err
	}
	asJSON, err := out.json()
	if err != nil {
		return err
	}
	if *limit < 1 {
		return usagef("--limit must be at least 1")
	}
	isARN := strings.HasPrefix(target, "arn:")
	switch {
	case isARN && arnField(target, 5) != "execution":
		return usagef("%q is not an execution ARN (arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME)", target)
	case !isARN && !spec.ValidPairID(target):
		return usagef("%q is neither a pair ID (lowercase letters, digits and -) nor an execution ARN", target)
	}
	if isARN && *aw.region == "" {
		// The ARN says where the execution is; the profile's region may be another.
		*aw.region = arnField(target, 3)
	}
	cfg, err := aw.load(ctx)
	if err != nil {
		return err
	}
	client := awsclient.SFN(cfg)
	if isARN {
		d, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(target)})
		if err != nil {
			return explain(err, "states:DescribeExecution", target, map[string]string{
				"ExecutionDoesNotExist": "check the ARN (crr apply prints it) and that --region is the hub's region",
			})
		}
		if asJSON {
			return writeJSON(env.stdout, newExecutionDoc(d))
		}
		printExecutionResult(env.stdout, d)
		return nil
	}

	db := awsclient.DynamoDB(cfg)
	doc := pairDoc{PairID: target, Table: *table}
	stdout := env.stdout
	if asJSON {
		env = &cliEnv{stdin: env.stdin, stdout: io.Discard, stderr: env.stderr}
	}
	found, err := printPair(ctx, env, db, *table, target, cfg.Region, &doc)
	if err != nil {
		return err
	}
	if doc.Legs, err = findLegs(ctx, db, *table, target, found); err != nil {
		return err
	}
	printLegs(env.stdout, target, doc.Legs, found)
	printPairAlerts(ctx, env, db, *alertsTable, target, &doc)
	if *smARN == "" {
		if *smARN, err = defaultStateMachineARN(ctx, cfg); err != nil {
			return err
		}
	}
	doc.StateMachineARN = *smARN
	n, err := printPairExecutions(ctx, env, client, *smARN, target, *limit, &doc)
	if err != nil {
		return err
	}
	if asJSON {
		if err := writeJSON(stdout, doc); err != nil {
			return err
		}
	}
	if !found && len(doc.Legs) == 0 && n == 0 {
		return fmt.Errorf("no pair %s: it is not in table %s and %s has no execution for it\n  fix: check the pair ID and --region; crr apply -f FILE provisions a pair", target, *table, *smARN)
	}
	return nil
}

// printPair prints the pair's registration, as the state machine's RegisterPair state
// writes it; found is false when the pair is not registered.
func printPair(ctx context.Context, env *cliEnv, c pairTableAPI, table, pairID, region string, doc *pairDoc) (found bool, err error) {
	out, err := c.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key:       map[string]ddbtypes.AttributeValue{"pairId": &ddbtypes.AttributeValueMemberS{Value: pairID}},
	})
	if err != nil {
		return false, explain(err, "dynamodb:GetItem", table, map[string]string{
			"ResourceNotFoundException": fmt.Sprintf("there is no table %s in %s: deploy the HubStack, or pass --table (output PairsTableName of stack s3crr-hub) and --region for the hub's region", table, region),
		})
	}
	if len(out.Item) == 0 {
		return false, nil // status then looks for the request's legs (printLegs)
	}
	item := out.Item
	doc.Registered = true
	doc.Registration = plainItem(item)
	fmt.Fprintf(env.stdout, "pair %s: registered %s\n", pairID, str(item, "registeredAt"))
	side := func(label string) {
		m, _ := item[label].(*ddbtypes.AttributeValueMemberM)
		if m == nil {
			return
		}
		fmt.Fprintf(env.stdout, "  %-13s s3://%s in %s/%s\n  %-13s %s\n", label, str(m.Value, "bucket"), str(m.Value, "account"), str(m.Value, "region"),
			"", "key "+str(m.Value, "keyArn"))
	}
	side("source")
	side("destination")
	fmt.Fprintf(env.stdout, "  %-13s %s\n", "rule", str(item, "ruleId"))
	fmt.Fprintf(env.stdout, "  %-13s %s\n", "role", str(item, "roleArn"))
	fmt.Fprintf(env.stdout, "  %-13s %s\n", "provisioned by", str(item, "executionArn"))
	printLastVerification(env.stdout, item)
	printLastRedrive(env.stdout, item)
	return true, nil
}

// str reads a string attribute ("" if absent or not a string).
func str(item map[string]ddbtypes.AttributeValue, key string) string {
	if s, ok := item[key].(*ddbtypes.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// printPairExecutions lists the pair's latest executions, newest first, and returns how
// many it printed. A pair's executions are named <pairId>-<10 hex digits of the request
// hash>, with a -r<time> suffix for reruns; matching that exactly keeps pair "pay" from
// listing the executions of pair "pay-archive".
func printPairExecutions(ctx context.Context, env *cliEnv, c executionAPI, smARN, pairID string, limit int, doc *pairDoc) (int, error) {
	name := regexp.MustCompile(`^` + regexp.QuoteMeta(pairID) + `-[0-9a-f]{10}(-r[0-9]{8}T[0-9]{6})?$`)
	var found []sfntypes.ExecutionListItem
	scanned := 0
	var token *string
	for len(found) < limit && scanned < maxScannedExecutions {
		out, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(smARN), MaxResults: 100, NextToken: token})
		if err != nil {
			return 0, explain(err, "states:ListExecutions", smARN, map[string]string{
				"StateMachineDoesNotExist": "deploy the HubStack first, or pass --state-machine with its ARN (output ProvisionStateMachineArn of stack s3crr-hub), and --region for the hub's region",
			})
		}
		for _, e := range out.Executions {
			scanned++
			if name.MatchString(aws.ToString(e.Name)) && len(found) < limit {
				found = append(found, e)
			}
		}
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	if len(found) == 0 {
		fmt.Fprintf(env.stdout, "\nno executions for pair %s among the latest %d of %s\n", pairID, scanned, smARN)
		return 0, nil
	}
	fmt.Fprintf(env.stdout, "\nlatest executions (newest first):\n")
	for _, e := range found {
		doc.Executions = append(doc.Executions, pairExecution{
			ExecutionARN: aws.ToString(e.ExecutionArn), Name: aws.ToString(e.Name), Status: string(e.Status),
			StartDate: e.StartDate, StopDate: e.StopDate,
		})
		fmt.Fprintf(env.stdout, "  %-15s %s  %s\n", e.Status, aws.ToTime(e.StartDate).UTC().Format(time.RFC3339), aws.ToString(e.ExecutionArn))
	}
	if scanned >= maxScannedExecutions && len(found) < limit {
		fmt.Fprintf(env.stdout, "  (looked at the latest %d executions only)\n", scanned)
	}
	return len(found), nil
}

// pairDoc is status's --output json document for a pair.
type pairDoc struct {
	PairID string `json:"pairId"`
	Table  string `json:"table"`
	// Registered is false when no execution has registered the pair; Registration is
	// its item in the pairs table, as the RegisterPair state wrote it.
	Registered   bool           `json:"registered"`
	Registration map[string]any `json:"registration,omitempty"`
	// Legs are the other pairs the request made, each with its status: every leg of a
	// request with destinations (registered as <pairId>-1, -2...), or the back direction
	// of a two-way pair (<pairId>-reverse).
	Legs            []pairSummary   `json:"legs,omitempty"`
	StateMachineARN string          `json:"stateMachineArn"`
	Executions      []pairExecution `json:"executions"`
	// Alerts are the pair's alert windows in the monitor's de-duplication table, latest
	// first; AlertsError is the AWS error code when the table could not be read.
	AlertsTable string           `json:"alertsTable"`
	Alerts      []monitor.Window `json:"alerts"`
	AlertsError string           `json:"alertsError,omitempty"`
}

// pairExecution is one of the pair's latest executions, newest first.
type pairExecution struct {
	ExecutionARN string     `json:"executionArn"`
	Name         string     `json:"name"`
	Status       string     `json:"status"`
	StartDate    *time.Time `json:"startDate,omitempty"`
	StopDate     *time.Time `json:"stopDate,omitempty"`
}

// plainItem is a DynamoDB item as plain JSON values: strings, numbers (kept as their
// decimal text, which is exact), booleans, lists and maps.
func plainItem(item map[string]ddbtypes.AttributeValue) map[string]any {
	out := make(map[string]any, len(item))
	for k, v := range item {
		out[k] = plainValue(v)
	}
	return out
}

func plainValue(v ddbtypes.AttributeValue) any {
	switch x := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return x.Value
	case *ddbtypes.AttributeValueMemberN:
		return json.Number(x.Value)
	case *ddbtypes.AttributeValueMemberBOOL:
		return x.Value
	case *ddbtypes.AttributeValueMemberNULL:
		return nil
	case *ddbtypes.AttributeValueMemberSS:
		return x.Value
	case *ddbtypes.AttributeValueMemberNS:
		return x.Value
	case *ddbtypes.AttributeValueMemberL:
		l := make([]any, len(x.Value))
		for i, e := range x.Value {
			l[i] = plainValue(e)
		}
		return l
	case *ddbtypes.AttributeValueMemberM:
		return plainItem(x.Value)
	case *ddbtypes.AttributeValueMemberB:
		return x.Value
	}
	return nil
}
