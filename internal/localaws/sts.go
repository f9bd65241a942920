package localaws

import "net/http"

// STUB: owned by the IAM/STS helper, who replaces this file.

func (s *Server) serveSTS(c *call) {
	c.fail(errf(http.StatusNotImplemented, "NotImplemented", "sts"))
}

// assumeRole is sts:AssumeRole by caller p (an AWS principal, or a service principal such
// as s3.amazonaws.com for replication): it evaluates the role's trust policy (with
// sts:ExternalId when externalID is not "") and, for cross-account AWS callers, p's identity
// policies, and returns the session principal. For service callers the role must also have
// propagated (PropagationWindow). The caller holds s.mu.
func (s *Server) assumeRole(p *principal, roleARN, sessionName, externalID string) (*principal, *apiError) {
	return nil, errAccessDenied("stub")
}
