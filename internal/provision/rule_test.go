package provision

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/spec"
)

const ruleTestKey = "arn:aws:kms:us-east-1:222222222222:key/00000002-0000-4000-8000-000000000002"

// sampleRule is desiredRule of the sample pair, written out: cross-account, RTC, owner
// override and delete-marker replication on, metrics on by default, Bucket Keys on.
func sampleRule() s3types.ReplicationRule {
	return s3types.ReplicationRule{
		ID:                      aws.String("s3crr-payments-archive"),
		Priority:                aws.Int32(spec.DefaultPriority("payments-archive")),
		Status:                  s3types.ReplicationRuleStatusEnabled,
		Filter:                  &s3types.ReplicationRuleFilter{Prefix: aws.String("")},
		DeleteMarkerReplication: &s3types.DeleteMarkerReplication{Status: s3types.DeleteMarkerReplicationStatusEnabled},
		SourceSelectionCriteria: &s3types.SourceSelectionCriteria{SseKmsEncryptedObjects: &s3types.SseKmsEncryptedObjects{Status: s3types.SseKmsEncryptedObjectsStatusEnabled}},
		Destination: &s3types.Destination{
			Bucket:                   aws.String("arn:aws:s3:::payments-dst"),
			Account:                  aws.String("222222222222"),
			StorageClass:             s3types.StorageClassStandard,
			EncryptionConfiguration:  &s3types.EncryptionConfiguration{ReplicaKmsKeyID: aws.String(ruleTestKey)},
			AccessControlTranslation: &s3types.AccessControlTranslation{Owner: s3types.OwnerOverrideDestination},
			Metrics:                  &s3types.Metrics{Status: s3types.MetricsStatusEnabled, EventThreshold: &s3types.ReplicationTimeValue{Minutes: aws.Int32(15)}},
			ReplicationTime:          &s3types.ReplicationTime{Status: s3types.ReplicationTimeStatusEnabled, Time: &s3types.ReplicationTimeValue{Minutes: aws.Int32(15)}},
		},
	}
}

func tagOf(k, v string) s3types.Tag { return s3types.Tag{Key: aws.String(k), Value: aws.String(v)} }

// plainOptions turns RTC and delete-marker replication off (tag filters exclude
// delete-marker replication); plainRule is the matching edit of the expected rule.
func plainOptions(r *spec.Request) {
	r.Rule.ReplicationTimeControl = false
	r.Rule.DeleteMarkerReplication = false
}

func plainRule(w *s3types.ReplicationRule) {
	w.Destination.ReplicationTime = nil
	w.Destination.Metrics = &s3types.Metrics{Status: s3types.MetricsStatusEnabled}
	w.DeleteMarkerReplication.Status = s3types.DeleteMarkerReplicationStatusDisabled
}

