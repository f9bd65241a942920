package localaws

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Objects: PutObject, GetObject, HeadObject, DeleteObject. Versions follow the bucket's
// versioning state: never enabled keeps one "null" version per key; Enabled adds a version
// with a fresh ID on every write and a delete marker on every delete without a version ID;
// Suspended writes and deletes replace the "null" version.

// s3Object is a parsed PutObject request.
type s3Object struct {
	body         []byte
	contentType  string
	metadata     map[string]string
	tags         map[string]string
	storageClass string
	enc          *s3Encryption // nil: the bucket's default encryption applies
	bucketKey    *bool         // x-amz-server-side-encryption-bucket-key-enabled, if sent
	checksums    map[string]string
	condition    map[string][]string
}

// s3ParsePut reads and validates everything PutObject takes from the request, before the
// server lock is taken.
func s3ParsePut(c *call) (*s3Object, *apiError) {
	body, trailers, aerr := s3ReadBody(c)
	if aerr != nil {
		return nil, aerr
	}
	h := c.r.Header
	o := &s3Object{body: body, contentType: h.Get("Content-Type"), condition: map[string][]string{}}
	if o.checksums, aerr = s3Checksum(c.r, trailers, body); aerr != nil {
		return nil, aerr
	}
	if o.contentType == "" {
		o.contentType = "binary/octet-stream"
	}
	for name, vals := range h {
		if k, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-meta-"); ok && len(vals) > 0 {
			if o.metadata == nil {
				o.metadata = map[string]string{}
			}
			o.metadata[k] = vals[0]
		}
	}
	if sc := h.Get("x-amz-storage-class"); sc != "" {
		if !s3StorageClasses[sc] {
			return nil, s3Err(http.StatusBadRequest, "InvalidStorageClass", "The storage class you specified is not valid",
				[2]string{"StorageClassRequested", sc})
		}
		if sc != "STANDARD" {
			o.storageClass = sc
		}
	}
	if t := h.Get("x-amz-tagging"); t != "" {
		vals, err := url.ParseQuery(t)
		if err != nil {
			return nil, errInvalidArgument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.", "x-amz-tagging", t)
		}
		var list []s3Tag
		for _, k := range sortedKeys(vals) {
			for _, v := range vals[k] {
				list = append(list, s3Tag{Key: k, Value: v})
			}
		}
		if o.tags, aerr = s3ValidateTags(list, 10); aerr != nil {
			return nil, aerr
		}
	}
	if h.Get("x-amz-server-side-encryption-customer-algorithm") != "" {
		return nil, s3Err(http.StatusBadRequest, "InvalidRequest",
			"Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection; SSE-C is blocked by default on new buckets and not simulated")
	}
	sse, keyID := h.Get("x-amz-server-side-encryption"), h.Get("x-amz-server-side-encryption-aws-kms-key-id")
	switch sse {
	case "", "AES256", "aws:kms", "aws:kms:dsse":
	default:
		return nil, errInvalidArgument("The encryption method specified is not supported", "x-amz-server-side-encryption", sse)
	}
	if keyID != "" && !s3IsKMS(sse) {
		return nil, errInvalidArgument("Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
			"x-amz-server-side-encryption-aws-kms-key-id", keyID)
	}
	if sse != "" {
		o.enc = &s3Encryption{sse: sse, kmsKeyID: keyID}
		o.condition["s3:x-amz-server-side-encryption"] = []string{sse}
		if keyID != "" {
			o.condition["s3:x-amz-server-side-encryption-aws-kms-key-id"] = []string{keyID}
		}
	}
	if ctx := h.Get("x-amz-server-side-encryption-context"); ctx != "" {
		raw, err := base64.StdEncoding.DecodeString(ctx)
		var ec map[string]string
		if err == nil {
			err = json.Unmarshal(raw, &ec)
		}
		if err != nil || o.enc == nil || !s3IsKMS(o.enc.sse) {
			return nil, errInvalidArgument("The header 'x-amz-server-side-encryption-context' must be base64-encoded UTF-8 JSON and requires x-amz-server-side-encryption: aws:kms",
				"x-amz-server-side-encryption-context", ctx)
		}
		o.enc.context = ec
	}
	if bk := h.Get("x-amz-server-side-encryption-bucket-key-enabled"); bk != "" {
		on, err := strconv.ParseBool(bk)
		if err != nil {
			return nil, errInvalidArgument("Invalid value for x-amz-server-side-encryption-bucket-key-enabled", "x-amz-server-side-encryption-bucket-key-enabled", bk)
		}
		o.bucketKey = &on
	}
	return o, nil
}

