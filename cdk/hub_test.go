package cdk

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/statemachine"
)

func TestHubStackEnvironment(t *testing.T) {
	h := synthesized.stacks.Hub
	if got := *h.Account(); got != "333333333333" {
		t.Errorf("hub account = %s, want 333333333333", got)
	}
	if got := *h.Region(); got != "eu-central-1" {
		t.Errorf("hub region = %s, want eu-central-1", got)
	}
}

// The provision Lambda's role may do three things: assume the member provisioner
// roles (only those, only with the ExternalId), write its own log group, and send
// X-Ray traces. Anything else fails.
func TestProvisionFunctionRole(t *testing.T) {
	tm := tmpl(t, names.HubStackName)
	role := only(t, tm, "AWS::IAM::Role", "RoleName", names.ProvisionFunctionRoleName)
	if got := render(role.props["AssumeRolePolicyDocument"].(map[string]any)["Statement"].([]any)[0].(map[string]any)["Principal"].(map[string]any)["Service"]); got != "lambda.amazonaws.com" {
		t.Errorf("trusted service = %s, want lambda.amazonaws.com", got)
	}
	fn := only(t, tm, "AWS::Lambda::Function", "FunctionName", "s3crr-provision")
	logGroup := render(fn.props["LoggingConfig"].(map[string]any)["LogGroup"])
	logGroupID := strings.TrimSuffix(strings.TrimPrefix(logGroup, "${"), "}")

	wantAssume := []string{
		"arn:aws:iam::111111111111:role/s3crr-provisioner",
		"arn:aws:iam::222222222222:role/s3crr-provisioner",
	}
	assumes, leases := 0, 0
	for _, st := range roleStatements(t, tm, role.id) {
		actions := strs(st["Action"])
		if st["Effect"] != "Allow" {
			t.Errorf("unexpected %v statement %v", st["Effect"], st)
			continue
		}
		switch {
		case slices.Equal(actions, []string{"sts:AssumeRole"}):
			assumes++
			if got := strs(st["Resource"]); !slices.Equal(got, wantAssume) {
				t.Errorf("sts:AssumeRole on %v, want exactly %v", got, wantAssume)
			}
			cond, _ := st["Condition"].(map[string]any)
			eq, _ := cond["StringEquals"].(map[string]any)
			if got := strs(eq["sts:ExternalId"]); !slices.Equal(got, []string{"test-external-id"}) {
				t.Errorf("sts:AssumeRole ExternalId condition = %v, want [test-external-id]", got)
			}
			if len(cond) != 1 || len(eq) != 1 {
				t.Errorf("sts:AssumeRole conditions = %v, want only StringEquals sts:ExternalId", cond)
			}
		case slices.Equal(actions, []string{"logs:CreateLogStream", "logs:PutLogEvents"}):
			if got := render(st["Resource"]); got != "${"+logGroupID+".Arn}" {
				t.Errorf("log writes on %s, want only the function's log group %s", got, logGroupID)
			}
		case slices.Equal(actions, []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"}):
			// X-Ray has no resource-level permissions; "*" is the only form.
		case slices.Equal(actions, []string{"dynamodb:DeleteItem", "dynamodb:PutItem"}): // CDK sorts actions
			leases++
			lease := only(t, tm, "AWS::DynamoDB::Table", "TableName", names.LeaseTableName)
			if got := render(st["Resource"]); got != "${"+lease.id+".Arn}" {
				t.Errorf("lease writes on %s, want only the lease table %s", got, lease.id)
			}
			if got := render(st["Condition"]); !strings.Contains(got, "dynamodb:LeadingKeys") {
				t.Errorf("lease writes not limited to lease keys: %s", got)
			}
		case slices.Equal(actions, []string{"dynamodb:Scan"}):
			// Teardown reads the registry: the pairs table only.
			if got := render(st["Resource"]); !strings.HasPrefix(got, "${PairsTable") || !strings.HasSuffix(got, ".Arn}") {
				t.Errorf("dynamodb:Scan on %s, want only the pairs table", got)
			}
		default:
			t.Errorf("unexpected statement granting %v on %v", actions, st["Resource"])
		}
	}
	if leases != 1 {
		t.Errorf("%d lease statements, want 1", leases)
	}
	if assumes != 1 {
		t.Errorf("%d sts:AssumeRole statements, want 1", assumes)
	}
}

func TestHubFunctions(t *testing.T) {
	tm := tmpl(t, names.HubStackName)
	fns := resources(tm, "AWS::Lambda::Function")
	if len(fns) != len(hubFunctions) {
		t.Errorf("%d functions, want %d (one per hubFunctions entry, no helper Lambdas)", len(fns), len(hubFunctions))
	}
	logGroups := map[string]resource{}
	for _, lg := range resources(tm, "AWS::Logs::LogGroup") {
		logGroups["${"+lg.id+"}"] = lg
	}
	for _, fn := range fns {
		name := render(fn.props["FunctionName"])
		checks := []struct{ what, got, want string }{
			{"runtime", render(fn.props["Runtime"]), "provided.al2023"},
			{"architectures", strings.Join(strs(fn.props["Architectures"]), ","), "arm64"},
			{"handler", render(fn.props["Handler"]), "bootstrap"},
			{"tracing", render(fn.props["TracingConfig"].(map[string]any)["Mode"]), "Active"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s: %s = %q, want %q", name, c.what, c.got, c.want)
			}
		}
		lg, ok := logGroups[render(fn.props["LoggingConfig"].(map[string]any)["LogGroup"])]
		if !ok {
			t.Errorf("%s: logs to no log group of this stack", name)
			continue
		}
		if got := render(lg.props["RetentionInDays"]); got != "90" {
			t.Errorf("%s: log retention %s days, want 90", name, got)
		}
		if got := render(lg.props["LogGroupName"]); got != "/aws/lambda/"+name {
			t.Errorf("%s: log group %s, want /aws/lambda/%s", name, got, name)
		}
	}
}

func TestProvisionFunctionEnvironment(t *testing.T) {
	fn := only(t, tmpl(t, names.HubStackName), "AWS::Lambda::Function", "FunctionName", names.ProvisionFunctionName)
	env := fn.props["Environment"].(map[string]any)["Variables"].(map[string]any)
	want := map[string]string{
		"PROVISIONER_ROLE_NAME":      "s3crr-provisioner",
		"EXTERNAL_ID":                "test-external-id",
		"BOUNDARY_POLICY_ARN_FORMAT": "arn:aws:iam::%s:policy/s3crr/s3crr-replication-boundary",
		"EVENTS_QUEUE_NAME":          "s3crr-replication-events",
		"S3CRR_BUCKET_NAME_PREFIX":   "acme-",
		"S3CRR_KMS_ALIAS_PREFIX":     "alias/acme-",
		names.EnvLeaseTable:          names.LeaseTableName,
		"PAIRS_TABLE_NAME":           "s3crr-pairs",
	}
	if len(env) != len(want) {
		t.Errorf("environment %v, want exactly %v", env, want)
	}
	for k, v := range want {
		if got := render(env[k]); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestAlertTopicEncryptedAndTLSOnly(t *testing.T) {
	withTemplate(t, names.HubStackName, func(tp assertions.Template) {
		tp.HasResourceProperties(jsii.String("AWS::SNS::Topic"), &map[string]any{
			"TopicName":      names.AlertTopicName,
			"KmsMasterKeyId": assertions.Match_ObjectLike(&map[string]any{"Fn::GetAtt": assertions.Match_AnyValue()}),
		})
		tp.ResourceCountIs(jsii.String("AWS::KMS::Key"), jsii.Number(1))
		tp.HasResourceProperties(jsii.String("AWS::KMS::Key"), &map[string]any{"EnableKeyRotation": true})
		tp.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), &map[string]any{
			"Protocol": "email", "Endpoint": "ops@example.com",
		})
	})
	tm := tmpl(t, names.HubStackName)
	topic := only(t, tm, "AWS::SNS::Topic", "TopicName", names.AlertTopicName)
	key := only(t, tm, "AWS::KMS::Key", "", "")
	if got := render(topic.props["KmsMasterKeyId"]); got != "${"+key.id+".Arn}" {
		t.Errorf("topic key = %s, want the stack's customer managed key %s", got, key.id)
	}
	pol := only(t, tm, "AWS::SNS::TopicPolicy", "", "")
	denies := 0
	for _, st := range asList(pol.props["PolicyDocument"].(map[string]any)["Statement"]) {
		st := st.(map[string]any)
		cond, _ := st["Condition"].(map[string]any)
		b, _ := cond["Bool"].(map[string]any)
		if st["Effect"] == "Deny" && render(b["aws:SecureTransport"]) == "false" && render(st["Resource"]) == "${"+topic.id+"}" {
			denies++
		}
	}
	if denies != 1 {
		t.Errorf("topic policy has %d TLS-only denies, want 1", denies)
	}
}

func TestPairsTable(t *testing.T) {
	withTemplate(t, names.HubStackName, func(tp assertions.Template) {
		tp.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), &map[string]any{
			"TableName":                        names.PairsTableName,
			"KeySchema":                        []any{map[string]any{"AttributeName": "pairId", "KeyType": "HASH"}},
			"BillingMode":                      "PAY_PER_REQUEST",
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			"SSESpecification":                 map[string]any{"SSEEnabled": true},
		})
		tp.HasResource(jsii.String("AWS::DynamoDB::Table"), &map[string]any{"DeletionPolicy": "RetainExceptOnCreate"})
	})
}

