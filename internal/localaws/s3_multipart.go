package localaws

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Multipart upload: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
// AbortMultipartUpload, ListParts and ListMultipartUploads, what `aws s3 cp` uses for files
// of 8 MB and more.
//
// Permissions (docs/aws-facts.md#F-S3-MULTIPART-KMS; [UG] mpuoverview,
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html): s3:PutObject
// covers create, upload part and complete; abort needs s3:AbortMultipartUpload, ListParts
// s3:ListMultipartUploadParts, ListMultipartUploads s3:ListBucketMultipartUploads.
//
// SSE-KMS: the upload's data key is generated once, at create, with kms:GenerateDataKey as
// the initiator; every part and the completion need kms:Decrypt of that data key as the
// caller, because S3 encrypts later parts with the key of the earlier ones and decrypts the
// parts to assemble the object (same page, and
// https://repost.aws/knowledge-center/s3-large-file-encryption-kms-key). The simulator
// keeps parts in memory until completion and then stores the object sealed with the
// upload's data key, as a PutObject would be.

// s3MinPartSize is the smallest part S3 accepts, except for the last part of an upload.
const s3MinPartSize = 5 << 20

// multipartUpload is an upload in progress.
type multipartUpload struct {
	id        string
	key       string
	initiated time.Time
	initiator *principal
	// v is the object the upload will create, without data or version ID: owner, content
	// type, metadata, tags and storage class as the create request set them.
	v *objectVersion
	// Encryption, decided at create.
	sse               string
	kmsKeyARN         string
	bucketKeyEnabled  bool
	encryptedDataKey  []byte
	encryptionContext map[string]string

	parts map[int32]*uploadPart
}

// uploadPart is one uploaded part: its plaintext, held until the upload completes.
type uploadPart struct {
	number       int32
	data         []byte
	etag         string // quoted MD5 of the part
	lastModified time.Time
}

func errNoSuchUpload(id string) *apiError {
	return s3Err(http.StatusNotFound, "NoSuchUpload",
		"The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
		[2]string{"UploadId", id})
}