// s3OpenWrite opens the handlers that write an object (PutObject, CopyObject,
// CreateMultipartUpload): it parses PutObject's headers and body, then resolves the bucket.
// On success it returns with s.mu held, as s3Bucket does, and the caller unlocks; on failure
// it has failed the call, holds nothing and returns a nil bucket.
func (s *Server) s3OpenWrite(c *call, req *s3Request) (*s3Object, *bucket) {
	o, aerr := s3ParsePut(c)
	if aerr != nil {
		c.fail(aerr)
		return nil, nil
	}
	b, aerr := s.s3Bucket(c, req.bucket)
	if aerr != nil {
		c.fail(aerr)
		return nil, nil
	}
	return o, b
}

// s3OpenAuthorizedWrite is s3OpenWrite followed by s3AuthorizeWrite, the opening of
// PutObject and CreateMultipartUpload (CopyObject authorizes its write only after it has
// resolved the source). It holds s.mu on the same terms as s3OpenWrite.
func (s *Server) s3OpenAuthorizedWrite(c *call, req *s3Request) (*s3Object, *bucket) {
	o, b := s.s3OpenWrite(c, req)
	if b == nil {
		return nil, nil
	}
	if aerr := s.s3AuthorizeWrite(c, b, req.key, o); aerr != nil {
		s.mu.Unlock()
		c.fail(aerr)
		return nil, nil
	}
	return o, b
}

// s3PutObject is PutObject. With SSE-KMS, S3 asks KMS for a data key as the writer, so the
// writer needs kms:GenerateDataKey on the key (via S3, with the object's encryption
// context); a KMS refusal fails the upload with S3's mapping of the KMS error.
func (s *Server) s3PutObject(c *call, req *s3Request) {
	o, b := s.s3OpenAuthorizedWrite(c, req)
	if b == nil {
		return
	}
	defer s.mu.Unlock()
	enc := s3WriteEncryption(b, o)
	v := s.s3NewVersion(c, b, req.key, o)
	if aerr := s.s3Seal(c.p, b, v, o.body, enc); aerr != nil {
		c.fail(s3KMSError(aerr))
		return
	}
	s3AddVersion(b, v)
	s.scheduleReplication(b, v)

	h := c.w.Header()
	h.Set("ETag", v.etag)
	if b.versioning != "" {
		h.Set("x-amz-version-id", v.versionID)
	}
	s3EncryptionHeaders(h, v)
	for k, val := range o.checksums {
		h.Set(k, val)
	}
	c.writeEmpty(http.StatusOK)
}

// s3AuthorizeWrite authorizes a write of an object (PutObject, CreateMultipartUpload,
// the target of CopyObject): s3:PutObject with the request's encryption condition keys,
// s3:PutObjectTagging when it sets tags, and the ACLs a BucketOwnerEnforced bucket refuses.
// The caller holds s.mu.
func (s *Server) s3AuthorizeWrite(c *call, b *bucket, key string, o *s3Object) *apiError {
	objARN := s3ObjectARN(b.name, key)
	if aerr := s.s3Authorize(c, b, "s3:PutObject", objARN, o.condition); aerr != nil {
		return aerr
	}
	if o.tags != nil {
		if aerr := s.s3Authorize(c, b, "s3:PutObjectTagging", objARN, nil); aerr != nil {
			return aerr
		}
	}
	acl := c.r.Header.Get("x-amz-acl")
	if b.ownership == "BucketOwnerEnforced" && acl != "" && acl != "bucket-owner-full-control" && acl != "private" {
		return s3Err(http.StatusBadRequest, "AccessControlListNotSupported", "The bucket does not allow ACLs")
	}
	return nil
}

