package localaws

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Put/Get/DeleteBucketReplication, with S3's validation and error texts. The rules S3
// applies when the configuration is stored (docs/aws-facts.md#F-REPL-CONFIG-V2): a versioned source; the V2
// schema (a rule with Filter) needs Priority and DeleteMarkerReplication, the V1 schema
// (top-level Prefix) may have neither; tag filters cannot replicate delete markers;
// SseKmsEncryptedObjects and EncryptionConfiguration go together; ReplicationTime needs
// Metrics and both take 15 minutes; a Metrics event threshold needs ReplicationTime
// Enabled; the destination must exist and be versioned. ReplicaKmsKeyID is stored unchecked
// (replication fails later), and the role must be passable by the caller and visible to S3.

// s3ReplicationConfiguration is the XML document, used for both directions: pointers mark
// elements whose presence matters, and nil pointers are omitted on output in AWS's order.
type s3ReplicationConfiguration struct {
	XMLName xml.Name            `xml:"ReplicationConfiguration"`
	Xmlns   string              `xml:"xmlns,attr,omitempty"`
	Role    string              `xml:"Role"`
	Rules   []s3ReplicationRule `xml:"Rule"`
}

type s3ReplicationRule struct {
	ID                        *string              `xml:"ID"`
	Priority                  *int32               `xml:"Priority"`
	Prefix                    *string              `xml:"Prefix"`
	Filter                    *s3ReplicationFilter `xml:"Filter"`
	Status                    string               `xml:"Status"`
	SourceSelectionCriteria   *s3SourceSelection   `xml:"SourceSelectionCriteria"`
	ExistingObjectReplication *s3StatusElement     `xml:"ExistingObjectReplication"`
	Destination               *s3Destination       `xml:"Destination"`
	DeleteMarkerReplication   *s3StatusElement     `xml:"DeleteMarkerReplication"`
}

type s3ReplicationFilter struct {
	Prefix *string `xml:"Prefix"`
	Tag    *s3Tag  `xml:"Tag"`
	And    *struct {
		Prefix *string `xml:"Prefix"`
		Tags   []s3Tag `xml:"Tag"`
	} `xml:"And"`
}

type s3StatusElement struct {
	Status string `xml:"Status"`
}

type s3SourceSelection struct {
	SseKmsEncryptedObjects *s3StatusElement `xml:"SseKmsEncryptedObjects"`
	ReplicaModifications   *s3StatusElement `xml:"ReplicaModifications"`
}

type s3Destination struct {
	Bucket                   string `xml:"Bucket"`
	Account                  string `xml:"Account,omitempty"`
	StorageClass             string `xml:"StorageClass,omitempty"`
	AccessControlTranslation *struct {
		Owner string `xml:"Owner"`
	} `xml:"AccessControlTranslation"`
	EncryptionConfiguration *struct {
		ReplicaKmsKeyID string `xml:"ReplicaKmsKeyID"`
	} `xml:"EncryptionConfiguration"`
	ReplicationTime *struct {
		Status string     `xml:"Status"`
		Time   *s3Minutes `xml:"Time"`
	} `xml:"ReplicationTime"`
	Metrics *struct {
		Status         string     `xml:"Status"`
		EventThreshold *s3Minutes `xml:"EventThreshold"`
	} `xml:"Metrics"`
}

type s3Minutes struct {
	Minutes *int32 `xml:"Minutes"`
}

// s3StorageClasses are the storage classes S3 accepts for objects and replicas.
var s3StorageClasses = map[string]bool{
	"STANDARD": true, "REDUCED_REDUNDANCY": true, "STANDARD_IA": true, "ONEZONE_IA": true,
	"INTELLIGENT_TIERING": true, "GLACIER": true, "DEEP_ARCHIVE": true, "OUTPOSTS": true,
	"GLACIER_IR": true, "SNOW": true, "EXPRESS_ONEZONE": true,
}

var s3RoleARNPattern = regexp.MustCompile(`^arn:aws:iam::[0-9]{12}:role/.+`)

