package authz

import (
	"fmt"
	"strings"
	"testing"
)

const (
	acctA   = "111111111111"
	acctB   = "222222222222"
	roleA   = "arn:aws:iam::111111111111:role/s3crr/replication"
	role2A  = "arn:aws:iam::111111111111:role/other"
	roleHub = "arn:aws:iam::222222222222:role/hub-lambda"
	rootA   = "arn:aws:iam::111111111111:root"
	srcB    = "arn:aws:s3:::src"
	srcObj  = "arn:aws:s3:::src/docs/a.txt"
	dstObj  = "arn:aws:s3:::dst/docs/a.txt"
	keyA    = "arn:aws:kms:ap-south-1:111111111111:key/1111"
	keyB    = "arn:aws:kms:us-east-1:222222222222:key/2222"
)

var (
	callerA    = Principal{Account: acctA, ARN: roleA}
	caller2A   = Principal{Account: acctA, ARN: role2A}
	callerHub  = Principal{Account: acctB, ARN: roleHub}
	rootCallA  = Principal{Account: acctA, ARN: rootA, IsRoot: true}
	rootCallB  = Principal{Account: acctB, ARN: "arn:aws:iam::222222222222:root", IsRoot: true}
	s3Service  = Principal{Service: "s3.amazonaws.com"}
	lambdaServ = Principal{Service: "lambda.amazonaws.com"}
)

