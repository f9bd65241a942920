package localaws

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestS3CopyObject(t *testing.T) {
	e := newS3Env(t, Options{})
	a := e.bucket(s3A, s3Mumbai, "src", true)
	e.bucket(s3A, s3Mumbai, "dst", true)
	keyARN := e.key(s3A, s3Mumbai)
	v1, err := a.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("a b.txt"), Body: strings.NewReader("first"),
		ContentType: aws.String("text/plain"), Metadata: map[string]string{"origin": "src"}, Tagging: aws.String("t=1"),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String(keyARN)})
	s3Must(t, "PutObject", err)
	_, err = a.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("a b.txt"), Body: strings.NewReader("second")})
	s3Must(t, "PutObject 2", err)

	// COPY directives, an older version by ID, a key that needs URL encoding; the copy takes
	// the target bucket's default encryption (SSE-S3), not the source's SSE-KMS.
	out, err := a.CopyObject(s3Ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy.txt"),
		CopySource: aws.String("src/a%20b.txt?versionId=" + aws.ToString(v1.VersionId))})
	s3Must(t, "CopyObject of version 1", err)
	if aws.ToString(out.CopySourceVersionId) != aws.ToString(v1.VersionId) || aws.ToString(out.VersionId) == "" ||
		out.CopyObjectResult == nil || aws.ToString(out.CopyObjectResult.ETag) == "" || out.ServerSideEncryption != s3types.ServerSideEncryptionAes256 {
		t.Errorf("CopyObject = source version %q version %q result %+v encryption %q", aws.ToString(out.CopySourceVersionId),
			aws.ToString(out.VersionId), out.CopyObjectResult, out.ServerSideEncryption)
	}
	get, err := a.GetObject(s3Ctx, &s3.GetObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy.txt")})
	s3Must(t, "GetObject of the copy", err)
	if body := s3Body(t, get); body != "first" || aws.ToString(get.ContentType) != "text/plain" || get.Metadata["origin"] != "src" || aws.ToInt32(get.TagCount) != 1 {
		t.Errorf("copy: body %q type %q metadata %v tags %d", body, aws.ToString(get.ContentType), get.Metadata, aws.ToInt32(get.TagCount))
	}

	// REPLACE directives, SSE-KMS asked for on the copy.
	_, err = a.CopyObject(s3Ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("replaced.txt"), CopySource: aws.String("/src/a%20b.txt"),
		MetadataDirective: s3types.MetadataDirectiveReplace, ContentType: aws.String("text/csv"), Metadata: map[string]string{"new": "1"},
		TaggingDirective: s3types.TaggingDirectiveReplace, Tagging: aws.String("x=1&y=2"),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String(keyARN)})
	s3Must(t, "CopyObject with REPLACE", err)
	head, err := a.HeadObject(s3Ctx, &s3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String("replaced.txt")})
	s3Must(t, "HeadObject of the replaced copy", err)
	if aws.ToString(head.ContentType) != "text/csv" || head.Metadata["new"] != "1" || head.Metadata["origin"] != "" ||
		aws.ToInt32(head.TagCount) != 2 || aws.ToString(head.SSEKMSKeyId) != keyARN || aws.ToInt64(head.ContentLength) != 6 {
		t.Errorf("replaced copy: type %q metadata %v tags %d key %q length %d", aws.ToString(head.ContentType), head.Metadata,
			aws.ToInt32(head.TagCount), aws.ToString(head.SSEKMSKeyId), aws.ToInt64(head.ContentLength))
	}

	_, err = a.CopyObject(s3Ctx, &s3.CopyObjectInput{Bucket: aws.String("src"), Key: aws.String("a b.txt"), CopySource: aws.String("src/a%20b.txt")})
	s3WantCode(t, "copy onto itself without changes", err, "InvalidRequest")
	_, err = a.CopyObject(s3Ctx, &s3.CopyObjectInput{Bucket: aws.String("src"), Key: aws.String("a b.txt"), CopySource: aws.String("src/a%20b.txt"),
		MetadataDirective: s3types.MetadataDirectiveReplace, Metadata: map[string]string{"touched": "1"}})
	s3Must(t, "copy onto itself with new metadata", err)
	_, err = a.CopyObject(s3Ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("x"), CopySource: aws.String("src/missing")})
	s3WantCode(t, "copy of a missing key", err, "NoSuchKey")
}

// TestS3CopyObjectPermissions checks both sides: s3:GetObject (s3:GetObjectVersion with a
// versionId) on the source, s3:PutObject on the target, kms:Decrypt of an SSE-KMS source.
func TestS3CopyObjectPermissions(t *testing.T) {
	e := newS3Env(t, Options{})
	a := e.bucket(s3A, s3Mumbai, "src", true)
	e.bucket(s3A, s3Mumbai, "dst", true)
	keyARN := e.key(s3A, s3Mumbai)
	plain, err := a.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("plain"), Body: strings.NewReader("p")})
	s3Must(t, "PutObject", err)
	_, err = a.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("sealed"), Body: strings.NewReader("s"),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String(keyARN)})
	s3Must(t, "PutObject sealed", err)
	copier := e.role(s3A, "copier", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::src/*"},
		{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::dst/*"}]}`)
	e.clock.advance(time.Hour)
	c := e.as(copier, s3Mumbai)
	copyTo := func(bucket, source string) error {
		_, err := c.CopyObject(s3Ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("copy"), CopySource: aws.String(source)})
		return err
	}
	s3Must(t, "copy with s3:GetObject and s3:PutObject", copyTo("dst", "src/plain"))
	s3WantCode(t, "copy by version without s3:GetObjectVersion", copyTo("dst", "src/plain?versionId="+aws.ToString(plain.VersionId)), "AccessDenied")
	s3WantCode(t, "copy into a bucket without s3:PutObject", copyTo("src", "src/plain"), "AccessDenied")
	err = copyTo("dst", "src/sealed")
	s3WantCode(t, "copy of an SSE-KMS source without kms:Decrypt", err, "AccessDenied")
	if !strings.Contains(s3Message(err), "kms:Decrypt") {
		t.Errorf("denial %q does not name kms:Decrypt", s3Message(err))
	}
}
