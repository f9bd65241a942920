package localaws

import (
	"crypto/rand"
	"maps"
	"slices"
	"time"
)

// Processing one replication task. The checks run in this order, and the first that fails
// decides the failure code (S3 does not document its order; this one follows the flow of a
// replication: read the configuration, become the role, read the source, then write the
// destination):
//
//  0. the source still exists: bucket (SrcBucketNotFound), replication configuration
//     (SrcBucketReplicationConfigMissing), version (SrcVersionNotFound), and the rule still
//     selects it (SrcObjectNotEligible);
//  1. S3 assumes the configuration's role as s3.amazonaws.com (AssumeRoleNotPermitted);
//  2. as the role session, on the source (identity policies + source bucket policy):
//     s3:GetReplicationConfiguration on the bucket (SrcBucketReplicationConfigMissing: AWS
//     documents no code for this denial; S3 cannot read the configuration, which is what
//     that code says); for objects s3:GetObjectVersionForReplication
//     (SrcGetObjectNotPermitted), s3:GetObjectVersionAcl (SrcGetAclNotPermitted),
//     s3:GetObjectVersionTagging when tagged (SrcGetTaggingNotPermitted), and with Object
//     Lock s3:GetObjectRetention / s3:GetObjectLegalHold (SrcGetRetentionNotPermitted /
//     SrcGetLegalHoldNotPermitted); for delete markers s3:ListBucket on the bucket
//     (SrcHeadObjectNotPermitted, the documented code for failing to read a version's
//     metadata, the closest to what ListBucket is for);
//  3. SSE-KMS sources: the source key's state (disabled, pending deletion, gone:
//     SrcKmsKeyInvalidState), then kms:Decrypt of the object's data key with its stored
//     encryption context via s3.<source region>.amazonaws.com. A denied Decrypt has no
//     code of its own in [UG] replication-failure-codes; S3 cannot read the object, so it
//     is SrcGetObjectNotPermitted;
//  4. the destination bucket: exists (DstBucketNotFound), versioning Enabled
//     (DstBucketUnversioned), Object Lock when the source has it
//     (DstBucketObjectLockConfigMissing);
//  5. as the role, on the destination (cross-account: identity policies and B's bucket
//     policy must both allow): s3:ReplicateObject (DstPutObjectNotPermitted) or, for delete
//     markers, s3:ReplicateDelete (DstDelObjNotPermitted); s3:ReplicateTags when tagged
//     (DstPutTaggingNotPermitted); s3:ObjectOwnerOverrideToBucketOwner whenever the rule
//     translates ownership, whatever B's Object Ownership ([UG] replication-change-owner)
//     (DstPutObjectNotPermitted: the current [UG] lists this permission under that code);
//  6. the replica's key: ReplicaKmsKeyID for SSE-KMS sources (resolved in the destination
//     Region; an alias resolves in the role's account, as [API] EncryptionConfiguration
//     warns), or B's default SSE-KMS key for unencrypted sources (an SSE-S3 source stays
//     SSE-S3, [UG] replication-config-for-kms-objects): not found (DstKmsKeyNotFound),
//     disabled or pending deletion (DstKmsKeyInvalidState), then kms:Encrypt as the role
//     with the replica's encryption context (plus kms:GenerateDataKey and kms:Decrypt with
//     Bucket Keys), or kms:GenerateDataKey for unencrypted sources. A denial is
//     DstPutObjectNotPermitted: the current [UG] lists the key policy not allowing the
//     role under that code;
//  7. a multipart source (one written by CompleteMultipartUpload) replicates as a multipart
//     replica with the same parts (replMultipartParts): the checks of 5 and 6 are those of
//     the initiate request, whose denial is DstMultipartInitNotPermitted; each part then
//     needs s3:ReplicateObject again and, for SSE-KMS replicas, kms:Decrypt of the
//     replica's data key (DstMultipartUploadNotPermitted), and so does the completion
//     (DstMultipartCompleteNotPermitted);
//  8. the replica is written with the source's version ID, and the source goes COMPLETED.
//
// A tag change on a version that has replicated (PutObjectTagging, DeleteObjectTagging)
// is a task of its own, checked in replicateTags.

// replicationOutcome is why one task failed.
type replicationOutcome struct {
	code   string
	detail string
}

func replFail(code, detail string) *replicationOutcome {
	return &replicationOutcome{code: code, detail: detail}
}

