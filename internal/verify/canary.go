package verify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/spec"
)

// This file is the canary: the one check that proves replication instead of predicting
// it. A small object goes under the reserved prefix (spec.Request.CanaryKeyPrefix), so
// the pair's own rule replicates it; a later check reads the source's replication
// status and the replica; then both versions are deleted by version ID. The waiting in
// between is the caller's (the verify state machine's Wait states): nothing here sleeps.
//
// The canary is written SSE-KMS under the source key, explicitly: a replica keeps its
// source object's encryption type, so an SSE-S3 canary (or one relying on a default
// someone changed) would prove nothing about the destination key
// (docs/aws-facts.md#F-REPL-SSE-S3-SOURCE).

// objectAPI lists the object calls of the canary.
type objectAPI interface {
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// Canary statuses.
const (
	CanaryPending   = "pending"
	CanaryCompleted = "completed"
	CanaryFailed    = "failed"
)

// KindCanary marks the findings of the canary.
const KindCanary = "canary"

// DefaultCanaryDeadline is how long a canary may stay PENDING before it counts as failed.
// Without Replication Time Control S3 gives no bound; most objects replicate within 15
// minutes, RTC's documented threshold (docs/aws-facts.md#F-REPL-METRICS).
const DefaultCanaryDeadline = 15 * time.Minute

// Canary is one canary object and what its replica must look like. It is JSON because
// the verify state machine carries it between the put and the checks.
type Canary struct {
	Key       string `json:"key"`
	VersionID string `json:"versionId,omitempty"`
	// Source and Destination are "account/region/bucket" of each side.
	SourceAccount      string `json:"sourceAccount"`
	SourceRegion       string `json:"sourceRegion"`
	SourceBucket       string `json:"sourceBucket"`
	DestinationAccount string `json:"destinationAccount"`
	DestinationRegion  string `json:"destinationRegion"`
	DestinationBucket  string `json:"destinationBucket"`
	// SourceKeyARN encrypts the canary; DestinationKeyARN must encrypt the replica.
	SourceKeyARN      string `json:"sourceKeyArn"`
	DestinationKeyARN string `json:"destinationKeyArn"`
	// BucketKey is the source object's Bucket Key state, which the replica keeps.
	BucketKey bool `json:"bucketKey"`
	// StorageClass is the rule's destination storage class ("" = the source's).
	StorageClass string    `json:"storageClass,omitempty"`
	PutAt        time.Time `json:"putAt"`
	Deadline     time.Time `json:"deadline"`
}

// CanaryResult is the canary's state after a put or a check.
type CanaryResult struct {
	Canary Canary `json:"canary"`
	// Status is CanaryPending, CanaryCompleted or CanaryFailed.
	Status string `json:"status"`
	// ReplicationStatus is the source version's x-amz-replication-status as last read.
	ReplicationStatus string `json:"replicationStatus,omitempty"`
	// LatencySeconds is the time from the put to the check that saw the replica: an
	// upper bound, since S3 reports no completion time (the replica keeps the source's
	// Last-Modified), accurate to the state machine's wait interval.
	LatencySeconds float64   `json:"latencySeconds,omitempty"`
	Findings       []Finding `json:"findings,omitempty"`
}

// CanaryName is the object name of a canary put at t: sortable, and unique per pair
// and instant, so a check by key finds exactly this canary.
func CanaryName(t time.Time) string {
	return "canary-" + t.UTC().Format("20060102T150405.000000000Z")
}

// PutCanary writes a canary under the pair's reserved prefix in the source bucket,
// encrypted SSE-KMS with the source key, through src (a session of the member's s3crr-verifier role). A refused
// put is a failed result with its finding, not an error: it is what the verification
// reports. deadline <= 0 means DefaultCanaryDeadline.
func PutCanary(ctx context.Context, req spec.Request, src *Session, sourceKeyARN, destinationKeyARN string, now time.Time, deadline time.Duration) (CanaryResult, error) {
	if deadline <= 0 {
		deadline = DefaultCanaryDeadline
	}
	c := Canary{
		Key:           req.CanaryKeyPrefix() + CanaryName(now),
		SourceAccount: req.Source.Account, SourceRegion: req.Source.Region, SourceBucket: req.Source.Bucket,
		DestinationAccount: req.Destination.Account, DestinationRegion: req.Destination.Region, DestinationBucket: req.Destination.Bucket,
		SourceKeyARN: sourceKeyARN, DestinationKeyARN: destinationKeyARN,
		StorageClass: req.Rule.StorageClass, PutAt: now.UTC(), Deadline: now.Add(deadline).UTC(),
	}
	if sourceKeyARN == "" {
		return CanaryResult{Canary: c, Status: CanaryFailed, Findings: []Finding{canaryFinding("canary-source-key", c.SourceAccount,
			"the source key could not be resolved, so no canary was written", "fix the source key findings first")}}, nil
	}
	out, err := src.objects.PutObject(ctx, &s3.PutObjectInput{
		Bucket:               aws.String(c.SourceBucket),
		Key:                  aws.String(c.Key),
		Body:                 strings.NewReader("s3crr canary " + c.PutAt.Format(time.RFC3339Nano) + "\n"),
		ContentType:          aws.String("text/plain"),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms,
		SSEKMSKeyId:          aws.String(sourceKeyARN),
	})
	if err != nil {
		if awsclient.IsAccessDenied(err) || awsclient.IsNotFound(err) || strings.HasPrefix(awsclient.ErrorCode(err), "KMS.") {
			return CanaryResult{Canary: c, Status: CanaryFailed, Findings: []Finding{canaryFinding("canary-put", c.SourceAccount,
				fmt.Sprintf("writing the canary s3://%s/%s was refused: %v", c.SourceBucket, c.Key, err),
				"the s3crr-verifier role needs s3:PutObject on the canary prefix and the source key must let it encrypt through S3; see the other findings")}}, nil
		}
		return CanaryResult{Canary: c}, fmt.Errorf("put canary s3://%s/%s: %w", c.SourceBucket, c.Key, err)
	}
	c.VersionID = aws.ToString(out.VersionId)
	c.BucketKey = aws.ToBool(out.BucketKeyEnabled)
	return CanaryResult{Canary: c, Status: CanaryPending}, nil
}

// CheckCanary reads the canary's replication status in the source and, once S3 reports
// COMPLETED, the replica in the destination: it must be a REPLICA, SSE-KMS under the
// destination key, with the source's Bucket Key state and the rule's storage class.
// A canary still PENDING at its deadline has failed.
func CheckCanary(ctx context.Context, c Canary, src, dst *Session, now time.Time) (CanaryResult, error) {
	res := CanaryResult{Canary: c}
	head, err := src.objects.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(c.SourceBucket), Key: aws.String(c.Key)})
	if err != nil {
		return res, fmt.Errorf("read canary s3://%s/%s: %w", c.SourceBucket, c.Key, err)
	}
	res.ReplicationStatus = string(head.ReplicationStatus)
	switch head.ReplicationStatus {
	case s3types.ReplicationStatusPending:
		if now.Before(c.Deadline) {
			res.Status = CanaryPending
			return res, nil
		}
		return failed(res, canaryFinding("canary-timeout", c.SourceAccount,
			fmt.Sprintf("the canary was still PENDING after %s", c.Deadline.Sub(c.PutAt).Round(time.Second)),
			"check the pair's OperationsPendingReplication metric and the findings; enable Replication Time Control for a bounded latency")), nil
	case s3types.ReplicationStatusFailed:
		return failed(res, canaryFinding("canary-replication-failed", c.SourceAccount,
			"S3 reports the canary's replication FAILED",
			"fix the error findings of this verification (each names the failure code); S3 does not retry a FAILED object, replicate it again with S3 Batch Replication")), nil
	case s3types.ReplicationStatusComplete, s3types.ReplicationStatusCompleted:
	default:
		return failed(res, canaryFinding("canary-not-replicated", c.SourceAccount,
			fmt.Sprintf("the canary has no replication status (%q): no enabled rule of the source bucket covers %s", head.ReplicationStatus, c.Key),
			"restore the pair's replication rule (re-run `crr apply`)")), nil
	}
	res.LatencySeconds = now.Sub(c.PutAt).Seconds()
	// By key, not version ID: the key is unique to this canary, and a version-specific
	// read would need s3:GetObjectVersion as well.
	rep, err := dst.objects.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(c.DestinationBucket), Key: aws.String(c.Key)})
	if err != nil {
		return failed(res, canaryFinding("canary-replica-missing", c.DestinationAccount,
			fmt.Sprintf("S3 reports the canary COMPLETED but its replica s3://%s/%s cannot be read: %v", c.DestinationBucket, c.Key, err),
			"check the destination bucket's lifecycle rules and the s3crr-verifier role's read grant on the canary prefix")), nil
	}
	res.Findings = append(res.Findings, replicaFindings(c, rep)...)
	if len(res.Findings) > 0 {
		res.Status = CanaryFailed
		return res, nil
	}
	res.Status = CanaryCompleted
	return res, nil
}

