package localaws

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func s3TagString(tags []s3types.Tag) string {
	var out []string
	for _, t := range tags {
		out = append(out, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	sort.Strings(out)
	return strings.Join(out, "&")
}

func TestS3ObjectTagging(t *testing.T) {
	e := newS3Env(t, Options{})
	a := e.bucket(s3A, s3Mumbai, "tags", true)
	// The x-amz-tagging header is a URL-encoded query string.
	v1, err := a.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("k"),
		Body: strings.NewReader("one"), Tagging: aws.String("team=pay%20ments&tier=1")})
	s3Must(t, "PutObject with tags", err)
	get := func(versionID *string) string {
		t.Helper()
		out, err := a.GetObjectTagging(s3Ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k"), VersionId: versionID})
		s3Must(t, "GetObjectTagging", err)
		return s3TagString(out.TagSet)
	}
	if got := get(nil); got != "team=pay ments&tier=1" {
		t.Errorf("tags from the header: %q", got)
	}
	v2, err := a.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("k"), Body: strings.NewReader("two")})
	s3Must(t, "PutObject", err)
	if got := get(nil); got != "" {
		t.Errorf("a new version without tags has %q", got)
	}

	out, err := a.PutObjectTagging(s3Ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k"), VersionId: v1.VersionId,
		Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("old"), Value: aws.String("yes")}}}})
	s3Must(t, "PutObjectTagging by version", err)
	if aws.ToString(out.VersionId) != aws.ToString(v1.VersionId) {
		t.Errorf("PutObjectTagging version %q, want %q", aws.ToString(out.VersionId), aws.ToString(v1.VersionId))
	}
	if got, latest := get(v1.VersionId), get(nil); got != "old=yes" || latest != "" {
		t.Errorf("after tagging version 1: version 1 %q latest %q", got, latest)
	}
	head, err := a.HeadObject(s3Ctx, &s3.HeadObjectInput{Bucket: aws.String("tags"), Key: aws.String("k"), VersionId: v1.VersionId})
	s3Must(t, "HeadObject", err)
	if aws.ToInt32(head.TagCount) != 1 {
		t.Errorf("HeadObject tag count %d, want 1", aws.ToInt32(head.TagCount))
	}
	_, err = a.DeleteObjectTagging(s3Ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k"), VersionId: v1.VersionId})
	s3Must(t, "DeleteObjectTagging", err)
	if got := get(v1.VersionId); got != "" {
		t.Errorf("after DeleteObjectTagging: %q", got)
	}

	// Delete markers have no tags.
	del, err := a.DeleteObject(s3Ctx, &s3.DeleteObjectInput{Bucket: aws.String("tags"), Key: aws.String("k")})
	s3Must(t, "DeleteObject", err)
	_, err = a.GetObjectTagging(s3Ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k")})
	s3WantCode(t, "GetObjectTagging of a deleted key", err, "NoSuchKey")
	_, err = a.GetObjectTagging(s3Ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k"), VersionId: del.VersionId})
	s3WantCode(t, "GetObjectTagging of a delete marker", err, "MethodNotAllowed")
	_, err = a.GetObjectTagging(s3Ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k"), VersionId: v2.VersionId})
	s3Must(t, "GetObjectTagging of an older version under a delete marker", err)
}

func TestS3ObjectTaggingLimits(t *testing.T) {
	e := newS3Env(t, Options{})
	a := e.bucket(s3A, s3Mumbai, "tags", false)
	_, err := a.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("k"), Body: strings.NewReader("x")})
	s3Must(t, "PutObject", err)
	tags := func(n, keyLen, valueLen int) []s3types.Tag {
		var out []s3types.Tag
		for i := range n {
			k := fmt.Sprintf("k%d", i) + strings.Repeat("x", max(0, keyLen-len(fmt.Sprintf("k%d", i))))
			out = append(out, s3types.Tag{Key: aws.String(k), Value: aws.String(strings.Repeat("v", valueLen))})
		}
		return out
	}
	for _, tt := range []struct {
		name     string
		tags     []s3types.Tag
		wantCode string
	}{
		{"10 tags, 128-character keys, 256-character values", tags(10, 128, 256), ""},
		{"11 tags", tags(11, 2, 1), "InvalidTag"},
		{"a 129-character key", tags(1, 129, 1), "InvalidTag"},
		{"a 257-character value", tags(1, 2, 257), "InvalidTag"},
		{"an aws: key", []s3types.Tag{{Key: aws.String("aws:owner"), Value: aws.String("x")}}, "InvalidTag"},
		{"a duplicate key", []s3types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("a"), Value: aws.String("2")}}, "InvalidTag"},
	} {
		_, err := a.PutObjectTagging(s3Ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k"),
			Tagging: &s3types.Tagging{TagSet: tt.tags}})
		if tt.wantCode == "" {
			s3Must(t, tt.name, err)
			continue
		}
		s3WantCode(t, tt.name, err, tt.wantCode)
		if s3HTTPStatus(err) != 400 {
			t.Errorf("%s: status %d, want 400", tt.name, s3HTTPStatus(err))
		}
	}
	_, err = a.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("k2"), Body: strings.NewReader("x"),
		Tagging: aws.String("a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11")})
	s3WantCode(t, "PutObject with 11 tags in x-amz-tagging", err, "InvalidTag")
}

