package localaws

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

var stsAccessKeyPattern = regexp.MustCompile(`^ASIA[A-Z0-9]{16}$`)

func TestSTSAssumeRoleAndCallerIdentity(t *testing.T) {
	e := newIAMEnv(t, Options{})
	ctx := t.Context()
	arn := e.createRole(SourceAccount, "s3crr-provisioner", iamTrust(`{"AWS":"arn:aws:iam::111111111111:root"}`, ""))
	role, err := e.iam(SourceAccount).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("s3crr-provisioner")})
	if err != nil {
		t.Fatalf("get role: %v", err)
	}
	roleID := aws.ToString(role.Role.RoleId)

	id, err := e.sts(SourceAccount).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("root GetCallerIdentity: %v", err)
	}
	if aws.ToString(id.Account) != SourceAccount || aws.ToString(id.Arn) != "arn:aws:iam::111111111111:root" || aws.ToString(id.UserId) != SourceAccount {
		t.Errorf("root identity = %s %s %s", aws.ToString(id.Account), aws.ToString(id.Arn), aws.ToString(id.UserId))
	}

	out, err := e.sts(SourceAccount).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(arn), RoleSessionName: aws.String("preflight"), DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		t.Fatalf("assume role: %v", err)
	}
	cr := out.Credentials
	if !stsAccessKeyPattern.MatchString(aws.ToString(cr.AccessKeyId)) {
		t.Errorf("AccessKeyId = %q, want ASIA + 16", aws.ToString(cr.AccessKeyId))
	}
	if len(aws.ToString(cr.SecretAccessKey)) != 40 || aws.ToString(cr.SessionToken) == "" {
		t.Errorf("secret length %d, token %q: want 40 characters and a token", len(aws.ToString(cr.SecretAccessKey)), aws.ToString(cr.SessionToken))
	}
	if want := e.clock.Now().Add(900 * time.Second); !aws.ToTime(cr.Expiration).Equal(want) {
		t.Errorf("Expiration = %v, want %v", aws.ToTime(cr.Expiration), want)
	}
	wantSessionARN := "arn:aws:sts::111111111111:assumed-role/s3crr-provisioner/preflight"
	if aws.ToString(out.AssumedRoleUser.Arn) != wantSessionARN || aws.ToString(out.AssumedRoleUser.AssumedRoleId) != roleID+":preflight" {
		t.Errorf("AssumedRoleUser = %s %s, want %s %s:preflight", aws.ToString(out.AssumedRoleUser.Arn), aws.ToString(out.AssumedRoleUser.AssumedRoleId), wantSessionARN, roleID)
	}

	sid, err := e.sessionSTS(iamCreds(out)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("session GetCallerIdentity: %v", err)
	}
	if aws.ToString(sid.Arn) != wantSessionARN || aws.ToString(sid.Account) != SourceAccount || aws.ToString(sid.UserId) != roleID+":preflight" {
		t.Errorf("session identity = %s %s %s", aws.ToString(sid.Account), aws.ToString(sid.Arn), aws.ToString(sid.UserId))
	}

	// A wrong session token is rejected.
	bad := iamCreds(out)
	bad.SessionToken = "forged"
	if _, err := e.sessionSTS(bad).GetCallerIdentity(ctx, nil); apiCode(err) != "InvalidClientTokenId" {
		t.Errorf("forged token: err = %v, want InvalidClientTokenId", err)
	}
}

func TestSTSExternalID(t *testing.T) {
	e := newIAMEnv(t, Options{})
	arn := e.createRole(SourceAccount, "s3crr-provisioner",
		iamTrust(`{"AWS":"000000000000"}`, `{"StringEquals":{"sts:ExternalId":"s3crr-deploy-1"}}`))
	hub := e.sts(HubAccount)
	tests := []struct {
		name     string
		give     *string
		wantCode string
	}{
		{name: "correct", give: aws.String("s3crr-deploy-1")},
		{name: "missing", give: nil, wantCode: "AccessDenied"},
		{name: "wrong", give: aws.String("s3crr-deploy-2"), wantCode: "AccessDenied"},
		{name: "case differs", give: aws.String("S3CRR-DEPLOY-1"), wantCode: "AccessDenied"},
		{name: "too short", give: aws.String("x"), wantCode: "ValidationError"},
		{name: "bad characters", give: aws.String("a b"), wantCode: "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := hub.AssumeRole(t.Context(), &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("hub"), ExternalId: tt.give})
			if got := apiCode(err); got != tt.wantCode {
				t.Errorf("AssumeRole err = %v, want code %q", err, tt.wantCode)
			}
			if tt.wantCode == "AccessDenied" {
				want := "User: arn:aws:iam::000000000000:root is not authorized to perform: sts:AssumeRole on resource: " + arn
				if !strings.Contains(err.Error(), want) {
					t.Errorf("AccessDenied message %q does not contain %q", err.Error(), want)
				}
			}
		})
	}
}

