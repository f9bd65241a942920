package policy

import "github.com/s3crr/s3crr/internal/names"

// This file builds the verify Lambda's role policy: it reads the members as their
// auditor roles, writes the canary as their provisioner roles, reads the registered
// pairs and records each verification on its pair, puts the s3crr metrics and publishes
// the alert of a failed verification.

// Verify Lambda purposes (fixed Sids: SidPrefix + purpose). The alert grants have their
// own purposes because the state machine's role has the same actions for other calls.
const (
	PurposeVerifyAssume   = "VerifyAssumeMemberRoles"
	PurposeVerifyPairs    = "VerifyPairs"
	PurposeVerifyMetrics  = "VerifyMetrics"
	PurposeVerifyAlerts   = "AlertsFromVerify"
	PurposeVerifyAlertKey = "AlertKeyForVerify"
)

// MetricsNamespace is the CloudWatch namespace of the verification metrics.
const MetricsNamespace = "s3crr"

// memberRoleARNs returns these roles' ARNs (at path /) in every member account, role by role.
func (h HubParams) memberRoleARNs(roles ...string) []string {
	out := make([]string, 0, len(roles)*len(h.MemberAccounts))
	for _, r := range roles {
		for _, a := range h.MemberAccounts {
			out = append(out, RoleARN(a, "/", r))
		}
	}
	return out
}

// VerifyFunctionPolicy is the verify Lambda's policy. PutMetricData has no resource;
// cloudwatch:namespace keeps it to s3crr's namespace. With an organization, the member
// roles are those of any account of it, as for the provision Lambda (assumeProvisioner).
// It assumes the auditor (checks) and the verifier (canary), never the provisioner.
func VerifyFunctionPolicy(h HubParams) Document {
	assume := Statement{
		Sid:       SidPrefix + PurposeVerifyAssume,
		Effect:    Allow,
		Action:    []string{"sts:AssumeRole"},
		Resource:  h.memberRoleARNs(names.AuditorRoleName, names.VerifierRoleName),
		Condition: map[string]map[string][]string{StringEquals: {KeyExternalID: {h.ExternalID}}},
	}
	if h.OrganizationID != "" {
		assume.Resource = []string{RoleARN("*", "/", names.AuditorRoleName), RoleARN("*", "/", names.VerifierRoleName)}
		assume.Condition[StringEquals][KeyResourceOrgID] = []string{h.OrganizationID}
	}
	st := []Statement{
		assume,
		{
			Sid:      SidPrefix + PurposeVerifyPairs,
			Effect:   Allow,
			Action:   []string{"dynamodb:Scan", "dynamodb:GetItem", "dynamodb:UpdateItem"},
			Resource: []string{h.TableARN},
		},
		{
			Sid:       SidPrefix + PurposeVerifyMetrics,
			Effect:    Allow,
			Action:    []string{"cloudwatch:PutMetricData"},
			Resource:  []string{"*"},
			Condition: map[string]map[string][]string{StringEquals: {"cloudwatch:namespace": {MetricsNamespace}}},
		},
	}
	for _, a := range h.publishAlerts() {
		switch a.Sid {
		case SidPrefix + PurposePublishAlerts:
			a.Sid = SidPrefix + PurposeVerifyAlerts
		case SidPrefix + PurposeAlertKey:
			a.Sid = SidPrefix + PurposeVerifyAlertKey
		}
		st = append(st, a)
	}
	return Document{Version: Version, Statement: st}
}

// Purposes of the verify state machine's and schedule's roles.
const (
	PurposeInvokeVerifyFunction = "InvokeVerifyFunction"
	PurposeStartVerification    = "StartVerification"
	// PurposeVerifyChildRuns and PurposeVerifyChildExecutions let the verify state
	// machine's Distributed Map run each pair as a child execution of itself.
	PurposeVerifyChildRuns       = "VerifyChildWorkflows"
	PurposeVerifyChildExecutions = "VerifyChildExecutions"
)

// StateMachineARN is the ARN of the state machine named name in the hub.
func StateMachineARN(region, account, name string) string {
	return "arn:" + names.Partition + ":states:" + region + ":" + account + ":stateMachine:" + name
}

// VerifyStateMachinePolicy is the verify state machine's role policy: it invokes the
// verify Lambda (h.FunctionARNs), which records, measures and alerts itself; and its
// Distributed Map starts each pair's child workflow execution of this same state
// machine, then describes and, when the Map Run fails, stops them — the grants AWS
// documents for a Distributed Map (docs/aws-facts.md#F-SFN-DISTRIBUTED-MAP): StartExecution
// on the state machine, DescribeExecution and StopExecution on its executions. The
// state machine's ARN is built from its fixed name (names.VerifyStateMachineName), in
// h.Region and h.HubAccount, since its role cannot refer to the state machine it serves
// without a circular dependency.
func VerifyStateMachinePolicy(h HubParams) Document {
	self := StateMachineARN(h.Region, h.HubAccount, names.VerifyStateMachineName)
	executions := "arn:" + names.Partition + ":states:" + h.Region + ":" + h.HubAccount + ":execution:" + names.VerifyStateMachineName + "/*"
	return Document{Version: Version, Statement: []Statement{{
		Sid:      SidPrefix + PurposeInvokeVerifyFunction,
		Effect:   Allow,
		Action:   []string{"lambda:InvokeFunction"},
		Resource: cloneStrings(h.FunctionARNs),
	}, {
		Sid:      SidPrefix + PurposeVerifyChildRuns,
		Effect:   Allow,
		Action:   []string{"states:StartExecution"},
		Resource: []string{self},
	}, {
		Sid:      SidPrefix + PurposeVerifyChildExecutions,
		Effect:   Allow,
		Action:   []string{"states:DescribeExecution", "states:StopExecution"},
		Resource: []string{executions},
	}}}
}

// VerifySchedulePolicy is the nightly schedule's role policy: EventBridge Scheduler
// starts executions of the verify state machine, nothing else.
func VerifySchedulePolicy(stateMachineARN string) Document {
	return Document{Version: Version, Statement: []Statement{{
		Sid:      SidPrefix + PurposeStartVerification,
		Effect:   Allow,
		Action:   []string{"states:StartExecution"},
		Resource: []string{stateMachineARN},
	}}}
}
