package localaws

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/s3crr/s3crr/internal/awsclient"
)

const simTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// simRolePolicy allows replica writes and the destination key through S3 in us-east-1
// only, and denies ReplicateDelete explicitly.
const simRolePolicy = `{"Version":"2012-10-17","Statement":[
 {"Sid":"Write","Effect":"Allow","Action":["s3:ReplicateObject","s3:ReplicateDelete"],"Resource":"arn:aws:s3:::dst/*"},
 {"Sid":"Key","Effect":"Allow","Action":"kms:Encrypt","Resource":"arn:aws:kms:us-east-1:222222222222:key/k",
  "Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}},
 {"Sid":"NoDeletes","Effect":"Deny","Action":"s3:ReplicateDelete","Resource":"*"}]}`

func simEnv(t *testing.T) (*iamEnv, string) {
	e := newIAMEnv(t, Options{Accounts: []string{"111111111111", "222222222222"}})
	arn := e.createRole("111111111111", "repl", simTrust)
	if _, err := e.iam("111111111111").PutRolePolicy(t.Context(), &iam.PutRolePolicyInput{
		RoleName: aws.String("repl"), PolicyName: aws.String("inline"), PolicyDocument: aws.String(simRolePolicy)}); err != nil {
		t.Fatal(err)
	}
	return e, arn
}

func decisions(out *iam.SimulatePrincipalPolicyOutput) map[string]iamtypes.PolicyEvaluationDecisionType {
	m := map[string]iamtypes.PolicyEvaluationDecisionType{}
	for _, r := range out.EvaluationResults {
		m[aws.ToString(r.EvalActionName)+" "+aws.ToString(r.EvalResourceName)] = r.EvalDecision
	}
	return m
}

