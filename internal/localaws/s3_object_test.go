package localaws

import (
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestS3ObjectsUnversioned(t *testing.T) {
	e := newS3Env(t, Options{})
	c := e.bucket(s3A, s3Mumbai, "plain-objects", false)
	b := aws.String("plain-objects")

	put, err := c.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("dir/hello.txt"), Body: strings.NewReader("hello world"),
		ContentType: aws.String("text/plain"), Metadata: map[string]string{"origin": "test"}, Tagging: aws.String("a=1&b=2"),
		StorageClass: s3types.StorageClassStandardIa})
	s3Must(t, "PutObject", err)
	if put.VersionId != nil || put.ServerSideEncryption != s3types.ServerSideEncryptionAes256 || aws.ToString(put.ETag) != `"5eb63bbbe01eeed093cb22bb8f5acdc3"` {
		t.Errorf("PutObject: version %v sse %q etag %s", put.VersionId, put.ServerSideEncryption, aws.ToString(put.ETag))
	}
	head, err := c.HeadObject(s3Ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("dir/hello.txt")})
	s3Must(t, "HeadObject", err)
	if aws.ToInt64(head.ContentLength) != 11 || aws.ToString(head.ContentType) != "text/plain" || head.Metadata["origin"] != "test" ||
		head.StorageClass != s3types.StorageClassStandardIa || head.VersionId != nil || head.ServerSideEncryption != s3types.ServerSideEncryptionAes256 ||
		head.LastModified == nil || !head.LastModified.Equal(e.clock.Now()) {
		t.Errorf("HeadObject: %+v", head)
	}
	get, err := c.GetObject(s3Ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("dir/hello.txt")})
	s3Must(t, "GetObject", err)
	if aws.ToInt32(get.TagCount) != 2 {
		t.Errorf("tag count %d", aws.ToInt32(get.TagCount))
	}
	if body := s3Body(t, get); body != "hello world" {
		t.Errorf("body %q", body)
	}
	// Stored encrypted, not as plaintext.
	e.s.mu.Lock()
	stored := string(e.s.buckets["plain-objects"].objects["dir/hello.txt"][0].data)
	e.s.mu.Unlock()
	if strings.Contains(stored, "hello") {
		t.Error("object data is stored in plaintext")
	}

	ranges := []struct{ give, want, wantRange string }{
		{"bytes=0-4", "hello", "bytes 0-4/11"},
		{"bytes=6-", "world", "bytes 6-10/11"},
		{"bytes=-3", "rld", "bytes 8-10/11"},
	}
	for _, tt := range ranges {
		out, err := c.GetObject(s3Ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("dir/hello.txt"), Range: aws.String(tt.give)})
		s3Must(t, "GetObject "+tt.give, err)
		if body := s3Body(t, out); body != tt.want || aws.ToString(out.ContentRange) != tt.wantRange {
			t.Errorf("%s: %q %q, want %q %q", tt.give, body, aws.ToString(out.ContentRange), tt.want, tt.wantRange)
		}
	}
	_, err = c.GetObject(s3Ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("dir/hello.txt"), Range: aws.String("bytes=20-")})
	s3WantCode(t, "unsatisfiable range", err, "InvalidRange")

	_, err = c.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("x"), Body: strings.NewReader("x"), StorageClass: "FAST"})
	s3WantCode(t, "unknown storage class", err, "InvalidStorageClass")
	_, err = c.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("x"), Body: strings.NewReader("x"), SSEKMSKeyId: aws.String("alias/k")})
	s3WantCode(t, "KMS key without aws:kms", err, "InvalidArgument")

	del, err := c.DeleteObject(s3Ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("dir/hello.txt")})
	s3Must(t, "DeleteObject", err)
	if aws.ToBool(del.DeleteMarker) || del.VersionId != nil {
		t.Errorf("unversioned delete returned a delete marker: %+v", del)
	}
	_, err = c.GetObject(s3Ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("dir/hello.txt")})
	s3WantCode(t, "GetObject after delete", err, "NoSuchKey")
	_, err = c.HeadObject(s3Ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("dir/hello.txt")})
	s3WantCode(t, "HeadObject after delete", err, "NotFound")
	_, err = c.DeleteObject(s3Ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("never-there")})
	s3Must(t, "DeleteObject of a missing key", err)
}

