package policy

import (
	"strings"
	"unicode"
)

// SidPrefix starts every Sid s3crr writes, so its statements are recognisable
// in shared key and bucket policies and never collide with anyone else's.
const SidPrefix = "S3crr"

// Purposes: the last part of a per-pair Sid, naming what the statement is
// for. The same purpose names the same permission wherever it is granted (the
// role policy and the resource policy that must also allow it), so the
// failure table in requirements.go is keyed by purpose. No purpose is a
// suffix of another, so [ParseSid] is unambiguous.
const (
	// PurposeSourceBucket: the role reads the source bucket's replication
	// configuration and lists it.
	PurposeSourceBucket = "SourceBucket"
	// PurposeSourceObjects: the role reads source object versions.
	PurposeSourceObjects = "SourceObjects"
	// PurposeReplicaWrite: the role writes replicas, delete markers and tags
	// into the destination bucket (role policy and destination bucket policy).
	PurposeReplicaWrite = "ReplicaWrite"
	// PurposeSourceDecrypt: the role decrypts source objects (role policy
	// and, when needed, the source key policy).
	PurposeSourceDecrypt = "SourceDecrypt"
	// PurposeReplicaEncrypt: the role encrypts replicas with the destination
	// key (role policy and destination key policy).
	PurposeReplicaEncrypt = "ReplicaEncrypt"
	// PurposeReplicationTrust: the replication role's trust statement.
	PurposeReplicationTrust = "ReplicationTrust"
)

// SidDenyInsecureTransport is the Sid of the bucket-wide TLS-only statement.
// It is not per pair: one statement serves every pair using the bucket.
const SidDenyInsecureTransport = SidPrefix + purposeDenyInsecureTransport

// SidFor returns the Sid of a per-pair statement: [SidPrefix], the pair ID
// made alphanumeric in CamelCase ("payments-archive" -> "PaymentsArchive"),
// then the purpose. Several pairs may share a destination bucket or key, so
// each pair's statements are kept apart by the pair part.
//
// Pair IDs that differ only in separators or letter case ("a-b", "a_b",
// "A-B") map to the same Sid; internal/spec's pair ID rules (lowercase
// letters, digits and single hyphens) keep that from happening.
func SidFor(pairID, purpose string) string {
	return SidPrefix + camel(pairID) + purpose
}

// SidOf returns the Sid of the statement of purpose for a pair: SidFor's per-pair Sid,
// or the fixed Sid of a grant every pair shares (the destination's shared grants).
func SidOf(pairID, purpose string) string {
	switch purpose {
	case PurposeReplicaWriteShared, PurposeOwnerOverrideShared, PurposeReplicaEncryptShared:
		return SidPrefix + purpose
	}
	return SidFor(pairID, purpose)
}

// ParseSid splits one of s3crr's Sids into the pair part (as made by SidFor;
// empty for fixed Sids such as the provisioner's, the hub's and
// SidDenyInsecureTransport) and the purpose. ok is false for foreign Sids.
func ParseSid(sid string) (pair, purpose string, ok bool) {
	rest, found := strings.CutPrefix(sid, SidPrefix)
	if !found {
		return "", "", false
	}
	for _, p := range purposes {
		if head, found := strings.CutSuffix(rest, p); found {
			return head, p, true
		}
	}
	return "", "", false
}

// purposes lists every per-pair or per-role purpose ParseSid recognises,
// including the provisioner and hub ones.
var purposes = []string{
	PurposeAliasTargetBrought, PurposeKeyManageBrought, PurposeKeyDiscard, PurposeRolePolicyWrite,
	PurposeDenyKeyRetag, PurposeDenyLockoutBypass,
	PurposeSourceBucket, PurposeSourceObjects, PurposeReplicaWrite,
	PurposeSourceDecrypt, PurposeReplicaEncrypt, PurposeReplicationTrust,
	PurposeReplicaWriteShared, PurposeOwnerOverrideShared, PurposeReplicaEncryptShared,
	PurposeReplicationKeys,
	PurposeProvisionerTrust, PurposeBucketConfigRead, PurposeBucketConfigWrite,
	PurposeReplicationConfig, PurposePassRole, PurposePassBatchRole, PurposeRoleCreate, PurposeRoleManage, PurposeRoleLookup,
	PurposeKeyCreate, PurposeKeyCreateTags, PurposeAliasWrite, PurposeAliasTarget, PurposeKeyList,
	PurposeKeyRead, PurposeKeyManage, PurposeAlarms, PurposeEventsQueueLookup,
	PurposeBucketTeardown, PurposeRoleTeardown,
	PurposeAssumeProvisioner, PurposePublishAlerts, PurposeAlertKey,
	PurposePairsRegister, PurposePairsUnregister, PurposePairsRead, PurposePairsRedrive, PurposeInvokeFunctions, PurposeDocumentLeases,
	purposeDenyInsecureTransport,
	PurposeMonitorPairRead, PurposeMonitorDedup,
	PurposeAuditorTrust, PurposeAuditBuckets, PurposeAuditKeys, PurposeAuditRoles, PurposeAuditAlarms,
	PurposeBatchTrust, PurposeBatchManifest, PurposeBatchInitiate, PurposeBatchReportWrite,
	PurposeBatchJobs, PurposeBatchJobManage, PurposeBatchReportRead,
	PurposeVerifierTrust, PurposeCanaryObjects, PurposeCanaryKey,
	PurposeVerifyAssume, PurposeVerifyPairs, PurposeVerifyMetrics, PurposeVerifyAlerts, PurposeVerifyAlertKey,
	PurposeInvokeVerifyFunction, PurposeStartVerification, PurposeVerifyChildRuns, PurposeVerifyChildExecutions,
}

// purposeDenyInsecureTransport makes SidDenyInsecureTransport parse as a
// fixed Sid.
const purposeDenyInsecureTransport = "DenyInsecureTransport"

// IsOurs reports whether a Sid belongs to s3crr.
func IsOurs(sid string) bool { return strings.HasPrefix(sid, SidPrefix) }

func camel(s string) string {
	var b strings.Builder
	upper := true
	for _, r := range s {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			upper = true
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
			upper = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