type s3InitiateResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	Xmlns    string   `xml:"xmlns,attr"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

// s3CreateMultipartUpload is CreateMultipartUpload. It takes the headers PutObject takes
// (content type, metadata, tagging, storage class, encryption) and authorizes as PutObject
// does.
func (s *Server) s3CreateMultipartUpload(c *call, req *s3Request) {
	o, b := s.s3OpenAuthorizedWrite(c, req)
	if b == nil {
		return
	}
	defer s.mu.Unlock()
	enc := s3WriteEncryption(b, o)
	u := &multipartUpload{
		id: s3RandomID(64), key: req.key, initiated: s.now().UTC(), initiator: c.p,
		v: s.s3NewVersion(c, b, req.key, o), sse: enc.sse, parts: map[int32]*uploadPart{},
	}
	if s3IsKMS(enc.sse) {
		ec := s3KMSContext(b, req.key, enc)
		_, blob, keyARN, kerr := s.kmsGenerateDataKey(c.p, b.region, s3KMSKeyID(b, enc), ec, s3Via(b.region))
		if kerr != nil {
			c.fail(s3KMSError(kerr))
			return
		}
		u.kmsKeyARN, u.bucketKeyEnabled, u.encryptedDataKey, u.encryptionContext = keyARN, enc.bucketKey, blob, ec
	} else {
		u.sse = "AES256"
	}
	if b.uploads == nil {
		b.uploads = map[string]*multipartUpload{}
	}
	b.uploads[u.id] = u
	s3UploadEncryptionHeaders(c.w.Header(), u)
	c.writeXML(s3InitiateResult{Xmlns: s3NS, Bucket: b.name, Key: req.key, UploadID: u.id})
}

// s3UploadEncryptionHeaders sets the encryption headers of responses about an upload.
func s3UploadEncryptionHeaders(h http.Header, u *multipartUpload) {
	s3EncryptionHeaders(h, &objectVersion{sse: u.sse, kmsKeyARN: u.kmsKeyARN, bucketKeyEnabled: u.bucketKeyEnabled})
}

// s3OpenUpload resolves the request's bucket and the upload it names after authorizing
// action on the object. On success it returns with s.mu held, as s3Bucket does, and the
// caller unlocks; on failure it has failed the call, released the lock and returns nil.
// Every handler of an existing upload opens this way.
func (s *Server) s3OpenUpload(c *call, req *s3Request, action string) (*bucket, *multipartUpload) {
	b, aerr := s.s3Bucket(c, req.bucket)
	if aerr != nil {
		c.fail(aerr)
		return nil, nil
	}
	if aerr := s.s3Authorize(c, b, action, s3ObjectARN(b.name, req.key), nil); aerr != nil {
		s.mu.Unlock()
		c.fail(aerr)
		return nil, nil
	}
	id := req.q.Get("uploadId")
	u := b.uploads[id]
	if u == nil || u.key != req.key {
		s.mu.Unlock()
		c.fail(errNoSuchUpload(id))
		return nil, nil
	}
	return b, u
}

// s3UploadDataKey checks that the caller may use the upload's data key: kms:Decrypt as the
// caller for SSE-KMS uploads. It returns the plaintext data key (nil for SSE-S3). The caller
// holds s.mu.
func (s *Server) s3UploadDataKey(c *call, b *bucket, u *multipartUpload) ([]byte, *apiError) {
	if !s3IsKMS(u.sse) {
		return nil, nil
	}
	pt, _, err := s.kmsDecrypt(c.p, b.region, u.encryptedDataKey, u.encryptionContext, s3Via(b.region))
	if err != nil {
		return nil, s3KMSError(err)
	}
	return pt, nil
}

// s3UploadPart is UploadPart.
func (s *Server) s3UploadPart(c *call, req *s3Request) {
	n, err := strconv.Atoi(req.q.Get("partNumber"))
	if err != nil || n < 1 || n > 10000 {
		c.fail(errInvalidArgument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", req.q.Get("partNumber")))
		return
	}
	body, trailers, aerr := s3ReadBody(c)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	checksums, aerr := s3Checksum(c.r, trailers, body)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	b, u := s.s3OpenUpload(c, req, "s3:PutObject")
	if u == nil {
		return
	}
	defer s.mu.Unlock()
	if _, aerr := s.s3UploadDataKey(c, b, u); aerr != nil {
		c.fail(aerr)
		return
	}
	sum := md5.Sum(body)
	p := &uploadPart{number: int32(n), data: body, etag: `"` + hex.EncodeToString(sum[:]) + `"`, lastModified: s.now().UTC()}
	u.parts[p.number] = p
	h := c.w.Header()
	h.Set("ETag", p.etag)
	s3UploadEncryptionHeaders(h, u)
	for k, val := range checksums {
		h.Set(k, val)
	}
	c.writeEmpty(http.StatusOK)
}

type s3CompleteRequest struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber int32  `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

