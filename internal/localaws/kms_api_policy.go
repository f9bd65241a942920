package localaws

import (
	"net/http"
	"strconv"
)

// KMS API: key policies and resource tags, the two documents a key carries besides its
// material.

type kmsKeyPolicyIn struct {
	KeyId                          string
	PolicyName                     *string
	Policy                         *string
	BypassPolicyLockoutSafetyCheck bool
}

func kmsCheckPolicyName(name *string) *apiError {
	if name != nil && *name != "default" {
		return errf(http.StatusBadRequest, "NotFoundException", "No such policy exists: %s (the only key policy name is \"default\")", *name)
	}
	return nil
}

func (s *Server) kmsGetKeyPolicy(c *call, body []byte) (any, *apiError) {
	var in kmsKeyPolicyIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	k, err := s.kmsManagedKey(c, in.KeyId, "GetKeyPolicy", false, true, nil)
	if err != nil {
		return nil, err
	}
	if err := kmsCheckPolicyName(in.PolicyName); err != nil {
		return nil, err
	}
	return map[string]any{"Policy": k.policyDoc, "PolicyName": "default"}, nil
}

func (s *Server) kmsListKeyPolicies(c *call, body []byte) (any, *apiError) {
	var in kmsKeyIDIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if _, err := s.kmsManagedKey(c, in.KeyId, "ListKeyPolicies", false, true, nil); err != nil {
		return nil, err
	}
	return map[string]any{"PolicyNames": []string{"default"}, "Truncated": false}, nil
}

func (s *Server) kmsPutKeyPolicy(c *call, body []byte) (any, *apiError) {
	var in kmsKeyPolicyIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if in.Policy == nil {
		return nil, kmsRequired("policy")
	}
	if err := kmsCheckPolicyName(in.PolicyName); err != nil {
		return nil, err
	}
	// KMS puts the request's BypassPolicyLockoutSafetyCheck in the context, so a policy
	// can refuse the bypass (KMS Developer Guide, conditions-kms).
	bypass := map[string][]string{"kms:BypassPolicyLockoutSafetyCheck": {strconv.FormatBool(in.BypassPolicyLockoutSafetyCheck)}}
	k, err := s.kmsManagedKey(c, in.KeyId, "PutKeyPolicy", false, true, bypass)
	if err != nil {
		return nil, err
	}
	parsed, err := s.kmsCheckPolicy(c.p, k, *in.Policy, in.BypassPolicyLockoutSafetyCheck, c.requestContext())
	if err != nil {
		return nil, err
	}
	k.setPolicy(*in.Policy, parsed)
	return nil, nil
}

type kmsTagResourceIn struct {
	KeyId   string
	Tags    []kmsTag
	TagKeys []string
}

func (s *Server) kmsTagResource(c *call, body []byte) (any, *apiError) {
	var in kmsTagResourceIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if in.Tags == nil {
		return nil, kmsRequired("tags")
	}
	if err := kmsCheckTags(in.Tags); err != nil {
		return nil, err
	}
	k, err := s.kmsManagedKey(c, in.KeyId, "TagResource", false, true, kmsTagContext(c.requestContext(), in.Tags))
	if err != nil {
		return nil, err
	}
	if err := k.notPendingDeletion(); err != nil {
		return nil, err
	}
	if n := len(k.tags) + len(in.Tags); n > 50 {
		merged := map[string]bool{}
		for t := range k.tags {
			merged[t] = true
		}
		for _, t := range in.Tags {
			merged[t.TagKey] = true
		}
		if len(merged) > 50 {
			return nil, errf(http.StatusBadRequest, "LimitExceededException", "A KMS key can have at most 50 tags")
		}
	}
	for _, t := range in.Tags {
		k.tags[t.TagKey] = t.TagValue
	}
	return nil, nil
}

func (s *Server) kmsUntagResource(c *call, body []byte) (any, *apiError) {
	var in kmsTagResourceIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if in.TagKeys == nil {
		return nil, kmsRequired("tagKeys")
	}
	ctx := c.requestContext()
	if len(in.TagKeys) > 0 {
		ctx["aws:TagKeys"] = in.TagKeys
	}
	k, err := s.kmsManagedKey(c, in.KeyId, "UntagResource", false, true, ctx)
	if err != nil {
		return nil, err
	}
	if err := k.notPendingDeletion(); err != nil {
		return nil, err
	}
	for _, t := range in.TagKeys {
		delete(k.tags, t)
	}
	return nil, nil
}

type kmsListTagsIn struct {
	KeyId string
	kmsPageIn
}

func (s *Server) kmsListResourceTags(c *call, body []byte) (any, *apiError) {
	var in kmsListTagsIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	k, err := s.kmsManagedKey(c, in.KeyId, "ListResourceTags", false, true, nil)
	if err != nil {
		return nil, err
	}
	names := sortedKeys(k.tags)
	from, to, next, err := kmsPage(names, in.kmsPageIn, 50, 50)
	if err != nil {
		return nil, err
	}
	tags := make([]kmsTag, 0, to-from)
	for _, n := range names[from:to] {
		tags = append(tags, kmsTag{TagKey: n, TagValue: k.tags[n]})
	}
	return kmsPageOut(map[string]any{"Tags": tags}, next), nil
}
