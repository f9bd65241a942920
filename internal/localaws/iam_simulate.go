package localaws

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/s3crr/s3crr/internal/localaws/authz"
)

// This file serves IAM's policy simulator API, SimulatePrincipalPolicy and
// SimulateCustomPolicy, from the simulator's own evaluator (authz), with the semantics the
// IAM API Reference documents (docs/aws-facts.md#F-IAM-POLICY-SIMULATOR,
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html):
//
//   - every action is evaluated for every resource (ResourceArns, default "*");
//   - EvalDecision is "allowed", "explicitDeny" or "implicitDeny";
//   - MatchedStatements names the statements that decided: the Deny statements of an
//     explicit deny, otherwise the Allow statements that apply;
//   - ContextEntries supply the condition keys; a key a policy tests that is not supplied
//     is listed in MissingContextValues;
//   - ResourcePolicy is evaluated with CallerArn as the principal, which may only be an
//     IAM user ARN, and is required with a ResourcePolicy when PolicySourceArn is not a
//     user; ResourceOwner (default: CallerArn's account) owns the resource and its policy.
//
// What it leaves out, as AWS's simulator does: KMS key policies and other services'
// resource policies are never read from the account; only a ResourcePolicy passed in is.

// iamEvalResultXML is one EvaluationResult.
type iamEvalResultXML struct {
	EvalActionName     string                `xml:"EvalActionName"`
	EvalResourceName   string                `xml:"EvalResourceName"`
	EvalDecision       string                `xml:"EvalDecision"`
	MatchedStatements  []iamMatchedStmtXML   `xml:"MatchedStatements>member"`
	MissingContext     []string              `xml:"MissingContextValues>member"`
	BoundaryDetail     *iamBoundaryDetailXML `xml:"PermissionsBoundaryDecisionDetail,omitempty"`
	EvalDecisionDetail []iamDecisionEntryXML `xml:"EvalDecisionDetails>entry,omitempty"`
}

type iamMatchedStmtXML struct {
	SourcePolicyID   string `xml:"SourcePolicyId"`
	SourcePolicyType string `xml:"SourcePolicyType"`
}

type iamBoundaryDetailXML struct {
	AllowedByPermissionsBoundary bool `xml:"AllowedByPermissionsBoundary"`
}

type iamDecisionEntryXML struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type iamSimulateResult struct {
	EvaluationResults []iamEvalResultXML `xml:"EvaluationResults>member"`
	IsTruncated       bool               `xml:"IsTruncated"`
	Marker            string             `xml:"Marker,omitempty"`
}

// simPolicy is one policy of a simulation with the name and type MatchedStatements reports.
type simPolicy struct {
	id, kind string
	p        *authz.Policy
}

// simInput is a parsed simulation request.
type simInput struct {
	principal authz.Principal
	identity  []simPolicy
	boundary  *simPolicy
	resource  *simPolicy
	owner     string
	actions   []string
	resources []string
	context   map[string][]string
}

func (s *Server) iamSimulatePrincipalPolicy(c *call, q iamQueryArgs) (any, *apiError) {
	src := q.get("PolicySourceArn")
	if !q.has("PolicySourceArn") {
		return nil, iamErrMissing("policySourceArn")
	}
	if err := s.iamAuthorize(c, "SimulatePrincipalPolicy", src, nil, nil); err != nil {
		return nil, err
	}
	r := s.roleByARN(src)
	if r == nil {
		// The simulator has roles only: users and groups do not exist here.
		return nil, errf(http.StatusNotFound, "NoSuchEntity", "Entity %s does not exist.", src)
	}
	in := simInput{principal: authz.Principal{Account: r.account, ARN: r.arn}}
	for _, name := range sortedKeys(r.inline) {
		in.identity = append(in.identity, simPolicy{id: name, kind: "role", p: r.inline[name].parsed})
	}
	for _, arn := range r.attached {
		if mp := s.managedPolicy(arn); mp != nil {
			in.identity = append(in.identity, simPolicy{id: mp.name, kind: "user-managed", p: mp.parsed})
		}
	}
	for i, doc := range q.list("PolicyInputList") {
		p, err := parseSimPolicy(doc, authz.KindIdentity, "policyInputList")
		if err != nil {
			return nil, err
		}
		in.identity = append(in.identity, simPolicy{id: "PolicyInputList." + strconv.Itoa(i+1), kind: "IAM Policy", p: p})
	}
	if docs := q.list("PermissionsBoundaryPolicyInputList"); len(docs) > 0 {
		p, err := parseSimPolicy(docs[0], authz.KindIdentity, "permissionsBoundaryPolicyInputList")
		if err != nil {
			return nil, err
		}
		in.boundary = &simPolicy{id: "PermissionsBoundaryPolicyInputList.1", kind: "permissions boundary", p: p}
	} else if r.boundary != "" {
		b := &simPolicy{id: r.boundary, kind: "permissions boundary", p: &authz.Policy{}}
		if mp := s.managedPolicy(r.boundary); mp != nil {
			b.id, b.p = mp.name, mp.parsed
		}
		in.boundary = b
	}
	return s.simulate(q, in)
}

