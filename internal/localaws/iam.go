package localaws

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/s3crr/s3crr/internal/localaws/authz"
)

// IAM quotas the simulator enforces (IAM User Guide, "IAM and AWS STS quotas"). Sizes count
// characters without insignificant white space, as IAM does.
const (
	iamTrustPolicyMax      = 2048  // role trust policy length (default quota)
	iamInlineRolePolicyMax = 10240 // aggregate size of a role's inline policies
	iamManagedPolicyMax    = 6144  // managed policy document
	iamAttachedPerRole     = 10    // managed policies attached to a role (default quota)
	iamTagsPerRole         = 50
)

// iamHandler serves one IAM or STS operation. It runs with s.mu held and returns the
// <OpResult> body (nil for operations without output) or an error; the response is
// written after the lock is released.
type iamHandler func(s *Server, c *call, q iamQueryArgs) (any, *apiError)

// iamOps maps IAM Query actions to their handlers.
var iamOps = map[string]iamHandler{
	"CreateRole":                    (*Server).iamCreateRole,
	"GetRole":                       (*Server).iamGetRole,
	"DeleteRole":                    (*Server).iamDeleteRole,
	"UpdateRole":                    (*Server).iamUpdateRole,
	"UpdateAssumeRolePolicy":        (*Server).iamUpdateAssumeRolePolicy,
	"ListRoles":                     (*Server).iamListRoles,
	"TagRole":                       (*Server).iamTagRole,
	"UntagRole":                     (*Server).iamUntagRole,
	"ListRoleTags":                  (*Server).iamListRoleTags,
	"PutRolePermissionsBoundary":    (*Server).iamPutRolePermissionsBoundary,
	"DeleteRolePermissionsBoundary": (*Server).iamDeleteRolePermissionsBoundary,
	"PutRolePolicy":                 (*Server).iamPutRolePolicy,
	"GetRolePolicy":                 (*Server).iamGetRolePolicy,
	"DeleteRolePolicy":              (*Server).iamDeleteRolePolicy,
	"ListRolePolicies":              (*Server).iamListRolePolicies,
	"CreatePolicy":                  (*Server).iamCreatePolicy,
	"GetPolicy":                     (*Server).iamGetPolicy,
	"GetPolicyVersion":              (*Server).iamGetPolicyVersion,
	"DeletePolicy":                  (*Server).iamDeletePolicy,
	"ListPolicies":                  (*Server).iamListPolicies,
	"AttachRolePolicy":              (*Server).iamAttachRolePolicy,
	"DetachRolePolicy":              (*Server).iamDetachRolePolicy,
	"ListAttachedRolePolicies":      (*Server).iamListAttachedRolePolicies,
	"SimulatePrincipalPolicy":       (*Server).iamSimulatePrincipalPolicy,
	"SimulateCustomPolicy":          (*Server).iamSimulateCustomPolicy,
}

// serveIAM serves the IAM Query API. IAM is global, so the signing region does not matter;
// every call acts in the caller's own account.
func (s *Server) serveIAM(c *call) {
	s.iamServeQuery(c, iamNamespace, "2010-05-08", iamOps)
}

