package localaws

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"net/http"
	"strings"
)

// Server-side encryption of object data. Every object is stored encrypted, as in S3 since
// 2023: SSE-S3 (AES256) with a key the bucket holds, SSE-KMS and DSSE-KMS with a data key
// from KMS. For SSE-KMS, S3 calls KMS as the requester (kms:GenerateDataKey on writes,
// kms:Decrypt on reads) with kms:ViaService=s3.<region>.amazonaws.com and the encryption
// context {"aws:s3:arn": object ARN}, or the bucket ARN when S3 Bucket Keys are on; the key
// policy and the requester's IAM policies decide, which is what s3crr's policies are tested
// against.
//
// Stored layout of objectVersion.data: a 12-byte GCM nonce followed by the AES-256-GCM
// ciphertext of the plaintext. The replication engine uses s3Open and s3Seal rather than
// this layout.

// s3Encryption is the server-side encryption a write asks for, after default encryption
// has been applied.
type s3Encryption struct {
	sse       string // "AES256", "aws:kms" or "aws:kms:dsse"
	kmsKeyID  string // as requested: key ID, key ARN, alias name or alias ARN; "" = aws/s3
	bucketKey bool
	// context is the extra encryption context of x-amz-server-side-encryption-context;
	// S3 adds aws:s3:arn itself.
	context map[string]string
}

// s3DefaultEncryption returns the encryption a new object in b gets when the request asks
// for none: the bucket's default encryption, SSE-S3 when it has none (S3's base level).
func s3DefaultEncryption(b *bucket) s3Encryption {
	if b.encryption == nil {
		return s3Encryption{sse: "AES256"}
	}
	e := s3Encryption{sse: b.encryption.algorithm, kmsKeyID: b.encryption.kmsKeyID}
	if s3IsKMS(e.sse) {
		e.bucketKey = b.encryption.bucketKeyEnabled
	} else {
		e.kmsKeyID = ""
	}
	return e
}

// s3Via is the kms:ViaService value of S3 in a region.
func s3Via(region string) string { return "s3." + region + ".amazonaws.com" }

// s3Seal stores plaintext in v, encrypted for bucket b as enc asks, and fills v's size,
// ETag and encryption fields. For SSE-KMS it calls KMS as p (the writer, or the replication
// role for replicas) in b's region; KMS failures are returned with KMS's codes
// (AccessDeniedException, NotFoundException, DisabledException, KMSInvalidStateException)
// for the caller to map: s3KMSError for S3 responses, failure codes for replication.
// v.key must be set. The caller holds s.mu.
func (s *Server) s3Seal(p *principal, b *bucket, v *objectVersion, plaintext []byte, enc s3Encryption) *apiError {
	sum := md5.Sum(plaintext)
	v.size = int64(len(plaintext))
	v.etag = `"` + hex.EncodeToString(sum[:]) + `"`
	v.sse, v.kmsKeyARN, v.bucketKeyEnabled = enc.sse, "", false
	v.encryptedDataKey, v.encryptionContext = nil, nil

	var dataKey []byte
	if s3IsKMS(enc.sse) {
		ec := s3KMSContext(b, v.key, enc)
		pt, blob, keyARN, err := s.kmsGenerateDataKey(p, b.region, s3KMSKeyID(b, enc), ec, s3Via(b.region))
		if err != nil {
			return err
		}
		dataKey = pt
		v.kmsKeyARN, v.bucketKeyEnabled = keyARN, enc.bucketKey
		v.encryptedDataKey, v.encryptionContext = blob, ec
	} else {
		v.sse = "AES256"
		dataKey = s3BucketSSEKey(b)
	}
	data, err := s3GCMSeal(dataKey, plaintext)
	if err != nil {
		return errf(http.StatusInternalServerError, "InternalError", "encrypt object: %v", err)
	}
	v.data = data
	return nil
}

// s3KMSContext is the encryption context S3 uses with KMS for an object of b: the request's
// extra context plus aws:s3:arn, the object's ARN, or the bucket's with Bucket Keys.
func s3KMSContext(b *bucket, key string, enc s3Encryption) map[string]string {
	ec := map[string]string{}
	for k, val := range enc.context {
		ec[k] = val
	}
	if enc.bucketKey {
		ec["aws:s3:arn"] = s3BucketARN(b.name)
	} else {
		ec["aws:s3:arn"] = s3ObjectARN(b.name, key)
	}
	return ec
}

// s3KMSKeyID is the key an SSE-KMS write uses: the one asked for, or the AWS managed key of
// the bucket owner (whoever writes).
func s3KMSKeyID(b *bucket, enc s3Encryption) string {
	if enc.kmsKeyID != "" {
		return enc.kmsKeyID
	}
	return "arn:aws:kms:" + b.region + ":" + b.account + ":alias/aws/s3"
}

