package localaws

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"

	"github.com/s3crr/s3crr/internal/localaws/authz"
)

// Bucket configuration subresources: versioning, Block Public Access, ownership controls,
// bucket policy, default encryption, tagging and Object Lock.

// s3WithBucket resolves the request's bucket, authorizes action on the bucket ARN and runs
// fn with s.mu held. Handlers read request bodies before calling it, so a slow client never
// holds the lock.
func (s *Server) s3WithBucket(c *call, req *s3Request, action string, fn func(b *bucket)) {
	b := s.s3AuthorizedBucket(c, req, action, nil)
	if b == nil {
		return
	}
	defer s.mu.Unlock()
	fn(b)
}

// s3ReadConfig reads a configuration body and decodes it into v.
func s3ReadConfig(c *call, v any) bool {
	body, _, err := s3ReadBody(c)
	if err == nil {
		err = s3DecodeXML(body, v)
	}
	if err != nil {
		c.fail(err)
		return false
	}
	return true
}

// ---- Versioning ----

type s3VersioningConfiguration struct {
	XMLName   xml.Name `xml:"VersioningConfiguration"`
	Xmlns     string   `xml:"xmlns,attr,omitempty"`
	Status    string   `xml:"Status,omitempty"`
	MFADelete string   `xml:"MFADelete,omitempty"`
}

func (s *Server) s3GetBucketVersioning(c *call, req *s3Request) {
	s.s3WithBucket(c, req, "s3:GetBucketVersioning", func(b *bucket) {
		c.writeXML(s3VersioningConfiguration{Xmlns: s3NS, Status: b.versioning})
	})
}

// s3PutBucketVersioning is PutBucketVersioning. MFADelete is accepted and ignored (the
// simulator has no MFA devices); versioning cannot be suspended on an Object Lock bucket.
func (s *Server) s3PutBucketVersioning(c *call, req *s3Request) {
	var in s3VersioningConfiguration
	if !s3ReadConfig(c, &in) {
		return
	}
	if in.Status != "Enabled" && in.Status != "Suspended" {
		c.fail(errMalformedXML())
		return
	}
	if in.MFADelete != "" && in.MFADelete != "Enabled" && in.MFADelete != "Disabled" {
		c.fail(errMalformedXML())
		return
	}
	s.s3WithBucket(c, req, "s3:PutBucketVersioning", func(b *bucket) {
		if b.objectLockEnabled && in.Status != "Enabled" {
			c.fail(s3Err(http.StatusConflict, "InvalidBucketState",
				"An Object Lock configuration is present on this bucket, so the versioning state cannot be changed."))
			return
		}
		b.versioning = in.Status
		c.writeEmpty(http.StatusOK)
	})
}

// ---- Block Public Access ----

type s3PublicAccessBlockConfiguration struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration"`
	Xmlns                 string   `xml:"xmlns,attr,omitempty"`
	BlockPublicAcls       bool     `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool     `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool     `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool     `xml:"RestrictPublicBuckets"`
}

func (s *Server) s3GetPublicAccessBlock(c *call, req *s3Request) {
	s.s3WithBucket(c, req, "s3:GetBucketPublicAccessBlock", func(b *bucket) {
		if b.publicAccessBlock == nil {
			c.fail(s3Err(http.StatusNotFound, "NoSuchPublicAccessBlockConfiguration",
				"The public access block configuration was not found", [2]string{"BucketName", b.name}))
			return
		}
		p := b.publicAccessBlock
		c.writeXML(s3PublicAccessBlockConfiguration{Xmlns: s3NS, BlockPublicAcls: p.BlockPublicAcls,
			IgnorePublicAcls: p.IgnorePublicAcls, BlockPublicPolicy: p.BlockPublicPolicy, RestrictPublicBuckets: p.RestrictPublicBuckets})
	})
}

func (s *Server) s3PutPublicAccessBlock(c *call, req *s3Request) {
	var in s3PublicAccessBlockConfiguration
	if !s3ReadConfig(c, &in) {
		return
	}
	s.s3WithBucket(c, req, "s3:PutBucketPublicAccessBlock", func(b *bucket) {
		b.publicAccessBlock = &publicAccessBlock{BlockPublicAcls: in.BlockPublicAcls, IgnorePublicAcls: in.IgnorePublicAcls,
			BlockPublicPolicy: in.BlockPublicPolicy, RestrictPublicBuckets: in.RestrictPublicBuckets}
		c.writeEmpty(http.StatusOK)
	})
}

func (s *Server) s3DeletePublicAccessBlock(c *call, req *s3Request) {
	s.s3WithBucket(c, req, "s3:PutBucketPublicAccessBlock", func(b *bucket) {
		b.publicAccessBlock = nil
		c.writeEmpty(http.StatusNoContent)
	})
}

// ---- Ownership controls ----

type s3OwnershipControls struct {
	XMLName xml.Name `xml:"OwnershipControls"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Rules   []struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	} `xml:"Rule"`
}

