package localaws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// s3ReplEnv is a source bucket in A (ap-south-1), destinations in B (us-east-1), and a
// replication role in A.
type s3ReplEnv struct {
	*s3Env
	a        *s3.Client
	replRole string
}

func newS3ReplEnv(t *testing.T, opts Options) *s3ReplEnv {
	e := newS3Env(t, opts)
	r := &s3ReplEnv{s3Env: e}
	r.a = e.bucket(s3A, s3Mumbai, "src", true)
	e.bucket(s3A, s3Mumbai, "src-unversioned", false)
	e.bucket(s3B, s3East, "dst", true)
	e.bucket(s3B, s3East, "dst-2", true)
	e.bucket(s3B, s3East, "dst-unversioned", false)
	r.replRole = e.role(s3A, "replication", "")
	e.clock.advance(time.Hour) // past any propagation window
	return r
}

// s3ValidRule is a V2 rule with every element s3crr sets.
func s3ValidRule(id string, priority int32) s3types.ReplicationRule {
	return s3types.ReplicationRule{
		ID:                      aws.String(id),
		Priority:                aws.Int32(priority),
		Status:                  s3types.ReplicationRuleStatusEnabled,
		Filter:                  &s3types.ReplicationRuleFilter{Prefix: aws.String("")},
		DeleteMarkerReplication: &s3types.DeleteMarkerReplication{Status: s3types.DeleteMarkerReplicationStatusEnabled},
		SourceSelectionCriteria: &s3types.SourceSelectionCriteria{SseKmsEncryptedObjects: &s3types.SseKmsEncryptedObjects{Status: s3types.SseKmsEncryptedObjectsStatusEnabled}},
		Destination: &s3types.Destination{
			Bucket:                   aws.String("arn:aws:s3:::dst"),
			Account:                  aws.String(s3B),
			StorageClass:             s3types.StorageClassStandard,
			AccessControlTranslation: &s3types.AccessControlTranslation{Owner: s3types.OwnerOverrideDestination},
			EncryptionConfiguration:  &s3types.EncryptionConfiguration{ReplicaKmsKeyID: aws.String("arn:aws:kms:us-east-1:222222222222:key/00000000-0000-0000-0000-000000000000")},
			ReplicationTime:          &s3types.ReplicationTime{Status: s3types.ReplicationTimeStatusEnabled, Time: &s3types.ReplicationTimeValue{Minutes: aws.Int32(15)}},
			Metrics:                  &s3types.Metrics{Status: s3types.MetricsStatusEnabled, EventThreshold: &s3types.ReplicationTimeValue{Minutes: aws.Int32(15)}},
		},
	}
}