// TestS3ObjectTaggingPermissions checks that a versionId switches each tagging action to its
// Version variant.
func TestS3ObjectTaggingPermissions(t *testing.T) {
	e := newS3Env(t, Options{})
	a := e.bucket(s3A, s3Mumbai, "tags", true)
	put, err := a.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("k"), Body: strings.NewReader("x")})
	s3Must(t, "PutObject", err)
	latestOnly := e.role(s3A, "latest-only", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Action":["s3:GetObjectTagging","s3:PutObjectTagging","s3:DeleteObjectTagging"],"Resource":"arn:aws:s3:::tags/*"}]}`)
	versionsOnly := e.role(s3A, "versions-only", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Action":["s3:GetObjectVersionTagging","s3:PutObjectVersionTagging","s3:DeleteObjectVersionTagging"],"Resource":"arn:aws:s3:::tags/*"}]}`)
	e.clock.advance(time.Hour)
	tagging := &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("a"), Value: aws.String("1")}}}

	for _, tt := range []struct {
		role      string
		versionID *string
		allowed   bool
	}{
		{latestOnly, nil, true},
		{latestOnly, put.VersionId, false},
		{versionsOnly, put.VersionId, true},
		{versionsOnly, nil, false},
	} {
		c := e.as(tt.role, s3Mumbai)
		calls := map[string]error{}
		_, calls["PutObjectTagging"] = c.PutObjectTagging(s3Ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k"), VersionId: tt.versionID, Tagging: tagging})
		_, calls["GetObjectTagging"] = c.GetObjectTagging(s3Ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k"), VersionId: tt.versionID})
		_, calls["DeleteObjectTagging"] = c.DeleteObjectTagging(s3Ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k"), VersionId: tt.versionID})
		for op, err := range calls {
			what := fmt.Sprintf("%s as %s with version %q", op, tt.role, aws.ToString(tt.versionID))
			if tt.allowed {
				s3Must(t, what, err)
			} else {
				s3WantCode(t, what, err, "AccessDenied")
			}
		}
	}
	// Tagging in PutObject needs s3:PutObjectTagging besides s3:PutObject.
	putOnly := e.role(s3A, "put-only", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}`)
	e.clock.advance(time.Hour)
	_, err = e.as(putOnly, s3Mumbai).PutObject(s3Ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("k"),
		Body: strings.NewReader("x"), Tagging: aws.String("a=1")})
	s3WantCode(t, "PutObject with tags without s3:PutObjectTagging", err, "AccessDenied")
}
