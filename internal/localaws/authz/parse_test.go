package authz

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseAcceptedShapes(t *testing.T) {
	tests := []struct {
		name string
		give string
		want Statement // compared on the fields below; Raw is ignored
	}{
		{
			name: "statement object with string fields",
			give: `{"Version":"2012-10-17","Statement":{"Sid":"A","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`,
			want: Statement{Sid: "A", Effect: Allow, Actions: []string{"s3:GetObject"}, Resources: []string{"arn:aws:s3:::b/*"}},
		},
		{
			name: "statement array with array fields",
			give: `{"Statement":[{"Effect":"Deny","NotAction":["s3:Get*","s3:List*"],"NotResource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}`,
			want: Statement{Effect: Deny, NotActions: []string{"s3:Get*", "s3:List*"}, NotResources: []string{"arn:aws:s3:::b", "arn:aws:s3:::b/*"}},
		},
		{
			name: "principal star",
			give: `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`,
			want: Statement{Effect: Allow, Principal: &Principals{Wildcard: true}, Actions: []string{"*"}, Resources: []string{"*"}},
		},
		{
			name: "principal object of strings and arrays",
			give: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":["111111111111","arn:aws:iam::222222222222:root"],"Service":"s3.amazonaws.com","Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
			want: Statement{Effect: Allow, Principal: &Principals{
				AWS: []string{"111111111111", "arn:aws:iam::222222222222:root"}, Service: []string{"s3.amazonaws.com"}, Federated: []string{"cognito-identity.amazonaws.com"},
			}, Actions: []string{"sts:AssumeRole"}},
		},
		{
			name: "condition values of every scalar type sorted by operator",
			give: `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{
				"StringLike":{"kms:EncryptionContext:aws:s3:arn":["arn:aws:s3:::b/*","arn:aws:s3:::b"]},
				"Bool":{"aws:SecureTransport":true},
				"NumericLessThan":{"aws:ResourceTag/n":[1,2.5]}}}]}`,
			want: Statement{Effect: Allow, Actions: []string{"s3:*"}, Resources: []string{"*"}, Conditions: []Condition{
				{Operator: "Bool", Key: "aws:SecureTransport", Values: []string{"true"}},
				{Operator: "NumericLessThan", Key: "aws:ResourceTag/n", Values: []string{"1", "2.5"}},
				{Operator: "StringLike", Key: "kms:EncryptionContext:aws:s3:arn", Values: []string{"arn:aws:s3:::b/*", "arn:aws:s3:::b"}},
			}},
		},
		{
			name: "unknown operator and key parse and are judged later",
			give: `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01"}}}]}`,
			want: Statement{Effect: Allow, Actions: []string{"s3:*"}, Resources: []string{"*"}, Conditions: []Condition{
				{Operator: "DateLessThan", Key: "aws:CurrentTime", Values: []string{"2030-01-01"}},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.give))
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if len(p.Statements) != 1 {
				t.Fatalf("Parse() gave %d statements, want 1", len(p.Statements))
			}
			got := p.Statements[0]
			if len(got.Raw) == 0 {
				t.Errorf("statement Raw is empty")
			}
			got.Raw = nil
			for i := range got.Conditions {
				got.Conditions[i].unsupported, got.Conditions[i].op = "", operator{}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse() statement =\n%+v\nwant\n%+v", got, tt.want)
			}
			if string(p.Raw()) != tt.give {
				t.Errorf("Raw() does not return the document")
			}
		})
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	tests := []struct {
		name string
		give string
		want string // substring of the error
	}{
		{"not JSON", `{"Statement":`, "Syntax errors"},
		{"trailing data", `{"Statement":[]} x`, "trailing data"},
		{"array document", `[]`, "must be a JSON object"},
		{"missing Statement", `{"Version":"2012-10-17"}`, "Missing required field Statement"},
		{"empty Statement array", `{"Statement":[]}`, "at least one statement"},
		{"unknown top-level field", `{"Statment":[]}`, `unknown field "Statment"`},
		{"bad Version", `{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, "Version"},
		{"missing Effect", `{"Statement":{"Action":"*","Resource":"*"}}`, "Missing required field Effect"},
		{"lower-case Effect", `{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}`, "Invalid effect: allow"},
		{"Effect Maybe", `{"Statement":{"Effect":"Maybe","Action":"*","Resource":"*"}}`, "Invalid effect"},
		{"no Action nor NotAction", `{"Statement":{"Effect":"Allow","Resource":"*"}}`, "must contain actions"},
		{"both Action and NotAction", `{"Statement":{"Effect":"Allow","Action":"s3:*","NotAction":"iam:*","Resource":"*"}}`, "both Action and NotAction"},
		{"both Resource and NotResource", `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"arn:aws:s3:::b"}}`, "both Resource and NotResource"},
		{"action without vendor", `{"Statement":{"Effect":"Allow","Action":"GetObject","Resource":"*"}}`, "prefaced by a vendor"},
		{"wildcard vendor", `{"Statement":{"Effect":"Allow","Action":"s*:GetObject","Resource":"*"}}`, "must not contain wildcards"},
		{"resource not an ARN", `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"bucket/*"}}`, "not an ARN"},
		{"Action number", `{"Statement":{"Effect":"Allow","Action":5,"Resource":"*"}}`, "Action: must be a string"},
		{"empty Action array", `{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}`, "empty array"},
		{"Principal bare ARN", `{"Statement":{"Effect":"Allow","Principal":"arn:aws:iam::1:root","Action":"*","Resource":"*"}}`, "Invalid principal"},
		{"Principal unknown type", `{"Statement":{"Effect":"Allow","Principal":{"User":"x"},"Action":"*","Resource":"*"}}`, "unknown principal type"},
		{"Principal empty object", `{"Statement":{"Effect":"Allow","Principal":{},"Action":"*","Resource":"*"}}`, "empty Principal"},
		{"NotPrincipal", `{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"x"},"Action":"*","Resource":"*"}}`, "NotPrincipal"},
		{"unknown statement field", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Conditon":{}}}`, `unknown field "Conditon"`},
		{"Condition not an object", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":[]}}`, "Condition"},
		{"Condition value object", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceArn":{"a":1}}}}}`, "must be a string, boolean or number"},
		{"Condition value null", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceArn":null}}}}`, "not null"},
		{"duplicate Sid", `{"Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"*","Resource":"*"}]}`, "must be unique"},
		{"statement not an object", `{"Statement":["x"]}`, "must be a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.give))
			if err == nil {
				t.Fatalf("Parse() = %+v, want error containing %q", p, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse() error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestPrincipalARNs(t *testing.T) {
	p := mustParse(t, `{"Statement":[
		{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"},
		{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:role/r","111111111111","arn:aws:iam::111111111111:root"],"Service":"s3.amazonaws.com"},"Action":"kms:Encrypt","Resource":"*"},
		{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}`)
	wantARNs := []string{"arn:aws:iam::111111111111:root", "arn:aws:iam::222222222222:role/r", "111111111111"}
	if got := p.PrincipalARNs(); !reflect.DeepEqual(got, wantARNs) {
		t.Errorf("PrincipalARNs() = %q, want %q", got, wantARNs)
	}
	if got, want := p.ServicePrincipals(), []string{"s3.amazonaws.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ServicePrincipals() = %q, want %q", got, want)
	}
	identity := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)
	if got := identity.PrincipalARNs(); len(got) != 0 {
		t.Errorf("PrincipalARNs() of identity policy = %q, want none", got)
	}
}

func TestCheckKind(t *testing.T) {
	const (
		identity = `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`
		bucket   = `{"Statement":{"Sid":"R","Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}}`
		trust    = `{"Statement":{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"}}`
	)
	tests := []struct {
		name string
		give string
		kind Kind
		want string // "" for accepted, else an error substring
	}{
		{"identity ok", identity, KindIdentity, ""},
		{"identity with principal", bucket, KindIdentity, "should not specify a principal"},
		{"identity without resource", trust, KindIdentity, "should not specify a principal"},
		{"identity missing resource only", `{"Statement":{"Effect":"Allow","Action":"s3:*"}}`, KindIdentity, "must contain resources"},
		{"bucket ok", bucket, KindResource, ""},
		{"bucket without principal", identity, KindResource, "Missing required field Principal"},
		{"bucket without resource", trust, KindResource, "Missing required field Resource"},
		{"trust ok", trust, KindTrust, ""},
		{"trust with resource", bucket, KindTrust, "prohibited field Resource"},
		{"trust without principal", `{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}`, KindTrust, "invalid principal"},
		{"trust with s3 action", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}}`, KindTrust, "only specify STS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mustParse(t, tt.give).CheckKind(tt.kind)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckKind() error = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("CheckKind() error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestKnownCondition(t *testing.T) {
	keys := []struct {
		give string
		want bool
	}{
		{"aws:SecureTransport", true},
		{"AWS:SOURCEACCOUNT", true},
		{"aws:SourceArn", true},
		{"aws:PrincipalArn", true},
		{"sts:ExternalId", true},
		{"kms:ViaService", true},
		{"iam:PolicyARN", true},
		{"kms:EncryptionContext:aws:s3:arn", true},
		{"kms:EncryptionContext:", false},
		{"s3:x-amz-server-side-encryption", true},
		{"s3:x-amz-server-side-encryption-aws-kms-key-id", true},
		{"aws:RequestTag/team", true},
		{"s3:ExistingObjectTag/env", true},
		{"aws:SourceVpce", false},
		{"aws:CurrentTime", false},
		{"", false},
	}
	for _, tt := range keys {
		if got := KnownConditionKey(tt.give); got != tt.want {
			t.Errorf("KnownConditionKey(%q) = %v, want %v", tt.give, got, tt.want)
		}
	}
	ops := []struct {
		give string
		want bool
	}{
		{"StringEquals", true},
		{"StringNotEqualsIfExists", true},
		{"ForAnyValue:StringLike", true},
		{"ForAllValues:ArnNotLikeIfExists", true},
		{"NumericGreaterThanEquals", true},
		{"Null", true},
		{"NullIfExists", false},
		{"ForAnyValue:Null", false},
		{"DateGreaterThan", false},
		{"IpAddress", false},
		{"BinaryEquals", false},
		{"ForSomeValues:StringEquals", false},
	}
	for _, tt := range ops {
		if got := KnownConditionOperator(tt.give); got != tt.want {
			t.Errorf("KnownConditionOperator(%q) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"", "", true},
		{"", "a", false},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"arn:aws:s3:::src/*", "arn:aws:s3:::src/", true},
		{"arn:aws:s3:::src/*", "arn:aws:s3:::src", false},
	}
	for _, tt := range tests {
		if got := WildcardMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("WildcardMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

// FuzzParse: Parse never panics and never returns both a policy and an error; whatever it
// accepts, Authorize evaluates for any request without panicking, always gives a reason,
// and never both allows and explicitly denies.
func FuzzParse(f *testing.F) {
	seeds := []string{
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`,
		`{"Statement":[{"Sid":"S","Effect":"Deny","Principal":"*","NotAction":["s3:Get*"],"NotResource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":false}}}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["111111111111"],"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"ForAllValues:StringLikeIfExists":{"aws:TagKeys":["a*",1,true]},"DateLessThan":{"x":"y"}}}]}`,
		`{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"Null":{"kms:ViaService":"true"},"NumericLessThan":{"aws:ResourceTag/n":"1e3"}}}]}`,
		`[`, `{}`, `{"Statement":null}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s), "s3:GetObject", "arn:aws:s3:::b/k", "aws:SecureTransport", "true", uint8(0))
	}
	f.Fuzz(func(t *testing.T, d []byte, action, resource, key, value string, mode uint8) {
		p, err := Parse(d)
		if err != nil {
			if p != nil {
				t.Fatalf("Parse() returned a policy and an error")
			}
			return
		}
		_ = p.PrincipalARNs()
		for _, k := range []Kind{KindIdentity, KindResource, KindTrust} {
			_ = p.CheckKind(k)
		}
		callers := []Principal{callerA, rootCallA, callerHub, s3Service, {}}
		for _, c := range callers {
			in := Input{
				Request:         Request{Principal: c, Action: action, Resource: resource, Context: map[string][]string{key: {value}}},
				Mode:            Mode(mode % 4),
				Identity:        []*Policy{p},
				Boundary:        p,
				Resource:        p,
				ResourceAccount: acctA,
			}
			d := Authorize(in)
			if d.Reason == "" {
				t.Fatalf("Authorize() gave no reason: %+v", d)
			}
			if d.Allowed && d.ExplicitDeny {
				t.Fatalf("Authorize() both allowed and explicitly denied: %+v", d)
			}
		}
	})
}