// processReplication runs one task under s.mu and returns the events to deliver.
func (s *Server) processReplication(t replicationTask) []Event {
	src := s.buckets[t.bucket]
	var rule *replicationRule
	if src != nil && src.replication != nil {
		rule = src.replication.replRule(t.ruleID)
	}
	out := s.replicateVersion(t, src, rule)
	if t.replicaSync {
		// A replica's metadata going back to its source: the replica stays REPLICA
		// whatever happens, and its source version keeps its own status.
		return nil
	}
	var failure, detail string
	if out != nil {
		failure, detail = out.code, out.detail
	} else {
		s.replRecordLatency(time.Since(t.queued))
	}
	s.replFinish(t, failure, detail)
	if src == nil || rule == nil {
		// Without the bucket or rule there is no configuration to notify through.
		return nil
	}
	return s.replicationEvents(src, rule, t, failure)
}

// replRule finds a rule of the configuration by its ID.
func (c *replicationConfig) replRule(id string) *replicationRule {
	for _, r := range c.rules {
		if r.id == id {
			return r
		}
	}
	return nil
}

// replicateVersion performs the checks in the order documented above and writes the
// replica. It returns nil on success. The caller holds s.mu.
func (s *Server) replicateVersion(t replicationTask, src *bucket, rule *replicationRule) *replicationOutcome {
	// 0. The source as it is now.
	if src == nil {
		return replFail("SrcBucketNotFound", "source bucket "+t.bucket+" no longer exists")
	}
	if src.replication == nil {
		return replFail("SrcBucketReplicationConfigMissing", "source bucket "+t.bucket+" has no replication configuration")
	}
	v := s.replFindVersion(t.bucket, t.key, t.versionID)
	if v == nil || v != t.v {
		return replFail("SrcVersionNotFound", "version "+t.versionID+" of "+t.key+" no longer exists")
	}
	if rule == nil || rule.status != "Enabled" || !replRuleMatches(rule, v) || !replRuleQualifies(rule, v) {
		return replFail("SrcObjectNotEligible", "rule "+t.ruleID+" no longer selects "+t.key)
	}

	// 1. S3 becomes the replication role.
	role, aerr := s.assumeRole(&principal{service: "s3.amazonaws.com"}, src.replication.role, "s3-replication", "")
	if aerr != nil {
		return replFail("AssumeRoleNotPermitted", "s3.amazonaws.com cannot assume "+src.replication.role+": "+aerr.Message)
	}

	if t.tagsOnly {
		return s.replicateTags(t, src, role, v)
	}

	srcBucketARN := "arn:aws:s3:::" + src.name
	srcObjectARN := srcBucketARN + "/" + v.key
	onSource := func(action, resource string) *apiError {
		return s.replAuthorize(role, src, action, resource, s3ServiceContext())
	}

	// 2. Source reads.
	checks := []struct {
		action, resource, code string
		when                   bool
	}{
		{"s3:GetReplicationConfiguration", srcBucketARN, "SrcBucketReplicationConfigMissing", true},
		{"s3:ListBucket", srcBucketARN, "SrcHeadObjectNotPermitted", v.isDeleteMarker},
		{"s3:GetObjectVersionForReplication", srcObjectARN, "SrcGetObjectNotPermitted", !v.isDeleteMarker},
		{"s3:GetObjectVersionAcl", srcObjectARN, "SrcGetAclNotPermitted", !v.isDeleteMarker},
		{"s3:GetObjectVersionTagging", srcObjectARN, "SrcGetTaggingNotPermitted", !v.isDeleteMarker && len(v.tags) > 0},
		{"s3:GetObjectRetention", srcObjectARN, "SrcGetRetentionNotPermitted", !v.isDeleteMarker && src.objectLockEnabled},
		{"s3:GetObjectLegalHold", srcObjectARN, "SrcGetLegalHoldNotPermitted", !v.isDeleteMarker && src.objectLockEnabled},
	}
	for _, c := range checks {
		if !c.when {
			continue
		}
		if err := onSource(c.action, c.resource); err != nil {
			return replFail(c.code, err.Message)
		}
	}

	// 3. Source decryption.
	var plaintext []byte
	if !v.isDeleteMarker {
		pt, out := s.replDecryptSource(role, src, v)
		if out != nil {
			return out
		}
		plaintext = pt
	}

	// 4. Destination bucket state.
	dst := s.buckets[t.destBucket]
	if dst == nil {
		return replFail("DstBucketNotFound", "destination bucket "+t.destBucket+" does not exist")
	}
	if dst.versioning != "Enabled" {
		state := dst.versioning
		if state == "" {
			state = "never enabled"
		}
		return replFail("DstBucketUnversioned", "versioning of destination bucket "+dst.name+" is "+state)
	}
	if src.objectLockEnabled && !dst.objectLockEnabled {
		return replFail("DstBucketObjectLockConfigMissing", "source bucket "+src.name+" has Object Lock and destination bucket "+dst.name+" does not")
	}

	// 5. Destination writes.
	dstBucketARN := "arn:aws:s3:::" + dst.name
	dstObjectARN := dstBucketARN + "/" + v.key
	enc, out := s.replicaEncryption(src, dst, rule, v)
	if out != nil {
		return out
	}
	onDest := func(action string) *apiError {
		ctx := s3ServiceContext()
		if enc.sse != "" {
			ctx["s3:x-amz-server-side-encryption"] = []string{enc.sse}
		}
		if enc.key != nil {
			ctx["s3:x-amz-server-side-encryption-aws-kms-key-id"] = []string{enc.key.arn}
		}
		return s.replAuthorize(role, dst, action, dstObjectARN, ctx)
	}
	ownerToBucket := rule.ownerOverride || dst.ownership == "BucketOwnerEnforced"
	// A multipart source replicates as a multipart replica; its first destination request,
	// the initiate, carries the object's encryption, tags and ownership, so a denial of
	// what the single PutObject would need is DstMultipartInitNotPermitted there.
	multipart := len(v.partSizes) > 0
	putCode := "DstPutObjectNotPermitted"
	if multipart {
		putCode = "DstMultipartInitNotPermitted"
	}
	writes := []struct {
		action, code string
		when         bool
	}{
		{"s3:ReplicateObject", putCode, !v.isDeleteMarker},
		{"s3:ReplicateDelete", "DstDelObjNotPermitted", v.isDeleteMarker},
		{"s3:ReplicateTags", "DstPutTaggingNotPermitted", !v.isDeleteMarker && len(v.tags) > 0},
		// The owner override option needs the permission in the role's policy and in B's
		// bucket policy whatever B's Object Ownership ([UG] replication-change-owner).
		// BucketOwnerEnforced is documented as an alternative to the option that needs no
		// such permission, not as waiving it for a rule that still carries the option.
		{"s3:ObjectOwnerOverrideToBucketOwner", putCode, !v.isDeleteMarker && rule.ownerOverride},
	}
	for _, w := range writes {
		if !w.when {
			continue
		}
		if err := onDest(w.action); err != nil {
			return replFail(w.code, err.Message)
		}
	}

	// 6. Re-encryption under the destination key.
	replica := &objectVersion{
		key:            v.key,
		versionID:      v.versionID,
		isDeleteMarker: v.isDeleteMarker,
		lastModified:   v.lastModified,
		owner:          v.owner,
		size:           v.size,
		etag:           v.etag,
		partSizes:      slices.Clone(v.partSizes),
		contentType:    v.contentType,
		metadata:       maps.Clone(v.metadata),
		tags:           maps.Clone(v.tags),
		storageClass:   v.storageClass,

		replicationStatus: replReplica,
	}
	if ownerToBucket {
		replica.owner = dst.account
	}
	if !v.isDeleteMarker {
		if rule.storageClass != "" {
			replica.storageClass = rule.storageClass
		}
		if out := s.replEncryptReplica(role, dst, enc, replica, plaintext, dstBucketARN, dstObjectARN); out != nil {
			if multipart && out.code == "DstPutObjectNotPermitted" {
				out.code = "DstMultipartInitNotPermitted"
			}
			return out
		}
		// Sealing computed a single-part ETag; the replica keeps the source's.
		replica.etag = v.etag
		if multipart {
			if out := s.replMultipartParts(role, dst, replica, dstObjectARN); out != nil {
				return out
			}
		}
	}

	// 8. Write.
	replInsertVersion(dst, replica)
	return nil
}