func TestS3PutBucketReplicationValidation(t *testing.T) {
	e := newS3ReplEnv(t, Options{})
	tests := []struct {
		name        string
		bucket      string
		edit        func(cfg *s3types.ReplicationConfiguration)
		wantCode    string
		wantMessage string
	}{
		{name: "valid V2 rule with RTC, metrics, KMS and owner override", edit: func(*s3types.ReplicationConfiguration) {}},
		{name: "unversioned source", bucket: "src-unversioned", edit: func(*s3types.ReplicationConfiguration) {},
			wantCode: "InvalidRequest", wantMessage: "Versioning must be 'Enabled' on the bucket to apply a replication configuration"},
		{name: "RTC without Metrics", edit: func(c *s3types.ReplicationConfiguration) { c.Rules[0].Destination.Metrics = nil },
			wantCode: "InvalidRequest", wantMessage: "Replication destination must contain both ReplicationTime and Metrics or neither."},
		{name: "Metrics event threshold without RTC", edit: func(c *s3types.ReplicationConfiguration) { c.Rules[0].Destination.ReplicationTime = nil },
			wantCode: "InvalidArgument", wantMessage: "Metrics cannot contain an event threshold when ReplicationTime is not specified or Disabled"},
		{name: "Metrics event threshold with RTC Disabled", edit: func(c *s3types.ReplicationConfiguration) {
			c.Rules[0].Destination.ReplicationTime.Status = s3types.ReplicationTimeStatusDisabled
		}, wantCode: "InvalidArgument", wantMessage: "Metrics cannot contain an event threshold"},
		{name: "Metrics without threshold and no RTC", edit: func(c *s3types.ReplicationConfiguration) {
			c.Rules[0].Destination.ReplicationTime = nil
			c.Rules[0].Destination.Metrics.EventThreshold = nil
		}},
		{name: "RTC without event threshold", edit: func(c *s3types.ReplicationConfiguration) { c.Rules[0].Destination.Metrics.EventThreshold = nil },
			wantCode: "InvalidArgument", wantMessage: "ReplicationMetrics must contain an event threshold"},
		{name: "RTC of 10 minutes", edit: func(c *s3types.ReplicationConfiguration) {
			c.Rules[0].Destination.ReplicationTime.Time.Minutes = aws.Int32(10)
		},
			wantCode: "InvalidArgument", wantMessage: "Invalid time minute value"},
		{name: "V2 rule without Priority", edit: func(c *s3types.ReplicationConfiguration) { c.Rules[0].Priority = nil },
			wantCode: "InvalidRequest", wantMessage: "Priority must be specified for this version of Cross Region Replication configuration schema"},
		{name: "V2 rule without DeleteMarkerReplication", edit: func(c *s3types.ReplicationConfiguration) { c.Rules[0].DeleteMarkerReplication = nil },
			wantCode: "InvalidRequest", wantMessage: "DeleteMarkerReplication must be specified for this version of Cross Region Replication configuration schema"},
		{name: "V1 rule with DeleteMarkerReplication", edit: func(c *s3types.ReplicationConfiguration) {
			c.Rules[0].Filter, c.Rules[0].Priority, c.Rules[0].Prefix = nil, nil, aws.String("logs/")
		}, wantCode: "InvalidRequest", wantMessage: "DeleteMarkerReplication cannot be used for this version"},
		{name: "V1 rule", edit: func(c *s3types.ReplicationConfiguration) {
			c.Rules[0].Filter, c.Rules[0].Priority, c.Rules[0].Prefix, c.Rules[0].DeleteMarkerReplication = nil, nil, aws.String("logs/"), nil
		}},
		{name: "SseKmsEncryptedObjects without EncryptionConfiguration", edit: func(c *s3types.ReplicationConfiguration) {
			c.Rules[0].Destination.EncryptionConfiguration = nil
		}, wantCode: "InvalidRequest", wantMessage: "ReplicaKmsKeyID must be specified if SseKmsEncryptedObjects tag is present."},
		{name: "EncryptionConfiguration without SseKmsEncryptedObjects", edit: func(c *s3types.ReplicationConfiguration) {
			c.Rules[0].SourceSelectionCriteria = nil
		}, wantCode: "InvalidRequest", wantMessage: "SseKmsEncryptedObjects must be specified if EncryptionConfiguration is present."},
		{name: "tag filter with delete marker replication", edit: func(c *s3types.ReplicationConfiguration) {
			c.Rules[0].Filter = &s3types.ReplicationRuleFilter{Tag: &s3types.Tag{Key: aws.String("replicate"), Value: aws.String("yes")}}
		}, wantCode: "InvalidRequest", wantMessage: "Delete marker replication is not supported if any Tag filter is specified"},
		{name: "tag filter without delete marker replication", edit: func(c *s3types.ReplicationConfiguration) {
			c.Rules[0].Filter = &s3types.ReplicationRuleFilter{And: &s3types.ReplicationRuleAndOperator{Prefix: aws.String("a/"),
				Tags: []s3types.Tag{{Key: aws.String("replicate"), Value: aws.String("yes")}}}}
			c.Rules[0].DeleteMarkerReplication.Status = s3types.DeleteMarkerReplicationStatusDisabled
		}},
		{name: "duplicate rule IDs", edit: func(c *s3types.ReplicationConfiguration) {
			r := s3ValidRule("rule-1", 2)
			r.Destination.Bucket = aws.String("arn:aws:s3:::dst-2")
			c.Rules = append(c.Rules, r)
		}, wantCode: "InvalidArgument", wantMessage: "Rule Id must be unique"},
		{name: "duplicate priorities", edit: func(c *s3types.ReplicationConfiguration) {
			c.Rules = append(c.Rules, s3ValidRule("rule-2", 1))
		}, wantCode: "InvalidRequest", wantMessage: "Found duplicate priority 1."},
		{name: "two rules, two destinations", edit: func(c *s3types.ReplicationConfiguration) {
			r := s3ValidRule("rule-2", 2)
			r.Destination.Bucket = aws.String("arn:aws:s3:::dst-2")
			c.Rules = append(c.Rules, r)
		}},
		{name: "more than 1000 rules", edit: func(c *s3types.ReplicationConfiguration) {
			for i := 2; i <= 1001; i++ {
				c.Rules = append(c.Rules, s3ValidRule(fmt.Sprintf("rule-%d", i), int32(i)))
			}
		}, wantCode: "InvalidRequest", wantMessage: "must not exceed the allowed limit of 1000 rules"},
		{name: "destination is the source", edit: func(c *s3types.ReplicationConfiguration) {
			c.Rules[0].Destination.Bucket = aws.String("arn:aws:s3:::src")
		},
			wantCode: "InvalidRequest", wantMessage: "Destination bucket cannot be the same as the source bucket."},
		{name: "destination does not exist", edit: func(c *s3types.ReplicationConfiguration) {
			c.Rules[0].Destination.Bucket = aws.String("arn:aws:s3:::no-such-destination")
		}, wantCode: "InvalidRequest", wantMessage: "Destination bucket must exist."},
		{name: "destination not versioned", edit: func(c *s3types.ReplicationConfiguration) {
			c.Rules[0].Destination.Bucket = aws.String("arn:aws:s3:::dst-unversioned")
		}, wantCode: "InvalidRequest", wantMessage: "Destination bucket must have versioning enabled."},
		{name: "destination not an ARN", edit: func(c *s3types.ReplicationConfiguration) { c.Rules[0].Destination.Bucket = aws.String("dst") },
			wantCode: "InvalidArgument", wantMessage: "Invalid bucket ARN"},
		{name: "owner override without account", edit: func(c *s3types.ReplicationConfiguration) { c.Rules[0].Destination.Account = nil },
			wantCode: "InvalidRequest", wantMessage: "Account must be specified if the Owner in AccessControlTranslation has a value"},
		{name: "role that is not a role ARN", edit: func(c *s3types.ReplicationConfiguration) {
			c.Role = aws.String("arn:aws:iam::111111111111:user/replication")
		}, wantCode: "InvalidArgument", wantMessage: "Invalid Role"},
		{name: "replica key that does not exist is not checked", edit: func(c *s3types.ReplicationConfiguration) {
			c.Rules[0].Destination.EncryptionConfiguration.ReplicaKmsKeyID = aws.String("alias/does-not-exist")
		}},
		{name: "role of another account cannot be passed", edit: func(c *s3types.ReplicationConfiguration) {
			c.Role = aws.String("arn:aws:iam::222222222222:role/replication")
		}, wantCode: "AccessDenied", wantMessage: "iam:PassRole"},
		{name: "role that does not exist", edit: func(c *s3types.ReplicationConfiguration) {
			c.Role = aws.String("arn:aws:iam::111111111111:role/missing")
		}, wantCode: "InvalidArgument", wantMessage: "not yet assumable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &s3types.ReplicationConfiguration{Role: aws.String(e.replRole), Rules: []s3types.ReplicationRule{s3ValidRule("rule-1", 1)}}
			tt.edit(cfg)
			bucket := tt.bucket
			if bucket == "" {
				bucket = "src"
			}
			_, err := e.a.PutBucketReplication(s3Ctx, &s3.PutBucketReplicationInput{Bucket: aws.String(bucket), ReplicationConfiguration: cfg})
			s3WantCode(t, "PutBucketReplication", err, tt.wantCode)
			if !strings.Contains(s3Message(err), tt.wantMessage) {
				t.Errorf("message %q, want it to contain %q", s3Message(err), tt.wantMessage)
			}
			if tt.wantCode != "" && tt.wantCode != "AccessDenied" && s3HTTPStatus(err) != http.StatusBadRequest {
				t.Errorf("status %d, want 400", s3HTTPStatus(err))
			}
		})
	}

	t.Run("malformed XML", func(t *testing.T) {
		for _, body := range []string{"", "<ReplicationConfiguration><Role>", "<ReplicationConfiguration><Role>" + e.replRole +
			"</Role><Rule><Status>Sometimes</Status><Prefix></Prefix><Destination><Bucket>arn:aws:s3:::dst</Bucket></Destination></Rule></ReplicationConfiguration>"} {
			resp, out := e.raw(http.MethodPut, "/src?replication", "", s3A, s3Mumbai, nil, body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(out, "<Code>MalformedXML</Code>") {
				t.Errorf("body %q: %d %s", body, resp.StatusCode, out)
			}
		}
	})
}