func TestS3ObjectsVersioned(t *testing.T) {
	e := newS3Env(t, Options{})
	c := e.bucket(s3A, s3Mumbai, "versioned-objects", true)
	b, k := aws.String("versioned-objects"), aws.String("doc.txt")
	put := func(body string) string {
		t.Helper()
		out, err := c.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: strings.NewReader(body)})
		s3Must(t, "PutObject", err)
		return aws.ToString(out.VersionId)
	}
	v1, v2 := put("one"), put("two")
	if v1 == "" || v2 == "" || v1 == v2 || v1 == "null" {
		t.Fatalf("version IDs %q %q", v1, v2)
	}
	read := func(versionID string) (string, error) {
		in := &s3.GetObjectInput{Bucket: b, Key: k}
		if versionID != "" {
			in.VersionId = aws.String(versionID)
		}
		out, err := c.GetObject(s3Ctx, in)
		if err != nil {
			return "", err
		}
		if aws.ToString(out.VersionId) != versionID && versionID != "" {
			t.Errorf("GetObject version %q, want %q", aws.ToString(out.VersionId), versionID)
		}
		return s3Body(t, out), nil
	}
	if got, err := read(""); err != nil || got != "two" {
		t.Errorf("latest = %q %v", got, err)
	}
	if got, err := read(v1); err != nil || got != "one" {
		t.Errorf("v1 = %q %v", got, err)
	}

	del, err := c.DeleteObject(s3Ctx, &s3.DeleteObjectInput{Bucket: b, Key: k})
	s3Must(t, "DeleteObject", err)
	marker := aws.ToString(del.VersionId)
	if !aws.ToBool(del.DeleteMarker) || marker == "" || marker == v2 {
		t.Fatalf("delete returned %+v, want a new delete marker", del)
	}
	_, err = read("")
	s3WantCode(t, "GetObject behind a delete marker", err, "NoSuchKey")
	_, err = c.HeadObject(s3Ctx, &s3.HeadObjectInput{Bucket: b, Key: k, VersionId: aws.String(marker)})
	if s3HTTPStatus(err) != http.StatusMethodNotAllowed {
		t.Errorf("HeadObject of a delete marker by version: %v, want 405", err)
	}
	_, err = read("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")
	s3WantCode(t, "GetObject of a version that does not exist", err, "NoSuchVersion")

	versions, err := c.ListObjectVersions(s3Ctx, &s3.ListObjectVersionsInput{Bucket: b})
	s3Must(t, "ListObjectVersions", err)
	if len(versions.Versions) != 2 || len(versions.DeleteMarkers) != 1 || !aws.ToBool(versions.DeleteMarkers[0].IsLatest) ||
		aws.ToString(versions.DeleteMarkers[0].VersionId) != marker || aws.ToString(versions.Versions[0].VersionId) != v2 ||
		aws.ToBool(versions.Versions[0].IsLatest) || aws.ToString(versions.Versions[1].VersionId) != v1 {
		t.Errorf("ListObjectVersions: %+v", versions)
	}

	// Deleting the marker by version ID brings v2 back; deleting v1 removes it for good.
	del, err = c.DeleteObject(s3Ctx, &s3.DeleteObjectInput{Bucket: b, Key: k, VersionId: aws.String(marker)})
	s3Must(t, "DeleteObject of the marker", err)
	if !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) != marker {
		t.Errorf("deleting the marker: %+v", del)
	}
	if got, err := read(""); err != nil || got != "two" {
		t.Errorf("after removing the marker = %q %v", got, err)
	}
	_, err = c.DeleteObject(s3Ctx, &s3.DeleteObjectInput{Bucket: b, Key: k, VersionId: aws.String(v1)})
	s3Must(t, "DeleteObject v1", err)
	_, err = read(v1)
	s3WantCode(t, "GetObject of a deleted version", err, "NoSuchVersion")

	// Suspended versioning writes the "null" version, replacing the previous one.
	_, err = c.PutBucketVersioning(s3Ctx, &s3.PutBucketVersioningInput{Bucket: b,
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}})
	s3Must(t, "suspend versioning", err)
	if v := put("three"); v != "null" {
		t.Errorf("suspended write version %q", v)
	}
	put("four")
	versions, err = c.ListObjectVersions(s3Ctx, &s3.ListObjectVersionsInput{Bucket: b})
	s3Must(t, "ListObjectVersions", err)
	var ids []string
	for _, v := range versions.Versions {
		ids = append(ids, aws.ToString(v.VersionId))
	}
	if strings.Join(ids, ",") != "null,"+v2 {
		t.Errorf("versions after suspended writes: %v", ids)
	}
}

