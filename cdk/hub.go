package cdk

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/statemachine"
)

// HubStackProps configures the hub stack.
type HubStackProps struct {
	awscdk.StackProps
	// Config is the validated deployment configuration.
	Config Config
	// BuildDir holds the Lambda binaries as <BuildDir>/<function>/bootstrap.
	BuildDir string
}

// HubStack is the automation account's stack: the provision state machine and its
// Lambda, the encrypted alert topic, the pairs table, the s3crr-events bus, and the
// replication monitor that bus feeds (monitor.go).
type HubStack struct {
	awscdk.Stack
	// Functions are the hub Lambdas by name ("provision", "monitor").
	Functions map[string]awslambda.Function
	// ProvisionStateMachine runs statemachine/provision.asl.json.
	ProvisionStateMachine awsstepfunctions.StateMachine
	// DestroyStateMachine runs statemachine/destroy.asl.json (destroy.go).
	DestroyStateMachine awsstepfunctions.StateMachine
	// RedriveStateMachine runs statemachine/redrive.asl.json (redrive.go).
	RedriveStateMachine awsstepfunctions.StateMachine
	// AlertKey encrypts AlertTopic.
	AlertKey awskms.Key
	// AlertTopic receives failure alerts.
	AlertTopic awssns.Topic
	// PairsTable registers provisioned pairs.
	PairsTable awsdynamodb.Table
	// EventBus receives the member accounts' replication and alarm events.
	EventBus awsevents.EventBus
	// VerifyStateMachine runs statemachine/verify.asl.json, nightly and on demand.
	VerifyStateMachine awsstepfunctions.StateMachine
	// ExecutionAlarms fire on executions of every s3crr state machine that end without
	// reaching the ASL's own failure alert (by state machine name, then metric name:
	// ExecutionsFailed, ExecutionsTimedOut, ExecutionsAborted).
	ExecutionAlarms map[string]map[string]awscloudwatch.Alarm
	// DedupTable is the monitor's de-duplication table (monitor.go).
	DedupTable awsdynamodb.Table
	// LeaseTable holds the provision Lambda's document leases (lease.go).
	LeaseTable awsdynamodb.Table
	// MonitorRules feed the monitor from EventBus; MonitorDLQ holds what it did not handle.
	MonitorRules []awsevents.Rule
	MonitorDLQ   awssqs.Queue
}

