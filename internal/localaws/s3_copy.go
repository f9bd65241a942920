package localaws

import (
	"encoding/xml"
	"maps"
	"net/http"
	"net/url"
	"strings"
)

// CopyObject (PUT with x-amz-copy-source): S3 reads the source as the caller (s3:GetObject,
// or s3:GetObjectVersion with a versionId, under the source bucket's policy; kms:Decrypt for
// an SSE-KMS source) and writes the target as PutObject does (s3:PutObject, kms:GenerateDataKey
// for SSE-KMS). The copy's encryption is the request's or the target bucket's default,
// never the source's. Metadata and tags are copied unless the metadata / tagging directive
// is REPLACE; copying tags needs s3:GetObjectTagging (Version) on the source and
// s3:PutObjectTagging on the target ([API] CopyObject,
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html).

type s3CopyResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	Xmlns        string   `xml:"xmlns,attr"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
}

// s3ParseCopySource splits x-amz-copy-source ("[/]bucket/key[?versionId=id]", URL-encoded).
func s3ParseCopySource(src string) (bucket, key, versionID string, aerr *apiError) {
	bad := errInvalidArgument("Invalid copy source object key", "x-amz-copy-source", src)
	path, query, _ := strings.Cut(src, "?")
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return "", "", "", bad
		}
		versionID = q.Get("versionId")
	}
	path, err := url.PathUnescape(path)
	if err != nil {
		return "", "", "", bad
	}
	bucket, key, _ = strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if bucket == "" || key == "" {
		return "", "", "", bad
	}
	return bucket, key, versionID, nil
}

// s3Directive reads x-amz-metadata-directive or x-amz-tagging-directive: COPY (default)
// or REPLACE.
func s3Directive(c *call, header string) (replace bool, aerr *apiError) {
	switch d := c.r.Header.Get(header); d {
	case "", "COPY":
		return false, nil
	case "REPLACE":
		return true, nil
	default:
		return false, errInvalidArgument("Unknown "+header+".", header, d)
	}
}

// s3CopyObject is CopyObject.
func (s *Server) s3CopyObject(c *call, req *s3Request) {
	srcBucket, srcKey, srcVersion, aerr := s3ParseCopySource(req.copySource)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	replaceMeta, aerr := s3Directive(c, "x-amz-metadata-directive")
	if aerr != nil {
		c.fail(aerr)
		return
	}
	replaceTags, aerr := s3Directive(c, "x-amz-tagging-directive")
	if aerr != nil {
		c.fail(aerr)
		return
	}
	o, b := s.s3OpenWrite(c, req)
	if b == nil {
		return
	}
	defer s.mu.Unlock()
	sb := s.buckets[srcBucket]
	if sb == nil {
		c.fail(errNoSuchBucket(srcBucket))
		return
	}
	src, aerr := s.s3CopySourceVersion(c, sb, srcKey, srcVersion)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	if !replaceMeta {
		if sb == b && srcKey == req.key && o.enc == nil && o.storageClass == "" && c.r.Header.Get("x-amz-storage-class") == "" {
			c.fail(errInvalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."))
			return
		}
		o.contentType, o.metadata = src.contentType, maps.Clone(src.metadata)
	}
	if !replaceTags {
		o.tags = nil
		if len(src.tags) > 0 {
			action := "s3:GetObjectTagging"
			if srcVersion != "" {
				action = "s3:GetObjectVersionTagging"
			}
			if aerr := s.s3Authorize(c, sb, action, s3ObjectARN(sb.name, srcKey), nil); aerr != nil {
				c.fail(aerr)
				return
			}
			o.tags = maps.Clone(src.tags)
		}
	}
	if aerr := s.s3AuthorizeWrite(c, b, req.key, o); aerr != nil {
		c.fail(aerr)
		return
	}
	plaintext, aerr := s.s3Open(c.p, sb, src)
	if aerr != nil {
		c.fail(s3KMSError(aerr))
		return
	}
	v := s.s3NewVersion(c, b, req.key, o)
	if aerr := s.s3Seal(c.p, b, v, plaintext, s3WriteEncryption(b, o)); aerr != nil {
		c.fail(s3KMSError(aerr))
		return
	}
	s3AddVersion(b, v)
	s.scheduleReplication(b, v)

	h := c.w.Header()
	if b.versioning != "" {
		h.Set("x-amz-version-id", v.versionID)
	}
	if sb.versioning != "" {
		h.Set("x-amz-copy-source-version-id", src.versionID)
	}
	s3EncryptionHeaders(h, v)
	c.writeXML(s3CopyResult{Xmlns: s3NS, ETag: v.etag, LastModified: s3Time(v.lastModified)})
}

// s3CopySourceVersion authorizes the read of the copy source and resolves it. A missing
// source is NoSuchKey / NoSuchVersion; a delete marker named by version ID is InvalidRequest,
// as S3 answers. The caller holds s.mu.
func (s *Server) s3CopySourceVersion(c *call, sb *bucket, key, versionID string) (*objectVersion, *apiError) {
	action := "s3:GetObject"
	if versionID != "" {
		action = "s3:GetObjectVersion"
	}
	if aerr := s.s3Authorize(c, sb, action, s3ObjectARN(sb.name, key), nil); aerr != nil {
		return nil, aerr
	}
	v := s3FindVersion(sb, key, versionID)
	switch {
	case v == nil && versionID != "":
		return nil, s3Err(http.StatusNotFound, "NoSuchVersion", "The specified version does not exist.",
			[2]string{"Key", key}, [2]string{"VersionId", versionID})
	case v == nil, v.isDeleteMarker && versionID == "":
		return nil, s3Err(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", [2]string{"Key", key})
	case v.isDeleteMarker:
		return nil, errInvalidRequest("The source of a copy request may not specifically refer to a delete marker by version id.")
	}
	return v, nil
}
