package localaws

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// S3 front end: REST-XML, path-style (http://host/<bucket>/<key>) and virtual-host style
// (Host: <bucket>.localhost[:port]). Requests are routed by method, path and query
// subresource to one handler per AWS operation; each handler calls s.begin exactly once with
// the operation's name, resolves the bucket (redirecting requests signed for the wrong
// region as S3 does), authorizes with S3's action name, and answers with S3's XML shapes.

// s3NS is the namespace of every S3 XML document.
const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

// s3Request is the part of a request the handlers share: the addressed bucket and key and
// the query string.
type s3Request struct {
	bucket string
	key    string
	q      url.Values
	// copySource is the x-amz-copy-source header, which turns a PUT into CopyObject or
	// UploadPartCopy.
	copySource string
}

// s3Handler serves one S3 operation.
type s3Handler func(s *Server, c *call, req *s3Request)

func (s *Server) serveS3(c *call) {
	req := &s3Request{q: c.r.URL.Query(), copySource: c.r.Header.Get("x-amz-copy-source")}
	req.bucket, req.key = s3Target(c.r)
	op, h := s3Route(c.r.Method, req)
	if h == nil {
		c.fail(errf(http.StatusNotImplemented, "NotImplemented",
			"A header or query you provided implies functionality that is not implemented: localaws does not simulate %s %s", c.r.Method, c.r.URL.RequestURI()))
		return
	}
	if !s.begin(c, op) {
		return
	}
	h(s, c, req)
}

// s3Target splits a request into bucket and key, from the Host header for virtual-host
// style requests and from the path otherwise.
func s3Target(r *http.Request) (bucket, key string) {
	path := r.URL.Path
	if raw := r.URL.RawPath; raw != "" {
		if p, err := url.PathUnescape(raw); err == nil {
			path = p
		}
	}
	if b := s3VirtualHostBucket(r.Host); b != "" {
		return b, strings.TrimPrefix(path, "/")
	}
	path = strings.TrimPrefix(path, "/")
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key
}

// s3HostPattern matches S3's own virtual-host names, <bucket>.s3[.-]<region>.amazonaws.com
// and <bucket>.s3.amazonaws.com, so requests forwarded with AWS host names route too.
var s3HostPattern = regexp.MustCompile(`^(.+)\.s3(?:[.-]([a-z0-9-]+))?\.amazonaws\.com$`)

// s3VirtualHostBucket returns the bucket named by a virtual-host style Host header, or "".
func s3VirtualHostBucket(host string) string {
	h := s3StripPort(host)
	if b, ok := strings.CutSuffix(h, ".localhost"); ok && b != "" {
		return b
	}
	if m := s3HostPattern.FindStringSubmatch(h); m != nil && m[1] != "" {
		return m[1]
	}
	return ""
}

func s3StripPort(host string) string {
	if i := strings.LastIndex(host, ":"); i >= 0 && !strings.Contains(host[i:], "]") {
		return host[:i]
	}
	return host
}

// s3EndpointRegion is the region of the S3 endpoint a request was sent to: from an AWS
// host name when the request carries one ("global" for s3.amazonaws.com), otherwise the
// signing region, since an SDK pointed at a regional endpoint signs for that region.
func s3EndpointRegion(c *call) string {
	h := s3StripPort(c.r.Host)
	if h == "s3.amazonaws.com" || strings.HasSuffix(h, ".s3.amazonaws.com") || h == "s3-external-1.amazonaws.com" {
		return "global"
	}
	for _, p := range []string{"s3.", "s3-"} {
		if rest, ok := strings.CutPrefix(h, p); ok {
			if region, ok := strings.CutSuffix(rest, ".amazonaws.com"); ok && region != "" {
				return region
			}
		}
	}
	if m := s3HostPattern.FindStringSubmatch(h); m != nil && m[2] != "" {
		return m[2]
	}
	return c.region
}

