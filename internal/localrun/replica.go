package localrun

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/spec"
)

// Replication statuses as S3 reports them in x-amz-replication-status. The SDK's
// enum is compared as raw strings: older SDK enums spelled COMPLETED "COMPLETE".
const (
	replicaStatus    = "REPLICA"
	completedStatus  = "COMPLETED"
	replicaWaitLimit = 30 * time.Second
)

// Replica is an object written to the source bucket and what became of it.
type Replica struct {
	SourceBucket, DestinationBucket, Key string
	// SourceVersionID and ReplicaVersionID are the object's version in each
	// bucket; S3 gives a replica its source's version ID.
	SourceVersionID, ReplicaVersionID string
	// SourceStatus and ReplicaStatus are the HeadObject replication statuses
	// (COMPLETED and REPLICA when it worked).
	SourceStatus, ReplicaStatus string
	// SourceKMSKeyID and ReplicaKMSKeyID are the SSE-KMS keys of each copy;
	// ReplicaBucketKey whether the replica uses an S3 Bucket Key.
	SourceKMSKeyID, ReplicaKMSKeyID string
	ReplicaBucketKey                bool
	// DestinationKeyARN is the key the replica must be encrypted with: the
	// destination key from the execution output.
	DestinationKeyARN string
	// Latency is the wall-clock time from sending PutObject until the simulator
	// finished replicating (the replica written, or the failure recorded): an
	// upper bound, since it includes the PutObject round trip.
	Latency time.Duration
}

// Problems lists what is wrong with the replica; none when it is in B with B's
// key, REPLICA, and the source COMPLETED.
func (r Replica) Problems() []string {
	var out []string
	if r.SourceStatus != completedStatus {
		out = append(out, fmt.Sprintf("source status is %q, want %s", r.SourceStatus, completedStatus))
	}
	if r.ReplicaStatus != replicaStatus {
		out = append(out, fmt.Sprintf("replica status is %q, want %s", r.ReplicaStatus, replicaStatus))
	}
	if r.DestinationKeyARN == "" || r.ReplicaKMSKeyID != r.DestinationKeyARN {
		out = append(out, fmt.Sprintf("replica is encrypted with %q, want the destination key %q", r.ReplicaKMSKeyID, r.DestinationKeyARN))
	}
	if r.ReplicaVersionID != r.SourceVersionID {
		out = append(out, fmt.Sprintf("replica version %q differs from the source version %q", r.ReplicaVersionID, r.SourceVersionID))
	}
	return out
}

// DemoKey is the key of the object the demo writes, under the rule's prefix
// so that the rule selects it.
func DemoKey(r spec.Request) string { return r.Rule.Prefix + "demo/hello.txt" }

// PutAndCheck writes key to the request's source bucket as account A's root,
// through the SDK, waits until the simulator has replicated it (or failed
// to), and reads both copies back with HeadObject as each account's root.
// destinationKeyARN is what the replica's key must be (see Replica.Problems).
// The object carries the rule's tag filter, if any, so that the rule selects it.
func (e *Env) PutAndCheck(ctx context.Context, r spec.Request, key, destinationKeyARN string) (Replica, error) {
	rep := Replica{SourceBucket: r.Source.Bucket, DestinationBucket: r.Destination.Bucket, Key: key, DestinationKeyARN: destinationKeyARN}
	src := awsclient.S3(e.RootConfig(r.Source.Account, r.Source.Region))
	dst := awsclient.S3(e.RootConfig(r.Destination.Account, r.Destination.Region))
	in := &s3.PutObjectInput{
		Bucket: aws.String(r.Source.Bucket), Key: aws.String(key),
		Body: bytes.NewReader([]byte("hello from account " + r.Source.Account + "\n")), ContentType: aws.String("text/plain"),
	}
	if tags := tagging(r.Rule.Tags); tags != "" {
		in.Tagging = aws.String(tags)
	}
	// The simulator may finish replicating before the PutObject response
	// arrives, so the clock starts with the request.
	start := time.Now()
	put, err := src.PutObject(ctx, in)
	if err != nil {
		return rep, fmt.Errorf("put s3://%s/%s as %s: %w", r.Source.Bucket, key, r.Source.Account, err)
	}
	rep.SourceVersionID = aws.ToString(put.VersionId)
	waitCtx, cancel := context.WithTimeout(ctx, replicaWaitLimit)
	defer cancel()
	if err := e.Sim.WaitIdle(waitCtx); err != nil {
		return rep, fmt.Errorf("wait for replication of s3://%s/%s: %w", r.Source.Bucket, key, err)
	}
	rep.Latency = time.Since(start)

	head, err := src.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(r.Source.Bucket), Key: aws.String(key), VersionId: put.VersionId})
	if err != nil {
		return rep, fmt.Errorf("head s3://%s/%s: %w", r.Source.Bucket, key, err)
	}
	rep.SourceStatus = string(head.ReplicationStatus)
	rep.SourceKMSKeyID = aws.ToString(head.SSEKMSKeyId)

	replica, err := dst.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(r.Destination.Bucket), Key: aws.String(key)})
	if err != nil {
		var why string
		if status, code, detail, ok := e.Sim.ObjectReplication(r.Source.Bucket, key, rep.SourceVersionID); ok && code != "" {
			why = fmt.Sprintf(" (source %s: %s, %s)", status, code, detail)
		}
		return rep, fmt.Errorf("head replica s3://%s/%s as %s: %w%s", r.Destination.Bucket, key, r.Destination.Account, err, why)
	}
	rep.ReplicaVersionID = aws.ToString(replica.VersionId)
	rep.ReplicaStatus = string(replica.ReplicationStatus)
	rep.ReplicaKMSKeyID = aws.ToString(replica.SSEKMSKeyId)
	rep.ReplicaBucketKey = aws.ToBool(replica.BucketKeyEnabled)
	return rep, nil
}

// tagging renders a tag filter as a PutObject Tagging header (URL query form).
func tagging(tags map[string]string) string {
	v := url.Values{}
	for k, val := range tags {
		v.Set(k, val)
	}
	return v.Encode()
}