func (s *Server) s3GetBucketReplication(c *call, req *s3Request) {
	s.s3WithBucket(c, req, "s3:GetReplicationConfiguration", func(b *bucket) {
		if b.replication == nil {
			c.fail(s3Err(http.StatusNotFound, "ReplicationConfigurationNotFoundError",
				"The replication configuration was not found", [2]string{"BucketName", b.name}))
			return
		}
		c.writeXML(s3RenderReplication(b.replication))
	})
}

func (s *Server) s3DeleteBucketReplication(c *call, req *s3Request) {
	s.s3WithBucket(c, req, "s3:PutReplicationConfiguration", func(b *bucket) {
		b.replication = nil
		c.writeEmpty(http.StatusNoContent)
	})
}

// s3PutBucketReplication is PutBucketReplication.
func (s *Server) s3PutBucketReplication(c *call, req *s3Request) {
	body, _, aerr := s3ReadBody(c)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	var in s3ReplicationConfiguration
	parseErr := s3DecodeXML(body, &in)
	s.s3WithBucket(c, req, "s3:PutReplicationConfiguration", func(b *bucket) {
		if parseErr != nil {
			c.fail(parseErr)
			return
		}
		cfg, aerr := s.s3ParseReplication(b, &in)
		if aerr != nil {
			c.fail(aerr)
			return
		}
		// The caller passes the role to S3, which needs iam:PassRole (roles pass only
		// within their account: cross-account, the resource account has no grant).
		if aerr := s.authorizePassRole(c.p, cfg.role, "s3.amazonaws.com", c.requestContext()); aerr != nil {
			c.fail(aerr)
			return
		}
		if r := s.roleByARN(cfg.role); r == nil || !s.roleVisible(r) {
			// IAM is eventually consistent: S3 cannot see a role created moments ago, and
			// provisioning retries this until the role has propagated.
			c.fail(errInvalidArgument("Invalid Role specified in replication configuration: role "+cfg.role+
				" does not exist or is not yet assumable by Amazon S3", "Role", cfg.role))
			return
		}
		b.replication = cfg
		c.writeEmpty(http.StatusOK)
	})
}

// s3ParseReplication validates a replication document for source bucket b and converts it
// to the model. The caller holds s.mu (destination buckets are looked up).
func (s *Server) s3ParseReplication(b *bucket, in *s3ReplicationConfiguration) (*replicationConfig, *apiError) {
	if in.Role == "" || len(in.Rules) == 0 {
		return nil, errMalformedXML()
	}
	if len(in.Rules) > 1000 {
		return nil, errInvalidRequest("The number of replication rules must not exceed the allowed limit of 1000 rules.")
	}
	if b.versioning != "Enabled" {
		return nil, errInvalidRequest("Versioning must be 'Enabled' on the bucket to apply a replication configuration")
	}
	if !s3RoleARNPattern.MatchString(in.Role) {
		return nil, errInvalidArgument("Invalid Role specified in replication configuration", "Role", in.Role)
	}
	legacy := false
	for _, r := range in.Rules {
		if r.Filter == nil {
			legacy = true
		}
	}
	cfg := &replicationConfig{role: in.Role}
	ids, priorities, dests := map[string]bool{}, map[int32]bool{}, map[string]bool{}
	for i := range in.Rules {
		rule, aerr := s3ParseRule(b, &in.Rules[i], legacy)
		if aerr != nil {
			return nil, aerr
		}
		if ids[rule.id] {
			return nil, errInvalidArgument("Rule Id must be unique", "ID", rule.id)
		}
		ids[rule.id] = true
		if rule.hasPriority {
			if priorities[rule.priority] {
				return nil, errInvalidRequest(fmt.Sprintf("Found duplicate priority %d.", rule.priority))
			}
			priorities[rule.priority] = true
		}
		dests[rule.destBucketARN] = true
		cfg.rules = append(cfg.rules, rule)
	}
	if legacy && len(dests) > 1 {
		return nil, errInvalidRequest("Number of distinct destination bucket ARNs cannot exceed 1")
	}
	checked := map[string]bool{}
	for _, rule := range cfg.rules {
		if checked[rule.destBucketARN] {
			continue
		}
		checked[rule.destBucketARN] = true
		dst := s.buckets[s3BucketNameFromARN(rule.destBucketARN)]
		if dst == nil {
			return nil, errInvalidRequest("Destination bucket must exist.")
		}
		if dst.versioning != "Enabled" {
			return nil, errInvalidRequest("Destination bucket must have versioning enabled.")
		}
	}
	return cfg, nil
}

