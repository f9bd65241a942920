package statemachine

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// state is the subset of an ASL state the tests look at.
type state struct {
	Type           string          `json:"Type"`
	Next           string          `json:"Next"`
	End            bool            `json:"End"`
	Default        string          `json:"Default"`
	Resource       string          `json:"Resource"`
	Parameters     json.RawMessage `json:"Parameters"`
	ResultSelector json.RawMessage `json:"ResultSelector"`
	ResultPath     *string         `json:"ResultPath"`
	Choices        []choiceRule    `json:"Choices"`
	Retry          []retrier       `json:"Retry"`
	Catch          []catcher       `json:"Catch"`
	Branches       []machine       `json:"Branches"`
	ItemProcessor  *machine        `json:"ItemProcessor"`
	Iterator       *machine        `json:"Iterator"`
}

type choiceRule struct {
	Next string `json:"Next"`
}

type retrier struct {
	ErrorEquals     []string `json:"ErrorEquals"`
	IntervalSeconds *float64 `json:"IntervalSeconds"`
	MaxAttempts     *int     `json:"MaxAttempts"`
	BackoffRate     *float64 `json:"BackoffRate"`
	MaxDelaySeconds *float64 `json:"MaxDelaySeconds"`
	JitterStrategy  string   `json:"JitterStrategy"`
}

type catcher struct {
	ErrorEquals []string `json:"ErrorEquals"`
	ResultPath  *string  `json:"ResultPath"`
	Next        string   `json:"Next"`
}

type machine struct {
	StartAt       string           `json:"StartAt"`
	QueryLanguage string           `json:"QueryLanguage"`
	States        map[string]state `json:"States"`
}

// scope is one state machine or branch: its states and the name of the state
// (Parallel/Map) that owns it, "" for the top level.
type scope struct {
	owner string
	m     machine
}

func (s state) children() []machine {
	out := append([]machine(nil), s.Branches...)
	if s.ItemProcessor != nil {
		out = append(out, *s.ItemProcessor)
	}
	if s.Iterator != nil {
		out = append(out, *s.Iterator)
	}
	return out
}

// targets lists every state name a state can transition to.
func (s state) targets() []string {
	var out []string
	if s.Next != "" {
		out = append(out, s.Next)
	}
	if s.Default != "" {
		out = append(out, s.Default)
	}
	for _, c := range s.Choices {
		out = append(out, c.Next)
	}
	for _, c := range s.Catch {
		out = append(out, c.Next)
	}
	return out
}

func scopes(m machine, owner string) []scope {
	out := []scope{{owner: owner, m: m}}
	for _, name := range sortedStateNames(m) {
		for _, child := range m.States[name].children() {
			out = append(out, scopes(child, name)...)
		}
	}
	return out
}