func TestProvisionStateMachine(t *testing.T) {
	tm := tmpl(t, names.HubStackName)
	sm := only(t, tm, "AWS::StepFunctions::StateMachine", "StateMachineName", names.ProvisionStateMachineName)
	raw, err := statemachine.Raw(statemachine.Provision)
	if err != nil {
		t.Fatal(err)
	}
	def := render(sm.props["DefinitionString"])
	if def != string(raw) {
		t.Errorf("DefinitionString is not statemachine/provision.asl.json verbatim (%d vs %d bytes)", len(def), len(raw))
	}

	fn := only(t, tm, "AWS::Lambda::Function", "FunctionName", names.ProvisionFunctionName)
	verifyFn := only(t, tm, "AWS::Lambda::Function", "FunctionName", names.VerifyFunctionName)
	topic := only(t, tm, "AWS::SNS::Topic", "TopicName", names.AlertTopicName)
	table := only(t, tm, "AWS::DynamoDB::Table", "TableName", names.PairsTableName)
	want := map[string]string{
		statemachine.ProvisionFunctionArn: "${" + fn.id + ".Arn}",
		statemachine.AlertTopicArn:        "${" + topic.id + "}",
		statemachine.PairsTableName:       "${" + table.id + "}",
		// The run ends with the new pair's verification by the verify Lambda.
		statemachine.VerifyFunctionArn: "${" + verifyFn.id + ".Arn}",
	}
	subs, _ := sm.props["DefinitionSubstitutions"].(map[string]any)
	if len(subs) != len(want) {
		t.Errorf("substitutions %v, want %v", subs, want)
	}
	for k, v := range want {
		if got := render(subs[k]); got != v {
			t.Errorf("substitution %s = %s, want %s", k, got, v)
		}
	}
	// What CloudFormation will do: replace every ${Key}; nothing may be left.
	resolved := def
	for k, v := range subs {
		resolved = strings.ReplaceAll(resolved, "${"+k+"}", render(v))
	}
	if left := regexp.MustCompile(`\$\{[A-Za-z][A-Za-z0-9_]*\}`).FindAllString(resolved, -1); len(left) > 0 {
		// Substituted values render as ${LogicalId...}; only placeholders are names
		// that are not logical IDs of this template.
		for _, l := range left {
			id := strings.SplitN(strings.Trim(l, "${}"), ".", 2)[0]
			if _, ok := tm["Resources"].(map[string]any)[id]; !ok {
				t.Errorf("placeholder %s left after substitution", l)
			}
		}
	}
	if !strings.Contains(resolved, `"FunctionName": "${`+fn.id+`.Arn}"`) {
		t.Errorf("the resolved definition does not invoke the provision function by ARN")
	}

	logging := sm.props["LoggingConfiguration"].(map[string]any)
	if render(logging["Level"]) != "ALL" || render(logging["IncludeExecutionData"]) != "false" {
		t.Errorf("logging = %v, want level ALL without execution data", logging)
	}
	if render(sm.props["TracingConfiguration"].(map[string]any)["Enabled"]) != "true" {
		t.Errorf("tracing is off")
	}

	// The role: invoke only the provision and verify functions, publish only to the topic, register
	// only in the table, plus the log delivery and X-Ray calls Step Functions needs.
	roleID := strings.TrimSuffix(strings.TrimPrefix(render(sm.props["RoleArn"]), "${"), ".Arn}")
	for _, st := range roleStatements(t, tm, roleID) {
		actions := strs(st["Action"])
		res := strs(st["Resource"])
		switch {
		case slices.Equal(actions, []string{"lambda:InvokeFunction"}):
			if !slices.Equal(res, []string{"${" + fn.id + ".Arn}", "${" + verifyFn.id + ".Arn}"}) {
				t.Errorf("lambda:InvokeFunction on %v, want only the provision and verify functions", res)
			}
		case slices.Equal(actions, []string{"sns:Publish"}):
			if !slices.Equal(res, []string{"${" + topic.id + "}"}) {
				t.Errorf("sns:Publish on %v, want only the alert topic", res)
			}
		case slices.Equal(actions, []string{"kms:Decrypt", "kms:GenerateDataKey"}):
			cond := st["Condition"].(map[string]any)["StringEquals"].(map[string]any)
			if got := strs(cond["kms:ViaService"]); !slices.Equal(got, []string{"sns.eu-central-1.amazonaws.com"}) {
				t.Errorf("alert key use via %v, want SNS in the hub region only", got)
			}
		case slices.Equal(actions, []string{"dynamodb:PutItem"}):
			if !slices.Equal(res, []string{"${" + table.id + ".Arn}"}) {
				t.Errorf("dynamodb writes on %v, want only the pairs table", res)
			}
		case allPrefixed(actions, "logs:", "xray:") && slices.Equal(res, []string{"*"}):
			// Log delivery and X-Ray calls support no resource-level permissions.
		default:
			t.Errorf("unexpected statement granting %v on %v", actions, res)
		}
	}
}

