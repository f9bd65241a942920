package localaws

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

var (
	iamRoleIDPattern   = regexp.MustCompile(`^AROA[A-Z0-9]{17}$`)
	iamPolicyIDPattern = regexp.MustCompile(`^ANPA[A-Z0-9]{17}$`)
)

func TestIAMRoleLifecycle(t *testing.T) {
	e := newIAMEnv(t, Options{})
	ctx := t.Context()
	c := e.iam(SourceAccount)
	trust := iamTrust(`{"Service":"s3.amazonaws.com"}`, "")

	bnd, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{
		PolicyName: aws.String("s3crr-boundary"), Path: aws.String("/s3crr/"),
		PolicyDocument: aws.String(iamAllow("s3:*", "*", "")),
	})
	if err != nil {
		t.Fatalf("create boundary policy: %v", err)
	}
	boundaryARN := aws.ToString(bnd.Policy.Arn)

	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String("s3crr-replication"),
		Path:                     aws.String("/s3crr/"),
		AssumeRolePolicyDocument: aws.String(trust),
		Description:              aws.String("replication role"),
		MaxSessionDuration:       aws.Int32(7200),
		PermissionsBoundary:      aws.String(boundaryARN),
		Tags:                     []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("platform")}},
	})
	if err != nil {
		t.Fatalf("create role: %v", err)
	}
	wantARN := "arn:aws:iam::111111111111:role/s3crr/s3crr-replication"
	if got := aws.ToString(out.Role.Arn); got != wantARN {
		t.Errorf("CreateRole Arn = %q, want %q", got, wantARN)
	}
	if id := aws.ToString(out.Role.RoleId); !iamRoleIDPattern.MatchString(id) {
		t.Errorf("RoleId = %q, want AROA + 17 upper-case alphanumerics", id)
	}
	if got := iamDecode(t, out.Role.AssumeRolePolicyDocument); got != trust {
		t.Errorf("CreateRole trust document = %q, want %q", got, trust)
	}
	if !out.Role.CreateDate.Equal(e.clock.Now()) {
		t.Errorf("CreateDate = %v, want the server clock %v", out.Role.CreateDate, e.clock.Now())
	}

	got, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("s3crr-replication")})
	if err != nil {
		t.Fatalf("get role: %v", err)
	}
	r := got.Role
	if aws.ToString(r.Path) != "/s3crr/" || aws.ToString(r.Description) != "replication role" || aws.ToInt32(r.MaxSessionDuration) != 7200 {
		t.Errorf("GetRole path/description/max session = %q/%q/%d", aws.ToString(r.Path), aws.ToString(r.Description), aws.ToInt32(r.MaxSessionDuration))
	}
	if r.PermissionsBoundary == nil || aws.ToString(r.PermissionsBoundary.PermissionsBoundaryArn) != boundaryARN ||
		r.PermissionsBoundary.PermissionsBoundaryType != iamtypes.PermissionsBoundaryAttachmentTypePolicy {
		t.Errorf("GetRole PermissionsBoundary = %+v, want %s", r.PermissionsBoundary, boundaryARN)
	}
	if len(r.Tags) != 1 || aws.ToString(r.Tags[0].Key) != "team" || aws.ToString(r.Tags[0].Value) != "platform" {
		t.Errorf("GetRole Tags = %+v, want team=platform", r.Tags)
	}
	if aws.ToString(r.RoleId) != aws.ToString(out.Role.RoleId) {
		t.Errorf("GetRole RoleId %q differs from CreateRole's %q", aws.ToString(r.RoleId), aws.ToString(out.Role.RoleId))
	}

	newTrust := iamTrust(`{"Service":["s3.amazonaws.com","batchoperations.s3.amazonaws.com"]}`, "")
	if _, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("s3crr-replication"), PolicyDocument: aws.String(newTrust)}); err != nil {
		t.Fatalf("update assume role policy: %v", err)
	}
	got, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("s3crr-replication")})
	if err != nil {
		t.Fatalf("get role after update: %v", err)
	}
	if doc := iamDecode(t, got.Role.AssumeRolePolicyDocument); doc != newTrust {
		t.Errorf("trust after UpdateAssumeRolePolicy = %q, want %q", doc, newTrust)
	}
	if _, err := c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("s3crr-replication"), Description: aws.String("changed"), MaxSessionDuration: aws.Int32(3600)}); err != nil {
		t.Fatalf("update role: %v", err)
	}
	got, _ = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("s3crr-replication")})
	if aws.ToString(got.Role.Description) != "changed" || aws.ToInt32(got.Role.MaxSessionDuration) != 3600 {
		t.Errorf("after UpdateRole description/max = %q/%d", aws.ToString(got.Role.Description), aws.ToInt32(got.Role.MaxSessionDuration))
	}

	// IAM is per account: B does not see A's role.
	_, err = e.iam(DestinationAccount).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("s3crr-replication")})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Errorf("GetRole from another account: err = %v, want NoSuchEntityException", err)
	}

	if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("s3crr-replication")}); err != nil {
		t.Fatalf("delete role: %v", err)
	}
	_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("s3crr-replication")})
	if !errors.As(err, &nse) || apiCode(err) != "NoSuchEntity" {
		t.Errorf("GetRole after delete: err = %v, want NoSuchEntity", err)
	}
	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("s3crr-replication")})
	if !errors.As(err, &nse) {
		t.Errorf("DeleteRole twice: err = %v, want NoSuchEntityException", err)
	}
}