// replDecryptSource checks the source key and reads the object's plaintext as the role
// (for SSE-KMS, kms:Decrypt of its data key with the stored encryption context via S3 in
// the source Region). The caller holds s.mu.
func (s *Server) replDecryptSource(role *principal, src *bucket, v *objectVersion) ([]byte, *replicationOutcome) {
	if s3IsKMS(v.sse) {
		key, kerr := s.kmsResolve(src.account, src.region, v.kmsKeyARN)
		if kerr != nil {
			return nil, replFail("SrcKmsKeyInvalidState", "source key "+v.kmsKeyARN+" cannot be used: "+kerr.Message)
		}
		if state := replKeyState(key); state != "" {
			return nil, replFail("SrcKmsKeyInvalidState", "source key "+key.arn+" is "+state)
		}
	}
	pt, err := s.s3Open(role, src, v)
	if err != nil {
		switch err.Code {
		case "DisabledException", "KMSInvalidStateException", "NotFoundException":
			return nil, replFail("SrcKmsKeyInvalidState", "kms:Decrypt of the source data key: "+err.Message)
		}
		return nil, replFail("SrcGetObjectNotPermitted", "read source object: "+err.Message)
	}
	return pt, nil
}

// replKeyState describes why a key cannot be used, or "" when it is usable.
func replKeyState(k *kmsKey) string {
	switch {
	case k.pendingDeletion:
		return "pending deletion"
	case !k.enabled:
		return "disabled"
	}
	return ""
}

