package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// registerPair writes the item the state machine's RegisterPair state writes.
func registerPair(t *testing.T, endpoint, table, pairID, executionARN string) {
	t.Helper()
	s := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	side := func(account, region, bucket, key string) ddbtypes.AttributeValue {
		return &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
			"account": s(account), "region": s(region), "bucket": s(bucket), "keyArn": s(key),
		}}
	}
	c := dynamodb.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: staticCreds{}})
	_, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]ddbtypes.AttributeValue{
		"pairId":       s(pairID),
		"source":       side("111111111111", "ap-south-1", "payments-src", "arn:aws:kms:ap-south-1:111111111111:key/1111aaaa-1111-4111-8111-111111111111"),
		"destination":  side("222222222222", "us-east-1", "payments-dst", "arn:aws:kms:us-east-1:222222222222:key/2222bbbb-2222-4222-8222-222222222222"),
		"ruleId":       s("s3crr-" + pairID),
		"roleArn":      s("arn:aws:iam::111111111111:role/s3crr/s3crr-repl-" + pairID),
		"executionArn": s(executionARN),
		"registeredAt": s("2026-11-05T10:00:00Z"),
		"request":      s("{}"),
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStatusOfAPairAndOfAnExecution(t *testing.T) {
	hub := startHub(t)
	smARN := kumoStateMachine(t, hub.Endpoint)
	useEndpoints(t, kumoEndpoints(hub.Endpoint))
	pairID := uniqueName("crr-status")
	file, req := parsedRequestFile(t, pairID)
	if code, _, _ := runCLI(t, "apply", "-f", file, "--wait"); code != exitOK {
		t.Fatalf("apply: exit code %d", code)
	}
	// Another pair whose ID starts with this one's: its executions must not be listed.
	if code, _, _ := runCLI(t, "apply", "-f", requestFile(t, pairID+"-two"), "--wait"); code != exitOK {
		t.Fatalf("apply: exit code %d", code)
	}
	execARN := strings.Replace(smARN, ":stateMachine:", ":execution:", 1) + ":" + req.ExecutionName()

	t.Run("execution ARN", func(t *testing.T) {
		code, stdout, _ := runCLI(t, "status", execARN)
		if code != exitOK {
			t.Fatalf("exit code %d", code)
		}
		for _, want := range []string{"SUCCEEDED  " + req.ExecutionName(), "pair                " + pairID, "verification        replication is configured and ready"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout does not contain %q", want)
			}
		}
	})

	t.Run("registered pair", func(t *testing.T) {
		registerPair(t, hub.Endpoint, hub.TableName, pairID, execARN)
		code, stdout, _ := runCLI(t, "status", pairID, "--table", hub.TableName)
		if code != exitOK {
			t.Fatalf("exit code %d", code)
		}
		for _, want := range []string{
			"pair " + pairID + ": registered 2026-11-05T10:00:00Z",
			"s3://payments-src in 111111111111/ap-south-1",
			"key arn:aws:kms:us-east-1:222222222222:key/2222bbbb-2222-4222-8222-222222222222",
			"role          arn:aws:iam::111111111111:role/s3crr/s3crr-repl-" + pairID,
			"provisioned by " + execARN,
			"latest executions (newest first):",
			"SUCCEEDED ",
		} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout does not contain %q", want)
			}
		}
		if n := strings.Count(stdout, ":execution:"); n != 2 { // provisioned by + the one listed
			t.Errorf("%d execution ARNs printed, want the pair's one (twice); another pair's leaked in?", n)
		}
		if strings.Contains(stdout, pairID+"-two-") {
			t.Errorf("status lists the executions of pair %s-two", pairID)
		}
	})

	t.Run("unregistered pair with executions", func(t *testing.T) {
		code, stdout, _ := runCLI(t, "status", pairID+"-two", "--table", hub.TableName)
		if code != exitOK {
			t.Fatalf("exit code %d", code)
		}
		if !strings.Contains(stdout, "not registered") || !strings.Contains(stdout, ":"+pairID+"-two-") {
			t.Errorf("status does not say the pair is unregistered and list its execution")
		}
	})

	t.Run("fan-out request lists its legs", func(t *testing.T) {
		fan := pairID + "-fan"
		registerPair(t, hub.Endpoint, hub.TableName, fan+"-1", execARN)
		registerPair(t, hub.Endpoint, hub.TableName, fan+"-3", execARN) // leg 2 destroyed alone
		code, stdout, _ := runCLI(t, "status", fan, "--table", hub.TableName)
		if code != exitOK {
			t.Fatalf("exit code %d", code)
		}
		for _, want := range []string{"request " + fan + ": 2 of its legs registered", fan + "-1 ", fan + "-3 ", "never", "s3://payments-src (111111111111/ap-south-1) -> s3://payments-dst (222222222222/us-east-1)"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout does not contain %q:\n%s", want, stdout)
			}
		}
		if strings.Contains(stdout, fan+"-2 ") || strings.Contains(stdout, "not registered") {
			t.Errorf("status lists a leg that is not registered, or calls the request unregistered:\n%s", stdout)
		}
		code, stdout, _ = runCLI(t, "status", fan, "--table", hub.TableName, "--output", "json")
		var doc pairDoc
		if code != exitOK || json.Unmarshal([]byte(stdout), &doc) != nil {
			t.Fatalf("--output json: exit code %d, %s", code, stdout)
		}
		if doc.Registered || len(doc.Legs) != 2 || doc.Legs[0].PairID != fan+"-1" || doc.Legs[1].PairID != fan+"-3" || doc.Legs[0].ProvisionedBy != execARN {
			t.Errorf("--output json legs = %+v, want %s-1 and %s-3", doc.Legs, fan, fan)
		}
	})

	t.Run("two-way pair lists its other direction", func(t *testing.T) {
		two := pairID + "-two-way"
		registerPair(t, hub.Endpoint, hub.TableName, two, execARN)
		registerPair(t, hub.Endpoint, hub.TableName, two+"-reverse", execARN)
		code, stdout, _ := runCLI(t, "status", two, "--table", hub.TableName, "--output", "json")
		var doc pairDoc
		if code != exitOK || json.Unmarshal([]byte(stdout), &doc) != nil {
			t.Fatalf("exit code %d, %s", code, stdout)
		}
		if !doc.Registered || len(doc.Legs) != 1 || doc.Legs[0].PairID != two+"-reverse" {
			t.Errorf("legs = %+v, want the registered %s-reverse", doc.Legs, two)
		}
	})

	t.Run("unknown pair", func(t *testing.T) {
		code, _, stderr := runCLI(t, "status", "crr-no-such-pair", "--table", hub.TableName)
		if code != exitFailure || !strings.Contains(stderr, "no pair crr-no-such-pair") {
			t.Errorf("exit code %d, want 1 naming the pair", code)
		}
	})
}