func TestIAMListRoles(t *testing.T) {
	e := newIAMEnv(t, Options{})
	ctx := t.Context()
	c := e.iam(SourceAccount)
	trust := iamTrust(`{"AWS":"111111111111"}`, "")
	for _, r := range []struct{ name, path string }{{"b", "/s3crr/"}, {"a", "/s3crr/"}, {"c", "/"}, {"d", "/s3crr/sub/"}} {
		if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(r.name), Path: aws.String(r.path), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
			t.Fatalf("create role %s: %v", r.name, err)
		}
	}
	tests := []struct {
		give string
		want []string
	}{
		{give: "", want: []string{"a", "b", "c", "d"}},
		{give: "/s3crr/", want: []string{"a", "b", "d"}},
		{give: "/s3crr/sub/", want: []string{"d"}},
		{give: "/other/", want: nil},
	}
	for _, tt := range tests {
		in := &iam.ListRolesInput{}
		if tt.give != "" {
			in.PathPrefix = aws.String(tt.give)
		}
		out, err := c.ListRoles(ctx, in)
		if err != nil {
			t.Fatalf("list roles %q: %v", tt.give, err)
		}
		var names []string
		for _, r := range out.Roles {
			names = append(names, aws.ToString(r.RoleName))
			if iamDecode(t, r.AssumeRolePolicyDocument) != trust {
				t.Errorf("ListRoles %s: trust document not returned", aws.ToString(r.RoleName))
			}
		}
		if fmt.Sprint(names) != fmt.Sprint(tt.want) {
			t.Errorf("ListRoles(PathPrefix=%q) = %v, want %v", tt.give, names, tt.want)
		}
	}

	// Paging: two pages of two.
	p1, err := c.ListRoles(ctx, &iam.ListRolesInput{MaxItems: aws.Int32(2)})
	if err != nil {
		t.Fatalf("list roles page 1: %v", err)
	}
	if !p1.IsTruncated || len(p1.Roles) != 2 || p1.Marker == nil {
		t.Fatalf("page 1: truncated=%v roles=%d marker=%v, want a truncated page of 2", p1.IsTruncated, len(p1.Roles), p1.Marker)
	}
	p2, err := c.ListRoles(ctx, &iam.ListRolesInput{MaxItems: aws.Int32(2), Marker: p1.Marker})
	if err != nil {
		t.Fatalf("list roles page 2: %v", err)
	}
	if p2.IsTruncated || len(p2.Roles) != 2 || aws.ToString(p2.Roles[0].RoleName) != "c" {
		t.Errorf("page 2: truncated=%v roles=%d, want the last 2 starting at c", p2.IsTruncated, len(p2.Roles))
	}
}

func TestIAMCreateRoleErrors(t *testing.T) {
	e := newIAMEnv(t, Options{})
	ctx := t.Context()
	c := e.iam(SourceAccount)
	ok := iamTrust(`{"AWS":"111111111111"}`, "")
	e.createRole(SourceAccount, "existing", ok)

	bigCond := fmt.Sprintf(`{"StringEquals":{"sts:ExternalId":%q}}`, iamPad(2100))
	tests := []struct {
		name     string
		give     iam.CreateRoleInput
		wantCode string
		wantType any
	}{
		{name: "duplicate", give: iam.CreateRoleInput{RoleName: aws.String("existing"), AssumeRolePolicyDocument: aws.String(ok)},
			wantCode: "EntityAlreadyExists", wantType: &iamtypes.EntityAlreadyExistsException{}},
		{name: "duplicate ignoring case and path", give: iam.CreateRoleInput{RoleName: aws.String("EXISTING"), Path: aws.String("/x/"), AssumeRolePolicyDocument: aws.String(ok)},
			wantCode: "EntityAlreadyExists", wantType: &iamtypes.EntityAlreadyExistsException{}},
		{name: "name charset", give: iam.CreateRoleInput{RoleName: aws.String("bad name!"), AssumeRolePolicyDocument: aws.String(ok)},
			wantCode: "ValidationError"},
		{name: "name too long", give: iam.CreateRoleInput{RoleName: aws.String(iamPad(65)), AssumeRolePolicyDocument: aws.String(ok)},
			wantCode: "ValidationError"},
		{name: "path without trailing slash", give: iam.CreateRoleInput{RoleName: aws.String("p"), Path: aws.String("/s3crr"), AssumeRolePolicyDocument: aws.String(ok)},
			wantCode: "ValidationError"},
		{name: "max session too long", give: iam.CreateRoleInput{RoleName: aws.String("m"), MaxSessionDuration: aws.Int32(50000), AssumeRolePolicyDocument: aws.String(ok)},
			wantCode: "ValidationError"},
		{name: "trust not JSON", give: iam.CreateRoleInput{RoleName: aws.String("j"), AssumeRolePolicyDocument: aws.String("{nope")},
			wantCode: "MalformedPolicyDocument", wantType: &iamtypes.MalformedPolicyDocumentException{}},
		{name: "trust without Principal", give: iam.CreateRoleInput{RoleName: aws.String("np"), AssumeRolePolicyDocument: aws.String(iamAllow("sts:AssumeRole", "*", ""))},
			wantCode: "MalformedPolicyDocument", wantType: &iamtypes.MalformedPolicyDocumentException{}},
		{name: "trust names a role that does not exist", give: iam.CreateRoleInput{RoleName: aws.String("nr"), AssumeRolePolicyDocument: aws.String(iamTrust(`{"AWS":"arn:aws:iam::000000000000:role/nobody"}`, ""))},
			wantCode: "MalformedPolicyDocument", wantType: &iamtypes.MalformedPolicyDocumentException{}},
		{name: "trust over 2048 characters", give: iam.CreateRoleInput{RoleName: aws.String("big"), AssumeRolePolicyDocument: aws.String(iamTrust(`{"AWS":"111111111111"}`, bigCond))},
			wantCode: "LimitExceeded", wantType: &iamtypes.LimitExceededException{}},
		{name: "boundary that does not exist", give: iam.CreateRoleInput{RoleName: aws.String("b"), AssumeRolePolicyDocument: aws.String(ok), PermissionsBoundary: aws.String("arn:aws:iam::111111111111:policy/none")},
			wantCode: "NoSuchEntity", wantType: &iamtypes.NoSuchEntityException{}},
		{name: "boundary ARN malformed", give: iam.CreateRoleInput{RoleName: aws.String("b2"), AssumeRolePolicyDocument: aws.String(ok), PermissionsBoundary: aws.String("not-an-arn-but-long-enough")},
			wantCode: "InvalidInput", wantType: &iamtypes.InvalidInputException{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.give
			_, err := c.CreateRole(ctx, &in)
			if got := apiCode(err); got != tt.wantCode {
				t.Fatalf("CreateRole err = %v, want code %s", err, tt.wantCode)
			}
			if tt.wantType != nil && !errors.As(err, &tt.wantType) {
				t.Errorf("CreateRole err = %T, want %T", err, tt.wantType)
			}
		})
	}
	// A failed create leaves nothing behind.
	out, err := c.ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil || len(out.Roles) != 1 {
		t.Errorf("roles after failed creates: %d (err %v), want only \"existing\"", len(out.Roles), err)
	}
}

