package localaws

import "net/http"

// STUB: owned by the S3 helper, who replaces this file.

func (s *Server) serveS3(c *call) {
	c.fail(errf(http.StatusNotImplemented, "NotImplemented", "s3"))
}
