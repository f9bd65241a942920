package authz

import "testing"

// aws:PrincipalOrgID and aws:ResourceOrgID are the organizations of the caller's and of
// the resource owner's account, and absent for an account in no organization
// (docs/aws-facts.md#F-IAM-ORG-CONDITION-KEYS): a StringEquals on either matches only
// inside the organization, and never when the account has none.
func TestOrganizationConditionKeys(t *testing.T) {
	const org = "o-a1b2c3d4e5"
	resourceOrg := mustParse(t, doc(allowStmt("sts:AssumeRole", "arn:aws:iam::*:role/s3crr-provisioner",
		`{"StringEquals":{"aws:ResourceOrgID":"`+org+`"}}`)))
	principalOrg := mustParse(t, doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"`+srcObj+`",
		"Condition":{"StringEquals":{"aws:PrincipalOrgID":"`+org+`"}}}`))
	// The other side of each cross-account request allows it: the role's trust names the
	// hub role, the caller's identity policy allows the read.
	trust := mustParse(t, doc(`{"Effect":"Allow","Principal":{"AWS":"`+roleHub+`"},"Action":"sts:AssumeRole"}`))
	reader := mustParse(t, doc(allowStmt("s3:GetObject", "*", "")))
	tests := []struct {
		name string
		in   Input
		want bool
	}{
		{"role in an account of the organization", Input{Request: Request{Principal: callerHub, Action: "sts:AssumeRole",
			Resource: "arn:aws:iam::" + acctA + ":role/s3crr-provisioner"}, Identity: []*Policy{resourceOrg}, Resource: trust, Mode: ModeTrust, ResourceAccount: acctA, ResourceOrgID: org}, true},
		{"role in another organization", Input{Request: Request{Principal: callerHub, Action: "sts:AssumeRole",
			Resource: "arn:aws:iam::" + acctA + ":role/s3crr-provisioner"}, Identity: []*Policy{resourceOrg}, Resource: trust, Mode: ModeTrust, ResourceAccount: acctA, ResourceOrgID: "o-zzzzzzzzzz"}, false},
		{"role in an account without organization", Input{Request: Request{Principal: callerHub, Action: "sts:AssumeRole",
			Resource: "arn:aws:iam::" + acctA + ":role/s3crr-provisioner"}, Identity: []*Policy{resourceOrg}, Resource: trust, Mode: ModeTrust, ResourceAccount: acctA}, false},
		{"caller in the organization", Input{Request: Request{Principal: Principal{Account: acctB, ARN: roleHub, OrgID: org}, Action: "s3:GetObject",
			Resource: srcObj}, Identity: []*Policy{reader}, Resource: principalOrg, ResourceAccount: acctA}, true},
		{"caller in no organization", Input{Request: Request{Principal: callerHub, Action: "s3:GetObject",
			Resource: srcObj}, Identity: []*Policy{reader}, Resource: principalOrg, ResourceAccount: acctA}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Authorize(tt.in); got.Allowed != tt.want {
				t.Errorf("Allowed = %v (%s), want %v", got.Allowed, got.Reason, tt.want)
			}
		})
	}
	for _, k := range []string{"aws:PrincipalOrgID", "aws:ResourceOrgID"} {
		if !KnownConditionKey(k) {
			t.Errorf("%s is not a known condition key", k)
		}
	}
}