func TestS3ListObjects(t *testing.T) {
	e := newS3Env(t, Options{})
	c := e.bucket(s3A, s3Mumbai, "list-bucket", true)
	b := aws.String("list-bucket")
	for _, k := range []string{"a/1", "a/2", "b/1", "c", "d", "gone"} {
		_, err := c.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String(k), Body: strings.NewReader(k)})
		s3Must(t, "PutObject", err)
	}
	_, err := c.DeleteObject(s3Ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("gone")})
	s3Must(t, "DeleteObject", err)

	tests := []struct {
		name      string
		prefix    string
		delimiter string
		maxKeys   int32
		want      string // keys and common prefixes (ending in /), in order, across pages
		wantPages int
	}{
		{name: "everything", want: "a/1,a/2,b/1,c,d", wantPages: 1},
		{name: "prefix", prefix: "a/", want: "a/1,a/2", wantPages: 1},
		{name: "delimiter", delimiter: "/", want: "a/,b/,c,d", wantPages: 1},
		{name: "pages of two", maxKeys: 2, want: "a/1,a/2,b/1,c,d", wantPages: 3},
		{name: "pages of one with delimiter", delimiter: "/", maxKeys: 1, want: "a/,b/,c,d", wantPages: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			pages := 0
			in := &s3.ListObjectsV2Input{Bucket: b, Prefix: aws.String(tt.prefix)}
			if tt.delimiter != "" {
				in.Delimiter = aws.String(tt.delimiter)
			}
			if tt.maxKeys > 0 {
				in.MaxKeys = aws.Int32(tt.maxKeys)
			}
			p := s3.NewListObjectsV2Paginator(c, in)
			for p.HasMorePages() {
				out, err := p.NextPage(s3Ctx)
				s3Must(t, "ListObjectsV2", err)
				pages++
				if int(aws.ToInt32(out.KeyCount)) != len(out.Contents)+len(out.CommonPrefixes) {
					t.Errorf("KeyCount %d for %d entries", aws.ToInt32(out.KeyCount), len(out.Contents)+len(out.CommonPrefixes))
				}
				// Contents and prefixes of one page, merged in key order.
				var page []string
				for _, o := range out.Contents {
					page = append(page, aws.ToString(o.Key))
				}
				for _, cp := range out.CommonPrefixes {
					page = append(page, aws.ToString(cp.Prefix))
				}
				sort.Strings(page)
				got = append(got, page...)
			}
			if strings.Join(got, ",") != tt.want || pages != tt.wantPages {
				t.Errorf("listed %v in %d pages, want %s in %d", got, pages, tt.want, tt.wantPages)
			}
		})
	}

	// ListObjectVersions pages through versions and markers.
	var entries []string
	p := s3.NewListObjectVersionsPaginator(c, &s3.ListObjectVersionsInput{Bucket: b, MaxKeys: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(s3Ctx)
		s3Must(t, "ListObjectVersions", err)
		for _, v := range out.Versions {
			entries = append(entries, aws.ToString(v.Key))
		}
		for _, m := range out.DeleteMarkers {
			entries = append(entries, "marker:"+aws.ToString(m.Key))
		}
	}
	sort.Strings(entries)
	if got := strings.Join(entries, ","); got != "a/1,a/2,b/1,c,d,gone,marker:gone" {
		t.Errorf("versions listed: %s", got)
	}

	// encoding-type=url encodes keys, as the AWS CLI asks for.
	_, err = c.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("e/with space+plus"), Body: strings.NewReader("x")})
	s3Must(t, "PutObject", err)
	enc, err := c.ListObjectsV2(s3Ctx, &s3.ListObjectsV2Input{Bucket: b, Prefix: aws.String("e/"), EncodingType: s3types.EncodingTypeUrl})
	s3Must(t, "ListObjectsV2 encoding-type=url", err)
	if len(enc.Contents) != 1 || aws.ToString(enc.Contents[0].Key) != "e/with%20space%2Bplus" {
		t.Errorf("url-encoded listing: %+v", enc.Contents)
	}
	// ListObjects (V1) with a delimiter reports NextMarker.
	v1, err := c.ListObjects(s3Ctx, &s3.ListObjectsInput{Bucket: b, Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)})
	s3Must(t, "ListObjects", err)
	if !aws.ToBool(v1.IsTruncated) || aws.ToString(v1.NextMarker) != "b/" || len(v1.CommonPrefixes) != 2 {
		t.Errorf("ListObjects: truncated=%v next=%q prefixes=%d", aws.ToBool(v1.IsTruncated), aws.ToString(v1.NextMarker), len(v1.CommonPrefixes))
	}

	// ListObjectsV2 authorizes with s3:prefix: B may list only under a/.
	_, err = c.PutBucketPolicy(s3Ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(s3PolicyDoc(
		`{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::list-bucket","Condition":{"StringLike":{"s3:prefix":"a/*"}}}`))})
	s3Must(t, "PutBucketPolicy", err)
	other := e.client(s3B, s3Mumbai)
	_, err = other.ListObjectsV2(s3Ctx, &s3.ListObjectsV2Input{Bucket: b, Prefix: aws.String("a/")})
	s3Must(t, "B lists under a/", err)
	_, err = other.ListObjectsV2(s3Ctx, &s3.ListObjectsV2Input{Bucket: b, Prefix: aws.String("b/")})
	s3WantCode(t, "B lists under b/", err, "AccessDenied")
}

