package cdk

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awspipes"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// MemberStackProps configures one member account/region stack.
type MemberStackProps struct {
	awscdk.StackProps
	// Config is the validated deployment configuration.
	Config Config
	// Account and Region are the member account and region this stack is for.
	Account string
	Region  string
	// Primary marks the account's first configured region. IAM is global per account,
	// so only the primary stack creates the provisioner role and the replication
	// boundary; the other regions of the account get only the failure-event route.
	Primary bool
	// PrimaryRegion, when set, makes the template account- and region-agnostic (Account
	// and Region are then AWS::AccountId and AWS::Region): the IAM resources carry a
	// CloudFormation condition, created only where AWS::Region is PrimaryRegion, so one
	// template serves every account and region of a StackSet. Primary is ignored.
	PrimaryRegion string
}

// MemberStack is one member account/region: in its primary region the provisioner role
// and the replication permissions boundary, and in every region the failure-event
// route (S3 → SQS → Pipe → default bus → rule → hub bus).
type MemberStack struct {
	awscdk.Stack
	// ProvisionerRole is the role the hub Lambdas assume (primary region only, else nil).
	ProvisionerRole awsiam.CfnRole
	// Boundary is the replication permissions boundary (primary region only, else nil).
	Boundary awsiam.CfnManagedPolicy
	// AuditorRole is the read-only role `crr doctor` assumes (primary region only, else nil).
	AuditorRole awsiam.CfnRole
	// VerifierRole is the role the verify Lambda writes the canary as (primary region only).
	VerifierRole awsiam.CfnRole
	// EventsQueue receives the source buckets' replication events.
	EventsQueue awssqs.Queue
	// DeadLetterQueue holds events the Pipe or the forwarding rules could not deliver.
	DeadLetterQueue awssqs.Queue
}

// NewMemberStack builds a member stack.
func NewMemberStack(scope constructs.Construct, id string, props *MemberStackProps) (*MemberStack, error) {
	cfg := props.Config
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	m := &MemberStack{Stack: stack}
	if props.Primary || props.PrimaryRegion != "" {
		if err := m.addIAM(cfg, props.Account); err != nil {
			return nil, err
		}
	}
	if props.PrimaryRegion != "" {
		// IAM is global: a second region creating the same role name would fail.
		primary := awscdk.NewCfnCondition(stack, jsii.String("IsPrimaryRegion"), &awscdk.CfnConditionProps{
			Expression: awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), jsii.String(props.PrimaryRegion)),
		})
		m.Boundary.CfnOptions().SetCondition(primary)
		m.ProvisionerRole.CfnOptions().SetCondition(primary)
	}
	m.addEventRoute(cfg, props.Account, props.Region)
	return m, nil
}

// provisionerPolicy builds the provisioner role's policy; a test swaps it to prove a
// wildcard nobody reviewed fails the synth.
var provisionerPolicy = policy.ProvisionerPolicy

// provisionerParams are the provisioner role's inputs for one member account.
func provisionerParams(cfg Config, account string) policy.ProvisionerParams {
	return policy.ProvisionerParams{
		Account:       account,
		HubAccount:    cfg.HubAccount,
		HubRoleARNs:   HubRoleARNs(cfg),
		ExternalID:    cfg.ExternalID,
		BucketPattern: cfg.BucketPattern(),
		AliasPattern:  cfg.AliasPattern(),
	}
}

