package authz

import "testing"

// A resource policy may grant to Principal "*" and name who by global condition keys:
// aws:PrincipalArn (ArnLike, with wildcards in any ARN part, the account included),
// aws:PrincipalAccount and aws:PrincipalOrgID (docs/aws-facts.md#F-SHARED-GRANT). The
// policies are written here by hand from the documentation, in the shape s3crr's shared
// destination grants take, for a bucket policy (ModeStandard) and a key policy (ModeKMS).
func TestPrincipalConditionKeysOnAWildcardPrincipal(t *testing.T) {
	const (
		org      = "o-a1b2c3d4e5"
		dstObj   = "arn:aws:s3:::dst/logs/a.txt"
		replRole = "arn:aws:iam::111111111111:role/s3crr/s3crr-repl-pay"
		other    = "arn:aws:iam::111111111111:role/s3crr/someone-else"
		acctC    = "333333333333"
		keyARN   = "arn:aws:kms:eu-west-1:222222222222:key/k"
	)
	byAccounts := mustParse(t, doc(`{"Effect":"Allow","Principal":"*","Action":"s3:ReplicateObject","Resource":"arn:aws:s3:::dst/logs/*",
		"Condition":{"StringEquals":{"aws:PrincipalAccount":["111111111111","444444444444"]},"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/s3crr/s3crr-repl-*"}}}`))
	byOrg := mustParse(t, doc(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:ReplicateObject","Resource":"arn:aws:s3:::dst/logs/*",
		"Condition":{"StringEquals":{"aws:PrincipalOrgID":"`+org+`"},"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/s3crr/s3crr-repl-*"}}}`))
	keyByAccounts := mustParse(t, doc(`{"Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*",
		"Condition":{"StringEquals":{"aws:PrincipalAccount":["111111111111"],"kms:ViaService":"s3.eu-west-1.amazonaws.com"},"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/s3crr/s3crr-repl-*"}}}`))
	writer := mustParse(t, doc(allowStmt("s3:ReplicateObject", "*", "")))
	encrypter := mustParse(t, doc(allowStmt("kms:Encrypt", "*", "")))
	as := func(arn, account, orgID string) Principal { return Principal{Account: account, ARN: arn, OrgID: orgID} }
	via := map[string][]string{"kms:ViaService": {"s3.eu-west-1.amazonaws.com"}}
	tests := []struct {
		name string
		in   Input
		want bool
	}{
		{"listed account, s3crr role", Input{Request: Request{Principal: as(replRole, acctA, ""), Action: "s3:ReplicateObject", Resource: dstObj},
			Identity: []*Policy{writer}, Resource: byAccounts, ResourceAccount: acctB}, true},
		{"listed account, another role", Input{Request: Request{Principal: as(other, acctA, ""), Action: "s3:ReplicateObject", Resource: dstObj},
			Identity: []*Policy{writer}, Resource: byAccounts, ResourceAccount: acctB}, false},
		{"unlisted account, s3crr role name", Input{Request: Request{Principal: as("arn:aws:iam::333333333333:role/s3crr/s3crr-repl-pay", acctC, ""), Action: "s3:ReplicateObject", Resource: dstObj},
			Identity: []*Policy{writer}, Resource: byAccounts, ResourceAccount: acctB}, false},
		{"listed account, outside the prefix", Input{Request: Request{Principal: as(replRole, acctA, ""), Action: "s3:ReplicateObject", Resource: "arn:aws:s3:::dst/secret/a.txt"},
			Identity: []*Policy{writer}, Resource: byAccounts, ResourceAccount: acctB}, false},
		{"organization member, s3crr role", Input{Request: Request{Principal: as("arn:aws:iam::333333333333:role/s3crr/s3crr-repl-x", acctC, org), Action: "s3:ReplicateObject", Resource: dstObj},
			Identity: []*Policy{writer}, Resource: byOrg, ResourceAccount: acctB}, true},
		{"account of another organization", Input{Request: Request{Principal: as(replRole, acctA, "o-zzzzzzzzzz"), Action: "s3:ReplicateObject", Resource: dstObj},
			Identity: []*Policy{writer}, Resource: byOrg, ResourceAccount: acctB}, false},
		{"account in no organization", Input{Request: Request{Principal: as(replRole, acctA, ""), Action: "s3:ReplicateObject", Resource: dstObj},
			Identity: []*Policy{writer}, Resource: byOrg, ResourceAccount: acctB}, false},
		{"key: listed account, s3crr role, through S3", Input{Request: Request{Principal: as(replRole, acctA, ""), Action: "kms:Encrypt", Resource: keyARN, Context: via},
			Identity: []*Policy{encrypter}, Resource: keyByAccounts, Mode: ModeKMS, ResourceAccount: acctB}, true},
		{"key: not through S3", Input{Request: Request{Principal: as(replRole, acctA, ""), Action: "kms:Encrypt", Resource: keyARN},
			Identity: []*Policy{encrypter}, Resource: keyByAccounts, Mode: ModeKMS, ResourceAccount: acctB}, false},
		{"key: another role of the account", Input{Request: Request{Principal: as(other, acctA, ""), Action: "kms:Encrypt", Resource: keyARN, Context: via},
			Identity: []*Policy{encrypter}, Resource: keyByAccounts, Mode: ModeKMS, ResourceAccount: acctB}, false},
		{"key: the caller's own identity policy does not allow", Input{Request: Request{Principal: as(replRole, acctA, ""), Action: "kms:Encrypt", Resource: keyARN, Context: via},
			Resource: keyByAccounts, Mode: ModeKMS, ResourceAccount: acctB}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Authorize(tt.in); got.Allowed != tt.want {
				t.Errorf("Allowed = %v (%s), want %v", got.Allowed, got.Reason, tt.want)
			}
		})
	}
}