func allPrefixed(actions []string, prefixes ...string) bool {
	for _, a := range actions {
		ok := false
		for _, p := range prefixes {
			ok = ok || strings.HasPrefix(a, p)
		}
		if !ok {
			return false
		}
	}
	return len(actions) > 0
}

// The hub bus accepts events only from the member accounts, and only from s3crr's
// forwarding rules in their configured regions.
func TestEventBusPolicy(t *testing.T) {
	tm := tmpl(t, names.HubStackName)
	bus := only(t, tm, "AWS::Events::EventBus", "Name", names.EventBusName)
	pols := resources(tm, "AWS::Events::EventBusPolicy")
	if len(pols) != 1 {
		t.Fatalf("%d bus policies, want 1", len(pols))
	}
	p := pols[0].props
	if got := render(p["EventBusName"]); got != "${"+bus.id+"}" {
		t.Errorf("policy on bus %s, want %s", got, bus.id)
	}
	st := p["Statement"].(map[string]any)
	if got := strs(st["Principal"].(map[string]any)["AWS"]); !slices.Equal(got, []string{"arn:aws:iam::111111111111:root", "arn:aws:iam::222222222222:root"}) {
		t.Errorf("principals %v, want exactly the two member accounts", got)
	}
	if got := strs(st["Action"]); !slices.Equal(got, []string{"events:PutEvents"}) {
		t.Errorf("actions %v, want events:PutEvents", got)
	}
	if got := render(st["Resource"]); got != "arn:aws:events:eu-central-1:333333333333:event-bus/s3crr-events" {
		t.Errorf("resource %s, want the hub bus", got)
	}
	got := strs(st["Condition"].(map[string]any)["ArnEquals"].(map[string]any)["aws:SourceArn"])
	want := []string{
		"arn:aws:events:ap-south-1:111111111111:rule/s3crr-forward-alarm-events",
		"arn:aws:events:ap-south-1:111111111111:rule/s3crr-forward-replication-events",
		"arn:aws:events:eu-west-1:111111111111:rule/s3crr-forward-alarm-events",
		"arn:aws:events:eu-west-1:111111111111:rule/s3crr-forward-replication-events",
		"arn:aws:events:us-east-1:222222222222:rule/s3crr-forward-alarm-events",
		"arn:aws:events:us-east-1:222222222222:rule/s3crr-forward-replication-events",
	}
	if !slices.Equal(got, want) {
		t.Errorf("aws:SourceArn %v, want the forwarding rules %v", got, want)
	}
}

