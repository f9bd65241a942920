package localaws

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// s3Parts returns n parts: every one but the last 5 MiB (S3's minimum), the last small,
// each filled with a different byte so that a reordering would change the object.
func s3Parts(n int) [][]byte {
	parts := make([][]byte, n)
	for i := range parts {
		size := s3MinPartSize
		if i == n-1 {
			size = 1000 + i
		}
		parts[i] = bytes.Repeat([]byte{byte('a' + i)}, size)
	}
	return parts
}

// s3WantMultipartETag computes S3's multipart ETag independently of the simulator.
func s3WantMultipartETag(parts [][]byte) string {
	var sums []byte
	for _, p := range parts {
		sum := md5.Sum(p)
		sums = append(sums, sum[:]...)
	}
	all := md5.Sum(sums)
	return `"` + hex.EncodeToString(all[:]) + "-" + strconv.Itoa(len(parts)) + `"`
}

// s3Multipart uploads parts to bucket/key with c and completes the upload; it returns the
// completion's output.
func s3Multipart(t *testing.T, c *s3.Client, bucket, key string, parts [][]byte, create func(*s3.CreateMultipartUploadInput)) *s3.CompleteMultipartUploadOutput {
	t.Helper()
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if create != nil {
		create(in)
	}
	up, err := c.CreateMultipartUpload(s3Ctx, in)
	s3Must(t, "CreateMultipartUpload", err)
	var done []s3types.CompletedPart
	for i, p := range parts {
		out, err := c.UploadPart(s3Ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key),
			UploadId: up.UploadId, PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		s3Must(t, "UploadPart", err)
		done = append(done, s3types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag})
	}
	out, err := c.CompleteMultipartUpload(s3Ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key),
		UploadId: up.UploadId, MultipartUpload: &s3types.CompletedMultipartUpload{Parts: done}})
	s3Must(t, "CompleteMultipartUpload", err)
	return out
}