func TestSimulatePrincipalPolicyDecisions(t *testing.T) {
	e, arn := simEnv(t)
	out, err := e.iam("111111111111").SimulatePrincipalPolicy(t.Context(), &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String(arn),
		ActionNames:     []string{"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"},
		ResourceArns:    []string{"arn:aws:s3:::dst/a.txt"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := decisions(out)
	want := map[string]iamtypes.PolicyEvaluationDecisionType{
		"s3:ReplicateObject arn:aws:s3:::dst/a.txt": iamtypes.PolicyEvaluationDecisionTypeAllowed,
		"s3:ReplicateDelete arn:aws:s3:::dst/a.txt": iamtypes.PolicyEvaluationDecisionTypeExplicitDeny,
		"s3:ReplicateTags arn:aws:s3:::dst/a.txt":   iamtypes.PolicyEvaluationDecisionTypeImplicitDeny,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
	for _, r := range out.EvaluationResults {
		if aws.ToString(r.EvalActionName) == "s3:ReplicateDelete" {
			if len(r.MatchedStatements) != 1 || aws.ToString(r.MatchedStatements[0].SourcePolicyId) != "inline" {
				t.Errorf("explicit deny matched %+v, want the inline policy's Deny only", r.MatchedStatements)
			}
		}
	}
}

func TestSimulatePrincipalPolicyContextEntries(t *testing.T) {
	e, arn := simEnv(t)
	key := "arn:aws:kms:us-east-1:222222222222:key/k"
	run := func(via string) *iam.SimulatePrincipalPolicyOutput {
		in := &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(arn), ActionNames: []string{"kms:Encrypt"}, ResourceArns: []string{key}}
		if via != "" {
			in.ContextEntries = []iamtypes.ContextEntry{{ContextKeyName: aws.String("kms:ViaService"), ContextKeyType: iamtypes.ContextKeyTypeEnumString, ContextKeyValues: []string{via}}}
		}
		out, err := e.iam("111111111111").SimulatePrincipalPolicy(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if d := run("s3.us-east-1.amazonaws.com").EvaluationResults[0].EvalDecision; d != iamtypes.PolicyEvaluationDecisionTypeAllowed {
		t.Errorf("with the right kms:ViaService: %q, want allowed", d)
	}
	if d := run("s3.eu-west-1.amazonaws.com").EvaluationResults[0].EvalDecision; d != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny {
		t.Errorf("with another region's kms:ViaService: %q, want implicitDeny", d)
	}
	missing := run("").EvaluationResults[0]
	if missing.EvalDecision != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny || len(missing.MissingContextValues) != 1 || missing.MissingContextValues[0] != "kms:ViaService" {
		t.Errorf("without context: %q missing %v, want implicitDeny missing [kms:ViaService]", missing.EvalDecision, missing.MissingContextValues)
	}
}

func TestSimulateResourcePolicyNeedsUserCaller(t *testing.T) {
	e, arn := simEnv(t)
	bucketPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/alice"},"Action":"s3:ReplicateTags","Resource":"arn:aws:s3:::dst/*"}]}`
	base := iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String(arn), ActionNames: []string{"s3:ReplicateTags"},
		ResourceArns: []string{"arn:aws:s3:::dst/a"}, ResourcePolicy: aws.String(bucketPolicy),
	}
	in := base
	if _, err := e.iam("111111111111").SimulatePrincipalPolicy(t.Context(), &in); awsclient.ErrorCode(err) != "InvalidInput" {
		t.Errorf("role source with a resource policy and no CallerArn: %v, want InvalidInput", err)
	}
	in = base
	in.CallerArn = aws.String(arn)
	if _, err := e.iam("111111111111").SimulatePrincipalPolicy(t.Context(), &in); awsclient.ErrorCode(err) != "InvalidInput" {
		t.Errorf("role as CallerArn: %v, want InvalidInput", err)
	}
	// Same account: the bucket policy naming the caller allows what the identity policy does not.
	in = base
	in.CallerArn = aws.String("arn:aws:iam::111111111111:user/alice")
	out, err := e.iam("111111111111").SimulatePrincipalPolicy(t.Context(), &in)
	if err != nil {
		t.Fatal(err)
	}
	if d := out.EvaluationResults[0].EvalDecision; d != iamtypes.PolicyEvaluationDecisionTypeAllowed {
		t.Errorf("same-account resource policy grant: %q, want allowed", d)
	}
	// Another owner: the resource grant alone no longer suffices.
	in.ResourceOwner = aws.String("222222222222")
	out, err = e.iam("111111111111").SimulatePrincipalPolicy(t.Context(), &in)
	if err != nil {
		t.Fatal(err)
	}
	if d := out.EvaluationResults[0].EvalDecision; d != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny {
		t.Errorf("cross-account without an identity grant: %q, want implicitDeny", d)
	}
}

func TestSimulateCustomPolicy(t *testing.T) {
	e, _ := simEnv(t)
	out, err := e.iam("111111111111").SimulateCustomPolicy(t.Context(), &iam.SimulateCustomPolicyInput{
		PolicyInputList: []string{simRolePolicy},
		ActionNames:     []string{"s3:ReplicateObject", "s3:ReplicateDelete"},
		ResourceArns:    []string{"arn:aws:s3:::dst/x", "arn:aws:s3:::other/x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.EvaluationResults); n != 4 {
		t.Fatalf("%d results, want every action for every resource (4)", n)
	}
	got := map[string]iamtypes.PolicyEvaluationDecisionType{}
	for _, r := range out.EvaluationResults {
		got[aws.ToString(r.EvalActionName)+" "+aws.ToString(r.EvalResourceName)] = r.EvalDecision
	}
	if got["s3:ReplicateObject arn:aws:s3:::other/x"] != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny ||
		got["s3:ReplicateObject arn:aws:s3:::dst/x"] != iamtypes.PolicyEvaluationDecisionTypeAllowed ||
		got["s3:ReplicateDelete arn:aws:s3:::other/x"] != iamtypes.PolicyEvaluationDecisionTypeExplicitDeny {
		t.Errorf("decisions %v", got)
	}
}

func TestSimulatePrincipalPolicyNeedsPermission(t *testing.T) {
	e, arn := simEnv(t)
	// A session of the replication role itself has no iam:SimulatePrincipalPolicy grant.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}`
	other := e.createRole("111111111111", "reader", trust)
	e.clock.advance(e.s.opts.PropagationWindow)
	creds := e.assume(e.sts("111111111111"), other, "reader")
	_, err := e.sessionIAM(creds).SimulatePrincipalPolicy(t.Context(), &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String(arn), ActionNames: []string{"s3:ReplicateObject"}})
	if !awsclient.IsAccessDenied(err) {
		t.Errorf("without iam:SimulatePrincipalPolicy: %v, want AccessDenied", err)
	}
}