func (s *Server) iamSimulateCustomPolicy(c *call, q iamQueryArgs) (any, *apiError) {
	if err := s.iamAuthorize(c, "SimulateCustomPolicy", "*", nil, nil); err != nil {
		return nil, err
	}
	docs := q.list("PolicyInputList")
	if len(docs) == 0 {
		return nil, iamErrMissing("policyInputList")
	}
	in := simInput{principal: authz.Principal{Account: c.p.account}}
	for i, doc := range docs {
		p, err := parseSimPolicy(doc, authz.KindIdentity, "policyInputList")
		if err != nil {
			return nil, err
		}
		in.identity = append(in.identity, simPolicy{id: "PolicyInputList." + strconv.Itoa(i+1), kind: "IAM Policy", p: p})
	}
	if b := q.list("PermissionsBoundaryPolicyInputList"); len(b) > 0 {
		p, err := parseSimPolicy(b[0], authz.KindIdentity, "permissionsBoundaryPolicyInputList")
		if err != nil {
			return nil, err
		}
		in.boundary = &simPolicy{id: "PermissionsBoundaryPolicyInputList.1", kind: "permissions boundary", p: p}
	}
	return s.simulate(q, in)
}

func parseSimPolicy(doc string, kind authz.Kind, field string) (*authz.Policy, *apiError) {
	if doc == "" {
		return nil, iamErrValidation(field, doc, "Member must have length greater than or equal to 1")
	}
	p, err := authz.Parse([]byte(doc))
	if err != nil {
		return nil, errf(http.StatusBadRequest, "InvalidInput", "%s", err.Error())
	}
	if err := p.CheckKind(kind); err != nil {
		return nil, errf(http.StatusBadRequest, "InvalidInput", "%s", err.Error())
	}
	return p, nil
}

// simulate reads what both operations share (actions, resources, resource policy, caller,
// owner, context) and evaluates every action on every resource.
func (s *Server) simulate(q iamQueryArgs, in simInput) (any, *apiError) {
	in.actions = q.list("ActionNames")
	if len(in.actions) == 0 {
		return nil, iamErrMissing("actionNames")
	}
	for _, a := range in.actions {
		if strings.ContainsAny(a, "*?") || !strings.Contains(a, ":") {
			return nil, errf(http.StatusBadRequest, "InvalidInput", "Action name %s is not valid: wildcards are not supported.", a)
		}
	}
	in.resources = q.list("ResourceArns")
	if len(in.resources) == 0 {
		in.resources = []string{"*"}
	}
	caller := q.get("CallerArn")
	if caller != "" {
		// CallerArn can only be an IAM user: not a role, an assumed role or a service.
		if !strings.HasPrefix(caller, "arn:aws:iam::") || !strings.Contains(caller, ":user/") {
			return nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid CallerArn %s: only an IAM user ARN may be simulated as the caller.", caller)
		}
		in.principal = authz.Principal{Account: accountOfARN(caller), ARN: caller}
	}
	in.owner = in.principal.Account
	if doc := q.get("ResourcePolicy"); doc != "" {
		if caller == "" {
			return nil, errf(http.StatusBadRequest, "InvalidInput", "CallerArn is required when a ResourcePolicy is simulated and the policy source is not an IAM user.")
		}
		p, err := parseSimPolicy(doc, authz.KindResource, "resourcePolicy")
		if err != nil {
			return nil, err
		}
		in.resource = &simPolicy{id: "ResourcePolicy", kind: "resource", p: p}
	}
	if o := q.get("ResourceOwner"); o != "" {
		if !accountIDPattern.MatchString(o) && !accountIDPattern.MatchString(accountOfARN(o)) {
			return nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid ResourceOwner %s.", o)
		}
		if accountIDPattern.MatchString(o) {
			in.owner = o
		} else {
			in.owner = accountOfARN(o)
		}
	}
	ctx, err := simContext(q)
	if err != nil {
		return nil, err
	}
	in.context = ctx

	var all []iamEvalResultXML
	for _, res := range in.resources {
		for _, a := range in.actions {
			all = append(all, in.evaluate(a, res))
		}
	}
	start, end, next, perr := iamPaginate(q, len(all))
	if perr != nil {
		return nil, perr
	}
	return iamSimulateResult{EvaluationResults: all[start:end], IsTruncated: next != "", Marker: next}, nil
}

// simContext reads ContextEntries.member.N.{ContextKeyName,ContextKeyType,ContextKeyValues}.
func simContext(q iamQueryArgs) (map[string][]string, *apiError) {
	ctx := map[string][]string{}
	for i := 1; ; i++ {
		base := "ContextEntries.member." + strconv.Itoa(i)
		name := q.get(base + ".ContextKeyName")
		if name == "" {
			if q.hasPrefix(base) {
				return nil, iamErrMissing("contextEntries.member." + strconv.Itoa(i) + ".contextKeyName")
			}
			return ctx, nil
		}
		switch t := q.get(base + ".ContextKeyType"); t {
		case "", "string", "stringList", "numeric", "numericList", "boolean", "booleanList", "ip", "ipList", "binary", "binaryList", "date", "dateList":
		default:
			return nil, iamErrValidation("contextEntries.member."+strconv.Itoa(i)+".contextKeyType", t,
				"Member must satisfy enum value set: [string, stringList, numeric, numericList, boolean, booleanList, ip, ipList, binary, binaryList, date, dateList]")
		}
		ctx[name] = append(ctx[name], q.list(base+".ContextKeyValues")...)
	}
}