func TestIAMInlinePolicies(t *testing.T) {
	e := newIAMEnv(t, Options{})
	ctx := t.Context()
	c := e.iam(SourceAccount)
	e.createRole(SourceAccount, "r", iamTrust(`{"AWS":"111111111111"}`, ""))
	doc := iamAllow("s3:GetReplicationConfiguration", "arn:aws:s3:::src", "")

	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("replication"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatalf("put role policy: %v", err)
	}
	got, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("replication")})
	if err != nil {
		t.Fatalf("get role policy: %v", err)
	}
	if d := iamDecode(t, got.PolicyDocument); d != doc || aws.ToString(got.RoleName) != "r" || aws.ToString(got.PolicyName) != "replication" {
		t.Errorf("GetRolePolicy = %s/%s %q, want r/replication %q", aws.ToString(got.RoleName), aws.ToString(got.PolicyName), d, doc)
	}
	if strings.ContainsAny(aws.ToString(got.PolicyDocument), `{}":`) {
		t.Errorf("GetRolePolicy document %q is not URL-encoded as IAM returns it", aws.ToString(got.PolicyDocument))
	}
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("second"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatalf("put second policy: %v", err)
	}
	list, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("r")})
	if err != nil || fmt.Sprint(list.PolicyNames) != "[replication second]" {
		t.Errorf("ListRolePolicies = %v (err %v), want [replication second]", list.PolicyNames, err)
	}
	// A role's listings page as ListRoles does: MaxItems, then Marker for the rest.
	p1, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("r"), MaxItems: aws.Int32(1)})
	if err != nil || fmt.Sprint(p1.PolicyNames) != "[replication]" || !p1.IsTruncated || aws.ToString(p1.Marker) == "" {
		t.Fatalf("ListRolePolicies page 1 = %v truncated %v marker %q (err %v)", p1.PolicyNames, p1.IsTruncated, aws.ToString(p1.Marker), err)
	}
	p2, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("r"), MaxItems: aws.Int32(1), Marker: p1.Marker})
	if err != nil || fmt.Sprint(p2.PolicyNames) != "[second]" || p2.IsTruncated {
		t.Errorf("ListRolePolicies page 2 = %v truncated %v (err %v)", p2.PolicyNames, p2.IsTruncated, err)
	}
	if _, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("nobody")}); apiCode(err) != "NoSuchEntity" {
		t.Errorf("ListRolePolicies of a missing role: err = %v, want NoSuchEntity", err)
	}

	var dc *iamtypes.DeleteConflictException
	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("r")})
	if !errors.As(err, &dc) || apiCode(err) != "DeleteConflict" {
		t.Errorf("DeleteRole with inline policies: err = %v, want DeleteConflict", err)
	}

	tests := []struct {
		name     string
		give     iam.PutRolePolicyInput
		wantCode string
		wantType any
	}{
		{name: "principal in identity policy", give: iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("p"),
			PolicyDocument: aws.String(iamTrust(`{"AWS":"111111111111"}`, ""))}, wantCode: "MalformedPolicyDocument", wantType: &iamtypes.MalformedPolicyDocumentException{}},
		{name: "not JSON", give: iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("p"), PolicyDocument: aws.String("[")},
			wantCode: "MalformedPolicyDocument", wantType: &iamtypes.MalformedPolicyDocumentException{}},
		{name: "no such role", give: iam.PutRolePolicyInput{RoleName: aws.String("nope"), PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)},
			wantCode: "NoSuchEntity", wantType: &iamtypes.NoSuchEntityException{}},
		{name: "aggregate over 10240", give: iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("big"),
			PolicyDocument: aws.String(iamAllow("s3:GetObject", "arn:aws:s3:::"+iamPad(10100), ""))}, wantCode: "LimitExceeded", wantType: &iamtypes.LimitExceededException{}},
		{name: "bad policy name", give: iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("a b"), PolicyDocument: aws.String(doc)},
			wantCode: "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.give
			_, err := c.PutRolePolicy(ctx, &in)
			if got := apiCode(err); got != tt.wantCode {
				t.Fatalf("PutRolePolicy err = %v, want code %s", err, tt.wantCode)
			}
			if tt.wantType != nil && !errors.As(err, &tt.wantType) {
				t.Errorf("PutRolePolicy err = %T, want %T", err, tt.wantType)
			}
		})
	}
	// Replacing a policy counts only its new size against the aggregate: a 9 KB
	// document fits when it replaces itself.
	nine := iamAllow("s3:GetObject", "arn:aws:s3:::"+iamPad(9000), "")
	for i := 0; i < 2; i++ {
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("second"), PolicyDocument: aws.String(nine)}); err != nil {
			t.Fatalf("put 9 KB policy (round %d): %v", i, err)
		}
	}

	_, err = c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("missing")})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Errorf("GetRolePolicy missing: err = %v, want NoSuchEntityException", err)
	}
	for _, name := range []string{"replication", "second"} {
		if _, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String(name)}); err != nil {
			t.Fatalf("delete role policy %s: %v", name, err)
		}
	}
	_, err = c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("second")})
	if !errors.As(err, &nse) {
		t.Errorf("DeleteRolePolicy twice: err = %v, want NoSuchEntityException", err)
	}
	if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("r")}); err != nil {
		t.Errorf("DeleteRole without policies: %v", err)
	}
}

