package localaws

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Replication of multipart objects and of tag changes, on the e2e pair (e2e_test.go).

// e2eDstBucketPolicy replaces B's bucket policy with the setup's grants to the role, minus
// the actions in without, plus the extra statements.
func e2eDstBucketPolicy(t *testing.T, env *e2eEnv, without []string, extra ...any) {
	t.Helper()
	var writes []string
	for _, a := range []string{"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"} {
		if !slices.Contains(without, a) {
			writes = append(writes, a)
		}
	}
	statements := append([]any{
		map[string]any{"Sid": "ReplicaWrites", "Effect": "Allow", "Principal": map[string]any{"AWS": e2eRoleARN},
			"Action": writes, "Resource": "arn:aws:s3:::" + e2eDstBucket + "/*"},
	}, extra...)
	_, err := env.s3B.PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{Bucket: aws.String(e2eDstBucket),
		Policy: aws.String(e2eJSON(t, map[string]any{"Version": "2012-10-17", "Statement": statements}))})
	e2eMust(t, "put destination bucket policy", err)
}

// e2eWantFailure checks a version FAILED with code, and that the failure event says so.
func e2eWantFailure(t *testing.T, env *e2eEnv, key, vid, code string) {
	t.Helper()
	if got := env.headStatus(t, key, vid); got != "FAILED" {
		t.Fatalf("source status %q, want FAILED", got)
	}
	_, got, detail, _ := env.srv.ObjectReplication(e2eSrcBucket, key, vid)
	if got != code {
		t.Errorf("failure code %q (%s), want %q", got, detail, code)
	}
	delivered := env.sinkEvents()
	if len(delivered) == 0 {
		t.Fatalf("no failure event delivered")
	}
	var msg events.S3Event
	e2eMust(t, "decode event", json.Unmarshal(delivered[len(delivered)-1].Body, &msg))
	if len(msg.Records) != 1 || msg.Records[0].ReplicationEventData == nil || msg.Records[0].ReplicationEventData.FailureReason != code {
		t.Errorf("last event %s, want failureReason %s", delivered[len(delivered)-1].Body, code)
	}
}

// putMultipart writes parts to A's source bucket as one multipart upload.
func (env *e2eEnv) putMultipart(t *testing.T, key string, parts [][]byte, tagging string) *s3.CompleteMultipartUploadOutput {
	return s3Multipart(t, env.s3A, e2eSrcBucket, key, parts, func(in *s3.CreateMultipartUploadInput) {
		if tagging != "" {
			in.Tagging = aws.String(tagging)
		}
	})
}

func TestE2EMultipartReplication(t *testing.T) {
	env := e2eSetup(t, e2eVariant{})
	ctx := context.Background()
	parts := s3Parts(2)
	out := env.putMultipart(t, "docs/big.bin", parts, "class=finance")
	vid := aws.ToString(out.VersionId)
	env.waitIdle(t)
	if got := env.headStatus(t, "docs/big.bin", vid); got != "COMPLETED" {
		_, code, detail, _ := env.srv.ObjectReplication(e2eSrcBucket, "docs/big.bin", vid)
		t.Fatalf("source status %q (%s: %s), want COMPLETED", got, code, detail)
	}
	get, err := env.s3B.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e2eDstBucket), Key: aws.String("docs/big.bin"), VersionId: aws.String(vid)})
	e2eMust(t, "get replica", err)
	body, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(body, bytes.Join(parts, nil)) {
		t.Errorf("replica body differs (%d bytes, want %d)", len(body), len(bytes.Join(parts, nil)))
	}
	// A multipart replica: the source's ETag (md5-of-md5s-2) and parts, under B's key.
	if want := s3WantMultipartETag(parts); aws.ToString(get.ETag) != want || aws.ToString(out.ETag) != want {
		t.Errorf("replica ETag %s, source ETag %s, want %s", aws.ToString(get.ETag), aws.ToString(out.ETag), want)
	}
	if aws.ToString(get.SSEKMSKeyId) != env.dstKeyARN || string(get.ReplicationStatus) != "REPLICA" || aws.ToInt32(get.TagCount) != 1 {
		t.Errorf("replica key %q status %q tags %d", aws.ToString(get.SSEKMSKeyId), get.ReplicationStatus, aws.ToInt32(get.TagCount))
	}
	env.srv.mu.Lock()
	sizes := s3FindVersion(env.srv.buckets[e2eDstBucket], "docs/big.bin", vid).partSizes
	env.srv.mu.Unlock()
	if !slices.Equal(sizes, []int64{int64(len(parts[0])), int64(len(parts[1]))}) {
		t.Errorf("replica part sizes %v, want the source's", sizes)
	}
}

