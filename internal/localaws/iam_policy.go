package localaws

import (
	"net/http"
	"strings"
)

// This file serves IAM's policy operations: a role's inline policies, customer managed
// policies, and attaching them to roles.

type inlinePolicyResult struct {
	RoleName       string `xml:"RoleName"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

type listNamesResult struct {
	PolicyNames []string `xml:"PolicyNames>member"`
	IsTruncated bool     `xml:"IsTruncated"`
	Marker      string   `xml:"Marker,omitempty"`
}

type attachedPolicyXML struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

type listAttachedResult struct {
	AttachedPolicies []attachedPolicyXML `xml:"AttachedPolicies>member"`
	IsTruncated      bool                `xml:"IsTruncated"`
	Marker           string              `xml:"Marker,omitempty"`
}

type policyXML struct {
	PolicyName                    string   `xml:"PolicyName"`
	PolicyID                      string   `xml:"PolicyId"`
	Arn                           string   `xml:"Arn"`
	Path                          string   `xml:"Path"`
	DefaultVersionID              string   `xml:"DefaultVersionId"`
	AttachmentCount               int      `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int      `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool     `xml:"IsAttachable"`
	Description                   string   `xml:"Description,omitempty"`
	CreateDate                    string   `xml:"CreateDate"`
	UpdateDate                    string   `xml:"UpdateDate"`
	Tags                          []tagXML `xml:"Tags>member"`
}

type policyResult struct {
	Policy policyXML `xml:"Policy"`
}

type listPoliciesResult struct {
	Policies    []policyXML `xml:"Policies>member"`
	IsTruncated bool        `xml:"IsTruncated"`
	Marker      string      `xml:"Marker,omitempty"`
}

type policyVersionXML struct {
	Document         string `xml:"Document"`
	VersionID        string `xml:"VersionId"`
	IsDefaultVersion bool   `xml:"IsDefaultVersion"`
	CreateDate       string `xml:"CreateDate"`
}

type policyVersionResult struct {
	PolicyVersion policyVersionXML `xml:"PolicyVersion"`
}

// policyVersion is the only version the simulator keeps of a managed policy.
const policyVersion = "v1"

// usage counts the roles of the policy's account that attach mp and that use it as their
// permissions boundary. The caller holds s.mu.
func (s *Server) usage(mp *managedPolicy) (attached, boundary int) {
	for _, r := range s.accounts[mp.account].roles {
		for _, a := range r.attached {
			if a == mp.arn {
				attached++
			}
		}
		if r.boundary == mp.arn {
			boundary++
		}
	}
	return attached, boundary
}

func (s *Server) policyXML(mp *managedPolicy, withTags bool) policyXML {
	attached, boundary := s.usage(mp)
	x := policyXML{
		PolicyName:                    mp.name,
		PolicyID:                      mp.id,
		Arn:                           mp.arn,
		Path:                          mp.path,
		DefaultVersionID:              policyVersion,
		AttachmentCount:               attached,
		PermissionsBoundaryUsageCount: boundary,
		IsAttachable:                  true,
		Description:                   mp.desc,
		CreateDate:                    iamTime(mp.created),
		UpdateDate:                    iamTime(mp.created),
	}
	if withTags {
		x.Tags = tagList(mp.tags)
	}
	return x
}

// --- inline policies ---

func (s *Server) iamPutRolePolicy(c *call, q queryArgs) (any, *apiError) {
	name, err := checkName(q, "PolicyName", "policyName", 128)
	if err != nil {
		return nil, err
	}
	r, err := s.existingRole(c, q, "PutRolePolicy", func(r *role) map[string][]string { return boundaryContext(r.boundary) })
	if err != nil {
		return nil, err
	}
	doc, parsed, err := parseIdentityPolicy(q, "PolicyDocument", "policyDocument")
	if err != nil {
		return nil, err
	}
	total := policySize(doc)
	for n, ip := range r.inline {
		if n != name {
			total += policySize(ip.doc)
		}
	}
	if total > iamInlineRolePolicyMax {
		return nil, errf(http.StatusConflict, "LimitExceeded", "Maximum policy size of %d bytes exceeded for role %s", iamInlineRolePolicyMax, r.name)
	}
	r.inline[name] = &inlinePolicy{doc: doc, parsed: parsed}
	return nil, nil
}

func (s *Server) iamGetRolePolicy(c *call, q queryArgs) (any, *apiError) {
	name, err := checkName(q, "PolicyName", "policyName", 128)
	if err != nil {
		return nil, err
	}
	r, err := s.existingRole(c, q, "GetRolePolicy", nil)
	if err != nil {
		return nil, err
	}
	ip := r.inline[name]
	if ip == nil {
		return nil, errf(http.StatusNotFound, "NoSuchEntity", "The role policy with name %s cannot be found.", name)
	}
	return inlinePolicyResult{RoleName: r.name, PolicyName: name, PolicyDocument: encodePolicyDoc(ip.doc)}, nil
}

func (s *Server) iamDeleteRolePolicy(c *call, q queryArgs) (any, *apiError) {
	name, err := checkName(q, "PolicyName", "policyName", 128)
	if err != nil {
		return nil, err
	}
	r, err := s.existingRole(c, q, "DeleteRolePolicy", func(r *role) map[string][]string { return boundaryContext(r.boundary) })
	if err != nil {
		return nil, err
	}
	if r.inline[name] == nil {
		return nil, errf(http.StatusNotFound, "NoSuchEntity", "The role policy with name %s cannot be found.", name)
	}
	delete(r.inline, name)
	return nil, nil
}

func (s *Server) iamListRolePolicies(c *call, q queryArgs) (any, *apiError) {
	r, err := s.existingRole(c, q, "ListRolePolicies", nil)
	if err != nil {
		return nil, err
	}
	names := sortedKeys(r.inline)
	start, end, next, err := paginate(q, len(names))
	if err != nil {
		return nil, err
	}
	return listNamesResult{PolicyNames: names[start:end], IsTruncated: next != "", Marker: next}, nil
}

// --- managed policies ---

func (s *Server) iamCreatePolicy(c *call, q queryArgs) (any, *apiError) {
	name, err := checkName(q, "PolicyName", "policyName", 128)
	if err != nil {
		return nil, err
	}
	path, err := checkPath(q, "Path", "path")
	if err != nil {
		return nil, err
	}
	desc := q.get("Description")
	if len(desc) > 1000 {
		return nil, errValidation("description", desc, "Member must have length less than or equal to 1000")
	}
	tags := q.tags("Tags")
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	arn := policyARN(c.p.account, path, name)
	if err := s.iamAuthorize(c, "CreatePolicy", arn, nil, requestTagContext(tags)); err != nil {
		return nil, err
	}
	acct := s.accounts[c.p.account]
	for _, mp := range acct.policies {
		// Managed policy names are unique per account, whatever the path.
		if strings.EqualFold(mp.name, name) {
			return nil, errf(http.StatusConflict, "EntityAlreadyExists", "A policy called %s already exists. Duplicate names are not allowed.", name)
		}
	}
	doc, parsed, err := parseIdentityPolicy(q, "PolicyDocument", "policyDocument")
	if err != nil {
		return nil, err
	}
	if policySize(doc) > iamManagedPolicyMax {
		return nil, errf(http.StatusConflict, "LimitExceeded", "Cannot exceed quota for PolicySize: %d", iamManagedPolicyMax)
	}
	mp := &managedPolicy{
		account: c.p.account,
		name:    name,
		path:    path,
		arn:     arn,
		id:      randomID("ANPA", 17),
		doc:     doc,
		parsed:  parsed,
		created: s.now(),
		desc:    desc,
		tags:    map[string]string{},
	}
	for _, t := range tags {
		mp.tags[t.Key] = t.Value
	}
	acct.policies[arn] = mp
	return policyResult{Policy: s.policyXML(mp, true)}, nil
}

// existingPolicy authorizes action on the managed policy named by PolicyArn and returns it.
func (s *Server) existingPolicy(c *call, q queryArgs, action string) (*managedPolicy, *apiError) {
	arn := q.get("PolicyArn")
	if !q.has("PolicyArn") {
		return nil, errMissing("policyArn")
	}
	if len(arn) < 20 || len(arn) > 2048 {
		return nil, errValidation("policyArn", arn, "Member must have length less than or equal to 2048 and greater than or equal to 20")
	}
	if !strings.HasPrefix(arn, "arn:aws:iam::") || !strings.Contains(arn, ":policy/") {
		return nil, errf(http.StatusBadRequest, "InvalidInput", "ARN %s is not valid.", arn)
	}
	if err := s.iamAuthorize(c, action, arn, nil, nil); err != nil {
		return nil, err
	}
	mp := s.managedPolicy(arn)
	if mp == nil || mp.account != c.p.account {
		return nil, errf(http.StatusNotFound, "NoSuchEntity", "Policy %s was not found.", arn)
	}
	return mp, nil
}

func (s *Server) iamGetPolicy(c *call, q queryArgs) (any, *apiError) {
	mp, err := s.existingPolicy(c, q, "GetPolicy")
	if err != nil {
		return nil, err
	}
	return policyResult{Policy: s.policyXML(mp, true)}, nil
}

func (s *Server) iamGetPolicyVersion(c *call, q queryArgs) (any, *apiError) {
	if !q.has("VersionId") {
		return nil, errMissing("versionId")
	}
	mp, err := s.existingPolicy(c, q, "GetPolicyVersion")
	if err != nil {
		return nil, err
	}
	if v := q.get("VersionId"); v != policyVersion {
		return nil, errf(http.StatusNotFound, "NoSuchEntity", "Policy %s version %s does not exist or is not attachable.", mp.arn, v)
	}
	return policyVersionResult{PolicyVersion: policyVersionXML{
		Document:         encodePolicyDoc(mp.doc),
		VersionID:        policyVersion,
		IsDefaultVersion: true,
		CreateDate:       iamTime(mp.created),
	}}, nil
}

func (s *Server) iamDeletePolicy(c *call, q queryArgs) (any, *apiError) {
	mp, err := s.existingPolicy(c, q, "DeletePolicy")
	if err != nil {
		return nil, err
	}
	// A boundary that vanished would leave its roles allowed nothing, so refuse as for
	// attachments.
	if attached, boundary := s.usage(mp); attached+boundary > 0 {
		return nil, errf(http.StatusConflict, "DeleteConflict", "Cannot delete a policy attached to entities.")
	}
	delete(s.accounts[c.p.account].policies, mp.arn)
	return nil, nil
}

func (s *Server) iamListPolicies(c *call, q queryArgs) (any, *apiError) {
	scope := q.get("Scope")
	switch scope {
	case "", "All", "Local", "AWS":
	default:
		return nil, errValidation("scope", scope, "Member must satisfy enum value set: [All, AWS, Local]")
	}
	prefix := "/"
	if q.has("PathPrefix") {
		prefix = q.get("PathPrefix")
	}
	onlyAttached := q.get("OnlyAttached") == "true"
	if err := s.iamAuthorize(c, "ListPolicies", "*", nil, nil); err != nil {
		return nil, err
	}
	var list []policyXML
	if scope != "AWS" { // the simulator has no AWS managed policies
		acct := s.accounts[c.p.account]
		for _, arn := range sortedKeys(acct.policies) {
			mp := acct.policies[arn]
			if !strings.HasPrefix(mp.path, prefix) {
				continue
			}
			x := s.policyXML(mp, false)
			if onlyAttached && x.AttachmentCount == 0 {
				continue
			}
			list = append(list, x)
		}
	}
	start, end, next, err := paginate(q, len(list))
	if err != nil {
		return nil, err
	}
	return listPoliciesResult{Policies: append([]policyXML{}, list[start:end]...), IsTruncated: next != "", Marker: next}, nil
}

func (s *Server) iamAttachRolePolicy(c *call, q queryArgs) (any, *apiError) {
	arn := q.get("PolicyArn")
	if !q.has("PolicyArn") {
		return nil, errMissing("policyArn")
	}
	ctx := func(r *role) map[string][]string {
		m := map[string][]string{"iam:PolicyARN": {arn}}
		for k, v := range boundaryContext(r.boundary) {
			m[k] = v
		}
		return m
	}
	r, err := s.existingRole(c, q, "AttachRolePolicy", ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.attachablePolicy(c, arn, "policyArn", "Policy %s does not exist or is not attachable."); err != nil {
		return nil, err
	}
	for _, a := range r.attached {
		if a == arn {
			return nil, nil // attaching again changes nothing, as in IAM
		}
	}
	if len(r.attached) >= iamAttachedPerRole {
		return nil, errf(http.StatusConflict, "LimitExceeded", "Cannot exceed quota for PoliciesPerRole: %d", iamAttachedPerRole)
	}
	r.attached = append(r.attached, arn)
	return nil, nil
}

func (s *Server) iamDetachRolePolicy(c *call, q queryArgs) (any, *apiError) {
	arn := q.get("PolicyArn")
	if !q.has("PolicyArn") {
		return nil, errMissing("policyArn")
	}
	ctx := func(r *role) map[string][]string {
		m := map[string][]string{"iam:PolicyARN": {arn}}
		for k, v := range boundaryContext(r.boundary) {
			m[k] = v
		}
		return m
	}
	r, err := s.existingRole(c, q, "DetachRolePolicy", ctx)
	if err != nil {
		return nil, err
	}
	for i, a := range r.attached {
		if a == arn {
			r.attached = append(r.attached[:i:i], r.attached[i+1:]...)
			return nil, nil
		}
	}
	return nil, errf(http.StatusNotFound, "NoSuchEntity", "Policy %s was not found.", arn)
}

func (s *Server) iamListAttachedRolePolicies(c *call, q queryArgs) (any, *apiError) {
	prefix := "/"
	if q.has("PathPrefix") {
		prefix = q.get("PathPrefix")
	}
	r, err := s.existingRole(c, q, "ListAttachedRolePolicies", nil)
	if err != nil {
		return nil, err
	}
	var list []attachedPolicyXML
	for _, arn := range r.attached {
		mp := s.managedPolicy(arn)
		if mp == nil || !strings.HasPrefix(mp.path, prefix) {
			continue
		}
		list = append(list, attachedPolicyXML{PolicyName: mp.name, PolicyArn: arn})
	}
	start, end, next, err := paginate(q, len(list))
	if err != nil {
		return nil, err
	}
	return listAttachedResult{AttachedPolicies: append([]attachedPolicyXML{}, list[start:end]...), IsTruncated: next != "", Marker: next}, nil
}