// replicaFindings compares the replica with what the pair promises.
func replicaFindings(c Canary, rep *s3.HeadObjectOutput) []Finding {
	var out []Finding
	acct := c.DestinationAccount
	if c.VersionID != "" && aws.ToString(rep.VersionId) != c.VersionID {
		out = append(out, canaryFinding("canary-replica-version", acct,
			fmt.Sprintf("the destination's version %q is not the canary's %q", aws.ToString(rep.VersionId), c.VersionID),
			"another writer put an object under the canary prefix; remove it"))
	}
	if rep.ReplicationStatus != s3types.ReplicationStatusReplica {
		out = append(out, canaryFinding("canary-replica-status", acct,
			fmt.Sprintf("the destination object's replication status is %q, not REPLICA", rep.ReplicationStatus),
			"another writer put an object under the canary prefix; remove it"))
	}
	if rep.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms || aws.ToString(rep.SSEKMSKeyId) != c.DestinationKeyARN {
		out = append(out, canaryFinding("canary-replica-key", acct,
			fmt.Sprintf("the replica is encrypted %s with %q, not aws:kms with the destination key %s", rep.ServerSideEncryption, aws.ToString(rep.SSEKMSKeyId), c.DestinationKeyARN),
			"set the rule's ReplicaKmsKeyID to the destination key ARN (re-run `crr apply`)"))
	}
	if aws.ToBool(rep.BucketKeyEnabled) != c.BucketKey {
		f := canaryFinding("canary-replica-bucket-key", acct,
			fmt.Sprintf("the replica's Bucket Key state is %t, the source object's %t", aws.ToBool(rep.BucketKeyEnabled), c.BucketKey),
			"nothing fails, but KMS request costs differ between the sides; align the buckets' default encryption")
		f.Severity = SeverityWarning
		out = append(out, f)
	}
	want, got := c.StorageClass, string(rep.StorageClass)
	if want == "" {
		want = "STANDARD"
	}
	if got == "" {
		got = "STANDARD" // HeadObject omits the header for STANDARD
	}
	if got != want {
		out = append(out, canaryFinding("canary-replica-storage-class", acct,
			fmt.Sprintf("the replica's storage class is %s, the rule's %s", got, want),
			"restore the rule's destination storage class (re-run `crr apply`)"))
	}
	return out
}