func TestStatusErrors(t *testing.T) {
	hub := startHub(t)
	kumoStateMachine(t, hub.Endpoint)
	useEndpoints(t, kumoEndpoints(hub.Endpoint))
	tests := []cliCase{
		{"no argument", []string{"status"}, exitUsage, []string{"give a pair ID or an execution ARN"}},
		{"two arguments", []string{"status", "a-pair", "b-pair"}, exitUsage, []string{`unexpected argument "b-pair"`}},
		{"not an execution ARN", []string{"status", "arn:aws:states:us-east-1:000000000000:stateMachine:s3crr-provision"}, exitUsage, []string{"is not an execution ARN"}},
		{"not a pair ID", []string{"status", "Payments Archive"}, exitUsage, []string{"is neither a pair ID"}},
		{"missing table", []string{"status", "some-pair", "--table", "crr-no-such-table"}, exitFailure,
			[]string{"dynamodb:GetItem crr-no-such-table: ResourceNotFoundException", "deploy the HubStack, or pass --table"}},
		{"missing execution", []string{"status", "arn:aws:states:us-east-1:000000000000:execution:s3crr-provision:nope-0123456789"}, exitFailure,
			[]string{"states:DescribeExecution", "ExecutionDoesNotExist", "check the ARN"}},
	}
	runCLICases(t, tests)
}