// TestS3BucketReplicationRoundTrip checks that GetBucketReplication returns what was put.
func TestS3BucketReplicationRoundTrip(t *testing.T) {
	e := newS3ReplEnv(t, Options{})
	b := aws.String("src")
	_, err := e.a.GetBucketReplication(s3Ctx, &s3.GetBucketReplicationInput{Bucket: b})
	s3WantCode(t, "GetBucketReplication before put", err, "ReplicationConfigurationNotFoundError")

	second := s3ValidRule("tagged", 7)
	second.Filter = &s3types.ReplicationRuleFilter{And: &s3types.ReplicationRuleAndOperator{Prefix: aws.String("docs/"),
		Tags: []s3types.Tag{{Key: aws.String("z"), Value: aws.String("1")}, {Key: aws.String("a"), Value: aws.String("2")}}}}
	second.DeleteMarkerReplication = &s3types.DeleteMarkerReplication{Status: s3types.DeleteMarkerReplicationStatusDisabled}
	second.SourceSelectionCriteria = &s3types.SourceSelectionCriteria{ReplicaModifications: &s3types.ReplicaModifications{Status: s3types.ReplicaModificationsStatusEnabled}}
	second.Destination = &s3types.Destination{Bucket: aws.String("arn:aws:s3:::dst-2"), StorageClass: s3types.StorageClassStandardIa,
		Metrics: &s3types.Metrics{Status: s3types.MetricsStatusEnabled}}
	want := &s3types.ReplicationConfiguration{Role: aws.String(e.replRole), Rules: []s3types.ReplicationRule{s3ValidRule("all", 1), second}}
	_, err = e.a.PutBucketReplication(s3Ctx, &s3.PutBucketReplicationInput{Bucket: b, ReplicationConfiguration: want})
	s3Must(t, "PutBucketReplication", err)

	got, err := e.a.GetBucketReplication(s3Ctx, &s3.GetBucketReplicationInput{Bucket: b})
	s3Must(t, "GetBucketReplication", err)
	wantJSON, _ := json.Marshal(want)
	gotJSON, _ := json.Marshal(got.ReplicationConfiguration)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("GetBucketReplication =\n%s\nwant\n%s", gotJSON, wantJSON)
	}

	// The element order of the document is AWS's.
	_, body := e.raw(http.MethodGet, "/src?replication", "", s3A, s3Mumbai, nil, "")
	order := []string{"<Role>", "<Rule>", "<ID>all</ID>", "<Priority>1</Priority>", "<Filter>", "<Status>Enabled</Status>",
		"<SourceSelectionCriteria>", "<Destination>", "<Bucket>", "<Account>", "<StorageClass>", "<AccessControlTranslation>",
		"<EncryptionConfiguration>", "<ReplicationTime>", "<Metrics>", "</Destination>", "<DeleteMarkerReplication>"}
	at := 0
	for _, el := range order {
		i := strings.Index(body[at:], el)
		if i < 0 {
			t.Fatalf("%s missing or out of order in %s", el, body)
		}
		at += i
	}

	_, err = e.a.DeleteBucketReplication(s3Ctx, &s3.DeleteBucketReplicationInput{Bucket: b})
	s3Must(t, "DeleteBucketReplication", err)
	_, err = e.a.GetBucketReplication(s3Ctx, &s3.GetBucketReplicationInput{Bucket: b})
	s3WantCode(t, "GetBucketReplication after delete", err, "ReplicationConfigurationNotFoundError")
}