// evaluate decides one action on one resource.
func (in simInput) evaluate(action, resource string) iamEvalResultXML {
	var identity []*authz.Policy
	for _, p := range in.identity {
		identity = append(identity, p.p)
	}
	full := authz.Input{
		Request:         authz.Request{Principal: in.principal, Action: action, Resource: resource, Context: in.context},
		Mode:            authz.ModeStandard,
		Identity:        identity,
		ResourceAccount: in.owner,
	}
	if in.boundary != nil {
		full.Boundary = in.boundary.p
	}
	if in.resource != nil {
		full.Resource = in.resource.p
	}
	d := authz.Authorize(full)
	out := iamEvalResultXML{EvalActionName: action, EvalResourceName: resource, EvalDecision: "implicitDeny"}
	switch {
	case d.Allowed:
		out.EvalDecision = "allowed"
	case d.ExplicitDeny:
		out.EvalDecision = "explicitDeny"
	}
	out.MatchedStatements = in.matched(action, resource, out.EvalDecision == "explicitDeny")
	out.MissingContext = in.missingKeys(action, resource)
	if in.boundary != nil {
		one := authz.Authorize(authz.Input{
			Request:         full.Request,
			Mode:            authz.ModeStandard,
			Identity:        []*authz.Policy{in.boundary.p},
			ResourceAccount: in.principal.Account,
		})
		out.BoundaryDetail = &iamBoundaryDetailXML{AllowedByPermissionsBoundary: one.Allowed}
	}
	if in.resource != nil {
		rd := "implicitDeny"
		one := authz.Authorize(authz.Input{
			Request:         full.Request,
			Mode:            authz.ModeStandard,
			Resource:        in.resource.p,
			ResourceAccount: in.owner,
		})
		if one.ExplicitDeny {
			rd = "explicitDeny"
		} else if strings.Contains(one.Reason, "resource policy") && one.Allowed {
			rd = "allowed"
		}
		out.EvalDecisionDetail = []iamDecisionEntryXML{{Key: "ResourcePolicy", Value: rd}}
	}
	return out
}

// matched lists the statements that apply to the request: with deny true only Deny
// statements, otherwise only Allow statements. Each statement is judged alone by the
// evaluator, so "applies" means exactly what it means in a full evaluation.
func (in simInput) matched(action, resource string, deny bool) []iamMatchedStmtXML {
	var out []iamMatchedStmtXML
	judge := func(sp simPolicy, asResource bool) {
		for i := range sp.p.Statements {
			st := sp.p.Statements[i]
			if (st.Effect == authz.Deny) != deny {
				continue
			}
			one := &authz.Policy{Statements: []authz.Statement{st}}
			req := authz.Input{
				Request:         authz.Request{Principal: in.principal, Action: action, Resource: resource, Context: in.context},
				Mode:            authz.ModeStandard,
				ResourceAccount: in.principal.Account,
			}
			if asResource {
				req.Resource = one
			} else {
				req.Identity = []*authz.Policy{one}
			}
			d := authz.Authorize(req)
			if (deny && d.ExplicitDeny) || (!deny && d.Allowed) {
				out = append(out, iamMatchedStmtXML{SourcePolicyID: sp.id, SourcePolicyType: sp.kind})
			}
		}
	}
	for _, p := range in.identity {
		judge(p, false)
	}
	if in.boundary != nil && deny {
		judge(*in.boundary, false)
	}
	if in.resource != nil {
		judge(*in.resource, true)
	}
	return out
}

// missingKeys lists the condition keys of statements that would otherwise apply which the
// request's context does not supply, as MissingContextValues does.
func (in simInput) missingKeys(action, resource string) []string {
	seen := map[string]bool{}
	have := map[string]bool{}
	for k := range in.context {
		have[strings.ToLower(k)] = true
	}
	var out []string
	all := append([]simPolicy(nil), in.identity...)
	if in.resource != nil {
		all = append(all, *in.resource)
	}
	for _, sp := range all {
		for _, st := range sp.p.Statements {
			if !st.MatchesActionResource(action, resource) {
				continue
			}
			for _, k := range st.ConditionKeys() {
				lk := strings.ToLower(k)
				if have[lk] || seen[lk] || derivedKey(lk) {
					continue
				}
				seen[lk] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// derivedKey says whether the evaluator fills a key in itself from the caller.
func derivedKey(lk string) bool {
	switch lk {
	case "aws:principalarn", "aws:principalaccount", "aws:principalservicename":
		return true
	}
	return false
}