func TestStatusNamesAMissingStateMachine(t *testing.T) {
	// kumo lists no executions for a state machine that does not exist; Step Functions
	// answers StateMachineDoesNotExist, which the fake does.
	hub := startHub(t)
	f := &fakeSFN{t: t, listErr: "StateMachineDoesNotExist"}
	useEndpoints(t, map[string]string{"SFN": f.serve(), "DYNAMODB": hub.Endpoint})
	code, _, stderr := runCLI(t, "status", "some-pair", "--table", hub.TableName, "--state-machine", "arn:aws:states:us-east-1:123456789012:stateMachine:s3crr-provision")
	if code != exitFailure {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, w := range []string{"states:ListExecutions", "StateMachineDoesNotExist", "deploy the HubStack first, or pass --state-machine"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr does not mention %q", w)
		}
	}
}

// TestStatusAllPagesThroughEveryPair registers more pairs than a page holds and lists
// them as a user would: pages of --page-size, each ending with the token of the next,
// which continues where it stopped; --all-pages lists every pair once; --output json
// carries the same pairs and the token.
func TestStatusAllPagesThroughEveryPair(t *testing.T) {
	hub := startHub(t)
	useEndpoints(t, kumoEndpoints(hub.Endpoint))
	prefix := uniqueName("crr-all")
	want := map[string]bool{}
	for i := range 7 {
		id := fmt.Sprintf("%s-%d", prefix, i)
		registerPair(t, hub.Endpoint, hub.TableName, id, "arn:aws:states:us-east-1:000000000000:execution:s3crr-provision:"+id+"-0123456789")
		want[id] = true
	}
	tokenRE := regexp.MustCompile(`--starting-token (\S+)`)
	seen := map[string]int{}
	token, pages := "", 0
	for {
		args := []string{"status", "--all", "--table", hub.TableName, "--page-size", "3"}
		if token != "" {
			args = append(args, "--starting-token", token)
		}
		code, stdout, stderr := runCLI(t, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		pages++
		rows := 0
		for _, line := range strings.Split(stdout, "\n") {
			if f := strings.Fields(line); len(f) > 0 && want[f[0]] {
				seen[f[0]]++
				rows++
				if !strings.Contains(line, "never") || !strings.Contains(line, "s3://payments-src") {
					t.Errorf("row %q: want its last verification (never) and its buckets", line)
				}
			}
		}
		if rows > 3 {
			t.Errorf("a page of --page-size 3 listed %d pairs", rows)
		}
		m := tokenRE.FindStringSubmatch(stdout)
		if m == nil {
			break
		}
		token = m[1]
		if pages > 10 {
			t.Fatal("the pages never end")
		}
	}
	if len(seen) != len(want) || pages < 3 {
		t.Errorf("%d pages listed %v, want all %d pairs over at least 3 pages", pages, seen, len(want))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s listed %d times", id, n)
		}
	}

	code, stdout, _ := runCLI(t, "status", "--all", "--table", hub.TableName, "--page-size", "2", "--all-pages", "--output", "json")
	if code != exitOK {
		t.Fatalf("--all-pages --output json: exit %d", code)
	}
	var doc statusAllDoc
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Pairs) != len(want) || doc.NextToken != "" {
		t.Errorf("--all-pages: %d pairs, next token %q; want all %d and none", len(doc.Pairs), doc.NextToken, len(want))
	}
	code, stdout, _ = runCLI(t, "status", "--all", "--table", hub.TableName, "--page-size", "2", "--output", "json")
	if err := json.Unmarshal([]byte(stdout), &doc); code != exitOK || err != nil || len(doc.Pairs) != 2 || doc.NextToken == "" {
		t.Errorf("one JSON page: exit %d, %v, %d pairs, token %q; want 2 and a token", code, err, len(doc.Pairs), doc.NextToken)
	}

	for _, bad := range [][]string{{"--page-size", "0"}, {"--starting-token", "not-a-token"}, {"--all-pages", "--starting-token", doc.NextToken}} {
		if code, _, _ := runCLI(t, append([]string{"status", "--all", "--table", hub.TableName}, bad...)...); code != exitUsage {
			t.Errorf("status --all %v: exit %d, want %d (usage)", bad, code, exitUsage)
		}
	}
}