func TestIAMManagedPolicies(t *testing.T) {
	e := newIAMEnv(t, Options{})
	ctx := t.Context()
	c := e.iam(SourceAccount)
	e.createRole(SourceAccount, "r", iamTrust(`{"AWS":"111111111111"}`, ""))
	doc := iamAllow("kms:Decrypt", "*", "")

	out, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{
		PolicyName: aws.String("decrypt"), Path: aws.String("/s3crr/"), PolicyDocument: aws.String(doc),
		Description: aws.String("source key"),
	})
	if err != nil {
		t.Fatalf("create policy: %v", err)
	}
	arn := aws.ToString(out.Policy.Arn)
	if arn != "arn:aws:iam::111111111111:policy/s3crr/decrypt" {
		t.Errorf("policy ARN = %q, want the path in it", arn)
	}
	if id := aws.ToString(out.Policy.PolicyId); !iamPolicyIDPattern.MatchString(id) {
		t.Errorf("PolicyId = %q, want ANPA + 17", id)
	}
	if aws.ToString(out.Policy.DefaultVersionId) != "v1" || !out.Policy.IsAttachable {
		t.Errorf("CreatePolicy default version/attachable = %q/%v", aws.ToString(out.Policy.DefaultVersionId), out.Policy.IsAttachable)
	}

	_, err = c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("decrypt"), PolicyDocument: aws.String(doc)})
	var exists *iamtypes.EntityAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Errorf("duplicate CreatePolicy: err = %v, want EntityAlreadyExistsException", err)
	}
	_, err = c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("bad"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}`)})
	var malformed *iamtypes.MalformedPolicyDocumentException
	if !errors.As(err, &malformed) {
		t.Errorf("CreatePolicy without Resource: err = %v, want MalformedPolicyDocumentException", err)
	}
	_, err = c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("huge"), PolicyDocument: aws.String(iamAllow("s3:GetObject", "arn:aws:s3:::"+iamPad(6200), ""))})
	var limit *iamtypes.LimitExceededException
	if !errors.As(err, &limit) {
		t.Errorf("CreatePolicy over 6144: err = %v, want LimitExceededException", err)
	}

	gp, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("get policy: %v", err)
	}
	if aws.ToString(gp.Policy.Description) != "source key" || aws.ToInt32(gp.Policy.AttachmentCount) != 0 {
		t.Errorf("GetPolicy description/attachments = %q/%d", aws.ToString(gp.Policy.Description), aws.ToInt32(gp.Policy.AttachmentCount))
	}
	pv, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v1")})
	if err != nil {
		t.Fatalf("get policy version: %v", err)
	}
	if d := iamDecode(t, pv.PolicyVersion.Document); d != doc || !pv.PolicyVersion.IsDefaultVersion {
		t.Errorf("GetPolicyVersion = %q default=%v, want %q default", d, pv.PolicyVersion.IsDefaultVersion, doc)
	}
	var nse *iamtypes.NoSuchEntityException
	if _, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v2")}); !errors.As(err, &nse) {
		t.Errorf("GetPolicyVersion v2: err = %v, want NoSuchEntityException", err)
	}
	if _, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::111111111111:policy/none")}); !errors.As(err, &nse) {
		t.Errorf("GetPolicy missing: err = %v, want NoSuchEntityException", err)
	}

	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(arn)}); err != nil {
		t.Fatalf("attach: %v", err)
	}
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(arn)}); err != nil {
		t.Fatalf("attach again (idempotent): %v", err)
	}
	att, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("r")})
	if err != nil || len(att.AttachedPolicies) != 1 || aws.ToString(att.AttachedPolicies[0].PolicyArn) != arn || aws.ToString(att.AttachedPolicies[0].PolicyName) != "decrypt" {
		t.Errorf("ListAttachedRolePolicies = %+v (err %v), want [decrypt]", att, err)
	}
	gp, _ = c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if aws.ToInt32(gp.Policy.AttachmentCount) != 1 {
		t.Errorf("AttachmentCount after attach = %d, want 1", aws.ToInt32(gp.Policy.AttachmentCount))
	}

	var dc *iamtypes.DeleteConflictException
	if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("r")}); !errors.As(err, &dc) {
		t.Errorf("DeleteRole with attached policy: err = %v, want DeleteConflictException", err)
	}
	if _, err := c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(arn)}); !errors.As(err, &dc) {
		t.Errorf("DeletePolicy while attached: err = %v, want DeleteConflictException", err)
	}
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String("arn:aws:iam::111111111111:policy/none")}); !errors.As(err, &nse) {
		t.Errorf("attach missing policy: err = %v, want NoSuchEntityException", err)
	}
	// Another account's policy is not attachable.
	other, err := e.iam(DestinationAccount).CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("theirs"), PolicyDocument: aws.String(doc)})
	if err != nil {
		t.Fatalf("create policy in B: %v", err)
	}
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: other.Policy.Arn}); !errors.As(err, &nse) {
		t.Errorf("attach another account's policy: err = %v, want NoSuchEntityException", err)
	}

	// Quota: ten managed policies per role.
	for i := 2; i <= 11; i++ {
		p, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(fmt.Sprintf("p%d", i)), PolicyDocument: aws.String(doc)})
		if err != nil {
			t.Fatalf("create policy p%d: %v", i, err)
		}
		_, err = c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: p.Policy.Arn})
		if i <= 10 && err != nil {
			t.Fatalf("attach policy %d: %v", i, err)
		}
		if i == 11 && !errors.As(err, &limit) {
			t.Errorf("attach 11th policy: err = %v, want LimitExceededException", err)
		}
	}

	if _, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(arn)}); err != nil {
		t.Fatalf("detach: %v", err)
	}
	if _, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(arn)}); !errors.As(err, &nse) {
		t.Errorf("detach twice: err = %v, want NoSuchEntityException", err)
	}
	if _, err := c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(arn)}); err != nil {
		t.Errorf("delete detached policy: %v", err)
	}
	lp, err := c.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal, OnlyAttached: true})
	if err != nil || len(lp.Policies) != 9 {
		t.Errorf("ListPolicies(Local, OnlyAttached) = %d policies (err %v), want the 9 still attached", len(lp.Policies), err)
	}
}

func TestIAMBoundaryAndTags(t *testing.T) {
	e := newIAMEnv(t, Options{})
	ctx := t.Context()
	c := e.iam(SourceAccount)
	e.createRole(SourceAccount, "r", iamTrust(`{"AWS":"111111111111"}`, ""))
	p, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("boundary"), PolicyDocument: aws.String(iamAllow("s3:*", "*", ""))})
	if err != nil {
		t.Fatalf("create policy: %v", err)
	}
	if _, err := c.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String("r"), PermissionsBoundary: p.Policy.Arn}); err != nil {
		t.Fatalf("put boundary: %v", err)
	}
	got, _ := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("r")})
	if got.Role.PermissionsBoundary == nil || aws.ToString(got.Role.PermissionsBoundary.PermissionsBoundaryArn) != aws.ToString(p.Policy.Arn) {
		t.Errorf("boundary after put = %+v", got.Role.PermissionsBoundary)
	}
	gp, _ := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: p.Policy.Arn})
	if aws.ToInt32(gp.Policy.PermissionsBoundaryUsageCount) != 1 {
		t.Errorf("PermissionsBoundaryUsageCount = %d, want 1", aws.ToInt32(gp.Policy.PermissionsBoundaryUsageCount))
	}
	var nse *iamtypes.NoSuchEntityException
	if _, err := c.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String("r"), PermissionsBoundary: aws.String("arn:aws:iam::111111111111:policy/none")}); !errors.As(err, &nse) {
		t.Errorf("put missing boundary: err = %v, want NoSuchEntityException", err)
	}
	if _, err := c.DeleteRolePermissionsBoundary(ctx, &iam.DeleteRolePermissionsBoundaryInput{RoleName: aws.String("r")}); err != nil {
		t.Fatalf("delete boundary: %v", err)
	}
	got, _ = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("r")})
	if got.Role.PermissionsBoundary != nil {
		t.Errorf("boundary after delete = %+v, want none", got.Role.PermissionsBoundary)
	}

	tag := func(k, v string) iamtypes.Tag { return iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)} }
	if _, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("r"), Tags: []iamtypes.Tag{tag("b", "2"), tag("a", "1")}}); err != nil {
		t.Fatalf("tag role: %v", err)
	}
	if _, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("r"), Tags: []iamtypes.Tag{tag("a", "changed")}}); err != nil {
		t.Fatalf("retag role: %v", err)
	}
	tags, err := c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("r")})
	if err != nil {
		t.Fatalf("list role tags: %v", err)
	}
	var kv []string
	for _, t := range tags.Tags {
		kv = append(kv, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	if fmt.Sprint(kv) != "[a=changed b=2]" {
		t.Errorf("ListRoleTags = %v, want [a=changed b=2]", kv)
	}
	if _, err := c.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String("r"), TagKeys: []string{"a"}}); err != nil {
		t.Fatalf("untag role: %v", err)
	}
	tags, _ = c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("r")})
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "b" {
		t.Errorf("tags after untag = %+v, want only b", tags.Tags)
	}
	many := make([]iamtypes.Tag, 50)
	for i := range many {
		many[i] = tag(fmt.Sprintf("k%02d", i), "v")
	}
	var limit *iamtypes.LimitExceededException
	if _, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("r"), Tags: many}); !errors.As(err, &limit) {
		t.Errorf("tag past 50: err = %v, want LimitExceededException", err)
	}
	var invalid *iamtypes.InvalidInputException
	if _, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("r"), Tags: []iamtypes.Tag{tag("K", "1"), tag("k", "2")}}); !errors.As(err, &invalid) {
		t.Errorf("duplicate tag keys: err = %v, want InvalidInputException", err)
	}
	if _, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("nope"), Tags: []iamtypes.Tag{tag("a", "1")}}); !errors.As(err, &nse) {
		t.Errorf("tag missing role: err = %v, want NoSuchEntityException", err)
	}
}

// A delegated administrator may create roles only with the approved permissions boundary,
// and a role created that way can do no more than the boundary allows.
func TestIAMPermissionsBoundaryCondition(t *testing.T) {
	e := newIAMEnv(t, Options{})
	ctx := t.Context()
	root := e.iam(SourceAccount)
	bnd, err := root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("s3crr-boundary"), PolicyDocument: aws.String(iamAllow("s3:*", "*", ""))})
	if err != nil {
		t.Fatalf("create boundary: %v", err)
	}
	boundaryARN := aws.ToString(bnd.Policy.Arn)
	e.createRole(SourceAccount, "provisioner", iamTrust(`{"AWS":"111111111111"}`, ""))
	e.putRolePolicy(SourceAccount, "provisioner", "create-with-boundary", fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["iam:CreateRole","iam:PutRolePolicy"],"Resource":"arn:aws:iam::111111111111:role/s3crr/*",
		 "Condition":{"StringEquals":{"iam:PermissionsBoundary":%q}}},
		{"Effect":"Allow","Action":["iam:GetRole","sts:AssumeRole"],"Resource":"*"}]}`, boundaryARN))
	prov := e.sessionIAM(e.assume(e.sts(SourceAccount), "arn:aws:iam::111111111111:role/provisioner", "prov"))

	// The new role trusts the provisioner's account and gets an inline policy allowing
	// everything; the boundary keeps it to S3.
	create := func(name string, boundary *string) error {
		_, err := prov.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName: aws.String(name), Path: aws.String("/s3crr/"), PermissionsBoundary: boundary,
			AssumeRolePolicyDocument: aws.String(iamTrust(`{"AWS":"111111111111"}`, "")),
		})
		return err
	}
	err = create("without", nil)
	if apiCode(err) != "AccessDenied" || !strings.Contains(err.Error(), "iam:CreateRole") {
		t.Errorf("CreateRole without boundary: err = %v, want AccessDenied naming iam:CreateRole", err)
	}
	other, _ := root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("other"), PolicyDocument: aws.String(iamAllow("*", "*", ""))})
	if err := create("wrong", other.Policy.Arn); apiCode(err) != "AccessDenied" {
		t.Errorf("CreateRole with another boundary: err = %v, want AccessDenied", err)
	}
	if err := create("with", aws.String(boundaryARN)); err != nil {
		t.Fatalf("CreateRole with the approved boundary: %v", err)
	}
	// PutRolePolicy sees the role's existing boundary in iam:PermissionsBoundary.
	if _, err := prov.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("with"), PolicyName: aws.String("all"), PolicyDocument: aws.String(iamAllow("*", "*", ""))}); err != nil {
		t.Fatalf("PutRolePolicy on a bounded role: %v", err)
	}
	// Outside the allowed path, nothing is allowed.
	if _, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("unbounded"), Path: aws.String("/s3crr/"), AssumeRolePolicyDocument: aws.String(iamTrust(`{"AWS":"111111111111"}`, ""))}); err != nil {
		t.Fatalf("root creates unbounded role: %v", err)
	}
	if _, err := prov.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("unbounded"), PolicyName: aws.String("all"), PolicyDocument: aws.String(iamAllow("*", "*", ""))}); apiCode(err) != "AccessDenied" {
		t.Errorf("PutRolePolicy on an unbounded role: err = %v, want AccessDenied", err)
	}

	bounded := e.sessionIAM(e.assume(e.sts(SourceAccount), "arn:aws:iam::111111111111:role/s3crr/with", "bounded"))
	if _, err := bounded.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("with")}); apiCode(err) != "AccessDenied" || !strings.Contains(err.Error(), "permissions boundary") {
		t.Errorf("bounded role calling IAM: err = %v, want AccessDenied by the permissions boundary", err)
	}
}