// s3WriteEncryption is the encryption a write gets: the request's algorithm and key win
// over the bucket's default; the bucket's Bucket Key setting still applies to SSE-KMS unless
// the request says otherwise.
func s3WriteEncryption(b *bucket, o *s3Object) s3Encryption {
	enc := s3DefaultEncryption(b)
	if o.enc != nil {
		enc = *o.enc
		enc.bucketKey = s3IsKMS(enc.sse) && b.encryption != nil && b.encryption.bucketKeyEnabled
	}
	if o.bucketKey != nil {
		enc.bucketKey = *o.bucketKey && s3IsKMS(enc.sse)
	}
	return enc
}

// s3NewVersion is a new version of key in b written by the caller, before its data is
// sealed: owner by Object Ownership, a fresh version ID when versioning is Enabled. The
// caller holds s.mu.
func (s *Server) s3NewVersion(c *call, b *bucket, key string, o *s3Object) *objectVersion {
	v := &objectVersion{
		key: key, versionID: "null", lastModified: s.now().UTC(),
		owner: c.p.account, contentType: o.contentType, metadata: o.metadata, tags: o.tags,
		storageClass: o.storageClass,
	}
	acl := c.r.Header.Get("x-amz-acl")
	if b.ownership == "BucketOwnerEnforced" || b.ownership == "BucketOwnerPreferred" && acl == "bucket-owner-full-control" {
		v.owner = b.account
	}
	if b.versioning == "Enabled" {
		v.versionID = s3RandomID(32)
	}
	return v
}

// s3AddVersion stores a new version or delete marker as the key's latest. A "null"
// version (unversioned or suspended bucket) replaces the previous "null" version.
func s3AddVersion(b *bucket, v *objectVersion) {
	versions := b.objects[v.key]
	if v.versionID == "null" {
		kept := versions[:0]
		for _, old := range versions {
			if old.versionID != "null" {
				kept = append(kept, old)
			}
		}
		versions = kept
	}
	b.objects[v.key] = append(versions, v)
}

// s3EncryptionHeaders sets the server-side encryption headers S3 returns with an object.
func s3EncryptionHeaders(h http.Header, v *objectVersion) {
	if v.sse == "" {
		return
	}
	h.Set("x-amz-server-side-encryption", v.sse)
	if s3IsKMS(v.sse) {
		h.Set("x-amz-server-side-encryption-aws-kms-key-id", v.kmsKeyARN)
		if v.bucketKeyEnabled {
			h.Set("x-amz-server-side-encryption-bucket-key-enabled", "true")
		}
	}
}

// s3ObjectHeaders sets the headers GetObject and HeadObject return for a version.
func s3ObjectHeaders(h http.Header, b *bucket, v *objectVersion) {
	h.Set("ETag", v.etag)
	h.Set("Last-Modified", v.lastModified.UTC().Format(http.TimeFormat))
	h.Set("Content-Type", v.contentType)
	h.Set("Accept-Ranges", "bytes")
	if b.versioning != "" {
		h.Set("x-amz-version-id", v.versionID)
	}
	s3EncryptionHeaders(h, v)
	if v.replicationStatus != "" {
		h.Set("x-amz-replication-status", v.replicationStatus)
	}
	if v.storageClass != "" && v.storageClass != "STANDARD" {
		h.Set("x-amz-storage-class", v.storageClass)
	}
	if len(v.tags) > 0 {
		h.Set("x-amz-tagging-count", strconv.Itoa(len(v.tags)))
	}
	for k, val := range v.metadata {
		h.Set("x-amz-meta-"+k, val)
	}
}

