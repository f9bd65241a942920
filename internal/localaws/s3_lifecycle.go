package localaws

import (
	"encoding/xml"
	"fmt"
	"net/http"
)

// Bucket lifecycle configuration (docs/aws-facts.md#F-S3-LIFECYCLE): stored and
// validated as S3 documents it, never acted on. The simulator does not expire,
// transition or abort anything: a test that needs an object gone deletes it.

// s3LifecycleMaxRules is S3's limit on the rules of one configuration ("up to 1,000
// rules. This limit is not adjustable").
const s3LifecycleMaxRules = 1000

type s3LifecycleConfiguration struct {
	XMLName xml.Name          `xml:"LifecycleConfiguration"`
	Rules   []s3LifecycleRule `xml:"Rule"`
}

// s3LifecycleOutput is GetBucketLifecycleConfiguration's body: the rules as they were put.
type s3LifecycleOutput struct {
	XMLName xml.Name   `xml:"LifecycleConfiguration"`
	Xmlns   string     `xml:"xmlns,attr"`
	Rules   []s3RawXML `xml:"Rule"`
}

// s3RawXML is an element written back exactly as it was read.
type s3RawXML struct {
	Inner string `xml:",innerxml"`
}

// s3LifecycleRule keeps the rule's XML as sent (Inner), so Get returns every element,
// including those the simulator does not look at, and parses what it validates.
type s3LifecycleRule struct {
	Inner  string `xml:",innerxml"`
	ID     string `xml:"ID"`
	Status string `xml:"Status"`
	Filter *struct {
		Prefix *string   `xml:"Prefix"`
		Tag    *struct{} `xml:"Tag"`
		And    *struct {
			Tags []struct{} `xml:"Tag"`
		} `xml:"And"`
	} `xml:"Filter"`
	Expiration *struct {
		Days                      *int    `xml:"Days"`
		Date                      *string `xml:"Date"`
		ExpiredObjectDeleteMarker *bool   `xml:"ExpiredObjectDeleteMarker"`
	} `xml:"Expiration"`
	Transitions                 []struct{} `xml:"Transition"`
	NoncurrentVersionTransition []struct{} `xml:"NoncurrentVersionTransition"`
	NoncurrentVersionExpiration *struct {
		NoncurrentDays *int `xml:"NoncurrentDays"`
	} `xml:"NoncurrentVersionExpiration"`
	AbortIncompleteMultipartUpload *struct {
		DaysAfterInitiation *int `xml:"DaysAfterInitiation"`
	} `xml:"AbortIncompleteMultipartUpload"`
}

// validate applies the constraints S3 documents for a rule; see F-S3-LIFECYCLE for
// which are documented and which error codes are the team's reading.
func (r s3LifecycleRule) validate() *apiError {
	if len(r.ID) > 255 {
		return errInvalidArgument("ID length should not exceed allowed limit of 255", "ID", r.ID)
	}
	if r.Status != "Enabled" && r.Status != "Disabled" {
		return errMalformedXML()
	}
	if r.Expiration == nil && len(r.Transitions) == 0 && len(r.NoncurrentVersionTransition) == 0 &&
		r.NoncurrentVersionExpiration == nil && r.AbortIncompleteMultipartUpload == nil {
		return errInvalidRequest("At least one action needs to be specified in a rule")
	}
	if e := r.Expiration; e != nil {
		if e.ExpiredObjectDeleteMarker != nil && (e.Days != nil || e.Date != nil) {
			return errMalformedXML() // "cannot be specified with Days or Date"
		}
		if e.Days != nil && *e.Days <= 0 {
			return errInvalidArgument("'Days' for Expiration action must be a positive integer", "Days", fmt.Sprint(*e.Days))
		}
		if e.Days == nil && e.Date == nil && e.ExpiredObjectDeleteMarker == nil {
			return errMalformedXML()
		}
	}
	if n := r.NoncurrentVersionExpiration; n != nil && (n.NoncurrentDays == nil || *n.NoncurrentDays <= 0) {
		return errInvalidArgument("'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer", "NoncurrentDays", "")
	}
	if a := r.AbortIncompleteMultipartUpload; a != nil {
		if a.DaysAfterInitiation == nil || *a.DaysAfterInitiation <= 0 {
			return errInvalidArgument("'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer", "DaysAfterInitiation", "")
		}
		if f := r.Filter; f != nil && (f.Tag != nil || (f.And != nil && len(f.And.Tags) > 0)) {
			return errInvalidRequest("AbortIncompleteMultipartUpload cannot be specified with Tags.")
		}
	}
	return nil
}

func (s *Server) s3GetBucketLifecycle(c *call, req *s3Request) {
	s.s3WithBucket(c, req, "s3:GetLifecycleConfiguration", func(b *bucket) {
		if len(b.lifecycle) == 0 {
			c.fail(s3Err(http.StatusNotFound, "NoSuchLifecycleConfiguration",
				"The lifecycle configuration does not exist", [2]string{"BucketName", b.name}))
			return
		}
		out := s3LifecycleOutput{Xmlns: s3NS}
		for _, r := range b.lifecycle {
			out.Rules = append(out.Rules, s3RawXML{Inner: r})
		}
		c.writeXML(out)
	})
}

// s3PutBucketLifecycle replaces the whole configuration, as S3 does. Overlapping
// filters are accepted: S3 resolves conflicts between rules when it acts on them.
func (s *Server) s3PutBucketLifecycle(c *call, req *s3Request) {
	var in s3LifecycleConfiguration
	if !s3ReadConfig(c, &in) {
		return
	}
	if len(in.Rules) == 0 {
		c.fail(errMalformedXML())
		return
	}
	if len(in.Rules) > s3LifecycleMaxRules {
		c.fail(errInvalidRequest(fmt.Sprintf("The number of lifecycle rules must not exceed the allowed limit of %d rules", s3LifecycleMaxRules)))
		return
	}
	ids := map[string]bool{}
	rules := make([]string, 0, len(in.Rules))
	for _, r := range in.Rules {
		if err := r.validate(); err != nil {
			c.fail(err)
			return
		}
		if r.ID != "" {
			if ids[r.ID] {
				c.fail(errInvalidArgument("Rule ID must be unique. Found same ID for more than one rule", "ID", r.ID))
				return
			}
			ids[r.ID] = true
		}
		rules = append(rules, r.Inner)
	}
	s.s3WithBucket(c, req, "s3:PutLifecycleConfiguration", func(b *bucket) {
		b.lifecycle = rules
		c.writeEmpty(http.StatusOK)
	})
}

// s3DeleteBucketLifecycle needs s3:PutLifecycleConfiguration, as S3 documents; deleting
// an absent configuration succeeds.
func (s *Server) s3DeleteBucketLifecycle(c *call, req *s3Request) {
	s.s3WithBucket(c, req, "s3:PutLifecycleConfiguration", func(b *bucket) {
		b.lifecycle = nil
		c.writeEmpty(http.StatusNoContent)
	})
}