func TestHubOutputs(t *testing.T) {
	outs, _ := tmpl(t, names.HubStackName)["Outputs"].(map[string]any)
	for _, k := range []string{"ProvisionStateMachineArn", "AlertTopicArn", "PairsTableName", "EventBusArn"} {
		if _, ok := outs[k]; !ok {
			t.Errorf("no output %s", k)
		}
	}
}

// Resources with fixed names are kept on delete and replacement, but removed when the
// deployment that created them rolls back: plain Retain would leave them behind and
// the retry would fail with "already exists" (docs/aws-facts.md#F-CFN-RETENTION).
func TestFixedNamesRetainedExceptOnCreate(t *testing.T) {
	nameProps := []string{"TableName", "LogGroupName"}
	for stack, tm := range synthesized.templates {
		checked := 0
		for id, v := range tm["Resources"].(map[string]any) {
			r := v.(map[string]any)
			props, _ := r["Properties"].(map[string]any)
			named := false
			for _, k := range nameProps {
				named = named || props[k] != nil
			}
			if r["DeletionPolicy"] == "Retain" {
				t.Errorf("%s: %s (%v) has DeletionPolicy Retain; a failed first deployment would keep it", stack, id, r["Type"])
			}
			if !named {
				continue
			}
			checked++
			if r["DeletionPolicy"] != "RetainExceptOnCreate" || r["UpdateReplacePolicy"] != "Retain" {
				t.Errorf("%s: %s (%v) has DeletionPolicy %v, UpdateReplacePolicy %v; want RetainExceptOnCreate and Retain", stack, id, r["Type"], r["DeletionPolicy"], r["UpdateReplacePolicy"])
			}
		}
		if stack == names.HubStackName && checked < 3 {
			t.Errorf("%s: checked %d fixed-name resources, want the table and the two log groups", stack, checked)
		}
	}
}