// s3SchemaError is S3's answer to an element the rule's schema version requires or forbids.
func s3SchemaError(field string, required bool) *apiError {
	verb := " cannot be used"
	if required {
		verb = " must be specified"
	}
	return errInvalidRequest(field + verb + " for this version of Cross Region Replication configuration schema. Please refer to S3 Developer Guide for more information.")
}

// s3ParseRule validates one rule. legacy is true when any rule of the configuration lacks
// a Filter, which makes the whole configuration V1.
func s3ParseRule(b *bucket, in *s3ReplicationRule, legacy bool) (*replicationRule, *apiError) {
	r := &replicationRule{}
	var ok bool
	if r.status = in.Status; r.status != "Enabled" && r.status != "Disabled" {
		return nil, errMalformedXML()
	}
	if in.Destination == nil || in.Destination.Bucket == "" {
		return nil, errMalformedXML()
	}
	if in.ID != nil {
		r.id = *in.ID
	}
	if len(r.id) > 255 {
		return nil, errInvalidArgument("Rule Id cannot be greater than 255", "ID", r.id)
	}
	if r.id == "" {
		r.id = s3RandomID(48)
	}

	// Schema version and filter.
	switch {
	case in.Filter != nil && in.Prefix != nil:
		return nil, errMalformedXML()
	case in.Filter == nil && in.Prefix == nil:
		return nil, errMalformedXML()
	case in.Filter == nil:
		r.prefix = *in.Prefix
	default:
		r.v2 = true
		if aerr := s3ParseFilter(r, in.Filter); aerr != nil {
			return nil, aerr
		}
	}
	if legacy {
		if in.Priority != nil {
			return nil, s3SchemaError("Priority", false)
		}
		if in.DeleteMarkerReplication != nil {
			return nil, s3SchemaError("DeleteMarkerReplication", false)
		}
	} else {
		if in.Priority == nil {
			return nil, s3SchemaError("Priority", true)
		}
		if in.DeleteMarkerReplication == nil {
			return nil, s3SchemaError("DeleteMarkerReplication", true)
		}
	}
	if in.Priority != nil {
		if *in.Priority < 0 {
			return nil, errInvalidRequest("Priority must be between 0 and 2147483647.")
		}
		r.priority, r.hasPriority = *in.Priority, true
	}
	if in.DeleteMarkerReplication != nil {
		r.hasDeleteMarkerElement = true
		if r.deleteMarkerReplication, ok = s3Status(in.DeleteMarkerReplication.Status); !ok {
			return nil, errMalformedXML()
		}
		if r.deleteMarkerReplication && len(r.filterTags) > 0 {
			return nil, errInvalidRequest("Delete marker replication is not supported if any Tag filter is specified. Please refer to S3 Developer Guide for more information.")
		}
	}
	if e := in.ExistingObjectReplication; e != nil {
		if r.existingObjects, ok = s3Status(e.Status); !ok {
			return nil, errMalformedXML()
		}
		r.hasExistingObjects = true
		if r.existingObjects {
			return nil, errInvalidRequest("ExistingObjectReplication is not enabled for this bucket; replicate existing objects with S3 Batch Replication")
		}
	}
	if ssc := in.SourceSelectionCriteria; ssc != nil {
		if ssc.SseKmsEncryptedObjects == nil && ssc.ReplicaModifications == nil {
			return nil, errInvalidRequest("SourceSelectionCriteria cannot be empty.")
		}
		if e := ssc.SseKmsEncryptedObjects; e != nil {
			r.hasSSEKMSCriterion = true
			if r.sseKMSEncryptedObjects, ok = s3Status(e.Status); !ok {
				return nil, errMalformedXML()
			}
		}
		if e := ssc.ReplicaModifications; e != nil {
			r.hasReplicaMods = true
			if r.replicaModifications, ok = s3Status(e.Status); !ok {
				return nil, errMalformedXML()
			}
		}
	}
	if aerr := s3ParseDestination(b, r, in.Destination); aerr != nil {
		return nil, aerr
	}
	return r, nil
}

