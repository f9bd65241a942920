package localaws

import "net/http"

// STUB: owned by the IAM/STS helper, who replaces this file.

func (s *Server) serveIAM(c *call) {
	c.fail(errf(http.StatusNotImplemented, "NotImplemented", "iam"))
}