func TestS3MultipartUploadSSEKMS(t *testing.T) {
	e := newS3Env(t, Options{})
	a := e.bucket(s3A, s3Mumbai, "big", true)
	keyARN := e.key(s3A, s3Mumbai)
	parts := s3Parts(3)

	up, err := a.CreateMultipartUpload(s3Ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("dir/file.bin"),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String(keyARN),
		ContentType: aws.String("application/x-test"), Metadata: map[string]string{"origin": "mpu"}, Tagging: aws.String("class=big")})
	s3Must(t, "CreateMultipartUpload", err)
	if aws.ToString(up.SSEKMSKeyId) != keyARN || up.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms {
		t.Errorf("create answered encryption %q key %q, want aws:kms with %s", up.ServerSideEncryption, aws.ToString(up.SSEKMSKeyId), keyARN)
	}
	var done []s3types.CompletedPart
	// Parts arrive out of order, as concurrent uploaders send them.
	for _, i := range []int{2, 0, 1} {
		out, err := a.UploadPart(s3Ctx, &s3.UploadPartInput{Bucket: aws.String("big"), Key: aws.String("dir/file.bin"),
			UploadId: up.UploadId, PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(parts[i])})
		s3Must(t, "UploadPart", err)
		sum := md5.Sum(parts[i])
		if want := `"` + hex.EncodeToString(sum[:]) + `"`; aws.ToString(out.ETag) != want {
			t.Errorf("part %d ETag %s, want its MD5 %s", i+1, aws.ToString(out.ETag), want)
		}
		done = append(done, s3types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag})
	}
	lp, err := a.ListParts(s3Ctx, &s3.ListPartsInput{Bucket: aws.String("big"), Key: aws.String("dir/file.bin"), UploadId: up.UploadId, MaxParts: aws.Int32(2)})
	s3Must(t, "ListParts", err)
	if len(lp.Parts) != 2 || aws.ToInt32(lp.Parts[0].PartNumber) != 1 || aws.ToInt32(lp.Parts[1].PartNumber) != 2 ||
		!aws.ToBool(lp.IsTruncated) || aws.ToString(lp.NextPartNumberMarker) != "2" || aws.ToInt64(lp.Parts[0].Size) != s3MinPartSize {
		t.Errorf("ListParts page 1 = %+v", lp)
	}
	lp, err = a.ListParts(s3Ctx, &s3.ListPartsInput{Bucket: aws.String("big"), Key: aws.String("dir/file.bin"), UploadId: up.UploadId, PartNumberMarker: aws.String("2")})
	s3Must(t, "ListParts page 2", err)
	if len(lp.Parts) != 1 || aws.ToInt32(lp.Parts[0].PartNumber) != 3 || aws.ToBool(lp.IsTruncated) {
		t.Errorf("ListParts page 2 = %+v", lp.Parts)
	}
	// Both listings describe the upload the same way: key, ID, initiator, owner, storage class.
	if aws.ToString(lp.Key) != "dir/file.bin" || aws.ToString(lp.UploadId) != aws.ToString(up.UploadId) ||
		lp.Initiator == nil || aws.ToString(lp.Initiator.ID) == "" || lp.Owner == nil || lp.StorageClass != s3types.StorageClassStandard {
		t.Errorf("ListParts describes the upload as key %q id %q initiator %+v owner %+v class %q",
			aws.ToString(lp.Key), aws.ToString(lp.UploadId), lp.Initiator, lp.Owner, lp.StorageClass)
	}
	lu, err := a.ListMultipartUploads(s3Ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("big")})
	s3Must(t, "ListMultipartUploads", err)
	if len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].UploadId) != aws.ToString(up.UploadId) || aws.ToString(lu.Uploads[0].Key) != "dir/file.bin" {
		t.Errorf("ListMultipartUploads = %+v", lu.Uploads)
	}
	if len(lu.Uploads) == 0 {
		t.FailNow()
	}
	if u := lu.Uploads[0]; lp.Initiator == nil || u.Initiator == nil || aws.ToString(u.Initiator.ID) != aws.ToString(lp.Initiator.ID) ||
		u.Owner == nil || lp.Owner == nil || aws.ToString(u.Owner.ID) != aws.ToString(lp.Owner.ID) ||
		string(u.StorageClass) != string(lp.StorageClass) || u.Initiated == nil {
		t.Errorf("ListMultipartUploads describes the upload as %+v, ListParts as initiator %+v owner %+v class %q", u, lp.Initiator, lp.Owner, lp.StorageClass)
	}

	// Complete lists the parts in order, whatever order they were uploaded in.
	ordered := []s3types.CompletedPart{done[1], done[2], done[0]}
	out, err := a.CompleteMultipartUpload(s3Ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("dir/file.bin"),
		UploadId: up.UploadId, MultipartUpload: &s3types.CompletedMultipartUpload{Parts: ordered}})
	s3Must(t, "CompleteMultipartUpload", err)
	if want := s3WantMultipartETag(parts); aws.ToString(out.ETag) != want {
		t.Errorf("object ETag %s, want %s", aws.ToString(out.ETag), want)
	}
	if aws.ToString(out.VersionId) == "" || aws.ToString(out.SSEKMSKeyId) != keyARN {
		t.Errorf("complete: version %q key %q", aws.ToString(out.VersionId), aws.ToString(out.SSEKMSKeyId))
	}

	get, err := a.GetObject(s3Ctx, &s3.GetObjectInput{Bucket: aws.String("big"), Key: aws.String("dir/file.bin")})
	s3Must(t, "GetObject", err)
	if body := s3Body(t, get); body != string(bytes.Join(parts, nil)) {
		t.Errorf("object body differs from the concatenated parts (%d bytes, want %d)", len(body), len(bytes.Join(parts, nil)))
	}
	if aws.ToString(get.SSEKMSKeyId) != keyARN || aws.ToString(get.ContentType) != "application/x-test" ||
		get.Metadata["origin"] != "mpu" || aws.ToInt32(get.TagCount) != 1 || aws.ToString(get.ETag) != aws.ToString(out.ETag) {
		t.Errorf("GetObject key %q type %q metadata %v tags %d etag %s", aws.ToString(get.SSEKMSKeyId),
			aws.ToString(get.ContentType), get.Metadata, aws.ToInt32(get.TagCount), aws.ToString(get.ETag))
	}
	// Reads by part number, as parallel downloaders do.
	gp, err := a.GetObject(s3Ctx, &s3.GetObjectInput{Bucket: aws.String("big"), Key: aws.String("dir/file.bin"), PartNumber: aws.Int32(2)})
	s3Must(t, "GetObject part 2", err)
	if body := s3Body(t, gp); body != string(parts[1]) || aws.ToInt32(gp.PartsCount) != 3 ||
		aws.ToString(gp.ContentRange) != fmt.Sprintf("bytes %d-%d/%d", s3MinPartSize, 2*s3MinPartSize-1, 2*s3MinPartSize+len(parts[2])) {
		t.Errorf("GetObject part 2: %d bytes, parts count %d, range %q", len(body), aws.ToInt32(gp.PartsCount), aws.ToString(gp.ContentRange))
	}
	hp, err := a.HeadObject(s3Ctx, &s3.HeadObjectInput{Bucket: aws.String("big"), Key: aws.String("dir/file.bin"), PartNumber: aws.Int32(3)})
	s3Must(t, "HeadObject part 3", err)
	if aws.ToInt64(hp.ContentLength) != int64(len(parts[2])) || aws.ToInt32(hp.PartsCount) != 3 {
		t.Errorf("HeadObject part 3: length %d parts count %d", aws.ToInt64(hp.ContentLength), aws.ToInt32(hp.PartsCount))
	}
	_, err = a.GetObject(s3Ctx, &s3.GetObjectInput{Bucket: aws.String("big"), Key: aws.String("dir/file.bin"), PartNumber: aws.Int32(4)})
	s3WantCode(t, "GetObject of part 4 of 3", err, "InvalidPartNumber")

	lu, err = a.ListMultipartUploads(s3Ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("big")})
	s3Must(t, "ListMultipartUploads after completion", err)
	if len(lu.Uploads) != 0 {
		t.Errorf("%d uploads listed after completion, want 0", len(lu.Uploads))
	}
	_, err = a.UploadPart(s3Ctx, &s3.UploadPartInput{Bucket: aws.String("big"), Key: aws.String("dir/file.bin"),
		UploadId: up.UploadId, PartNumber: aws.Int32(4), Body: strings.NewReader("late")})
	s3WantCode(t, "UploadPart after completion", err, "NoSuchUpload")
}

