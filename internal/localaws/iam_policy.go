package localaws

import (
	"maps"
	"net/http"
	"strings"
)

// This file serves IAM's policy operations: a role's inline policies, customer managed
// policies, and attaching them to roles.

type iamInlinePolicyResult struct {
	RoleName       string `xml:"RoleName"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

type iamListNamesResult struct {
	PolicyNames []string `xml:"PolicyNames>member"`
	IsTruncated bool     `xml:"IsTruncated"`
	Marker      string   `xml:"Marker,omitempty"`
}

type iamAttachedPolicyXML struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

type iamListAttachedResult struct {
	AttachedPolicies []iamAttachedPolicyXML `xml:"AttachedPolicies>member"`
	IsTruncated      bool                   `xml:"IsTruncated"`
	Marker           string                 `xml:"Marker,omitempty"`
}

type iamPolicyXML struct {
	PolicyName                    string      `xml:"PolicyName"`
	PolicyID                      string      `xml:"PolicyId"`
	Arn                           string      `xml:"Arn"`
	Path                          string      `xml:"Path"`
	DefaultVersionID              string      `xml:"DefaultVersionId"`
	AttachmentCount               int         `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int         `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool        `xml:"IsAttachable"`
	Description                   string      `xml:"Description,omitempty"`
	CreateDate                    string      `xml:"CreateDate"`
	UpdateDate                    string      `xml:"UpdateDate"`
	Tags                          []iamTagXML `xml:"Tags>member"`
}

type iamPolicyResult struct {
	Policy iamPolicyXML `xml:"Policy"`
}

type iamListPoliciesResult struct {
	Policies    []iamPolicyXML `xml:"Policies>member"`
	IsTruncated bool           `xml:"IsTruncated"`
	Marker      string         `xml:"Marker,omitempty"`
}

type iamPolicyVersionXML struct {
	Document         string `xml:"Document"`
	VersionID        string `xml:"VersionId"`
	IsDefaultVersion bool   `xml:"IsDefaultVersion"`
	CreateDate       string `xml:"CreateDate"`
}

type iamPolicyVersionResult struct {
	PolicyVersion iamPolicyVersionXML `xml:"PolicyVersion"`
}

// iamPolicyVersion is the only version the simulator keeps of a managed policy.
const iamPolicyVersion = "v1"

// iamPolicyUsage counts the roles of the policy's account that attach mp and that use it as their
// permissions boundary. The caller holds s.mu.
func (s *Server) iamPolicyUsage(mp *managedPolicy) (attached, boundary int) {
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

func (s *Server) iamPolicyXML(mp *managedPolicy, withTags bool) iamPolicyXML {
	attached, boundary := s.iamPolicyUsage(mp)
	x := iamPolicyXML{
		PolicyName:                    mp.name,
		PolicyID:                      mp.id,
		Arn:                           mp.arn,
		Path:                          mp.path,
		DefaultVersionID:              iamPolicyVersion,
		AttachmentCount:               attached,
		PermissionsBoundaryUsageCount: boundary,
		IsAttachable:                  true,
		Description:                   mp.desc,
		CreateDate:                    iamTime(mp.created),
		UpdateDate:                    iamTime(mp.created),
	}
	if withTags {
		x.Tags = iamTagList(mp.tags)
	}
	return x
}

// --- inline policies ---

func (s *Server) iamPutRolePolicy(c *call, q iamQueryArgs) (any, *apiError) {
	name, err := iamCheckName(q, "PolicyName", "policyName", 128)
	if err != nil {
		return nil, err
	}
	r, err := s.iamExistingRole(c, q, "PutRolePolicy", func(r *role) map[string][]string { return iamBoundaryContext(r.boundary) })
	if err != nil {
		return nil, err
	}
	doc, parsed, err := iamParseIdentityPolicy(q, "PolicyDocument", "policyDocument")
	if err != nil {
		return nil, err
	}
	total := iamPolicySize(doc)
	for n, ip := range r.inline {
		if n != name {
			total += iamPolicySize(ip.doc)
		}
	}
	if total > iamInlineRolePolicyMax {
		return nil, errf(http.StatusConflict, "LimitExceeded", "Maximum policy size of %d bytes exceeded for role %s", iamInlineRolePolicyMax, r.name)
	}
	r.inline[name] = &inlinePolicy{doc: doc, parsed: parsed}
	return nil, nil
}

func (s *Server) iamGetRolePolicy(c *call, q iamQueryArgs) (any, *apiError) {
	name, err := iamCheckName(q, "PolicyName", "policyName", 128)
	if err != nil {
		return nil, err
	}
	r, err := s.iamExistingRole(c, q, "GetRolePolicy", nil)
	if err != nil {
		return nil, err
	}
	ip := r.inline[name]
	if ip == nil {
		return nil, errf(http.StatusNotFound, "NoSuchEntity", "The role policy with name %s cannot be found.", name)
	}
	return iamInlinePolicyResult{RoleName: r.name, PolicyName: name, PolicyDocument: encodePolicyDoc(ip.doc)}, nil
}

func (s *Server) iamDeleteRolePolicy(c *call, q iamQueryArgs) (any, *apiError) {
	name, err := iamCheckName(q, "PolicyName", "policyName", 128)
	if err != nil {
		return nil, err
	}
	r, err := s.iamExistingRole(c, q, "DeleteRolePolicy", func(r *role) map[string][]string { return iamBoundaryContext(r.boundary) })
	if err != nil {
		return nil, err
	}
	if r.inline[name] == nil {
		return nil, errf(http.StatusNotFound, "NoSuchEntity", "The role policy with name %s cannot be found.", name)
	}
	delete(r.inline, name)
	return nil, nil
}

func (s *Server) iamListRolePolicies(c *call, q iamQueryArgs) (any, *apiError) {
	names, next, err := iamRolePage(s, c, q, "ListRolePolicies", func(r *role) []string { return sortedKeys(r.inline) })
	if err != nil {
		return nil, err
	}
	return iamListNamesResult{PolicyNames: names, IsTruncated: next != "", Marker: next}, nil
}

// --- managed policies ---

func (s *Server) iamCreatePolicy(c *call, q iamQueryArgs) (any, *apiError) {
	name, path, desc, err := iamCheckNamed(q, "PolicyName", "policyName", 128)
	if err != nil {
		return nil, err
	}
	tags := q.tags("Tags")
	if err := iamCheckTags(tags); err != nil {
		return nil, err
	}
	arn := iamPolicyARN(c.p.account, path, name)
	if err := s.iamAuthorize(c, "CreatePolicy", arn, nil, iamRequestTagContext(tags)); err != nil {
		return nil, err
	}
	acct := s.accounts[c.p.account]
	for _, mp := range acct.policies {
		// Managed policy names are unique per account, whatever the path.
		if strings.EqualFold(mp.name, name) {
			return nil, errf(http.StatusConflict, "EntityAlreadyExists", "A policy called %s already exists. Duplicate names are not allowed.", name)
		}
	}
	doc, parsed, err := iamParseIdentityPolicy(q, "PolicyDocument", "policyDocument")
	if err != nil {
		return nil, err
	}
	if iamPolicySize(doc) > iamManagedPolicyMax {
		return nil, errf(http.StatusConflict, "LimitExceeded", "Cannot exceed quota for PolicySize: %d", iamManagedPolicyMax)
	}
	mp := &managedPolicy{
		account: c.p.account,
		name:    name,
		path:    path,
		arn:     arn,
		id:      iamRandomID("ANPA", 17),
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
	return iamPolicyResult{Policy: s.iamPolicyXML(mp, true)}, nil
}

// iamExistingPolicy authorizes action on the managed policy named by PolicyArn and returns it.
func (s *Server) iamExistingPolicy(c *call, q iamQueryArgs, action string) (*managedPolicy, *apiError) {
	arn := q.get("PolicyArn")
	if !q.has("PolicyArn") {
		return nil, iamErrMissing("policyArn")
	}
	if len(arn) < 20 || len(arn) > 2048 {
		return nil, iamErrValidation("policyArn", arn, "Member must have length less than or equal to 2048 and greater than or equal to 20")
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

func (s *Server) iamGetPolicy(c *call, q iamQueryArgs) (any, *apiError) {
	mp, err := s.iamExistingPolicy(c, q, "GetPolicy")
	if err != nil {
		return nil, err
	}
	return iamPolicyResult{Policy: s.iamPolicyXML(mp, true)}, nil
}

func (s *Server) iamGetPolicyVersion(c *call, q iamQueryArgs) (any, *apiError) {
	if !q.has("VersionId") {
		return nil, iamErrMissing("versionId")
	}
	mp, err := s.iamExistingPolicy(c, q, "GetPolicyVersion")
	if err != nil {
		return nil, err
	}
	if v := q.get("VersionId"); v != iamPolicyVersion {
		return nil, errf(http.StatusNotFound, "NoSuchEntity", "Policy %s version %s does not exist or is not attachable.", mp.arn, v)
	}
	return iamPolicyVersionResult{PolicyVersion: iamPolicyVersionXML{
		Document:         encodePolicyDoc(mp.doc),
		VersionID:        iamPolicyVersion,
		IsDefaultVersion: true,
		CreateDate:       iamTime(mp.created),
	}}, nil
}

func (s *Server) iamDeletePolicy(c *call, q iamQueryArgs) (any, *apiError) {
	mp, err := s.iamExistingPolicy(c, q, "DeletePolicy")
	if err != nil {
		return nil, err
	}
	// A boundary that vanished would leave its roles allowed nothing, so refuse as for
	// attachments.
	if attached, boundary := s.iamPolicyUsage(mp); attached+boundary > 0 {
		return nil, errf(http.StatusConflict, "DeleteConflict", "Cannot delete a policy attached to entities.")
	}
	delete(s.accounts[c.p.account].policies, mp.arn)
	return nil, nil
}

func (s *Server) iamListPolicies(c *call, q iamQueryArgs) (any, *apiError) {
	scope := q.get("Scope")
	switch scope {
	case "", "All", "Local", "AWS":
	default:
		return nil, iamErrValidation("scope", scope, "Member must satisfy enum value set: [All, AWS, Local]")
	}
	prefix := "/"
	if q.has("PathPrefix") {
		prefix = q.get("PathPrefix")
	}
	onlyAttached := q.get("OnlyAttached") == "true"
	if err := s.iamAuthorize(c, "ListPolicies", "*", nil, nil); err != nil {
		return nil, err
	}
	var list []iamPolicyXML
	if scope != "AWS" { // the simulator has no AWS managed policies
		acct := s.accounts[c.p.account]
		for _, arn := range sortedKeys(acct.policies) {
			mp := acct.policies[arn]
			if !strings.HasPrefix(mp.path, prefix) {
				continue
			}
			x := s.iamPolicyXML(mp, false)
			if onlyAttached && x.AttachmentCount == 0 {
				continue
			}
			list = append(list, x)
		}
	}
	start, end, next, err := iamPaginate(q, len(list))
	if err != nil {
		return nil, err
	}
	return iamListPoliciesResult{Policies: append([]iamPolicyXML{}, list[start:end]...), IsTruncated: next != "", Marker: next}, nil
}

// iamAttachContext is the request context of attaching or detaching policyARN: the policy
// in iam:PolicyARN, so administrators can be limited to approved policies, and the role's
// boundary in iam:PermissionsBoundary, as for every change to a bounded role.
func iamAttachContext(policyARN string) func(*role) map[string][]string {
	return func(r *role) map[string][]string {
		m := map[string][]string{"iam:PolicyARN": {policyARN}}
		maps.Copy(m, iamBoundaryContext(r.boundary))
		return m
	}
}

func (s *Server) iamAttachRolePolicy(c *call, q iamQueryArgs) (any, *apiError) {
	arn := q.get("PolicyArn")
	if !q.has("PolicyArn") {
		return nil, iamErrMissing("policyArn")
	}
	r, err := s.iamExistingRole(c, q, "AttachRolePolicy", iamAttachContext(arn))
	if err != nil {
		return nil, err
	}
	if _, err := s.iamAttachablePolicy(c, arn, "policyArn", "Policy %s does not exist or is not attachable."); err != nil {
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

func (s *Server) iamDetachRolePolicy(c *call, q iamQueryArgs) (any, *apiError) {
	arn := q.get("PolicyArn")
	if !q.has("PolicyArn") {
		return nil, iamErrMissing("policyArn")
	}
	r, err := s.iamExistingRole(c, q, "DetachRolePolicy", iamAttachContext(arn))
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

func (s *Server) iamListAttachedRolePolicies(c *call, q iamQueryArgs) (any, *apiError) {
	prefix := "/"
	if q.has("PathPrefix") {
		prefix = q.get("PathPrefix")
	}
	list, next, err := iamRolePage(s, c, q, "ListAttachedRolePolicies", func(r *role) []iamAttachedPolicyXML {
		var list []iamAttachedPolicyXML
		for _, arn := range r.attached {
			if mp := s.managedPolicy(arn); mp != nil && strings.HasPrefix(mp.path, prefix) {
				list = append(list, iamAttachedPolicyXML{PolicyName: mp.name, PolicyArn: arn})
			}
		}
		return list
	})
	if err != nil {
		return nil, err
	}
	return iamListAttachedResult{AttachedPolicies: append([]iamAttachedPolicyXML{}, list...), IsTruncated: next != "", Marker: next}, nil
}
