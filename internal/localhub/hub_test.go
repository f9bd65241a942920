package localhub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/s3crr/s3crr/internal/testenv"
)

var buildDir string

func TestMain(m *testing.M) {
	// kumo's self-calls (EventBridge to a Lambda target) must reach this test's hub.
	if err := EnsureKumoPort(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "localhub-lambdas-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func root(t *testing.T) string {
	t.Helper()
	r, err := FindModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// needRunner skips when node_modules is absent (fails under CI: testenv) and
// fails when it is there but the runner cannot run.
func needRunner(t *testing.T) {
	t.Helper()
	r := root(t)
	testenv.RequireNodeModules(t, r)
	if err := CheckRunner(r); err != nil {
		t.Fatal(err)
	}
}

var (
	buildMu sync.Mutex
	builds  = map[string]string{}
)

// lambdaBinary builds testdata/<name> once per test binary.
func lambdaBinary(t *testing.T, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := builds[name]; ok {
		return p
	}
	p, err := BuildLambda(context.Background(), root(t), "./internal/localhub/testdata/"+name, buildDir)
	if err != nil {
		t.Fatal(err)
	}
	builds[name] = p
	return p
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var hubs atomic.Int64

// startHub starts a hub with resources of its own, so tests (and -count=N
// repetitions, since kumo's state lives as long as the process) do not read
// each other's alerts or pairs.
func startHub(t *testing.T) *Hub {
	t.Helper()
	name := strings.NewReplacer("/", "-", "_", "-").Replace(strings.ToLower(t.Name())) + "-" + strconv.FormatInt(hubs.Add(1), 10)
	h, err := Start(context.Background(), Config{TopicName: name, TableName: name + "-pairs", Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func proofDefinition(t *testing.T, h *Hub) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "proof.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.NewReplacer("${PairsTableName}", h.TableName, "${AlertTopicArn}", h.TopicARN).Replace(string(b)))
}

func proofInput(t *testing.T, fnARN, pairID string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"functionArn": fnARN, "request": map[string]string{"pairId": pairID}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func attr(item map[string]any, path ...string) string {
	var cur any = item
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[p]
	}
	s, _ := cur.(string)
	return s
}

// pairItem reads the pair's DynamoDB item as plain JSON-ish maps.
func pairItem(t *testing.T, h *Hub, pairID string) (map[string]any, bool) {
	t.Helper()
	item, ok, err := h.Pair(context.Background(), pairID)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return nil, false
	}
	out := map[string]any{}
	for k, v := range item {
		out[k] = attributeJSON(v)
	}
	return out, true
}

func TestKumoSelfCallsReachTheHub(t *testing.T) {
	h := startHub(t)
	if !h.SelfCalls {
		t.Fatalf("SelfCalls = false with KUMO_PORT=%q", os.Getenv("KUMO_PORT"))
	}
	u, _ := url.Parse(h.Endpoint)
	if u.Port() != os.Getenv("KUMO_PORT") {
		t.Fatalf("hub listens on %s, KUMO_PORT is %s", h.Endpoint, os.Getenv("KUMO_PORT"))
	}
	fn := "selfcall-target"
	arn, err := h.AddFunction(context.Background(), Function{Name: fn, Bootstrap: lambdaBinary(t, "denied"), Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	// EventBridge delivers to a Lambda target by calling kumo's own Invoke URL.
	ctx := context.Background()
	eb := eventbridge.NewFromConfig(h.AWSConfig())
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("selfcall"), EventPattern: aws.String(`{"source":["s3crr.test"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("selfcall"), Targets: []ebtypes.Target{{Id: aws.String("fn"), Arn: aws.String(arn)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("s3crr.test"), DetailType: aws.String("test"), Detail: aws.String(`{}`),
	}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.Invocations(fn) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("EventBridge never invoked the Lambda target through the hub")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCrashedEnvironmentIsReplaced(t *testing.T) {
	h := startHub(t)
	counter := filepath.Join(t.TempDir(), "count")
	fn := "crashy"
	arn, err := h.AddFunction(context.Background(), Function{
		Name: fn, Bootstrap: lambdaBinary(t, "flaky"), Concurrency: 1,
		Env: map[string]string{"FLAKY_COUNTER": counter, "FLAKY_PANIC": "1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	lc := lambda.NewFromConfig(h.AWSConfig())
	out, err := lc.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(arn), Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.FunctionError) == "" || !strings.Contains(string(out.Payload), "crash on invocation 1") {
		t.Fatalf("first invocation: FunctionError=%q payload=%s, want the panic", aws.ToString(out.FunctionError), out.Payload)
	}
	// aws-lambda-go exits after a panic; Lambda would start a new environment.
	out, err = lc.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(arn), Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.FunctionError) != "" || !strings.Contains(string(out.Payload), `"attempt":"2"`) {
		t.Fatalf("second invocation: FunctionError=%q payload=%s, want success from a new environment", aws.ToString(out.FunctionError), out.Payload)
	}
	if got := h.Restarts(fn); got != 1 {
		t.Errorf("Restarts = %d, want 1", got)
	}
}

func TestRunnerRejectsResourcesItCannotRun(t *testing.T) {
	needRunner(t)
	h := startHub(t)
	def := `{"StartAt":"Deploy","States":{"Deploy":{"Type":"Task","Resource":"arn:aws:states:::ecs:runTask.sync","Parameters":{"Cluster":"c"},"End":true}}}`
	_, err := h.Run(context.Background(), RunInput{Definition: []byte(def)}, nil)
	if err == nil || !strings.Contains(err.Error(), "Deploy") || !strings.Contains(err.Error(), "ecs:runTask.sync") {
		t.Fatalf("Run = %v, want an error naming the state and its resource", err)
	}
}

// attributeJSON turns a DynamoDB attribute into plain Go values (strings and maps).
func attributeJSON(v ddbtypes.AttributeValue) any {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return v.Value
	case *ddbtypes.AttributeValueMemberN:
		return v.Value
	case *ddbtypes.AttributeValueMemberM:
		out := map[string]any{}
		for k, e := range v.Value {
			out[k] = attributeJSON(e)
		}
		return out
	default:
		return fmt.Sprintf("%T", v)
	}
}

// TestRunnerDataFlowIsStepFunctions' covers what aws-local-stepfunctions 3.0.0
// gets wrong on its own and sfn-runner/faithful.mjs corrects, and the context
// object the runner provides.
func TestRunnerDataFlowIsStepFunctions(t *testing.T) {
	needRunner(t)
	h := startHub(t)
	def := `{"StartAt":"Shape","States":{"Shape":{"Type":"Pass","Parameters":{
	  "json.$":"States.JsonToString($.v)",
	  "format.$":"States.Format('it\\'s {} for {}', $.v.q, $$.Execution.Name)",
	  "all.$":"$.list[*].n", "none.$":"$.empty[*]", "deep.$":"$..deep",
	  "id.$":"$$.Execution.Id", "machine.$":"$$.StateMachine.Id", "start.$":"$$.Execution.StartTime"},
	  "ResultPath":"$","End":true}}}`
	in := `{"v":{"q":"a\"b\\c"},"list":[{"n":1}],"empty":[],"x":{"deep":5}}`
	run, err := h.Run(context.Background(), RunInput{Definition: []byte(def), Input: []byte(in), Name: "flow-1", StateMachineName: "flow"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != StatusSucceeded {
		t.Fatalf("status %s (%s: %s)", run.Status, run.Error, run.Cause)
	}
	var got struct {
		JSON    string `json:"json"`
		Format  string `json:"format"`
		All     []int  `json:"all"`
		None    []int  `json:"none"`
		Deep    []int  `json:"deep"`
		ID      string `json:"id"`
		Machine string `json:"machine"`
		Start   string `json:"start"`
		V       any    `json:"v"`
	}
	if err := json.Unmarshal(run.Output, &got); err != nil {
		t.Fatal(err)
	}
	var back map[string]string
	if err := json.Unmarshal([]byte(got.JSON), &back); err != nil || back["q"] != `a"b\c` {
		t.Errorf("JsonToString gave %q (%v), want JSON that round-trips", got.JSON, err)
	}
	if got.Format != `it's a"b\c for flow-1` {
		t.Errorf("Format gave %q", got.Format)
	}
	if len(got.All) != 1 || got.None == nil || len(got.None) != 0 || len(got.Deep) != 1 {
		t.Errorf("indefinite paths gave all=%v none=%v deep=%v, want lists of 1, 0 and 1", got.All, got.None, got.Deep)
	}
	if got.V != nil {
		t.Errorf(`ResultPath "$" kept the input (v=%v), want it replaced`, got.V)
	}
	wantMachine := "arn:aws:states:" + h.Region + ":" + h.Account + ":stateMachine:flow"
	if got.Machine != wantMachine || got.ID != "arn:aws:states:"+h.Region+":"+h.Account+":execution:flow:flow-1" || got.ID != run.ARN {
		t.Errorf("context: machine %q, execution %q (run %q)", got.Machine, got.ID, run.ARN)
	}
	if _, err := time.Parse(time.RFC3339, got.Start); err != nil {
		t.Errorf("$$.Execution.StartTime %q: %v", got.Start, err)
	}
}

// TestRunnerRunsADistributedMapAsChildExecutions: a Distributed Map's items run as child
// workflow executions, as Step Functions documents them: each with its own context
// ($$.Execution.Id under <state machine>/<Label>, $$.Execution.Input its own input), a
// failed child does not stop the others and is tolerated up to ToleratedFailurePercentage, beyond which the
// state fails with States.ExceedToleratedFailureThreshold (catchable). Fields it does not
// stand in for are refused before the run.
func TestRunnerRunsADistributedMapAsChildExecutions(t *testing.T) {
	needRunner(t)
	h := startHub(t)
	def := func(tolerated int, extra string) []byte {
		return []byte(fmt.Sprintf(`{"StartAt":"Each","States":{"Each":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":0,
		  "ToleratedFailurePercentage":%d,"Label":"Pairs",%s
		  "ItemSelector":{"n.$":"$$.Map.Item.Value.n","index.$":"$$.Map.Item.Index"},
		  "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"Odd?","States":{
		    "Odd?":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericEquals":13,"Next":"Boom"}],"Default":"Who"},
		    "Boom":{"Type":"Fail","Error":"Boom","Cause":"thirteen"},
		    "Who":{"Type":"Pass","Parameters":{"n.$":"$.n","index.$":"$.index","id.$":"$$.Execution.Id","input.$":"$$.Execution.Input"},"End":true}}},
		  "Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Caught"}],
		  "ResultPath":"$.results","End":true},
		  "Caught":{"Type":"Pass","End":true}}}`, tolerated, extra))
	}
	var items []string
	for i := range 60 {
		items = append(items, fmt.Sprintf(`{"n":%d}`, i))
	}
	in := []byte(`{"items":[` + strings.Join(items, ",") + `]}`)

	run, err := h.Run(context.Background(), RunInput{Definition: def(5, ""), Input: in, Name: "dm-1", StateMachineName: "dm"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != StatusSucceeded {
		t.Fatalf("status %s (%s: %s)", run.Status, run.Error, run.Cause)
	}
	var out struct {
		Results []struct {
			N, Index int
			ID       string
			Input    map[string]int
			Error    string
			Cause    string
		} `json:"results"`
		Error any `json:"error"`
	}
	if err := json.Unmarshal(run.Output, &out); err != nil {
		t.Fatal(err)
	}
	if out.Error != nil || len(out.Results) != 60 {
		t.Fatalf("1 failed child of 60 is within 5%%: got error %v, %d results", out.Error, len(out.Results))
	}
	prefix := "arn:aws:states:" + h.Region + ":" + h.Account + ":execution:dm/Pairs:"
	ids := map[string]bool{}
	for i, r := range out.Results {
		if i == 13 {
			if r.Error != "Boom" || r.Cause != "thirteen" {
				t.Errorf("the failed child's result is %+v, want its Error and Cause", r)
			}
			continue
		}
		if r.N != i || r.Index != i || !strings.HasPrefix(r.ID, prefix) || r.Input["n"] != i || r.Input["index"] != i {
			t.Errorf("child %d: %+v; want its own item, index, input and an ID under %s", i, r, prefix)
		}
		ids[r.ID] = true
	}
	if len(ids) != 59 {
		t.Errorf("%d distinct child execution IDs, want 59", len(ids))
	}

	// 1 of 60 is more than 1%: the Map Run fails, and the Catch sees why.
	run, err = h.Run(context.Background(), RunInput{Definition: def(1, ""), Input: in, Name: "dm-2", StateMachineName: "dm"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(run.Output, &out); err != nil {
		t.Fatal(err)
	}
	if e, _ := out.Error.(map[string]any); e["Error"] != "States.ExceedToleratedFailureThreshold" {
		t.Errorf("over the threshold: caught %v, want States.ExceedToleratedFailureThreshold", out.Error)
	}

	_, err = h.Run(context.Background(), RunInput{Definition: def(5, `"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"b","Key":"k"}},`), Input: in}, nil)
	if err == nil || !strings.Contains(err.Error(), "ItemReader") {
		t.Errorf("a Distributed Map reading from S3: %v, want the runner to refuse ItemReader", err)
	}
}
