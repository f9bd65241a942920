package cdk

import (
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/jsii-runtime-go"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/verifyjob"
	"github.com/s3crr/s3crr/statemachine"
)

// The verification's metrics, as the verify Lambda puts them and the dashboard shows
// them (namespace policy.MetricsNamespace, dimension PairId).
var verifyMetrics = []struct{ name, stat, title string }{
	{verifyjob.MetricVerificationFailed, "Maximum", "Verification failed (1) per pair"},
	{verifyjob.MetricFindings, "Maximum", "Findings per pair"},
	{verifyjob.MetricCanaryLatency, "Maximum", "Canary replication latency (s) per pair"},
}

// verifyFunction is the verify Lambda's hubFunctions entry.
func verifyFunction() hubFunction {
	return hubFunction{
		name:     names.VerifyFunctionDir,
		roleName: names.VerifyFunctionRoleName,
		policy:   policy.VerifyFunctionPolicy,
		env: func(c Config, h policy.HubParams) map[string]string {
			return map[string]string{
				"EXTERNAL_ID":        c.ExternalID,
				"VERIFIER_ROLE_NAME": names.VerifierRoleName,
				"PAIRS_TABLE_NAME":   names.PairsTableName,
				"ALERT_TOPIC_ARN":    h.TopicARN,
			}
		},
		// A stage reads one pair (about 30 calls) or puts and reads one object.
		timeout:     2 * time.Minute,
		memoryMB:    256,
		description: "s3crr verify: one stage of the verify state machine (checks, canary, record) per invocation",
	}
}

// addVerification deploys the verify state machine (statemachine/verify.asl.json with
// the verify Lambda substituted), the nightly schedule that starts it, and the dashboard
// of its metrics.
func addVerification(stack awscdk.Stack, h *HubStack, cfg Config) error {
	fn := h.Functions[names.VerifyFunctionDir]
	list := verifyFunctionWildcards
	if cfg.OrganizationID != "" {
		list = append(slices.Clone(list), organizationVerifyWildcards...)
	}
	findings, why := expandWildcards(list, cfg.HubAccount, cfg)
	waive(fn.Role(), iam5Waiver(why, "", findings...))
	sm, err := newHubStateMachine(stack, hubStateMachine{
		id: "Verify", asl: statemachine.Verify, name: names.VerifyStateMachineName,
		subs:   map[string]*string{statemachine.VerifyFunctionArn: fn.FunctionArn()},
		policy: policy.VerifyStateMachinePolicy(policy.HubParams{Region: cfg.HubRegion, HubAccount: cfg.HubAccount, FunctionARNs: []string{*fn.FunctionArn()}}),
	})
	if err != nil {
		return err
	}
	smFindings, smWhy := expandWildcards(verifyStateMachineWildcards, cfg.HubAccount, cfg)
	waive(sm.Role(), iam5Waiver(smWhy, "", smFindings...))
	h.VerifyStateMachine = sm

	// EventBridge Scheduler, not an EventBridge rule: it takes a time zone, so "03:00"
	// stays 03:00 local across daylight saving time.
	schedDoc := policy.VerifySchedulePolicy(*sm.StateMachineArn())
	schedRole := awsiam.NewRole(stack, jsii.String("VerifyScheduleRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": cfg.HubAccount}},
		}),
		Description: jsii.String("s3crr nightly verification schedule; starts the verify state machine only"),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			"s3crr-verify-schedule": awsiam.PolicyDocument_FromJson(jsonValue(schedDoc.JSON())),
		},
	})
	awsscheduler.NewCfnSchedule(stack, jsii.String("VerifySchedule"), &awsscheduler.CfnScheduleProps{
		Name:                       jsii.String(names.VerifyStateMachineName + "-nightly"),
		Description:                jsii.String("s3crr: verify every registered pair (checks and canary)"),
		ScheduleExpression:         jsii.String(cfg.VerifySchedule),
		ScheduleExpressionTimezone: jsii.String(cfg.VerifyTimeZone),
		FlexibleTimeWindow:         &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
		Target: &awsscheduler.CfnSchedule_TargetProperty{
			Arn:     sm.StateMachineArn(),
			RoleArn: schedRole.RoleArn(),
			// The one input both this schedule and the local hub's give the verify state
			// machine (statemachine.ScheduledVerifyInput): every registered pair.
			Input: jsii.String(statemachine.ScheduledVerifyInput()),
		},
	})

	widgets := make([]awscloudwatch.IWidget, 0, len(verifyMetrics))
	for _, m := range verifyMetrics {
		widgets = append(widgets, awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(m.title),
			Width: jsii.Number(8),
			Left: &[]awscloudwatch.IMetric{awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
				// One line per pair, whatever pairs exist: SEARCH finds them by dimension.
				Expression: jsii.String(fmt.Sprintf("SEARCH('{%s,%s} MetricName=\"%s\"', '%s', 86400)",
					policy.MetricsNamespace, verifyjob.DimensionPairID, m.name, m.stat)),
				Label:  jsii.String(""),
				Period: awscdk.Duration_Days(jsii.Number(1)),
			})},
		}))
	}
	awscloudwatch.NewDashboard(stack, jsii.String("VerifyDashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(names.VerifyStateMachineName),
		Widgets:       &[]*[]awscloudwatch.IWidget{&widgets},
	})
	awscdk.NewCfnOutput(stack, jsii.String("VerifyStateMachineArn"), &awscdk.CfnOutputProps{
		Value: sm.StateMachineArn(), Description: jsii.String("Start a verification here (crr verify), or wait for the nightly schedule"),
	})
	return nil
}
