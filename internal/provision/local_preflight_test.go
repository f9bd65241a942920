package provision

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
)

// TestPreflightStopsConflictsBeforeAnyChange: against the simulator, a source bucket
// whose configuration s3crr must not or cannot change stops a full run at preflight with
// a Conflict, and no mutating call reaches either account.
func TestPreflightStopsConflictsBeforeAnyChange(t *testing.T) {
	tests := []struct {
		name        string
		provisioned bool // s3crr ran once before give
		give        func(t *testing.T, c *s3.Client, k *kms.Client, bucket string)
		want        string
	}{
		{
			// After s3crr provisioned the pair, the owner replaced the configuration with a
			// V1 one using the pair's role; S3 cannot take s3crr's V2 rule next to it.
			name:        "V1 replication configuration",
			provisioned: true,
			give: func(t *testing.T, c *s3.Client, _ *kms.Client, bucket string) {
				ctx := context.Background()
				must(t, call(c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("payments-legacy-copy"),
					CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "ap-south-1"}})))
				must(t, call(c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("payments-legacy-copy"),
					VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})))
				must(t, call(c.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String(bucket),
					ReplicationConfiguration: &s3types.ReplicationConfiguration{Role: aws.String("arn:aws:iam::111111111111:role/s3crr/s3crr-repl-payments-src-38d30e55"),
						Rules: []s3types.ReplicationRule{{ID: aws.String("legacy"), Prefix: aws.String("logs/"), Status: s3types.ReplicationRuleStatusEnabled,
							Destination: &s3types.Destination{Bucket: aws.String("arn:aws:s3:::payments-legacy-copy")}}}}})))
			},
			want: "V1 replication schema",
		},
		{
			name: "default encryption with another key",
			give: func(t *testing.T, c *s3.Client, k *kms.Client, bucket string) {
				ctx := context.Background()
				key, err := k.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("the team's key")})
				must(t, err)
				must(t, call(c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(bucket),
					ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
						ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: key.KeyMetadata.KeyId}}}}})))
			},
			want: "default-encrypted with KMS key arn:aws:kms:ap-south-1:111111111111:key/",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newLocalEnv(t, localaws.Options{})
			reqJSON := sampleRequest(t)
			req := mustParse(t, reqJSON)
			cfg := env.root(req.Source.Account, req.Source.Region)
			c := awsclient.S3(cfg)
			if tt.provisioned {
				env.apply(t, reqJSON)
			} else {
				must(t, call(c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(req.Source.Bucket),
					CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(req.Source.Region)}})))
			}
			tt.give(t, c, awsclient.KMS(cfg), req.Source.Bucket)
			env.srv.ResetCalls()
			res, err := env.svc.Apply(context.Background(), reqJSON)
			if _, ok := err.(*Conflict); !ok || !strings.Contains(err.Error(), "stage preflight") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v (%T), want a preflight *Conflict about %q", err, err, tt.want)
			}
			if n := countChanges(res); n != 0 {
				t.Errorf("%d changes before the conflict", n)
			}
			if n := env.srv.MutatingCalls(""); n != 0 {
				t.Errorf("%d mutating calls before the conflict", n)
			}
		})
	}
}
