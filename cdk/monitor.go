package cdk

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/s3crr/s3crr/internal/names"
)

// The replication monitor's part of the hub: its de-duplication table, the rules on the
// hub bus that feed it, where the events it could not handle go, and the alarm on that.

// Retry settings of the monitor route (docs/aws-facts.md#F-EB-LAMBDA-TARGET-RETRIES).
// EventBridge invokes a Lambda target asynchronously: its retry policy covers delivering
// the event to Lambda (throttling, a missing permission), and events it cannot deliver go
// to the rule's dead-letter queue
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html). A function
// error (DynamoDB or SNS failing) is retried by Lambda's asynchronous invocation, twice by
// default, then the event is discarded unless the function has an on-failure destination
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
// Both end in the same queue, so one alarm covers every event the monitor did not handle.
const (
	// monitorMaxEventAgeHours is how long EventBridge keeps trying to deliver (its
	// maximum, 24 hours): a late alert beats a lost one, and de-duplication makes
	// retries safe.
	monitorMaxEventAgeHours = 24
	// monitorRetryAttempts is EventBridge's maximum (185).
	monitorRetryAttempts = 185
	// monitorAsyncRetries is Lambda's maximum for function errors (2).
	monitorAsyncRetries = 2
	// monitorAsyncMaxAgeHours is Lambda's maximum event age (6 hours).
	monitorAsyncMaxAgeHours = 6
)

// newDedupTable is the monitor's de-duplication table: occurrence markers and alert
// windows, each expiring through the TTL attribute the monitor sets.
func newDedupTable(stack awscdk.Stack) awsdynamodb.Table {
	return awsdynamodb.NewTable(stack, jsii.String("DedupTable"), &awsdynamodb.TableProps{
		TableName:           jsii.String(names.DedupTableName),
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String(names.DedupTableKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String(names.DedupTTLAttribute),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		// As the pairs table: the AWS managed key, usable by whatever DynamoDB authorizes,
		// so the monitor's role needs no KMS grant for it.
		Encryption:         awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection: jsii.Bool(true),
		// As the pairs table: kept when the stack is deleted or the table replaced, but
		// deleted when the first deployment rolls back, so a retry does not find its fixed
		// name taken (docs/aws-facts.md#F-CFN-RETENTION).
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
}

// addMonitorRoute points the hub bus at the monitor Lambda: one rule for the member
// Pipes' replication events and one for s3crr's alarm state changes (the same patterns
// the member forwarding rules use), each with the retry policy above and the monitor's
// dead-letter queue, which an alarm watches and reports to the alert topic directly (it
// cannot go through the monitor it is about).
func (h *HubStack) addMonitorRoute(fn awslambda.Function) {
	stack := h.Stack
	h.MonitorDLQ = awssqs.NewQueue(stack, jsii.String("MonitorDLQ"), &awssqs.QueueProps{
		QueueName: jsii.String(names.MonitorDLQName),
		// SSE-SQS: EventBridge cannot write to a queue encrypted with the AWS managed SQS
		// key, and a customer managed key would need a key policy for events.amazonaws.com.
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	waive(h.MonitorDLQ, nagWaiver{id: "AwsSolutions-SQS3",
		reason: "This queue is the dead-letter queue of the monitor rules' targets and of the monitor's asynchronous invocations; a dead-letter queue of its own would only move the events one hop further. The MonitorDLQ alarm watches it."})

	// Function errors after Lambda's retries: the on-failure destination. Lambda sends
	// with the function's role, which needs sqs:SendMessage on the queue and nothing more
	// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html);
	// CDK's SqsDestination would also grant GetQueueAttributes and GetQueueUrl.
	invoke := awslambda.NewCfnEventInvokeConfig(stack, jsii.String("MonitorAsyncInvoke"), &awslambda.CfnEventInvokeConfigProps{
		FunctionName:             fn.FunctionName(),
		Qualifier:                jsii.String("$LATEST"),
		MaximumRetryAttempts:     jsii.Number(monitorAsyncRetries),
		MaximumEventAgeInSeconds: jsii.Number(monitorAsyncMaxAgeHours * 3600),
		DestinationConfig: &awslambda.CfnEventInvokeConfig_DestinationConfigProperty{
			OnFailure: &awslambda.CfnEventInvokeConfig_OnFailureProperty{Destination: h.MonitorDLQ.QueueArn()},
		},
	})
	grant := fn.Role().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("MonitorFailuresToDLQ"),
		Actions:   jsii.Strings("sqs:SendMessage"),
		Resources: &[]*string{h.MonitorDLQ.QueueArn()},
	}))
	// Lambda checks the role can reach the destination when the configuration is saved.
	if grant.PolicyDependable != nil {
		invoke.Node().AddDependency(grant.PolicyDependable)
	}

	// The Lambda target adds the queue policy that lets only this rule send (events.amazonaws.com
	// with aws:SourceArn the rule's ARN) and the function permission for this rule only.
	target := func() awsevents.IRuleTarget {
		return awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: h.MonitorDLQ,
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(monitorMaxEventAgeHours)),
			RetryAttempts:   jsii.Number(monitorRetryAttempts),
		})
	}
	h.MonitorRules = []awsevents.Rule{
		awsevents.NewRule(stack, jsii.String("MonitorReplicationEvents"), &awsevents.RuleProps{
			RuleName:     jsii.String(names.MonitorReplicationRuleName),
			Description:  jsii.String("s3crr: S3 replication events forwarded from the member accounts, to the monitor"),
			EventBus:     h.EventBus,
			EventPattern: ReplicationEventPattern(),
			Targets:      &[]awsevents.IRuleTarget{target()},
		}),
		awsevents.NewRule(stack, jsii.String("MonitorAlarmEvents"), &awsevents.RuleProps{
			RuleName:     jsii.String(names.MonitorAlarmRuleName),
			Description:  jsii.String("s3crr: state changes of s3crr's alarms in the member accounts, to the monitor"),
			EventBus:     h.EventBus,
			EventPattern: AlarmEventPattern(),
			Targets:      &[]awsevents.IRuleTarget{target()},
		}),
	}

	alarm := newQueueDepthAlarm(stack, "MonitorDLQAlarm", names.MonitorDLQAlarmName, h.MonitorDLQ,
		"s3crr: replication events the monitor did not handle (undeliverable, or failing after retries): read them in "+names.MonitorDLQName+" and the monitor's log")
	// The alert key and topic already let CloudWatch publish (the execution alarms'
	// statements in hub.go).
	alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(h.AlertTopic))
}

// newQueueDepthAlarm alarms as soon as a message is visible in q: every message in a
// dead-letter queue is an event that went unhandled.
func newQueueDepthAlarm(stack awscdk.Stack, id, name string, q awssqs.Queue, description string) awscloudwatch.Alarm {
	return awscloudwatch.NewAlarm(stack, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmName:        jsii.String(name),
		AlarmDescription: jsii.String(description),
		Metric: q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period:    awscdk.Duration_Minutes(jsii.Number(5)),
			Statistic: jsii.String("Maximum"),
		}),
		Threshold:          jsii.Number(0),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
}
