package localaws

import (
	"maps"
	"time"

	"github.com/s3crr/s3crr/internal/localaws/authz"
)

// Replication of what the single-PutObject path in replication_process.go does not cover:
// multipart replicas, and tag changes on versions that have already replicated
// (docs/aws-facts.md#F-REPL-MULTIPART-AND-TAGS: which request raises which code is our
// reading). Failure codes are those of [UG] replication-failure-codes
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-failure-codes.html);
// the current page names the part upload code DstMultipartUploadNotPermitted (older pages:
// DstMultipartPartUploadNotPermitted).

// replAuthorize authorizes action on resource of bucket b as the replication role session,
// with b's bucket policy as the resource policy. The caller holds s.mu.
func (s *Server) replAuthorize(role *principal, b *bucket, action, resource string, ctx map[string][]string) *apiError {
	// s3:ResourceAccount is the owner of the bucket acted on, for S3's own requests as
	// the role too (S3 condition keys, Service Authorization Reference).
	ctx["s3:ResourceAccount"] = []string{b.account}
	return s.authorize(authRequest{
		p: role, mode: authz.ModeStandard, action: action, resource: resource,
		resourcePolicy: b.policy, resourceAccount: b.account, context: ctx,
	})
}

// replMultipartParts performs the checks of a multipart replica's part uploads and
// completion, after the initiate passed: s3:ReplicateObject for each request (without the
// encryption condition keys, which only the initiate carries), and for SSE-KMS replicas
// kms:Decrypt of the replica's data key as the role, which S3 needs to encrypt later parts
// with the key of the first and to assemble them ([UG] mpuoverview,
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html). The caller
// holds s.mu.
func (s *Server) replMultipartParts(role *principal, dst *bucket, replica *objectVersion, dstObjectARN string) *replicationOutcome {
	step := func(code string) *replicationOutcome {
		if err := s.replAuthorize(role, dst, "s3:ReplicateObject", dstObjectARN, s3ServiceContext()); err != nil {
			return replFail(code, err.Message)
		}
		if !s3IsKMS(replica.sse) {
			return nil
		}
		if _, _, err := s.kmsDecrypt(role, dst.region, replica.encryptedDataKey, replica.encryptionContext, s3Via(dst.region)); err != nil {
			switch err.Code {
			case "NotFoundException":
				return replFail("DstKmsKeyNotFound", "kms:Decrypt on the destination key: "+err.Message)
			case "DisabledException", "KMSInvalidStateException":
				return replFail("DstKmsKeyInvalidState", "kms:Decrypt on the destination key: "+err.Message)
			}
			return replFail(code, "kms:Decrypt on the destination key: "+err.Message)
		}
		return nil
	}
	for range replica.partSizes {
		if out := step("DstMultipartUploadNotPermitted"); out != nil {
			return out
		}
	}
	return step("DstMultipartCompleteNotPermitted")
}

// scheduleTagReplication queues the replication of a tag change on v, made by
// PutObjectTagging or DeleteObjectTagging, when v has replicated (COMPLETED) and the rules
// still select it with its new tags: S3 then replicates the new tag set onto the replica
// and the source goes PENDING again until it has. A version still PENDING needs nothing:
// its task reads the tags when it runs. Replicas are not replicated back, and FAILED
// versions have no replica to update. The caller holds s.mu.
func (s *Server) scheduleTagReplication(b *bucket, v *objectVersion) {
	if v.replicationStatus == replReplica {
		s.scheduleReplicaSync(b, v)
		return
	}
	if s.closed || b.replication == nil || v.isDeleteMarker || v.replicationStatus != replCompleted {
		return
	}
	v.replicationStatus = "" // replQueue sets PENDING when a rule selects the version
	rules := replSelectRules(b.replication, v)
	if len(rules) == 0 {
		v.replicationStatus = replCompleted
		return
	}
	s.replQueue(b, v, rules, true)
}

// replicateTags replicates v's current tag set onto its replica in the task's destination,
// as the role (already assumed): s3:GetReplicationConfiguration on the source bucket and
// s3:GetObjectVersionTagging on the version (SrcGetTaggingNotPermitted), then the replica
// must exist in the destination (DstVersionNotFound: the documented code for a version
// whose metadata S3 cannot find to update) and the role needs s3:ReplicateTags there
// (DstPutTaggingNotPermitted). The caller holds s.mu.
func (s *Server) replicateTags(t replicationTask, src *bucket, role *principal, v *objectVersion) *replicationOutcome {
	srcBucketARN := s3BucketARN(src.name)
	if err := s.replAuthorize(role, src, "s3:GetReplicationConfiguration", srcBucketARN, s3ServiceContext()); err != nil {
		return replFail("SrcBucketReplicationConfigMissing", err.Message)
	}
	if err := s.replAuthorize(role, src, "s3:GetObjectVersionTagging", s3ObjectARN(src.name, v.key), s3ServiceContext()); err != nil {
		return replFail("SrcGetTaggingNotPermitted", err.Message)
	}
	dst := s.buckets[t.destBucket]
	if dst == nil {
		return replFail("DstBucketNotFound", "destination bucket "+t.destBucket+" does not exist")
	}
	replica := s3FindVersion(dst, v.key, v.versionID)
	if replica == nil || replica.isDeleteMarker {
		return replFail("DstVersionNotFound", "destination bucket "+dst.name+" has no version "+v.versionID+" of "+v.key+" to update the tags of")
	}
	if err := s.replAuthorize(role, dst, "s3:ReplicateTags", s3ObjectARN(dst.name, v.key), s3ServiceContext()); err != nil {
		return replFail("DstPutTaggingNotPermitted", err.Message)
	}
	replica.tags = maps.Clone(v.tags)
	return nil
}

// scheduleReplicaSync queues the replication of a tag change on a replica back to its
// source, when the replica's bucket has a rule with replica modification sync that selects
// it: S3 then replicates metadata changes made on replicas to the source objects, and
// only metadata. The replica itself is never replicated again, so two buckets replicating
// to each other do not loop (docs/aws-facts.md#F-REPL-REPLICA-MODIFICATIONS). The tags go
// onto the version with the replica's version ID in the rule's destination (replicateTags),
// set directly, so that write schedules nothing either. The caller holds s.mu.
func (s *Server) scheduleReplicaSync(b *bucket, v *objectVersion) {
	if s.closed || b.replication == nil || v.isDeleteMarker {
		return
	}
	now, wall := s.now(), time.Now()
	for _, r := range replSelectRules(b.replication, v) {
		if !r.replicaModifications {
			continue
		}
		t := replicationTask{
			bucket: b.name, key: v.key, versionID: v.versionID,
			ruleID: r.id, destBucket: s3BucketNameFromARN(r.destBucketARN),
			v: v, requestTime: now, queued: wall, tagsOnly: true, replicaSync: true,
		}
		s.repl.pending++
		go s.runReplication(t)
	}
}