func (s *Server) s3GetOwnershipControls(c *call, req *s3Request) {
	s.s3WithBucket(c, req, "s3:GetBucketOwnershipControls", func(b *bucket) {
		if b.ownership == "" {
			c.fail(s3Err(http.StatusNotFound, "OwnershipControlsNotFoundError",
				"The bucket ownership controls were not found", [2]string{"BucketName", b.name}))
			return
		}
		out := s3OwnershipControls{Xmlns: s3NS}
		out.Rules = append(out.Rules, struct {
			ObjectOwnership string `xml:"ObjectOwnership"`
		}{b.ownership})
		c.writeXML(out)
	})
}

func (s *Server) s3PutOwnershipControls(c *call, req *s3Request) {
	var in s3OwnershipControls
	if !s3ReadConfig(c, &in) {
		return
	}
	if len(in.Rules) != 1 || !s3ValidOwnership(in.Rules[0].ObjectOwnership) {
		c.fail(errMalformedXML())
		return
	}
	s.s3WithBucket(c, req, "s3:PutBucketOwnershipControls", func(b *bucket) {
		b.ownership = in.Rules[0].ObjectOwnership
		c.writeEmpty(http.StatusOK)
	})
}

func (s *Server) s3DeleteOwnershipControls(c *call, req *s3Request) {
	s.s3WithBucket(c, req, "s3:PutBucketOwnershipControls", func(b *bucket) {
		b.ownership = ""
		c.writeEmpty(http.StatusNoContent)
	})
}

// ---- Bucket policy ----

// s3PolicyOwnerBypass reports whether the caller is the root user of the bucket owner's
// account, whom S3 always lets manage the bucket policy so that a policy denying
// everything cannot lock the owner out.
func s3PolicyOwnerBypass(c *call, b *bucket) bool {
	return c.p.isRoot && c.p.account == b.account
}

func (s *Server) s3PolicyBucket(c *call, req *s3Request, action string, fn func(b *bucket)) {
	b, err := s.s3Bucket(c, req.bucket)
	if err != nil {
		c.fail(err)
		return
	}
	defer s.mu.Unlock()
	if !s3PolicyOwnerBypass(c, b) {
		if err := s.s3Authorize(c, b, action, s3BucketARN(b.name), nil); err != nil {
			c.fail(err)
			return
		}
	}
	fn(b)
}

func (s *Server) s3GetBucketPolicy(c *call, req *s3Request) {
	s.s3PolicyBucket(c, req, "s3:GetBucketPolicy", func(b *bucket) {
		if b.policy == nil {
			c.fail(s3Err(http.StatusNotFound, "NoSuchBucketPolicy", "The bucket policy does not exist", [2]string{"BucketName", b.name}))
			return
		}
		c.wrote = true
		c.w.Header().Set("Content-Type", "application/json")
		c.w.WriteHeader(http.StatusOK)
		_, _ = c.w.Write([]byte(b.policyDoc))
	})
}

// s3StoredPolicy is a bucket policy as S3 keeps it and GetBucketPolicy returns it: not
// byte for byte what was put. S3 rewrites an account-ID principal to the account's root
// ARN (terraform-provider-aws#286 documents the resulting diffs) and drops the whitespace,
// so code that reads a policy back must compare documents by meaning, not by text. The
// document has already been parsed; if re-encoding fails it is kept as written.
func s3StoredPolicy(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return string(body)
	}
	statements, _ := doc["Statement"].([]any)
	if st, ok := doc["Statement"].(map[string]any); ok {
		statements = []any{st}
	}
	for _, raw := range statements {
		st, _ := raw.(map[string]any)
		principal, _ := st["Principal"].(map[string]any)
		switch aws := principal["AWS"].(type) {
		case string:
			principal["AWS"] = s3RootARNForAccount(aws)
		case []any:
			for i, v := range aws {
				if id, ok := v.(string); ok {
					aws[i] = s3RootARNForAccount(id)
				}
			}
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return string(body)
	}
	return string(out)
}