// iamServeQuery dispatches a Query-protocol request to its handler, counting it and applying
// injected faults first, and writes the result in namespace ns.
func (s *Server) iamServeQuery(c *call, ns, version string, ops map[string]iamHandler) {
	q, err := iamParseQuery(c)
	if err != nil {
		c.fail(err)
		return
	}
	action := q.get("Action")
	h, ok := ops[action]
	if !ok {
		c.fail(errf(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", action, version))
		return
	}
	if !s.begin(c, action) {
		return
	}
	s.mu.Lock()
	res, err := h(s, c, q)
	s.mu.Unlock()
	if err != nil {
		c.fail(err)
		return
	}
	c.iamWriteQuery(ns, action, res)
}

// --- XML shapes ---

type iamBoundaryXML struct {
	PermissionsBoundaryType string `xml:"PermissionsBoundaryType"`
	PermissionsBoundaryArn  string `xml:"PermissionsBoundaryArn"`
}

type iamRoleXML struct {
	Path                     string          `xml:"Path"`
	RoleName                 string          `xml:"RoleName"`
	RoleID                   string          `xml:"RoleId"`
	Arn                      string          `xml:"Arn"`
	CreateDate               string          `xml:"CreateDate"`
	AssumeRolePolicyDocument string          `xml:"AssumeRolePolicyDocument"`
	Description              string          `xml:"Description,omitempty"`
	MaxSessionDuration       int32           `xml:"MaxSessionDuration"`
	PermissionsBoundary      *iamBoundaryXML `xml:"PermissionsBoundary"`
	Tags                     []iamTagXML     `xml:"Tags>member"`
}

type iamRoleResult struct {
	Role iamRoleXML `xml:"Role"`
}

type iamListRolesResult struct {
	Roles       []iamRoleXML `xml:"Roles>member"`
	IsTruncated bool         `xml:"IsTruncated"`
	Marker      string       `xml:"Marker,omitempty"`
}

type iamListTagsResult struct {
	Tags        []iamTagXML `xml:"Tags>member"`
	IsTruncated bool        `xml:"IsTruncated"`
	Marker      string      `xml:"Marker,omitempty"`
}

// iamXML renders a role. ListRoles leaves out the boundary and tags, as IAM does.
func (r *role) iamXML(full bool) iamRoleXML {
	x := iamRoleXML{
		Path:                     r.path,
		RoleName:                 r.name,
		RoleID:                   r.id,
		Arn:                      r.arn,
		CreateDate:               iamTime(r.created),
		AssumeRolePolicyDocument: encodePolicyDoc(r.trustDoc),
		Description:              r.desc,
		MaxSessionDuration:       r.maxSess,
	}
	if full {
		if r.boundary != "" {
			x.PermissionsBoundary = &iamBoundaryXML{PermissionsBoundaryType: "PermissionsBoundaryPolicy", PermissionsBoundaryArn: r.boundary}
		}
		x.Tags = iamTagList(r.tags)
	}
	return x
}

func iamTagList(tags map[string]string) []iamTagXML {
	out := make([]iamTagXML, 0, len(tags))
	for _, k := range sortedKeys(tags) {
		out = append(out, iamTagXML{Key: k, Value: tags[k]})
	}
	return out
}

// --- authorization ---

// iamAuthorize checks an IAM action by the caller in its own account. r, when the action
// acts on an existing role, contributes aws:ResourceTag/<key>.
func (s *Server) iamAuthorize(c *call, action, resource string, r *role, extra map[string][]string) *apiError {
	ctx := c.requestContext()
	if r != nil {
		for k, v := range r.tags {
			ctx["aws:ResourceTag/"+k] = []string{v}
		}
	}
	for k, v := range extra {
		ctx[k] = v
	}
	return s.authorize(authRequest{
		p:               c.p,
		mode:            authz.ModeStandard,
		action:          "iam:" + action,
		resource:        resource,
		resourceAccount: c.p.account,
		context:         ctx,
	})
}

// iamRequestTagContext is aws:RequestTag/<key> and aws:TagKeys for the tags of a request.
func iamRequestTagContext(tags []iamTagXML) map[string][]string {
	return addRequestTagContext(map[string][]string{}, tags, func(t iamTagXML) (string, string) { return t.Key, t.Value })
}

// iamBoundaryContext is iam:PermissionsBoundary when a boundary ARN is involved: IAM sets the
// key to the boundary of the request (CreateRole, PutRolePermissionsBoundary) or the role's
// existing boundary (Put/Delete/Attach/DetachRolePolicy, DeleteRolePermissionsBoundary),
// and leaves it out when there is none, so StringEquals conditions on it fail.
func iamBoundaryContext(arn string) map[string][]string {
	if arn == "" {
		return nil
	}
	return map[string][]string{"iam:PermissionsBoundary": {arn}}
}

func iamRoleARN(account, path, name string) string {
	return "arn:aws:iam::" + account + ":role" + path + name
}

func iamPolicyARN(account, path, name string) string {
	return "arn:aws:iam::" + account + ":policy" + path + name
}

// iamExistingRole authorizes action on the role named by RoleName and returns it. Authorization
// comes first, as in IAM: a caller without the permission learns nothing about the role.
// ctx computes extra context keys from the role once it is found.
func (s *Server) iamExistingRole(c *call, q iamQueryArgs, action string, ctx func(*role) map[string][]string) (*role, *apiError) {
	name, err := iamCheckName(q, "RoleName", "roleName", 64)
	if err != nil {
		return nil, err
	}
	r := s.accounts[c.p.account].roles[name]
	resource := iamRoleARN(c.p.account, "/", name)
	var extra map[string][]string
	if r != nil {
		resource = r.arn
		if ctx != nil {
			extra = ctx(r)
		}
	}
	if err := s.iamAuthorize(c, action, resource, r, extra); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, iamErrNoSuchRole(name)
	}
	return r, nil
}

func iamErrNoSuchRole(name string) *apiError {
	return errf(http.StatusNotFound, "NoSuchEntity", "The role with name %s cannot be found.", name)
}

func iamErrMalformedPolicy(msg string) *apiError {
	return errf(http.StatusBadRequest, "MalformedPolicyDocument", "%s", msg)
}

// --- policy documents ---

// iamParseTrustPolicy validates a role trust policy as IAM does when it is stored: size quota,
// grammar, the trust-policy shape, and principals that exist.
func (s *Server) iamParseTrustPolicy(q iamQueryArgs, param, field string) (string, *authz.Policy, *apiError) {
	doc := q.get(param)
	if !q.has(param) {
		return "", nil, iamErrMissing(field)
	}
	if iamPolicySize(doc) > iamTrustPolicyMax {
		return "", nil, errf(http.StatusConflict, "LimitExceeded", "Cannot exceed quota for ACLSizePerRole: %d", iamTrustPolicyMax)
	}
	p, err := authz.Parse([]byte(doc))
	if err != nil {
		return "", nil, iamErrMalformedPolicy(err.Error())
	}
	if err := p.CheckKind(authz.KindTrust); err != nil {
		return "", nil, iamErrMalformedPolicy(err.Error())
	}
	for _, name := range p.PrincipalARNs() {
		if !s.iamTrustPrincipalValid(name) {
			return "", nil, iamErrMalformedPolicy(fmt.Sprintf("Invalid principal in policy: \"AWS\":\"%s\"", name))
		}
	}
	for _, svc := range p.ServicePrincipals() {
		if svc != "*" && !strings.Contains(svc, ".") {
			return "", nil, iamErrMalformedPolicy(fmt.Sprintf("Invalid principal in policy: \"SERVICE\":\"%s\"", svc))
		}
	}
	return doc, p, nil
}

// iamTrustPrincipalValid says whether IAM accepts an AWS principal in a trust policy. IAM
// resolves role and user ARNs when the policy is stored and rejects those that do not
// exist; the simulator can tell only for its own accounts, and accepts well-formed ARNs of
// any other account.
func (s *Server) iamTrustPrincipalValid(name string) bool {
	if name == "*" || accountIDPattern.MatchString(name) {
		return true
	}
	if !strings.HasPrefix(name, "arn:aws:") {
		return false
	}
	acct := accountOfARN(name)
	if !accountIDPattern.MatchString(acct) {
		return false
	}
	if strings.HasSuffix(name, ":root") || strings.Contains(name, ":assumed-role/") {
		return true
	}
	if _, simulated := s.accounts[acct]; !simulated {
		return strings.Contains(name, ":role/") || strings.Contains(name, ":user/")
	}
	return strings.Contains(name, ":role/") && s.roleByARN(name) != nil
}

// iamParseIdentityPolicy validates an identity policy or boundary document: grammar, no
// Principal, Resource present.
func iamParseIdentityPolicy(q iamQueryArgs, param, field string) (string, *authz.Policy, *apiError) {
	doc := q.get(param)
	if !q.has(param) {
		return "", nil, iamErrMissing(field)
	}
	if doc == "" {
		return "", nil, iamErrValidation(field, doc, "Member must have length greater than or equal to 1")
	}
	p, err := authz.Parse([]byte(doc))
	if err != nil {
		return "", nil, iamErrMalformedPolicy(err.Error())
	}
	if err := p.CheckKind(authz.KindIdentity); err != nil {
		return "", nil, iamErrMalformedPolicy(err.Error())
	}
	return doc, p, nil
}

// iamAttachablePolicy resolves a managed policy ARN the caller may attach or use as a
// boundary: a customer managed policy of its own account. IAM's message for a missing
// one depends on the use (notFound formats it with the ARN).
func (s *Server) iamAttachablePolicy(c *call, arn, field, notFound string) (*managedPolicy, *apiError) {
	if len(arn) < 20 || len(arn) > 2048 {
		return nil, iamErrValidation(field, arn, "Member must have length less than or equal to 2048 and greater than or equal to 20")
	}
	if !strings.HasPrefix(arn, "arn:aws:iam::") || !strings.Contains(arn, ":policy/") {
		return nil, errf(http.StatusBadRequest, "InvalidInput", "ARN %s is not valid.", arn)
	}
	mp := s.managedPolicy(arn)
	if mp == nil || mp.account != c.p.account {
		return nil, errf(http.StatusNotFound, "NoSuchEntity", notFound, arn)
	}
	return mp, nil
}

// --- roles ---

// iamCheckNamed validates what CreateRole and CreatePolicy both take first, in the order IAM
// reports it: the name (the parameter param, called field in errors, at most max
// characters), Path and Description.
func iamCheckNamed(q iamQueryArgs, param, field string, max int) (name, path, desc string, err *apiError) {
	if name, err = iamCheckName(q, param, field, max); err != nil {
		return "", "", "", err
	}
	if path, err = iamCheckPath(q, "Path", "path"); err != nil {
		return "", "", "", err
	}
	desc = q.get("Description")
	if len(desc) > 1000 {
		return "", "", "", iamErrValidation("description", desc, "Member must have length less than or equal to 1000")
	}
	return name, path, desc, nil
}

func (s *Server) iamCreateRole(c *call, q iamQueryArgs) (any, *apiError) {
	name, path, desc, err := iamCheckNamed(q, "RoleName", "roleName", 64)
	if err != nil {
		return nil, err
	}
	maxSess := int32(3600)
	if v := q.get("MaxSessionDuration"); v != "" {
		n, convErr := strconv.Atoi(v)
		if convErr != nil || n < 3600 || n > 43200 {
			return nil, iamErrValidation("maxSessionDuration", v, "Member must have value less than or equal to 43200 and greater than or equal to 3600")
		}
		maxSess = int32(n)
	}
	tags := q.tags("Tags")
	if err := iamCheckTags(tags); err != nil {
		return nil, err
	}
	boundary := q.get("PermissionsBoundary")

	arn := iamRoleARN(c.p.account, path, name)
	ctx := iamRequestTagContext(tags)
	for k, v := range iamBoundaryContext(boundary) {
		ctx[k] = v
	}
	if err := s.iamAuthorize(c, "CreateRole", arn, nil, ctx); err != nil {
		return nil, err
	}
	// IAM also requires iam:TagRole to create a role with tags.
	if len(tags) > 0 {
		if err := s.iamAuthorize(c, "TagRole", arn, nil, ctx); err != nil {
			return nil, err
		}
	}

	acct := s.accounts[c.p.account]
	for existing := range acct.roles {
		// Role names are unique per account ignoring case, whatever the path.
		if strings.EqualFold(existing, name) {
			return nil, errf(http.StatusConflict, "EntityAlreadyExists", "Role with name %s already exists.", name)
		}
	}
	doc, trust, err := s.iamParseTrustPolicy(q, "AssumeRolePolicyDocument", "assumeRolePolicyDocument")
	if err != nil {
		return nil, err
	}
	if boundary != "" {
		if _, err := s.iamAttachablePolicy(c, boundary, "permissionsBoundary", "Scope ARN: %s does not exist or is not attachable."); err != nil {
			return nil, err
		}
	}
	r := &role{
		account:  c.p.account,
		name:     name,
		path:     path,
		arn:      arn,
		id:       iamRandomID("AROA", 17),
		created:  s.now(),
		trustDoc: doc,
		trust:    trust,
		inline:   map[string]*inlinePolicy{},
		boundary: boundary,
		tags:     map[string]string{},
		desc:     desc,
		maxSess:  maxSess,
	}
	for _, t := range tags {
		r.tags[t.Key] = t.Value
	}
	acct.roles[name] = r
	return iamRoleResult{Role: r.iamXML(true)}, nil
}

func (s *Server) iamGetRole(c *call, q iamQueryArgs) (any, *apiError) {
	r, err := s.iamExistingRole(c, q, "GetRole", nil)
	if err != nil {
		return nil, err
	}
	return iamRoleResult{Role: r.iamXML(true)}, nil
}

func (s *Server) iamDeleteRole(c *call, q iamQueryArgs) (any, *apiError) {
	r, err := s.iamExistingRole(c, q, "DeleteRole", nil)
	if err != nil {
		return nil, err
	}
	if len(r.inline) > 0 {
		return nil, errf(http.StatusConflict, "DeleteConflict", "Cannot delete entity, must delete policies first.")
	}
	if len(r.attached) > 0 {
		return nil, errf(http.StatusConflict, "DeleteConflict", "Cannot delete entity, must detach all policies first.")
	}
	delete(s.accounts[c.p.account].roles, r.name)
	return nil, nil
}

func (s *Server) iamUpdateRole(c *call, q iamQueryArgs) (any, *apiError) {
	r, err := s.iamExistingRole(c, q, "UpdateRole", nil)
	if err != nil {
		return nil, err
	}
	if q.has("Description") {
		desc := q.get("Description")
		if len(desc) > 1000 {
			return nil, iamErrValidation("description", desc, "Member must have length less than or equal to 1000")
		}
		r.desc = desc
	}
	if v := q.get("MaxSessionDuration"); v != "" {
		n, convErr := strconv.Atoi(v)
		if convErr != nil || n < 3600 || n > 43200 {
			return nil, iamErrValidation("maxSessionDuration", v, "Member must have value less than or equal to 43200 and greater than or equal to 3600")
		}
		r.maxSess = int32(n)
	}
	return struct{}{}, nil
}

func (s *Server) iamUpdateAssumeRolePolicy(c *call, q iamQueryArgs) (any, *apiError) {
	r, err := s.iamExistingRole(c, q, "UpdateAssumeRolePolicy", nil)
	if err != nil {
		return nil, err
	}
	doc, trust, err := s.iamParseTrustPolicy(q, "PolicyDocument", "policyDocument")
	if err != nil {
		return nil, err
	}
	r.trustDoc, r.trust = doc, trust
	return nil, nil
}

func (s *Server) iamListRoles(c *call, q iamQueryArgs) (any, *apiError) {
	prefix := "/"
	if q.has("PathPrefix") {
		prefix = q.get("PathPrefix")
		if !strings.HasPrefix(prefix, "/") || len(prefix) > 512 {
			return nil, iamErrValidation("pathPrefix", prefix, `Member must satisfy regular expression pattern: \u002F[\u0021-\u007F]*`)
		}
	}
	// ListRoles supports no resource-level permissions: policies must allow it on "*".
	if err := s.iamAuthorize(c, "ListRoles", "*", nil, nil); err != nil {
		return nil, err
	}
	acct := s.accounts[c.p.account]
	var roles []*role
	for _, name := range sortedKeys(acct.roles) {
		if r := acct.roles[name]; strings.HasPrefix(r.path, prefix) {
			roles = append(roles, r)
		}
	}
	start, end, next, err := iamPaginate(q, len(roles))
	if err != nil {
		return nil, err
	}
	res := iamListRolesResult{Roles: []iamRoleXML{}, IsTruncated: next != "", Marker: next}
	for _, r := range roles[start:end] {
		res.Roles = append(res.Roles, r.iamXML(false))
	}
	return res, nil
}

func (s *Server) iamTagRole(c *call, q iamQueryArgs) (any, *apiError) {
	tags := q.tags("Tags")
	if len(tags) == 0 {
		return nil, iamErrMissing("tags")
	}
	if err := iamCheckTags(tags); err != nil {
		return nil, err
	}
	r, err := s.iamExistingRole(c, q, "TagRole", func(*role) map[string][]string { return iamRequestTagContext(tags) })
	if err != nil {
		return nil, err
	}
	merged := map[string]string{}
	for k, v := range r.tags {
		merged[k] = v
	}
	for _, t := range tags {
		merged[t.Key] = t.Value
	}
	if len(merged) > iamTagsPerRole {
		return nil, errf(http.StatusConflict, "LimitExceeded", "Cannot exceed quota for TagsPerRole: %d", iamTagsPerRole)
	}
	r.tags = merged
	return nil, nil
}

func (s *Server) iamUntagRole(c *call, q iamQueryArgs) (any, *apiError) {
	keys := q.list("TagKeys")
	if len(keys) == 0 {
		return nil, iamErrMissing("tagKeys")
	}
	r, err := s.iamExistingRole(c, q, "UntagRole", func(*role) map[string][]string {
		return map[string][]string{"aws:TagKeys": keys}
	})
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		delete(r.tags, k)
	}
	return nil, nil
}

