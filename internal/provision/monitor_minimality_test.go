package provision

import (
	"slices"
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localaws/authz"
	"github.com/s3crr/s3crr/internal/policy"
)

// TestMonitorPermissionsAreMinimal walks the replication monitor role's policy like the
// state machine's: kumo enforces no IAM, so each call the monitor makes (the pair read,
// the de-duplication transaction's Put and Update, the window's UpdateItem, and the
// publish with the KMS calls SNS makes for the encrypted topic) is put to the simulator's
// evaluator: allowed with the whole policy, denied without the action. The monitor's own
// test (internal/monitor TestCallsStayWithinTheRolePolicy) holds its real calls to this
// list's actions and key prefixes.
func TestMonitorPermissionsAreMinimal(t *testing.T) {
	const hub, region = localaws.HubAccount, "eu-central-1"
	hp := policy.HubParams{
		Region:      region,
		TopicARN:    "arn:aws:sns:" + region + ":" + hub + ":s3crr-alerts",
		TopicKeyARN: "arn:aws:kms:" + region + ":" + hub + ":key/3333cccc-3333-4333-8333-333333333333",
		TableARN:    "arn:aws:dynamodb:" + region + ":" + hub + ":table/s3crr-pairs",
	}
	dedupARN := "arn:aws:dynamodb:" + region + ":" + hub + ":table/s3crr-alert-dedup"
	leading := func(k string) map[string][]string { return map[string][]string{policy.KeyDynamoDBLeadingKeys: {k}} }
	viaSNS := map[string][]string{"kms:ViaService": {"sns." + region + ".amazonaws.com"}, "kms:EncryptionContext:aws:sns:topicArn": {hp.TopicARN}}
	calls := []authz.Request{
		{Action: "dynamodb:GetItem", Resource: hp.TableARN, Context: leading("payments-archive")},
		{Action: "dynamodb:PutItem", Resource: dedupARN, Context: leading(policy.DedupEventKeyPrefix + "s3-request-id")},
		{Action: "dynamodb:UpdateItem", Resource: dedupARN, Context: leading(policy.DedupWindowKeyPrefix + "payments-archive#AssumeRoleNotPermitted")},
		{Action: "sns:Publish", Resource: hp.TopicARN},
		{Action: policy.ActKMSGenerateDataKey, Resource: hp.TopicKeyARN, Context: viaSNS},
		{Action: policy.ActKMSDecrypt, Resource: hp.TopicKeyARN, Context: viaSNS},
	}
	principal := authz.Principal{Account: hub, ARN: policy.RoleARN(hub, "/", "s3crr-hub-MonitorFunctionRole")}
	allowed := func(doc policy.Document, r authz.Request) bool {
		p, err := authz.Parse(doc.JSON())
		must(t, err)
		r.Principal = principal
		return authz.Authorize(authz.Input{Request: r, Mode: authz.ModeStandard, Identity: []*authz.Policy{p}, ResourceAccount: hub}).Allowed
	}
	doc := policy.ReplicationMonitorPolicy(hp, dedupARN)
	for _, c := range calls {
		if !allowed(doc, c) {
			t.Errorf("the monitor policy does not allow %s on %s", c.Action, c.Resource)
		}
	}
	// The LeadingKeys condition is part of least privilege too: the role cannot write
	// the table's other keys, nor the pairs table.
	for _, c := range []authz.Request{
		{Action: "dynamodb:PutItem", Resource: dedupARN, Context: leading("payments-archive")},
		{Action: "dynamodb:UpdateItem", Resource: hp.TableARN, Context: leading("payments-archive")},
		{Action: "dynamodb:DeleteItem", Resource: dedupARN, Context: leading(policy.DedupEventKeyPrefix + "x")},
	} {
		if allowed(doc, c) {
			t.Errorf("the monitor policy allows %s on %s %v, which the monitor never needs", c.Action, c.Resource, c.Context)
		}
	}
	monitorStage := func(r policy.Requirement) bool {
		return slices.Contains(r.Stages, policy.HubReplicationMonitor) || r.Purpose == policy.PurposePublishAlerts || r.Purpose == policy.PurposeAlertKey
	}
	cases := 0
	for _, st := range doc.Statement {
		for _, action := range st.Action {
			r, ok := policy.RequiredBy(st.Sid, action)
			if !ok || !monitorStage(r) {
				t.Errorf("%s grants %s, which the requirement table does not give to the monitor", st.Sid, action)
				continue
			}
			cases++
			t.Run(st.Sid+"/"+action, func(t *testing.T) {
				reduced := without(doc, st.Sid, action)
				var denied []string
				for _, c := range calls {
					if !allowed(reduced, c) {
						denied = append(denied, c.Action)
					}
				}
				if !slices.Contains(denied, action) {
					t.Errorf("without %s every monitor call is still allowed (denied: %v); needed for %v", action, denied, r.Calls)
				}
			})
		}
	}
	t.Logf("monitor walk: %d cases", cases)
	for _, r := range policy.Requirements() {
		if len(r.Stages) > 0 && r.Stages[0] == policy.HubReplicationMonitor {
			if !slices.ContainsFunc(doc.Statement, func(s policy.Statement) bool {
				return s.Sid == policy.SidPrefix+r.Purpose && slices.ContainsFunc(s.Action, func(a string) bool { return strings.EqualFold(a, r.Action) })
			}) {
				t.Errorf("requirement %s %s is not in the monitor policy, so it is never walked", r.Purpose, r.Action)
			}
		}
	}
}