// s3Open returns the plaintext of v in bucket b, calling KMS as p for SSE-KMS objects
// (kms:Decrypt with kms:ViaService and the stored encryption context). KMS failures keep
// KMS's codes, as in s3Seal. Delete markers have no data. The caller holds s.mu.
func (s *Server) s3Open(p *principal, b *bucket, v *objectVersion) ([]byte, *apiError) {
	if v.isDeleteMarker {
		return nil, nil
	}
	var dataKey []byte
	switch {
	case s3IsKMS(v.sse):
		pt, _, err := s.kmsDecrypt(p, b.region, v.encryptedDataKey, v.encryptionContext, s3Via(b.region))
		if err != nil {
			return nil, err
		}
		dataKey = pt
	case v.sse == "AES256":
		dataKey = s3BucketSSEKey(b)
	default:
		return v.data, nil // written before encryption was recorded: stored as is
	}
	pt, err := s3GCMOpen(dataKey, v.data)
	if err != nil {
		return nil, errf(http.StatusInternalServerError, "InternalError", "decrypt object %s: %v", v.key, err)
	}
	return pt, nil
}

// s3BucketSSEKey is the bucket's SSE-S3 key, created on first use.
func s3BucketSSEKey(b *bucket) []byte {
	if b.sseS3Key == nil {
		b.sseS3Key = make([]byte, 32)
		_, _ = rand.Read(b.sseS3Key)
	}
	return b.sseS3Key
}

func s3GCMSeal(key, plaintext []byte) ([]byte, error) {
	gcm, err := s3GCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	_, _ = rand.Read(nonce)
	return gcm.Seal(nonce, nonce, plaintext, nil), nil
}

func s3GCMOpen(key, data []byte) ([]byte, error) {
	gcm, err := s3GCM(key)
	if err != nil {
		return nil, err
	}
	if len(data) < gcm.NonceSize() {
		return nil, errShortCiphertext
	}
	return gcm.Open(nil, data[:gcm.NonceSize()], data[gcm.NonceSize():], nil)
}

var errShortCiphertext = errors.New("stored ciphertext is truncated")

func s3GCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// s3KMSError maps an error KMS returned to S3 on the requester's behalf to what S3 answers:
// AccessDenied (403) keeps KMS's message, which names the KMS action and key; other KMS
// errors keep their code with the "KMS." prefix S3 uses (KMS.DisabledException,
// KMS.NotFoundException, KMS.KMSInvalidStateException) and status 400.
func s3KMSError(err *apiError) *apiError {
	switch err.Code {
	case "AccessDeniedException":
		return errAccessDenied(err.Message)
	case "ThrottlingException":
		return s3Err(http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate. (KMS: "+err.Message+")")
	}
	if strings.HasPrefix(err.Code, "KMS.") || err.Status >= 500 {
		return err
	}
	return s3Err(http.StatusBadRequest, "KMS."+err.Code, err.Message)
}

// s3Checksum verifies the checksums a client sent with an upload (headers, or trailers of
// an aws-chunked body) and returns the checksum headers to echo. CRC64NVME is accepted
// unverified: the standard library has no NVMe polynomial.
func s3Checksum(r *http.Request, trailers map[string]string, body []byte) (map[string]string, *apiError) {
	echo := map[string]string{}
	if md := r.Header.Get("Content-MD5"); md != "" {
		sum := md5.Sum(body)
		if md != base64.StdEncoding.EncodeToString(sum[:]) {
			return nil, s3Err(http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.")
		}
	}
	algos := []struct {
		name, label string
		h           func() hash.Hash
	}{
		{"crc32", "CRC32", func() hash.Hash { return crc32.NewIEEE() }},
		{"crc32c", "CRC32C", func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) }},
		{"sha1", "SHA1", sha1.New},
		{"sha256", "SHA256", sha256.New},
		{"crc64nvme", "CRC64NVME", nil},
	}
	for _, a := range algos {
		hdr := "x-amz-checksum-" + a.name
		got := r.Header.Get(hdr)
		if got == "" {
			got = trailers[hdr]
		}
		if got == "" {
			continue
		}
		echo[hdr] = got
		if a.h == nil {
			continue
		}
		h := a.h()
		h.Write(body)
		if want := base64.StdEncoding.EncodeToString(h.Sum(nil)); want != got {
			return nil, s3Err(http.StatusBadRequest, "BadDigest", "The "+a.label+" you specified did not match the calculated checksum.")
		}
	}
	return echo, nil
}

// s3RandomID returns n characters of a URL-safe random identifier, the alphabet S3 uses
// for version IDs.
func s3RandomID(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// s3IsKMS reports whether an SSE algorithm uses KMS (SSE-KMS or DSSE-KMS).
func s3IsKMS(sse string) bool { return sse == "aws:kms" || sse == "aws:kms:dsse" }
