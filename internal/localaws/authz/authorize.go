package authz

import (
	"fmt"
	"strings"
)

// Principal is who is calling.
type Principal struct {
	// Account is the caller's 12-digit account ID.
	Account string
	// ARN is the role ARN (arn:aws:iam::A:role/path/name) for role sessions,
	// arn:aws:iam::A:root for the root user.
	ARN string
	// IsRoot is true for the account's root user.
	IsRoot bool
	// Service is set instead of ARN and Account when a service principal
	// calls, e.g. "s3.amazonaws.com".
	Service string
	// OrgID is the AWS Organizations ID of the caller's account (aws:PrincipalOrgID);
	// "" when the account is in no organization, which leaves the key out.
	OrgID string
}

// Request is one authorization question.
type Request struct {
	// Principal is the caller.
	Principal Principal
	// Action is the IAM action, e.g. "s3:GetObjectVersionForReplication".
	Action string
	// Resource is the full ARN of the resource acted on.
	Resource string
	// Context maps condition keys to their values; keys match
	// case-insensitively. Authorize does not modify it.
	Context map[string][]string
}

// Mode says which AWS evaluation logic applies.
type Mode int

const (
	// ModeStandard is S3, IAM and STS (other than AssumeRole's trust check):
	// identity and resource policies with the cross-account rule.
	ModeStandard Mode = iota
	// ModeKMS makes the key policy authoritative: IAM policies count only if
	// the key policy allows the caller's account.
	ModeKMS
	// ModeTrust is sts:AssumeRole against a role's trust policy, passed as
	// Input.Resource.
	ModeTrust
)