// Executions that end without NotifyFailure (the run-wide timeout, a failing Pass or
// Choice state, an abort) still reach the alert topic, through alarms CloudWatch can
// publish: the topic's key lets cloudwatch.amazonaws.com use it.
func TestExecutionAlarms(t *testing.T) {
	tm := tmpl(t, names.HubStackName)
	topic := only(t, tm, "AWS::SNS::Topic", "TopicName", names.AlertTopicName)
	// Every state machine s3crr deploys: an execution that ends outside its own failure
	// alert (timeout, a Pass or Choice state, a stop) must still reach the alert topic.
	machines := map[string]string{} // "${logical ID}" -> state machine name
	for _, name := range []string{names.ProvisionStateMachineName, names.DestroyStateMachineName, names.RedriveStateMachineName, names.VerifyStateMachineName} {
		machines["${"+only(t, tm, "AWS::StepFunctions::StateMachine", "StateMachineName", name).id+"}"] = name
	}
	seen := map[string]bool{}
	for _, a := range resources(tm, "AWS::CloudWatch::Alarm") {
		p := a.props
		if render(p["Namespace"]) != "AWS/States" {
			continue // the monitor's DLQ alarm: TestMonitorRoute
		}
		dims := asList(p["Dimensions"])
		if len(dims) != 1 || render(dims[0].(map[string]any)["Name"]) != "StateMachineArn" || machines[render(dims[0].(map[string]any)["Value"])] == "" {
			t.Errorf("%s: dimensions %v, want StateMachineArn of one of s3crr's state machines", a.id, dims)
			continue
		}
		seen[machines[render(dims[0].(map[string]any)["Value"])]+" "+render(p["MetricName"])] = true
		if got := strs(p["AlarmActions"]); !slices.Equal(got, []string{"${" + topic.id + "}"}) {
			t.Errorf("%s: actions %v, want the alert topic", a.id, got)
		}
		if render(p["Statistic"]) != "Sum" || render(p["Threshold"]) != "1" || render(p["ComparisonOperator"]) != "GreaterThanOrEqualToThreshold" {
			t.Errorf("%s: %s %s %s, want Sum >= 1", a.id, render(p["Statistic"]), render(p["ComparisonOperator"]), render(p["Threshold"]))
		}
		if render(p["TreatMissingData"]) != "notBreaching" {
			t.Errorf("%s: missing data %s, want notBreaching (no executions is no failure)", a.id, render(p["TreatMissingData"]))
		}
	}
	for _, sm := range machines {
		for _, m := range []string{"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"} {
			if !seen[sm+" "+m] {
				t.Errorf("no alarm on %s of %s", m, sm)
			}
		}
	}

	key := only(t, tm, "AWS::KMS::Key", "", "")
	cwUse := false
	for _, st := range asList(key.props["KeyPolicy"].(map[string]any)["Statement"]) {
		st := st.(map[string]any)
		pr, _ := st["Principal"].(map[string]any)
		if st["Effect"] != "Allow" || render(pr["Service"]) != CloudWatchService {
			continue
		}
		acts := strs(st["Action"])
		if slices.Contains(acts, "kms:Decrypt") && slices.Contains(acts, "kms:GenerateDataKey*") {
			cwUse = true
		}
	}
	if !cwUse {
		t.Errorf("the alert key's policy does not let %s use it (kms:Decrypt, kms:GenerateDataKey*): alarm notifications would be dropped", CloudWatchService)
	}
	pol := only(t, tm, "AWS::SNS::TopicPolicy", "", "")
	cwPublish := false
	for _, st := range asList(pol.props["PolicyDocument"].(map[string]any)["Statement"]) {
		st := st.(map[string]any)
		pr, _ := st["Principal"].(map[string]any)
		if st["Effect"] == "Allow" && render(pr["Service"]) == CloudWatchService && slices.Contains(strs(st["Action"]), "sns:Publish") {
			cwPublish = true
			cond := st["Condition"].(map[string]any)["StringEquals"].(map[string]any)
			if got := render(cond["aws:SourceAccount"]); got != "333333333333" {
				t.Errorf("CloudWatch may publish for account %s, want only the hub 333333333333", got)
			}
		}
	}
	if !cwPublish {
		t.Errorf("the topic policy does not let %s publish", CloudWatchService)
	}
}