func TestE2EMultipartReplicationFailures(t *testing.T) {
	tests := []struct {
		name    string
		variant e2eVariant
		// single is the code a single-part object gets with the same setup.
		single, multipart string
	}{
		{
			name:    "no destination bucket policy",
			variant: e2eVariant{noDstBucketPolicy: true},
			single:  "DstPutObjectNotPermitted", multipart: "DstMultipartInitNotPermitted",
		},
		{
			// With Bucket Keys the data key is generated and decrypted at the initiate.
			name:    "no kms:Decrypt on the destination key",
			variant: e2eVariant{dstKeyRoleActions: []string{"kms:Encrypt", "kms:GenerateDataKey"}},
			single:  "DstPutObjectNotPermitted", multipart: "DstMultipartInitNotPermitted",
		},
		{
			// "Deny writes without an encryption header", written with Null: the initiate
			// carries the header, the part uploads do not.
			name: "destination denies writes without an encryption header",
			variant: e2eVariant{before: func(t *testing.T, env *e2eEnv) {
				e2eDstBucketPolicy(t, env, nil, map[string]any{"Sid": "DenyUnencrypted", "Effect": "Deny", "Principal": "*",
					"Action": []string{"s3:PutObject", "s3:ReplicateObject"}, "Resource": "arn:aws:s3:::" + e2eDstBucket + "/*",
					"Condition": map[string]any{"Null": map[string]any{"s3:x-amz-server-side-encryption": "true"}}})
			}},
			single: "", multipart: "DstMultipartUploadNotPermitted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := e2eSetup(t, tt.variant)
			svid := env.put(t, "docs/small.txt", "small", "")
			env.waitIdle(t)
			if tt.single == "" {
				if got := env.headStatus(t, "docs/small.txt", svid); got != "COMPLETED" {
					t.Errorf("single-part object %s, want COMPLETED", got)
				}
			} else {
				e2eWantFailure(t, env, "docs/small.txt", svid, tt.single)
			}
			out := env.putMultipart(t, "docs/big.bin", s3Parts(2), "")
			env.waitIdle(t)
			e2eWantFailure(t, env, "docs/big.bin", aws.ToString(out.VersionId), tt.multipart)
			if _, err := env.s3B.HeadObject(context.Background(), &s3.HeadObjectInput{
				Bucket: aws.String(e2eDstBucket), Key: aws.String("docs/big.bin")}); err == nil {
				t.Errorf("a replica exists in B after a failed replication")
			}
		})
	}
}

// e2eReplicaTags is B's view of the replica's tags.
func e2eReplicaTags(t *testing.T, env *e2eEnv, key, vid string) string {
	t.Helper()
	out, err := env.s3B.GetObjectTagging(context.Background(), &s3.GetObjectTaggingInput{Bucket: aws.String(e2eDstBucket),
		Key: aws.String(key), VersionId: aws.String(vid)})
	e2eMust(t, "get replica tags", err)
	return s3TagString(out.TagSet)
}

func e2ePutTags(t *testing.T, env *e2eEnv, key, vid string, tags ...string) {
	t.Helper()
	var set []s3types.Tag
	for i := 0; i+1 < len(tags); i += 2 {
		set = append(set, s3types.Tag{Key: aws.String(tags[i]), Value: aws.String(tags[i+1])})
	}
	_, err := env.s3A.PutObjectTagging(context.Background(), &s3.PutObjectTaggingInput{Bucket: aws.String(e2eSrcBucket),
		Key: aws.String(key), VersionId: aws.String(vid), Tagging: &s3types.Tagging{TagSet: set}})
	e2eMust(t, "put source tags", err)
}