// addIAM creates the boundary and the provisioner role as L1 resources holding exactly
// the documents internal/policy renders (Sids and statement order included), so what
// is deployed is byte for byte what the policy tests and the local run check.
func (m *MemberStack) addIAM(cfg Config, account string) error {
	// With an organization, replica writes are pinned by aws:ResourceOrgID: the boundary
	// (like the StackSet template) names no account, and new members need no update.
	bp := policy.BoundaryParams{BucketPattern: cfg.BucketPattern(), MemberAccounts: cfg.MemberAccounts(), OrganizationID: cfg.OrganizationID}
	boundaryDoc := policy.ReplicationBoundary(bp)
	m.Boundary = awsiam.NewCfnManagedPolicy(m.Stack, jsii.String("ReplicationBoundary"), &awsiam.CfnManagedPolicyProps{
		ManagedPolicyName: jsii.String(names.BoundaryPolicyName),
		Path:              jsii.String(names.BoundaryPolicyPath),
		Description:       jsii.String("s3crr: the most any replication role the provisioner creates may do"),
		PolicyDocument:    jsonValue(boundaryDoc.JSON()),
	})
	// cdk-nag shows an unresolved account (a StackSet template) as <AWS::AccountId>.
	nagAccount := account
	if *awscdk.Token_IsUnresolved(account) {
		nagAccount = "<AWS::AccountId>"
	}
	findings, why := expandWildcards(boundaryWildcards, nagAccount, cfg)
	waive(m.Boundary, iam5Waiver(
		"A permissions boundary, attached to no principal by itself: it caps every replication role the provisioner creates.", why, findings...))

	pp := provisionerParams(cfg, account)
	if err := pp.Validate(); err != nil {
		return fmt.Errorf("provisioner policy parameters for %s: %w", account, err)
	}
	trust := policy.ProvisionerTrustPolicy(pp)
	perms := provisionerPolicy(pp)
	m.ProvisionerRole = awsiam.NewCfnRole(m.Stack, jsii.String("ProvisionerRole"), &awsiam.CfnRoleProps{
		RoleName:                 jsii.String(cfg.ProvisionerRoleName),
		Path:                     jsii.String("/"),
		Description:              jsii.String("s3crr: assumed by the hub's Lambdas (with the ExternalId) to provision replication pairs"),
		AssumeRolePolicyDocument: jsonValue(trust.JSON()),
		Policies: []any{&awsiam.CfnRole_PolicyProperty{
			PolicyName:     jsii.String(cfg.ProvisionerRoleName),
			PolicyDocument: jsonValue(perms.JSON()),
		}},
		MaxSessionDuration: jsii.Number(3600),
	})
	m.ProvisionerRole.AddResourceDependency(m.Boundary, jsii.String("the provisioner may only create roles that carry the boundary"))
	if cfg.BucketNamePrefix == "" {
		awscdk.Annotations_Of(m.ProvisionerRole).AddWarningV2(jsii.String("s3crr:bucketNamePrefix"),
			jsii.String("context \"bucketNamePrefix\" is \"*\": the provisioner role may manage every bucket in "+account+"; set a prefix (e.g. -c bucketNamePrefix=acme-repl-) to scope it"), nil)
	}
	findings, why = expandWildcards(provisionerWildcards, nagAccount, cfg)
	waive(m.ProvisionerRole, iam5Waiver("The provisioner role's reviewed wildcards (cdk/nag_waivers.go):", why, findings...))

	vp := policy.VerifierParams{Account: account, HubAccount: cfg.HubAccount, ExternalID: cfg.ExternalID,
		HubRoleARN: names.HubFunctionRoleARN(cfg.HubAccount, names.VerifyFunctionRoleName), BucketPattern: cfg.BucketPattern()}
	m.VerifierRole = awsiam.NewCfnRole(m.Stack, jsii.String("VerifierRole"), &awsiam.CfnRoleProps{
		RoleName:                 jsii.String(names.VerifierRoleName),
		Path:                     jsii.String("/"),
		Description:              jsii.String("s3crr: assumed by the hub's verify Lambda (with the ExternalId) to write, read and delete the verification canary"),
		AssumeRolePolicyDocument: jsonValue(policy.VerifierTrustPolicy(vp).JSON()),
		Policies: []any{&awsiam.CfnRole_PolicyProperty{
			PolicyName:     jsii.String(names.VerifierPolicyName),
			PolicyDocument: jsonValue(policy.VerifierPolicy(vp).JSON()),
		}},
		MaxSessionDuration: jsii.Number(3600),
	})
	findings, why = expandWildcards(verifierWildcards, nagAccount, cfg)
	waive(m.VerifierRole, iam5Waiver("The verifier role's reviewed wildcards (cdk/nag_waivers.go):", why, findings...))

	ap := policy.AuditorParams{Account: account, HubAccount: cfg.HubAccount, ExternalID: cfg.ExternalID}
	m.AuditorRole = awsiam.NewCfnRole(m.Stack, jsii.String("AuditorRole"), &awsiam.CfnRoleProps{
		RoleName:                 jsii.String(names.AuditorRoleName),
		Path:                     jsii.String("/"),
		Description:              jsii.String("s3crr: read-only, assumed from the hub (with the ExternalId) by crr doctor to check replication pairs"),
		AssumeRolePolicyDocument: jsonValue(policy.AuditorTrustPolicy(ap).JSON()),
		Policies: []any{&awsiam.CfnRole_PolicyProperty{
			PolicyName:     jsii.String(names.AuditorPolicyName),
			PolicyDocument: jsonValue(policy.AuditorPolicy(ap).JSON()),
		}},
		MaxSessionDuration: jsii.Number(3600),
	})
	findings, why = expandWildcards(auditorWildcards, nagAccount, cfg)
	waive(m.AuditorRole, iam5Waiver("The auditor role's reviewed wildcards (cdk/nag_waivers.go):", why, findings...))
	return nil
}