// s3FindVersion returns the version a read addresses: the latest when versionID is "", a
// specific version otherwise (nil if none).
func s3FindVersion(b *bucket, key, versionID string) *objectVersion {
	versions := b.objects[key]
	if len(versions) == 0 {
		return nil
	}
	if versionID == "" {
		return versions[len(versions)-1]
	}
	for _, v := range versions {
		if v.versionID == versionID {
			return v
		}
	}
	return nil
}

// s3ReadTarget resolves and authorizes the version GetObject and HeadObject read, with
// S3's answers for what is not there: NoSuchKey (or AccessDenied when the caller may not
// list the bucket, so that a missing key reveals nothing), NoSuchVersion, and for delete
// markers 404 (latest) or 405 (addressed by version ID) with x-amz-delete-marker. The
// caller holds s.mu.
func (s *Server) s3ReadTarget(c *call, b *bucket, req *s3Request) (*objectVersion, *apiError) {
	versionID := req.q.Get("versionId")
	action := "s3:GetObject"
	if versionID != "" {
		action = "s3:GetObjectVersion"
	}
	if aerr := s.s3Authorize(c, b, action, s3ObjectARN(b.name, req.key), nil); aerr != nil {
		return nil, aerr
	}
	v := s3FindVersion(b, req.key, versionID)
	h := c.w.Header()
	switch {
	case v == nil && versionID != "" && len(b.objects[req.key]) > 0:
		return nil, s3Err(http.StatusNotFound, "NoSuchVersion", "The specified version does not exist.",
			[2]string{"Key", req.key}, [2]string{"VersionId", versionID})
	case v == nil && versionID != "" && versionID != "null" && !s3ValidVersionID(versionID):
		return nil, errInvalidArgument("Invalid version id specified", "versionId", versionID)
	case v == nil:
		if s.s3Authorize(c, b, "s3:ListBucket", s3BucketARN(b.name), nil) != nil {
			return nil, errAccessDenied("Access Denied")
		}
		if versionID != "" {
			return nil, s3Err(http.StatusNotFound, "NoSuchVersion", "The specified version does not exist.",
				[2]string{"Key", req.key}, [2]string{"VersionId", versionID})
		}
		return nil, s3Err(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", [2]string{"Key", req.key})
	case v.isDeleteMarker:
		h.Set("x-amz-delete-marker", "true")
		h.Set("x-amz-version-id", v.versionID)
		if versionID == "" {
			return nil, s3Err(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", [2]string{"Key", req.key})
		}
		h.Set("Allow", "DELETE")
		h.Set("Last-Modified", v.lastModified.UTC().Format(http.TimeFormat))
		return nil, s3Err(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.",
			[2]string{"Method", c.r.Method}, [2]string{"ResourceType", "DeleteMarker"})
	}
	return v, nil
}

// s3ValidVersionID reports whether id has the shape of the version IDs S3 issues.
func s3ValidVersionID(id string) bool {
	if len(id) < 1 || len(id) > 1024 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// s3OpenRead opens GetObject and HeadObject alike: it resolves the bucket, the version the
// request reads (authorized as s3ReadTarget does) and the part it names, if any. On success
// it returns with s.mu held, as s3Bucket does, and the caller unlocks; on failure it has
// failed the call, released the lock and returns a nil version.
func (s *Server) s3OpenRead(c *call, req *s3Request) (*bucket, *objectVersion, *s3PartSpan) {
	b, aerr := s.s3Bucket(c, req.bucket)
	if aerr != nil {
		c.fail(aerr)
		return nil, nil, nil
	}
	v, aerr := s.s3ReadTarget(c, b, req)
	var part *s3PartSpan
	if aerr == nil {
		part, aerr = s3PartOf(c, req, v)
	}
	if aerr != nil {
		s.mu.Unlock()
		c.fail(aerr)
		return nil, nil, nil
	}
	return b, v, part
}

// s3GetObject is GetObject, with an optional single byte Range or partNumber. SSE-KMS objects are
// decrypted by KMS as the reader (kms:Decrypt via S3 with the stored context).
func (s *Server) s3GetObject(c *call, req *s3Request) {
	b, v, part := s.s3OpenRead(c, req)
	if v == nil {
		return
	}
	defer s.mu.Unlock()
	plain, aerr := s.s3Open(c.p, b, v)
	if aerr != nil {
		c.fail(s3KMSError(aerr))
		return
	}
	status := http.StatusOK
	h := c.w.Header()
	if part != nil {
		status = part.apply(h, v)
		plain = plain[part.start : part.end+1]
	} else if rng := c.r.Header.Get("Range"); rng != "" {
		start, end, ok := s3ParseRange(rng, int64(len(plain)))
		if !ok {
			c.fail(s3Err(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable",
				[2]string{"RangeRequested", rng}, [2]string{"ActualObjectSize", strconv.Itoa(len(plain))}))
			return
		}
		if start >= 0 {
			h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(end, 10)+"/"+strconv.Itoa(len(plain)))
			plain = plain[start : end+1]
			status = http.StatusPartialContent
		}
	}
	s3ObjectHeaders(h, b, v)
	h.Set("Content-Length", strconv.Itoa(len(plain)))
	c.wrote = true
	c.w.WriteHeader(status)
	_, _ = c.w.Write(plain)
}

// s3ParseRange parses a single "bytes=a-b", "bytes=a-" or "bytes=-n" range. It returns
// start -1 for a header S3 ignores (several ranges, other units) and ok false for a range
// that cannot be satisfied.
func s3ParseRange(h string, size int64) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return -1, -1, true
	}
	first, last, found := strings.Cut(spec, "-")
	if !found {
		return -1, -1, true
	}
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n <= 0 || size == 0 {
			return 0, 0, false
		}
		if n > size {
			n = size
		}
		return size - n, size - 1, true
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a >= size {
		return 0, 0, false
	}
	b := size - 1
	if last != "" {
		if b, err = strconv.ParseInt(last, 10, 64); err != nil || b < a {
			return -1, -1, true
		}
		if b >= size {
			b = size - 1
		}
	}
	return a, b, true
}