// replicaEnc is how a replica is encrypted.
type replicaEnc struct {
	sse       string  // "", "AES256", "aws:kms", "aws:kms:dsse"
	key       *kmsKey // for KMS encryption
	bucketKey bool
	// kmsSource is true when the source is SSE-KMS: S3 re-encrypts an existing data key
	// (kms:Encrypt). Otherwise S3 asks KMS for a new one (kms:GenerateDataKey).
	kmsSource bool
}

// replicaEncryption decides the replica's encryption and resolves its key. [UG]
// replication-config-for-kms-objects, "How default bucket encryption affects replication":
// a source encrypted with SSE-S3, SSE-KMS or DSSE-KMS gives a replica with the same type of
// encryption, and the destination's default encryption is not used; only an unencrypted
// source is encrypted with the destination's default. So an SSE-S3 source gives an SSE-S3
// replica even when the rule names ReplicaKmsKeyID and B defaults to SSE-KMS
// (docs/aws-facts.md#F-REPL-SSE-S3-SOURCE). [UG] bucket-key, "Using an S3 Bucket Key with
// replication", says the same for Bucket Keys. The caller holds s.mu.
func (s *Server) replicaEncryption(src, dst *bucket, rule *replicationRule, v *objectVersion) (replicaEnc, *replicationOutcome) {
	if v.isDeleteMarker {
		return replicaEnc{}, nil
	}
	dstDefaultKMS := dst.encryption != nil && s3IsKMS(dst.encryption.algorithm)
	var enc replicaEnc
	var keyID, resolveAccount string
	switch {
	case s3IsKMS(v.sse):
		// The replica keeps SSE-KMS under ReplicaKmsKeyID. Bucket Keys: the source's
		// setting is preserved, and a destination whose default uses Bucket Keys gets one
		// too (AWS's wording covers the first case only; requiring the bucket-key
		// permissions whenever either side has Bucket Keys never passes a policy AWS
		// could reject).
		enc = replicaEnc{sse: v.sse, kmsSource: true,
			bucketKey: v.bucketKeyEnabled || (dstDefaultKMS && dst.encryption.bucketKeyEnabled)}
		keyID = rule.replicaKMSKeyID
		// An alias or bare key ID resolves in the requester's account: the role's (A).
		resolveAccount = accountOfARN(src.replication.role)
		if keyID == "" {
			return enc, replFail("DstKmsKeyNotFound", "rule "+rule.id+" replicates SSE-KMS objects but names no ReplicaKmsKeyID")
		}
	case v.sse == "" && dstDefaultKMS:
		enc = replicaEnc{sse: dst.encryption.algorithm, bucketKey: dst.encryption.bucketKeyEnabled}
		keyID = dst.encryption.kmsKeyID
		if keyID == "" {
			keyID = "alias/aws/s3"
		}
		resolveAccount = dst.account
	default:
		sse := v.sse
		if sse == "" && dst.encryption != nil {
			sse = dst.encryption.algorithm
		}
		return replicaEnc{sse: sse}, nil
	}
	key, kerr := s.kmsResolve(resolveAccount, dst.region, keyID)
	if kerr != nil {
		return enc, replFail("DstKmsKeyNotFound", "destination key "+keyID+" in "+dst.region+": "+kerr.Message)
	}
	if state := replKeyState(key); state != "" {
		return enc, replFail("DstKmsKeyInvalidState", "destination key "+key.arn+" is "+state)
	}
	enc.key = key
	return enc, nil
}