// s3RootARNForAccount turns a bare account ID into its root ARN; other names pass.
func s3RootARNForAccount(name string) string {
	if accountIDPattern.MatchString(name) {
		return rootARN(name)
	}
	return name
}

// s3MaxBucketPolicyBytes is S3's bucket policy size limit, 20 KB.
const s3MaxBucketPolicyBytes = 20 * 1024

// s3PutBucketPolicy is PutBucketPolicy: the document must parse, be a resource policy,
// name only S3 actions and this bucket's resources, and name principals that exist and
// have propagated (a role created moments ago is "Invalid principal in policy" until the
// propagation window passes, as in AWS). With BlockPublicPolicy on, public grants are
// refused.
func (s *Server) s3PutBucketPolicy(c *call, req *s3Request) {
	body, _, aerr := s3ReadBody(c)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	if len(body) == 0 || strings.TrimSpace(string(body))[0] != '{' {
		c.fail(s3Err(http.StatusBadRequest, "MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'"))
		return
	}
	pol, err := authz.Parse(body)
	if err != nil {
		c.fail(s3Err(http.StatusBadRequest, "MalformedPolicy", err.Error()))
		return
	}
	// S3 limits a bucket policy to 20 KB; whitespace is not counted (a team reading:
	// docs/aws-facts.md#F-POLICY-SIZE-LIMITS).
	var compact bytes.Buffer
	if json.Compact(&compact, body) == nil && compact.Len() > s3MaxBucketPolicyBytes {
		c.fail(s3Err(http.StatusBadRequest, "PolicyTooLarge", "Policy exceeds the maximum allowed document size."))
		return
	}
	if err := pol.CheckKind(authz.KindResource); err != nil {
		c.fail(s3Err(http.StatusBadRequest, "MalformedPolicy", err.Error()))
		return
	}
	s.s3PolicyBucket(c, req, "s3:PutBucketPolicy", func(b *bucket) {
		if aerr := s.s3ValidatePolicy(b, pol); aerr != nil {
			c.fail(aerr)
			return
		}
		if b.publicAccessBlock != nil && b.publicAccessBlock.BlockPublicPolicy && s3PolicyIsPublic(pol) {
			c.fail(errAccessDenied("User: " + c.p.arn + " is not authorized to perform: s3:PutBucketPolicy on resource: \"" +
				s3BucketARN(b.name) + "\" because public policies are blocked by the BlockPublicPolicy block public access setting."))
			return
		}
		b.policyDoc, b.policy = s3StoredPolicy(body), pol
		c.writeEmpty(http.StatusNoContent)
	})
}

// s3ValidatePolicy checks what S3 checks when a bucket policy is stored. The caller holds
// s.mu.
func (s *Server) s3ValidatePolicy(b *bucket, pol *authz.Policy) *apiError {
	malformed := func(msg string) *apiError { return s3Err(http.StatusBadRequest, "MalformedPolicy", msg) }
	for _, st := range pol.Statements {
		for _, a := range append(append([]string(nil), st.Actions...), st.NotActions...) {
			if a != "*" && !strings.HasPrefix(strings.ToLower(a), "s3:") {
				return malformed("Policy has invalid action")
			}
		}
		for _, r := range append(append([]string(nil), st.Resources...), st.NotResources...) {
			if !s3PolicyResourceInBucket(r, b.name) {
				return malformed("Policy has invalid resource")
			}
		}
	}
	for _, name := range pol.PrincipalARNs() {
		if !s.principalVisible(name) {
			return malformed("Invalid principal in policy")
		}
	}
	for _, svc := range pol.ServicePrincipals() {
		if !strings.HasSuffix(svc, ".amazonaws.com") && !strings.HasSuffix(svc, ".amazonaws.com.cn") {
			return malformed("Invalid principal in policy")
		}
	}
	return nil
}

// s3PolicyResourceInBucket reports whether a policy resource refers to the bucket or its
// objects, which S3 requires of every resource in a bucket's policy.
func s3PolicyResourceInBucket(resource, bucket string) bool {
	arn := s3BucketARN(bucket)
	if rest, ok := strings.CutPrefix(resource, arn); ok {
		return rest == "" || strings.HasPrefix(rest, "/")
	}
	if strings.ContainsAny(resource, "*?") {
		return authz.WildcardMatch(resource, arn) || authz.WildcardMatch(resource, arn+"/x")
	}
	return false
}

