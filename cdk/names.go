package cdk

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/jsii-runtime-go"

	"github.com/s3crr/s3crr/internal/names"
)

// Resources that other components address by name (the CLI, the provision Lambda, the
// local run, the member stacks) get the fixed names of internal/names; everything else
// is named by CloudFormation. What follows derives, from the configuration, the names
// and ARNs only the stacks need.

// CloudWatchService is the principal CloudWatch alarms publish to SNS as.
const CloudWatchService = "cloudwatch.amazonaws.com"

// HubEventBusARN is the hub bus's ARN, known from the configuration alone, so member
// stacks need no cross-stack (and cross-account) reference.
func HubEventBusARN(c Config) string {
	return names.HubEventBusARN(c.HubRegion, c.HubAccount)
}

// ForwardRuleARNs are the ARNs of the forwarding rules in every member region: the only
// senders the hub bus accepts.
func ForwardRuleARNs(c Config) []string {
	var out []string
	for _, m := range c.Members {
		for _, r := range m.Regions {
			out = append(out, names.ForwardRuleARNs(r, m.Account)...)
		}
	}
	return out
}

// ForwardRuleARNPatterns match the forwarding rules in any account and region: the
// senders the hub bus accepts when membership comes from the organization.
func ForwardRuleARNPatterns() []string {
	return names.ForwardRuleARNs("*", "*")
}

// HubRoleARNs are the hub Lambda roles the provisioner roles trust: only the Lambdas
// that exist. Trusting a role name before its Lambda exists would hand every member's
// provisioner to whoever in the hub account creates a role with that name first.
func HubRoleARNs(c Config) []string {
	return []string{
		names.HubFunctionRoleARN(c.HubAccount, names.ProvisionFunctionRoleName),
	}
}

// ReplicationEventPattern matches the S3 replication events the member Pipes put on
// their default bus. The hub's monitor rule (once the monitor exists) uses it too.
func ReplicationEventPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings(names.ReplicationEventSource),
		DetailType: jsii.Strings(names.ReplicationEventDetailType),
	}
}

// AlarmEventPattern matches the state changes of s3crr's CloudWatch alarms (named
// names.AlarmNamePrefix + ...), the second route of replication failures.
func AlarmEventPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings(names.AlarmEventSource),
		DetailType: jsii.Strings(names.AlarmDetailType),
		Detail: &map[string]any{
			"alarmName": []any{map[string]any{"prefix": names.AlarmNamePrefix}},
		},
	}
}