func (s *Server) iamListRoleTags(c *call, q iamQueryArgs) (any, *apiError) {
	tags, next, err := iamRolePage(s, c, q, "ListRoleTags", func(r *role) []iamTagXML { return iamTagList(r.tags) })
	if err != nil {
		return nil, err
	}
	return iamListTagsResult{Tags: tags, IsTruncated: next != "", Marker: next}, nil
}

// iamRolePage is what the listings of one role's things share (ListRoleTags,
// ListRolePolicies, ListAttachedRolePolicies): authorize action on the role RoleName
// names, list its items, and cut the page Marker and MaxItems ask for. next is the marker
// of the following page, "" on the last.
func iamRolePage[T any](s *Server, c *call, q iamQueryArgs, action string, items func(*role) []T) (page []T, next string, err *apiError) {
	r, err := s.iamExistingRole(c, q, action, nil)
	if err != nil {
		return nil, "", err
	}
	all := items(r)
	start, end, next, err := iamPaginate(q, len(all))
	if err != nil {
		return nil, "", err
	}
	return all[start:end], next, nil
}

func (s *Server) iamPutRolePermissionsBoundary(c *call, q iamQueryArgs) (any, *apiError) {
	arn := q.get("PermissionsBoundary")
	if !q.has("PermissionsBoundary") {
		return nil, iamErrMissing("permissionsBoundary")
	}
	// The key is the boundary being set, so a delegated admin can only set the approved one.
	r, err := s.iamExistingRole(c, q, "PutRolePermissionsBoundary", func(*role) map[string][]string { return iamBoundaryContext(arn) })
	if err != nil {
		return nil, err
	}
	if _, err := s.iamAttachablePolicy(c, arn, "permissionsBoundary", "Scope ARN: %s does not exist or is not attachable."); err != nil {
		return nil, err
	}
	r.boundary = arn
	return nil, nil
}