// The hub → member chain: a hub role session assumes a member role that trusts that hub role
// by ARN. Cross-account, the caller's own identity policy must also allow sts:AssumeRole.
func TestSTSCrossAccount(t *testing.T) {
	e := newIAMEnv(t, Options{})
	ctx := t.Context()
	hubRole := e.createRole(HubAccount, "s3crr-provision-fn", iamTrust(`{"AWS":"000000000000"}`, ""))
	e.createRole(HubAccount, "s3crr-other-fn", iamTrust(`{"AWS":"000000000000"}`, ""))
	member := e.createRole(SourceAccount, "s3crr-provisioner", iamTrust(`{"AWS":"`+hubRole+`"}`, ""))
	byAccount := e.createRole(DestinationAccount, "trusts-hub-account", iamTrust(`{"AWS":"000000000000"}`, ""))

	fn := e.sessionSTS(e.assume(e.sts(HubAccount), hubRole, "fn"))
	other := e.sessionSTS(e.assume(e.sts(HubAccount), "arn:aws:iam::000000000000:role/s3crr-other-fn", "other"))
	assume := func(c *sts.Client, arn string) error {
		_, err := c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("x1")})
		return err
	}

	if err := assume(fn, member); apiCode(err) != "AccessDenied" {
		t.Errorf("trusted hub role without sts:AssumeRole in its identity policy: err = %v, want AccessDenied", err)
	}
	allow := iamAllow("sts:AssumeRole", "arn:aws:iam::*:role/s3crr-provisioner", "")
	e.putRolePolicy(HubAccount, "s3crr-provision-fn", "assume", allow)
	e.putRolePolicy(HubAccount, "s3crr-other-fn", "assume", iamAllow("sts:AssumeRole", "*", ""))

	tests := []struct {
		name     string
		caller   *sts.Client
		role     string
		wantCode string
	}{
		{name: "trusted role with identity allow", caller: fn, role: member},
		{name: "other hub role not named by the trust", caller: other, role: member, wantCode: "AccessDenied"},
		{name: "hub root, trust names only the role", caller: e.sts(HubAccount), role: member, wantCode: "AccessDenied"},
		{name: "identity policy does not cover the role", caller: fn, role: byAccount, wantCode: "AccessDenied"},
		{name: "trust names the account, identity allows", caller: other, role: byAccount},
		{name: "hub root, trust names the account", caller: e.sts(HubAccount), role: byAccount},
		{name: "root of an untrusted account", caller: e.sts(DestinationAccount), role: member, wantCode: "AccessDenied"},
		{name: "role does not exist", caller: e.sts(HubAccount), role: "arn:aws:iam::111111111111:role/ghost", wantCode: "AccessDenied"},
		{name: "account not simulated", caller: e.sts(HubAccount), role: "arn:aws:iam::999999999999:role/x", wantCode: "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apiCode(assume(tt.caller, tt.role)); got != tt.wantCode {
				t.Errorf("AssumeRole code = %q, want %q", got, tt.wantCode)
			}
		})
	}

	// The member session acts in the member account.
	out, err := fn.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(member), RoleSessionName: aws.String("payments")})
	if err != nil {
		t.Fatalf("assume member role: %v", err)
	}
	id, err := e.sessionSTS(iamCreds(out)).GetCallerIdentity(ctx, nil)
	if err != nil || aws.ToString(id.Account) != SourceAccount {
		t.Errorf("member session identity account = %v (err %v), want %s", aws.ToString(id.Account), err, SourceAccount)
	}
}