// s3HeadObject is HeadObject. It does not decrypt, so it needs no KMS permission, as in S3.
func (s *Server) s3HeadObject(c *call, req *s3Request) {
	b, v, part := s.s3OpenRead(c, req)
	if v == nil {
		return
	}
	defer s.mu.Unlock()
	h := c.w.Header()
	s3ObjectHeaders(h, b, v)
	h.Set("Content-Length", strconv.FormatInt(v.size, 10))
	status := http.StatusOK
	if part != nil {
		status = part.apply(h, v)
		h.Set("Content-Length", strconv.FormatInt(part.end-part.start+1, 10))
	}
	c.writeEmpty(status)
}

// s3DeleteObject is DeleteObject. Without a version ID it removes the object of an
// unversioned bucket, or adds a delete marker (replicated when the rule says so); with one
// it permanently deletes that version (never replicated). Deleting what does not exist
// succeeds, as in S3.
func (s *Server) s3DeleteObject(c *call, req *s3Request) {
	b, aerr := s.s3Bucket(c, req.bucket)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	defer s.mu.Unlock()
	res, aerr := s.s3DeleteOne(c, b, req.key, req.q.Get("versionId"))
	if aerr != nil {
		c.fail(aerr)
		return
	}
	h := c.w.Header()
	if res.deleteMarker {
		h.Set("x-amz-delete-marker", "true")
	}
	if res.versionID != "" {
		h.Set("x-amz-version-id", res.versionID)
	}
	c.writeEmpty(http.StatusNoContent)
}

// s3Deleted is the outcome of deleting one object: the version deleted or the delete
// marker created, and whether it is a delete marker.
type s3Deleted struct {
	versionID    string
	deleteMarker bool
	markerMade   bool // a new delete marker was created (versionID is the marker's)
}