// With organizationId set, the bus admits the organization's forwarding rules without
// naming accounts, so a member added later needs no hub redeployment.
func TestEventBusPolicyForOrganization(t *testing.T) {
	cfg := synthesized.stacks.Config
	cfg.OrganizationID = "o-a1b2c3d4e5"
	b, err := json.Marshal(busPolicyStatement(cfg).ToStatementJson())
	if err != nil {
		t.Fatal(err)
	}
	var raw any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	st := unwrapJSIIMaps(raw).(map[string]any)
	if got := render(st["Principal"]); got != `"*"` && render(st["Principal"].(map[string]any)["AWS"]) != "*" {
		t.Errorf("principal %s, want any principal narrowed by the organization", got)
	}
	cond := st["Condition"].(map[string]any)
	if got := render(cond["StringEquals"].(map[string]any)["aws:PrincipalOrgID"]); got != "o-a1b2c3d4e5" {
		t.Errorf("aws:PrincipalOrgID %s, want o-a1b2c3d4e5", got)
	}
	want := []string{"arn:aws:events:*:*:rule/s3crr-forward-alarm-events", "arn:aws:events:*:*:rule/s3crr-forward-replication-events"}
	if got := strs(cond["ArnLike"].(map[string]any)["aws:SourceArn"]); !slices.Equal(got, want) {
		t.Errorf("aws:SourceArn %v, want %v", got, want)
	}
	if strings.Contains(string(b), "111111111111") {
		t.Errorf("the organization's bus policy names a member account: %s", b)
	}
}

