package verifyjob

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/s3crr/s3crr/internal/localaws/authz"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/verify"
)

// TestVerifyRolesAreMinimal judges the verify Lambda's, the verify state machine's and the
// schedule's policies with the simulator's evaluator (kumo, which serves DynamoDB and SNS
// locally, checks no IAM): every call they make is allowed, and removing any granted
// action denies a call. The Lambda's hub calls are those a run of the stages makes
// (recorded by the fakes); its AssumeRole calls are both member roles in each account.
func TestVerifyRolesAreMinimal(t *testing.T) {
	const hub, region = "333333333333", "eu-central-1"
	members := []string{"111111111111", "222222222222"}
	hp := policy.HubParams{
		Region: region, HubAccount: hub, MemberAccounts: members, ExternalID: "x",
		TopicARN:     "arn:aws:sns:" + region + ":" + hub + ":s3crr-alerts",
		TopicKeyARN:  "arn:aws:kms:" + region + ":" + hub + ":key/3333cccc-3333-4333-8333-333333333333",
		TableARN:     "arn:aws:dynamodb:" + region + ":" + hub + ":table/s3crr-pairs",
		FunctionARNs: []string{"arn:aws:lambda:" + region + ":" + hub + ":function:s3crr-verify"},
	}
	smARN := "arn:aws:states:" + region + ":" + hub + ":stateMachine:" + names.VerifyStateMachineName
	childARN := "arn:aws:states:" + region + ":" + hub + ":execution:" + names.VerifyStateMachineName + "/VerifyPairs:6f2c0d1e-8a4b-4c3d-9e5f-0a1b2c3d4e5f"

	// What a run of every stage calls in the hub, as the fakes saw it.
	db, cw, pub := &fakeDB{items: []map[string]ddbtypes.AttributeValue{item("payments-archive")}}, &fakeCW{}, &fakeSNS{}
	s := newService(db, cw, pub)
	ctx := context.Background()
	ops := map[string]bool{}
	if _, err := s.Handle(ctx, Event{Stage: StageList}); err == nil {
		ops["Scan"] = true
	}
	if _, err := s.Handle(ctx, Event{Stage: StageList, PairID: "payments-archive"}); err == nil {
		ops["GetItem"] = true
	}
	st := PairState{PairID: "payments-archive", Request: request, Report: &verify.Report{}, Canary: &verify.CanaryResult{Status: verify.CanaryFailed,
		Findings: []verify.Finding{{Check: "canary-replication-failed", Severity: verify.SeverityError}}}}
	if _, err := s.Handle(ctx, Event{Stage: StageRecord, State: &st}); err != nil {
		t.Fatal(err)
	}
	if len(db.updates) > 0 {
		ops["UpdateItem"] = true
	}
	if len(cw.puts) > 0 {
		ops["PutMetricData"] = true
	}
	if len(pub.published) > 0 {
		ops["Publish"] = true
	}
	if len(ops) != 5 {
		t.Fatalf("the stages made %v, want Scan, GetItem, UpdateItem, PutMetricData and Publish", ops)
	}
	via := map[string][]string{"kms:ViaService": {"sns." + region + ".amazonaws.com"}, "kms:EncryptionContext:aws:sns:topicArn": {hp.TopicARN}}
	fnCalls := []authz.Request{
		{Action: "dynamodb:Scan", Resource: hp.TableARN}, {Action: "dynamodb:GetItem", Resource: hp.TableARN},
		{Action: "dynamodb:UpdateItem", Resource: hp.TableARN},
		{Action: "cloudwatch:PutMetricData", Resource: "*", Context: map[string][]string{"cloudwatch:namespace": {aws.ToString(cw.puts[0].Namespace)}}},
		{Action: "sns:Publish", Resource: aws.ToString(pub.published[0].TopicArn)},
		{Action: "kms:GenerateDataKey", Resource: hp.TopicKeyARN, Context: via}, {Action: "kms:Decrypt", Resource: hp.TopicKeyARN, Context: via},
	}
	for _, a := range members {
		for _, role := range []string{names.AuditorRoleName, names.VerifierRoleName} {
			fnCalls = append(fnCalls, authz.Request{Action: "sts:AssumeRole", Resource: policy.RoleARN(a, "/", role), Context: map[string][]string{"sts:ExternalId": {"x"}}})
		}
	}
	docs := []struct {
		name  string
		doc   policy.Document
		calls []authz.Request
		stage string
	}{
		{"verify function", policy.VerifyFunctionPolicy(hp), fnCalls, policy.HubVerifyFunction},
		// Its Distributed Map's calls, as AWS documents them: a child execution of itself per
		// pair (the ARN Step Functions gives a Map Run's child: <name>/<label>:<id>).
		{"verify state machine", policy.VerifyStateMachinePolicy(hp), []authz.Request{
			{Action: "lambda:InvokeFunction", Resource: hp.FunctionARNs[0]},
			{Action: "states:StartExecution", Resource: smARN},
			{Action: "states:DescribeExecution", Resource: childARN},
			{Action: "states:StopExecution", Resource: childARN},
		}, policy.HubVerifyStateMachine},
		{"verify schedule", policy.VerifySchedulePolicy(smARN), []authz.Request{{Action: "states:StartExecution", Resource: smARN}}, policy.HubVerifySchedule},
	}
	allowed := func(doc policy.Document, r authz.Request) bool {
		if len(doc.Statement) == 0 {
			return false // no policy at all allows nothing
		}
		p, err := authz.Parse(doc.JSON())
		if err != nil {
			t.Fatal(err)
		}
		r.Principal = authz.Principal{Account: hub, ARN: policy.RoleARN(hub, "/", names.VerifyFunctionRoleName)}
		return authz.Authorize(authz.Input{Request: r, Mode: authz.ModeStandard, Identity: []*authz.Policy{p}, ResourceAccount: hub}).Allowed
	}
	walked := map[string]bool{}
	for _, d := range docs {
		for _, c := range d.calls {
			if !allowed(d.doc, c) {
				t.Errorf("%s: %s on %s is not allowed", d.name, c.Action, c.Resource)
			}
		}
		for i, st := range d.doc.Statement {
			for _, action := range st.Action {
				r, ok := policy.RequiredBy(st.Sid, action)
				if !ok || r.Stages[0] != d.stage {
					t.Errorf("%s: %s grants %s without a %s requirement row", d.name, st.Sid, action, d.stage)
					continue
				}
				walked[r.Purpose+" "+strings.ToLower(action)] = true
				reduced := d.doc
				reduced.Statement = slices.Clone(d.doc.Statement)
				reduced.Statement[i].Action = slices.DeleteFunc(slices.Clone(st.Action), func(a string) bool { return a == action })
				if len(reduced.Statement[i].Action) == 0 {
					reduced.Statement = slices.Delete(reduced.Statement, i, i+1)
				}
				if !slices.ContainsFunc(d.calls, func(c authz.Request) bool { return c.Action == action && !allowed(reduced, c) }) {
					t.Errorf("%s: without %s in %s every call is still allowed", d.name, action, st.Sid)
				}
			}
		}
	}
	for _, r := range policy.Requirements() {
		if len(r.Stages) == 0 {
			continue
		}
		s := r.Stages[0]
		if (s == policy.HubVerifyFunction || s == policy.HubVerifyStateMachine || s == policy.HubVerifySchedule) && !walked[r.Purpose+" "+strings.ToLower(r.Action)] {
			t.Errorf("%s in %s is never walked", r.Action, r.Purpose)
		}
	}
}
