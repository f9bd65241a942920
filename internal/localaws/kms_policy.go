package localaws

import (
	"net/http"

	"github.com/s3crr/s3crr/internal/localaws/authz"
)

// kmsMaxPolicySize is KMS's limit on a key policy document, in characters.
const kmsMaxPolicySize = 32768

// kmsCheckPolicy validates a key policy about to be set on k (CreateKey with Policy,
// PutKeyPolicy) as KMS does: it must parse as a resource policy; every AWS principal it
// names must exist and be visible to KMS (a role inside the propagation window is not, which
// is how IAM's eventual consistency surfaces); and, unless bypass, it must still let the
// caller call PutKeyPolicy, so nobody locks themselves out of the key by accident.
// The caller holds s.mu.
func (s *Server) kmsCheckPolicy(p *principal, k *kmsKey, doc string, bypass bool, base map[string][]string) (*authz.Policy, *apiError) {
	if doc == "" {
		return nil, kmsValidation("policy", "Member must have length greater than or equal to 1")
	}
	if len(doc) > kmsMaxPolicySize {
		return nil, kmsValidation("policy", "Member must have length less than or equal to 32768")
	}
	parsed, err := authz.Parse([]byte(doc))
	if err != nil {
		return nil, errf(http.StatusBadRequest, "MalformedPolicyDocumentException", "%s", err.Error())
	}
	if err := parsed.CheckKind(authz.KindResource); err != nil {
		return nil, errf(http.StatusBadRequest, "MalformedPolicyDocumentException", "%s", err.Error())
	}
	for _, name := range parsed.PrincipalARNs() {
		if !s.principalVisible(name) {
			return nil, errf(http.StatusBadRequest, "MalformedPolicyDocumentException",
				"Policy contains a statement with one or more invalid principals.")
		}
	}
	if !bypass {
		candidate := *k
		candidate.setPolicy(doc, parsed)
		if s.kmsAuthorizeKey(&candidate, kmsUse{p: p, action: "kms:PutKeyPolicy", base: base}) != nil {
			return nil, errf(http.StatusBadRequest, "MalformedPolicyDocumentException",
				"The new key policy will not allow you to update the key policy in the future.")
		}
	}
	return parsed, nil
}