// doc wraps statements into a policy document.
func doc(stmts ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

// allowStmt is an identity statement allowing action on resource, with an
// optional condition block (JSON object text or "").
func allowStmt(action, resource, cond string) string {
	s := fmt.Sprintf(`{"Effect":"Allow","Action":%q,"Resource":%q`, action, resource)
	if cond != "" {
		s += `,"Condition":` + cond
	}
	return s + "}"
}

// grantStmt is a resource-policy statement with the given effect, sid,
// principal JSON, action, resource and optional condition.
func grantStmt(effect, sid, principal, action, resource, cond string) string {
	s := fmt.Sprintf(`{"Sid":%q,"Effect":%q,"Principal":%s,"Action":%q`, sid, effect, principal, action)
	if resource != "" {
		s += fmt.Sprintf(`,"Resource":%q`, resource)
	}
	if cond != "" {
		s += `,"Condition":` + cond
	}
	return s + "}"
}

func awsP(v string) string { return fmt.Sprintf(`{"AWS":%q}`, v) }

// keyRootStmt is the KMS default key policy statement for account acct.
func keyRootStmt(acct string) string {
	return grantStmt("Allow", "EnableIAM", awsP("arn:aws:iam::"+acct+":root"), "kms:*", "*", "")
}

// condAllow is an identity policy allowing s3:GetObject on srcObj under cond;
// it lets condition-operator cases share one shape.
func condAllow(cond string) []string {
	return []string{doc(allowStmt("s3:GetObject", srcObj, cond))}
}

type give struct {
	mode     Mode
	caller   Principal
	action   string
	resource string
	ctx      map[string][]string
	identity []string
	boundary string
	policy   string // resource policy; "" for none
	account  string // resource account; acctA when ""
}

type want struct {
	allowed  bool
	explicit bool
	reason   string // substring the reason must contain; "" to skip
}

func TestAuthorize(t *testing.T) {
	getSrc := give{caller: callerA, action: "s3:GetObject", resource: srcObj}
	with := func(g give, f func(*give)) give { f(&g); return g }
	cond := func(c string, ctx map[string][]string) give {
		return with(getSrc, func(g *give) { g.identity = condAllow(c); g.ctx = ctx })
	}
	ctx := func(kv ...string) map[string][]string {
		m := map[string][]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = append(m[kv[i]], kv[i+1])
		}
		return m
	}

	tests := []struct {
		name string
		give give
		want want
	}{
		// Standard mode: same account.
		{"same account identity allow", with(getSrc, func(g *give) {
			g.identity = []string{doc(allowStmt("s3:GetObject", "arn:aws:s3:::src/*", ""))}
		}), want{allowed: true, reason: "identity-based policy"}},
		{"same account no policy denies implicitly", getSrc,
			want{reason: "no identity-based policy allows s3:GetObject"}},
		{"same account identity for other resource", with(getSrc, func(g *give) {
			g.identity = []string{doc(allowStmt("s3:GetObject", "arn:aws:s3:::other/*", ""))}
		}), want{reason: "no identity-based policy"}},
		{"same account bucket policy naming role allows alone", with(getSrc, func(g *give) {
			g.policy = doc(grantStmt("Allow", "ReadRole", awsP(roleA), "s3:GetObject", "arn:aws:s3:::src/*", ""))
		}), want{allowed: true, reason: `"ReadRole"`}},
		{"same account bucket policy naming account delegates to IAM", with(getSrc, func(g *give) {
			g.policy = doc(grantStmt("Allow", "Acct", awsP(acctA), "s3:GetObject", "arn:aws:s3:::src/*", ""))
		}), want{reason: "no identity-based policy"}},
		{"same account root user allowed without policies", with(getSrc, func(g *give) { g.caller = rootCallA }),
			want{allowed: true, reason: "root"}},
		{"second identity policy allows", with(getSrc, func(g *give) {
			g.identity = []string{doc(allowStmt("s3:PutObject", "*", "")), doc(allowStmt("s3:GetObject", "*", ""))}
		}), want{allowed: true}},

		// Standard mode: cross account (role in A writes to B's bucket).
		{"cross account both sides allow", give{caller: callerA, action: "s3:ReplicateObject", resource: dstObj, account: acctB,
			identity: []string{doc(allowStmt("s3:ReplicateObject", "arn:aws:s3:::dst/*", ""))},
			policy:   doc(grantStmt("Allow", "Repl", awsP(roleA), "s3:ReplicateObject", "arn:aws:s3:::dst/*", ""))},
			want{allowed: true, reason: "cross-account"}},
		{"cross account identity missing", give{caller: callerA, action: "s3:ReplicateObject", resource: dstObj, account: acctB,
			policy: doc(grantStmt("Allow", "Repl", awsP(roleA), "s3:ReplicateObject", "arn:aws:s3:::dst/*", ""))},
			want{reason: "cross-account: no identity-based policy allows s3:ReplicateObject"}},
		{"cross account bucket policy missing", give{caller: callerA, action: "s3:ReplicateObject", resource: dstObj, account: acctB,
			identity: []string{doc(allowStmt("s3:ReplicateObject", "arn:aws:s3:::dst/*", ""))}},
			want{reason: "cross-account: resource account 222222222222 has no resource policy"}},
		{"cross account bucket policy names another role", give{caller: callerA, action: "s3:ReplicateObject", resource: dstObj, account: acctB,
			identity: []string{doc(allowStmt("s3:ReplicateObject", "arn:aws:s3:::dst/*", ""))},
			policy:   doc(grantStmt("Allow", "Repl", awsP(role2A), "s3:ReplicateObject", "arn:aws:s3:::dst/*", ""))},
			want{reason: "cross-account: resource policy does not allow " + roleA}},
		{"cross account bucket policy by account id", give{caller: callerA, action: "s3:ObjectOwnerOverrideToBucketOwner", resource: dstObj, account: acctB,
			identity: []string{doc(allowStmt("s3:ObjectOwnerOverrideToBucketOwner", "arn:aws:s3:::dst/*", ""))},
			policy:   doc(grantStmt("Allow", "Owner", awsP(acctA), "s3:ObjectOwnerOverrideToBucketOwner", "arn:aws:s3:::dst/*", ""))},
			want{allowed: true}},
		{"cross account bucket policy by root arn", give{caller: callerA, action: "s3:ReplicateObject", resource: dstObj, account: acctB,
			identity: []string{doc(allowStmt("s3:*", "*", ""))},
			policy:   doc(grantStmt("Allow", "Root", awsP(rootA), "s3:ReplicateObject", "arn:aws:s3:::dst/*", ""))},
			want{allowed: true}},
		{"cross account principal star", give{caller: callerA, action: "s3:ReplicateObject", resource: dstObj, account: acctB,
			identity: []string{doc(allowStmt("s3:*", "*", ""))},
			policy:   doc(grantStmt("Allow", "All", `"*"`, "s3:ReplicateObject", "arn:aws:s3:::dst/*", ""))},
			want{allowed: true}},
		{"cross account principal AWS star", give{caller: callerA, action: "s3:ReplicateObject", resource: dstObj, account: acctB,
			identity: []string{doc(allowStmt("s3:*", "*", ""))},
			policy:   doc(grantStmt("Allow", "All", awsP("*"), "s3:ReplicateObject", "arn:aws:s3:::dst/*", ""))},
			want{allowed: true}},
		{"cross account principal array containing role", give{caller: callerA, action: "s3:ReplicateObject", resource: dstObj, account: acctB,
			identity: []string{doc(allowStmt("s3:*", "*", ""))},
			policy:   doc(grantStmt("Allow", "Arr", `{"AWS":["`+role2A+`","`+roleA+`"]}`, "s3:ReplicateObject", "arn:aws:s3:::dst/*", ""))},
			want{allowed: true}},
		{"cross account role arn differs in case", give{caller: callerA, action: "s3:ReplicateObject", resource: dstObj, account: acctB,
			identity: []string{doc(allowStmt("s3:*", "*", ""))},
			policy:   doc(grantStmt("Allow", "Case", awsP(strings.Replace(roleA, "replication", "Replication", 1)), "s3:ReplicateObject", "arn:aws:s3:::dst/*", ""))},
			want{reason: "does not allow"}},
		{"cross account root user with account grant", give{caller: rootCallB, action: "s3:GetObject", resource: srcObj,
			policy: doc(grantStmt("Allow", "B", awsP(acctB), "s3:GetObject", "arn:aws:s3:::src/*", ""))},
			want{allowed: true}},
		{"cross account root user without grant", give{caller: rootCallB, action: "s3:GetObject", resource: srcObj,
			policy: doc(grantStmt("Allow", "A", awsP(roleA), "s3:GetObject", "arn:aws:s3:::src/*", ""))},
			want{reason: "cross-account"}},

		// Explicit deny and boundaries.
		{"explicit deny in identity policy", with(getSrc, func(g *give) {
			g.identity = []string{doc(allowStmt("s3:*", "*", ""), `{"Sid":"NoGet","Effect":"Deny","Action":"s3:GetObject","Resource":"*"}`)}
		}), want{explicit: true, reason: `explicit deny in identity policy statement "NoGet"`}},
		{"explicit deny in second identity policy", with(getSrc, func(g *give) {
			g.identity = []string{doc(allowStmt("s3:*", "*", "")), doc(`{"Effect":"Deny","Action":"s3:*","Resource":"*"}`)}
		}), want{explicit: true, reason: "statement #1"}},
		{"explicit deny in bucket policy over identity allow", with(getSrc, func(g *give) {
			g.identity = []string{doc(allowStmt("s3:*", "*", ""))}
			g.ctx = ctx("aws:SecureTransport", "false")
			g.policy = doc(grantStmt("Deny", "DenyInsecureTransport", `"*"`, "s3:*", "arn:aws:s3:::src/*", `{"Bool":{"aws:SecureTransport":"false"}}`))
		}), want{explicit: true, reason: `explicit deny in resource policy statement "DenyInsecureTransport"`}},
		{"secure transport true passes deny statement", with(getSrc, func(g *give) {
			g.identity = []string{doc(allowStmt("s3:*", "*", ""))}
			g.ctx = ctx("aws:SecureTransport", "true")
			g.policy = doc(grantStmt("Deny", "DenyInsecureTransport", `"*"`, "s3:*", "arn:aws:s3:::src/*", `{"Bool":{"aws:SecureTransport":"false"}}`))
		}), want{allowed: true}},
		{"explicit deny in boundary", with(getSrc, func(g *give) {
			g.identity = []string{doc(allowStmt("s3:*", "*", ""))}
			g.boundary = doc(allowStmt("*", "*", ""), `{"Sid":"Fence","Effect":"Deny","Action":"s3:Get*","Resource":"*"}`)
		}), want{explicit: true, reason: `explicit deny in permissions boundary statement "Fence"`}},
		{"boundary limits identity allow", with(getSrc, func(g *give) {
			g.identity = []string{doc(allowStmt("s3:*", "*", ""))}
			g.boundary = doc(allowStmt("s3:List*", "*", ""))
		}), want{reason: "permissions boundary does not allow s3:GetObject"}},
		{"boundary permits identity allow", with(getSrc, func(g *give) {
			g.identity = []string{doc(allowStmt("s3:GetObject", "*", ""))}
			g.boundary = doc(allowStmt("s3:*", "*", ""))
		}), want{allowed: true}},
		{"boundary alone grants nothing", with(getSrc, func(g *give) {
			g.boundary = doc(allowStmt("s3:*", "*", ""))
		}), want{reason: "no identity-based policy"}},
		{"boundary limits bucket policy grant to role arn", with(getSrc, func(g *give) {
			g.boundary = doc(allowStmt("kms:*", "*", ""))
			g.policy = doc(grantStmt("Allow", "ReadRole", awsP(roleA), "s3:GetObject", "arn:aws:s3:::src/*", ""))
		}), want{reason: "permissions boundary does not allow"}},

		// NotAction / NotResource.
		{"NotAction allow covers other actions", with(getSrc, func(g *give) {
			g.identity = []string{doc(`{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`)}
		}), want{allowed: true}},
		{"NotAction allow excludes listed actions", give{caller: callerA, action: "iam:CreateRole", resource: "arn:aws:iam::111111111111:role/x",
			identity: []string{doc(`{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`)}},
			want{reason: "no identity-based policy allows iam:CreateRole"}},
		{"NotAction deny hits unlisted action", give{caller: callerA, action: "s3:PutObject", resource: srcObj,
			identity: []string{doc(allowStmt("*", "*", ""), `{"Sid":"ReadOnly","Effect":"Deny","NotAction":["s3:Get*","s3:List*"],"Resource":"*"}`)}},
			want{explicit: true, reason: `"ReadOnly"`}},
		{"NotAction deny spares listed action", with(getSrc, func(g *give) {
			g.identity = []string{doc(allowStmt("*", "*", ""), `{"Sid":"ReadOnly","Effect":"Deny","NotAction":["s3:Get*","s3:List*"],"Resource":"*"}`)}
		}), want{allowed: true}},
		{"NotResource allow covers other resources", with(getSrc, func(g *give) {
			g.identity = []string{doc(`{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"}`)}
		}), want{allowed: true}},
		{"NotResource allow excludes listed resource", give{caller: callerA, action: "s3:GetObject", resource: "arn:aws:s3:::secret/x",
			identity: []string{doc(`{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"}`)}},
			want{reason: "no identity-based policy"}},
		{"NotResource deny hits other resources", with(getSrc, func(g *give) {
			g.identity = []string{doc(allowStmt("s3:*", "*", ""), `{"Sid":"OnlyDst","Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::dst","arn:aws:s3:::dst/*"]}`)}
		}), want{explicit: true, reason: `"OnlyDst"`}},
		{"NotResource deny spares listed resource", give{caller: callerA, action: "s3:GetObject", resource: dstObj,
			identity: []string{doc(allowStmt("s3:*", "*", ""), `{"Sid":"OnlyDst","Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::dst","arn:aws:s3:::dst/*"]}`)}},
			want{allowed: true}},

		// Action and resource matching.
		{"wildcard s3:Get* matches GetObjectVersionForReplication", give{caller: callerA, action: "s3:GetObjectVersionForReplication", resource: srcObj,
			identity: []string{doc(allowStmt("s3:Get*", "arn:aws:s3:::src/*", ""))}}, want{allowed: true}},
		{"wildcard s3:Get* does not match ReplicateObject", give{caller: callerA, action: "s3:ReplicateObject", resource: srcObj,
			identity: []string{doc(allowStmt("s3:Get*", "arn:aws:s3:::src/*", ""))}}, want{reason: "no identity-based policy"}},
		{"s3:* matches any s3 action", give{caller: callerA, action: "s3:PutBucketReplication", resource: srcB,
			identity: []string{doc(allowStmt("s3:*", "*", ""))}}, want{allowed: true}},
		{"s3:* does not match kms", give{caller: callerA, action: "kms:Decrypt", resource: srcB,
			identity: []string{doc(allowStmt("s3:*", "*", ""))}}, want{}},
		{"star action matches everything", give{caller: callerA, action: "iam:PassRole", resource: roleA,
			identity: []string{doc(allowStmt("*", "*", ""))}}, want{allowed: true}},
		{"action matching is case-insensitive", with(getSrc, func(g *give) {
			g.action = "S3:getobject"
			g.identity = []string{doc(allowStmt("s3:GETOBJECT", srcObj, ""))}
		}), want{allowed: true}},
		{"question mark matches one character", with(getSrc, func(g *give) {
			g.action = "s3:GetObjectAcl"
			g.identity = []string{doc(allowStmt("s3:GetObject??l", srcObj, ""))}
		}), want{allowed: true}},
		{"question mark does not match two characters", with(getSrc, func(g *give) {
			g.action = "s3:GetObjectAcl"
			g.identity = []string{doc(allowStmt("s3:GetObject?", srcObj, ""))}
		}), want{}},
		{"resource matching is case-sensitive", with(getSrc, func(g *give) {
			g.identity = []string{doc(allowStmt("s3:GetObject", "arn:aws:s3:::SRC/*", ""))}
		}), want{}},
		{"bucket ARN does not match object pattern", give{caller: callerA, action: "s3:ListBucket", resource: srcB,
			identity: []string{doc(allowStmt("s3:ListBucket", "arn:aws:s3:::src/*", ""))}}, want{}},

		// Service principals in resource policies.
		{"service principal allowed by bucket policy", give{caller: s3Service, action: "s3:PutObject", resource: srcObj,
			policy: doc(grantStmt("Allow", "Logs", `{"Service":"s3.amazonaws.com"}`, "s3:PutObject", "arn:aws:s3:::src/*", ""))},
			want{allowed: true}},
		{"service principal not named", give{caller: lambdaServ, action: "s3:PutObject", resource: srcObj,
			policy: doc(grantStmt("Allow", "Logs", `{"Service":["s3.amazonaws.com","sns.amazonaws.com"]}`, "s3:PutObject", "arn:aws:s3:::src/*", ""))},
			want{reason: "does not allow service lambda.amazonaws.com"}},
		{"account grant does not match service", give{caller: s3Service, action: "s3:PutObject", resource: srcObj,
			policy: doc(grantStmt("Allow", "A", awsP(acctA), "s3:PutObject", "arn:aws:s3:::src/*", ""))},
			want{}},
		{"service caller with no resource policy", give{caller: s3Service, action: "s3:PutObject", resource: srcObj}, want{}},

		// Condition operators.
		{"StringEquals match", cond(`{"StringEquals":{"aws:SourceAccount":"111111111111"}}`, ctx("aws:SourceAccount", acctA)), want{allowed: true}},
		{"StringEquals mismatch", cond(`{"StringEquals":{"aws:SourceAccount":"111111111111"}}`, ctx("aws:SourceAccount", acctB)), want{}},
		{"StringEquals absent key is false", cond(`{"StringEquals":{"aws:SourceAccount":"111111111111"}}`, nil), want{}},
		{"StringEquals is case-sensitive", cond(`{"StringEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}`, ctx("s3:x-amz-server-side-encryption", "AWS:KMS")), want{}},
		{"StringNotEquals absent key is true", cond(`{"StringNotEquals":{"aws:SourceAccount":"222222222222"}}`, nil), want{allowed: true}},
		{"StringNotEquals differing value is true", cond(`{"StringNotEquals":{"aws:SourceAccount":"222222222222"}}`, ctx("aws:SourceAccount", acctA)), want{allowed: true}},
		{"StringNotEquals equal value is false", cond(`{"StringNotEquals":{"aws:SourceAccount":["333333333333","222222222222"]}}`, ctx("aws:SourceAccount", acctB)), want{}},
		{"StringEqualsIgnoreCase", cond(`{"StringEqualsIgnoreCase":{"s3:x-amz-server-side-encryption":"AWS:KMS"}}`, ctx("s3:x-amz-server-side-encryption", "aws:kms")), want{allowed: true}},
		{"StringNotEqualsIgnoreCase same letters is false", cond(`{"StringNotEqualsIgnoreCase":{"s3:x-amz-server-side-encryption":"AWS:KMS"}}`, ctx("s3:x-amz-server-side-encryption", "aws:kms")), want{}},
		{"StringNotEqualsIgnoreCase different is true", cond(`{"StringNotEqualsIgnoreCase":{"s3:x-amz-server-side-encryption":"AWS:KMS"}}`, ctx("s3:x-amz-server-side-encryption", "AES256")), want{allowed: true}},
		{"StringLike encryption context object form", cond(`{"StringLike":{"kms:EncryptionContext:aws:s3:arn":"arn:aws:s3:::src/docs/*"}}`, ctx("kms:EncryptionContext:aws:s3:arn", srcObj)), want{allowed: true}},
		{"StringLike encryption context bucket-key form misses object pattern", cond(`{"StringLike":{"kms:EncryptionContext:aws:s3:arn":"arn:aws:s3:::src/docs/*"}}`, ctx("kms:EncryptionContext:aws:s3:arn", srcB)), want{}},
		{"StringLike with both forms allows bucket key", cond(`{"StringLike":{"kms:EncryptionContext:aws:s3:arn":["arn:aws:s3:::src/docs/*","arn:aws:s3:::src"]}}`, ctx("kms:EncryptionContext:aws:s3:arn", srcB)), want{allowed: true}},
		{"StringNotLike matching value is false", cond(`{"StringNotLike":{"aws:SourceArn":"arn:aws:s3:::src*"}}`, ctx("aws:SourceArn", srcB)), want{}},
		{"StringNotLike absent key is true", cond(`{"StringNotLike":{"aws:SourceArn":"arn:aws:s3:::src*"}}`, nil), want{allowed: true}},
		{"ArnEquals source arn", cond(`{"ArnEquals":{"aws:SourceArn":"arn:aws:s3:::src"}}`, ctx("aws:SourceArn", srcB)), want{allowed: true}},
		{"ArnEquals different arn", cond(`{"ArnEquals":{"aws:SourceArn":"arn:aws:s3:::dst"}}`, ctx("aws:SourceArn", srcB)), want{}},
		{"ArnLike wildcard account", cond(`{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/s3crr/*"}}`, nil), want{allowed: true}},
		{"ArnLike wildcard cannot span ARN parts", cond(`{"ArnLike":{"aws:PrincipalArn":"arn:aws:*:role/s3crr/replication"}}`, nil), want{}},
		{"ArnLike non-ARN context value is false", cond(`{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::*"}}`, ctx("aws:SourceArn", "src")), want{}},
		{"ArnNotEquals own arn is false", cond(`{"ArnNotEquals":{"aws:PrincipalArn":"`+roleA+`"}}`, nil), want{}},
		{"ArnNotLike other pattern is true", cond(`{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::222222222222:role/*"}}`, nil), want{allowed: true}},
		{"Bool is case-insensitive", cond(`{"Bool":{"aws:SecureTransport":"true"}}`, ctx("aws:SecureTransport", "TRUE")), want{allowed: true}},
		{"Bool JSON boolean value", cond(`{"Bool":{"aws:SecureTransport":true}}`, ctx("aws:SecureTransport", "true")), want{allowed: true}},
		{"Bool mismatch", cond(`{"Bool":{"aws:SecureTransport":"true"}}`, ctx("aws:SecureTransport", "false")), want{}},
		{"NumericEquals", cond(`{"NumericEquals":{"aws:ResourceTag/size":10}}`, ctx("aws:ResourceTag/size", "10.0")), want{allowed: true}},
		{"NumericNotEquals equal is false", cond(`{"NumericNotEquals":{"aws:ResourceTag/size":"10"}}`, ctx("aws:ResourceTag/size", "10")), want{}},
		{"NumericLessThan true", cond(`{"NumericLessThan":{"aws:ResourceTag/size":"10"}}`, ctx("aws:ResourceTag/size", "9")), want{allowed: true}},
		{"NumericLessThan equal is false", cond(`{"NumericLessThan":{"aws:ResourceTag/size":"10"}}`, ctx("aws:ResourceTag/size", "10")), want{}},
		{"NumericLessThanEquals equal is true", cond(`{"NumericLessThanEquals":{"aws:ResourceTag/size":"10"}}`, ctx("aws:ResourceTag/size", "10")), want{allowed: true}},
		{"NumericGreaterThan", cond(`{"NumericGreaterThan":{"aws:ResourceTag/size":"10"}}`, ctx("aws:ResourceTag/size", "11")), want{allowed: true}},
		{"NumericGreaterThanEquals below is false", cond(`{"NumericGreaterThanEquals":{"aws:ResourceTag/size":"10"}}`, ctx("aws:ResourceTag/size", "9.5")), want{}},
		{"Numeric unparsable context value is false", cond(`{"NumericLessThan":{"aws:ResourceTag/size":"10"}}`, ctx("aws:ResourceTag/size", "small")), want{}},
		{"StringEqualsIfExists absent key is true", cond(`{"StringEqualsIfExists":{"s3:x-amz-server-side-encryption":"aws:kms"}}`, nil), want{allowed: true}},
		{"StringEqualsIfExists present wrong is false", cond(`{"StringEqualsIfExists":{"s3:x-amz-server-side-encryption":"aws:kms"}}`, ctx("s3:x-amz-server-side-encryption", "AES256")), want{}},
		{"ArnLikeIfExists absent key is true", cond(`{"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:s3:::src"}}`, nil), want{allowed: true}},
		{"NumericLessThanIfExists present checked", cond(`{"NumericLessThanIfExists":{"aws:ResourceTag/size":"5"}}`, ctx("aws:ResourceTag/size", "6")), want{}},
		{"ForAnyValue one of many matches", cond(`{"ForAnyValue:StringEquals":{"aws:TagKeys":["team","cost"]}}`, map[string][]string{"aws:TagKeys": {"env", "cost"}}), want{allowed: true}},
		{"ForAnyValue none matches", cond(`{"ForAnyValue:StringEquals":{"aws:TagKeys":["team","cost"]}}`, map[string][]string{"aws:TagKeys": {"env"}}), want{}},
		{"ForAnyValue absent key is false", cond(`{"ForAnyValue:StringLike":{"aws:TagKeys":"*"}}`, nil), want{}},
		{"ForAllValues all in set", cond(`{"ForAllValues:StringEquals":{"aws:TagKeys":["team","cost"]}}`, map[string][]string{"aws:TagKeys": {"team", "cost"}}), want{allowed: true}},
		{"ForAllValues one outside set", cond(`{"ForAllValues:StringEquals":{"aws:TagKeys":["team","cost"]}}`, map[string][]string{"aws:TagKeys": {"team", "env"}}), want{}},
		{"ForAllValues absent key is true", cond(`{"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}`, nil), want{allowed: true}},
		{"ForAllValues StringNotLike excludes every value", cond(`{"ForAllValues:StringNotLike":{"aws:TagKeys":"aws:*"}}`, map[string][]string{"aws:TagKeys": {"team", "aws:x"}}), want{}},
		{"Null true with absent key", cond(`{"Null":{"s3:x-amz-server-side-encryption":"true"}}`, nil), want{allowed: true}},
		{"Null true with present key", cond(`{"Null":{"s3:x-amz-server-side-encryption":"true"}}`, ctx("s3:x-amz-server-side-encryption", "aws:kms")), want{}},
		{"Null false with present key", cond(`{"Null":{"s3:x-amz-server-side-encryption":false}}`, ctx("s3:x-amz-server-side-encryption", "aws:kms")), want{allowed: true}},
		{"keys in one operator are ANDed", cond(`{"StringEquals":{"kms:ViaService":"s3.ap-south-1.amazonaws.com","aws:SourceAccount":"111111111111"}}`, ctx("kms:ViaService", "s3.ap-south-1.amazonaws.com")), want{}},
		{"operators are ANDed", cond(`{"StringEquals":{"kms:ViaService":"s3.ap-south-1.amazonaws.com"},"StringLike":{"kms:EncryptionContext:aws:s3:arn":"arn:aws:s3:::src/*"}}`,
			ctx("kms:ViaService", "s3.ap-south-1.amazonaws.com", "kms:EncryptionContext:aws:s3:arn", srcObj)), want{allowed: true}},
		{"values of one key are ORed", cond(`{"StringEquals":{"kms:ViaService":["s3.us-east-1.amazonaws.com","s3.ap-south-1.amazonaws.com"]}}`, ctx("kms:ViaService", "s3.ap-south-1.amazonaws.com")), want{allowed: true}},
		{"context keys match case-insensitively", cond(`{"Bool":{"aws:SecureTransport":"true"}}`, ctx("AWS:SECURETRANSPORT", "true")), want{allowed: true}},
		{"kms:ViaService wrong region", cond(`{"StringEquals":{"kms:ViaService":"s3.ap-south-1.amazonaws.com"}}`, ctx("kms:ViaService", "s3.us-east-1.amazonaws.com")), want{}},
		{"aws:PrincipalArn filled from caller", with(getSrc, func(g *give) {
			g.caller = caller2A
			g.identity = []string{doc(allowStmt("s3:*", "*", ""))}
			g.policy = doc(grantStmt("Deny", "OnlyReplication", `"*"`, "s3:GetObject", "arn:aws:s3:::src/*", `{"ArnNotEquals":{"aws:PrincipalArn":"`+roleA+`"}}`))
		}), want{explicit: true, reason: `"OnlyReplication"`}},
		{"aws:PrincipalAccount filled from caller", cond(`{"StringEquals":{"aws:PrincipalAccount":"111111111111"}}`, nil), want{allowed: true}},
		{"caller-supplied PrincipalArn wins over default", cond(`{"ArnEquals":{"aws:PrincipalArn":"`+roleA+`"}}`, ctx("aws:PrincipalArn", role2A)), want{}},
		{"deny unless SSE-KMS on put", give{caller: callerA, action: "s3:PutObject", resource: srcObj, ctx: ctx("s3:x-amz-server-side-encryption", "AES256"),
			identity: []string{doc(allowStmt("s3:PutObject", "*", ""))},
			policy:   doc(grantStmt("Deny", "RequireKMS", `"*"`, "s3:PutObject", "arn:aws:s3:::src/*", `{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}`))},
			want{explicit: true, reason: `"RequireKMS"`}},
		{"SSE-KMS put passes RequireKMS", give{caller: callerA, action: "s3:PutObject", resource: srcObj, ctx: ctx("s3:x-amz-server-side-encryption", "aws:kms"),
			identity: []string{doc(allowStmt("s3:PutObject", "*", ""))},
			policy:   doc(grantStmt("Deny", "RequireKMS", `"*"`, "s3:PutObject", "arn:aws:s3:::src/*", `{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}`))},
			want{allowed: true}},

		// Conditions the evaluator cannot judge.
		{"unknown operator in allow denies", cond(`{"DateGreaterThan":{"aws:SourceAccount":"2020-01-01T00:00:00Z"}}`, nil),
			want{explicit: true, reason: `unsupported condition operator "DateGreaterThan" in statement #1 of identity policy`}},
		{"unknown operator in resource deny denies", with(getSrc, func(g *give) {
			g.identity = []string{doc(allowStmt("s3:*", "*", ""))}
			g.policy = doc(grantStmt("Deny", "X", `"*"`, "s3:*", "*", `{"IpAddress":{"aws:SourceAccount":"10.0.0.0/8"}}`))
		}), want{explicit: true, reason: `unsupported condition operator "IpAddress" in statement "X" of resource policy`}},
		{"unknown key denies", cond(`{"StringEquals":{"aws:SourceVpce":"vpce-1"}}`, ctx("aws:SourceVpce", "vpce-1")),
			want{explicit: true, reason: `unsupported condition key "aws:SourceVpce"`}},
		{"Null with IfExists is unsupported", cond(`{"NullIfExists":{"aws:SourceArn":"true"}}`, nil),
			want{explicit: true, reason: "unsupported condition operator"}},
		{"policy variable is unsupported", cond(`{"StringEquals":{"aws:SourceArn":"${aws:username}"}}`, nil),
			want{explicit: true, reason: "unsupported policy variable"}},
		{"unknown operator in statement for other action is ignored", with(getSrc, func(g *give) {
			g.identity = []string{doc(allowStmt("s3:GetObject", "*", ""), allowStmt("s3:PutObject", "*", `{"DateLessThan":{"aws:CurrentTime":"2030-01-01"}}`))}
		}), want{allowed: true}},

		// KMS mode.
		{"kms key policy without account statement ignores IAM", give{mode: ModeKMS, caller: callerA, action: "kms:Decrypt", resource: keyA,
			identity: []string{doc(allowStmt("kms:Decrypt", keyA, ""))},
			policy:   doc(grantStmt("Allow", "Other", awsP(role2A), "kms:*", "*", ""))},
			want{reason: "key policy does not allow account 111111111111, so IAM policies cannot grant kms:Decrypt"}},
		{"kms account statement enables IAM", give{mode: ModeKMS, caller: callerA, action: "kms:Decrypt", resource: keyA,
			identity: []string{doc(allowStmt("kms:Decrypt", keyA, ""))},
			policy:   doc(keyRootStmt(acctA))},
			want{allowed: true}},
		{"kms account statement without IAM allow", give{mode: ModeKMS, caller: callerA, action: "kms:Decrypt", resource: keyA,
			policy: doc(keyRootStmt(acctA))},
			want{reason: "no identity-based policy allows kms:Decrypt"}},
		{"kms direct grant to role needs no IAM", give{mode: ModeKMS, caller: callerA, action: "kms:Decrypt", resource: keyA,
			policy: doc(grantStmt("Allow", "Role", awsP(roleA), "kms:Decrypt", "*", ""))},
			want{allowed: true, reason: `"Role"`}},
		{"kms root allowed by default key policy", give{mode: ModeKMS, caller: rootCallA, action: "kms:PutKeyPolicy", resource: keyA,
			policy: doc(keyRootStmt(acctA))},
			want{allowed: true}},
		{"kms root locked out without account statement", give{mode: ModeKMS, caller: rootCallA, action: "kms:PutKeyPolicy", resource: keyA,
			policy: doc(grantStmt("Allow", "Role", awsP(roleA), "kms:*", "*", ""))},
			want{reason: "key policy does not allow " + rootA}},
		{"kms no key policy denies", give{mode: ModeKMS, caller: callerA, action: "kms:Decrypt", resource: keyA,
			identity: []string{doc(allowStmt("kms:*", "*", ""))}},
			want{}},
		{"kms cross account both sides", give{mode: ModeKMS, caller: callerA, action: "kms:Encrypt", resource: keyB, account: acctB,
			ctx:      ctx("kms:ViaService", "s3.us-east-1.amazonaws.com", "kms:EncryptionContext:aws:s3:arn", dstObj),
			identity: []string{doc(allowStmt("kms:Encrypt", keyB, `{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"},"StringLike":{"kms:EncryptionContext:aws:s3:arn":"arn:aws:s3:::dst/*"}}`))},
			policy:   doc(keyRootStmt(acctB), grantStmt("Allow", "Replication", awsP(roleA), "kms:Encrypt", "*", `{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}`))},
			want{allowed: true}},
		{"kms cross account key policy only", give{mode: ModeKMS, caller: callerA, action: "kms:Encrypt", resource: keyB, account: acctB,
			policy: doc(keyRootStmt(acctB), grantStmt("Allow", "Replication", awsP(roleA), "kms:Encrypt", "*", ""))},
			want{reason: "cross-account: no identity-based policy allows kms:Encrypt"}},
		{"kms cross account IAM only", give{mode: ModeKMS, caller: callerA, action: "kms:Encrypt", resource: keyB, account: acctB,
			identity: []string{doc(allowStmt("kms:Encrypt", keyB, ""))},
			policy:   doc(keyRootStmt(acctB))},
			want{reason: "cross-account: key policy does not allow " + roleA}},
		{"kms cross account by account principal", give{mode: ModeKMS, caller: callerA, action: "kms:Encrypt", resource: keyB, account: acctB,
			identity: []string{doc(allowStmt("kms:Encrypt", keyB, ""))},
			policy:   doc(keyRootStmt(acctB), grantStmt("Allow", "AcctA", awsP(acctA), "kms:Encrypt", "*", ""))},
			want{allowed: true}},
		{"kms key policy condition fails on wrong ViaService", give{mode: ModeKMS, caller: callerA, action: "kms:Decrypt", resource: keyA,
			ctx:    ctx("kms:ViaService", "sqs.ap-south-1.amazonaws.com"),
			policy: doc(grantStmt("Allow", "Role", awsP(roleA), "kms:Decrypt", "*", `{"StringEquals":{"kms:ViaService":"s3.ap-south-1.amazonaws.com"}}`))},
			want{}},
		{"kms:CallerAccount filled from caller", give{mode: ModeKMS, caller: callerA, action: "kms:Decrypt", resource: keyA,
			policy: doc(grantStmt("Allow", "Any", awsP("*"), "kms:Decrypt", "*", `{"StringEquals":{"kms:CallerAccount":"111111111111"}}`))},
			want{allowed: true}},
		{"kms explicit deny in key policy beats IAM", give{mode: ModeKMS, caller: callerA, action: "kms:ScheduleKeyDeletion", resource: keyA,
			identity: []string{doc(allowStmt("kms:*", "*", ""))},
			policy:   doc(keyRootStmt(acctA), grantStmt("Deny", "NoDelete", `"*"`, "kms:ScheduleKeyDeletion", "*", ""))},
			want{explicit: true, reason: `explicit deny in resource policy statement "NoDelete"`}},
		{"kms service principal in key policy", give{mode: ModeKMS, caller: s3Service, action: "kms:GenerateDataKey", resource: keyA,
			policy: doc(keyRootStmt(acctA), grantStmt("Allow", "S3Events", `{"Service":"s3.amazonaws.com"}`, "kms:GenerateDataKey*", "*", ""))},
			want{allowed: true}},

		// Trust mode.
		{"trust service principal s3", give{mode: ModeTrust, caller: s3Service, action: "sts:AssumeRole", resource: roleA,
			policy: doc(grantStmt("Allow", "S3", `{"Service":"s3.amazonaws.com"}`, "sts:AssumeRole", "", ""))},
			want{allowed: true}},
		{"trust other service denied", give{mode: ModeTrust, caller: lambdaServ, action: "sts:AssumeRole", resource: roleA,
			policy: doc(grantStmt("Allow", "S3", `{"Service":["s3.amazonaws.com","batchoperations.s3.amazonaws.com"]}`, "sts:AssumeRole", "", ""))},
			want{reason: "trust policy does not allow service lambda.amazonaws.com"}},
		{"trust service with SourceAccount absent fails", give{mode: ModeTrust, caller: s3Service, action: "sts:AssumeRole", resource: roleA,
			policy: doc(grantStmt("Allow", "S3", `{"Service":"s3.amazonaws.com"}`, "sts:AssumeRole", "", `{"StringEquals":{"aws:SourceAccount":"111111111111"}}`))},
			want{}},
		{"trust ExternalId met", give{mode: ModeTrust, caller: callerHub, action: "sts:AssumeRole", resource: roleA, ctx: ctx("sts:ExternalId", "pair-1"),
			identity: []string{doc(allowStmt("sts:AssumeRole", roleA, ""))},
			policy:   doc(grantStmt("Allow", "Hub", awsP(roleHub), "sts:AssumeRole", "", `{"StringEquals":{"sts:ExternalId":"pair-1"}}`))},
			want{allowed: true}},
		{"trust ExternalId missing", give{mode: ModeTrust, caller: callerHub, action: "sts:AssumeRole", resource: roleA,
			identity: []string{doc(allowStmt("sts:AssumeRole", roleA, ""))},
			policy:   doc(grantStmt("Allow", "Hub", awsP(roleHub), "sts:AssumeRole", "", `{"StringEquals":{"sts:ExternalId":"pair-1"}}`))},
			want{reason: "trust policy does not allow " + roleHub}},
		{"trust ExternalId wrong", give{mode: ModeTrust, caller: callerHub, action: "sts:AssumeRole", resource: roleA, ctx: ctx("sts:ExternalId", "pair-2"),
			identity: []string{doc(allowStmt("sts:AssumeRole", roleA, ""))},
			policy:   doc(grantStmt("Allow", "Hub", awsP(roleHub), "sts:AssumeRole", "", `{"StringEquals":{"sts:ExternalId":"pair-1"}}`))},
			want{}},
		{"trust cross account needs identity allow", give{mode: ModeTrust, caller: callerHub, action: "sts:AssumeRole", resource: roleA, ctx: ctx("sts:ExternalId", "pair-1"),
			identity: []string{doc(allowStmt("sts:AssumeRole", role2A, ""))},
			policy:   doc(grantStmt("Allow", "Hub", awsP(roleHub), "sts:AssumeRole", "", `{"StringEquals":{"sts:ExternalId":"pair-1"}}`))},
			want{reason: "cross-account: no identity-based policy allows sts:AssumeRole on " + roleA}},
		{"trust cross account by account principal", give{mode: ModeTrust, caller: callerHub, action: "sts:AssumeRole", resource: roleA,
			identity: []string{doc(allowStmt("sts:AssumeRole", "arn:aws:iam::111111111111:role/*", ""))},
			policy:   doc(grantStmt("Allow", "HubAcct", awsP("arn:aws:iam::222222222222:root"), "sts:AssumeRole", "", ""))},
			want{allowed: true}},
		{"trust same account direct needs no identity", give{mode: ModeTrust, caller: caller2A, action: "sts:AssumeRole", resource: roleA,
			policy: doc(grantStmt("Allow", "Peer", awsP(role2A), "sts:AssumeRole", "", ""))},
			want{allowed: true}},
		{"trust same account by account needs identity", give{mode: ModeTrust, caller: caller2A, action: "sts:AssumeRole", resource: roleA,
			policy: doc(grantStmt("Allow", "Acct", awsP(acctA), "sts:AssumeRole", "", ""))},
			want{reason: "no identity-based policy allows sts:AssumeRole"}},
		{"trust same account identity without trust", give{mode: ModeTrust, caller: caller2A, action: "sts:AssumeRole", resource: roleA,
			identity: []string{doc(allowStmt("sts:AssumeRole", "*", ""))},
			policy:   doc(grantStmt("Allow", "S3", `{"Service":"s3.amazonaws.com"}`, "sts:AssumeRole", "", ""))},
			want{reason: "trust policy does not allow " + role2A}},
		{"trust AWS caller not matched by service statement", give{mode: ModeTrust, caller: rootCallA, action: "sts:AssumeRole", resource: roleA,
			policy: doc(grantStmt("Allow", "S3", `{"Service":"s3.amazonaws.com"}`, "sts:AssumeRole", "", ""))},
			want{}},
		{"trust explicit deny", give{mode: ModeTrust, caller: s3Service, action: "sts:AssumeRole", resource: roleA,
			policy: doc(grantStmt("Allow", "S3", `{"Service":"s3.amazonaws.com"}`, "sts:AssumeRole", "", ""), grantStmt("Deny", "NoS3", `{"Service":"s3.amazonaws.com"}`, "sts:*", "", ""))},
			want{explicit: true, reason: `"NoS3"`}},
	}

	names := map[string]bool{}
	for _, tt := range tests {
		if names[tt.name] {
			t.Fatalf("duplicate case name %q", tt.name)
		}
		names[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			in := Input{
				Request:         Request{Principal: tt.give.caller, Action: tt.give.action, Resource: tt.give.resource, Context: tt.give.ctx},
				Mode:            tt.give.mode,
				ResourceAccount: tt.give.account,
			}
			if in.ResourceAccount == "" {
				in.ResourceAccount = acctA
			}
			for _, d := range tt.give.identity {
				in.Identity = append(in.Identity, mustParse(t, d))
			}
			if tt.give.boundary != "" {
				in.Boundary = mustParse(t, tt.give.boundary)
			}
			if tt.give.policy != "" {
				in.Resource = mustParse(t, tt.give.policy)
			}
			got := Authorize(in)
			if got.Allowed != tt.want.allowed || got.ExplicitDeny != tt.want.explicit {
				t.Errorf("Authorize() = allowed %v explicit %v (%s), want allowed %v explicit %v",
					got.Allowed, got.ExplicitDeny, got.Reason, tt.want.allowed, tt.want.explicit)
			}
			if got.Reason == "" {
				t.Errorf("Authorize() gave no reason")
			}
			if tt.want.reason != "" && !strings.Contains(got.Reason, tt.want.reason) {
				t.Errorf("Authorize() reason = %q, want it to contain %q", got.Reason, tt.want.reason)
			}
		})
	}
	if len(tests) < 50 {
		t.Errorf("only %d cases", len(tests))
	}
}

func mustParse(t testing.TB, d string) *Policy {
	t.Helper()
	p, err := Parse([]byte(d))
	if err != nil {
		t.Fatalf("Parse(%s): %v", d, err)
	}
	return p
}