// replEncryptReplica encrypts the replica's data under enc as the role and fills in its
// encryption fields, in the storage layout of the S3 handlers (s3Seal). The caller holds
// s.mu.
func (s *Server) replEncryptReplica(role *principal, dst *bucket, enc replicaEnc, replica *objectVersion, plaintext []byte, dstBucketARN, dstObjectARN string) *replicationOutcome {
	kmsFail := func(op string, err *apiError) *replicationOutcome {
		switch err.Code {
		case "NotFoundException":
			return replFail("DstKmsKeyNotFound", op+" on the destination key: "+err.Message)
		case "DisabledException", "KMSInvalidStateException":
			return replFail("DstKmsKeyInvalidState", op+" on the destination key: "+err.Message)
		}
		return replFail("DstPutObjectNotPermitted", op+" on the destination key: "+err.Message)
	}
	if enc.key == nil {
		// SSE-S3 under the destination bucket's own key.
		if err := s.s3Seal(role, dst, replica, plaintext, s3Encryption{sse: "AES256"}); err != nil {
			return replFail("DstPutObjectNotPermitted", "encrypt replica: "+err.Message)
		}
		return nil
	}
	if !enc.kmsSource || enc.bucketKey {
		// A fresh data key from kms:GenerateDataKey: for sources that had no KMS data key,
		// and for Bucket Keys. With an SSE-KMS source and Bucket Keys, S3 also encrypts
		// (kms:Encrypt) and decrypts the Bucket Key (kms:Decrypt) as the role.
		via := s3Via(dst.region)
		ec := map[string]string{"aws:s3:arn": dstBucketARN}
		if enc.kmsSource {
			if _, _, err := s.kmsEncrypt(role, dst.region, enc.key.arn, ec, make([]byte, 32), via); err != nil {
				return kmsFail("kms:Encrypt", err)
			}
		}
		if err := s.s3Seal(role, dst, replica, plaintext, s3Encryption{sse: enc.sse, kmsKeyID: enc.key.arn, bucketKey: enc.bucketKey}); err != nil {
			return kmsFail("kms:GenerateDataKey", err)
		}
		if enc.kmsSource {
			if _, _, err := s.kmsDecrypt(role, dst.region, replica.encryptedDataKey, replica.encryptionContext, via); err != nil {
				return kmsFail("kms:Decrypt", err)
			}
		}
		return nil
	}
	// An SSE-KMS source without Bucket Keys: S3 re-encrypts a data key under the replica
	// key with kms:Encrypt and the replica object's ARN as context; no GenerateDataKey.
	ec := map[string]string{"aws:s3:arn": dstObjectARN}
	dataKey := make([]byte, 32)
	_, _ = rand.Read(dataKey)
	blob, keyARN, err := s.kmsEncrypt(role, dst.region, enc.key.arn, ec, dataKey, s3Via(dst.region))
	if err != nil {
		return kmsFail("kms:Encrypt", err)
	}
	data, serr := s3GCMSeal(dataKey, plaintext)
	if serr != nil {
		return replFail("DstPutObjectNotPermitted", "encrypt replica data: "+serr.Error())
	}
	replica.data = data
	replica.sse = enc.sse
	replica.kmsKeyARN, replica.bucketKeyEnabled = keyARN, false
	replica.encryptedDataKey, replica.encryptionContext = blob, ec
	return nil
}

// replInsertVersion adds a replica to the destination's versions of its key, keeping them
// ordered by last-modified time (replicas of one key may finish out of order), and
// replacing an earlier replica of the same version ID.
func replInsertVersion(dst *bucket, replica *objectVersion) {
	if dst.objects == nil {
		dst.objects = map[string][]*objectVersion{}
	}
	versions := dst.objects[replica.key]
	for i, old := range versions {
		if old.versionID == replica.versionID {
			versions[i] = replica
			return
		}
	}
	i := len(versions)
	for i > 0 && versions[i-1].lastModified.After(replica.lastModified) {
		i--
	}
	versions = append(versions, nil)
	copy(versions[i+1:], versions[i:])
	versions[i] = replica
	dst.objects[replica.key] = versions
}