func TestS3MultipartUploadErrors(t *testing.T) {
	e := newS3Env(t, Options{})
	a := e.bucket(s3A, s3Mumbai, "big", false)
	create := func() *string {
		up, err := a.CreateMultipartUpload(s3Ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("k")})
		s3Must(t, "CreateMultipartUpload", err)
		return up.UploadId
	}
	upload := func(id *string, n int32, body string) *string {
		out, err := a.UploadPart(s3Ctx, &s3.UploadPartInput{Bucket: aws.String("big"), Key: aws.String("k"), UploadId: id,
			PartNumber: aws.Int32(n), Body: strings.NewReader(body)})
		s3Must(t, "UploadPart", err)
		return out.ETag
	}
	complete := func(id *string, parts ...s3types.CompletedPart) error {
		_, err := a.CompleteMultipartUpload(s3Ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("k"),
			UploadId: id, MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}})
		return err
	}
	part := func(n int32, etag *string) s3types.CompletedPart {
		return s3types.CompletedPart{PartNumber: aws.Int32(n), ETag: etag}
	}

	id := create()
	e1, e2 := upload(id, 1, "small first part"), upload(id, 2, "last")
	s3WantCode(t, "a first part under 5 MiB", complete(id, part(1, e1), part(2, e2)), "EntityTooSmall")
	s3WantCode(t, "parts out of order", complete(id, part(2, e2), part(1, e1)), "InvalidPartOrder")
	s3WantCode(t, "a wrong ETag", complete(id, part(1, e2)), "InvalidPart")
	s3WantCode(t, "a part never uploaded", complete(id, part(3, e1)), "InvalidPart")
	_, err := a.UploadPart(s3Ctx, &s3.UploadPartInput{Bucket: aws.String("big"), Key: aws.String("k"), UploadId: id,
		PartNumber: aws.Int32(10001), Body: strings.NewReader("x")})
	s3WantCode(t, "part number 10001", err, "InvalidArgument")

	// A single small part is a valid upload: only non-last parts have a minimum.
	s3Must(t, "complete with the last part alone", complete(id, part(2, e2)))
	head, err := a.HeadObject(s3Ctx, &s3.HeadObjectInput{Bucket: aws.String("big"), Key: aws.String("k")})
	s3Must(t, "HeadObject", err)
	if aws.ToInt64(head.ContentLength) != 4 || !strings.HasSuffix(aws.ToString(head.ETag), `-1"`) {
		t.Errorf("object of one part: length %d ETag %s, want 4 bytes and a -1 ETag", aws.ToInt64(head.ContentLength), aws.ToString(head.ETag))
	}

	id = create()
	upload(id, 1, "x")
	_, err = a.AbortMultipartUpload(s3Ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("k"), UploadId: id})
	s3Must(t, "AbortMultipartUpload", err)
	_, err = a.ListParts(s3Ctx, &s3.ListPartsInput{Bucket: aws.String("big"), Key: aws.String("k"), UploadId: id})
	s3WantCode(t, "ListParts after abort", err, "NoSuchUpload")
	_, err = a.AbortMultipartUpload(s3Ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("other"), UploadId: create()})
	s3WantCode(t, "abort naming another key", err, "NoSuchUpload")
}