func sortedStateNames(m machine) []string {
	names := make([]string, 0, len(m.States))
	for n := range m.States {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// testSubs substitutes every placeholder of every machine.
var testSubs = map[string]string{
	ProvisionFunctionArn: "arn:aws:lambda:us-east-1:999999999999:function:s3crr-provision",
	AlertTopicArn:        "arn:aws:sns:us-east-1:999999999999:s3crr-alerts",
	PairsTableName:       "s3crr-pairs",
	VerifyFunctionArn:    "arn:aws:lambda:us-east-1:999999999999:function:s3crr-verify",
}

func subsFor(t *testing.T, name string) map[string]string {
	t.Helper()
	keys, err := Placeholders(name)
	if err != nil {
		t.Fatal(err)
	}
	subs := map[string]string{}
	for _, k := range keys {
		v, ok := testSubs[k]
		if !ok {
			t.Fatalf("%s: placeholder ${%s} has no test substitution; add it to testSubs", name, k)
		}
		subs[k] = v
	}
	return subs
}

func loadMachine(t *testing.T, name string) (machine, []byte) {
	t.Helper()
	b, err := Load(name, subsFor(t, name))
	if err != nil {
		t.Fatal(err)
	}
	var m machine
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: decode: %v", name, err)
	}
	return m, b
}

func TestEveryDefinitionIsAWellFormedGraph(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			m, _ := loadMachine(t, name)
			if m.QueryLanguage != "JSONPath" {
				t.Errorf("QueryLanguage = %q, want JSONPath (the local runner has no JSONata)", m.QueryLanguage)
			}
			seen := map[string]string{} // Step Functions wants state names unique across the whole machine
			for _, sc := range scopes(m, "") {
				where := "top level"
				if sc.owner != "" {
					where = "a branch of " + sc.owner
				}
				if _, ok := sc.m.States[sc.m.StartAt]; !ok {
					t.Errorf("%s: StartAt %q is not a state", where, sc.m.StartAt)
				}
				for _, n := range sortedStateNames(sc.m) {
					if prev, dup := seen[n]; dup {
						t.Errorf("state %q is defined twice (%s and %s)", n, prev, where)
					}
					seen[n] = where
					s := sc.m.States[n]
					for _, target := range s.targets() {
						if _, ok := sc.m.States[target]; !ok {
							t.Errorf("%s: %s -> %q, which is not a state in the same scope", where, n, target)
						}
					}
					terminal := s.Type == "Succeed" || s.Type == "Fail" || s.Type == "Choice"
					switch {
					case terminal && (s.Next != "" || s.End):
						t.Errorf("%s: %s is a %s and must have neither Next nor End", where, n, s.Type)
					case !terminal && (s.Next == "") == !s.End:
						t.Errorf("%s: %s must have exactly one of Next and End", where, n)
					}
				}
				reached := map[string]bool{}
				var visit func(string)
				visit = func(n string) {
					if reached[n] {
						return
					}
					reached[n] = true
					if s, ok := sc.m.States[n]; ok {
						for _, target := range s.targets() {
							visit(target)
						}
					}
				}
				visit(sc.m.StartAt)
				for _, n := range sortedStateNames(sc.m) {
					if !reached[n] {
						t.Errorf("%s: state %q cannot be reached from %q", where, n, sc.m.StartAt)
					}
				}
			}
		})
	}
}

func TestRetryAndCatchNameOnlyKnownErrors(t *testing.T) {
	known := map[string]bool{}
	for _, n := range LambdaErrorNames {
		known[n] = true
	}
	check := func(t *testing.T, where string, names []string, last bool) {
		t.Helper()
		if len(names) == 0 {
			t.Errorf("%s: empty ErrorEquals", where)
		}
		for _, e := range names {
			switch {
			case e == "States.ALL":
				// Step Functions rejects States.ALL unless it stands alone in the last entry.
				if len(names) != 1 || !last {
					t.Errorf("%s: States.ALL must be alone in the last entry", where)
				}
			case strings.HasPrefix(e, "States."), strings.HasPrefix(e, "Lambda."), known[e]:
			default:
				t.Errorf("%s: ErrorEquals names %q, which the provision Lambda never returns (known: %v)", where, e, LambdaErrorNames)
			}
		}
	}
	for _, name := range Names() {
		m, _ := loadMachine(t, name)
		for _, sc := range scopes(m, "") {
			for _, n := range sortedStateNames(sc.m) {
				s := sc.m.States[n]
				for i, r := range s.Retry {
					check(t, name+"/"+n+" Retry", r.ErrorEquals, i == len(s.Retry)-1)
				}
				for i, c := range s.Catch {
					check(t, name+"/"+n+" Catch", c.ErrorEquals, i == len(s.Catch)-1)
				}
			}
		}
	}
}

type payload struct {
	FunctionName string          `json:"FunctionName"`
	Payload      json.RawMessage `json:"Payload"`
}

type lambdaEvent struct {
	Stage string `json:"stage"`
	Side  string `json:"side"`
	Plan  *bool  `json:"plan"`
}

// lambdaTasks returns the provision machine's lambda:invoke tasks by name.
func lambdaTasks(t *testing.T, m machine) map[string]state {
	out := map[string]state{}
	for _, sc := range scopes(m, "") {
		for n, s := range sc.m.States {
			if s.Type == "Task" && strings.HasPrefix(s.Resource, "arn:aws:states:::lambda:invoke") {
				out[n] = s
			}
		}
	}
	return out
}