// TestS3VirtualHostAndChunked sends raw requests: virtual-host addressing
// (Host: <bucket>.localhost) and an aws-chunked body with a trailing checksum, as SDKs send
// over TLS.
func TestS3VirtualHostAndChunked(t *testing.T) {
	e := newS3Env(t, Options{})
	c := e.bucket(s3A, s3Mumbai, "vhost-bucket", false)
	host := "vhost-bucket.localhost:" + e.endpoint[strings.LastIndex(e.endpoint, ":")+1:]

	resp, body := e.raw(http.MethodPut, "/greeting.txt", host, s3A, s3Mumbai, http.Header{"Content-Type": {"text/plain"}}, "hi there")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("virtual-host PUT: %d %s", resp.StatusCode, body)
	}
	resp, body = e.raw(http.MethodGet, "/greeting.txt", host, s3A, s3Mumbai, nil, "")
	if resp.StatusCode != http.StatusOK || body != "hi there" {
		t.Errorf("virtual-host GET: %d %q", resp.StatusCode, body)
	}
	got, err := c.GetObject(s3Ctx, &s3.GetObjectInput{Bucket: aws.String("vhost-bucket"), Key: aws.String("greeting.txt")})
	s3Must(t, "path-style GetObject", err)
	if b := s3Body(t, got); b != "hi there" {
		t.Errorf("path-style body %q", b)
	}

	payload := "hello, chunked world"
	crc := make([]byte, 4)
	sum := crc32.ChecksumIEEE([]byte(payload))
	crc[0], crc[1], crc[2], crc[3] = byte(sum>>24), byte(sum>>16), byte(sum>>8), byte(sum)
	good := base64.StdEncoding.EncodeToString(crc)
	chunked := func(checksum string) string {
		return fmt.Sprintf("%x;chunk-signature=abc\r\n%s\r\n%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n",
			7, payload[:7], len(payload)-7, payload[7:], checksum)
	}
	hdr := http.Header{
		"Content-Encoding":             {"aws-chunked"},
		"X-Amz-Content-Sha256":         {"STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
		"X-Amz-Decoded-Content-Length": {fmt.Sprint(len(payload))},
		"X-Amz-Trailer":                {"x-amz-checksum-crc32"},
	}
	resp, body = e.raw(http.MethodPut, "/vhost-bucket/chunked.txt", "", s3A, s3Mumbai, hdr, chunked(good))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("x-amz-checksum-crc32") != good {
		t.Fatalf("aws-chunked PUT: %d %q %s", resp.StatusCode, resp.Header.Get("x-amz-checksum-crc32"), body)
	}
	got, err = c.GetObject(s3Ctx, &s3.GetObjectInput{Bucket: aws.String("vhost-bucket"), Key: aws.String("chunked.txt")})
	s3Must(t, "GetObject chunked", err)
	if b := s3Body(t, got); b != payload {
		t.Errorf("decoded body %q", b)
	}
	resp, body = e.raw(http.MethodPut, "/vhost-bucket/bad.txt", "", s3A, s3Mumbai, hdr, chunked("AAAAAA=="))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "<Code>BadDigest</Code>") {
		t.Errorf("bad trailing checksum: %d %s", resp.StatusCode, body)
	}
}