// TestS3MultipartPermissions checks the actions each call needs: s3:PutObject for create,
// parts and complete, s3:AbortMultipartUpload and s3:ListMultipartUploadParts of their own,
// and with SSE-KMS kms:GenerateDataKey at create and kms:Decrypt for every part.
func TestS3MultipartPermissions(t *testing.T) {
	e := newS3Env(t, Options{})
	e.bucket(s3A, s3Mumbai, "big", false)
	keyARN := e.key(s3A, s3Mumbai)
	putOnly := e.role(s3A, "put-only", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:PutObject","kms:GenerateDataKey"],"Resource":"*"}]}`)
	full := e.role(s3A, "full", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:PutObject","s3:AbortMultipartUpload","s3:ListMultipartUploadParts","kms:GenerateDataKey","kms:Decrypt"],"Resource":"*"}]}`)
	e.clock.advance(time.Hour)

	kmsCreate := func(in *s3.CreateMultipartUploadInput) {
		in.ServerSideEncryption, in.SSEKMSKeyId = s3types.ServerSideEncryptionAwsKms, aws.String(keyARN)
	}
	p := e.as(putOnly, s3Mumbai)
	s3Multipart(t, p, "big", "plain", s3Parts(2), nil)

	up, err := p.CreateMultipartUpload(s3Ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("k")})
	s3Must(t, "CreateMultipartUpload with s3:PutObject", err)
	_, err = p.ListParts(s3Ctx, &s3.ListPartsInput{Bucket: aws.String("big"), Key: aws.String("k"), UploadId: up.UploadId})
	s3WantCode(t, "ListParts without s3:ListMultipartUploadParts", err, "AccessDenied")
	_, err = p.AbortMultipartUpload(s3Ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("k"), UploadId: up.UploadId})
	s3WantCode(t, "AbortMultipartUpload without s3:AbortMultipartUpload", err, "AccessDenied")

	// SSE-KMS: creating needs only kms:GenerateDataKey; the first part needs kms:Decrypt.
	kup := &s3.CreateMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("sealed")}
	kmsCreate(kup)
	up, err = p.CreateMultipartUpload(s3Ctx, kup)
	s3Must(t, "SSE-KMS CreateMultipartUpload with kms:GenerateDataKey", err)
	_, err = p.UploadPart(s3Ctx, &s3.UploadPartInput{Bucket: aws.String("big"), Key: aws.String("sealed"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
	s3WantCode(t, "SSE-KMS UploadPart without kms:Decrypt", err, "AccessDenied")
	if !strings.Contains(s3Message(err), "kms:Decrypt") {
		t.Errorf("denial %q does not name kms:Decrypt", s3Message(err))
	}

	f := e.as(full, s3Mumbai)
	out := s3Multipart(t, f, "big", "sealed", s3Parts(2), kmsCreate)
	if aws.ToString(out.SSEKMSKeyId) != keyARN {
		t.Errorf("sealed object key %q, want %s", aws.ToString(out.SSEKMSKeyId), keyARN)
	}
	_, err = f.ListParts(s3Ctx, &s3.ListPartsInput{Bucket: aws.String("big"), Key: aws.String("k"), UploadId: up.UploadId})
	s3WantCode(t, "ListParts of an upload whose key is another", err, "NoSuchUpload")

	// Another account may not write into A's bucket through any of the calls.
	_, err = e.client(s3B, s3Mumbai).CreateMultipartUpload(s3Ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("k")})
	s3WantCode(t, "cross-account CreateMultipartUpload", err, "AccessDenied")
}
