package cdk

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// resourceID returns the logical ID of the only typ resource with key=want.
func resourceID(t *testing.T, tm map[string]any, typ, key, want string) string {
	t.Helper()
	return only(t, tm, typ, key, want).id
}

// The monitor Lambda runs like the provision Lambda and is configured with the names the
// monitor reads (internal/monitor ConfigFromEnv).
func TestMonitorFunction(t *testing.T) {
	tm := tmpl(t, names.HubStackName)
	fn := only(t, tm, "AWS::Lambda::Function", "FunctionName", names.MonitorFunctionName)
	if render(fn.props["Runtime"]) != "provided.al2023" || !slices.Equal(strs(fn.props["Architectures"]), []string{"arm64"}) || render(fn.props["Handler"]) != "bootstrap" {
		t.Errorf("runtime %v %v %v, want provided.al2023 arm64 bootstrap", fn.props["Runtime"], fn.props["Architectures"], fn.props["Handler"])
	}
	vars := fn.props["Environment"].(map[string]any)["Variables"].(map[string]any)
	topic := resourceID(t, tm, "AWS::SNS::Topic", "TopicName", names.AlertTopicName)
	want := map[string]string{"PAIRS_TABLE_NAME": names.PairsTableName, "DEDUP_TABLE_NAME": names.DedupTableName, "ALERT_TOPIC_ARN": "${" + topic + "}"}
	for k, v := range want {
		if got := render(vars[k]); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(vars) != len(want) {
		t.Errorf("environment %v, want exactly %v", vars, want)
	}
}

// The monitor's role holds exactly policy.ReplicationMonitorPolicy (with the stack's
// topic, key and tables) and, besides its logs and X-Ray, only sqs:SendMessage on its
// own dead-letter queue (the asynchronous invocations' on-failure destination).
func TestMonitorRole(t *testing.T) {
	tm := tmpl(t, names.HubStackName)
	fn := only(t, tm, "AWS::Lambda::Function", "FunctionName", names.MonitorFunctionName)
	roleID := strings.TrimSuffix(strings.TrimPrefix(render(fn.props["Role"]), "${"), ".Arn}")
	dlq := resourceID(t, tm, "AWS::SQS::Queue", "QueueName", names.MonitorDLQName)
	topic := resourceID(t, tm, "AWS::SNS::Topic", "TopicName", names.AlertTopicName)
	dedup := resourceID(t, tm, "AWS::DynamoDB::Table", "TableName", names.DedupTableName)
	pairs := resourceID(t, tm, "AWS::DynamoDB::Table", "TableName", names.PairsTableName)
	key := resourceID(t, tm, "AWS::KMS::Key", "", "")
	wantDoc := policy.ReplicationMonitorPolicy(policy.HubParams{
		Region: "eu-central-1", TopicARN: "${" + topic + "}", TopicKeyARN: "${" + key + ".Arn}", TableARN: "${" + pairs + ".Arn}",
	}, "${"+dedup+".Arn}")
	want := map[string]policy.Statement{}
	for _, st := range wantDoc.Statement {
		want[st.Sid] = st
	}
	seen := map[string]bool{}
	for _, st := range roleStatements(t, tm, roleID) {
		sid, _ := st["Sid"].(string)
		actions, resources := strs(st["Action"]), strs(st["Resource"])
		if w, ok := want[sid]; ok {
			seen[sid] = true
			if !slices.Equal(actions, sorted(w.Action)) || !slices.Equal(resources, sorted(w.Resource)) {
				t.Errorf("%s: %v on %v, want %v on %v", sid, actions, resources, w.Action, w.Resource)
			}
			got := map[string]map[string][]string{}
			for op, keys := range asMap(st["Condition"]) {
				got[op] = map[string][]string{}
				for k, v := range asMap(keys) {
					got[op][k] = strs(v)
				}
			}
			wantCond := map[string]map[string][]string{}
			for op, keys := range w.Condition {
				wantCond[op] = map[string][]string{}
				for k, v := range keys {
					wantCond[op][k] = sorted(v)
				}
			}
			if g, w := mustJSON(got), mustJSON(wantCond); g != w {
				t.Errorf("%s: condition %s, want %s", sid, g, w)
			}
			continue
		}
		switch {
		case slices.Equal(actions, []string{"logs:CreateLogStream", "logs:PutLogEvents"}):
		case slices.Equal(actions, []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"}):
		case sid == "MonitorFailuresToDLQ" && slices.Equal(actions, []string{"sqs:SendMessage"}) && slices.Equal(resources, []string{"${" + dlq + ".Arn}"}):
		default:
			t.Errorf("unexpected statement %v", st)
		}
	}
	for sid := range want {
		if !seen[sid] {
			t.Errorf("the role lacks %s", sid)
		}
	}
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// The de-duplication table: the key and TTL attribute the monitor writes, recoverable,
// encrypted, and kept when the stack goes, like the pairs table.
func TestDedupTable(t *testing.T) {
	tm := tmpl(t, names.HubStackName)
	tbl := only(t, tm, "AWS::DynamoDB::Table", "TableName", names.DedupTableName)
	if got := render(tbl.props["KeySchema"]); got != `[{"AttributeName":"`+names.DedupTableKey+`","KeyType":"HASH"}]` {
		t.Errorf("key schema %s", got)
	}
	if got := render(tbl.props["TimeToLiveSpecification"]); got != `{"AttributeName":"`+names.DedupTTLAttribute+`","Enabled":true}` {
		t.Errorf("TTL %s", got)
	}
	if got := render(tbl.props["PointInTimeRecoverySpecification"]); !strings.Contains(got, `"PointInTimeRecoveryEnabled":true`) {
		t.Errorf("point-in-time recovery %s", got)
	}
	if got := render(tbl.props["SSESpecification"]); !strings.Contains(got, `"SSEEnabled":true`) {
		t.Errorf("encryption %s", got)
	}
	r := tm["Resources"].(map[string]any)[tbl.id].(map[string]any)
	if r["DeletionPolicy"] != "RetainExceptOnCreate" || r["UpdateReplacePolicy"] != "Retain" || tbl.props["DeletionProtectionEnabled"] != true {
		t.Errorf("deletion policy %v / %v, protection %v; want the pairs table's", r["DeletionPolicy"], r["UpdateReplacePolicy"], tbl.props["DeletionProtectionEnabled"])
	}
}

// Two rules on the hub bus (replication events, s3crr's alarm state changes) target the
// monitor with the retry policy and the dead-letter queue; the queue accepts messages
// from exactly those rules; the monitor's asynchronous failures end there too; an alarm on
// its depth goes straight to the alert topic, whose key lets CloudWatch publish.
func TestMonitorRoute(t *testing.T) {
	tm := tmpl(t, names.HubStackName)
	fn := resourceID(t, tm, "AWS::Lambda::Function", "FunctionName", names.MonitorFunctionName)
	dlq := resourceID(t, tm, "AWS::SQS::Queue", "QueueName", names.MonitorDLQName)
	bus := resourceID(t, tm, "AWS::Events::EventBus", "Name", names.EventBusName)
	topic := resourceID(t, tm, "AWS::SNS::Topic", "TopicName", names.AlertTopicName)
	var ruleARNs []string
	for name, pattern := range map[string]string{
		names.MonitorReplicationRuleName: `{"detail-type":["` + names.ReplicationEventDetailType + `"],"source":["` + names.ReplicationEventSource + `"]}`,
		names.MonitorAlarmRuleName:       `{"detail":{"alarmName":[{"prefix":"` + names.AlarmNamePrefix + `"}]},"detail-type":["` + names.AlarmDetailType + `"],"source":["` + names.AlarmEventSource + `"]}`,
	} {
		rule := only(t, tm, "AWS::Events::Rule", "Name", name)
		ruleARNs = append(ruleARNs, "${"+rule.id+".Arn}")
		if render(rule.props["EventBusName"]) != "${"+bus+"}" {
			t.Errorf("%s is on %v, want the hub bus", name, rule.props["EventBusName"])
		}
		if !jsonEqual(t, rule.props["EventPattern"], []byte(pattern)) {
			t.Errorf("%s pattern %s, want %s", name, render(rule.props["EventPattern"]), pattern)
		}
		targets := asList(rule.props["Targets"])
		if len(targets) != 1 {
			t.Fatalf("%s has %d targets", name, len(targets))
		}
		tg := targets[0].(map[string]any)
		if render(tg["Arn"]) != "${"+fn+".Arn}" || render(tg["DeadLetterConfig"]) != `{"Arn":{"Fn::GetAtt":["`+dlq+`","Arn"]}}` ||
			render(tg["RetryPolicy"]) != `{"MaximumEventAgeInSeconds":86400,"MaximumRetryAttempts":185}` {
			t.Errorf("%s target %v: want the monitor, its DLQ and the retry policy", name, tg)
		}
	}
	slices.Sort(ruleARNs)

	qp := only(t, tm, "AWS::SQS::QueuePolicy", "Queues", `[{"Ref":"`+dlq+`"}]`)
	var senders []string
	for _, s := range asList(qp.props["PolicyDocument"].(map[string]any)["Statement"]) {
		st := s.(map[string]any)
		if st["Effect"] != "Allow" {
			continue
		}
		if render(st["Principal"]) != `{"Service":"events.amazonaws.com"}` || render(st["Action"]) != "sqs:SendMessage" {
			t.Errorf("DLQ policy allows %v to %v", st["Principal"], st["Action"])
		}
		eq, _ := st["Condition"].(map[string]any)["ArnEquals"].(map[string]any)
		senders = append(senders, render(eq["aws:SourceArn"]))
	}
	slices.Sort(senders)
	if !slices.Equal(senders, ruleARNs) {
		t.Errorf("the DLQ accepts events from %v, want exactly the monitor rules %v", senders, ruleARNs)
	}

	inv := only(t, tm, "AWS::Lambda::EventInvokeConfig", "FunctionName", "${"+fn+"}")
	if got := render(inv.props["DestinationConfig"]); got != `{"OnFailure":{"Destination":{"Fn::GetAtt":["`+dlq+`","Arn"]}}}` || render(inv.props["MaximumRetryAttempts"]) != "2" {
		t.Errorf("asynchronous invocation config %v, want two retries then the DLQ", inv.props)
	}

	alarm := only(t, tm, "AWS::CloudWatch::Alarm", "AlarmName", names.MonitorDLQAlarmName)
	if render(alarm.props["Dimensions"]) != `[{"Name":"QueueName","Value":{"Fn::GetAtt":["`+dlq+`","QueueName"]}}]` ||
		render(alarm.props["MetricName"]) != "ApproximateNumberOfMessagesVisible" || render(alarm.props["Threshold"]) != "0" {
		t.Errorf("DLQ alarm %v: want the DLQ's visible messages above 0", alarm.props)
	}
	if got := strs(alarm.props["AlarmActions"]); !slices.Equal(got, []string{"${" + topic + "}"}) {
		t.Errorf("DLQ alarm actions %v, want the alert topic", got)
	}

	// The alert key: the account (so the state machine's and the monitor's role policies
	// apply) and CloudWatch for the alarm action; no other principal.
	key := only(t, tm, "AWS::KMS::Key", "", "")
	var principals []string
	for _, s := range asList(key.props["KeyPolicy"].(map[string]any)["Statement"]) {
		st := s.(map[string]any)
		p := render(st["Principal"])
		principals = append(principals, p)
		if strings.Contains(p, "cloudwatch.amazonaws.com") && !slices.Equal(strs(st["Action"]), []string{"kms:Decrypt", "kms:GenerateDataKey*"}) {
			t.Errorf("CloudWatch may %v with the alert key, want Decrypt and GenerateDataKey*", st["Action"])
		}
	}
	if len(principals) != 2 || !slices.ContainsFunc(principals, func(p string) bool { return strings.Contains(p, ":iam::333333333333:root") }) ||
		!slices.Contains(principals, `{"Service":"cloudwatch.amazonaws.com"}`) {
		t.Errorf("alert key principals %v, want the hub account and cloudwatch.amazonaws.com", principals)
	}
}

// Each member region alarms on its events DLQ, named so that the alarm forwarding rule
// carries its state change to the hub (where the monitor alerts on it).
func TestMemberEventsDLQAlarm(t *testing.T) {
	for _, stack := range stackNames() {
		if stack == names.HubStackName {
			continue
		}
		tm := tmpl(t, stack)
		dlq := resourceID(t, tm, "AWS::SQS::Queue", "QueueName", names.EventsDLQName)
		alarm := only(t, tm, "AWS::CloudWatch::Alarm", "AlarmName", names.EventsDLQAlarmName)
		if render(alarm.props["Dimensions"]) != `[{"Name":"QueueName","Value":{"Fn::GetAtt":["`+dlq+`","QueueName"]}}]` ||
			render(alarm.props["ComparisonOperator"]) != "GreaterThanThreshold" || render(alarm.props["Threshold"]) != "0" {
			t.Errorf("%s: alarm %v, want the events DLQ's depth above 0", stack, alarm.props)
		}
		if !strings.HasPrefix(names.EventsDLQAlarmName, names.AlarmNamePrefix) {
			t.Errorf("%s does not start with %s: the forwarding rule would not carry it", names.EventsDLQAlarmName, names.AlarmNamePrefix)
		}
	}
}

// The lease table: the key and TTL attribute internal/lease writes, on demand, encrypted,
// kept like the other fixed-name tables.
func TestLeaseTable(t *testing.T) {
	tm := tmpl(t, names.HubStackName)
	tbl := only(t, tm, "AWS::DynamoDB::Table", "TableName", names.LeaseTableName)
	if got := render(tbl.props["KeySchema"]); got != `[{"AttributeName":"`+names.LeaseTableKey+`","KeyType":"HASH"}]` {
		t.Errorf("key schema %s", got)
	}
	if got := render(tbl.props["TimeToLiveSpecification"]); got != `{"AttributeName":"`+names.LeaseTTLAttribute+`","Enabled":true}` {
		t.Errorf("TTL %s", got)
	}
	if got := render(tbl.props["BillingMode"]); got != "PAY_PER_REQUEST" {
		t.Errorf("billing mode %s, want on demand", got)
	}
	if got := render(tbl.props["SSESpecification"]); !strings.Contains(got, `"SSEEnabled":true`) {
		t.Errorf("encryption %s", got)
	}
}