// AttachRolePolicy and DetachRolePolicy carry the policy's ARN in iam:PolicyARN, so an
// administrator can be limited to attaching approved policies.
func TestIAMPolicyARNCondition(t *testing.T) {
	e := newIAMEnv(t, Options{})
	ctx := t.Context()
	root := e.iam(SourceAccount)
	var arns []string
	for _, name := range []string{"approved", "other"} {
		out, err := root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(iamAllow("s3:GetObject", "*", ""))})
		if err != nil {
			t.Fatalf("create policy %s: %v", name, err)
		}
		arns = append(arns, aws.ToString(out.Policy.Arn))
	}
	approved, other := arns[0], arns[1]
	e.createRole(SourceAccount, "target", iamTrust(`{"AWS":"111111111111"}`, ""))
	e.createRole(SourceAccount, "admin", iamTrust(`{"AWS":"111111111111"}`, ""))
	e.putRolePolicy(SourceAccount, "admin", "attach-approved", fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["iam:AttachRolePolicy","iam:DetachRolePolicy"],"Resource":"arn:aws:iam::111111111111:role/target",
		 "Condition":{"ArnEquals":{"iam:PolicyARN":%q}}}]}`, approved))
	admin := e.sessionIAM(e.assume(e.sts(SourceAccount), "arn:aws:iam::111111111111:role/admin", "admin"))

	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"attach the approved policy", func() error {
			_, err := admin.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("target"), PolicyArn: aws.String(approved)})
			return err
		}, ""},
		{"attach another policy", func() error {
			_, err := admin.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("target"), PolicyArn: aws.String(other)})
			return err
		}, "AccessDenied"},
		{"detach the approved policy", func() error {
			_, err := admin.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("target"), PolicyArn: aws.String(approved)})
			return err
		}, ""},
	}
	for _, tt := range tests {
		if err := tt.call(); apiCode(err) != tt.want {
			t.Errorf("%s: err = %v, want code %q", tt.name, err, tt.want)
		}
	}
}

// IAM authorizes before it looks: a caller without permission gets AccessDenied whether or
// not the role exists, and actions without resource-level permissions need Resource "*".
func TestIAMAuthorization(t *testing.T) {
	e := newIAMEnv(t, Options{})
	ctx := t.Context()
	e.createRole(SourceAccount, "reader", iamTrust(`{"AWS":"111111111111"}`, ""))
	e.createRole(SourceAccount, "target", iamTrust(`{"AWS":"111111111111"}`, ""))
	e.putRolePolicy(SourceAccount, "reader", "read", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"iam:GetRole","Resource":"arn:aws:iam::111111111111:role/target"},
		{"Effect":"Allow","Action":"iam:ListRoles","Resource":"arn:aws:iam::111111111111:role/*"}]}`)
	c := e.sessionIAM(e.assume(e.sts(SourceAccount), "arn:aws:iam::111111111111:role/reader", "reader-session"))

	tests := []struct {
		name     string
		call     func() error
		wantCode string
	}{
		{name: "allowed resource", call: func() error {
			_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("target")})
			return err
		}},
		{name: "other role", call: func() error {
			_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("reader")})
			return err
		}, wantCode: "AccessDenied"},
		{name: "missing role is not revealed", call: func() error {
			_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("ghost")})
			return err
		}, wantCode: "AccessDenied"},
		{name: "ListRoles needs Resource *", call: func() error {
			_, err := c.ListRoles(ctx, &iam.ListRolesInput{})
			return err
		}, wantCode: "AccessDenied"},
		{name: "mutation not granted", call: func() error {
			_, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("target")})
			return err
		}, wantCode: "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if got := apiCode(err); got != tt.wantCode {
				t.Errorf("err = %v, want code %q", err, tt.wantCode)
			}
		})
	}
	if _, err := e.iam(SourceAccount).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("target")}); err != nil {
		t.Errorf("target must still exist: %v", err)
	}
}

