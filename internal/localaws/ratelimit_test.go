package localaws

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// TestRateLimitThrottlesPerAccountRegionAndService: with a rate limit, an account's calls
// to one service in one Region beyond the bucket fail with that service's documented
// throttling error (S3 503 SlowDown, KMS 400 ThrottlingException), other accounts and
// services keep their own buckets, and the bucket refills with time.
func TestRateLimitThrottlesPerAccountRegionAndService(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	srv := New(Options{Now: func() time.Time { return now }})
	endpoint, stop := srv.Start()
	defer stop()
	ctx := context.Background()
	client := func(account string) (*s3.Client, *kms.Client) {
		cfg := RootConfig(endpoint, account, "eu-west-1")
		cfg.RetryMaxAttempts = 1 // see every throttle
		return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), kms.NewFromConfig(cfg)
	}
	s3A, kmsA := client(SourceAccount)
	s3B, _ := client(DestinationAccount)
	srv.SetRateLimit(&RateLimit{PerSecond: 1, Burst: 2})

	code := func(err error) string {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			return ae.ErrorCode()
		}
		return ""
	}
	for i := range 2 {
		if _, err := s3A.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
			t.Fatalf("call %d within the burst: %v", i+1, err)
		}
	}
	if _, err := s3A.ListBuckets(ctx, &s3.ListBucketsInput{}); code(err) != "SlowDown" {
		t.Fatalf("third S3 call in the same second: err = %v, want SlowDown", err)
	}
	if _, err := s3B.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Errorf("another account's S3 calls are throttled too: %v", err)
	}
	for range 2 {
		if _, err := kmsA.ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
			t.Fatalf("the same account's KMS calls share S3's bucket: %v", err)
		}
	}
	if _, err := kmsA.ListKeys(ctx, &kms.ListKeysInput{}); code(err) != "ThrottlingException" {
		t.Fatalf("third KMS call: err = %v, want ThrottlingException", err)
	}
	now = now.Add(time.Second)
	if _, err := s3A.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Errorf("a second later the bucket has a token again: %v", err)
	}
	if got := srv.Throttled(); got != 2 {
		t.Errorf("Throttled() = %d, want 2", got)
	}
	srv.SetRateLimit(nil)
	for range 5 {
		if _, err := s3A.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
			t.Fatalf("without a rate limit: %v", err)
		}
	}
}

// TestRateLimitPerOperationQuota: an operation with a quota of its own (as KMS gives each
// of its operations, docs/aws-facts.md#F-API-THROTTLING) draws from its own bucket at its
// own rate, independently of the service's other operations; KMS's cryptographic operations
// share one.
func TestRateLimitPerOperationQuota(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	srv := New(Options{Now: func() time.Time { return now }})
	endpoint, stop := srv.Start()
	defer stop()
	ctx := context.Background()
	cfg := RootConfig(endpoint, SourceAccount, "eu-west-1")
	cfg.RetryMaxAttempts = 1
	k := kms.NewFromConfig(cfg)
	srv.SetRateLimit(&RateLimit{PerSecond: 100, Burst: 100, Operations: map[string]float64{"kms:CreateKey": 1, "kms:DescribeKey": 3}})
	created, err := k.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	var ae smithy.APIError
	if _, err := k.CreateKey(ctx, &kms.CreateKeyInput{}); !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
		t.Fatalf("second CreateKey in a second at a quota of 1: err = %v, want ThrottlingException", err)
	}
	for i := range 3 {
		if _, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: created.KeyMetadata.KeyId}); err != nil {
			t.Fatalf("DescribeKey %d within its own quota of 3, after CreateKey was throttled: %v", i+1, err)
		}
	}
	if _, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: created.KeyMetadata.KeyId}); err == nil {
		t.Error("a fourth DescribeKey at a quota of 3 was not throttled")
	}
	if _, err := k.ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
		t.Errorf("ListKeys, with no quota of its own, draws from the service's bucket of 100: %v", err)
	}
	now = now.Add(time.Second)
	if _, err := k.CreateKey(ctx, &kms.CreateKeyInput{}); err != nil {
		t.Errorf("a second later CreateKey has a token again: %v", err)
	}
	if quotaBucket("kms", "Decrypt") != quotaBucket("kms", "GenerateDataKey") || quotaBucket("kms", "Decrypt") == quotaBucket("kms", "CreateKey") {
		t.Error("KMS's cryptographic operations should share one quota, apart from the management operations")
	}
}
