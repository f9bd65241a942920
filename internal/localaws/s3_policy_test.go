package localaws

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func s3PolicyDoc(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

func TestS3BucketPolicy(t *testing.T) {
	e := newS3Env(t, Options{PropagationWindow: time.Minute})
	c := e.bucket(s3A, s3Mumbai, "pol-bucket", false)
	b := aws.String("pol-bucket")
	e.clock.advance(2 * time.Minute)
	oldRole := e.role(s3B, "reader", "")
	e.clock.advance(2 * time.Minute)
	newRole := e.role(s3B, "fresh", "") // inside the propagation window

	_, err := c.GetBucketPolicy(s3Ctx, &s3.GetBucketPolicyInput{Bucket: b})
	s3WantCode(t, "GetBucketPolicy without policy", err, "NoSuchBucketPolicy")

	grant := func(principal, resource string) string {
		return s3PolicyDoc(`{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":"s3:GetObject","Resource":"` + resource + `"}`)
	}
	tests := []struct {
		name        string
		doc         string
		wantCode    string
		wantMessage string
	}{
		{name: "not JSON", doc: "Allow everything", wantCode: "MalformedPolicy", wantMessage: "first byte must be '{'"},
		{name: "broken JSON", doc: `{"Statement":[`, wantCode: "MalformedPolicy"},
		{name: "no principal", doc: s3PolicyDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::pol-bucket/*"}`), wantCode: "MalformedPolicy"},
		{name: "role that does not exist", doc: grant("arn:aws:iam::222222222222:role/nobody", "arn:aws:s3:::pol-bucket/*"),
			wantCode: "MalformedPolicy", wantMessage: "Invalid principal in policy"},
		{name: "role inside the propagation window", doc: grant(newRole, "arn:aws:s3:::pol-bucket/*"),
			wantCode: "MalformedPolicy", wantMessage: "Invalid principal in policy"},
		{name: "resource of another bucket", doc: grant(oldRole, "arn:aws:s3:::other-bucket/*"),
			wantCode: "MalformedPolicy", wantMessage: "Policy has invalid resource"},
		{name: "wildcard resource that cannot match the bucket", doc: grant(oldRole, "arn:aws:s3:::other-*/*"),
			wantCode: "MalformedPolicy", wantMessage: "Policy has invalid resource"},
		{name: "wildcard resource that matches the bucket's objects", doc: grant(oldRole, "arn:aws:s3:::pol-*/*")},
		{name: "KMS action", doc: s3PolicyDoc(`{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"kms:Decrypt","Resource":"arn:aws:s3:::pol-bucket"}`),
			wantCode: "MalformedPolicy", wantMessage: "Policy has invalid action"},
		{name: "public grant while BlockPublicPolicy is on", doc: grant("*", "arn:aws:s3:::pol-bucket/*"), wantCode: "AccessDenied"},
		{name: "grant to everyone pinned to an account is not public",
			doc: s3PolicyDoc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pol-bucket/*","Condition":{"StringEquals":{"aws:PrincipalAccount":"222222222222"}}}`)},
		{name: "propagated role and account", doc: grant(oldRole, "arn:aws:s3:::pol-bucket/*")},
		// 20 KB, whitespace not counted (docs/aws-facts.md#F-POLICY-SIZE-LIMITS).
		{name: "over 20 KB", doc: s3PolicyDoc(manyGrants(oldRole, 20*1024)...), wantCode: "PolicyTooLarge", wantMessage: "maximum allowed document size"},
		{name: "under 20 KB without its whitespace", doc: strings.ReplaceAll(s3PolicyDoc(manyGrants(oldRole, 20*1024-400)...), ",", ",      ")},
		{name: "grant to s3crr's roles of listed accounts is not public",
			doc: s3PolicyDoc(`{"Effect":"Allow","Principal":"*","Action":"s3:ReplicateObject","Resource":"arn:aws:s3:::pol-bucket/*","Condition":{"StringEquals":{"aws:PrincipalAccount":["222222222222"]},"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/s3crr/s3crr-repl-*"}}}`)},
		{name: "grant pinned only by a role pattern is public",
			doc: s3PolicyDoc(`{"Effect":"Allow","Principal":"*","Action":"s3:ReplicateObject","Resource":"arn:aws:s3:::pol-bucket/*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/s3crr/s3crr-repl-*"}}}`), wantCode: "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.PutBucketPolicy(s3Ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(tt.doc)})
			s3WantCode(t, "PutBucketPolicy", err, tt.wantCode)
			if !strings.Contains(s3Message(err), tt.wantMessage) {
				t.Errorf("message %q, want it to contain %q", s3Message(err), tt.wantMessage)
			}
		})
	}

	// The role becomes valid once the window has passed.
	e.clock.advance(2 * time.Minute)
	doc := grant(newRole, "arn:aws:s3:::pol-bucket/*")
	_, err = c.PutBucketPolicy(s3Ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(doc)})
	s3Must(t, "PutBucketPolicy after propagation", err)
	got, err := c.GetBucketPolicy(s3Ctx, &s3.GetBucketPolicyInput{Bucket: b})
	s3Must(t, "GetBucketPolicy", err)
	if aws.ToString(got.Policy) != s3StoredPolicy([]byte(doc)) {
		t.Errorf("GetBucketPolicy = %s, want the document as S3 stores it", aws.ToString(got.Policy))
	}

	// S3 rewrites account-ID principals to root ARNs and drops whitespace on the way in.
	byAccount := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ["222222222222", "arn:aws:iam::333333333333:root"]}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pol-bucket/*"}]}`
	_, err = c.PutBucketPolicy(s3Ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(byAccount)})
	s3Must(t, "PutBucketPolicy by account ID", err)
	got, err = c.GetBucketPolicy(s3Ctx, &s3.GetBucketPolicyInput{Bucket: b})
	s3Must(t, "GetBucketPolicy", err)
	if p := aws.ToString(got.Policy); !strings.Contains(p, `"AWS":["arn:aws:iam::222222222222:root","arn:aws:iam::333333333333:root"]`) || strings.Contains(p, " ") {
		t.Errorf("GetBucketPolicy = %s, want account IDs as root ARNs and no whitespace", p)
	}

	// A policy that denies everyone everything still lets the owner's root manage it.
	denyAll := s3PolicyDoc(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::pol-bucket","arn:aws:s3:::pol-bucket/*"]}`)
	_, err = c.PutBucketPolicy(s3Ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(denyAll)})
	s3Must(t, "PutBucketPolicy deny all", err)
	_, err = c.GetBucketVersioning(s3Ctx, &s3.GetBucketVersioningInput{Bucket: b})
	s3WantCode(t, "GetBucketVersioning under deny-all", err, "AccessDenied")
	_, err = c.DeleteBucketPolicy(s3Ctx, &s3.DeleteBucketPolicyInput{Bucket: b})
	s3Must(t, "DeleteBucketPolicy as owner root under deny-all", err)
	_, err = c.GetBucketPolicy(s3Ctx, &s3.GetBucketPolicyInput{Bucket: b})
	s3WantCode(t, "GetBucketPolicy after delete", err, "NoSuchBucketPolicy")

	// Without BlockPublicPolicy a public grant is accepted.
	_, err = c.PutPublicAccessBlock(s3Ctx, &s3.PutPublicAccessBlockInput{Bucket: b, PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
		BlockPublicPolicy: aws.Bool(false)}})
	s3Must(t, "PutPublicAccessBlock", err)
	_, err = c.PutBucketPolicy(s3Ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(grant("*", "arn:aws:s3:::pol-bucket/*"))})
	s3Must(t, "public PutBucketPolicy without BlockPublicPolicy", err)
}

// TestS3CrossAccountAccess checks the cross-account rule through S3: another account needs
// the bucket policy, and its roles need their own IAM permission too.
func TestS3CrossAccountAccess(t *testing.T) {
	e := newS3Env(t, Options{})
	a := e.bucket(s3A, s3Mumbai, "shared-bucket", false)
	b := e.client(s3B, s3Mumbai)
	bucketName := aws.String("shared-bucket")
	put := func(c *s3.Client, key string) error {
		_, err := c.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: bucketName, Key: aws.String(key), Body: strings.NewReader("data")})
		return err
	}
	s3WantCode(t, "B writes without a bucket policy", put(b, "x"), "AccessDenied")

	_, err := a.PutBucketPolicy(s3Ctx, &s3.PutBucketPolicyInput{Bucket: bucketName, Policy: aws.String(s3PolicyDoc(
		`{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":["s3:PutObject","s3:GetObject"],"Resource":"arn:aws:s3:::shared-bucket/*"}`,
		`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::shared-bucket"}`))})
	s3Must(t, "PutBucketPolicy", err)
	s3Must(t, "B root writes with the bucket policy", put(b, "from-b"))
	got, err := b.GetObject(s3Ctx, &s3.GetObjectInput{Bucket: bucketName, Key: aws.String("from-b")})
	s3Must(t, "B reads", err)
	if body := s3Body(t, got); body != "data" {
		t.Errorf("body %q", body)
	}
	// BucketOwnerEnforced: A owns what B wrote.
	list, err := a.ListObjectsV2(s3Ctx, &s3.ListObjectsV2Input{Bucket: bucketName, FetchOwner: aws.Bool(true)})
	s3Must(t, "ListObjectsV2", err)
	if len(list.Contents) != 1 || aws.ToString(list.Contents[0].Owner.ID) != s3CanonicalID(s3A) {
		t.Errorf("contents %+v", list.Contents)
	}
	_, err = b.GetBucketVersioning(s3Ctx, &s3.GetBucketVersioningInput{Bucket: bucketName})
	s3WantCode(t, "B reads bucket configuration the policy does not grant", err, "AccessDenied")

	// An account grant delegates to B's IAM: a role without an identity policy is denied,
	// one with s3:PutObject is allowed.
	bare := e.as(e.role(s3B, "bare", ""), s3Mumbai)
	s3WantCode(t, "B role without identity policy", put(bare, "y"), "AccessDenied")
	writer := e.as(e.role(s3B, "writer", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::shared-bucket/*"}]}`), s3Mumbai)
	s3Must(t, "B role with identity policy", put(writer, "z"))
	// A missing key reads as AccessDenied to a caller who may not list the bucket.
	_, err = writer.GetObject(s3Ctx, &s3.GetObjectInput{Bucket: bucketName, Key: aws.String("missing")})
	s3WantCode(t, "GetObject without s3:GetObject", err, "AccessDenied")
	_, err = b.GetObject(s3Ctx, &s3.GetObjectInput{Bucket: bucketName, Key: aws.String("missing")})
	var nsk *s3types.NoSuchKey
	if apiCode(err) != "NoSuchKey" || !errors.As(err, &nsk) {
		t.Errorf("missing key with s3:ListBucket: %v, want *types.NoSuchKey", err)
	}
}

// TestS3TLSOnlyPolicy checks aws:SecureTransport: with PlainHTTPIsInsecure the simulator's
// plain HTTP is insecure transport, and a TLS-only bucket policy denies it.
func TestS3TLSOnlyPolicy(t *testing.T) {
	tlsOnly := s3PolicyDoc(`{"Sid":"TLSOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::tls-bucket","arn:aws:s3:::tls-bucket/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`)
	tests := []struct {
		name     string
		insecure bool
		wantCode string
	}{
		{name: "plain HTTP stands in for HTTPS", insecure: false},
		{name: "plain HTTP is insecure", insecure: true, wantCode: "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newS3Env(t, Options{PlainHTTPIsInsecure: tt.insecure})
			c := e.bucket(s3A, s3Mumbai, "tls-bucket", false)
			_, err := c.PutBucketPolicy(s3Ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("tls-bucket"), Policy: aws.String(tlsOnly)})
			s3Must(t, "PutBucketPolicy", err)
			_, err = c.PutObject(s3Ctx, &s3.PutObjectInput{Bucket: aws.String("tls-bucket"), Key: aws.String("k"), Body: strings.NewReader("x")})
			s3WantCode(t, "PutObject", err, tt.wantCode)
			if tt.wantCode != "" && s3HTTPStatus(err) != http.StatusForbidden {
				t.Errorf("status %d, want 403", s3HTTPStatus(err))
			}
		})
	}
}

// manyGrants returns grant statements whose compact JSON, in a document, is at least n
// bytes.
func manyGrants(principal string, n int) []string {
	var out []string
	for i := 0; len(s3PolicyDoc(out...)) < n; i++ {
		out = append(out, fmt.Sprintf(`{"Sid":"G%04d","Effect":"Allow","Principal":{"AWS":"%s"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::pol-bucket/team/*"}`, i, principal))
	}
	return out
}
