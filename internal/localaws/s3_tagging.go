package localaws

import (
	"net/http"
)

// Object tagging: PutObjectTagging, GetObjectTagging, DeleteObjectTagging, on the latest
// version or, with versionId, on one version (then S3 authorizes the *Version* variant of
// the action). Tags follow S3's limits (s3ValidateTags: 10 per object, key up to 128
// characters, value up to 256, no aws: prefix). A tag change on a version that has
// replicated replicates too (scheduleTagReplication).

// s3TagTarget authorizes action (or actionVersion with a versionId) and resolves the version
// a tagging request addresses: NoSuchKey / NoSuchVersion when it is not there, and
// MethodNotAllowed for a delete marker, which has no tags. The caller holds s.mu.
func (s *Server) s3TagTarget(c *call, b *bucket, req *s3Request, action, actionVersion string) (*objectVersion, *apiError) {
	versionID := req.q.Get("versionId")
	if versionID != "" {
		action = actionVersion
	}
	if aerr := s.s3Authorize(c, b, action, s3ObjectARN(b.name, req.key), nil); aerr != nil {
		return nil, aerr
	}
	if versionID != "" && versionID != "null" && !s3ValidVersionID(versionID) {
		return nil, errInvalidArgument("Invalid version id specified", "versionId", versionID)
	}
	v := s3FindVersion(b, req.key, versionID)
	switch {
	case v == nil && versionID != "":
		return nil, s3Err(http.StatusNotFound, "NoSuchVersion", "The specified version does not exist.",
			[2]string{"Key", req.key}, [2]string{"VersionId", versionID})
	case v == nil, v.isDeleteMarker && versionID == "":
		return nil, s3Err(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", [2]string{"Key", req.key})
	case v.isDeleteMarker:
		return nil, s3Err(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.",
			[2]string{"Method", c.r.Method}, [2]string{"ResourceType", "DeleteMarker"})
	}
	return v, nil
}

// s3GetObjectTagging is GetObjectTagging; an untagged object has an empty TagSet.
func (s *Server) s3GetObjectTagging(c *call, req *s3Request) {
	b, aerr := s.s3Bucket(c, req.bucket)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	defer s.mu.Unlock()
	v, aerr := s.s3TagTarget(c, b, req, "s3:GetObjectTagging", "s3:GetObjectVersionTagging")
	if aerr != nil {
		c.fail(aerr)
		return
	}
	s3TaggingVersionHeader(c, b, v)
	c.writeXML(s3Tagging{Xmlns: s3NS, TagSet: s3TagList(v.tags)})
}

// s3PutObjectTagging is PutObjectTagging: it replaces the version's whole tag set.
func (s *Server) s3PutObjectTagging(c *call, req *s3Request) {
	var in s3Tagging
	if !s3ReadConfig(c, &in) {
		return
	}
	tags, aerr := s3ValidateTags(in.TagSet, 10)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	s.s3SetObjectTags(c, req, "s3:PutObjectTagging", "s3:PutObjectVersionTagging", tags, http.StatusOK)
}

// s3DeleteObjectTagging is DeleteObjectTagging: it removes every tag of the version.
func (s *Server) s3DeleteObjectTagging(c *call, req *s3Request) {
	s.s3SetObjectTags(c, req, "s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging", nil, http.StatusNoContent)
}

// s3SetObjectTags replaces a version's tags for Put and DeleteObjectTagging, and queues
// the replication of the change.
func (s *Server) s3SetObjectTags(c *call, req *s3Request, action, actionVersion string, tags map[string]string, status int) {
	b, aerr := s.s3Bucket(c, req.bucket)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	defer s.mu.Unlock()
	v, aerr := s.s3TagTarget(c, b, req, action, actionVersion)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	if len(tags) == 0 {
		tags = nil
	}
	v.tags = tags
	s.scheduleTagReplication(b, v)
	s3TaggingVersionHeader(c, b, v)
	c.writeEmpty(status)
}

// s3TaggingVersionHeader reports the version a tagging request acted on.
func s3TaggingVersionHeader(c *call, b *bucket, v *objectVersion) {
	if b.versioning != "" {
		c.w.Header().Set("x-amz-version-id", v.versionID)
	}
}