// maxBackoffSeconds is the longest a retrier can wait in all: Step Functions
// waits IntervalSeconds*BackoffRate^k (capped at MaxDelaySeconds) before retry k+1.
func maxBackoffSeconds(r retrier) float64 {
	interval, rate, attempts := 1.0, 2.0, 3
	if r.IntervalSeconds != nil {
		interval = *r.IntervalSeconds
	}
	if r.BackoffRate != nil {
		rate = *r.BackoffRate
	}
	if r.MaxAttempts != nil {
		attempts = *r.MaxAttempts
	}
	total, wait := 0.0, interval
	for k := 0; k < attempts; k++ {
		w := wait
		if r.MaxDelaySeconds != nil && w > *r.MaxDelaySeconds {
			w = *r.MaxDelaySeconds
		}
		total += w
		wait *= rate
	}
	return total
}

func TestProvisionLambdaTasksFollowTheContract(t *testing.T) {
	m, _ := loadMachine(t, Provision)
	tasks := lambdaTasks(t, m)
	type stageSide struct{ stage, side string }
	var got []stageSide
	for n, s := range tasks {
		var p payload
		if err := json.Unmarshal(s.Parameters, &p); err != nil {
			t.Fatalf("%s: Parameters: %v", n, err)
		}
		if p.FunctionName == testSubs[VerifyFunctionArn] {
			continue // the new pair's verification: TestProvisionVerifiesTheNewPairAsTheNightlyRunDoes
		}
		if p.FunctionName != testSubs[ProvisionFunctionArn] {
			t.Errorf("%s invokes %q, want the provision function", n, p.FunctionName)
		}
		var ev lambdaEvent
		if err := json.Unmarshal(p.Payload, &ev); err != nil {
			t.Fatalf("%s: Payload: %v", n, err)
		}
		if ev.Plan == nil || *ev.Plan {
			t.Errorf("%s: Payload.plan must be false", n)
		}
		if !strings.Contains(string(p.Payload), `"request.$"`) {
			t.Errorf("%s: Payload does not pass the request", n)
		}
		got = append(got, stageSide{ev.Stage, ev.Side})

		// Every stage retries Lambda's own transient errors.
		transient := map[string]bool{}
		for _, r := range s.Retry {
			for _, e := range r.ErrorEquals {
				transient[e] = true
			}
		}
		for _, e := range []string{"Lambda.ServiceException", "Lambda.TooManyRequestsException", "Lambda.SdkClientException"} {
			if !transient[e] {
				t.Errorf("%s does not retry %s", n, e)
			}
		}
		// Every stage that touches IAM or KMS retries propagation for about five minutes: IAM
		// propagation takes seconds to minutes, and KMS documents up to five minutes before a new
		// alias (which the provisioner's KMS permissions are conditioned on) authorizes.
		var prop *retrier
		for i, r := range s.Retry {
			for _, e := range r.ErrorEquals {
				if e == "PrincipalNotReady" {
					prop = &s.Retry[i]
				}
			}
		}
		switch {
		case ev.Stage == "validate":
			if prop != nil {
				t.Errorf("validate touches no account, yet retries PrincipalNotReady")
			}
		case prop == nil:
			t.Errorf("%s (%s) does not retry PrincipalNotReady", n, ev.Stage)
		default:
			if total := maxBackoffSeconds(*prop); total < 300 || total > 420 {
				t.Errorf("%s: PrincipalNotReady retries wait up to %.0fs in all, want about five minutes", n, total)
			}
			if prop.JitterStrategy != "FULL" {
				t.Errorf("%s: PrincipalNotReady retries should use JitterStrategy FULL so parallel stages do not retry in lockstep", n)
			}
		}
	}
	sort.Slice(got, func(i, j int) bool {
		if got[i].stage != got[j].stage {
			return got[i].stage < got[j].stage
		}
		return got[i].side < got[j].side
	})
	want := []stageSide{
		{"batchReport", "source"}, {"batchRole", "source"}, {"batchStart", "source"}, {"batchStatus", "source"},
		{"bucket", "destination"}, {"bucket", "source"},
		{"bucketPolicy", "destination"},
		{"checkReplication", ""},
		{"encryption", "destination"}, {"encryption", "source"},
		{"events", "source"},
		{"key", "destination"}, {"key", "source"},
		{"keyPolicy", "destination"}, {"keyPolicy", "source"},
		{"preflight", ""},
		{"replication", "source"},
		{"role", "source"},
		{"validate", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("stages = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("stages = %v, want %v", got, want)
			break
		}
	}
}

// legFlow is the provision machine's per-leg flow: the item processor of its Legs Map,
// where every stage after Validate runs once per leg.
func legFlow(t *testing.T, m machine) machine {
	t.Helper()
	legs, ok := m.States["Legs"]
	if !ok || legs.Type != "Map" || legs.ItemProcessor == nil {
		t.Fatal("the provision machine has no Legs Map")
	}
	return *legs.ItemProcessor
}

func TestEveryCatchAlertsThenFailsNamingTheStage(t *testing.T) {
	m, _ := loadMachine(t, Provision)
	isPublish := func(s state) bool { return s.Type == "Task" && s.Resource == "arn:aws:states:::sns:publish" }
	// A flow is the top level or a Map's item processor: each has its own failure path.
	// A Parallel's branches are not: the Parallel's Catch must see their errors.
	flowOf := map[string]map[string]state{"": m.States, "Legs": legFlow(t, m).States}
	var top map[string]state
	for _, sc := range scopes(m, "") {
		flow, isFlow := flowOf[sc.owner]
		if isFlow {
			top = flow
		}
		for _, n := range sortedStateNames(sc.m) {
			s := sc.m.States[n]
			if sc.owner == provisionVerifyMap {
				continue // the verify ASL's per-pair states: a failure there is the pair's result, which VerificationPassed turns into the failure path
			}
			if !isFlow && len(s.Catch) > 0 {
				t.Errorf("%s inside %s catches its own errors; the Parallel's Catch must see them", n, sc.owner)
			}
			if isPublish(s) {
				continue // the alert and the success notice: their failure must not hide the outcome
			}
			for _, c := range s.Catch {
				if c.ResultPath == nil || *c.ResultPath != "$.error" {
					t.Errorf("%s: Catch ResultPath must be $.error (the failure path reads it)", n)
				}
				// Follow Pass states: the first must record the stage, then an SNS
				// alert, then a Fail that takes its Error and Cause from the description.
				path := []string{c.Next}
				recorded, alerted := false, false
				cur := c.Next
				for i := 0; i < 10; i++ {
					st, ok := top[cur]
					if !ok {
						t.Fatalf("%s: Catch path reaches unknown state %q", n, cur)
					}
					if st.Type == "Pass" && st.ResultPath != nil && *st.ResultPath == "$.failedStage" {
						recorded = true
					}
					if isPublish(st) {
						alerted = true
					}
					if st.Type == "Fail" {
						break
					}
					cur = st.Next
					path = append(path, cur)
				}
				if !recorded || !alerted || top[cur].Type != "Fail" {
					t.Errorf("%s: Catch path %v must record the stage, publish an alert and end in a Fail", n, path)
				}
			}
			if s.Type == "Task" || s.Type == "Parallel" {
				if isFlow && len(s.Catch) == 0 {
					t.Errorf("%s has no Catch: its failure would end the execution without an alert", n)
				}
			}
		}
	}
}

func TestFailStateNamesStageAndReason(t *testing.T) {
	_, b := loadMachine(t, Provision)
	var raw struct {
		States map[string]map[string]any `json:"States"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	var legs struct {
		ItemProcessor struct {
			States map[string]map[string]any `json:"States"`
		} `json:"ItemProcessor"`
	}
	legsRaw, _ := json.Marshal(raw.States["Legs"])
	if err := json.Unmarshal(legsRaw, &legs); err != nil {
		t.Fatal(err)
	}
	// The validate failure ends at the top level, a leg's in the Map (which fails the
	// execution with the same Error and Cause).
	for _, f := range []struct {
		states         map[string]map[string]any
		fail, describe string
	}{
		{raw.States, "ValidationFailed", "DescribeValidateFailure"},
		{legs.ItemProcessor.States, "ProvisioningFailed", "DescribeFailure"},
	} {
		fail := f.states[f.fail]
		if fail["ErrorPath"] != "$.failure.failError" || fail["CausePath"] != "$.failure.failCause" {
			t.Fatalf("%s = %v, want ErrorPath/CausePath from the failure description", f.fail, fail)
		}
		params, _ := f.states[f.describe]["Parameters"].(map[string]any)
		if got := params["failError.$"]; got != "States.Format('{}: {}', $.failedStage, $.error.Error)" {
			t.Errorf("%s: failError = %v, want the stage and the error name", f.describe, got)
		}
		if got, _ := params["failCause.$"].(string); !strings.Contains(got, "$.failedStage") || !strings.Contains(got, "$.error.Cause") {
			t.Errorf("%s: failCause = %v, want the stage and the cause", f.describe, got)
		}
	}
}

// jsonKeys returns the keys of a Parameters object, without the ".$" suffix.
func jsonKeys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, strings.TrimSuffix(k, ".$"))
	}
	sort.Strings(keys)
	return keys
}

// The Go shapes consumers decode must match what the ASL builds, or the CLI
// and the tests would read zero values from a real execution.
func TestGoShapesMatchTheDefinition(t *testing.T) {
	top, _ := loadMachine(t, Provision)
	m := legFlow(t, top)
	tests := []struct {
		state string
		give  json.RawMessage
		want  []string
	}{
		{"Summarize", m.States["Summarize"].Parameters,
			[]string{"arns", "executionArn", "pairId", "request", "ruleId", "stages", "verification"}},
		{"DescribeFailure", m.States["DescribeFailure"].Parameters,
			[]string{"cause", "error", "executionArn", "executionName", "failCause", "failError", "stage"}},
	}
	for _, tt := range tests {
		got := jsonKeys(t, tt.give)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s builds %v, the Go type expects %v", tt.state, got, tt.want)
		}
	}
	// Every results.<name> a state of the leg flow writes is a field of Stages.
	var stages Stages
	tagged, _ := json.Marshal(stages)
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(tagged, &fields); err != nil {
		t.Fatal(err)
	}
	written := map[string]bool{"validate": true} // Validate builds results.validate in its ResultSelector
	for n, s := range m.States {
		if s.ResultPath != nil && strings.HasPrefix(*s.ResultPath, "$.results.") {
			key := strings.TrimPrefix(*s.ResultPath, "$.results.")
			written[key] = true
			if _, ok := fields[key]; !ok {
				t.Errorf("%s writes results.%s, which Stages lacks", n, key)
			}
		}
	}
	for k := range fields {
		if !written[k] {
			t.Errorf("Stages.%s is written by no state", k)
		}
	}
}

// provisionVerifyMap is the provision state machine's Map that verifies the new pair.
const provisionVerifyMap = "VerifyNewPair"

// The provision run ends with the nightly run's verification of the new pair: the same
// per-pair states (so a change to one is a change to both, or this fails), fed by the
// same list stage from the registration, and only a passed result reaches success.
func TestProvisionVerifiesTheNewPairAsTheNightlyRunDoes(t *testing.T) {
	_, prov := loadMachine(t, Provision)
	_, ver := loadMachine(t, Verify)
	var top, p, v struct {
		States map[string]map[string]json.RawMessage `json:"States"`
	}
	if err := json.Unmarshal(prov, &top); err != nil {
		t.Fatal(err)
	}
	// The verification runs per leg, at the end of the Legs Map's flow.
	if err := json.Unmarshal(top.States["Legs"]["ItemProcessor"], &p); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(ver, &v); err != nil {
		t.Fatal(err)
	}
	canon := func(raw json.RawMessage) string {
		var x any
		if err := json.Unmarshal(raw, &x); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(x)
		return string(b)
	}
	mp := p.States[provisionVerifyMap]
	if mp == nil {
		t.Fatalf("provision has no %s state", provisionVerifyMap)
	}
	// The states must be equal; the processor mode may differ (the nightly run gives each
	// pair a child execution, the provision run verifies its one pair inline).
	var pp, vp struct {
		StartAt string
		States  json.RawMessage
	}
	if err := json.Unmarshal(mp["ItemProcessor"], &pp); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(v.States["VerifyPairs"]["ItemProcessor"], &vp); err != nil {
		t.Fatal(err)
	}
	if pp.StartAt != vp.StartAt || canon(pp.States) != canon(vp.States) {
		t.Errorf("%s's ItemProcessor states differ from verify.asl.json's VerifyPairs ItemProcessor: copy StartAt and States over verbatim", provisionVerifyMap)
	}
	if canon(p.States["ListNewPair"]["Parameters"]) != canon(json.RawMessage(`{"FunctionName":"`+testSubs[VerifyFunctionArn]+`","Payload":{"stage":"list","pairId.$":"$.summary.pairId"}}`)) {
		t.Errorf("ListNewPair parameters = %s, want the verify Lambda's list stage for the registered pair", p.States["ListNewPair"]["Parameters"])
	}
	var reg, list struct{ Next string }
	_ = json.Unmarshal(mustJSON(t, p.States["RegisterPair"]), &reg)
	_ = json.Unmarshal(mustJSON(t, p.States["ListNewPair"]), &list)
	if reg.Next != "ListNewPair" || list.Next != provisionVerifyMap {
		t.Errorf("RegisterPair -> %s -> %s, want RegisterPair -> ListNewPair -> %s", reg.Next, list.Next, provisionVerifyMap)
	}
	var choice struct {
		Choices []struct{ Variable, StringEquals, Next string }
		Default string
	}
	_ = json.Unmarshal(mustJSON(t, p.States["VerificationPassed"]), &choice)
	if len(choice.Choices) != 1 || choice.Choices[0].Variable != "$.summary.verify.status" || choice.Choices[0].StringEquals != "passed" ||
		choice.Choices[0].Next != "NotifySuccess" || choice.Default != "VerificationDidNotPass" {
		t.Errorf("VerificationPassed = %+v, want only status passed to reach NotifySuccess", choice)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// throttledRetry is the one Throttled retrier every Lambda task of the four state machines
// carries (ASL has no way to share a definition, so the test pins each copy to this one):
// 5 s doubling to a 60 s cap, full jitter, ten attempts. Ten because AWS's guidance for
// throttling is to back off and retry until the rate falls (docs/aws-facts.md
// #F-API-THROTTLING, #F-SDK-RETRY-MODES), and the wait must outlast the time a batch of
// pairs needs to drain through an account's quota: 100 pairs at 20 requests a second per
// account, service and Region took ~430 s, and six attempts (at most 195 s in all, ~97 s
// on average with full jitter) left one execution of 100 failed as Throttled on a KMS call.
// Ten wait at most 435 s (~218 s on average), within a ten-minute bound.
var throttledRetry = retrier{ErrorEquals: []string{"Throttled"}, IntervalSeconds: ptr(5.0), BackoffRate: ptr(2.0),
	MaxAttempts: ptr(10), MaxDelaySeconds: ptr(60.0), JitterStrategy: "FULL"}

func ptr[T any](v T) *T { return &v }

// TestEveryLambdaTaskRetriesThrottling: many pairs at once meet the member accounts' API
// rate limits; a stage whose calls are still throttled after the SDK's adaptive retries
// fails as Throttled, and every Lambda task of every state machine retries that with a
// growing, jittered pause (so the throttled executions do not come back in lockstep), for
// at least a minute and within its Task's budget.
func TestEveryLambdaTaskRetriesThrottling(t *testing.T) {
	for _, name := range Names() {
		m, _ := loadMachine(t, name)
		for _, sc := range scopes(m, "") {
			for n, s := range sc.m.States {
				if s.Type != "Task" || !strings.HasPrefix(s.Resource, "arn:aws:states:::lambda:invoke") {
					continue
				}
				var th *retrier
				for i, r := range s.Retry {
					if slices.Contains(r.ErrorEquals, "Throttled") {
						th = &s.Retry[i]
					}
				}
				switch {
				case th == nil:
					t.Errorf("%s/%s does not retry Throttled", name, n)
				case th.JitterStrategy != "FULL" || th.BackoffRate == nil || *th.BackoffRate <= 1:
					t.Errorf("%s/%s: Throttled retries need a BackoffRate above 1 and JitterStrategy FULL", name, n)
				case !reflect.DeepEqual(*th, throttledRetry):
					t.Errorf("%s/%s: Throttled retrier %s, want the shared one %s", name, n, mustJSON(t, th), mustJSON(t, throttledRetry))
				default:
					if total := maxBackoffSeconds(*th); total < 300 || total > 600 {
						t.Errorf("%s/%s: Throttled retries wait up to %.0fs in all, want between five and ten minutes", name, n, total)
					}
				}
			}
		}
	}
}
