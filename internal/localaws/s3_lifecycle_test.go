package localaws

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func lifecycleRule(id, prefix string) s3types.LifecycleRule {
	return s3types.LifecycleRule{ID: aws.String(id), Status: s3types.ExpirationStatusEnabled,
		Filter:     &s3types.LifecycleRuleFilter{Prefix: aws.String(prefix)},
		Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(1)}}
}

// The lifecycle configuration is stored and validated as S3 documents it: Get of none is
// NoSuchLifecycleConfiguration, Put replaces the whole configuration and Get returns
// every rule with every element, overlapping prefixes are accepted, and the documented
// constraints are refused.
func TestS3LifecycleConfiguration(t *testing.T) {
	e := newS3Env(t, Options{})
	a := e.bucket(s3A, s3Mumbai, "life", true)
	_, err := a.GetBucketLifecycleConfiguration(s3Ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("life")})
	s3WantCode(t, "GetBucketLifecycleConfiguration of none", err, "NoSuchLifecycleConfiguration")

	full := lifecycleRule("full", "logs/")
	full.NoncurrentVersionExpiration = &s3types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(3), NewerNoncurrentVersions: aws.Int32(2)}
	full.AbortIncompleteMultipartUpload = &s3types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(7)}
	full.Transitions = []s3types.Transition{{Days: aws.Int32(30), StorageClass: s3types.TransitionStorageClassStandardIa}}
	put := func(rules ...s3types.LifecycleRule) error {
		_, err := a.PutBucketLifecycleConfiguration(s3Ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("life"),
			LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: rules}})
		return err
	}
	// "logs/" and "logs/debug/" overlap: S3 accepts that and resolves conflicts when acting.
	s3Must(t, "PutBucketLifecycleConfiguration", put(full, lifecycleRule("nested", "logs/debug/")))
	got, err := a.GetBucketLifecycleConfiguration(s3Ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("life")})
	s3Must(t, "GetBucketLifecycleConfiguration", err)
	if len(got.Rules) != 2 {
		t.Fatalf("rules = %d, want 2", len(got.Rules))
	}
	r := got.Rules[0]
	if aws.ToString(r.ID) != "full" || aws.ToString(r.Filter.Prefix) != "logs/" || aws.ToInt32(r.Expiration.Days) != 1 ||
		aws.ToInt32(r.NoncurrentVersionExpiration.NoncurrentDays) != 3 || aws.ToInt32(r.NoncurrentVersionExpiration.NewerNoncurrentVersions) != 2 ||
		aws.ToInt32(r.AbortIncompleteMultipartUpload.DaysAfterInitiation) != 7 || len(r.Transitions) != 1 || r.Transitions[0].StorageClass != s3types.TransitionStorageClassStandardIa {
		t.Errorf("rule read back = %+v, want every element as put", r)
	}

	// Put replaces: the second configuration has only one rule.
	s3Must(t, "PutBucketLifecycleConfiguration again", put(lifecycleRule("only", "")))
	got, err = a.GetBucketLifecycleConfiguration(s3Ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("life")})
	s3Must(t, "GetBucketLifecycleConfiguration", err)
	if len(got.Rules) != 1 || aws.ToString(got.Rules[0].ID) != "only" {
		t.Errorf("after a second Put: %d rules, want the one put", len(got.Rules))
	}

	marker := lifecycleRule("marker", "x/")
	marker.Expiration.ExpiredObjectDeleteMarker = aws.Bool(true)
	noAction := s3types.LifecycleRule{ID: aws.String("none"), Status: s3types.ExpirationStatusEnabled, Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String("y/")}}
	zero := lifecycleRule("zero", "z/")
	zero.Expiration.Days = aws.Int32(0)
	tagged := s3types.LifecycleRule{ID: aws.String("tagged"), Status: s3types.ExpirationStatusEnabled,
		Filter:                         &s3types.LifecycleRuleFilter{Tag: &s3types.Tag{Key: aws.String("k"), Value: aws.String("v")}},
		AbortIncompleteMultipartUpload: &s3types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(1)}}
	many := make([]s3types.LifecycleRule, s3LifecycleMaxRules+1)
	for i := range many {
		many[i] = lifecycleRule(fmt.Sprintf("r%d", i), fmt.Sprintf("p%d/", i))
	}
	for _, tt := range []struct {
		name  string
		rules []s3types.LifecycleRule
		code  string
	}{
		{"ExpiredObjectDeleteMarker with Days", []s3types.LifecycleRule{marker}, "MalformedXML"},
		{"no action", []s3types.LifecycleRule{noAction}, "InvalidRequest"},
		{"zero days", []s3types.LifecycleRule{zero}, "InvalidArgument"},
		{"duplicate IDs", []s3types.LifecycleRule{lifecycleRule("d", "a/"), lifecycleRule("d", "b/")}, "InvalidArgument"},
		{"ID over 255", []s3types.LifecycleRule{lifecycleRule(strings.Repeat("i", 256), "a/")}, "InvalidArgument"},
		{"abort with a tag filter", []s3types.LifecycleRule{tagged}, "InvalidRequest"},
		{"1,001 rules", many, "InvalidRequest"},
	} {
		s3WantCode(t, tt.name, put(tt.rules...), tt.code)
	}
	// A refused Put changed nothing.
	got, err = a.GetBucketLifecycleConfiguration(s3Ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("life")})
	s3Must(t, "GetBucketLifecycleConfiguration", err)
	if len(got.Rules) != 1 || aws.ToString(got.Rules[0].ID) != "only" {
		t.Errorf("a refused Put changed the configuration: %d rules", len(got.Rules))
	}

	_, err = a.DeleteBucketLifecycle(s3Ctx, &s3.DeleteBucketLifecycleInput{Bucket: aws.String("life")})
	s3Must(t, "DeleteBucketLifecycle", err)
	_, err = a.GetBucketLifecycleConfiguration(s3Ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("life")})
	s3WantCode(t, "GetBucketLifecycleConfiguration after Delete", err, "NoSuchLifecycleConfiguration")
	_, err = a.DeleteBucketLifecycle(s3Ctx, &s3.DeleteBucketLifecycleInput{Bucket: aws.String("life")})
	s3Must(t, "DeleteBucketLifecycle of none", err)
}