// unwrapJSIIMaps removes the {"$jsii.map": ...} envelopes jsii leaves in values
// returned to Go (synthesized templates have none).
func unwrapJSIIMaps(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if inner, ok := x["$jsii.map"]; ok && len(x) == 1 {
			return unwrapJSIIMaps(inner)
		}
		for k, e := range x {
			x[k] = unwrapJSIIMaps(e)
		}
	case []any:
		for i, e := range x {
			x[i] = unwrapJSIIMaps(e)
		}
	}
	return v
}

// The organization roll-out: a service-managed StackSet with automatic deployment to the
// member OUs, whose template names no account and creates IAM only in the primary region.
func TestMemberStackSet(t *testing.T) {
	appCtx := map[string]any{}
	for k, v := range synthesized.cdkJSON {
		appCtx[k] = v
	}
	for k, v := range testContext {
		appCtx[k] = v
	}
	appCtx[CtxOrganizationID] = "o-a1b2c3d4e5"
	appCtx[CtxMemberOUs] = "ou-ab12-cdefgh34"
	appCtx[CtxOrgMemberRegions] = "ap-south-1,us-east-1"
	app := awscdk.NewApp(&awscdk.AppProps{Context: &appCtx, Outdir: jsii.String(t.TempDir())})
	cfg, err := ParseConfig(func(k string) any { return app.Node().TryGetContext(jsii.String(k)) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMemberStackSetStack(app, cfg); err != nil {
		t.Fatal(err)
	}
	// The organization's hub, in the same app (one synth), checked by cdk-nag with the
	// reviewed waivers only.
	const orgHub = "s3crr-hub-organization"
	if _, err := NewHubStack(app, orgHub, &HubStackProps{Config: cfg, BuildDir: filepath.Join(synthesized.repoRoot, DefaultBuildDir),
		StackProps: awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String(cfg.HubAccount), Region: jsii.String(cfg.HubRegion)}}}); err != nil {
		t.Fatal(err)
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Reports: jsii.Bool(false)}), nil)
	body, err := synthTemplate(app, MemberStackSetStackName)
	if err != nil {
		t.Fatal(err)
	}
	hubBody, err := synthTemplate(app, orgHub)
	if err != nil {
		t.Fatal(err)
	}
	assertOrganizationHub(t, hubBody, cfg)
	var outer map[string]any
	if err := json.Unmarshal([]byte(body), &outer); err != nil {
		t.Fatal(err)
	}
	ss := only(t, outer, "AWS::CloudFormation::StackSet", "StackSetName", MemberStackSetName)
	p := ss.props
	if render(p["PermissionModel"]) != "SERVICE_MANAGED" {
		t.Errorf("PermissionModel %s, want SERVICE_MANAGED", render(p["PermissionModel"]))
	}
	ad, _ := p["AutoDeployment"].(map[string]any)
	if render(ad["Enabled"]) != "true" {
		t.Errorf("AutoDeployment %v, want enabled", ad)
	}
	group := asList(p["StackInstancesGroup"])
	if len(group) != 1 {
		t.Fatalf("%d stack instance groups, want 1", len(group))
	}
	g := group[0].(map[string]any)
	if got := strs(g["DeploymentTargets"].(map[string]any)["OrganizationalUnitIds"]); !slices.Equal(got, []string{"ou-ab12-cdefgh34"}) {
		t.Errorf("OUs %v", got)
	}
	if got := strs(g["Regions"]); !slices.Equal(got, []string{"ap-south-1", "us-east-1"}) {
		t.Errorf("regions %v", got)
	}

	raw := render(p["TemplateBody"])
	var member map[string]any
	if err := json.Unmarshal([]byte(raw), &member); err != nil {
		t.Fatalf("TemplateBody is not JSON: %v", err)
	}
	// The template names no account: its own is AWS::AccountId everywhere, and the
	// boundary pins replica writes to the organization (aws:ResourceOrgID), not to a
	// list of members that would go stale as accounts join.
	for _, acct := range []string{"111111111111", "222222222222"} {
		if strings.Contains(raw, acct) {
			t.Errorf("the member template names account %s; it must use AWS::AccountId and the organization", acct)
		}
	}
	if !orgCondition.MatchString(raw) {
		t.Errorf("the member template's boundary does not pin replica writes to the organization (aws:ResourceOrgID)")
	}
	if !strings.Contains(raw, `{"Ref":"AWS::AccountId"}`) {
		t.Errorf("the member template does not use AWS::AccountId")
	}
	params, _ := member["Parameters"].(map[string]any)
	if _, ok := params["BootstrapVersion"]; ok {
		t.Errorf("the member template needs a CDK bootstrap parameter, which StackSet instances do not have")
	}
	conds, _ := member["Conditions"].(map[string]any)
	cond, ok := conds["IsPrimaryRegion"]
	if !ok || !strings.Contains(render(cond), "ap-south-1") {
		t.Errorf("no IsPrimaryRegion condition on ap-south-1: %v", member["Conditions"])
	}
	iam := 0
	for id, v := range member["Resources"].(map[string]any) {
		r := v.(map[string]any)
		if r["Type"] == "AWS::IAM::ManagedPolicy" || (r["Type"] == "AWS::IAM::Role" && r["Properties"].(map[string]any)["RoleName"] == "s3crr-provisioner") {
			iam++
			if r["Condition"] != "IsPrimaryRegion" {
				t.Errorf("%s is created in every region (Condition %v); the second region would fail on the same name", id, r["Condition"])
			}
		}
	}
	if iam != 2 {
		t.Errorf("%d provisioner IAM resources, want the role and the boundary", iam)
	}
	if len(raw) > maxTemplateBody {
		t.Errorf("the member template is %d bytes, over the inline limit", len(raw))
	}
}