// s3RestrictingKeys are the condition keys that make a grant to everyone non-public in
// S3's Block Public Access sense (values without wildcards).
var s3RestrictingKeys = map[string]bool{
	"aws:sourcearn": true, "aws:sourceaccount": true, "aws:sourceowner": true, "aws:sourcevpc": true,
	"aws:sourcevpce": true, "aws:principalaccount": true, "aws:principalarn": true, "aws:principalorgid": true,
	"aws:principalorgpaths": true, "aws:sourceorgid": true, "aws:sourceorgpaths": true, "aws:userid": true,
	"aws:sourceip": true, "s3:dataaccesspointaccount": true, "s3:dataaccesspointarn": true,
}

// s3PolicyIsPublic reports whether a policy grants access to everyone: an Allow statement
// whose principal is "*" (or AWS "*") and none of whose conditions pins a restricting key
// to fixed values. aws:SecureTransport does not restrict who, so it does not count.
func s3PolicyIsPublic(pol *authz.Policy) bool {
	for _, st := range pol.Statements {
		if st.Effect != authz.Allow || st.Principal == nil {
			continue
		}
		everyone := st.Principal.Wildcard
		for _, a := range st.Principal.AWS {
			everyone = everyone || a == "*"
		}
		if !everyone {
			continue
		}
		restricted := false
		for _, cond := range st.Conditions {
			if !s3RestrictingKeys[strings.ToLower(cond.Key)] || strings.Contains(strings.ToLower(cond.Operator), "not") {
				continue
			}
			fixed := len(cond.Values) > 0
			for _, v := range cond.Values {
				if strings.ContainsAny(v, "*?") {
					fixed = false
				}
			}
			restricted = restricted || fixed
		}
		if !restricted {
			return true
		}
	}
	return false
}

func (s *Server) s3DeleteBucketPolicy(c *call, req *s3Request) {
	s.s3PolicyBucket(c, req, "s3:DeleteBucketPolicy", func(b *bucket) {
		b.policyDoc, b.policy = "", nil
		c.writeEmpty(http.StatusNoContent)
	})
}

// ---- Default encryption ----

type s3ServerSideEncryptionConfiguration struct {
	XMLName xml.Name    `xml:"ServerSideEncryptionConfiguration"`
	Xmlns   string      `xml:"xmlns,attr,omitempty"`
	Rules   []s3SSERule `xml:"Rule"`
}

type s3SSERule struct {
	Default *struct {
		SSEAlgorithm   string `xml:"SSEAlgorithm"`
		KMSMasterKeyID string `xml:"KMSMasterKeyID,omitempty"`
	} `xml:"ApplyServerSideEncryptionByDefault"`
	BucketKeyEnabled *bool `xml:"BucketKeyEnabled"`
}

// s3GetBucketEncryption is GetBucketEncryption. Since January 2023 every bucket has
// default encryption (SSE-S3 unless configured otherwise), so S3 never answers
// ServerSideEncryptionConfigurationNotFoundError for a current bucket, and neither does the
// simulator.
func (s *Server) s3GetBucketEncryption(c *call, req *s3Request) {
	s.s3WithBucket(c, req, "s3:GetEncryptionConfiguration", func(b *bucket) {
		enc := b.encryption
		if enc == nil {
			enc = &bucketEncryption{algorithm: "AES256"}
		}
		rule := s3SSERule{BucketKeyEnabled: &enc.bucketKeyEnabled}
		rule.Default = &struct {
			SSEAlgorithm   string `xml:"SSEAlgorithm"`
			KMSMasterKeyID string `xml:"KMSMasterKeyID,omitempty"`
		}{enc.algorithm, enc.kmsKeyID}
		c.writeXML(s3ServerSideEncryptionConfiguration{Xmlns: s3NS, Rules: []s3SSERule{rule}})
	})
}

// s3PutBucketEncryption is PutBucketEncryption. The KMS key is stored as written and not
// resolved: S3 checks it only when objects are written.
func (s *Server) s3PutBucketEncryption(c *call, req *s3Request) {
	var in s3ServerSideEncryptionConfiguration
	if !s3ReadConfig(c, &in) {
		return
	}
	if len(in.Rules) != 1 || in.Rules[0].Default == nil {
		c.fail(errMalformedXML())
		return
	}
	d := in.Rules[0].Default
	switch d.SSEAlgorithm {
	case "AES256", "aws:kms", "aws:kms:dsse":
	default:
		c.fail(errMalformedXML())
		return
	}
	if d.KMSMasterKeyID != "" && !s3IsKMS(d.SSEAlgorithm) {
		c.fail(errInvalidArgument("a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
			"ApplyServerSideEncryptionByDefault", ""))
		return
	}
	enc := &bucketEncryption{algorithm: d.SSEAlgorithm, kmsKeyID: d.KMSMasterKeyID}
	if in.Rules[0].BucketKeyEnabled != nil {
		enc.bucketKeyEnabled = *in.Rules[0].BucketKeyEnabled
	}
	s.s3WithBucket(c, req, "s3:PutEncryptionConfiguration", func(b *bucket) {
		b.encryption = enc
		c.writeEmpty(http.StatusOK)
	})
}