// s3Route picks the operation for a request. Subresources are query parameters without
// meaningful values (?versioning, ?replication, ...); the SDK's x-id parameter is ignored.
func s3Route(method string, req *s3Request) (string, s3Handler) {
	has := func(k string) bool { _, ok := req.q[k]; return ok }
	if req.bucket == "" {
		if method == http.MethodGet {
			return "ListBuckets", (*Server).s3ListBuckets
		}
		return "", nil
	}
	if req.key != "" {
		switch {
		case has("tagging"):
			switch method {
			case http.MethodGet:
				return "GetObjectTagging", (*Server).s3GetObjectTagging
			case http.MethodPut:
				return "PutObjectTagging", (*Server).s3PutObjectTagging
			case http.MethodDelete:
				return "DeleteObjectTagging", (*Server).s3DeleteObjectTagging
			}
			return "", nil
		case has("uploads"):
			if method == http.MethodPost {
				return "CreateMultipartUpload", (*Server).s3CreateMultipartUpload
			}
			return "", nil
		case has("uploadId"):
			switch method {
			case http.MethodPut:
				if req.copySource != "" {
					return "", nil // UploadPartCopy is not simulated
				}
				return "UploadPart", (*Server).s3UploadPart
			case http.MethodPost:
				return "CompleteMultipartUpload", (*Server).s3CompleteMultipartUpload
			case http.MethodDelete:
				return "AbortMultipartUpload", (*Server).s3AbortMultipartUpload
			case http.MethodGet:
				return "ListParts", (*Server).s3ListParts
			}
			return "", nil
		case has("acl"), has("retention"), has("legal-hold"), has("restore"), has("select"), has("attributes"):
			return "", nil
		}
		switch method {
		case http.MethodPut:
			if req.copySource != "" {
				return "CopyObject", (*Server).s3CopyObject
			}
			return "PutObject", (*Server).s3PutObject
		case http.MethodGet:
			return "GetObject", (*Server).s3GetObject
		case http.MethodHead:
			return "HeadObject", (*Server).s3HeadObject
		case http.MethodDelete:
			return "DeleteObject", (*Server).s3DeleteObject
		}
		return "", nil
	}
	type sub struct {
		name             string
		get, put, delete string
		getH, putH, delH s3Handler
	}
	subs := []sub{
		{"versioning", "GetBucketVersioning", "PutBucketVersioning", "", (*Server).s3GetBucketVersioning, (*Server).s3PutBucketVersioning, nil},
		{"publicAccessBlock", "GetPublicAccessBlock", "PutPublicAccessBlock", "DeletePublicAccessBlock", (*Server).s3GetPublicAccessBlock, (*Server).s3PutPublicAccessBlock, (*Server).s3DeletePublicAccessBlock},
		{"ownershipControls", "GetBucketOwnershipControls", "PutBucketOwnershipControls", "DeleteBucketOwnershipControls", (*Server).s3GetOwnershipControls, (*Server).s3PutOwnershipControls, (*Server).s3DeleteOwnershipControls},
		{"policy", "GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy", (*Server).s3GetBucketPolicy, (*Server).s3PutBucketPolicy, (*Server).s3DeleteBucketPolicy},
		{"encryption", "GetBucketEncryption", "PutBucketEncryption", "DeleteBucketEncryption", (*Server).s3GetBucketEncryption, (*Server).s3PutBucketEncryption, (*Server).s3DeleteBucketEncryption},
		{"replication", "GetBucketReplication", "PutBucketReplication", "DeleteBucketReplication", (*Server).s3GetBucketReplication, (*Server).s3PutBucketReplication, (*Server).s3DeleteBucketReplication},
		{"notification", "GetBucketNotificationConfiguration", "PutBucketNotificationConfiguration", "", (*Server).s3GetBucketNotification, (*Server).s3PutBucketNotification, nil},
		{"tagging", "GetBucketTagging", "PutBucketTagging", "DeleteBucketTagging", (*Server).s3GetBucketTagging, (*Server).s3PutBucketTagging, (*Server).s3DeleteBucketTagging},
		{"lifecycle", "GetBucketLifecycleConfiguration", "PutBucketLifecycleConfiguration", "DeleteBucketLifecycle", (*Server).s3GetBucketLifecycle, (*Server).s3PutBucketLifecycle, (*Server).s3DeleteBucketLifecycle},
		{"object-lock", "GetObjectLockConfiguration", "", "", (*Server).s3GetObjectLockConfiguration, nil, nil},
		{"location", "GetBucketLocation", "", "", (*Server).s3GetBucketLocation, nil, nil},
		{"versions", "ListObjectVersions", "", "", (*Server).s3ListObjectVersions, nil, nil},
		{"uploads", "ListMultipartUploads", "", "", (*Server).s3ListMultipartUploads, nil, nil},
	}
	for _, sr := range subs {
		if !has(sr.name) {
			continue
		}
		switch method {
		case http.MethodGet:
			return sr.get, sr.getH
		case http.MethodPut:
			return sr.put, sr.putH
		case http.MethodDelete:
			return sr.delete, sr.delH
		}
		return "", nil
	}
	if has("delete") {
		if method == http.MethodPost {
			return "DeleteObjects", (*Server).s3DeleteObjects
		}
		return "", nil
	}
	for _, unsupported := range []string{"acl", "cors", "logging", "website", "requestPayment",
		"accelerate", "analytics", "inventory", "metrics", "intelligent-tiering", "policyStatus"} {
		if has(unsupported) {
			return "", nil
		}
	}
	switch method {
	case http.MethodPut:
		return "CreateBucket", (*Server).s3CreateBucket
	case http.MethodHead:
		return "HeadBucket", (*Server).s3HeadBucket
	case http.MethodDelete:
		return "DeleteBucket", (*Server).s3DeleteBucket
	case http.MethodGet:
		if req.q.Get("list-type") == "2" {
			return "ListObjectsV2", (*Server).s3ListObjectsV2
		}
		return "ListObjects", (*Server).s3ListObjects
	}
	return "", nil
}

