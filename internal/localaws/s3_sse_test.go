package localaws

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestS3SSEKMS checks SSE-KMS objects end to end: default encryption with Bucket Keys,
// the key ARN and Bucket Key headers, KMS called as the requester (so the requester needs
// key permissions), the aws/s3 managed key, aliases, and S3's mapping of KMS errors.
func TestS3SSEKMS(t *testing.T) {
	e := newS3Env(t, Options{})
	c := e.bucket(s3A, s3Mumbai, "kms-bucket", true)
	b := aws.String("kms-bucket")
	keyARN := e.key(s3A, s3Mumbai)
	kmsA := e.kms(s3A, s3Mumbai)
	_, err := kmsA.CreateAlias(s3Ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/s3crr-src"), TargetKeyId: aws.String(keyARN)})
	s3Must(t, "CreateAlias", err)
	_, err = c.PutBucketEncryption(s3Ctx, &s3.PutBucketEncryptionInput{Bucket: b, ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
		Rules: []s3types.ServerSideEncryptionRule{{BucketKeyEnabled: aws.Bool(true), ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{
			SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(keyARN)}}}}})
	s3Must(t, "PutBucketEncryption", err)

	// Default encryption: the bucket's key, with Bucket Keys (bucket ARN as context).
	put, err := c.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("default.txt"), Body: strings.NewReader("secret")})
	s3Must(t, "PutObject", err)
	if put.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms || aws.ToString(put.SSEKMSKeyId) != keyARN || !aws.ToBool(put.BucketKeyEnabled) {
		t.Errorf("PutObject headers: sse=%q key=%q bucketKey=%v", put.ServerSideEncryption, aws.ToString(put.SSEKMSKeyId), aws.ToBool(put.BucketKeyEnabled))
	}
	head, err := c.HeadObject(s3Ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("default.txt")})
	s3Must(t, "HeadObject", err)
	if head.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms || aws.ToString(head.SSEKMSKeyId) != keyARN || !aws.ToBool(head.BucketKeyEnabled) ||
		aws.ToString(head.VersionId) != aws.ToString(put.VersionId) {
		t.Errorf("HeadObject headers: sse=%q key=%q bucketKey=%v", head.ServerSideEncryption, aws.ToString(head.SSEKMSKeyId), aws.ToBool(head.BucketKeyEnabled))
	}
	get, err := c.GetObject(s3Ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("default.txt")})
	s3Must(t, "GetObject", err)
	if body := s3Body(t, get); body != "secret" {
		t.Errorf("body %q", body)
	}
	e.s.mu.Lock()
	v := e.s.buckets["kms-bucket"].objects["default.txt"][0]
	ec, stored := v.encryptionContext["aws:s3:arn"], string(v.data)
	e.s.mu.Unlock()
	if ec != "arn:aws:s3:::kms-bucket" || strings.Contains(stored, "secret") {
		t.Errorf("stored context %q, data in plaintext: %v", ec, strings.Contains(stored, "secret"))
	}

	// Request headers win: aws/s3 without Bucket Keys (object ARN as context); an alias
	// resolves to the key's ARN.
	managed, err := c.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("managed.txt"), Body: strings.NewReader("m"),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms, BucketKeyEnabled: aws.Bool(false)})
	s3Must(t, "PutObject with aws/s3", err)
	awsS3, err := kmsA.DescribeKey(s3Ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/s3")})
	s3Must(t, "DescribeKey alias/aws/s3", err)
	if aws.ToString(managed.SSEKMSKeyId) != aws.ToString(awsS3.KeyMetadata.Arn) || aws.ToBool(managed.BucketKeyEnabled) {
		t.Errorf("aws/s3 object: key %q bucketKey %v, want %q", aws.ToString(managed.SSEKMSKeyId), aws.ToBool(managed.BucketKeyEnabled), aws.ToString(awsS3.KeyMetadata.Arn))
	}
	e.s.mu.Lock()
	ec = e.s.buckets["kms-bucket"].objects["managed.txt"][0].encryptionContext["aws:s3:arn"]
	e.s.mu.Unlock()
	if ec != "arn:aws:s3:::kms-bucket/managed.txt" {
		t.Errorf("object context %q", ec)
	}
	aliased, err := c.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("aliased.txt"), Body: strings.NewReader("a"),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("alias/s3crr-src")})
	s3Must(t, "PutObject with an alias", err)
	if aws.ToString(aliased.SSEKMSKeyId) != keyARN {
		t.Errorf("alias resolved to %q", aws.ToString(aliased.SSEKMSKeyId))
	}

	// S3 calls KMS as the requester: S3 permissions alone are not enough.
	s3Only := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::kms-bucket/*"}]}`
	withKMS := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::kms-bucket/*"},
		{"Effect":"Allow","Action":["kms:Decrypt","kms:GenerateDataKey"],"Resource":"` + keyARN + `","Condition":{"StringEquals":{"kms:ViaService":"s3.ap-south-1.amazonaws.com"}}}]}`
	tests := []struct {
		name        string
		policy      string
		wantCode    string
		wantMessage string
	}{
		{name: "S3 permissions only", policy: s3Only, wantCode: "AccessDenied", wantMessage: "kms:"},
		{name: "S3 and KMS permissions via S3", policy: withKMS},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			role := e.as(e.role(s3A, "kms-user-"+string(rune('a'+i)), tt.policy), s3Mumbai)
			_, err := role.GetObject(s3Ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("default.txt")})
			s3WantCode(t, "GetObject", err, tt.wantCode)
			if !strings.Contains(s3Message(err), tt.wantMessage) {
				t.Errorf("GetObject message %q, want %q", s3Message(err), tt.wantMessage)
			}
			_, err = role.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("by-role"), Body: strings.NewReader("r")})
			s3WantCode(t, "PutObject", err, tt.wantCode)
			// HeadObject does not decrypt, so it needs no KMS permission.
			_, err = role.HeadObject(s3Ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("default.txt")})
			s3Must(t, "HeadObject", err)
		})
	}

	// Another account allowed by the bucket policy still needs the key policy.
	_, err = c.PutBucketPolicy(s3Ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(s3PolicyDoc(
		`{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::kms-bucket/*"}`))})
	s3Must(t, "PutBucketPolicy", err)
	_, err = e.client(s3B, s3Mumbai).GetObject(s3Ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("default.txt")})
	s3WantCode(t, "cross-account GetObject without key policy", err, "AccessDenied")

	// KMS key states as S3 reports them.
	_, err = kmsA.DisableKey(s3Ctx, &kms.DisableKeyInput{KeyId: aws.String(keyARN)})
	s3Must(t, "DisableKey", err)
	_, err = c.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("late.txt"), Body: strings.NewReader("x")})
	s3WantCode(t, "PutObject with a disabled key", err, "KMS.DisabledException")
	_, err = c.GetObject(s3Ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("default.txt")})
	s3WantCode(t, "GetObject with a disabled key", err, "KMS.DisabledException")
	_, err = c.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("nokey.txt"), Body: strings.NewReader("x"),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("arn:aws:kms:ap-south-1:111111111111:key/11111111-2222-3333-4444-555555555555")})
	s3WantCode(t, "PutObject with a missing key", err, "KMS.NotFoundException")
}

// TestS3EncryptionConditionKeys checks the s3:x-amz-server-side-encryption keys a bucket
// policy can require on PutObject.
func TestS3EncryptionConditionKeys(t *testing.T) {
	e := newS3Env(t, Options{})
	c := e.bucket(s3A, s3Mumbai, "must-encrypt", false)
	b := aws.String("must-encrypt")
	keyARN := e.key(s3A, s3Mumbai)
	_, err := c.PutBucketPolicy(s3Ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(s3PolicyDoc(
		`{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::must-encrypt/*","Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}}`,
		`{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::must-encrypt/*","Condition":{"StringNotEqualsIfExists":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"`+keyARN+`"}}}`))})
	s3Must(t, "PutBucketPolicy", err)
	tests := []struct {
		name     string
		sse      s3types.ServerSideEncryption
		key      string
		wantCode string
	}{
		{name: "no encryption header", wantCode: "AccessDenied"},
		{name: "AES256", sse: s3types.ServerSideEncryptionAes256, wantCode: "AccessDenied"},
		{name: "aws:kms with another key", sse: s3types.ServerSideEncryptionAwsKms, key: "alias/aws/s3", wantCode: "AccessDenied"},
		{name: "aws:kms with the required key", sse: s3types.ServerSideEncryptionAwsKms, key: keyARN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &s3.PutObjectInput{Bucket: b, Key: aws.String("k"), Body: strings.NewReader("x"), ServerSideEncryption: tt.sse}
			if tt.key != "" {
				in.SSEKMSKeyId = aws.String(tt.key)
			}
			_, err := c.PutObject(s3Ctx, in)
			s3WantCode(t, "PutObject", err, tt.wantCode)
		})
	}
}