// TestS3ReplicationRoleChecks covers the role: iam:PassRole for role callers, and the
// propagation window that makes a new role "not assumable" for a while.
func TestS3ReplicationRoleChecks(t *testing.T) {
	e := newS3ReplEnv(t, Options{PropagationWindow: 30 * time.Second})
	cfg := func(role string) *s3types.ReplicationConfiguration {
		r := s3ValidRule("r", 1)
		return &s3types.ReplicationConfiguration{Role: aws.String(role), Rules: []s3types.ReplicationRule{r}}
	}
	put := func(c *s3.Client, role string) error {
		_, err := c.PutBucketReplication(s3Ctx, &s3.PutBucketReplicationInput{Bucket: aws.String("src"), ReplicationConfiguration: cfg(role)})
		return err
	}

	fresh := e.role(s3A, "fresh-replication", "")
	err := put(e.a, fresh)
	s3WantCode(t, "role inside the propagation window", err, "InvalidArgument")
	if !strings.Contains(s3Message(err), "not yet assumable") {
		t.Errorf("message %q", s3Message(err))
	}
	e.clock.advance(time.Minute)
	s3Must(t, "role after the propagation window", put(e.a, fresh))

	noPass := e.as(e.role(s3A, "no-pass", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutReplicationConfiguration","Resource":"arn:aws:s3:::src"}]}`), s3Mumbai)
	err = put(noPass, e.replRole)
	s3WantCode(t, "caller without iam:PassRole", err, "AccessDenied")
	if !strings.Contains(s3Message(err), "iam:PassRole") {
		t.Errorf("message %q", s3Message(err))
	}
	pass := e.as(e.role(s3A, "pass", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutReplicationConfiguration","Resource":"arn:aws:s3:::src"},
		{"Effect":"Allow","Action":"iam:PassRole","Resource":"`+e.replRole+`","Condition":{"StringEquals":{"iam:PassedToService":"s3.amazonaws.com"}}}]}`), s3Mumbai)
	s3Must(t, "caller with iam:PassRole", put(pass, e.replRole))
}

// TestS3ReplicationHook checks that writes a rule selects are handed to the replication
// engine (their status is set) and others are not.
func TestS3ReplicationHook(t *testing.T) {
	e := newS3ReplEnv(t, Options{ReplicationDelay: time.Hour})
	r := s3ValidRule("docs", 1)
	r.Filter = &s3types.ReplicationRuleFilter{Prefix: aws.String("docs/")}
	r.SourceSelectionCriteria, r.Destination.EncryptionConfiguration = nil, nil
	_, err := e.a.PutBucketReplication(s3Ctx, &s3.PutBucketReplicationInput{Bucket: aws.String("src"),
		ReplicationConfiguration: &s3types.ReplicationConfiguration{Role: aws.String(e.replRole), Rules: []s3types.ReplicationRule{r}}})
	s3Must(t, "PutBucketReplication", err)
	for _, tt := range []struct {
		key        string
		wantStatus s3types.ReplicationStatus
	}{{"docs/a.txt", "PENDING"}, {"other/b.txt", ""}} {
		_, err := e.a.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String(tt.key), Body: strings.NewReader("x")})
		s3Must(t, "PutObject", err)
		head, err := e.a.HeadObject(s3Ctx, &s3.HeadObjectInput{Bucket: aws.String("src"), Key: aws.String(tt.key)})
		s3Must(t, "HeadObject", err)
		if head.ReplicationStatus != tt.wantStatus {
			t.Errorf("%s: replication status %q, want %q", tt.key, head.ReplicationStatus, tt.wantStatus)
		}
	}
	// A delete marker under the rule's prefix is replicated too (DeleteMarkerReplication on).
	del, err := e.a.DeleteObject(s3Ctx, &s3.DeleteObjectInput{Bucket: aws.String("src"), Key: aws.String("docs/a.txt")})
	s3Must(t, "DeleteObject", err)
	e.s.mu.Lock()
	m := s3FindVersion(e.s.buckets["src"], "docs/a.txt", aws.ToString(del.VersionId))
	status := m.replicationStatus
	e.s.mu.Unlock()
	if !m.isDeleteMarker || status != "PENDING" {
		t.Errorf("delete marker %+v status %q, want a PENDING delete marker", m, status)
	}
}
