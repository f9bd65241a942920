package statemachine_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/provision"
	"github.com/s3crr/s3crr/statemachine"
)

// The ASL and the provision Lambda are built apart; these tests hold them to
// one contract: the stages and sides the ASL invokes are exactly the ones the
// Lambda runs, and the error names the ASL matches are its error types' names.

func TestASLInvokesExactlyTheProvisionStages(t *testing.T) {
	aslInvokesExactly(t, statemachine.Provision, provision.Stages)
}

// TestDestroyASLInvokesExactlyTheDestroyStages: the destroy state machine runs every
// destroy stage and side, in provision.DestroyStages' order and nothing else.
func TestDestroyASLInvokesExactlyTheDestroyStages(t *testing.T) {
	aslInvokesExactly(t, statemachine.Destroy, provision.DestroyStages)
	raw, err := statemachine.Raw(statemachine.Destroy)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range regexp.MustCompile(`"stage": "([A-Za-z]+)",\s*"side": "([a-z]*)"`).FindAllStringSubmatch(string(raw), -1) {
		order = append(order, m[1]+"/"+m[2])
	}
	var want []string
	for _, s := range provision.DestroyStages {
		for _, side := range s.Sides {
			want = append(want, s.Name+"/"+side)
		}
	}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Errorf("the destroy ASL's stages in file order\n  %v\nprovision.DestroyStages' order\n  %v", order, want)
	}
}

// aslInvokesExactly checks that a definition's Lambda payloads name exactly the stages
// and sides of a run order.
func aslInvokesExactly(t *testing.T, name string, stages []struct {
	Name  string
	Sides []string
}) {
	t.Helper()
	subs := map[string]string{
		statemachine.ProvisionFunctionArn: "arn:aws:lambda:us-east-1:999999999999:function:p",
		statemachine.AlertTopicArn:        "arn:aws:sns:us-east-1:999999999999:t",
		statemachine.PairsTableName:       "pairs",
	}
	if keys, _ := statemachine.Placeholders(name); slices.Contains(keys, statemachine.VerifyFunctionArn) {
		subs[statemachine.VerifyFunctionArn] = "arn:aws:lambda:us-east-1:999999999999:function:v"
	}
	def, err := statemachine.Load(name, subs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			// Only the provision Lambda's payloads: the verify Lambda's (the new pair's
			// verification) have stages of their own.
			if p, ok := v["Payload"].(map[string]any); ok && v["FunctionName"] == subs[statemachine.ProvisionFunctionArn] {
				if stage, ok := p["stage"].(string); ok {
					side, _ := p["side"].(string)
					got = append(got, stage+"/"+side)
				}
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	var doc any
	if err := json.Unmarshal(def, &doc); err != nil {
		t.Fatal(err)
	}
	walk(doc)
	var want []string
	for _, s := range stages {
		for _, side := range s.Sides {
			want = append(want, s.Name+"/"+side)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the %s ASL invokes\n  %v\nthe provision Lambda runs\n  %v", name, got, want)
	}
}

func TestErrorNamesAreTheProvisionErrorTypes(t *testing.T) {
	// aws-lambda-go reports the Go type name (pointer or not) as errorType.
	var got []string
	for _, e := range []error{
		&provision.InvalidSpec{}, &provision.PreflightFailed{}, &provision.PrincipalNotReady{},
		&provision.AccessDenied{}, &provision.Conflict{}, &provision.StageFailed{}, &provision.BatchReplicationFailed{},
		&provision.DocumentBusy{}, &provision.DocumentChanged{},
		&provision.Throttled{},
	} {
		got = append(got, reflect.TypeOf(e).Elem().Name())
	}
	want := append([]string(nil), statemachine.LambdaErrorNames...)
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("provision error types %v, ASL error names %v", got, want)
	}
}