func TestDesiredRule(t *testing.T) {
	tests := []struct {
		name string
		give func(*spec.Request)
		// enforced says the destination enforces bucket ownership, so
		// ownerOverrideNeeded decides against the option.
		enforced bool
		want     func(*s3types.ReplicationRule)
	}{
		{name: "the sample pair", give: func(*spec.Request) {}, want: func(*s3types.ReplicationRule) {}},
		{name: "prefix", give: func(r *spec.Request) { r.Rule.Prefix = "invoices/" },
			want: func(w *s3types.ReplicationRule) { w.Filter.Prefix = aws.String("invoices/") }},
		{name: "one tag without prefix is a Tag filter",
			give: func(r *spec.Request) { plainOptions(r); r.Rule.Tags = map[string]string{"class": "invoice"} },
			want: func(w *s3types.ReplicationRule) {
				plainRule(w)
				w.Filter = &s3types.ReplicationRuleFilter{Tag: &s3types.Tag{Key: aws.String("class"), Value: aws.String("invoice")}}
			}},
		{name: "a tag with a prefix is an And filter",
			give: func(r *spec.Request) {
				plainOptions(r)
				r.Rule.Prefix = "invoices/"
				r.Rule.Tags = map[string]string{"class": "invoice"}
			},
			want: func(w *s3types.ReplicationRule) {
				plainRule(w)
				w.Filter = &s3types.ReplicationRuleFilter{And: &s3types.ReplicationRuleAndOperator{Prefix: aws.String("invoices/"), Tags: []s3types.Tag{tagOf("class", "invoice")}}}
			}},
		{name: "several tags are an And filter, sorted by key",
			give: func(r *spec.Request) {
				plainOptions(r)
				r.Rule.Tags = map[string]string{"zone": "eu", "class": "invoice"}
			},
			want: func(w *s3types.ReplicationRule) {
				plainRule(w)
				w.Filter = &s3types.ReplicationRuleFilter{And: &s3types.ReplicationRuleAndOperator{Prefix: aws.String(""), Tags: []s3types.Tag{tagOf("class", "invoice"), tagOf("zone", "eu")}}}
			}},
		{name: "metrics without RTC has no event threshold", give: plainOptions, want: plainRule},
		{name: "metrics off",
			give: func(r *spec.Request) { plainOptions(r); r.Rule.Metrics = aws.Bool(false) },
			want: func(w *s3types.ReplicationRule) { plainRule(w); w.Destination.Metrics = nil }},
		{name: "no owner override",
			give: func(r *spec.Request) { r.Rule.OwnerOverride = false },
			want: func(w *s3types.ReplicationRule) { w.Destination.AccessControlTranslation = nil }},
		{name: "owner override asked for, destination enforces bucket ownership",
			give: func(*spec.Request) {}, enforced: true,
			want: func(w *s3types.ReplicationRule) { w.Destination.AccessControlTranslation = nil }},
		{name: "same account has no Destination.Account",
			give: func(r *spec.Request) { r.Destination.Account = r.Source.Account; r.Rule.OwnerOverride = false },
			want: func(w *s3types.ReplicationRule) {
				w.Destination.Account = nil
				w.Destination.AccessControlTranslation = nil
			}},
		{name: "storage class, replica modifications, explicit ID and priority",
			give: func(r *spec.Request) {
				r.Rule.StorageClass = "GLACIER_IR"
				r.Rule.ReplicaModifications = true
				r.Rule.ID = "archive-rule"
				r.Rule.Priority = aws.Int32(3)
			},
			want: func(w *s3types.ReplicationRule) {
				w.Destination.StorageClass = s3types.StorageClassGlacierIr
				w.SourceSelectionCriteria.ReplicaModifications = &s3types.ReplicaModifications{Status: s3types.ReplicaModificationsStatusEnabled}
				w.ID = aws.String("archive-rule")
				w.Priority = aws.Int32(3)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := parsed(t, requestJSON(t, tt.give))
			got := desiredRule(req, ruleTestKey, req.Rule.OwnerOverride && !tt.enforced)
			want := sampleRule()
			tt.want(&want)
			if !equalJSON(got, want) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(want, "", " ")
				t.Errorf("desiredRule =\n%s\nwant\n%s", g, w)
			}
			if !rulesEqual(got, want) {
				t.Error("rulesEqual is false for the rule and itself")
			}
		})
	}
}

