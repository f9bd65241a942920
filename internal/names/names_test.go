package names_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/spec"
)

// Renaming a deployed resource makes CloudFormation replace it (and orphans what the
// provision Lambda made under the old name), so the deployed names are pinned here: a
// change must be deliberate.
func TestDeployedNamesArePinned(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{names.HubStackName, "s3crr-hub"},
		{names.MemberStackName("111", "eu-west-1"), "s3crr-member-111-eu-west-1"},
		{names.ProvisionFunctionName, "s3crr-provision"},
		{names.ProvisionFunctionRoleName, "s3crr-provision-function"},
		{names.ProvisionStateMachineName, "s3crr-provision"},
		{names.AlertTopicName, "s3crr-alerts"},
		{names.PairsTableName, "s3crr-pairs"},
		{names.EventBusName, "s3crr-events"},
		{names.ProvisionerRoleName, "s3crr-provisioner"},
		{names.BoundaryPolicyARN("111"), "arn:aws:iam::111:policy/s3crr/s3crr-replication-boundary"},
		{names.EventsQueueName, "s3crr-replication-events"},
		{names.EventsDLQName, "s3crr-replication-events-dlq"},
		{names.ForwardReplicationRuleName, "s3crr-forward-replication-events"},
		{names.ForwardAlarmRuleName, "s3crr-forward-alarm-events"},
		{names.ReplicationRoleARN("111", "p1"), "arn:aws:iam::111:role/s3crr/s3crr-repl-p1"},
		{names.SourceAlias("", "p1"), "alias/s3crr/p1/source"},
		{names.DestinationAlias("", "p1"), "alias/s3crr/p1/destination"},
		{names.SourceAlias(names.AliasPrefix, "p1"), "alias/s3crr/p1/source"},
		{names.SourceAlias("alias/s3-crr-key", "p1"), "alias/s3-crr-key/p1/source"},
		{names.DestinationAlias("alias/acme-", "p1"), "alias/acme-p1/destination"},
		{names.SourceAlias("alias/team/", "p1"), "alias/team/p1/source"},
		{names.RuleID("p1"), "s3crr-p1"},
		{names.FailedReplicationAlarmName("p1"), "s3crr-p1-failed-replication"},
		{names.SessionName("p1"), "s3crr-p1"},
		{names.PairTagKey("p1"), "s3crr:pair:p1"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// The ARN format the provision Lambda is configured with and the ARN the provisioner's
// CreateRole grant requires must be the same ARN.
func TestBoundaryARNFormatMatchesBoundaryARN(t *testing.T) {
	if got, want := fmt.Sprintf(names.BoundaryPolicyARNFormat, "123456789012"), names.BoundaryPolicyARN("123456789012"); got != want {
		t.Errorf("format gives %q, the policy requires %q", got, want)
	}
}

// The default aliases and the alias and alarm names must fall under the patterns the
// provisioner's grants are scoped to, or the stages that create them are denied.
func TestPerPairNamesFallUnderTheirGrants(t *testing.T) {
	pair := strings.Repeat("p", spec.MaxPairIDLen)
	for _, prefix := range []string{"", names.AliasPrefix, "alias/s3-crr-key", "alias/acme-"} {
		pattern := prefix + "*"
		if prefix == "" {
			pattern = names.AliasPattern
		}
		for _, alias := range []string{names.SourceAlias(prefix, pair), names.DestinationAlias(prefix, pair)} {
			if !strings.HasPrefix(alias, strings.TrimSuffix(pattern, "*")) {
				t.Errorf("alias %s is outside %s", alias, pattern)
			}
		}
	}
	if !strings.HasPrefix(names.FailedReplicationAlarmName(pair), names.AlarmNamePrefix) {
		t.Errorf("alarm %s does not start with %s", names.FailedReplicationAlarmName(pair), names.AlarmNamePrefix)
	}
	if !strings.HasPrefix(names.ReplicationRoleName(pair), names.ReplicationRoleNamePrefix) {
		t.Errorf("role %s does not start with %s", names.ReplicationRoleName(pair), names.ReplicationRoleNamePrefix)
	}
	if names.RolePath == "/" {
		t.Error("RolePath is /: the provisioner, which may change every role under it, could change itself")
	}
}

// Every name is valid for its service even for the longest pair ID: AWS rejects the
// call otherwise, at deploy time or in the middle of a provision run.
func TestNamesAreValidForTheirService(t *testing.T) {
	pair := strings.Repeat("p", spec.MaxPairIDLen)
	hash := strings.Repeat("0", 10)
	var (
		iamName  = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)        // IAM role and policy names
		session  = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)        // STS RoleSessionName
		sqsName  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)     // SQS queue names
		ruleName = regexp.MustCompile(`^[.\-_A-Za-z0-9]{1,64}$`)   // EventBridge rule names
		busName  = regexp.MustCompile(`^[/.\-_A-Za-z0-9]{1,256}$`) // EventBridge bus names
		sfnName  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)     // Step Functions names
		fnName   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)     // Lambda function names
		table    = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)   // DynamoDB table names
		topic    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)    // SNS topic names
		stack    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)
		alias    = regexp.MustCompile(`^alias/[A-Za-z0-9/_-]{1,250}$`)
	)
	for _, tt := range []struct {
		re   *regexp.Regexp
		name string
	}{
		{iamName, names.ProvisionFunctionRoleName},
		{iamName, names.ProvisionerRoleName}, {iamName, names.BoundaryPolicyName},
		{iamName, names.ReplicationRoleName(pair)}, {iamName, names.ReplicationPolicyName},
		{iamName, names.StateMachinePolicyName}, {iamName, names.PipePolicyName},
		{session, names.SessionName(pair)},
		{sqsName, names.EventsQueueName}, {sqsName, names.EventsDLQName}, {sqsName, names.LocalEventsInbox},
		{ruleName, names.ForwardReplicationRuleName}, {ruleName, names.ForwardAlarmRuleName},
		{busName, names.EventBusName}, {ruleName, names.EventsPipeName},
		{sfnName, names.ProvisionStateMachineName}, {sfnName, names.ExecutionName(pair, hash)},
		{fnName, names.ProvisionFunctionName},
		{table, names.PairsTableName}, {topic, names.AlertTopicName},
		{stack, names.HubStackName}, {stack, names.MemberStackName("123456789012", "ap-southeast-1")},
		{alias, names.SourceAlias("", pair)}, {alias, names.DestinationAlias("", pair)},
	} {
		if !tt.re.MatchString(tt.name) {
			t.Errorf("%q does not match %s", tt.name, tt.re)
		}
	}
}
