package provision

// Provisioning against behaviour the simulator takes from AWS's documentation rather than
// from s3crr's own reading: each test fails when the product disagrees with the page the
// fact sheet cites.

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/spec"
)

// replicatedOK puts an object (with a Bucket Key when bucketKey) and fails the test unless
// it replicates.
func (e *localEnv) replicatedOK(t *testing.T, req spec.Request, key string, bucketKey bool) {
	t.Helper()
	var out *s3.PutObjectOutput
	if bucketKey {
		out = e.putBucketKeyAndWait(t, req, key)
	} else {
		out = e.putAndWait(t, req, key, "")
	}
	status, code, detail, _ := e.srv.ObjectReplication(req.Source.Bucket, key, aws.ToString(out.VersionId))
	if status != "COMPLETED" {
		t.Errorf("%s: replication %s %s (%s), want COMPLETED", key, status, code, detail)
	}
}

// TestProvisionCreatesObjectLockDestination: for an Object Lock source, the buckets stage
// creates the destination with Object Lock, which CreateBucket authorizes against
// s3:PutBucketObjectLockConfiguration and s3:PutBucketVersioning too
// (docs/aws-facts.md#F-CREATEBUCKET-OBJECT-LOCK).
func TestProvisionCreatesObjectLockDestination(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	reqJSON := sampleRequest(t)
	req := mustParse(t, reqJSON)
	createObjectLockBucket(t, env, req.Source)

	env.apply(t, reqJSON)
	lock, err := awsclient.S3(env.root(req.Destination.Account, req.Destination.Region)).GetObjectLockConfiguration(context.Background(),
		&s3.GetObjectLockConfigurationInput{Bucket: aws.String(req.Destination.Bucket)})
	if err != nil || lock.ObjectLockConfiguration == nil || lock.ObjectLockConfiguration.ObjectLockEnabled != s3types.ObjectLockEnabledEnabled {
		t.Fatalf("destination Object Lock: %+v, %v; want Enabled", lock, err)
	}
	env.replicatedOK(t, req, "locked/a.csv", false)
}

// TestProvisionOwnerOverrideIsConsistent: the rule carries the owner override option
// exactly when the policies grant s3:ObjectOwnerOverrideToBucketOwner, which S3 requires
// for the option whatever the destination's Object Ownership
// (docs/aws-facts.md#F-REPL-OWNER-OVERRIDE). Against a destination s3crr creates
// (BucketOwnerEnforced) the option is left out; against an object-writer destination it is
// kept and granted.
func TestProvisionOwnerOverrideIsConsistent(t *testing.T) {
	tests := []struct {
		name       string
		ownership  s3types.ObjectOwnership // "" lets s3crr create the destination
		wantOption bool
	}{
		{name: "destination created by s3crr (BucketOwnerEnforced)", wantOption: false},
		{name: "existing object-writer destination", ownership: s3types.ObjectOwnershipObjectWriter, wantOption: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newLocalEnv(t, localaws.Options{})
			reqJSON := sampleRequest(t)
			req := mustParse(t, reqJSON)
			if !req.Rule.OwnerOverride {
				t.Fatal("the sample request no longer asks for owner override; this test needs it")
			}
			ctx := context.Background()
			dst := awsclient.S3(env.root(req.Destination.Account, req.Destination.Region))
			if tt.ownership != "" {
				in := &s3.CreateBucketInput{Bucket: aws.String(req.Destination.Bucket), ObjectOwnership: tt.ownership}
				if req.Destination.Region != "us-east-1" {
					in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(req.Destination.Region)}
				}
				must(t, call(dst.CreateBucket(ctx, in)))
			}
			env.apply(t, reqJSON)

			rep, err := awsclient.S3(env.root(req.Source.Account, req.Source.Region)).GetBucketReplication(ctx,
				&s3.GetBucketReplicationInput{Bucket: aws.String(req.Source.Bucket)})
			must(t, err)
			if len(rep.ReplicationConfiguration.Rules) != 1 {
				t.Fatalf("%d rules, want 1", len(rep.ReplicationConfiguration.Rules))
			}
			hasOption := rep.ReplicationConfiguration.Rules[0].Destination.AccessControlTranslation != nil
			if hasOption != tt.wantOption {
				t.Errorf("rule AccessControlTranslation present = %v, want %v", hasOption, tt.wantOption)
			}
			pol, err := dst.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(req.Destination.Bucket)})
			must(t, err)
			granted := strings.Contains(aws.ToString(pol.Policy), "s3:ObjectOwnerOverrideToBucketOwner")
			if granted != hasOption {
				t.Errorf("destination bucket policy grants the override = %v, rule carries the option = %v: they must agree", granted, hasOption)
			}
			env.replicatedOK(t, req, "owner/a.csv", false)
		})
	}
}

// TestProvisionReplicatesBucketKeyObjectsWithoutPairBucketKeys: a replica keeps its source
// object's S3 Bucket Key, so a pair without Bucket Keys must still replicate an object
// uploaded with one (docs/aws-facts.md#F-BUCKET-KEY).
func TestProvisionReplicatesBucketKeyObjectsWithoutPairBucketKeys(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	// Owner override off keeps this test to the one behaviour it is about.
	reqJSON := requestJSON(t, func(r *spec.Request) { r.Rule.BucketKeyEnabled, r.Rule.OwnerOverride = aws.Bool(false), false })
	req := mustParse(t, reqJSON)
	env.apply(t, reqJSON)
	env.replicatedOK(t, req, "plain/a.csv", false)
	env.replicatedOK(t, req, "bucket-key/a.csv", true)
}
