package localaws

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/s3crr/s3crr/internal/awsclient"
)

// iamEnv is a running simulator with a controllable clock, for IAM and STS tests.
type iamEnv struct {
	t     *testing.T
	s     *Server
	ep    string
	clock *testClock
}

func newIAMEnv(t *testing.T, opts Options) *iamEnv {
	t.Helper()
	s, ep, clock := startTestServer(t, opts, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	return &iamEnv{t: t, s: s, ep: ep, clock: clock}
}

// iam returns an IAM client acting as the root user of account.
func (e *iamEnv) iam(account string) *iam.Client {
	return iam.NewFromConfig(RootConfig(e.ep, account, "us-east-1"))
}

// sts returns an STS client acting as the root user of account.
func (e *iamEnv) sts(account string) *sts.Client {
	return sts.NewFromConfig(RootConfig(e.ep, account, "us-east-1"))
}

func (e *iamEnv) sessionIAM(creds aws.Credentials) *iam.Client {
	return iam.NewFromConfig(SessionConfig(e.ep, "us-east-1", creds))
}

func (e *iamEnv) sessionSTS(creds aws.Credentials) *sts.Client {
	return sts.NewFromConfig(SessionConfig(e.ep, "us-east-1", creds))
}

// createRole creates a role as the account's root user and returns its ARN.
func (e *iamEnv) createRole(account, name, trust string) string {
	e.t.Helper()
	out, err := e.iam(account).CreateRole(e.t.Context(), &iam.CreateRoleInput{
		RoleName:                 aws.String(name),
		AssumeRolePolicyDocument: aws.String(trust),
	})
	if err != nil {
		e.t.Fatalf("create role %s/%s: %v", account, name, err)
	}
	return aws.ToString(out.Role.Arn)
}

// putRolePolicy puts an inline policy as the account's root user.
func (e *iamEnv) putRolePolicy(account, roleName, policyName, doc string) {
	e.t.Helper()
	_, err := e.iam(account).PutRolePolicy(e.t.Context(), &iam.PutRolePolicyInput{
		RoleName: aws.String(roleName), PolicyName: aws.String(policyName), PolicyDocument: aws.String(doc),
	})
	if err != nil {
		e.t.Fatalf("put role policy %s on %s: %v", policyName, roleName, err)
	}
}

// assume calls AssumeRole with client and returns the session credentials.
func (e *iamEnv) assume(client *sts.Client, roleARN, session string) aws.Credentials {
	e.t.Helper()
	out, err := client.AssumeRole(e.t.Context(), &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String(session)})
	if err != nil {
		e.t.Fatalf("assume %s: %v", roleARN, err)
	}
	return iamCreds(out)
}

func iamCreds(out *sts.AssumeRoleOutput) aws.Credentials {
	return aws.Credentials{
		AccessKeyID:     aws.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken:    aws.ToString(out.Credentials.SessionToken),
	}
}

// iamTrust returns a trust policy allowing sts:AssumeRole to principal (a JSON value such
// as {"AWS":"111111111111"}), with an optional Condition object.
func iamTrust(principal, condition string) string {
	cond := ""
	if condition != "" {
		cond = `,"Condition":` + condition
	}
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":%s,"Action":"sts:AssumeRole"%s}]}`, principal, cond)
}

// iamAllow returns an identity policy with one Allow statement.
func iamAllow(action, resource, condition string) string {
	cond := ""
	if condition != "" {
		cond = `,"Condition":` + condition
	}
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":%q,"Resource":%q%s}]}`, action, resource, cond)
}

// iamDecode undoes IAM's URL encoding of policy documents in responses.
func iamDecode(t *testing.T, doc *string) string {
	t.Helper()
	s, err := url.QueryUnescape(aws.ToString(doc))
	if err != nil {
		t.Fatalf("decode policy document %q: %v", aws.ToString(doc), err)
	}
	return s
}

// iamCount returns the counter of one operation, and whether the simulator classes it as
// mutating.
func iamCount(s *Server, account, service, op string) (int, bool) {
	for _, c := range s.Calls() {
		if c.Account == account && c.Service == service && c.Operation == op {
			return c.Count, c.Mutating
		}
	}
	return 0, awsclient.IsMutating(service, op)
}

func iamPad(n int) string { return strings.Repeat("x", n) }