func (s *Server) iamDeleteRolePermissionsBoundary(c *call, q iamQueryArgs) (any, *apiError) {
	r, err := s.iamExistingRole(c, q, "DeleteRolePermissionsBoundary", func(r *role) map[string][]string { return iamBoundaryContext(r.boundary) })
	if err != nil {
		return nil, err
	}
	r.boundary = "" // deleting an absent boundary is a no-op, so callers can ensure idempotently
	return nil, nil
}

// authorizePassRole checks that p may pass roleARN to service (e.g. "s3.amazonaws.com" for
// PutBucketReplication): iam:PassRole on the role with iam:PassedToService, plus ctx. A
// role can only be passed within its own account. The caller holds s.mu.
func (s *Server) authorizePassRole(p *principal, roleARN, service string, ctx map[string][]string) *apiError {
	full := map[string][]string{"iam:PassedToService": {service}}
	for k, v := range ctx {
		full[k] = v
	}
	if r := s.roleByARN(roleARN); r != nil {
		for k, v := range r.tags {
			full["aws:ResourceTag/"+k] = []string{v}
		}
	}
	return s.authorize(authRequest{
		p:               p,
		mode:            authz.ModeStandard,
		action:          "iam:PassRole",
		resource:        roleARN,
		resourceAccount: accountOfARN(roleARN),
		context:         full,
	})
}