type s3CompleteResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	Xmlns    string   `xml:"xmlns,attr"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// s3CompleteMultipartUpload is CompleteMultipartUpload: the listed parts, in ascending
// order, each with the ETag UploadPart returned, every part but the last at least 5 MiB,
// become one object whose ETag is the MD5 of the parts' binary MD5s followed by "-" and the
// number of parts, as S3 computes it.
func (s *Server) s3CompleteMultipartUpload(c *call, req *s3Request) {
	var in s3CompleteRequest
	if !s3ReadConfig(c, &in) {
		return
	}
	if len(in.Parts) == 0 {
		c.fail(errMalformedXML())
		return
	}
	b, u := s.s3OpenUpload(c, req, "s3:PutObject")
	if u == nil {
		return
	}
	defer s.mu.Unlock()
	parts := make([]*uploadPart, 0, len(in.Parts))
	for i, want := range in.Parts {
		if i > 0 && want.PartNumber <= in.Parts[i-1].PartNumber {
			c.fail(s3Err(http.StatusBadRequest, "InvalidPartOrder",
				"The list of parts was not in ascending order. Parts must be ordered by part number.", [2]string{"UploadId", u.id}))
			return
		}
		p := u.parts[want.PartNumber]
		if p == nil || strings.Trim(want.ETag, `"`) != strings.Trim(p.etag, `"`) {
			c.fail(s3Err(http.StatusBadRequest, "InvalidPart",
				"One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
				[2]string{"UploadId", u.id}, [2]string{"PartNumber", strconv.Itoa(int(want.PartNumber))}, [2]string{"ETag", want.ETag}))
			return
		}
		parts = append(parts, p)
	}
	for i, p := range parts[:len(parts)-1] {
		if len(p.data) < s3MinPartSize {
			c.fail(s3Err(http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.",
				[2]string{"ProposedSize", strconv.Itoa(len(p.data))}, [2]string{"MinSizeAllowed", strconv.Itoa(s3MinPartSize)},
				[2]string{"PartNumber", strconv.Itoa(int(in.Parts[i].PartNumber))}, [2]string{"ETag", p.etag}))
			return
		}
	}
	dataKey, aerr := s.s3UploadDataKey(c, b, u)
	if aerr != nil {
		c.fail(aerr)
		return
	}

	var plaintext []byte
	sizes := make([]int64, len(parts))
	for i, p := range parts {
		plaintext = append(plaintext, p.data...)
		sizes[i] = int64(len(p.data))
	}
	v := u.v
	v.versionID, v.lastModified = "null", s.now().UTC()
	if b.versioning == "Enabled" {
		v.versionID = s3RandomID(32)
	}
	if aerr := s.s3SealUpload(b, u, v, plaintext, dataKey); aerr != nil {
		c.fail(aerr)
		return
	}
	v.etag, v.partSizes = s3MultipartETag(parts), sizes
	delete(b.uploads, u.id)
	s3AddVersion(b, v)
	s.scheduleReplication(b, v)

	h := c.w.Header()
	if b.versioning != "" {
		h.Set("x-amz-version-id", v.versionID)
	}
	s3EncryptionHeaders(h, v)
	c.writeXML(s3CompleteResult{Xmlns: s3NS, Location: "/" + b.name + "/" + req.key, Bucket: b.name, Key: req.key, ETag: v.etag})
}

// s3SealUpload stores the assembled plaintext in v under the upload's encryption: SSE-KMS
// with the data key generated at create (dataKey, already obtained with kms:Decrypt as the
// completer), SSE-S3 under the bucket's key. The caller holds s.mu.
func (s *Server) s3SealUpload(b *bucket, u *multipartUpload, v *objectVersion, plaintext, dataKey []byte) *apiError {
	if !s3IsKMS(u.sse) {
		return s.s3Seal(nil, b, v, plaintext, s3Encryption{sse: "AES256"})
	}
	data, err := s3GCMSeal(dataKey, plaintext)
	if err != nil {
		return errf(http.StatusInternalServerError, "InternalError", "encrypt object: %v", err)
	}
	v.data, v.size = data, int64(len(plaintext))
	v.sse, v.kmsKeyARN, v.bucketKeyEnabled = u.sse, u.kmsKeyARN, u.bucketKeyEnabled
	v.encryptedDataKey, v.encryptionContext = u.encryptedDataKey, u.encryptionContext
	return nil
}

// s3MultipartETag is S3's ETag of a multipart object: the hex MD5 of the concatenated
// binary MD5s of the parts, "-", the number of parts.
func s3MultipartETag(parts []*uploadPart) string {
	h := md5.New()
	for _, p := range parts {
		sum := md5.Sum(p.data)
		h.Write(sum[:])
	}
	return `"` + hex.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts)) + `"`
}

// s3AbortMultipartUpload is AbortMultipartUpload; the parts are discarded.
func (s *Server) s3AbortMultipartUpload(c *call, req *s3Request) {
	b, u := s.s3OpenUpload(c, req, "s3:AbortMultipartUpload")
	if u == nil {
		return
	}
	defer s.mu.Unlock()
	delete(b.uploads, u.id)
	c.writeEmpty(http.StatusNoContent)
}

// s3Initiator is the Initiator element: the IAM identity that created the upload.
type s3Initiator struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

func initiatorOf(p *principal) s3Initiator {
	if p.isRoot || p.arn == "" {
		return s3Initiator{ID: s3CanonicalID(p.account), DisplayName: p.account}
	}
	return s3Initiator{ID: p.arn, DisplayName: p.arn}
}

type s3PartEntry struct {
	PartNumber   int32  `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
}