func TestE2ETagChangeReplication(t *testing.T) {
	env := e2eSetup(t, e2eVariant{})
	vid := env.put(t, "docs/batch.csv", "batch", "class=finance")
	env.waitIdle(t)
	if got := e2eReplicaTags(t, env, "docs/batch.csv", vid); got != "class=finance" {
		t.Fatalf("replica tags %q after the put", got)
	}
	e2ePutTags(t, env, "docs/batch.csv", vid, "class", "archive", "owner", "ops")
	env.waitIdle(t)
	if got := env.headStatus(t, "docs/batch.csv", vid); got != "COMPLETED" {
		t.Errorf("source status after the tag change %q, want COMPLETED", got)
	}
	if got := e2eReplicaTags(t, env, "docs/batch.csv", vid); got != "class=archive&owner=ops" {
		t.Errorf("replica tags %q after PutObjectTagging, want the new set", got)
	}
	_, err := env.s3A.DeleteObjectTagging(context.Background(), &s3.DeleteObjectTaggingInput{Bucket: aws.String(e2eSrcBucket),
		Key: aws.String("docs/batch.csv"), VersionId: aws.String(vid)})
	e2eMust(t, "delete source tags", err)
	env.waitIdle(t)
	if got := e2eReplicaTags(t, env, "docs/batch.csv", vid); got != "" {
		t.Errorf("replica tags %q after DeleteObjectTagging, want none", got)
	}
	if n := len(env.sinkEvents()); n != 0 {
		t.Errorf("%d events after successful replications, want 0", n)
	}
}

func TestE2ETagChangeReplicationFailures(t *testing.T) {
	t.Run("destination denies s3:ReplicateTags", func(t *testing.T) {
		env := e2eSetup(t, e2eVariant{})
		vid := env.put(t, "docs/batch.csv", "batch", "class=finance")
		env.waitIdle(t)
		e2eDstBucketPolicy(t, env, []string{"s3:ReplicateTags"})
		e2ePutTags(t, env, "docs/batch.csv", vid, "class", "archive")
		env.waitIdle(t)
		e2eWantFailure(t, env, "docs/batch.csv", vid, "DstPutTaggingNotPermitted")
		if got := e2eReplicaTags(t, env, "docs/batch.csv", vid); got != "class=finance" {
			t.Errorf("replica tags %q after a failed tag replication, want the old set", got)
		}
	})
	t.Run("role may not read the source tags", func(t *testing.T) {
		env := e2eSetup(t, e2eVariant{srcObjectActions: []string{"s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl"}})
		vid := env.put(t, "docs/batch.csv", "batch", "") // untagged: replicates without reading tags
		env.waitIdle(t)
		if got := env.headStatus(t, "docs/batch.csv", vid); got != "COMPLETED" {
			t.Fatalf("untagged object %s, want COMPLETED", got)
		}
		e2ePutTags(t, env, "docs/batch.csv", vid, "class", "archive")
		env.waitIdle(t)
		e2eWantFailure(t, env, "docs/batch.csv", vid, "SrcGetTaggingNotPermitted")
	})
	t.Run("replica deleted in the destination", func(t *testing.T) {
		env := e2eSetup(t, e2eVariant{})
		vid := env.put(t, "docs/batch.csv", "batch", "")
		env.waitIdle(t)
		_, err := env.s3B.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(e2eDstBucket),
			Key: aws.String("docs/batch.csv"), VersionId: aws.String(vid)})
		e2eMust(t, "delete the replica version", err)
		e2ePutTags(t, env, "docs/batch.csv", vid, "class", "archive")
		env.waitIdle(t)
		e2eWantFailure(t, env, "docs/batch.csv", vid, "DstVersionNotFound")
	})
}