// TestS3CountersAndFaults checks the per-operation counters and fault injection.
func TestS3CountersAndFaults(t *testing.T) {
	e := newS3Env(t, Options{})
	c := e.bucket(s3A, s3Mumbai, "counted", false)
	b := aws.String("counted")
	for i := 0; i < 3; i++ {
		_, err := c.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("k"), Body: strings.NewReader("x")})
		s3Must(t, "PutObject", err)
	}
	_, err := c.HeadObject(s3Ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("k")})
	s3Must(t, "HeadObject", err)
	want := map[string]CallCount{
		"CreateBucket": {Account: s3A, Service: "s3", Operation: "CreateBucket", Mutating: true, Count: 1},
		"PutObject":    {Account: s3A, Service: "s3", Operation: "PutObject", Mutating: true, Count: 3},
		"HeadObject":   {Account: s3A, Service: "s3", Operation: "HeadObject", Mutating: false, Count: 1},
	}
	for _, got := range e.s.Calls() {
		if w, ok := want[got.Operation]; ok && got.Account == s3A {
			if got != w {
				t.Errorf("counter %+v, want %+v", got, w)
			}
			delete(want, got.Operation)
		}
	}
	if len(want) != 0 {
		t.Errorf("missing counters: %v", want)
	}

	e.s.InjectFault(Throttle("s3", "PutObject", 2))
	_, err = c.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("k"), Body: strings.NewReader("x")})
	s3WantCode(t, "throttled PutObject", err, "SlowDown")
	e.s.InjectFault(Throttle("s3", "PutObject", 1))
	_, err = c.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("k"), Body: strings.NewReader("x")})
	s3Must(t, "PutObject retried past one SlowDown", err)
}

// TestS3DeleteObjects checks the batch delete the AWS CLI uses to empty buckets.
func TestS3DeleteObjects(t *testing.T) {
	e := newS3Env(t, Options{})
	c := e.bucket(s3A, s3Mumbai, "batch-delete", true)
	b := aws.String("batch-delete")
	var ids []s3types.ObjectIdentifier
	for _, k := range []string{"one", "two"} {
		out, err := c.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String(k), Body: strings.NewReader(k)})
		s3Must(t, "PutObject", err)
		ids = append(ids, s3types.ObjectIdentifier{Key: aws.String(k), VersionId: out.VersionId})
	}
	// Without version IDs: delete markers.
	out, err := c.DeleteObjects(s3Ctx, &s3.DeleteObjectsInput{Bucket: b, Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: aws.String("one")}}}})
	s3Must(t, "DeleteObjects", err)
	if len(out.Deleted) != 1 || !aws.ToBool(out.Deleted[0].DeleteMarker) || aws.ToString(out.Deleted[0].DeleteMarkerVersionId) == "" {
		t.Errorf("delete markers: %+v", out.Deleted)
	}
	// With version IDs: the versions go, and the bucket can be emptied and deleted.
	versions, err := c.ListObjectVersions(s3Ctx, &s3.ListObjectVersionsInput{Bucket: b})
	s3Must(t, "ListObjectVersions", err)
	ids = ids[:0]
	for _, v := range versions.Versions {
		ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
	}
	for _, m := range versions.DeleteMarkers {
		ids = append(ids, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
	}
	out, err = c.DeleteObjects(s3Ctx, &s3.DeleteObjectsInput{Bucket: b, Delete: &s3types.Delete{Objects: ids}})
	s3Must(t, "DeleteObjects by version", err)
	if len(out.Deleted) != 3 || len(out.Errors) != 0 {
		t.Errorf("deleted %d, errors %+v", len(out.Deleted), out.Errors)
	}
	_, err = c.DeleteBucket(s3Ctx, &s3.DeleteBucketInput{Bucket: b})
	s3Must(t, "DeleteBucket after emptying", err)
}
