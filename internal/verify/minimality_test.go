package verify

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// TestAuditorPolicyIsMinimal removes each action from the auditor role's policy in both
// member accounts and requires the checks of a provisioned pair to report the refused
// read (AccessDenied) instead of a verdict: every grant is used, and a missing one is
// named rather than mistaken for a missing setting.
func TestAuditorPolicyIsMinimal(t *testing.T) {
	env, req := provisioned(t)
	members := []string{localaws.SourceAccount, localaws.DestinationAccount}
	put := func(t *testing.T, acct string, doc policy.Document) {
		t.Helper()
		if _, err := awsclient.IAM(env.root(acct, "us-east-1")).PutRolePolicy(t.Context(), &iam.PutRolePolicyInput{
			RoleName: aws.String(names.AuditorRoleName), PolicyName: aws.String(names.AuditorPolicyName), PolicyDocument: aws.String(doc.String())}); err != nil {
			t.Fatal(err)
		}
	}
	full := func(acct string) policy.Document {
		return policy.AuditorPolicy(policy.AuditorParams{Account: acct, HubAccount: localaws.HubAccount, ExternalID: testExternalID})
	}
	for i, st := range full(localaws.SourceAccount).Statement {
		for _, action := range st.Action {
			t.Run(action, func(t *testing.T) {
				for _, acct := range members {
					doc := full(acct)
					doc.Statement[i].Action = slices.DeleteFunc(slices.Clone(doc.Statement[i].Action), func(a string) bool { return a == action })
					if len(doc.Statement[i].Action) == 0 {
						doc.Statement = slices.Delete(doc.Statement, i, i+1)
					}
					put(t, acct, doc)
				}
				defer func() {
					for _, acct := range members {
						put(t, acct, full(acct))
					}
				}()
				rep := env.doctor(t, req)
				var denied []Finding
				for _, f := range rep.Findings {
					if f.Kind == KindAccess && strings.Contains(f.Message, "AccessDenied") {
						denied = append(denied, f)
					}
				}
				if len(denied) == 0 {
					t.Fatalf("without %s the checks report no refused read: the grant is unused, or its absence is misread (%v)", action, rep.Findings)
				}
				if !rep.Fails() {
					t.Error("a refused read does not fail the report")
				}
				t.Logf("without %s: %s", action, denied[0])
			})
		}
	}
}