func TestSTSSessionLimits(t *testing.T) {
	e := newIAMEnv(t, Options{})
	ctx := t.Context()
	arn := e.createRole(SourceAccount, "r", iamTrust(`{"AWS":"111111111111"}`, ""))
	e.putRolePolicy(SourceAccount, "r", "chain", iamAllow("sts:AssumeRole", "*", ""))
	long, err := e.iam(SourceAccount).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("long"), MaxSessionDuration: aws.Int32(14400),
		AssumeRolePolicyDocument: aws.String(iamTrust(`{"AWS":"111111111111"}`, ""))})
	if err != nil {
		t.Fatalf("create long role: %v", err)
	}
	longARN := aws.ToString(long.Role.Arn)
	root := e.sts(SourceAccount)
	session := e.sessionSTS(e.assume(root, arn, "first"))

	tests := []struct {
		name     string
		caller   *sts.Client
		role     string
		session  string
		duration *int32
		wantCode string
	}{
		{name: "default duration", caller: root, role: arn, session: "ok"},
		{name: "up to the role's maximum", caller: root, role: longARN, session: "ok", duration: aws.Int32(14400)},
		{name: "above the role's maximum", caller: root, role: arn, session: "ok", duration: aws.Int32(7200), wantCode: "ValidationError"},
		{name: "below 900 seconds", caller: root, role: arn, session: "ok", duration: aws.Int32(899), wantCode: "ValidationError"},
		{name: "chaining within an hour", caller: session, role: longARN, session: "chained", duration: aws.Int32(3600)},
		{name: "chaining beyond an hour", caller: session, role: longARN, session: "chained", duration: aws.Int32(7200), wantCode: "ValidationError"},
		{name: "session name too short", caller: root, role: arn, session: "a", wantCode: "ValidationError"},
		{name: "session name characters", caller: root, role: arn, session: "no spaces", wantCode: "ValidationError"},
		{name: "session name too long", caller: root, role: arn, session: strings.Repeat("s", 65), wantCode: "ValidationError"},
		{name: "role ARN not a role", caller: root, role: "arn:aws:s3:::some-bucket-name", session: "ok", wantCode: "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.caller.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(tt.role), RoleSessionName: aws.String(tt.session), DurationSeconds: tt.duration})
			if got := apiCode(err); got != tt.wantCode {
				t.Errorf("AssumeRole err = %v, want code %q", err, tt.wantCode)
			}
		})
	}

	// Session policies are refused, not ignored: ignoring one would grant more than AWS.
	_, err = root.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("narrow"), Policy: aws.String(iamAllow("s3:GetObject", "*", ""))})
	if apiCode(err) != "NotImplemented" || !strings.Contains(err.Error(), "Policy") {
		t.Errorf("AssumeRole with a session policy: err = %v, want NotImplemented naming Policy", err)
	}
}

func TestSTSSessionExpiry(t *testing.T) {
	e := newIAMEnv(t, Options{})
	ctx := t.Context()
	arn := e.createRole(SourceAccount, "r", iamTrust(`{"AWS":"111111111111"}`, ""))
	out, err := e.sts(SourceAccount).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatalf("assume: %v", err)
	}
	c := e.sessionSTS(iamCreds(out))
	e.clock.advance(899 * time.Second)
	if _, err := c.GetCallerIdentity(ctx, nil); err != nil {
		t.Fatalf("GetCallerIdentity one second before expiry: %v", err)
	}
	e.clock.advance(time.Second)
	// AWS answers calls with expired credentials with the common error ExpiredToken (403),
	// not STS's modelled ExpiredTokenException, so the SDK surfaces a generic API error.
	_, err = c.GetCallerIdentity(ctx, nil)
	var re *smithyhttp.ResponseError
	if apiCode(err) != "ExpiredToken" || !errors.As(err, &re) || re.HTTPStatusCode() != 403 {
		t.Errorf("GetCallerIdentity at expiry: err = %v, want 403 ExpiredToken", err)
	}
	// Other services reject the expired session too.
	if _, err := e.sessionIAM(iamCreds(out)).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("r")}); apiCode(err) != "ExpiredToken" {
		t.Errorf("IAM call at expiry: err = %v, want ExpiredToken", err)
	}
}

// The propagation window hides a new role from services (S3 replication) but not from
// AWS principals calling AssumeRole.
func TestSTSPropagationWindow(t *testing.T) {
	e := newIAMEnv(t, Options{PropagationWindow: 10 * time.Second})
	arn := e.createRole(SourceAccount, "replication", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"},
		{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"}]}`)
	s3svc := &principal{service: "s3.amazonaws.com"}
	assumeAsS3 := func() (*principal, *apiError) {
		e.s.mu.Lock()
		defer e.s.mu.Unlock()
		return e.s.assumeRole(s3svc, arn, "s3-replication", "")
	}

	if _, err := assumeAsS3(); err == nil || err.Code != "AccessDenied" {
		t.Errorf("service assume inside the window: err = %v, want AccessDenied", err)
	}
	if _, err := e.sts(SourceAccount).AssumeRole(t.Context(), &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("root")}); err != nil {
		t.Errorf("account root assume inside the window: %v", err)
	}
	e.clock.advance(10 * time.Second)
	p, err := assumeAsS3()
	if err != nil {
		t.Fatalf("service assume after the window: %v", err)
	}
	want := principal{account: SourceAccount, arn: "arn:aws:sts::111111111111:assumed-role/replication/s3-replication",
		roleARN: arn, roleName: "replication", sessionName: "s3-replication"}
	if *p != want {
		t.Errorf("session principal = %+v, want %+v", *p, want)
	}
	// A service the trust policy does not name stays out.
	e.s.mu.Lock()
	_, err = e.s.assumeRole(&principal{service: "lambda.amazonaws.com"}, arn, "x1", "")
	e.s.mu.Unlock()
	if err == nil {
		t.Errorf("lambda.amazonaws.com assumed a role trusted only for S3")
	}
}