// s3DeleteOne authorizes and performs one object deletion, for DeleteObject and
// DeleteObjects. The caller holds s.mu.
func (s *Server) s3DeleteOne(c *call, b *bucket, key, versionID string) (s3Deleted, *apiError) {
	action := "s3:DeleteObject"
	if versionID != "" {
		action = "s3:DeleteObjectVersion"
	}
	if aerr := s.s3Authorize(c, b, action, s3ObjectARN(b.name, key), nil); aerr != nil {
		return s3Deleted{}, aerr
	}
	switch {
	case versionID != "":
		if versionID != "null" && !s3ValidVersionID(versionID) {
			return s3Deleted{}, errInvalidArgument("Invalid version id specified", "versionId", versionID)
		}
		res := s3Deleted{versionID: versionID}
		versions := b.objects[key]
		for i, v := range versions {
			if v.versionID == versionID {
				res.deleteMarker = v.isDeleteMarker
				b.objects[key] = append(versions[:i:i], versions[i+1:]...)
				break
			}
		}
		if len(b.objects[key]) == 0 {
			delete(b.objects, key)
		}
		return res, nil
	case b.versioning == "":
		delete(b.objects, key)
		return s3Deleted{}, nil
	}
	m := &objectVersion{key: key, versionID: "null", isDeleteMarker: true, lastModified: s.now().UTC(), owner: c.p.account}
	if b.ownership == "BucketOwnerEnforced" {
		m.owner = b.account
	}
	if b.versioning == "Enabled" {
		m.versionID = s3RandomID(32)
	}
	s3AddVersion(b, m)
	s.scheduleReplication(b, m)
	return s3Deleted{versionID: m.versionID, deleteMarker: true, markerMade: true}, nil
}

type s3DeleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   bool     `xml:"Quiet"`
	Objects []struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId"`
	} `xml:"Object"`
}

type s3DeleteResult struct {
	XMLName xml.Name `xml:"DeleteResult"`
	Xmlns   string   `xml:"xmlns,attr"`
	Deleted []struct {
		Key                   string `xml:"Key"`
		VersionID             string `xml:"VersionId,omitempty"`
		DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
		DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
	} `xml:"Deleted"`
	Errors []struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId,omitempty"`
		Code      string `xml:"Code"`
		Message   string `xml:"Message"`
	} `xml:"Error"`
}

// s3DeleteObjects is DeleteObjects (POST ?delete), which the AWS CLI uses to empty
// buckets: each object is authorized and deleted as DeleteObject would, and failures are
// reported per key.
func (s *Server) s3DeleteObjects(c *call, req *s3Request) {
	var in s3DeleteRequest
	if !s3ReadConfig(c, &in) {
		return
	}
	if len(in.Objects) == 0 || len(in.Objects) > 1000 {
		c.fail(errMalformedXML())
		return
	}
	b, aerr := s.s3Bucket(c, req.bucket)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	defer s.mu.Unlock()
	out := s3DeleteResult{Xmlns: s3NS}
	for _, o := range in.Objects {
		res, aerr := s.s3DeleteOne(c, b, o.Key, o.VersionID)
		if aerr != nil {
			out.Errors = append(out.Errors, struct {
				Key       string `xml:"Key"`
				VersionID string `xml:"VersionId,omitempty"`
				Code      string `xml:"Code"`
				Message   string `xml:"Message"`
			}{o.Key, o.VersionID, aerr.Code, aerr.Message})
			continue
		}
		if in.Quiet {
			continue
		}
		d := struct {
			Key                   string `xml:"Key"`
			VersionID             string `xml:"VersionId,omitempty"`
			DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
			DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
		}{Key: o.Key, VersionID: o.VersionID, DeleteMarker: res.deleteMarker}
		if res.markerMade {
			d.DeleteMarkerVersionID = res.versionID
		}
		out.Deleted = append(out.Deleted, d)
	}
	c.writeXML(out)
}

// s3SortedKeys returns the bucket's keys in S3's listing order (UTF-8 binary order).
func s3SortedKeys(b *bucket) []string {
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