func s3ParseFilter(r *replicationRule, f *s3ReplicationFilter) *apiError {
	members := 0
	var tags []s3Tag
	if f.Prefix != nil {
		members++
		r.prefix, r.filterShape = *f.Prefix, "prefix"
	}
	if f.Tag != nil {
		members++
		tags, r.filterShape = []s3Tag{*f.Tag}, "tag"
	}
	if f.And != nil {
		members++
		r.filterShape, tags = "and", f.And.Tags
		n := len(tags)
		if f.And.Prefix != nil {
			r.prefix = *f.And.Prefix
			n++
		}
		if n < 2 {
			return errMalformedXML()
		}
	}
	switch members {
	case 0:
		r.filterShape = "empty"
	case 1:
	default:
		return errMalformedXML()
	}
	if len(tags) > 0 {
		r.filterTags = map[string]string{}
		for _, t := range tags {
			if _, dup := r.filterTags[t.Key]; dup {
				return errInvalidRequest("Duplicate Tag Keys are not allowed.")
			}
			r.filterTags[t.Key] = t.Value
		}
		if r.filterShape == "and" {
			// Keep the written order for GetBucketReplication.
			r.filterTagOrder = make([]string, 0, len(tags))
			for _, t := range tags {
				r.filterTagOrder = append(r.filterTagOrder, t.Key)
			}
		}
	}
	return nil
}

func s3ParseDestination(b *bucket, r *replicationRule, d *s3Destination) *apiError {
	var ok bool
	name, isARN := strings.CutPrefix(d.Bucket, "arn:aws:s3:::")
	if !isARN || name == "" || strings.Contains(name, "/") {
		return errInvalidArgument("Invalid bucket ARN", "Bucket", d.Bucket)
	}
	if !s3ValidBucketName(name) {
		return errInvalidArgument("The specified bucket is not valid.", "Bucket", d.Bucket)
	}
	if name == b.name {
		return errInvalidRequest("Destination bucket cannot be the same as the source bucket.")
	}
	r.destBucketARN, r.destAccount = d.Bucket, d.Account
	if d.StorageClass != "" && !s3StorageClasses[d.StorageClass] {
		return errMalformedXML()
	}
	r.storageClass = d.StorageClass
	if act := d.AccessControlTranslation; act != nil {
		if act.Owner != "Destination" {
			return errMalformedXML()
		}
		if d.Account == "" {
			return errInvalidRequest("Account must be specified if the Owner in AccessControlTranslation has a value")
		}
		r.ownerOverride = true
	}
	if d.Account != "" && !accountIDPattern.MatchString(d.Account) {
		return errInvalidArgument("Invalid Account specified in replication destination", "Account", d.Account)
	}
	if ec := d.EncryptionConfiguration; ec != nil {
		if !r.hasSSEKMSCriterion {
			return errInvalidRequest("SseKmsEncryptedObjects must be specified if EncryptionConfiguration is present.")
		}
		r.replicaKMSKeyID = ec.ReplicaKmsKeyID
	}
	if r.hasSSEKMSCriterion && r.replicaKMSKeyID == "" {
		return errInvalidRequest("ReplicaKmsKeyID must be specified if SseKmsEncryptedObjects tag is present.")
	}
	if m := d.Metrics; m != nil {
		r.hasMetrics = true
		if r.metrics, ok = s3Status(m.Status); !ok {
			return errMalformedXML()
		}
		if m.EventThreshold != nil {
			if m.EventThreshold.Minutes == nil {
				return errMalformedXML()
			}
			r.metricsMinutes = *m.EventThreshold.Minutes
		}
	}
	if rt := d.ReplicationTime; rt != nil {
		r.hasRTC = true
		if r.rtc, ok = s3Status(rt.Status); !ok || rt.Time == nil {
			return errMalformedXML()
		}
		if d.Metrics == nil {
			return errInvalidRequest("Replication destination must contain both ReplicationTime and Metrics or neither.")
		}
		if rt.Time.Minutes == nil || *rt.Time.Minutes != 15 {
			v := ""
			if rt.Time.Minutes != nil {
				v = strconv.Itoa(int(*rt.Time.Minutes))
			}
			return errInvalidArgument("Invalid time minute value", "ReplicationTime", v)
		}
	}
	if r.rtc {
		if d.Metrics.EventThreshold == nil {
			return errInvalidArgument("ReplicationMetrics must contain an event threshold", "ReplicationMetrics", "")
		}
		if r.metricsMinutes != 15 {
			return errInvalidArgument("Invalid event threshold minute value", "ReplicationMetrics", strconv.Itoa(int(r.metricsMinutes)))
		}
	} else if d.Metrics != nil && d.Metrics.EventThreshold != nil {
		return errInvalidArgument("Metrics cannot contain an event threshold when ReplicationTime is not specified or Disabled", "Metrics", "")
	}
	return nil
}

