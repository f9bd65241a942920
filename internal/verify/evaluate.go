package verify

import (
	"net"
	"strconv"
	"strings"

	"github.com/s3crr/s3crr/internal/policy"
)

// This file is the small evaluator for the resource policies IAM's policy simulator does
// not judge for a role: KMS key policies (never evaluated by the simulator) and bucket
// policies (the simulator evaluates a ResourcePolicy only for an IAM user as CallerArn,
// and the replication role is a role): docs/aws-facts.md#F-IAM-POLICY-SIMULATOR. It answers one question: for one principal, one
// action, one resource and one request context, what does this one document say?
//
// It is deliberately conservative. A condition operator it does not know makes an Allow
// statement not count and a Deny statement count, and the verdict says which statement
// it could not judge, so an unusual policy yields a warning to check by hand, never a
// silent pass.

// grantLevel is how strongly a resource policy allows a request.
type grantLevel int

const (
	grantNone grantLevel = iota
	// grantAccount: the policy names the caller's account (root ARN or account ID),
	// delegating the decision to the account's IAM policies.
	grantAccount
	// grantDirect: the policy names the caller itself, or everyone.
	grantDirect
)

// caller is who makes the request: the replication role S3 assumed.
type caller struct {
	arn     string // role ARN as policies name it
	account string
}

// question is one authorization question.
type question struct {
	who      caller
	action   string
	resource string
	ctx      map[string][]string // condition keys, lower-cased
}

// verdict is what one resource policy says about a question.
type verdict struct {
	grant    grantLevel
	grantSid string
	// denySid is the label of the Deny statement that applies, "" if none.
	denySid string
	// unjudged labels a statement with a condition the evaluator cannot evaluate.
	unjudged string
}

// label names a statement for findings: its Sid, or its position.
func label(i int, s policy.Statement) string {
	if s.Sid != "" {
		return s.Sid
	}
	return "statement " + strconv.Itoa(i+1)
}

// evalResourcePolicy evaluates a bucket or key policy for q. A key policy's Resource
// "*" means the key itself, which the pattern match gives.
func evalResourcePolicy(doc policy.Document, q question) verdict {
	var v verdict
	ctx := withCallerKeys(q)
	for i, s := range doc.Statement {
		if !matchAction(s, q.action) || !matchResource(s, q.resource) {
			continue
		}
		if _, hasNot := s.Extra["NotPrincipal"]; hasNot {
			// NotPrincipal is rare and easy to misjudge: treat it as unjudged.
			if s.Effect == policy.Deny && v.denySid == "" {
				v.denySid = label(i, s)
			}
			v.unjudged = label(i, s)
			continue
		}
		g := principalGrant(s.Principal, q.who)
		if g == grantNone {
			continue
		}
		ok, known := conditionsHold(s.Condition, ctx)
		if !known {
			v.unjudged = label(i, s)
			if s.Effect == policy.Deny && v.denySid == "" {
				v.denySid = label(i, s)
			}
			continue
		}
		if !ok {
			continue
		}
		if s.Effect == policy.Deny {
			if v.denySid == "" {
				v.denySid = label(i, s)
			}
			continue
		}
		if g > v.grant {
			v.grant, v.grantSid = g, label(i, s)
		}
	}
	return v
}

// evalTrust reports whether a trust policy lets service assume the role, and the Deny
// statement that stops it if any.
func evalTrust(doc policy.Document, service string) (allowed bool, denySid string) {
	for i, s := range doc.Statement {
		if !matchAction(s, "sts:AssumeRole") || s.Principal == nil {
			continue
		}
		named := s.Principal.All
		for _, p := range s.Principal.Service {
			named = named || strings.EqualFold(p, service)
		}
		for _, p := range s.Principal.AWS {
			named = named || p == "*"
		}
		if !named {
			continue
		}
		ok, known := conditionsHold(s.Condition, map[string][]string{"aws:principalservicename": {service}})
		if s.Effect == policy.Deny && (ok || !known) {
			return false, label(i, s)
		}
		if s.Effect == policy.Allow && ok && known {
			allowed = true
		}
	}
	return allowed, ""
}

func withCallerKeys(q question) map[string][]string {
	ctx := make(map[string][]string, len(q.ctx)+3)
	for k, v := range q.ctx {
		ctx[strings.ToLower(k)] = v
	}
	set := func(k, v string) {
		if _, ok := ctx[k]; !ok {
			ctx[k] = []string{v}
		}
	}
	set("aws:principalarn", q.who.arn)
	set("aws:principalaccount", q.who.account)
	if strings.HasPrefix(strings.ToLower(q.action), "kms:") {
		set("kms:calleraccount", q.who.account)
	}
	return ctx
}