// orgCondition is the test organization in an aws:ResourceOrgID condition, as a value or
// a one-element list.
var orgCondition = regexp.MustCompile(`"aws:ResourceOrgID":\[?"o-a1b2c3d4e5"`)

// assertOrganizationHub checks the hub of an organization deployment: the provision
// Lambda may assume the provisioner role of any account of the organization, by
// aws:ResourceOrgID, and its policy names no member account, so a new member account
// needs no hub redeploy.
func assertOrganizationHub(t *testing.T, body string, cfg Config) {
	t.Helper()
	var tm map[string]any
	if err := json.Unmarshal([]byte(body), &tm); err != nil {
		t.Fatal(err)
	}
	role := only(t, tm, "AWS::IAM::Role", "RoleName", names.ProvisionFunctionRoleName)
	doc := render(role.props["Policies"])
	for _, want := range []string{`arn:aws:iam::*:role/` + cfg.ProvisionerRoleName, `"sts:ExternalId"`} {
		if !strings.Contains(doc, want) {
			t.Errorf("the provision Lambda's policy lacks %s:\n%s", want, doc)
		}
	}
	if !orgCondition.MatchString(doc) {
		t.Errorf("the provision Lambda's sts:AssumeRole is not scoped by aws:ResourceOrgID:\n%s", doc)
	}
	for _, acct := range cfg.MemberAccounts() {
		if strings.Contains(doc, acct) {
			t.Errorf("the organization hub's provision policy names member account %s", acct)
		}
	}
}