// s3Err builds an S3 error with extra fields (BucketName, Key, ArgumentName, ...).
func s3Err(status int, code, msg string, fields ...[2]string) *apiError {
	return &apiError{Status: status, Code: code, Message: msg, S3Fields: fields}
}

func errNoSuchBucket(name string) *apiError {
	return s3Err(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist", [2]string{"BucketName", name})
}

func errMalformedXML() *apiError {
	return s3Err(http.StatusBadRequest, "MalformedXML",
		"The XML you provided was not well-formed or did not validate against our published schema")
}

// errInvalidArgument is S3's InvalidArgument, which names the offending argument.
func errInvalidArgument(msg, name, value string) *apiError {
	return s3Err(http.StatusBadRequest, "InvalidArgument", msg,
		[2]string{"ArgumentName", name}, [2]string{"ArgumentValue", value})
}

func errInvalidRequest(msg string) *apiError {
	return s3Err(http.StatusBadRequest, "InvalidRequest", msg)
}

// s3BucketARN and s3ObjectARN are the resource ARNs S3 authorizes against.
func s3BucketARN(name string) string      { return "arn:aws:s3:::" + name }
func s3ObjectARN(name, key string) string { return "arn:aws:s3:::" + name + "/" + key }

// s3CanonicalID is the simulated canonical user ID of an account: S3 reports owners by a
// 64-hex-digit ID, not the account number.
func s3CanonicalID(account string) string {
	sum := sha256.Sum256([]byte("localaws-canonical-user/" + account))
	return hex.EncodeToString(sum[:])
}

// s3Owner is the Owner element of listings.
type s3Owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName,omitempty"`
}

func ownerOf(account string) *s3Owner {
	return &s3Owner{ID: s3CanonicalID(account), DisplayName: account}
}

// s3Bucket finds the bucket a request addresses and applies S3's region rules: a request
// that reached the endpoint of another region gets 301 PermanentRedirect; one that reached
// the right endpoint but was signed for another region (or reached the global endpoint)
// gets 400 AuthorizationHeaderMalformed. Both carry x-amz-bucket-region, which is how
// HeadBucket (no body) reports the region. It takes s.mu itself and returns with it held
// when the bucket was found; on error the lock is released.
func (s *Server) s3Bucket(c *call, name string) (*bucket, *apiError) {
	s.mu.Lock()
	b := s.buckets[name]
	if b == nil {
		s.mu.Unlock()
		return nil, errNoSuchBucket(name)
	}
	if err := s3RegionCheck(c, b); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if owner := c.r.Header.Get("x-amz-expected-bucket-owner"); owner != "" && owner != b.account {
		s.mu.Unlock()
		return nil, errAccessDenied("Access Denied")
	}
	return b, nil
}

