package cdk

import (
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// LogRetention is how long every s3crr log group keeps its events.
const LogRetention = awslogs.RetentionDays_THREE_MONTHS

// hubFunction describes one Go Lambda of the hub. Adding a Lambda (docs/architecture.md,
// "Where to change what") is one more entry in hubFunctions: its binary is built to
// build/<name>/bootstrap by BuildLambdas before every synth, its role gets exactly its policy from
// internal/policy, and the helper below fixes everything else.
type hubFunction struct {
	// name is the directory under functions/ and build/; the function is names.FunctionName(name).
	name string
	// roleName is a fixed role name when other accounts trust the role by ARN.
	roleName string
	// policy is the function's only permission besides logs and X-Ray.
	policy func(policy.HubParams) policy.Document
	// env is the function's configuration (see functions/<name>/main.go); the hub
	// parameters carry the ARNs of the stack's own resources.
	env func(Config, policy.HubParams) map[string]string
	// invokedByStateMachine adds the function to the state machines' invoke permission.
	invokedByStateMachine bool
	timeout               time.Duration
	memoryMB              float64
	description           string
}

// hubFunctions are the hub's Lambdas. A new Lambda is added here together with its
// policy builder in internal/policy, its requirements in internal/policy's table and,
// if member provisioner roles must trust it, its role name in HubRoleARNs.
var hubFunctions = []hubFunction{{
	name:     names.ProvisionFunctionDir,
	roleName: names.ProvisionFunctionRoleName,
	policy:   policy.ProvisionFunctionPolicy,
	env: func(c Config, _ policy.HubParams) map[string]string {
		env := map[string]string{
			"PROVISIONER_ROLE_NAME":      c.ProvisionerRoleName,
			"EXTERNAL_ID":                c.ExternalID,
			"BOUNDARY_POLICY_ARN_FORMAT": names.BoundaryPolicyARNFormat,
			"EVENTS_QUEUE_NAME":          names.EventsQueueName,
			// The deployment's scope, so the Lambda refuses an out-of-scope bucket or
			// alias before any call ("*" when the deployment chose every bucket).
			names.EnvBucketNamePrefix: c.BucketNamePrefixSetting(),
			names.EnvKMSAliasPrefix:   c.KMSAliasPrefix,
			names.EnvLeaseTable:       names.LeaseTableName,
			// Teardown reads the registry to tell whether other pairs still use a shared
			// destination grant.
			names.EnvPairsTable: names.PairsTableName,
		}
		if c.OrganizationID != "" {
			// The shared destination grants then name the organization, not each account.
			env[names.EnvOrganizationID] = c.OrganizationID
		}
		return env
	},
	invokedByStateMachine: true,
	// A stage makes a handful of AWS calls in two accounts; the ASL gives each task 300 s.
	timeout:     2 * time.Minute,
	memoryMB:    256,
	description: "s3crr provision: one idempotent stage of the provision state machine per invocation",
}, {
	name: names.MonitorFunctionDir,
	policy: func(h policy.HubParams) policy.Document {
		return policy.ReplicationMonitorPolicy(h, h.DedupTableARN)
	},
	env: func(_ Config, h policy.HubParams) map[string]string {
		// The monitor's variables (internal/monitor ConfigFromEnv); ALERT_WINDOW keeps
		// its default of one alert per pair and reason per hour.
		return map[string]string{
			"PAIRS_TABLE_NAME": names.PairsTableName,
			"DEDUP_TABLE_NAME": names.DedupTableName,
			"ALERT_TOPIC_ARN":  h.TopicARN,
		}
	},
	// One event per invocation: a pair look-up, three DynamoDB writes and a publish.
	timeout:     30 * time.Second,
	memoryMB:    256,
	description: "s3crr monitor: turns S3 replication failure events and alarm state changes into de-duplicated SNS alerts",
}, verifyFunction()}

// newGoFunction creates a Go Lambda the one way s3crr runs them: provided.al2023 on
// arm64 from <buildDir>/<name>/bootstrap, active tracing, its own log group with
// LogRetention, and a role that has only the given policy plus writing its own logs.
// No managed policy is attached: AWSLambdaBasicExecutionRole would grant logs on "*".
func newGoFunction(scope constructs.Construct, spec hubFunction, buildDir string, cfg Config, hp policy.HubParams) awslambda.Function {
	id := "Fn-" + spec.name
	fnName := names.FunctionName(spec.name)
	logs := awslogs.NewLogGroup(scope, jsii.String(id+"-Logs"), &awslogs.LogGroupProps{
		LogGroupName: jsii.String("/aws/lambda/" + fnName),
		Retention:    LogRetention,
		// A fixed name: retained, except when the deployment that creates it rolls back,
		// so a retry does not fail with "already exists" (docs/aws-facts.md#F-CFN-RETENTION).
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	doc := spec.policy(hp)
	role := awsiam.NewRole(scope, jsii.String(id+"-Role"), &awsiam.RoleProps{
		RoleName:    optional(spec.roleName),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Execution role of " + fnName + "; its policy comes from internal/policy"),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			fnName: awsiam.PolicyDocument_FromJson(jsonValue(doc.JSON())),
		},
	})
	logs.GrantWrite(role)

	env := map[string]*string{}
	if spec.env != nil {
		vals := spec.env(cfg, hp)
		keys := make([]string, 0, len(vals))
		for k := range vals {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			env[k] = jsii.String(vals[k])
		}
	}
	fn := awslambda.NewFunction(scope, jsii.String(id), &awslambda.FunctionProps{
		FunctionName:  jsii.String(fnName),
		Description:   jsii.String(spec.description),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          awslambda.Code_FromAsset(jsii.String(filepath.Join(buildDir, spec.name)), nil),
		Role:          role,
		Environment:   &env,
		Tracing:       awslambda.Tracing_ACTIVE,
		LogGroup:      logs,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		MemorySize:    jsii.Number(spec.memoryMB),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(spec.timeout.Seconds())),
	})

	findings, more := []string{findingAnyResource}, ""
	if hp.OrganizationID != "" && strings.Contains(string(doc.JSON()), ":iam::*:role/") {
		var org []string
		org, more = expandWildcards(organizationHubWildcards, cfg.HubAccount, cfg)
		findings = append(findings, org...)
	}
	waive(role, iam5Waiver(
		"Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords on \"*\": X-Ray supports no resource-level permissions for them.",
		more,
		findings...,
	))
	return fn
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return jsii.String(s)
}