// String names the mode, for test failures and logs.
func (m Mode) String() string {
	switch m {
	case ModeStandard:
		return "standard"
	case ModeKMS:
		return "kms"
	case ModeTrust:
		return "trust"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Input is everything Authorize needs to decide one request.
type Input struct {
	Request
	// Mode selects the evaluation logic.
	Mode Mode
	// Identity holds the caller's identity policies (inline and attached
	// managed); empty for root and service callers.
	Identity []*Policy
	// Boundary is the permissions boundary of the caller's role, nil if none.
	Boundary *Policy
	// Resource is the bucket, key or trust policy; nil if none.
	Resource *Policy
	// ResourceAccount is the account that owns the resource.
	ResourceAccount string
	// ResourceOrgID is the AWS Organizations ID of ResourceAccount (aws:ResourceOrgID);
	// "" when that account is in no organization, which leaves the key out.
	ResourceOrgID string
}

// Decision is Authorize's answer.
type Decision struct {
	// Allowed is true when the request may proceed.
	Allowed bool
	// Reason explains the outcome in one line, for error messages and test
	// failures.
	Reason string
	// ExplicitDeny is true when a Deny statement, or a statement the
	// evaluator cannot evaluate, decided the request.
	ExplicitDeny bool
}

// grant is the strength with which a policy allows a request.
type grant int

const (
	grantNone grant = iota
	// grantAccount: a resource policy names the caller's account, delegating
	// to the account's IAM policies.
	grantAccount
	// grantDirect: an identity policy allows, or a resource policy names the
	// caller itself (or everyone).
	grantDirect
)

// policyResult is what one policy says about a request.
type policyResult struct {
	grant    grant
	grantSid string
	deny     string // reason of the first explicit or unsupported deny
}

type policyKind int

const (
	kindIdentity policyKind = iota
	kindBoundary
	kindResource
)

func (k policyKind) String() string {
	switch k {
	case kindIdentity:
		return "identity policy"
	case kindBoundary:
		return "permissions boundary"
	}
	return "resource policy"
}

// Authorize decides a request the way AWS does for the subset documented in
// the package comment.
func Authorize(in Input) Decision {
	req := in.Request
	req.Context = withDefaults(in)
	caller := in.Principal

	// Every policy is evaluated before deciding so that an explicit deny
	// anywhere wins over any allow.
	var identity policyResult
	for _, p := range in.Identity {
		r := evalPolicy(p, &req, kindIdentity)
		if r.deny != "" {
			return denied(r.deny)
		}
		if r.grant > identity.grant {
			identity = r
		}
	}
	boundaryOK := true
	if in.Boundary != nil {
		r := evalPolicy(in.Boundary, &req, kindBoundary)
		if r.deny != "" {
			return denied(r.deny)
		}
		boundaryOK = r.grant != grantNone
	}
	var res policyResult
	if in.Resource != nil {
		res = evalPolicy(in.Resource, &req, kindResource)
		if res.deny != "" {
			return denied(res.deny)
		}
	}

	what := fmt.Sprintf("%s on %s", req.Action, req.Resource)
	resName := resourcePolicyName(in.Mode)

	if caller.Service != "" {
		if res.grant == grantDirect {
			return allowed(fmt.Sprintf("%s %s allows service %s", resName, res.sidText(), caller.Service))
		}
		return implicit(fmt.Sprintf("%s does not allow service %s to perform %s", resName, caller.Service, what))
	}

	// The identity side: root holds every permission of its own account's
	// IAM; anyone else needs an identity policy allow within the boundary.
	identityAllow := caller.IsRoot || (identity.grant != grantNone && boundaryOK)
	identityWhy := fmt.Sprintf("no identity-based policy allows %s", what)
	if identity.grant != grantNone && !boundaryOK {
		identityWhy = fmt.Sprintf("permissions boundary does not allow %s", what)
	}
	// AWS limits a resource-policy grant to a role ARN by the role's
	// permissions boundary; root has no boundary.
	direct := res.grant == grantDirect && (caller.IsRoot || boundaryOK)
	account := res.grant == grantAccount || res.grant == grantDirect
	sameAccount := caller.Account != "" && caller.Account == in.ResourceAccount

	switch in.Mode {
	case ModeStandard:
		if sameAccount {
			switch {
			case caller.IsRoot:
				return allowed("root user of the resource's account")
			case identityAllow:
				return allowed(fmt.Sprintf("identity-based policy %s allows %s", identity.sidText(), what))
			case direct:
				return allowed(fmt.Sprintf("%s %s allows %s", resName, res.sidText(), what))
			case res.grant == grantDirect:
				return implicit(fmt.Sprintf("permissions boundary does not allow %s granted by the %s", what, resName))
			}
			return implicit(identityWhy)
		}
	case ModeKMS, ModeTrust:
		if sameAccount {
			switch {
			case direct:
				return allowed(fmt.Sprintf("%s %s allows %s", resName, res.sidText(), what))
			case res.grant == grantDirect:
				return implicit(fmt.Sprintf("permissions boundary does not allow %s granted by the %s", what, resName))
			case res.grant == grantAccount && identityAllow:
				if caller.IsRoot {
					return allowed(fmt.Sprintf("%s %s allows the account root", resName, res.sidText()))
				}
				return allowed(fmt.Sprintf("%s %s allows the account and identity-based policy %s allows %s", resName, res.sidText(), identity.sidText(), what))
			case res.grant == grantAccount:
				return implicit(identityWhy)
			case in.Mode == ModeKMS && identity.grant != grantNone:
				return implicit(fmt.Sprintf("key policy does not allow account %s, so IAM policies cannot grant %s", caller.Account, what))
			}
			return implicit(fmt.Sprintf("%s does not allow %s to perform %s", resName, callerName(caller), what))
		}
	default:
		return denied(fmt.Sprintf("unknown evaluation mode %d", int(in.Mode)))
	}

	// Cross-account: both the caller's account and the resource's policy
	// must allow.
	switch {
	case in.Resource == nil:
		return implicit(fmt.Sprintf("cross-account: resource account %s has no %s allowing %s", in.ResourceAccount, resName, what))
	case !account:
		return implicit(fmt.Sprintf("cross-account: %s does not allow %s to perform %s", resName, callerName(caller), what))
	case !identityAllow:
		return implicit(fmt.Sprintf("cross-account: %s", identityWhy))
	}
	return allowed(fmt.Sprintf("cross-account: %s %s and identity-based policy %s allow %s", resName, res.sidText(), identity.sidText(), what))
}

func resourcePolicyName(m Mode) string {
	switch m {
	case ModeKMS:
		return "key policy"
	case ModeTrust:
		return "trust policy"
	}
	return "resource policy"
}

func callerName(p Principal) string {
	if p.Service != "" {
		return p.Service
	}
	if p.ARN != "" {
		return p.ARN
	}
	return "account " + p.Account
}

func (r policyResult) sidText() string {
	if r.grantSid == "" {
		return "(root)"
	}
	return r.grantSid
}

func allowed(reason string) Decision { return Decision{Allowed: true, Reason: reason} }

func implicit(reason string) Decision { return Decision{Reason: reason} }

func denied(reason string) Decision { return Decision{Reason: reason, ExplicitDeny: true} }

// withDefaults returns the request context with lower-cased keys and the keys
// AWS derives from the caller filled in when the caller did not supply them.
func withDefaults(in Input) map[string][]string {
	ctx := make(map[string][]string, len(in.Context)+4)
	for k, v := range in.Context {
		lk := strings.ToLower(k)
		ctx[lk] = append(ctx[lk], v...)
	}
	set := func(k, v string) {
		if _, ok := ctx[k]; !ok && v != "" {
			ctx[k] = []string{v}
		}
	}
	set("aws:resourceorgid", in.ResourceOrgID)
	p := in.Principal
	if p.Service != "" {
		set("aws:principalservicename", p.Service)
	} else {
		set("aws:principalarn", p.ARN)
		set("aws:principalaccount", p.Account)
		set("aws:principalorgid", p.OrgID)
		if in.Mode == ModeKMS {
			set("kms:calleraccount", p.Account)
		}
	}
	return ctx
}

// evalPolicy evaluates every statement of p. It stops at the first applicable
// Deny or unevaluable statement, and otherwise reports the strongest grant.
func evalPolicy(p *Policy, req *Request, kind policyKind) policyResult {
	var r policyResult
	for i := range p.Statements {
		st := &p.Statements[i]
		g, unsupported := st.applies(req, kind)
		if g == grantNone {
			continue
		}
		if unsupported != "" {
			r.deny = fmt.Sprintf("%s in %s of %s", unsupported, st.label(i), kind)
			return r
		}
		if st.Effect == Deny {
			r.deny = fmt.Sprintf("explicit deny in %s %s", kind, st.label(i))
			return r
		}
		if g > r.grant {
			r.grant = g
			r.grantSid = st.label(i)
		}
	}
	return r
}

// applies reports with which strength st matches the request (grantNone when
// it does not apply), and, for a statement that would apply but carries a
// condition the evaluator cannot judge, why.
func (st *Statement) applies(req *Request, kind policyKind) (grant, string) {
	if !st.matchesAction(req.Action) || !st.matchesResource(req.Resource) {
		return grantNone, ""
	}
	g := grantDirect
	if kind == kindResource {
		g = st.Principal.match(req.Principal)
		if g == grantNone {
			return grantNone, ""
		}
	}
	for i := range st.Conditions {
		if st.Conditions[i].unsupported != "" {
			return g, st.Conditions[i].unsupported
		}
	}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		vals, present := req.Context[strings.ToLower(c.Key)]
		if !c.holds(vals, present) {
			return grantNone, ""
		}
	}
	return g, ""
}

func (st *Statement) matchesAction(action string) bool {
	a := strings.ToLower(action)
	if len(st.Actions) > 0 {
		return anyMatch(st.Actions, a, true)
	}
	return !anyMatch(st.NotActions, a, true)
}

func (st *Statement) matchesResource(resource string) bool {
	switch {
	case len(st.Resources) > 0:
		return anyMatch(st.Resources, resource, false)
	case len(st.NotResources) > 0:
		return !anyMatch(st.NotResources, resource, false)
	}
	// Trust policies name no resource: the role they belong to is implied.
	return true
}

func anyMatch(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			p = strings.ToLower(p)
		}
		if WildcardMatch(p, s) {
			return true
		}
	}
	return false
}