// CleanupCanary deletes the canary's version in the source and its replica in the
// destination, by version ID: a delete without one would add a delete marker (which the
// rule replicates) and leave the canary in place. A version already gone is not an
// error; a refused delete is, so a leftover canary is never silent.
func CleanupCanary(ctx context.Context, c Canary, src, dst *Session) error {
	if c.VersionID == "" {
		return nil // the put was refused: nothing was written
	}
	var errs []string
	for _, side := range []struct {
		s              *Session
		bucket, region string
	}{{src, c.SourceBucket, c.SourceRegion}, {dst, c.DestinationBucket, c.DestinationRegion}} {
		_, err := side.s.objects.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(side.bucket), Key: aws.String(c.Key), VersionId: aws.String(c.VersionID)})
		if err != nil && !awsclient.IsNotFound(err) {
			errs = append(errs, fmt.Sprintf("delete s3://%s/%s?versionId=%s: %v", side.bucket, c.Key, c.VersionID, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("clean up canary: %s", strings.Join(errs, "; "))
	}
	return nil
}

func failed(res CanaryResult, f Finding) CanaryResult {
	res.Status = CanaryFailed
	res.Findings = append(res.Findings, f)
	return res
}

func canaryFinding(check, account, msg, fix string) Finding {
	return Finding{Check: check, Kind: KindCanary, Severity: SeverityError, Account: account,
		Document: "canary object", Message: msg, Fix: fix}
}
