package cdk

import (
	"slices"
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// One stack per member account and region; IAM (global per account) only in the
// account's first region.
func TestMemberStacks(t *testing.T) {
	tests := []struct {
		stack, account, region string
		primary                bool
	}{
		{"s3crr-member-111111111111-ap-south-1", "111111111111", "ap-south-1", true},
		{"s3crr-member-111111111111-eu-west-1", "111111111111", "eu-west-1", false},
		{"s3crr-member-222222222222-us-east-1", "222222222222", "us-east-1", true},
	}
	if got, want := stackNames(), []string{names.HubStackName, tests[0].stack, tests[1].stack, tests[2].stack}; !slices.Equal(got, sorted(want)) {
		t.Errorf("stacks %v, want %v", got, sorted(want))
	}
	byName := map[string]*MemberStack{}
	for _, m := range synthesized.stacks.Members {
		byName[*m.StackName()] = m
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			m, ok := byName[tt.stack]
			if !ok {
				t.Fatalf("no member stack %s", tt.stack)
			}
			if *m.Account() != tt.account || *m.Region() != tt.region {
				t.Errorf("deployed to %s/%s, want %s/%s", *m.Account(), *m.Region(), tt.account, tt.region)
			}
			tm := tmpl(t, tt.stack)
			wantIAM := 0
			if tt.primary {
				wantIAM = 1
			}
			provisioners := 0
			for _, r := range resources(tm, "AWS::IAM::Role") {
				if render(r.props["RoleName"]) == "s3crr-provisioner" {
					provisioners++
				}
			}
			if provisioners != wantIAM {
				t.Errorf("%d provisioner roles, want %d", provisioners, wantIAM)
			}
			if got := len(resources(tm, "AWS::IAM::ManagedPolicy")); got != wantIAM {
				t.Errorf("%d managed policies, want %d", got, wantIAM)
			}
			if got := len(resources(tm, "AWS::Pipes::Pipe")); got != 1 {
				t.Errorf("%d pipes, want 1", got)
			}
			if got := len(resources(tm, "AWS::Events::Rule")); got != 2 {
				t.Errorf("%d rules, want 2", got)
			}
		})
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// The auditor role holds exactly internal/policy's documents, at path "/" and only in the
// account's primary region, and grants nothing but reads.
func TestAuditorRole(t *testing.T) {
	tm := tmpl(t, "s3crr-member-111111111111-ap-south-1")
	role := only(t, tm, "AWS::IAM::Role", "RoleName", names.AuditorRoleName)
	ap := policy.AuditorParams{Account: "111111111111", HubAccount: "333333333333", ExternalID: "test-external-id"}
	if !jsonEqual(t, role.props["AssumeRolePolicyDocument"], policy.AuditorTrustPolicy(ap).JSON()) {
		t.Errorf("trust policy differs from policy.AuditorTrustPolicy:\n%s", render(role.props["AssumeRolePolicyDocument"]))
	}
	pols := asList(role.props["Policies"])
	if len(pols) != 1 || !jsonEqual(t, pols[0].(map[string]any)["PolicyDocument"], policy.AuditorPolicy(ap).JSON()) {
		t.Errorf("permission policy differs from policy.AuditorPolicy")
	}
	for _, st := range roleStatements(t, tm, role.id) {
		for _, a := range strs(st["Action"]) {
			verb := a[strings.Index(a, ":")+1:]
			if !strings.HasPrefix(verb, "Get") && !strings.HasPrefix(verb, "List") && !strings.HasPrefix(verb, "Describe") && verb != "SimulatePrincipalPolicy" {
				t.Errorf("the auditor may %s, which is not a read", a)
			}
		}
	}
}

// The provisioner role holds exactly internal/policy's documents: the trust names the
// hub account, narrowed to the hub Lambda roles, and demands the ExternalId.
func TestProvisionerRole(t *testing.T) {
	tm := tmpl(t, "s3crr-member-111111111111-ap-south-1")
	role := only(t, tm, "AWS::IAM::Role", "RoleName", "s3crr-provisioner")
	if got := render(role.props["Path"]); got != "/" {
		t.Errorf("path %s, want / (never /s3crr/, where the provisioner may change roles)", got)
	}
	pp := policy.ProvisionerParams{
		Account:       "111111111111",
		HubAccount:    "333333333333",
		HubRoleARNs:   []string{"arn:aws:iam::333333333333:role/s3crr-provision-function"},
		ExternalID:    "test-external-id",
		BucketPattern: "acme-*",
		AliasPattern:  "alias/acme-*",
	}
	trust := role.props["AssumeRolePolicyDocument"]
	if !jsonEqual(t, trust, policy.ProvisionerTrustPolicy(pp).JSON()) {
		t.Errorf("trust policy differs from policy.ProvisionerTrustPolicy:\n%s", render(trust))
	}
	// Independently of the builder: the one statement demands the ExternalId and
	// admits only the hub's Lambda roles.
	st := trust.(map[string]any)["Statement"].([]any)
	if len(st) != 1 {
		t.Fatalf("%d trust statements, want 1", len(st))
	}
	cond := st[0].(map[string]any)["Condition"].(map[string]any)
	if got := strs(cond["StringEquals"].(map[string]any)["sts:ExternalId"]); !slices.Equal(got, []string{"test-external-id"}) {
		t.Errorf("trust ExternalId %v, want [test-external-id]", got)
	}
	if got := strs(cond["ArnLike"].(map[string]any)["aws:PrincipalArn"]); !slices.Equal(got, pp.HubRoleARNs) {
		t.Errorf("trusted principals %v, want %v", got, pp.HubRoleARNs)
	}
	if got := strs(st[0].(map[string]any)["Principal"].(map[string]any)["AWS"]); !slices.Equal(got, []string{"arn:aws:iam::333333333333:root"}) {
		t.Errorf("trust principal %v, want the hub account", got)
	}

	pols := asList(role.props["Policies"])
	if len(pols) != 1 {
		t.Fatalf("%d inline policies, want 1", len(pols))
	}
	if !jsonEqual(t, pols[0].(map[string]any)["PolicyDocument"], policy.ProvisionerPolicy(pp).JSON()) {
		t.Errorf("permission policy differs from policy.ProvisionerPolicy")
	}
	// Independently of the builder: aliases and key changes follow kmsAliasPrefix.
	var aliasWrites, keyChanges int
	for _, st := range asList(pols[0].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"]) {
		st := st.(map[string]any)
		for _, r := range strs(st["Resource"]) {
			if strings.Contains(r, ":alias/") {
				aliasWrites++
				if r != "arn:aws:kms:*:111111111111:alias/acme-*" {
					t.Errorf("%v may act on alias %s, want only arn:aws:kms:*:111111111111:alias/acme-*", st["Sid"], r)
				}
			}
		}
		cond, _ := st["Condition"].(map[string]any)
		for name, op := range cond {
			if name == "Null" { // "the key has no alias", not a pattern
				continue
			}
			if v, ok := op.(map[string]any)["kms:ResourceAliases"]; ok {
				keyChanges++
				if got := strs(v); !slices.Equal(got, []string{"alias/acme-*"}) {
					t.Errorf("%v: kms:ResourceAliases %v, want [alias/acme-*]", st["Sid"], got)
				}
			}
		}
	}
	if aliasWrites == 0 || keyChanges == 0 {
		t.Errorf("%d alias statements and %d key statements conditioned on the alias, want some of each", aliasWrites, keyChanges)
	}
	if got := roleStatements(t, tm, role.id); len(got) != len(policy.ProvisionerPolicy(pp).Statement) {
		t.Errorf("%d statements granted to the role, want only the %d of its inline policy", len(got), len(policy.ProvisionerPolicy(pp).Statement))
	}

	boundary := only(t, tm, "AWS::IAM::ManagedPolicy", "ManagedPolicyName", names.BoundaryPolicyName)
	if got := render(boundary.props["Path"]); got != names.BoundaryPolicyPath {
		t.Errorf("boundary path %s, want %s", got, names.BoundaryPolicyPath)
	}
	if !jsonEqual(t, boundary.props["PolicyDocument"], policy.ReplicationBoundary(policy.BoundaryParams{BucketPattern: "acme-*", MemberAccounts: synthesized.stacks.Config.MemberAccounts()}).JSON()) {
		t.Errorf("boundary differs from policy.ReplicationBoundary")
	}
	// The provisioner may create roles only with this boundary: its ARN must be the one
	// the role policy's condition names.
	if want := names.BoundaryPolicyARN("111111111111"); want != "arn:aws:iam::111111111111:policy/s3crr/s3crr-replication-boundary" {
		t.Errorf("boundary ARN %s", want)
	}
}

// S3 may send to the queue only for this account's buckets under the prefix, and only
// over TLS; the Pipe reads it onto this region's default bus.
func TestEventsQueue(t *testing.T) {
	for _, stack := range []string{"s3crr-member-111111111111-eu-west-1", "s3crr-member-222222222222-us-east-1"} {
		t.Run(stack, func(t *testing.T) {
			m := memberOf(t, stack)
			tm := tmpl(t, stack)
			q := only(t, tm, "AWS::SQS::Queue", "QueueName", names.EventsQueueName)
			dlq := only(t, tm, "AWS::SQS::Queue", "QueueName", names.EventsDLQName)
			for _, r := range []resource{q, dlq} {
				if render(r.props["SqsManagedSseEnabled"]) != "true" {
					t.Errorf("%s is not encrypted", r.id)
				}
			}
			rp := q.props["RedrivePolicy"].(map[string]any)
			if render(rp["deadLetterTargetArn"]) != "${"+dlq.id+".Arn}" {
				t.Errorf("queue's dead-letter target %s, want %s", render(rp["deadLetterTargetArn"]), dlq.id)
			}

			var pol resource
			for _, p := range resources(tm, "AWS::SQS::QueuePolicy") {
				if slices.Contains(strs(p.props["Queues"]), "${"+q.id+"}") {
					pol = p
				}
			}
			if pol.props == nil {
				t.Fatal("the events queue has no policy")
			}
			var s3Allows, tlsDenies int
			for _, s := range asList(pol.props["PolicyDocument"].(map[string]any)["Statement"]) {
				s := s.(map[string]any)
				cond, _ := s["Condition"].(map[string]any)
				switch s["Effect"] {
				case "Deny":
					if render(cond["Bool"].(map[string]any)["aws:SecureTransport"]) == "false" {
						tlsDenies++
					}
				case "Allow":
					if got := render(s["Principal"].(map[string]any)["Service"]); got != "s3.amazonaws.com" {
						t.Errorf("queue allows %s, want only s3.amazonaws.com", got)
						continue
					}
					s3Allows++
					if got := strs(s["Action"]); !slices.Equal(got, []string{"sqs:SendMessage"}) {
						t.Errorf("S3 may %v, want sqs:SendMessage", got)
					}
					if got := render(cond["StringEquals"].(map[string]any)["aws:SourceAccount"]); got != m.account {
						t.Errorf("aws:SourceAccount %s, want %s", got, m.account)
					}
					if got := render(cond["ArnLike"].(map[string]any)["aws:SourceArn"]); got != "arn:aws:s3:::acme-*" {
						t.Errorf("aws:SourceArn %s, want arn:aws:s3:::acme-*", got)
					}
				}
			}
			if s3Allows != 1 || tlsDenies != 1 {
				t.Errorf("%d S3 allows and %d TLS denies, want 1 and 1", s3Allows, tlsDenies)
			}
		})
	}
}

func TestEventsPipeAndForwarding(t *testing.T) {
	const stack = "s3crr-member-111111111111-eu-west-1"
	tm := tmpl(t, stack)
	q := only(t, tm, "AWS::SQS::Queue", "QueueName", names.EventsQueueName)
	dlq := only(t, tm, "AWS::SQS::Queue", "QueueName", names.EventsDLQName)
	defaultBus := "arn:aws:events:eu-west-1:111111111111:event-bus/default"
	hubBus := "arn:aws:events:eu-central-1:333333333333:event-bus/s3crr-events"

	pipe := only(t, tm, "AWS::Pipes::Pipe", "Name", names.EventsPipeName)
	if got := render(pipe.props["Source"]); got != "${"+q.id+".Arn}" {
		t.Errorf("pipe source %s, want the events queue", got)
	}
	if got := render(pipe.props["Target"]); got != defaultBus {
		t.Errorf("pipe target %s, want %s (Pipes target buses in their own account and region only)", got, defaultBus)
	}
	tp := pipe.props["TargetParameters"].(map[string]any)["EventBridgeEventBusParameters"].(map[string]any)
	if render(tp["Source"]) != names.ReplicationEventSource || render(tp["DetailType"]) != names.ReplicationEventDetailType {
		t.Errorf("pipe marks events %v, want source %s detail-type %s", tp, names.ReplicationEventSource, names.ReplicationEventDetailType)
	}
	pipeRole := trimRef(render(pipe.props["RoleArn"]))
	for _, st := range roleStatements(t, tm, pipeRole) {
		res := strs(st["Resource"])
		switch acts := strs(st["Action"]); {
		case slices.Equal(acts, []string{"events:PutEvents"}):
			if !slices.Equal(res, []string{defaultBus}) {
				t.Errorf("pipe role puts events on %v, want only %s", res, defaultBus)
			}
		case allPrefixed(acts, "sqs:"):
			if !slices.Equal(res, []string{"${" + q.id + ".Arn}"}) {
				t.Errorf("pipe role reads %v, want only the events queue", res)
			}
			if slices.Contains(acts, "sqs:SendMessage") {
				t.Errorf("pipe role may send messages")
			}
		default:
			t.Errorf("pipe role: unexpected %v on %v", acts, res)
		}
	}

	// Pipes checks the role's SQS access when the Pipe is created: every policy granting
	// it must exist before the Pipe, inline in the role or a resource the Pipe depends on.
	pipeRaw := tm["Resources"].(map[string]any)[pipe.id].(map[string]any)
	dependsOn := strs(pipeRaw["DependsOn"])
	receives := 0
	for _, p := range resources(tm, "AWS::IAM::Policy") {
		if !slices.Contains(strs(p.props["Roles"]), "${"+pipeRole+"}") {
			continue
		}
		for _, st := range asList(p.props["PolicyDocument"].(map[string]any)["Statement"]) {
			if slices.Contains(strs(st.(map[string]any)["Action"]), "sqs:ReceiveMessage") && !slices.Contains(dependsOn, p.id) {
				t.Errorf("policy %s grants the pipe role sqs:ReceiveMessage, but the Pipe does not depend on it (DependsOn %v): creating the Pipe would fail", p.id, dependsOn)
			}
		}
	}
	for _, st := range roleStatements(t, tm, pipeRole) {
		if slices.Contains(strs(st["Action"]), "sqs:ReceiveMessage") {
			receives++
		}
	}
	if receives != 1 {
		t.Errorf("%d statements let the pipe role receive from the queue, want 1", receives)
	}

	rules := map[string]resource{}
	for _, r := range resources(tm, "AWS::Events::Rule") {
		rules[render(r.props["Name"])] = r
		if r.props["EventBusName"] != nil {
			t.Errorf("rule %s is on bus %v, want the default bus", r.id, r.props["EventBusName"])
		}
		targets := asList(r.props["Targets"])
		if len(targets) != 1 {
			t.Errorf("rule %s has %d targets, want 1", r.id, len(targets))
			continue
		}
		tg := targets[0].(map[string]any)
		if got := render(tg["Arn"]); got != hubBus {
			t.Errorf("rule %s targets %s, want the hub bus", r.id, got)
		}
		if got := render(tg["DeadLetterConfig"].(map[string]any)["Arn"]); got != "${"+dlq.id+".Arn}" {
			t.Errorf("rule %s dead-letters to %s, want the DLQ", r.id, got)
		}
		for _, st := range roleStatements(t, tm, trimRef(render(tg["RoleArn"]))) {
			if acts, res := strs(st["Action"]), strs(st["Resource"]); !slices.Equal(acts, []string{"events:PutEvents"}) || !slices.Equal(res, []string{hubBus}) {
				t.Errorf("forwarding role may %v on %v, want only events:PutEvents on the hub bus", acts, res)
			}
		}
	}
	repl, ok := rules[names.ForwardReplicationRuleName]
	if !ok {
		t.Fatalf("no rule %s", names.ForwardReplicationRuleName)
	}
	if !jsonEqual(t, repl.props["EventPattern"], []byte(`{"source":["s3crr.replication"],"detail-type":["S3 Replication Event Notification"]}`)) {
		t.Errorf("replication rule pattern %s", render(repl.props["EventPattern"]))
	}
	alarm, ok := rules[names.ForwardAlarmRuleName]
	if !ok {
		t.Fatalf("no rule %s", names.ForwardAlarmRuleName)
	}
	if !jsonEqual(t, alarm.props["EventPattern"], []byte(`{"source":["aws.cloudwatch"],"detail-type":["CloudWatch Alarm State Change"],"detail":{"alarmName":[{"prefix":"s3crr-"}]}}`)) {
		t.Errorf("alarm rule pattern %s", render(alarm.props["EventPattern"]))
	}
}

type memberInfo struct{ account, region string }

func memberOf(t *testing.T, stack string) memberInfo {
	t.Helper()
	for _, m := range synthesized.stacks.Members {
		if *m.StackName() == stack {
			return memberInfo{*m.Account(), *m.Region()}
		}
	}
	t.Fatalf("no member stack %s", stack)
	return memberInfo{}
}

func trimRef(s string) string {
	if len(s) > 3 && s[:2] == "${" {
		s = s[2 : len(s)-1]
	}
	if i := len(s) - len(".Arn"); i > 0 && s[i:] == ".Arn" {
		s = s[:i]
	}
	return s
}
