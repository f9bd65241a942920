package verify

import (
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// probe is one authorization question group S3 asks as the replication role: some
// actions on one resource with one request context. Read sends each to IAM's policy
// simulator; the checks judge the resource policies for the same questions.
type probe struct {
	name string
	// purpose is the internal/policy purpose whose requirement rows give each action's
	// failure code.
	purpose  string
	actions  []string
	resource string
	ctx      map[string][]string
	// side is the side whose bucket or key the probe acts on.
	side string
	// key is true for KMS probes (key policy), false for S3 (bucket policy).
	key bool
}

const (
	sideSource      = "source"
	sideDestination = "destination"
)

// Rule returns the pair's rule in the source's replication configuration: the rule to
// the destination bucket with the request's rule ID, else (a hand-made pair) the one to
// the destination bucket with the highest priority; nil if no rule targets it. Enabled
// or not: the checks say what is wrong with it.
func (s *Snapshot) Rule() *s3types.ReplicationRule {
	if s.Replication == nil {
		return nil
	}
	var best *s3types.ReplicationRule
	for i := range s.Replication.Rules {
		r := &s.Replication.Rules[i]
		if r.Destination == nil || aws.ToString(r.Destination.Bucket) != policy.BucketARN(s.Destination.Bucket) {
			continue
		}
		if aws.ToString(r.ID) == s.Request.RuleID() {
			return r
		}
		if best == nil || aws.ToInt32(r.Priority) > aws.ToInt32(best.Priority) {
			best = r
		}
	}
	return best
}

// Managed reports whether s3crr provisioned the pair: the rule to the destination has
// the pair's rule ID and names the pair's replication role. Only then are drift checks
// meaningful. A pair registered before replication roles were per source bucket has a
// request that names no role, and its bucket replicates through the role s3crr made for
// that pair (names.ReplicationRoleName), which later runs adopt.
func (s *Snapshot) Managed() bool {
	r := s.Rule()
	if r == nil || aws.ToString(r.ID) != s.Request.RuleID() {
		return false
	}
	role := aws.ToString(s.Replication.Role)
	return role == s.Request.ReplicationRoleARN() ||
		(s.Request.ReplicationRole == "" && role == names.ReplicationRoleARN(s.Request.Source.Account, s.Request.PairID))
}

// rulePrefix is the key prefix the rule replicates.
func rulePrefix(r *s3types.ReplicationRule) string {
	if r == nil {
		return ""
	}
	if r.Filter != nil {
		if r.Filter.Prefix != nil {
			return aws.ToString(r.Filter.Prefix)
		}
		if r.Filter.And != nil {
			return aws.ToString(r.Filter.And.Prefix)
		}
		return ""
	}
	return aws.ToString(r.Prefix) //nolint:staticcheck // V1 rules carry the prefix here
}

// replicaKeyARN is the key the rule encrypts replicas with, else the destination key read.
func (s *Snapshot) replicaKeyARN() string {
	if r := s.Rule(); r != nil && r.Destination.EncryptionConfiguration != nil {
		if k := aws.ToString(r.Destination.EncryptionConfiguration.ReplicaKmsKeyID); k != "" {
			return k
		}
	}
	if s.Destination.Key != nil {
		return s.Destination.Key.ARN
	}
	return ""
}

// probes lists the questions S3 asks as the role to replicate one SSE-KMS object under
// the rule's prefix, its tags, its delete markers and (with Object Lock) its retention:
// docs/aws-facts.md#F-REPL-ROLE-PERMS and #F-KMS-REPL-CONDITIONS.
func probes(s *Snapshot) []probe {
	rule := s.Rule()
	objKey := rulePrefix(rule) + names.CanaryDir + "doctor-probe"
	srcBucket, dstBucket := policy.BucketARN(s.Source.Bucket), policy.BucketARN(s.Destination.Bucket)
	srcObj, dstObj := srcBucket+"/"+objKey, dstBucket+"/"+objKey
	inAcct := func(a string) map[string][]string { return map[string][]string{"s3:ResourceAccount": {a}} }

	srcBucketActs := []string{policy.ActGetReplicationConfiguration}
	dstActs := []string{policy.ActReplicateObject, policy.ActReplicateTags}
	if rule != nil && rule.DeleteMarkerReplication != nil && rule.DeleteMarkerReplication.Status == s3types.DeleteMarkerReplicationStatusEnabled {
		srcBucketActs = append(srcBucketActs, policy.ActListBucket)
		dstActs = append(dstActs, policy.ActReplicateDelete)
	}
	if rule != nil && rule.Destination.AccessControlTranslation != nil {
		dstActs = append(dstActs, policy.ActObjectOwnerOverride)
	}
	srcObjActs := []string{policy.ActGetObjectVersionForReplication, policy.ActGetObjectVersionACL, policy.ActGetObjectVersionTagging}
	if s.Source.ObjectLock {
		srcObjActs = append(srcObjActs, policy.ActGetObjectRetention, policy.ActGetObjectLegalHold)
	}
	out := []probe{
		{name: "source-bucket", purpose: policy.PurposeSourceBucket, actions: srcBucketActs, resource: srcBucket, ctx: inAcct(s.Source.Account), side: sideSource},
		{name: "source-objects", purpose: policy.PurposeSourceObjects, actions: srcObjActs, resource: srcObj, ctx: inAcct(s.Source.Account), side: sideSource},
		{name: "replica-write", purpose: policy.PurposeReplicaWrite, actions: dstActs, resource: dstObj, ctx: inAcct(s.Destination.Account), side: sideDestination},
	}
	kmsCtx := func(region, arn string) map[string][]string {
		return map[string][]string{policy.KeyViaService: {policy.ViaS3(region)}, policy.KeyS3Context: {arn}}
	}
	if s.Source.Key != nil {
		for _, form := range []struct{ name, arn string }{{"object", srcObj}, {"bucket-key", srcBucket}} {
			out = append(out, probe{name: "source-key-" + form.name, purpose: policy.PurposeSourceDecrypt, actions: []string{policy.ActKMSDecrypt},
				resource: s.Source.Key.ARN, ctx: kmsCtx(s.Source.Region, form.arn), side: sideSource, key: true})
		}
	}
	if k := s.replicaKeyARN(); strings.HasPrefix(k, "arn:") {
		for _, form := range []struct{ name, arn string }{{"object", dstObj}, {"bucket-key", dstBucket}} {
			out = append(out, probe{name: "replica-key-" + form.name, purpose: policy.PurposeReplicaEncrypt,
				actions:  []string{policy.ActKMSEncrypt, policy.ActKMSGenerateDataKey, policy.ActKMSDecrypt},
				resource: k, ctx: kmsCtx(s.Destination.Region, form.arn), side: sideDestination, key: true})
		}
	}
	return out
}

func contextEntry(key string, values []string) iamtypes.ContextEntry {
	return iamtypes.ContextEntry{ContextKeyName: aws.String(key), ContextKeyType: iamtypes.ContextKeyTypeEnumString, ContextKeyValues: values}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// failureCode is the failureReason S3 records when the action of a purpose is refused,
// from internal/policy's requirement table (one table for provisioning and checking).
func failureCode(purpose, action string) string {
	for _, r := range policy.Requirements() {
		if r.Purpose == purpose && strings.EqualFold(r.Action, action) {
			return r.Failure
		}
	}
	return ""
}