// TestRulesEqual: what S3 does to a rule between PutBucketReplication and
// GetBucketReplication (empty prefixes dropped, defaults filled, disabled blocks left out,
// tags reordered) compares equal, so a re-run writes nothing; every real difference does
// not.
func TestRulesEqual(t *testing.T) {
	withoutRTC := func() s3types.ReplicationRule {
		r := sampleRule()
		plainRule(&r)
		return r
	}
	andTags := func() s3types.ReplicationRule {
		r := withoutRTC()
		r.Filter = &s3types.ReplicationRuleFilter{And: &s3types.ReplicationRuleAndOperator{Prefix: aws.String("in/"), Tags: []s3types.Tag{tagOf("a", "1"), tagOf("b", "2")}}}
		return r
	}
	tests := []struct {
		name string
		base func() s3types.ReplicationRule
		edit func(*s3types.ReplicationRule)
		want bool
	}{
		{"identical", sampleRule, func(*s3types.ReplicationRule) {}, true},
		{"empty prefix read back absent", sampleRule, func(r *s3types.ReplicationRule) { r.Filter.Prefix = nil }, true},
		{"empty filter", sampleRule, func(r *s3types.ReplicationRule) { r.Filter = &s3types.ReplicationRuleFilter{} }, true},
		{"storage class left out", sampleRule, func(r *s3types.ReplicationRule) { r.Destination.StorageClass = "" }, true},
		{"replica modifications Disabled", sampleRule, func(r *s3types.ReplicationRule) {
			r.SourceSelectionCriteria.ReplicaModifications = &s3types.ReplicaModifications{Status: s3types.ReplicaModificationsStatusDisabled}
		}, true},
		{"RTC block Disabled", withoutRTC, func(r *s3types.ReplicationRule) {
			r.Destination.ReplicationTime = &s3types.ReplicationTime{Status: s3types.ReplicationTimeStatusDisabled, Time: &s3types.ReplicationTimeValue{Minutes: aws.Int32(15)}}
		}, true},
		{"metrics block Disabled when off", func() s3types.ReplicationRule { r := withoutRTC(); r.Destination.Metrics = nil; return r }, func(r *s3types.ReplicationRule) {
			r.Destination.Metrics = &s3types.Metrics{Status: s3types.MetricsStatusDisabled}
		}, true},
		{"tags reordered", andTags, func(r *s3types.ReplicationRule) {
			r.Filter.And.Tags[0], r.Filter.And.Tags[1] = r.Filter.And.Tags[1], r.Filter.And.Tags[0]
		}, true},
		{"existing-object replication is not the rule's business", sampleRule, func(r *s3types.ReplicationRule) {
			r.ExistingObjectReplication = &s3types.ExistingObjectReplication{Status: s3types.ExistingObjectReplicationStatusDisabled}
		}, true},

		{"another replica key", sampleRule, func(r *s3types.ReplicationRule) {
			r.Destination.EncryptionConfiguration.ReplicaKmsKeyID = aws.String("alias/s3crr-dst")
		}, false},
		{"no replica key", sampleRule, func(r *s3types.ReplicationRule) { r.Destination.EncryptionConfiguration = nil }, false},
		{"another priority", sampleRule, func(r *s3types.ReplicationRule) { r.Priority = aws.Int32(1) }, false},
		{"disabled", sampleRule, func(r *s3types.ReplicationRule) { r.Status = s3types.ReplicationRuleStatusDisabled }, false},
		{"delete markers off", sampleRule, func(r *s3types.ReplicationRule) {
			r.DeleteMarkerReplication.Status = s3types.DeleteMarkerReplicationStatusDisabled
		}, false},
		{"another prefix", sampleRule, func(r *s3types.ReplicationRule) { r.Filter.Prefix = aws.String("x/") }, false},
		{"legacy prefix instead of a filter", sampleRule, func(r *s3types.ReplicationRule) { r.Filter = nil; r.Prefix = aws.String("") }, false},
		{"another tag value", andTags, func(r *s3types.ReplicationRule) { r.Filter.And.Tags[1].Value = aws.String("3") }, false},
		{"another And prefix", andTags, func(r *s3types.ReplicationRule) { r.Filter.And.Prefix = aws.String("out/") }, false},
		{"another storage class", sampleRule, func(r *s3types.ReplicationRule) { r.Destination.StorageClass = s3types.StorageClassGlacier }, false},
		{"another bucket", sampleRule, func(r *s3types.ReplicationRule) { r.Destination.Bucket = aws.String("arn:aws:s3:::other") }, false},
		{"no destination account", sampleRule, func(r *s3types.ReplicationRule) { r.Destination.Account = nil }, false},
		{"no owner override", sampleRule, func(r *s3types.ReplicationRule) { r.Destination.AccessControlTranslation = nil }, false},
		{"no RTC", sampleRule, func(r *s3types.ReplicationRule) { r.Destination.ReplicationTime = nil }, false},
		{"no event threshold", sampleRule, func(r *s3types.ReplicationRule) { r.Destination.Metrics.EventThreshold = nil }, false},
		{"metrics off", withoutRTC, func(r *s3types.ReplicationRule) { r.Destination.Metrics = nil }, false},
		{"SSE-KMS objects not selected", sampleRule, func(r *s3types.ReplicationRule) {
			r.SourceSelectionCriteria.SseKmsEncryptedObjects.Status = s3types.SseKmsEncryptedObjectsStatusDisabled
		}, false},
		{"replica modifications on", sampleRule, func(r *s3types.ReplicationRule) {
			r.SourceSelectionCriteria.ReplicaModifications = &s3types.ReplicaModifications{Status: s3types.ReplicaModificationsStatusEnabled}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.base()
			b := clone(a)
			tt.edit(&b)
			if got := rulesEqual(a, b); got != tt.want {
				t.Errorf("rulesEqual = %v, want %v\n%s\n%s", got, tt.want, normaliseRule(a), normaliseRule(b))
			}
			if got := rulesEqual(b, a); got != tt.want {
				t.Errorf("rulesEqual is not symmetric")
			}
		})
	}
}