// Get needs s3:GetLifecycleConfiguration; Put and Delete both need
// s3:PutLifecycleConfiguration, as S3 documents for DeleteBucketLifecycle.
func TestS3LifecycleConfigurationActions(t *testing.T) {
	e := newS3Env(t, Options{})
	e.bucket(s3A, s3Mumbai, "life", true)
	readOnly := e.as(e.role(s3A, "reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetLifecycleConfiguration","Resource":"arn:aws:s3:::life"}]}`), s3Mumbai)
	_, err := readOnly.GetBucketLifecycleConfiguration(s3Ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("life")})
	s3WantCode(t, "Get as the reader", err, "NoSuchLifecycleConfiguration")
	_, err = readOnly.PutBucketLifecycleConfiguration(s3Ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("life"),
		LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{lifecycleRule("a", "a/")}}})
	s3WantCode(t, "Put as the reader", err, "AccessDenied")
	_, err = readOnly.DeleteBucketLifecycle(s3Ctx, &s3.DeleteBucketLifecycleInput{Bucket: aws.String("life")})
	s3WantCode(t, "Delete as the reader", err, "AccessDenied")
	writer := e.as(e.role(s3A, "writer", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutLifecycleConfiguration","Resource":"arn:aws:s3:::life"}]}`), s3Mumbai)
	_, err = writer.DeleteBucketLifecycle(s3Ctx, &s3.DeleteBucketLifecycleInput{Bucket: aws.String("life")})
	s3Must(t, "Delete as the writer", err)
	_, err = writer.GetBucketLifecycleConfiguration(s3Ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("life")})
	s3WantCode(t, "Get as the writer", err, "AccessDenied")
}