// s3RenderReplication turns the model back into the document GetBucketReplication returns.
func s3RenderReplication(cfg *replicationConfig) s3ReplicationConfiguration {
	out := s3ReplicationConfiguration{Xmlns: s3NS, Role: cfg.role}
	str := func(v string) *string { return &v }
	status := func(on bool) *s3StatusElement { return &s3StatusElement{Status: s3StatusString(on)} }
	for _, r := range cfg.rules {
		x := s3ReplicationRule{ID: str(r.id), Status: r.status}
		if r.hasPriority {
			p := r.priority
			x.Priority = &p
		}
		switch {
		case !r.v2:
			x.Prefix = str(r.prefix)
		default:
			f := &s3ReplicationFilter{}
			switch r.filterShape {
			case "prefix":
				f.Prefix = str(r.prefix)
			case "tag":
				for k, v := range r.filterTags {
					f.Tag = &s3Tag{Key: k, Value: v}
				}
			case "and":
				f.And = &struct {
					Prefix *string `xml:"Prefix"`
					Tags   []s3Tag `xml:"Tag"`
				}{}
				if r.prefix != "" {
					f.And.Prefix = str(r.prefix)
				}
				order := r.filterTagOrder
				if len(order) != len(r.filterTags) {
					order = sortedKeys(r.filterTags)
				}
				for _, k := range order {
					f.And.Tags = append(f.And.Tags, s3Tag{Key: k, Value: r.filterTags[k]})
				}
			}
			x.Filter = f
		}
		if r.hasSSEKMSCriterion || r.hasReplicaMods {
			x.SourceSelectionCriteria = &s3SourceSelection{}
			if r.hasSSEKMSCriterion {
				x.SourceSelectionCriteria.SseKmsEncryptedObjects = status(r.sseKMSEncryptedObjects)
			}
			if r.hasReplicaMods {
				x.SourceSelectionCriteria.ReplicaModifications = status(r.replicaModifications)
			}
		}
		if r.hasExistingObjects {
			x.ExistingObjectReplication = status(r.existingObjects)
		}
		d := &s3Destination{Bucket: r.destBucketARN, Account: r.destAccount, StorageClass: r.storageClass}
		if r.ownerOverride {
			d.AccessControlTranslation = &struct {
				Owner string `xml:"Owner"`
			}{"Destination"}
		}
		if r.replicaKMSKeyID != "" {
			d.EncryptionConfiguration = &struct {
				ReplicaKmsKeyID string `xml:"ReplicaKmsKeyID"`
			}{r.replicaKMSKeyID}
		}
		if r.hasRTC {
			m := int32(15)
			d.ReplicationTime = &struct {
				Status string     `xml:"Status"`
				Time   *s3Minutes `xml:"Time"`
			}{s3StatusString(r.rtc), &s3Minutes{Minutes: &m}}
		}
		if r.hasMetrics {
			d.Metrics = &struct {
				Status         string     `xml:"Status"`
				EventThreshold *s3Minutes `xml:"EventThreshold"`
			}{Status: s3StatusString(r.metrics)}
			if r.metricsMinutes != 0 {
				m := r.metricsMinutes
				d.Metrics.EventThreshold = &s3Minutes{Minutes: &m}
			}
		}
		x.Destination = d
		if r.hasDeleteMarkerElement {
			x.DeleteMarkerReplication = status(r.deleteMarkerReplication)
		}
		out.Rules = append(out.Rules, x)
	}
	return out
}