// NewHubStack builds the hub stack.
func NewHubStack(scope constructs.Construct, id string, props *HubStackProps) (*HubStack, error) {
	cfg := props.Config
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	h := &HubStack{Stack: stack, Functions: map[string]awslambda.Function{}}

	// The topic's key: customer managed so its use can be limited to SNS in this
	// region for this topic (policy.HubParams grants it that way to every publisher).
	// The default key policy delegates to IAM in this account, which is what lets those
	// identity policies take effect; no other account is named in it.
	h.AlertKey = awskms.NewKey(stack, jsii.String("AlertKey"), &awskms.KeyProps{
		Description:       jsii.String("s3crr: encrypts the " + names.AlertTopicName + " SNS topic"),
		EnableKeyRotation: jsii.Bool(true),
		// Kept when the stack is deleted or the key replaced (messages encrypted with it
		// may still be in flight), but deleted when the first deployment rolls back:
		// docs/aws-facts.md#F-CFN-RETENTION.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	// CloudWatch publishes the execution alarms to the topic and needs the key for it;
	// without this statement every alarm notification is dropped, silently
	// (docs/aws-facts.md#F-SNS-LIMITS).
	h.AlertKey.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("s3crrCloudWatchAlarmsPublish"),
		Effect:     awsiam.Effect_ALLOW,
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(CloudWatchService), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
	}), nil)
	h.AlertTopic = awssns.NewTopic(stack, jsii.String("AlertTopic"), &awssns.TopicProps{
		TopicName:   jsii.String(names.AlertTopicName),
		DisplayName: jsii.String("s3crr alerts"),
		MasterKey:   h.AlertKey,
		// Adds a topic policy denying every request without TLS (aws:SecureTransport).
		EnforceSSL: jsii.Bool(true),
	})
	if cfg.AlertEmail != "" {
		h.AlertTopic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.AlertEmail), nil))
	}

	h.PairsTable = awsdynamodb.NewTable(stack, jsii.String("PairsTable"), &awsdynamodb.TableProps{
		TableName:    jsii.String(names.PairsTableName),
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(names.PairsTableKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		// The AWS managed key: encrypted at rest with a key whose use CloudTrail records,
		// and usable by any principal DynamoDB authorizes, so the state machine and the
		// monitor need no extra KMS grant.
		Encryption:         awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection: jsii.Bool(true),
		// A fixed name: plain RETAIN would keep the table after a failed first deployment
		// and make the retry fail with "already exists" (docs/aws-facts.md#F-CFN-RETENTION).
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})

	h.EventBus = awsevents.NewEventBus(stack, jsii.String("EventBus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(names.EventBusName),
		Description:  jsii.String("s3crr: replication failure and alarm events forwarded from the member accounts"),
	})
	h.EventBus.AddToResourcePolicy(busPolicyStatement(cfg))

	h.DedupTable = newDedupTable(stack)
	h.LeaseTable = newLeaseTable(stack)

	hp := policy.HubParams{
		Region:              cfg.HubRegion,
		MemberAccounts:      cfg.MemberAccounts(),
		OrganizationID:      cfg.OrganizationID,
		ProvisionerRoleName: cfg.ProvisionerRoleName,
		ExternalID:          cfg.ExternalID,
		TopicARN:            *h.AlertTopic.TopicArn(),
		TopicKeyARN:         *h.AlertKey.KeyArn(),
		TableARN:            *h.PairsTable.TableArn(),
		DedupTableARN:       *h.DedupTable.TableArn(),
		LeaseTableARN:       *h.LeaseTable.TableArn(),
	}
	if err := hp.Validate(); err != nil {
		return nil, fmt.Errorf("hub policy parameters: %w", err)
	}
	var invoked []string
	for _, spec := range hubFunctions {
		fn := newGoFunction(stack, spec, props.BuildDir, cfg, hp)
		h.Functions[spec.name] = fn
		if spec.invokedByStateMachine {
			invoked = append(invoked, *fn.FunctionArn())
		}
	}
	h.addMonitorRoute(h.Functions[names.MonitorFunctionDir])
	smParams := hp
	smParams.FunctionARNs = invoked

	sm, err := newProvisionStateMachine(stack, h, smParams)
	if err != nil {
		return nil, err
	}
	h.ProvisionStateMachine = sm
	if h.DestroyStateMachine, err = newDestroyStateMachine(stack, h, smParams); err != nil {
		return nil, err
	}
	if h.RedriveStateMachine, err = newRedriveStateMachine(stack, h, smParams); err != nil {
		return nil, err
	}
	if err := addVerification(stack, h, cfg); err != nil {
		return nil, err
	}
	h.ExecutionAlarms = addExecutionAlarms(stack, h.AlertTopic, cfg, []alarmedStateMachine{
		{"Provision", names.ProvisionStateMachineName, sm},
		{"Destroy", names.DestroyStateMachineName, h.DestroyStateMachine},
		{"Redrive", names.RedriveStateMachineName, h.RedriveStateMachine},
		{"Verify", names.VerifyStateMachineName, h.VerifyStateMachine},
	})

	out := func(id, desc string, v *string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: v, Description: jsii.String(desc)})
	}
	out("ProvisionStateMachineArn", "Start an execution here with a pair request (crr apply, or the Step Functions console)", sm.StateMachineArn())
	out("DestroyStateMachineArn", "Tear a pair down (crr destroy)", h.DestroyStateMachine.StateMachineArn())
	out("RedriveStateMachineArn", "Re-drive a registered pair's FAILED objects with S3 Batch Replication (crr redrive)", h.RedriveStateMachine.StateMachineArn())
	out("AlertTopicArn", "Failure alerts; subscribe people or chat integrations here", h.AlertTopic.TopicArn())
	out("PairsTableName", "Registered replication pairs", h.PairsTable.TableName())
	out("EventBusArn", "Member accounts forward replication and alarm events here", h.EventBus.EventBusArn())
	out("DedupTableName", "The monitor's alert windows and counts (crr status reads them)", h.DedupTable.TableName())
	return h, nil
}

