package cdk

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
)

// Helpers over the synthesized templates (plain JSON): the IAM checks below are
// allow-lists, which are easier to state over decoded JSON than with matchers.

type resource struct {
	id    string
	typ   string
	props map[string]any
}

func tmpl(t *testing.T, stack string) map[string]any {
	t.Helper()
	tm, ok := synthesized.templates[stack]
	if !ok {
		t.Fatalf("no stack %s; have %v", stack, stackNames())
	}
	return tm
}

func stackNames() []string {
	var out []string
	for n := range synthesized.templates {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// resources returns the resources of a type, sorted by logical ID.
func resources(tm map[string]any, typ string) []resource {
	var out []resource
	for id, v := range tm["Resources"].(map[string]any) {
		r := v.(map[string]any)
		if r["Type"] != typ {
			continue
		}
		props, _ := r["Properties"].(map[string]any)
		out = append(out, resource{id: id, typ: typ, props: props})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// only returns the single resource of a type whose property key renders to want.
func only(t *testing.T, tm map[string]any, typ, key, want string) resource {
	t.Helper()
	var found []resource
	for _, r := range resources(tm, typ) {
		if key == "" || render(r.props[key]) == want {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s resources with %s=%q, want 1", len(found), typ, key, want)
	}
	return found[0]
}

// render turns a template value into a string: literals as they are, intrinsics as
// ${LogicalId} (Ref) or ${LogicalId.Attr} (Fn::GetAtt), Fn::Join joined.
func render(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case map[string]any:
		if ref, ok := x["Ref"].(string); ok {
			return "${" + ref + "}"
		}
		if ga, ok := x["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
			return "${" + fmt.Sprint(ga[0]) + "." + fmt.Sprint(ga[1]) + "}"
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, render(p))
			}
			return strings.Join(parts, fmt.Sprint(j[0]))
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// strs renders a string-or-list value as a sorted list.
func strs(v any) []string {
	var out []string
	switch x := v.(type) {
	case nil:
	case []any:
		for _, e := range x {
			out = append(out, render(e))
		}
	default:
		out = append(out, render(x))
	}
	sort.Strings(out)
	return out
}

// roleStatements returns every statement granted to a role: its inline policies and
// the AWS::IAM::Policy resources attached to it. It fails the test if the role has
// managed policies, which the allow-lists below would not see.
func roleStatements(t *testing.T, tm map[string]any, roleID string) []map[string]any {
	t.Helper()
	var role resource
	for _, r := range resources(tm, "AWS::IAM::Role") {
		if r.id == roleID {
			role = r
		}
	}
	if role.props == nil {
		t.Fatalf("no role %s", roleID)
	}
	if mp := role.props["ManagedPolicyArns"]; mp != nil {
		t.Errorf("role %s has managed policies %v", roleID, mp)
	}
	var docs []any
	for _, p := range asList(role.props["Policies"]) {
		docs = append(docs, p.(map[string]any)["PolicyDocument"])
	}
	for _, p := range resources(tm, "AWS::IAM::Policy") {
		for _, r := range asList(p.props["Roles"]) {
			if render(r) == "${"+roleID+"}" {
				docs = append(docs, p.props["PolicyDocument"])
			}
		}
	}
	for _, p := range resources(tm, "AWS::IAM::ManagedPolicy") {
		for _, r := range asList(p.props["Roles"]) {
			if render(r) == "${"+roleID+"}" {
				t.Errorf("managed policy %s is attached to role %s", p.id, roleID)
			}
		}
	}
	var out []map[string]any
	for _, d := range docs {
		for _, st := range asList(d.(map[string]any)["Statement"]) {
			out = append(out, st.(map[string]any))
		}
	}
	return out
}

func asList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// jsonEqual compares a template value with a rendered document, ignoring formatting.
func jsonEqual(t *testing.T, got any, want []byte) bool {
	t.Helper()
	var w any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("decode want: %v", err)
	}
	gb, _ := json.Marshal(got)
	var g any
	_ = json.Unmarshal(gb, &g)
	return reflect.DeepEqual(g, w)
}

// withTemplate runs CDK assertions against a stack's template. The assertions library
// panics instead of failing the test; the panic is turned into a test error.
func withTemplate(t *testing.T, stack string, check func(assertions.Template)) {
	t.Helper()
	tm := tmpl(t, stack)
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", stack, r)
		}
	}()
	check(assertions.Template_FromJSON(&tm, nil))
}