// s3AuthorizedBucket resolves the request's bucket and authorizes action on the bucket ARN
// with the condition keys ctx. On success it returns with s.mu held, as s3Bucket does, and
// the caller unlocks; on failure it has failed the call, released the lock and returns nil.
// Most bucket handlers open this way, and one opening keeps the order of lookup, region
// check and authorization the same for all of them.
func (s *Server) s3AuthorizedBucket(c *call, req *s3Request, action string, ctx map[string][]string) *bucket {
	b, err := s.s3Bucket(c, req.bucket)
	if err != nil {
		c.fail(err)
		return nil
	}
	if err := s.s3Authorize(c, b, action, s3BucketARN(b.name), ctx); err != nil {
		s.mu.Unlock()
		c.fail(err)
		return nil
	}
	return b
}

// s3RegionCheck returns S3's error for a request signed for, or sent to, a region other
// than the bucket's.
func s3RegionCheck(c *call, b *bucket) *apiError {
	if c.region == b.region {
		if ep := s3EndpointRegion(c); ep == b.region || ep == "global" && b.region == "us-east-1" {
			return nil
		}
	}
	c.w.Header().Set("x-amz-bucket-region", b.region)
	ep := s3EndpointRegion(c)
	if ep != "global" && ep != b.region {
		return s3Err(http.StatusMovedPermanently, "PermanentRedirect",
			"The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.",
			[2]string{"Endpoint", b.name + ".s3." + b.region + ".amazonaws.com"}, [2]string{"Bucket", b.name})
	}
	return s3Err(http.StatusBadRequest, "AuthorizationHeaderMalformed",
		"The authorization header is malformed; the region '"+c.region+"' is wrong; expecting '"+b.region+"'",
		[2]string{"Region", b.region})
}

// s3Authorize checks action on resource of bucket b (nil for account-level actions such as
// CreateBucket and ListBuckets) with the bucket policy as the resource policy. The caller
// holds s.mu.
func (s *Server) s3Authorize(c *call, b *bucket, action, resource string, extra map[string][]string) *apiError {
	ctx := c.requestContext()
	for k, v := range extra {
		ctx[k] = v
	}
	a := authRequest{p: c.p, action: action, resource: resource, resourceAccount: c.p.account, context: ctx}
	if b != nil {
		a.resourcePolicy, a.resourceAccount = b.policy, b.account
		// s3:ResourceAccount is the bucket owner's account (S3's condition keys, Service
		// Authorization Reference), so a policy can pin access to buckets of known accounts.
		ctx["s3:ResourceAccount"] = []string{b.account}
	}
	return s.authorize(a)
}

// s3ReadBody reads a request body, decoding aws-chunked content encoding, and returns the
// trailing headers aws-chunked bodies carry (checksums).
func s3ReadBody(c *call) ([]byte, map[string]string, *apiError) {
	if c.r.Body == nil {
		return nil, nil, nil
	}
	raw, err := io.ReadAll(c.r.Body)
	if err != nil {
		return nil, nil, s3Err(http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header: "+err.Error())
	}
	if !s3IsChunked(c.r) {
		return raw, nil, nil
	}
	body, trailers, aerr := s3DecodeChunked(raw)
	if aerr != nil {
		return nil, nil, aerr
	}
	if dl := c.r.Header.Get("x-amz-decoded-content-length"); dl != "" && dl != strconv.Itoa(len(body)) {
		return nil, nil, s3Err(http.StatusBadRequest, "IncompleteBody",
			"You did not provide the number of bytes specified by the x-amz-decoded-content-length HTTP header")
	}
	return body, trailers, nil
}

// s3DecodeXML parses a configuration body into v; S3 answers MalformedXML to anything it
// cannot parse, including an empty body.
func s3DecodeXML(body []byte, v any) *apiError {
	if len(strings.TrimSpace(string(body))) == 0 {
		return errMalformedXML()
	}
	if err := xml.Unmarshal(body, v); err != nil {
		return errMalformedXML()
	}
	return nil
}

// s3Status maps a status string of an XML configuration to a bool, rejecting anything
// other than Enabled and Disabled as S3's schema does.
func s3Status(v string) (enabled bool, ok bool) {
	switch v {
	case "Enabled":
		return true, true
	case "Disabled":
		return false, true
	}
	return false, false
}

func s3StatusString(enabled bool) string {
	if enabled {
		return "Enabled"
	}
	return "Disabled"
}

// s3BucketNameFromARN returns the bucket name of arn:aws:s3:::name, or the input when it is
// not a bucket ARN.
func s3BucketNameFromARN(arn string) string {
	if name, ok := strings.CutPrefix(arn, "arn:aws:s3:::"); ok {
		return name
	}
	return arn
}