type s3ListPartsResult struct {
	XMLName xml.Name `xml:"ListPartsResult"`
	Xmlns   string   `xml:"xmlns,attr"`
	Bucket  string   `xml:"Bucket"`
	s3UploadDescription
	PartNumberMarker     int32         `xml:"PartNumberMarker"`
	NextPartNumberMarker int32         `xml:"NextPartNumberMarker"`
	MaxParts             int           `xml:"MaxParts"`
	IsTruncated          bool          `xml:"IsTruncated"`
	Parts                []s3PartEntry `xml:"Part"`
}

// s3ListParts is ListParts, in part-number order, paginated by part-number-marker and
// max-parts (default and maximum 1000).
func (s *Server) s3ListParts(c *call, req *s3Request) {
	maxParts, aerr := s3MaxItems(req, "max-parts")
	if aerr != nil {
		c.fail(aerr)
		return
	}
	marker := 0
	if m := req.q.Get("part-number-marker"); m != "" {
		var err error
		if marker, err = strconv.Atoi(m); err != nil || marker < 0 {
			c.fail(errInvalidArgument("Provided part-number-marker not an integer or within integer range", "part-number-marker", m))
			return
		}
	}
	b, u := s.s3OpenUpload(c, req, "s3:ListMultipartUploadParts")
	if u == nil {
		return
	}
	defer s.mu.Unlock()
	numbers := make([]int, 0, len(u.parts))
	for n := range u.parts {
		if int(n) > marker {
			numbers = append(numbers, int(n))
		}
	}
	sort.Ints(numbers)
	out := s3ListPartsResult{Xmlns: s3NS, Bucket: b.name, s3UploadDescription: s3DescribeUpload(u),
		PartNumberMarker: int32(marker), MaxParts: maxParts}
	for _, n := range numbers {
		if len(out.Parts) == maxParts {
			out.IsTruncated = true
			break
		}
		p := u.parts[int32(n)]
		out.Parts = append(out.Parts, s3PartEntry{PartNumber: p.number, LastModified: s3Time(p.lastModified), ETag: p.etag, Size: int64(len(p.data))})
		out.NextPartNumberMarker = p.number
	}
	c.writeXML(out)
}

// s3MaxItems reads a max-parts / max-uploads parameter: default 1000, at most 1000.
func s3MaxItems(req *s3Request, name string) (int, *apiError) {
	v := req.q.Get(name)
	if v == "" {
		return 1000, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errInvalidArgument("Provided "+name+" not an integer or within integer range", name, v)
	}
	return min(n, 1000), nil
}

// s3UploadDescription is what ListParts and ListMultipartUploads both say of an upload,
// in the order both put it.
type s3UploadDescription struct {
	Key          string      `xml:"Key"`
	UploadID     string      `xml:"UploadId"`
	Initiator    s3Initiator `xml:"Initiator"`
	Owner        *s3Owner    `xml:"Owner"`
	StorageClass string      `xml:"StorageClass"`
}

func s3DescribeUpload(u *multipartUpload) s3UploadDescription {
	return s3UploadDescription{Key: u.key, UploadID: u.id, Initiator: initiatorOf(u.initiator),
		Owner: ownerOf(u.v.owner), StorageClass: s3ListStorageClass(u.v)}
}

type s3UploadEntry struct {
	s3UploadDescription
	Initiated string `xml:"Initiated"`
}

type s3ListUploadsResult struct {
	XMLName            xml.Name        `xml:"ListMultipartUploadsResult"`
	Xmlns              string          `xml:"xmlns,attr"`
	Bucket             string          `xml:"Bucket"`
	KeyMarker          string          `xml:"KeyMarker"`
	UploadIDMarker     string          `xml:"UploadIdMarker"`
	NextKeyMarker      string          `xml:"NextKeyMarker,omitempty"`
	NextUploadIDMarker string          `xml:"NextUploadIdMarker,omitempty"`
	Prefix             string          `xml:"Prefix"`
	MaxUploads         int             `xml:"MaxUploads"`
	IsTruncated        bool            `xml:"IsTruncated"`
	Uploads            []s3UploadEntry `xml:"Upload"`
}

