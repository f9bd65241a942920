package localaws

import (
	"encoding/xml"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Bucket lifecycle: CreateBucket, HeadBucket, GetBucketLocation, DeleteBucket, ListBuckets.

// s3RegionPattern is the shape of an AWS region name, e.g. ap-south-1, us-gov-west-1.
var s3RegionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)

// s3BucketNamePattern is S3's general purpose bucket naming rule: 3-63 characters of
// lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit.
var s3BucketNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// s3ValidBucketName applies S3's naming rules for general purpose buckets.
func s3ValidBucketName(name string) bool {
	if !s3BucketNamePattern.MatchString(name) || strings.Contains(name, "..") ||
		strings.Contains(name, ".-") || strings.Contains(name, "-.") || net.ParseIP(name) != nil {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, suf := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, suf) {
			return false
		}
	}
	return true
}

type s3CreateBucketConfiguration struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	LocationConstraint string   `xml:"LocationConstraint"`
}

// s3CreateBucket is CreateBucket. The bucket's region is the region the request was sent
// to: outside us-east-1 the body must say the same LocationConstraint, and us-east-1 takes
// no LocationConstraint at all, as S3's regional endpoints require. New buckets get what
// S3 gives them since April 2023: Block Public Access on and ObjectOwnership
// BucketOwnerEnforced (ACLs disabled), unless x-amz-object-ownership says otherwise.
func (s *Server) s3CreateBucket(c *call, req *s3Request) {
	name := req.bucket
	if !s3ValidBucketName(name) {
		c.fail(s3Err(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.", [2]string{"BucketName", name}))
		return
	}
	body, _, aerr := s3ReadBody(c)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	var cfg s3CreateBucketConfiguration
	if len(strings.TrimSpace(string(body))) > 0 {
		if aerr := s3DecodeXML(body, &cfg); aerr != nil {
			c.fail(aerr)
			return
		}
	}
	lc := strings.TrimSpace(cfg.LocationConstraint)
	if lc == "EU" {
		lc = "eu-west-1" // the legacy name S3 still accepts
	}
	region := c.region
	switch {
	case lc == "us-east-1" || lc != "" && !s3RegionPattern.MatchString(lc):
		c.fail(s3Err(http.StatusBadRequest, "InvalidLocationConstraint", "The specified location-constraint is not valid",
			[2]string{"LocationConstraint", cfg.LocationConstraint}))
		return
	case lc == "" && region != "us-east-1":
		c.fail(s3Err(http.StatusBadRequest, "IllegalLocationConstraintException",
			"The unspecified location constraint is incompatible for the region specific endpoint this request was sent to."))
		return
	case lc != "" && lc != region:
		c.fail(s3Err(http.StatusBadRequest, "IllegalLocationConstraintException",
			"The "+lc+" location constraint is incompatible for the region specific endpoint this request was sent to."))
		return
	}

	ownership := "BucketOwnerEnforced"
	if o := c.r.Header.Get("x-amz-object-ownership"); o != "" {
		if !s3ValidOwnership(o) {
			c.fail(errInvalidArgument("Invalid x-amz-object-ownership header: "+o, "x-amz-object-ownership", o))
			return
		}
		ownership = o
	}
	if acl := c.r.Header.Get("x-amz-acl"); acl != "" && acl != "private" && acl != "bucket-owner-full-control" && ownership == "BucketOwnerEnforced" {
		c.fail(errInvalidRequest("Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"))
		return
	}
	lock := strings.EqualFold(c.r.Header.Get("x-amz-bucket-object-lock-enabled"), "true")

	s.mu.Lock()
	defer s.mu.Unlock()
	// CreateBucket needs more than s3:CreateBucket for some headers ([S3API]
	// CreateBucket, Permissions): Object Lock also needs s3:PutBucketObjectLockConfiguration
	// and s3:PutBucketVersioning, and x-amz-object-ownership needs
	// s3:PutBucketOwnershipControls.
	actions := []string{"s3:CreateBucket"}
	if lock {
		actions = append(actions, "s3:PutBucketObjectLockConfiguration", "s3:PutBucketVersioning")
	}
	if c.r.Header.Get("x-amz-object-ownership") != "" {
		actions = append(actions, "s3:PutBucketOwnershipControls")
	}
	for _, action := range actions {
		if err := s.s3Authorize(c, nil, action, s3BucketARN(name), nil); err != nil {
			c.fail(err)
			return
		}
	}
	if b := s.buckets[name]; b != nil {
		if b.account != c.p.account {
			c.fail(s3Err(http.StatusConflict, "BucketAlreadyExists",
				"The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
				[2]string{"BucketName", name}))
			return
		}
		// S3 keeps a legacy exception for us-east-1: re-creating your own bucket there
		// succeeds. Everywhere else it is BucketAlreadyOwnedByYou.
		if b.region == "us-east-1" && region == "us-east-1" {
			c.w.Header().Set("Location", "/"+name)
			c.writeEmpty(http.StatusOK)
			return
		}
		c.fail(s3Err(http.StatusConflict, "BucketAlreadyOwnedByYou",
			"Your previous request to create the named bucket succeeded and you already own it.", [2]string{"BucketName", name}))
		return
	}
	b := &bucket{
		name: name, account: c.p.account, region: region, created: s.now().UTC(),
		ownership:         ownership,
		publicAccessBlock: &publicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true},
		objects:           map[string][]*objectVersion{},
	}
	if lock {
		b.objectLockEnabled, b.versioning = true, "Enabled"
	}
	s.buckets[name] = b
	c.w.Header().Set("Location", "/"+name)
	c.writeEmpty(http.StatusOK)
}

func s3ValidOwnership(o string) bool {
	switch o {
	case "BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter":
		return true
	}
	return false
}

// s3HeadBucket is HeadBucket: 200, 301 (wrong region), 403 or 404, never a body; the
// region comes in x-amz-bucket-region.
func (s *Server) s3HeadBucket(c *call, req *s3Request) {
	b, err := s.s3Bucket(c, req.bucket)
	if err != nil {
		c.fail(err)
		return
	}
	defer s.mu.Unlock()
	c.w.Header().Set("x-amz-bucket-region", b.region)
	if err := s.s3Authorize(c, b, "s3:ListBucket", s3BucketARN(b.name), nil); err != nil {
		c.fail(err)
		return
	}
	c.w.Header().Set("x-amz-access-point-alias", "false")
	c.writeEmpty(http.StatusOK)
}

type s3LocationConstraint struct {
	XMLName xml.Name `xml:"LocationConstraint"`
	Xmlns   string   `xml:"xmlns,attr"`
	Region  string   `xml:",chardata"`
}

// s3GetBucketLocation is GetBucketLocation. It is how clients discover a bucket's region,
// so it answers whatever region the request was signed for; us-east-1 is reported empty.
func (s *Server) s3GetBucketLocation(c *call, req *s3Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[req.bucket]
	if b == nil {
		c.fail(errNoSuchBucket(req.bucket))
		return
	}
	if err := s.s3Authorize(c, b, "s3:GetBucketLocation", s3BucketARN(b.name), nil); err != nil {
		c.fail(err)
		return
	}
	out := s3LocationConstraint{Xmlns: s3NS, Region: b.region}
	if b.region == "us-east-1" {
		out.Region = ""
	}
	c.writeXML(out)
}

// s3DeleteBucket is DeleteBucket; a bucket with any object version or delete marker left
// is not empty.
func (s *Server) s3DeleteBucket(c *call, req *s3Request) {
	b := s.s3AuthorizedBucket(c, req, "s3:DeleteBucket", nil)
	if b == nil {
		return
	}
	defer s.mu.Unlock()
	for _, versions := range b.objects {
		if len(versions) > 0 {
			msg := "The bucket you tried to delete is not empty"
			if b.versioning != "" {
				msg += ". You must delete all versions in the bucket."
			}
			c.fail(s3Err(http.StatusConflict, "BucketNotEmpty", msg, [2]string{"BucketName", b.name}))
			return
		}
	}
	delete(s.buckets, b.name)
	c.writeEmpty(http.StatusNoContent)
}

type s3ListAllMyBucketsResult struct {
	XMLName           xml.Name        `xml:"ListAllMyBucketsResult"`
	Xmlns             string          `xml:"xmlns,attr"`
	Owner             *s3Owner        `xml:"Owner"`
	Buckets           []s3BucketEntry `xml:"Buckets>Bucket"`
	Prefix            string          `xml:"Prefix,omitempty"`
	ContinuationToken string          `xml:"ContinuationToken,omitempty"`
}

type s3BucketEntry struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
	BucketRegion string `xml:"BucketRegion"`
}

// s3ListBuckets is ListBuckets: the caller's account's buckets in every region, by name
// (prefix and bucket-region filters supported).
func (s *Server) s3ListBuckets(c *call, req *s3Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.s3Authorize(c, nil, "s3:ListAllMyBuckets", "arn:aws:s3:::*", nil); err != nil {
		c.fail(err)
		return
	}
	prefix, region := req.q.Get("prefix"), req.q.Get("bucket-region")
	out := s3ListAllMyBucketsResult{Xmlns: s3NS, Owner: ownerOf(c.p.account), Prefix: prefix, Buckets: []s3BucketEntry{}}
	for _, b := range s.buckets {
		if b.account != c.p.account || !strings.HasPrefix(b.name, prefix) || region != "" && b.region != region {
			continue
		}
		out.Buckets = append(out.Buckets, s3BucketEntry{Name: b.name, CreationDate: s3Time(b.created), BucketRegion: b.region})
	}
	sort.Slice(out.Buckets, func(i, j int) bool { return out.Buckets[i].Name < out.Buckets[j].Name })
	c.writeXML(out)
}

// s3Time formats a timestamp as S3's XML documents do.
func s3Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