func TestIAMResourceTagCondition(t *testing.T) {
	e := newIAMEnv(t, Options{})
	ctx := t.Context()
	root := e.iam(SourceAccount)
	e.createRole(SourceAccount, "admin", iamTrust(`{"AWS":"111111111111"}`, ""))
	e.putRolePolicy(SourceAccount, "admin", "tagged-only", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["iam:CreateRole","iam:TagRole"],"Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/owner":"s3crr"}}},
		{"Effect":"Allow","Action":"iam:DeleteRole","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/owner":"s3crr"}}}]}`)
	admin := e.sessionIAM(e.assume(e.sts(SourceAccount), "arn:aws:iam::111111111111:role/admin", "admin-session"))
	trust := aws.String(iamTrust(`{"AWS":"111111111111"}`, ""))

	if _, err := admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("untagged"), AssumeRolePolicyDocument: trust}); apiCode(err) != "AccessDenied" {
		t.Errorf("CreateRole without the request tag: err = %v, want AccessDenied", err)
	}
	if _, err := admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("mine"), AssumeRolePolicyDocument: trust,
		Tags: []iamtypes.Tag{{Key: aws.String("owner"), Value: aws.String("s3crr")}}}); err != nil {
		t.Fatalf("CreateRole with the request tag: %v", err)
	}
	// Creating a tagged role also needs iam:TagRole.
	e.putRolePolicy(SourceAccount, "admin", "no-tagrole", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:TagRole","Resource":"arn:aws:iam::111111111111:role/denied-tags"}]}`)
	if _, err := admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("denied-tags"), AssumeRolePolicyDocument: trust,
		Tags: []iamtypes.Tag{{Key: aws.String("owner"), Value: aws.String("s3crr")}}}); apiCode(err) != "AccessDenied" || !strings.Contains(err.Error(), "iam:TagRole") {
		t.Errorf("CreateRole with tags but without iam:TagRole: err = %v, want AccessDenied naming iam:TagRole", err)
	}
	if _, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("theirs"), AssumeRolePolicyDocument: trust}); err != nil {
		t.Fatalf("root CreateRole: %v", err)
	}
	if _, err := admin.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("theirs")}); apiCode(err) != "AccessDenied" {
		t.Errorf("DeleteRole of an untagged role: err = %v, want AccessDenied", err)
	}
	if _, err := admin.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("mine")}); err != nil {
		t.Errorf("DeleteRole of a role tagged owner=s3crr: %v", err)
	}
}