// s3ListMultipartUploads is ListMultipartUploads: the bucket's uploads in progress, by key
// and then initiation time, filtered by prefix and paginated by key-marker /
// upload-id-marker. Delimiter grouping is not simulated.
func (s *Server) s3ListMultipartUploads(c *call, req *s3Request) {
	maxUploads, aerr := s3MaxItems(req, "max-uploads")
	if aerr != nil {
		c.fail(aerr)
		return
	}
	b := s.s3AuthorizedBucket(c, req, "s3:ListBucketMultipartUploads", nil)
	if b == nil {
		return
	}
	defer s.mu.Unlock()
	prefix, keyMarker, idMarker := req.q.Get("prefix"), req.q.Get("key-marker"), req.q.Get("upload-id-marker")
	all := make([]*multipartUpload, 0, len(b.uploads))
	for _, u := range b.uploads {
		if strings.HasPrefix(u.key, prefix) {
			all = append(all, u)
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].key != all[j].key {
			return all[i].key < all[j].key
		}
		if !all[i].initiated.Equal(all[j].initiated) {
			return all[i].initiated.Before(all[j].initiated)
		}
		return all[i].id < all[j].id
	})
	out := s3ListUploadsResult{Xmlns: s3NS, Bucket: b.name, KeyMarker: keyMarker, UploadIDMarker: idMarker, Prefix: prefix, MaxUploads: maxUploads}
	for _, u := range all[s3UploadsStart(all, keyMarker, idMarker):] {
		if len(out.Uploads) == maxUploads {
			out.IsTruncated = true
			break
		}
		out.Uploads = append(out.Uploads, s3UploadEntry{s3DescribeUpload(u), s3Time(u.initiated)})
		out.NextKeyMarker, out.NextUploadIDMarker = u.key, u.id
	}
	if !out.IsTruncated {
		out.NextKeyMarker, out.NextUploadIDMarker = "", ""
	}
	c.writeXML(out)
}

// s3UploadsStart is where a listing resumes in the sorted uploads: after key-marker's
// keys, or with upload-id-marker, after that upload of key-marker.
func s3UploadsStart(all []*multipartUpload, keyMarker, idMarker string) int {
	if keyMarker == "" {
		return 0
	}
	if idMarker != "" {
		for i, u := range all {
			if u.key == keyMarker && u.id == idMarker {
				return i + 1
			}
		}
	}
	return sort.Search(len(all), func(i int) bool { return all[i].key > keyMarker })
}

// s3PartSpan is the byte range of one part, for GetObject and HeadObject with partNumber.
type s3PartSpan struct {
	start, end int64 // inclusive
	count      int   // parts of the object
}

// s3PartOf resolves the partNumber parameter of a read: nil without one; for an object
// written by a multipart upload, the part's bytes; for any other object only part 1, the
// whole object. A part the object does not have is InvalidPartNumber (416).
func s3PartOf(c *call, req *s3Request, v *objectVersion) (*s3PartSpan, *apiError) {
	raw, ok := req.q["partNumber"]
	if !ok {
		return nil, nil
	}
	if c.r.Header.Get("Range") != "" {
		return nil, errInvalidRequest("Cannot specify both Range header and partNumber query parameter")
	}
	n, err := strconv.Atoi(raw[0])
	if err != nil || n < 1 || n > 10000 {
		return nil, errInvalidArgument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", raw[0])
	}
	sizes := v.partSizes
	if sizes == nil {
		sizes = []int64{v.size}
	}
	if n > len(sizes) {
		return nil, s3Err(http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber", "The requested partnumber is not satisfiable",
			[2]string{"PartNumberRequested", raw[0]}, [2]string{"ActualPartCount", strconv.Itoa(len(sizes))})
	}
	var start int64
	for _, size := range sizes[:n-1] {
		start += size
	}
	return &s3PartSpan{start: start, end: start + sizes[n-1] - 1, count: len(sizes)}, nil
}

// apply sets the headers of a part read and returns its status: 206 with Content-Range and
// x-amz-mp-parts-count for multipart objects, 200 for part 1 of any other object.
func (p *s3PartSpan) apply(h http.Header, v *objectVersion) int {
	if v.partSizes == nil {
		return http.StatusOK
	}
	h.Set("x-amz-mp-parts-count", strconv.Itoa(p.count))
	h.Set("Content-Range", "bytes "+strconv.FormatInt(p.start, 10)+"-"+strconv.FormatInt(p.end, 10)+"/"+strconv.FormatInt(v.size, 10))
	return http.StatusPartialContent
}