// s3DeleteBucketEncryption resets default encryption to SSE-S3, as S3 does.
func (s *Server) s3DeleteBucketEncryption(c *call, req *s3Request) {
	s.s3WithBucket(c, req, "s3:PutEncryptionConfiguration", func(b *bucket) {
		b.encryption = nil
		c.writeEmpty(http.StatusNoContent)
	})
}

// ---- Tagging ----

type s3Tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	TagSet  []s3Tag  `xml:"TagSet>Tag"`
}

type s3Tag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// s3ValidateTags applies S3's tag rules and returns the tags as a map.
func s3ValidateTags(tags []s3Tag, max int) (map[string]string, *apiError) {
	out := map[string]string{}
	if len(tags) > max {
		return nil, s3Err(http.StatusBadRequest, "InvalidTag", "Object tags cannot be greater than "+strconv.Itoa(max))
	}
	for _, t := range tags {
		if len(t.Key) == 0 || len(t.Key) > 128 {
			return nil, s3Err(http.StatusBadRequest, "InvalidTag", "The TagKey you have provided is invalid")
		}
		if len(t.Value) > 256 {
			return nil, s3Err(http.StatusBadRequest, "InvalidTag", "The TagValue you have provided is invalid")
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return nil, s3Err(http.StatusBadRequest, "InvalidTag", "System tags cannot be added/updated by requester")
		}
		if _, dup := out[t.Key]; dup {
			return nil, s3Err(http.StatusBadRequest, "InvalidTag", "Cannot provide multiple Tags with the same key")
		}
		out[t.Key] = t.Value
	}
	return out, nil
}

func s3TagList(m map[string]string) []s3Tag {
	out := make([]s3Tag, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, s3Tag{Key: k, Value: m[k]})
	}
	return out
}

func (s *Server) s3GetBucketTagging(c *call, req *s3Request) {
	s.s3WithBucket(c, req, "s3:GetBucketTagging", func(b *bucket) {
		if len(b.tags) == 0 {
			c.fail(s3Err(http.StatusNotFound, "NoSuchTagSet", "The TagSet does not exist", [2]string{"BucketName", b.name}))
			return
		}
		c.writeXML(s3Tagging{Xmlns: s3NS, TagSet: s3TagList(b.tags)})
	})
}

func (s *Server) s3PutBucketTagging(c *call, req *s3Request) {
	var in s3Tagging
	if !s3ReadConfig(c, &in) {
		return
	}
	tags, aerr := s3ValidateTags(in.TagSet, 50)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	s.s3WithBucket(c, req, "s3:PutBucketTagging", func(b *bucket) {
		b.tags = tags
		c.writeEmpty(http.StatusNoContent)
	})
}

func (s *Server) s3DeleteBucketTagging(c *call, req *s3Request) {
	s.s3WithBucket(c, req, "s3:PutBucketTagging", func(b *bucket) {
		b.tags = nil
		c.writeEmpty(http.StatusNoContent)
	})
}

// ---- Object Lock ----

type s3ObjectLockConfiguration struct {
	XMLName           xml.Name `xml:"ObjectLockConfiguration"`
	Xmlns             string   `xml:"xmlns,attr"`
	ObjectLockEnabled string   `xml:"ObjectLockEnabled"`
}

// s3GetObjectLockConfiguration is GetObjectLockConfiguration; the simulator keeps no
// default retention, only whether Object Lock was enabled at creation.
func (s *Server) s3GetObjectLockConfiguration(c *call, req *s3Request) {
	s.s3WithBucket(c, req, "s3:GetBucketObjectLockConfiguration", func(b *bucket) {
		if !b.objectLockEnabled {
			c.fail(s3Err(http.StatusNotFound, "ObjectLockConfigurationNotFoundError",
				"Object Lock configuration does not exist for this bucket", [2]string{"BucketName", b.name}))
			return
		}
		c.writeXML(s3ObjectLockConfiguration{Xmlns: s3NS, ObjectLockEnabled: "Enabled"})
	})
}
