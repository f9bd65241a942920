package cdk

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/jsii-runtime-go"

	"github.com/s3crr/s3crr/internal/policy"
)

// Fixed names. Resources that other components address by name (the CLI, the provision
// Lambda, the local run, the member stacks) get fixed names; everything else is named
// by CloudFormation.
const (
	// HubStackName is the hub's stack.
	HubStackName = "s3crr-hub"

	// ProvisionFunctionRoleName is the provision Lambda's role. The member provisioner
	// roles trust it by ARN (aws:PrincipalArn), so it must not be a generated name;
	// internal/localdeploy creates the same role locally.
	ProvisionFunctionRoleName = "s3crr-provision-function"

	// ProvisionStateMachineName gives the provision state machine a predictable ARN
	// (arn:aws:states:<hubRegion>:<hubAccount>:stateMachine:s3crr-provision).
	ProvisionStateMachineName = "s3crr-provision"
	// AlertTopicName is the SNS topic for failure alerts.
	AlertTopicName = "s3crr-alerts"
	// PairsTableName is the DynamoDB table of registered pairs.
	PairsTableName = "s3crr-pairs"
	// PairsTableKey is the table's partition key.
	PairsTableKey = "pairId"
	// EventBusName is the hub's custom bus that the member accounts forward to.
	EventBusName = "s3crr-events"

	// EventsQueueName is the queue in each member region that S3 sends replication
	// events to; the provision Lambda subscribes source buckets to it by this name
	// (internal/provision.DefaultEventsQueueName).
	EventsQueueName = "s3crr-replication-events"
	// EventsDLQName holds the events that could not be forwarded, from the queue and
	// from the forwarding rules.
	EventsDLQName = "s3crr-replication-events-dlq"
	// EventsPipeName is the Pipe from the queue to the member region's default bus.
	EventsPipeName = "s3crr-replication-events"

	// ReplicationEventSource and ReplicationEventDetailType mark the S3 replication
	// events the Pipe puts on the member's default bus; the forwarding rule and (once
	// the monitor exists) the hub's rule match them. The event's detail is the SQS
	// record the Pipe read: {"messageId", "body", "attributes", "messageAttributes",
	// "md5OfBody", "eventSource", "eventSourceARN", "awsRegion"}, where body is the S3
	// event notification as a JSON string (also S3's "s3:TestEvent" when a bucket is
	// subscribed, which the monitor must ignore).
	ReplicationEventSource     = "s3crr.replication"
	ReplicationEventDetailType = "S3 Replication Event Notification"

	// ForwardReplicationRuleName and ForwardAlarmRuleName are the rules on each member
	// region's default bus that send s3crr's events to the hub bus. The hub bus policy
	// admits events only from these rules (aws:SourceArn).
	ForwardReplicationRuleName = "s3crr-forward-replication-events"
	ForwardAlarmRuleName       = "s3crr-forward-alarm-events"

	// AlarmDetailType is the detail-type of CloudWatch alarm state changes.
	AlarmDetailType = "CloudWatch Alarm State Change"
)

// MemberStackName is the stack of one member account and region.
func MemberStackName(account, region string) string {
	return "s3crr-member-" + account + "-" + region
}

// HubEventBusARN is the hub bus's ARN, known from the configuration alone, so member
// stacks need no cross-stack (and cross-account) reference.
func HubEventBusARN(c Config) string {
	return "arn:" + policy.Partition + ":events:" + c.HubRegion + ":" + c.HubAccount + ":event-bus/" + EventBusName
}

// ForwardRuleARNs are the ARNs of the forwarding rules in every member region: the only
// senders the hub bus accepts. Rules on a default bus have no bus name in their ARN.
func ForwardRuleARNs(c Config) []string {
	var out []string
	for _, m := range c.Members {
		for _, r := range m.Regions {
			for _, name := range []string{ForwardReplicationRuleName, ForwardAlarmRuleName} {
				out = append(out, "arn:"+policy.Partition+":events:"+r+":"+m.Account+":rule/"+name)
			}
		}
	}
	return out
}

// HubRoleARNs are the hub Lambda roles the provisioner roles trust: only the Lambdas
// that exist. Trusting a role name before its Lambda exists would hand every member's
// provisioner to whoever in the hub account creates a role with that name first.
func HubRoleARNs(c Config) []string {
	return []string{
		policy.RoleARN(c.HubAccount, "/", ProvisionFunctionRoleName),
	}
}

// ReplicationEventPattern matches the S3 replication events the member Pipes put on
// their default bus. The hub's monitor rule (once the monitor exists) uses it too.
func ReplicationEventPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings(ReplicationEventSource),
		DetailType: jsii.Strings(ReplicationEventDetailType),
	}
}

// AlarmEventPattern matches the state changes of s3crr's CloudWatch alarms (named
// policy.AlarmNamePrefix + ...), the second route of replication failures.
func AlarmEventPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.cloudwatch"),
		DetailType: jsii.Strings(AlarmDetailType),
		Detail: &map[string]any{
			"alarmName": []any{map[string]any{"prefix": policy.AlarmNamePrefix}},
		},
	}
}