func matchAction(s policy.Statement, action string) bool {
	a := strings.ToLower(action)
	if len(s.Action) > 0 {
		return anyGlob(s.Action, a, true)
	}
	return len(s.NotAction) > 0 && !anyGlob(s.NotAction, a, true)
}

func matchResource(s policy.Statement, resource string) bool {
	switch {
	case len(s.Resource) > 0:
		return anyGlob(s.Resource, resource, false)
	case len(s.NotResource) > 0:
		return !anyGlob(s.NotResource, resource, false)
	}
	return true
}

func anyGlob(patterns []string, v string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			p = strings.ToLower(p)
		}
		if policy.GlobMatch(p, v) {
			return true
		}
	}
	return false
}

func principalGrant(pr *policy.Principal, c caller) grantLevel {
	if pr == nil {
		return grantNone
	}
	if pr.All {
		return grantDirect
	}
	best := grantNone
	for _, v := range pr.AWS {
		switch {
		case v == "*" || v == c.arn:
			return grantDirect
		case v == c.account || v == policy.AccountRootARN(c.account):
			best = grantAccount
		}
	}
	return best
}

// conditionsHold evaluates a Condition element. known is false when an operator is
// outside the supported set or a value uses a policy variable.
func conditionsHold(cond map[string]map[string][]string, ctx map[string][]string) (ok, known bool) {
	for op, keys := range cond {
		for key, want := range keys {
			for _, w := range want {
				if strings.Contains(w, "${") {
					return false, false
				}
			}
			got, present := ctx[strings.ToLower(key)]
			if !present && strings.EqualFold(key, policy.KeyPrincipalOrgID) {
				// The checks read no organization: a grant pinned to one (s3crr's shared
				// destination grants in an organization deployment) is for a person to
				// confirm, not a failure.
				return false, false
			}
			holds, k := operatorHolds(op, want, got, present)
			if !k {
				return false, false
			}
			if !holds {
				return false, true
			}
		}
	}
	return true, true
}

func operatorHolds(op string, want, got []string, present bool) (holds, known bool) {
	base, ifExists := strings.CutSuffix(op, "IfExists")
	setOp := ""
	if q, rest, ok := strings.Cut(base, ":"); ok {
		setOp, base = q, rest
	}
	if base == "Null" {
		isNull := !present
		for _, w := range want {
			if strings.EqualFold(w, "true") == isNull {
				return true, true
			}
		}
		return false, true
	}
	cmp, negated, ok := comparer(base)
	if !ok {
		return false, false
	}
	if !present {
		switch {
		case ifExists:
			return true, true
		case setOp == "ForAllValues":
			return true, true
		case setOp == "ForAnyValue":
			return false, true
		}
		return negated, true
	}
	anyWant := func(v string) bool {
		for _, w := range want {
			if cmp(w, v) {
				return true
			}
		}
		return false
	}
	switch setOp {
	case "ForAllValues":
		for _, v := range got {
			if anyWant(v) == negated {
				return false, true
			}
		}
		return true, true
	default: // single-valued and ForAnyValue: some value matches
		for _, v := range got {
			if anyWant(v) != negated {
				return true, true
			}
		}
		return false, true
	}
}

// comparer returns the value comparison of a condition operator; negated operators
// return the positive comparison and negated=true.
func comparer(op string) (cmp func(want, got string) bool, negated, ok bool) {
	switch op {
	case "StringEquals", "ArnEquals":
		return func(w, g string) bool { return w == g }, false, true
	case "StringNotEquals", "ArnNotEquals":
		return func(w, g string) bool { return w == g }, true, true
	case "StringEqualsIgnoreCase":
		return strings.EqualFold, false, true
	case "StringNotEqualsIgnoreCase":
		return strings.EqualFold, true, true
	case "StringLike", "ArnLike":
		return policy.GlobMatch, false, true
	case "StringNotLike", "ArnNotLike":
		return policy.GlobMatch, true, true
	case "Bool":
		return strings.EqualFold, false, true
	case "IpAddress":
		return ipIn, false, true
	case "NotIpAddress":
		return ipIn, true, true
	}
	return nil, false, false
}

func ipIn(cidr, ip string) bool {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return cidr == ip
	}
	return n.Contains(net.ParseIP(ip))
}