// match reports how strongly a Principal element names the caller. A nil
// element (a resource policy statement without Principal, which CheckKind
// rejects) names nobody.
func (pr *Principals) match(c Principal) grant {
	if pr == nil {
		return grantNone
	}
	if pr.Wildcard {
		return grantDirect
	}
	best := grantNone
	for _, v := range pr.AWS {
		if v == "*" {
			return grantDirect
		}
		if c.Service != "" {
			continue
		}
		switch {
		case c.Account != "" && (v == c.Account || v == "arn:aws:iam::"+c.Account+":root"):
			best = max(best, grantAccount)
		case c.ARN != "" && v == c.ARN:
			return grantDirect
		}
	}
	if c.Service != "" {
		for _, v := range pr.Service {
			if strings.EqualFold(v, c.Service) {
				return grantDirect
			}
		}
	}
	return best
}

// MatchesActionResource reports whether the statement's Action and Resource
// elements (or their Not forms) cover action on resource, ignoring Principal
// and conditions. The policy simulator API uses it to tell which condition
// keys a request would need (MissingContextValues).
func (st *Statement) MatchesActionResource(action, resource string) bool {
	return st.matchesAction(action) && st.matchesResource(resource)
}

// ConditionKeys returns the condition keys the statement tests, as written.
func (st *Statement) ConditionKeys() []string {
	out := make([]string, 0, len(st.Conditions))
	for _, c := range st.Conditions {
		out = append(out, c.Key)
	}
	return out
}