// addEventRoute wires S3 replication events from this region to the hub. An
// EventBridge Pipe can only target a bus in its own account and region, so the Pipe
// puts the events on this region's default bus, and a rule there forwards them (and
// s3crr's CloudWatch alarm state changes, which land on the default bus anyway) to the
// hub bus, cross-account and cross-region.
func (m *MemberStack) addEventRoute(cfg Config, account, region string) {
	stack := m.Stack
	m.DeadLetterQueue = awssqs.NewQueue(stack, jsii.String("EventsDLQ"), &awssqs.QueueProps{
		QueueName:       jsii.String(names.EventsDLQName),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	// SSE-SQS rather than a KMS key: S3 event notifications cannot write to a queue
	// encrypted with the AWS managed SQS key, and a customer managed key would need a
	// key policy for s3.amazonaws.com in every member region for no added control.
	m.EventsQueue = awssqs.NewQueue(stack, jsii.String("EventsQueue"), &awssqs.QueueProps{
		QueueName:  jsii.String(names.EventsQueueName),
		Encryption: awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL: jsii.Bool(true),
		DeadLetterQueue: &awssqs.DeadLetterQueue{
			MaxReceiveCount: jsii.Number(5),
			Queue:           m.DeadLetterQueue,
		},
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(4)),
	})
	// S3 sends as its service principal; aws:SourceAccount and aws:SourceArn are the
	// conditions AWS documents for S3 event notification destinations, so only this
	// account's buckets under the configured prefix can write here.
	m.EventsQueue.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("s3crrS3ReplicationEvents"),
		Effect:     awsiam.Effect_ALLOW,
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(policy.S3Service), nil)},
		Actions:    jsii.Strings("sqs:SendMessage"),
		Resources:  &[]*string{m.EventsQueue.QueueArn()},
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": account},
			"ArnLike":      map[string]any{"aws:SourceArn": policy.BucketARN(cfg.BucketPattern())},
		},
	}))

	defaultBus := "arn:" + names.Partition + ":events:" + region + ":" + account + ":event-bus/default"
	pipeRole := awsiam.NewRole(stack, jsii.String("EventsPipeRole"), &awsiam.RoleProps{
		Description: jsii.String("s3crr: the Pipe reading replication events from SQS onto the default bus"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("pipes.amazonaws.com"), nil).WithConditions(&map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": account},
		}),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			names.PipePolicyName: awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid:       jsii.String("PutOnDefaultBus"),
					Actions:   jsii.Strings("events:PutEvents"),
					Resources: jsii.Strings(defaultBus),
				}),
				// Inline, not a grant: a grant lands in a separate policy resource the Pipe
				// does not depend on, and Pipes checks the role when the Pipe is created
				// ("does not have permissions to call ReceiveMessage"). The actions are the
				// ones Pipes documents for an SQS source (docs/aws-facts.md#F-PIPES-SQS-SOURCE).
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid:       jsii.String("ReadEventsQueue"),
					Actions:   jsii.Strings("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
					Resources: &[]*string{m.EventsQueue.QueueArn()},
				}),
			}}),
		},
	})
	awspipes.NewCfnPipe(stack, jsii.String("EventsPipe"), &awspipes.CfnPipeProps{
		Name:         jsii.String(names.EventsPipeName),
		Description:  jsii.String("s3crr: S3 replication events from SQS to the default bus, for forwarding to the hub"),
		DesiredState: jsii.String("RUNNING"),
		RoleArn:      pipeRole.RoleArn(),
		Source:       m.EventsQueue.QueueArn(),
		SourceParameters: &awspipes.CfnPipe_PipeSourceParametersProperty{
			SqsQueueParameters: &awspipes.CfnPipe_PipeSourceSqsQueueParametersProperty{BatchSize: jsii.Number(1)},
		},
		Target: jsii.String(defaultBus),
		TargetParameters: &awspipes.CfnPipe_PipeTargetParametersProperty{
			EventBridgeEventBusParameters: &awspipes.CfnPipe_PipeTargetEventBridgeEventBusParametersProperty{
				Source:     jsii.String(names.ReplicationEventSource),
				DetailType: jsii.String(names.ReplicationEventDetailType),
			},
		},
	})

	hubBus := awsevents.EventBus_FromEventBusArn(stack, jsii.String("HubBus"), jsii.String(HubEventBusARN(cfg)))
	forwardRole := awsiam.NewRole(stack, jsii.String("ForwardRole"), &awsiam.RoleProps{
		Description: jsii.String("s3crr: lets the forwarding rules put events on the hub bus"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil).WithConditions(&map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": account},
		}),
	})
	target := func() awsevents.IRuleTarget {
		return awseventstargets.NewEventBus(hubBus, &awseventstargets.EventBusProps{
			Role:            forwardRole,
			DeadLetterQueue: m.DeadLetterQueue,
		})
	}
	awsevents.NewRule(stack, jsii.String("ForwardReplicationEvents"), &awsevents.RuleProps{
		RuleName:     jsii.String(names.ForwardReplicationRuleName),
		Description:  jsii.String("s3crr: forward S3 replication events to the hub bus"),
		EventPattern: ReplicationEventPattern(),
		Targets:      &[]awsevents.IRuleTarget{target()},
	})
	awsevents.NewRule(stack, jsii.String("ForwardAlarmEvents"), &awsevents.RuleProps{
		RuleName:     jsii.String(names.ForwardAlarmRuleName),
		Description:  jsii.String("s3crr: forward s3crr replication alarm state changes to the hub bus"),
		EventPattern: AlarmEventPattern(),
		Targets:      &[]awsevents.IRuleTarget{target()},
	})
	// Events that never reached the hub are an alert too. The alarm has no action of its
	// own: its name starts with the alarm prefix, so the rule above forwards its state
	// change to the hub, where the monitor alerts "events are not reaching the hub" (if
	// the forwarding itself is what broke, the hub's monitor DLQ alarm cannot see it, but
	// this alarm stays in ALARM in the member's console).
	newQueueDepthAlarm(stack, "EventsDLQAlarm", names.EventsDLQAlarmName, m.DeadLetterQueue,
		"s3crr: replication events that could not be forwarded to the hub; the monitor alerts on this alarm's state change")
}
