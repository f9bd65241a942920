package localaws

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/s3crr/s3crr/internal/awsclient"
)

// Shared helpers of the S3 tests: one simulator per test on a loopback port, SDK clients
// per account and region, and a clock tests can move.

var s3Ctx = context.Background()

type s3Env struct {
	t        *testing.T
	s        *Server
	endpoint string
	clock    *testClock
}

// newS3Env starts a simulator with opts (its clock replaced by a settable one).
func newS3Env(t *testing.T, opts Options) *s3Env {
	t.Helper()
	s, ep, clock := startTestServer(t, opts, time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	return &s3Env{t: t, s: s, endpoint: ep, clock: clock}
}

func (e *s3Env) client(account, region string) *s3.Client {
	return s3.NewFromConfig(RootConfig(e.endpoint, account, region), func(o *s3.Options) { o.UsePathStyle = true })
}

func (e *s3Env) sessionClient(creds aws.Credentials, region string) *s3.Client {
	return s3.NewFromConfig(SessionConfig(e.endpoint, region, creds), func(o *s3.Options) { o.UsePathStyle = true })
}

func (e *s3Env) iam(account string) *iam.Client {
	return iam.NewFromConfig(RootConfig(e.endpoint, account, "us-east-1"))
}

func (e *s3Env) kms(account, region string) *kms.Client {
	return kms.NewFromConfig(RootConfig(e.endpoint, account, region))
}

// bucket creates a bucket as the root user of account in region, optionally versioned.
func (e *s3Env) bucket(account, region, name string, versioned bool) *s3.Client {
	e.t.Helper()
	c := e.client(account, region)
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
	}
	if _, err := c.CreateBucket(s3Ctx, in); err != nil {
		e.t.Fatalf("create bucket %s: %v", name, err)
	}
	if versioned {
		_, err := c.PutBucketVersioning(s3Ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(name),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
		if err != nil {
			e.t.Fatalf("enable versioning on %s: %v", name, err)
		}
	}
	return c
}

// role creates a role in account trusted by the account itself, with an inline policy
// when policy is not "", and returns its ARN.
func (e *s3Env) role(account, name, policy string) string {
	e.t.Helper()
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + account +
		`"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	out, err := e.iam(account).CreateRole(s3Ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		e.t.Fatalf("create role %s: %v", name, err)
	}
	if policy != "" {
		_, err = e.iam(account).PutRolePolicy(s3Ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name),
			PolicyName: aws.String("inline"), PolicyDocument: aws.String(policy)})
		if err != nil {
			e.t.Fatalf("put policy on %s: %v", name, err)
		}
	}
	return aws.ToString(out.Role.Arn)
}

// as assumes roleARN (as the root user of its account) and returns an S3 client in region.
func (e *s3Env) as(roleARN, region string) *s3.Client {
	e.t.Helper()
	account := accountOfARN(roleARN)
	out, err := sts.NewFromConfig(RootConfig(e.endpoint, account, region)).AssumeRole(s3Ctx,
		&sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s3-test")})
	if err != nil {
		e.t.Fatalf("assume %s: %v", roleARN, err)
	}
	return e.sessionClient(aws.Credentials{AccessKeyID: aws.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey), SessionToken: aws.ToString(out.Credentials.SessionToken)}, region)
}

// key creates a symmetric KMS key in account and region with the default key policy.
func (e *s3Env) key(account, region string) string {
	e.t.Helper()
	out, err := e.kms(account, region).CreateKey(s3Ctx, &kms.CreateKeyInput{})
	if err != nil {
		e.t.Fatalf("create key: %v", err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}

// raw sends an unsigned-but-scoped request (the simulator reads the SigV4 scope and does
// not verify signatures) and returns the response with its body read.
func (e *s3Env) raw(method, path, host, account, region string, header http.Header, body string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.endpoint+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+account+"/20250601/"+region+
		"/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// s3Message returns the AWS error message of err.
func s3Message(err error) string { return awsclient.ErrorMessage(err) }

// s3HTTPStatus returns the HTTP status of an SDK error, 0 if none.
func s3HTTPStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func s3Must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// s3WantCode fails unless err carries code.
func s3WantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := apiCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

func s3Body(t *testing.T, out *s3.GetObjectOutput) string {
	t.Helper()
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