// busPolicyStatement admits events only through s3crr's forwarding rules (EventBridge
// sets aws:SourceArn to the sending rule, as in AWS's cross-account bus examples), and
// only from the member accounts: listed by account, or, when organizationId is set, any
// account of the organization (aws:PrincipalOrgID, the condition EventBridge documents
// for bus policies), so that a member added to the organization's member OU needs no
// hub redeployment (docs/aws-facts.md#F-EB-ORG-POLICY).
func busPolicyStatement(cfg Config) awsiam.PolicyStatement {
	props := &awsiam.PolicyStatementProps{
		Sid:       jsii.String("s3crrMemberForwardingRules"),
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("events:PutEvents"),
		Resources: jsii.Strings(HubEventBusARN(cfg)),
	}
	if cfg.OrganizationID != "" {
		props.Principals = &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()}
		props.Conditions = &map[string]any{
			"StringEquals": map[string]any{"aws:PrincipalOrgID": cfg.OrganizationID},
			"ArnLike":      map[string]any{"aws:SourceArn": ForwardRuleARNPatterns()},
		}
		return awsiam.NewPolicyStatement(props)
	}
	principals := make([]awsiam.IPrincipal, 0, len(cfg.Members))
	for _, a := range cfg.MemberAccounts() {
		principals = append(principals, awsiam.NewArnPrincipal(jsii.String(policy.AccountRootARN(a))))
	}
	props.Principals = &principals
	props.Conditions = &map[string]any{
		"ArnEquals": map[string]any{"aws:SourceArn": ForwardRuleARNs(cfg)},
	}
	return awsiam.NewPolicyStatement(props)
}

// newProvisionStateMachine deploys statemachine/provision.asl.json unchanged, with
// CloudFormation filling in the ${...} placeholders (DefinitionSubstitutions), so the
// synthesized template shows the exact definition the local run executes.
//
// The run ends with the nightly verification of the new pair, the verify ASL's per-pair
// states invoking the verify Lambda (inlined rather than a nested .sync execution: no
// EventBridge managed-rule permissions, and the same states run locally;
// docs/aws-facts.md#F-SFN-NESTED-SYNC), so this machine alone also substitutes and may
// invoke the verify Lambda.
func newProvisionStateMachine(stack awscdk.Stack, h *HubStack, hp policy.HubParams) (awsstepfunctions.StateMachine, error) {
	verifyFn := h.Functions[names.VerifyFunctionDir].FunctionArn()
	subs := h.provisionSubstitutions()
	subs[statemachine.VerifyFunctionArn] = verifyFn
	hp.FunctionARNs = append(slices.Clone(hp.FunctionARNs), *verifyFn)
	return newHubStateMachine(stack, hubStateMachine{
		id: "Provision", asl: statemachine.Provision, name: names.ProvisionStateMachineName,
		subs:   subs,
		policy: policy.StateMachinePolicy(hp),
	})
}

// provisionSubstitutions fill the placeholders the provision, destroy and redrive ASLs
// share: the provision Lambda (which runs every stage), the alert topic, the pairs table.
func (h *HubStack) provisionSubstitutions() map[string]*string {
	return map[string]*string{
		statemachine.ProvisionFunctionArn: h.Functions[names.ProvisionFunctionDir].FunctionArn(),
		statemachine.AlertTopicArn:        h.AlertTopic.TopicArn(),
		statemachine.PairsTableName:       h.PairsTable.TableName(),
	}
}

// hubStateMachine describes one of the hub's state machines: id prefixes its construct
// IDs (<id>StateMachine, <id>StateMachineRole, <id>StateMachineLogs, as first deployed),
// asl names its file in statemachine/, policy is its role's only policy.
type hubStateMachine struct {
	id, asl, name string
	subs          map[string]*string
	policy        policy.Document
}