func TestIAMPassRole(t *testing.T) {
	e := newIAMEnv(t, Options{})
	replARN := e.createRole(SourceAccount, "replication", iamTrust(`{"Service":"s3.amazonaws.com"}`, ""))
	otherARN := e.createRole(DestinationAccount, "replication", iamTrust(`{"Service":"s3.amazonaws.com"}`, ""))
	e.createRole(SourceAccount, "provisioner", iamTrust(`{"AWS":"111111111111"}`, ""))
	e.createRole(SourceAccount, "nobody", iamTrust(`{"AWS":"111111111111"}`, ""))
	e.putRolePolicy(SourceAccount, "provisioner", "pass", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"s3.amazonaws.com"}}}]}`)

	root := &principal{account: SourceAccount, arn: rootARN(SourceAccount), isRoot: true}
	prov := &principal{account: SourceAccount, arn: "arn:aws:sts::111111111111:assumed-role/provisioner/p",
		roleARN: "arn:aws:iam::111111111111:role/provisioner", roleName: "provisioner", sessionName: "p"}
	nobody := &principal{account: SourceAccount, arn: "arn:aws:sts::111111111111:assumed-role/nobody/n",
		roleARN: "arn:aws:iam::111111111111:role/nobody", roleName: "nobody", sessionName: "n"}

	tests := []struct {
		name    string
		p       *principal
		role    string
		service string
		want    bool
	}{
		{name: "root of the role's account", p: root, role: replARN, service: "s3.amazonaws.com", want: true},
		{name: "allowed to s3", p: prov, role: replARN, service: "s3.amazonaws.com", want: true},
		{name: "not to lambda", p: prov, role: replARN, service: "lambda.amazonaws.com", want: false},
		{name: "no PassRole", p: nobody, role: replARN, service: "s3.amazonaws.com", want: false},
		{name: "another account's role", p: prov, role: otherARN, service: "s3.amazonaws.com", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.s.mu.Lock()
			err := e.s.authorizePassRole(tt.p, tt.role, tt.service, nil)
			e.s.mu.Unlock()
			if (err == nil) != tt.want {
				t.Fatalf("authorizePassRole = %v, want allowed=%v", err, tt.want)
			}
			if err != nil && (err.Code != "AccessDenied" || !strings.Contains(err.Message, "iam:PassRole")) {
				t.Errorf("denial = %s: %s, want AccessDenied naming iam:PassRole", err.Code, err.Message)
			}
		})
	}
}

// The IAM and STS counters record one call per operation, split into mutating and
// read-only, including calls that fail; throttling faults use IAM's code and count each try.
func TestIAMSTSCallCounters(t *testing.T) {
	e := newIAMEnv(t, Options{})
	ctx := t.Context()
	c := e.iam(SourceAccount)
	arn := e.createRole(SourceAccount, "r", iamTrust(`{"AWS":"111111111111"}`, ""))
	for i := 0; i < 2; i++ {
		if _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("r")}); err != nil {
			t.Fatalf("get role: %v", err)
		}
	}
	if _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("missing")}); apiCode(err) != "NoSuchEntity" {
		t.Fatalf("get missing role: %v", err)
	}
	creds := e.assume(e.sts(SourceAccount), arn, "counter")
	if _, err := e.sessionSTS(creds).GetCallerIdentity(ctx, nil); err != nil {
		t.Fatalf("get caller identity: %v", err)
	}

	tests := []struct {
		account, service, op string
		wantCount            int
		wantMutating         bool
	}{
		{SourceAccount, "iam", "CreateRole", 1, true},
		{SourceAccount, "iam", "GetRole", 3, false},
		{SourceAccount, "sts", "AssumeRole", 1, false},
		// The session belongs to the role's account.
		{SourceAccount, "sts", "GetCallerIdentity", 1, false},
		{DestinationAccount, "iam", "GetRole", 0, false},
	}
	for _, tt := range tests {
		n, mut := iamCount(e.s, tt.account, tt.service, tt.op)
		if n != tt.wantCount || mut != tt.wantMutating {
			t.Errorf("%s %s %s: count %d mutating %v, want %d %v", tt.account, tt.service, tt.op, n, mut, tt.wantCount, tt.wantMutating)
		}
	}
	if got := e.s.MutatingCalls(SourceAccount); got != 1 {
		t.Errorf("MutatingCalls(A) = %d, want 1 (CreateRole)", got)
	}

	e.s.ResetCalls()
	e.s.InjectFault(Throttle("iam", "GetRole", 2))
	_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("r")})
	if apiCode(err) != "Throttling" {
		t.Errorf("throttled GetRole: err = %v, want Throttling", err)
	}
	if n, _ := iamCount(e.s, SourceAccount, "iam", "GetRole"); n != 2 {
		t.Errorf("throttled GetRole counted %d times, want 2 (the SDK retried once)", n)
	}
	if _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("r")}); err != nil {
		t.Errorf("GetRole after the fault is exhausted: %v", err)
	}
}