// newHubStateMachine deploys an ASL from statemachine/ unchanged, CloudFormation filling
// its ${...} placeholders, with a role of its own (its policy from internal/policy) and a
// log group that keeps execution data out of the logs. Synth fails, not the first
// execution, if the ASL has a placeholder the stack does not fill (or the other way round).
func newHubStateMachine(stack awscdk.Stack, d hubStateMachine) (awsstepfunctions.StateMachine, error) {
	raw, err := statemachine.Raw(d.asl)
	if err != nil {
		return nil, fmt.Errorf("%s state machine: %w", d.asl, err)
	}
	want, err := statemachine.Placeholders(d.asl)
	if err != nil {
		return nil, fmt.Errorf("%s state machine: %w", d.asl, err)
	}
	have := make([]string, 0, len(d.subs))
	for k := range d.subs {
		have = append(have, k)
	}
	sort.Strings(have)
	if fmt.Sprint(want) != fmt.Sprint(have) {
		return nil, fmt.Errorf("%s state machine: the ASL has placeholders %v, the stack substitutes %v", d.asl, want, have)
	}
	role := awsiam.NewRole(stack, jsii.String(d.id+"StateMachineRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("states.amazonaws.com"), nil),
		Description: jsii.String("s3crr " + d.asl + " state machine; its policy comes from internal/policy"),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			names.StateMachinePolicyName: awsiam.PolicyDocument_FromJson(jsonValue(d.policy.JSON())),
		},
	})
	logs := awslogs.NewLogGroup(stack, jsii.String(d.id+"StateMachineLogs"), &awslogs.LogGroupProps{
		// The /aws/vendedlogs/ prefix keeps Step Functions from adding a statement per
		// log group to the account's CloudWatch Logs resource policy (size-limited).
		LogGroupName:  jsii.String("/aws/vendedlogs/states/" + d.name),
		Retention:     LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	sm := awsstepfunctions.NewStateMachine(stack, jsii.String(d.id+"StateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineName:        jsii.String(d.name),
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(string(raw))),
		DefinitionSubstitutions: &d.subs,
		Role:                    role,
		Logs: &awsstepfunctions.LogOptions{
			Destination: logs,
			Level:       awsstepfunctions.LogLevel_ALL,
			// Execution data holds pair requests and every ARN; the execution history
			// already has it for those allowed to read it.
			IncludeExecutionData: jsii.Bool(false),
		},
		TracingEnabled: jsii.Bool(true),
	})
	waive(role, iam5Waiver(
		"Logging to CloudWatch Logs needs logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies and DescribeLogGroups on \"*\" (Step Functions' documented log-delivery policy: these calls support no resource-level permissions); tracing adds X-Ray's trace and sampling calls, which support none either.",
		"",
		findingAnyResource,
	))
	return sm, nil
}

// executionAlarmMetrics are the AWS/States metrics of executions that end without the
// ASL's NotifyFailure: the run-wide timeout, a failure in a Pass or Choice state or in
// NotifyFailure itself, and a stop from the console or API
// (docs/aws-facts.md#F-SFN-EXECUTION-METRICS).
var executionAlarmMetrics = []string{"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}

// alarmedStateMachine is a state machine whose failed, timed-out and aborted executions
// alarm: id prefixes the alarms' construct IDs ("Provision" keeps the IDs the first
// release deployed, so an update does not replace those alarms).
type alarmedStateMachine struct {
	id, name string
	sm       awsstepfunctions.StateMachine
}

// addExecutionAlarms alarms on every execution of the given state machines that fails,
// times out or is aborted, and sends the alarm to the alert topic. A failure the ASL
// handles is alerted twice (its own alert and the alarm); one it does not handle is
// alerted once, instead of never.
func addExecutionAlarms(stack awscdk.Stack, topic awssns.ITopic, cfg Config, machines []alarmedStateMachine) map[string]map[string]awscloudwatch.Alarm {
	// The topic policy (EnforceSSL) replaces SNS's default one, so CloudWatch gets its
	// publish right here, only for this account's alarms.
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("s3crrCloudWatchAlarms"),
		Effect:     awsiam.Effect_ALLOW,
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(CloudWatchService), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": cfg.HubAccount},
		},
	}))
	action := awscloudwatchactions.NewSnsAction(topic)
	out := map[string]map[string]awscloudwatch.Alarm{}
	for _, m := range machines {
		out[m.name] = map[string]awscloudwatch.Alarm{}
		for _, name := range executionAlarmMetrics {
			metric := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace:     jsii.String("AWS/States"),
				MetricName:    jsii.String(name),
				DimensionsMap: &map[string]*string{"StateMachineArn": m.sm.StateMachineArn()},
				Statistic:     jsii.String("Sum"),
				Period:        awscdk.Duration_Minutes(jsii.Number(5)),
			})
			alarm := awscloudwatch.NewAlarm(stack, jsii.String(m.id+"Alarm-"+name), &awscloudwatch.AlarmProps{
				AlarmDescription: jsii.String("s3crr: an execution of " + m.name + " ended with " + name + "; open it in the Step Functions console, or run crr status <pair-id>"),
				Metric:           metric,
				Threshold:        jsii.Number(1),
				// One period: a single failed run is worth a message.
				EvaluationPeriods:  jsii.Number(1),
				ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
				// No executions means no data, which is not a failure.
				TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
			})
			alarm.AddAlarmAction(action)
			out[m.name][name] = alarm
		}
	}
	return out
}

// jsonValue decodes rendered JSON into the generic value CDK constructs take. The
// documents come from internal/policy, which only renders valid JSON.
func jsonValue(b []byte) any {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		panic(fmt.Sprintf("cdk: decode rendered policy: %v", err))
	}
	return v
}
