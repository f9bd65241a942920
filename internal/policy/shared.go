package policy

import (
	"sort"
	"strings"

	"github.com/s3crr/s3crr/internal/names"
)

// This file builds the grants a destination bucket and a destination key give to every
// pair replicating into them (fan-in): one statement per action set, whatever the number
// of pairs, instead of one statement per pair. A statement per pair grew a destination
// bucket policy by ~245 bytes and a key policy by ~400 bytes per pair, so S3's 20 KB and
// KMS's 32 KB limits stopped fan-in near 80 pairs (docs/aws-facts.md#F-POLICY-SIZE-LIMITS).
//
// Who: Principal "*", pinned by documented global condition keys
// (docs/aws-facts.md#F-SHARED-GRANT): aws:PrincipalArn ArnLike the pattern every
// replication role s3crr creates matches (ReplicationRolePattern), and either
// aws:PrincipalOrgID (a deployment with organizationId: constant size) or
// aws:PrincipalAccount listing the source accounts (about 15 bytes per account, not per
// pair). What: the union of the pairs' object patterns (bucket and prefix), where a
// shorter prefix absorbs the longer ones it covers, so pairs sharing a prefix cost
// nothing.
//
// What a pair can still NOT do through these grants: a role of an account outside the
// organization or the list; any role outside s3crr's replication role path and name
// prefix (a user, a person's role, another tool's role); any action but the replica
// writes (and key use only through S3 in the destination region, with S3's encryption
// context of a listed object pattern); any key outside the patterns. What it CAN do that
// a per-pair grant did not allow: the destination's admission no longer tells one listed
// s3crr replication role from another, so a role of one listed account could write under
// another pair's prefix of the same destination — but only if that account's own
// identity policy allows it too. Cross-account access needs both sides, and the role
// policy s3crr writes (ReplicationRolePolicy) still grants each role its own pair's
// prefix only; widening it takes an administrator of the source account, who can
// already create roles under the pattern. Requests from the destination's own account
// are not widened beyond what its IAM policies allow: Principal "*" with these
// conditions names s3crr's replication roles only.

// Purposes of the shared grants. They are fixed Sids (SidPrefix + purpose), never per
// pair: no purpose of SidFor ends with them, so ParseSid reads them with an empty pair.
const (
	// PurposeReplicaWriteShared: every pair's replication role writes replicas, delete
	// markers and tags into the destination bucket (destination bucket policy).
	PurposeReplicaWriteShared = "ReplicaWriteShared"
	// PurposeOwnerOverrideShared: the pairs whose rule sets AccessControlTranslation
	// may change the replica's owner (destination bucket policy).
	PurposeOwnerOverrideShared = "OwnerOverrideShared"
	// PurposeReplicaEncryptShared: every pair's replication role encrypts replicas with
	// the destination key through S3 (destination key policy).
	PurposeReplicaEncryptShared = "ReplicaEncryptShared"
)

// Sids of the shared grants.
const (
	SidReplicaWriteShared    = SidPrefix + PurposeReplicaWriteShared
	SidOwnerOverrideShared   = SidPrefix + PurposeOwnerOverrideShared
	SidReplicaEncryptShared  = SidPrefix + PurposeReplicaEncryptShared
	KeyPrincipalARN          = "aws:PrincipalArn"
	KeyPrincipalAccount      = "aws:PrincipalAccount"
	KeyPrincipalOrgID        = "aws:PrincipalOrgID"
	MaxBucketPolicyBytes     = 20 * 1024
	MaxKeyPolicyBytes        = 32 * 1024
	sharedObjectPatternStart = "arn:" + names.Partition + ":s3:::"
)

// ReplicationRolePattern matches the ARN of every replication role s3crr creates, in any
// account: its path and name prefix. The account part is a wildcard; the account (or
// organization) condition says which accounts.
func ReplicationRolePattern() string {
	return RoleARN("*", names.RolePath, names.ReplicationRoleNamePrefix+"*")
}

// Share is who and what one shared grant covers.
type Share struct {
	// OrganizationID, when set, admits the replication roles of every account of the
	// organization (aws:PrincipalOrgID) and Accounts is empty.
	OrganizationID string
	// Accounts are the source accounts admitted (aws:PrincipalAccount), sorted.
	Accounts []string
	// Objects are the object patterns ("arn:aws:s3:::bucket/prefix*") admitted, sorted,
	// none covered by another.
	Objects []string
}

// Empty reports whether the share admits nothing.
func (s Share) Empty() bool {
	return len(s.Objects) == 0 || (s.OrganizationID == "" && len(s.Accounts) == 0)
}

// With returns the share admitting also account's roles on the pattern.
func (s Share) With(account, objects string) Share {
	out := Share{OrganizationID: s.OrganizationID,
		Accounts: append(append([]string(nil), s.Accounts...), account),
		Objects:  append(append([]string(nil), s.Objects...), objects)}
	return out.normal()
}

// Union returns the share admitting what either admits.
func (s Share) Union(o Share) Share {
	out := Share{OrganizationID: s.OrganizationID,
		Accounts: append(append([]string(nil), s.Accounts...), o.Accounts...),
		Objects:  append(append([]string(nil), s.Objects...), o.Objects...)}
	if out.OrganizationID == "" {
		out.OrganizationID = o.OrganizationID
	}
	return out.normal()
}

// InOrganization returns the share admitting the organization's accounts instead of a
// list. An empty org leaves the share as it is: a share that already names an
// organization keeps it, since dropping it would cut off every pair it admits.
func (s Share) InOrganization(org string) Share {
	if org == "" {
		return s.normal()
	}
	return Share{OrganizationID: org, Objects: s.Objects}.normal()
}

// Covers reports whether the share admits account's roles writing objects under the
// pattern.
func (s Share) Covers(account, objects string) bool {
	if s.OrganizationID == "" && !contains(s.Accounts, account) {
		return false
	}
	for _, o := range s.Objects {
		if coversObjects(o, objects) {
			return true
		}
	}
	return false
}

// Without returns the share without account and without the pattern; keepAccount and
// keepObjects (what other pairs still need) are added back, so a removal never takes
// away another pair's admission.
func (s Share) Without(account, objects string, keep Share) Share {
	out := Share{OrganizationID: s.OrganizationID}
	for _, a := range s.Accounts {
		if a != account {
			out.Accounts = append(out.Accounts, a)
		}
	}
	for _, o := range s.Objects {
		if o != objects {
			out.Objects = append(out.Objects, o)
		}
	}
	keep.OrganizationID = ""
	return out.Union(keep)
}

func (s Share) normal() Share {
	out := Share{OrganizationID: s.OrganizationID}
	if s.OrganizationID == "" {
		out.Accounts = sortedUnique(s.Accounts)
	}
	objs := sortedUnique(s.Objects)
	for _, o := range objs {
		covered := false
		for _, q := range objs {
			if q != o && coversObjects(q, o) {
				covered = true
				break
			}
		}
		if !covered {
			out.Objects = append(out.Objects, o)
		}
	}
	return out
}

// coversObjects reports whether pattern a ("…/p*") admits every key pattern b admits:
// a's prefix is a prefix of b's.
func coversObjects(a, b string) bool {
	pa, okA := strings.CutSuffix(a, "*")
	pb, okB := strings.CutSuffix(b, "*")
	if !okA || !okB || strings.ContainsAny(pa, "*?") {
		return a == b
	}
	return strings.HasPrefix(pb, pa)
}

func (s Share) principalCondition(cond map[string]map[string][]string) map[string]map[string][]string {
	if cond == nil {
		cond = map[string]map[string][]string{}
	}
	if cond[StringEquals] == nil {
		cond[StringEquals] = map[string][]string{}
	}
	if s.OrganizationID != "" {
		cond[StringEquals][KeyPrincipalOrgID] = []string{s.OrganizationID}
	} else {
		cond[StringEquals][KeyPrincipalAccount] = append([]string(nil), s.Accounts...)
	}
	cond[ArnLike] = map[string][]string{KeyPrincipalARN: {ReplicationRolePattern()}}
	return cond
}

// SharedReplicaWriteStatement is the destination bucket policy's grant of the replica
// writes to every s3crr replication role the share admits, on its object patterns. With
// ownerOverride it is the separate grant of s3:ObjectOwnerOverrideToBucketOwner
// (SidOwnerOverrideShared), whose share lists only the pairs whose rule needs it, so the
// others are not granted it.
func SharedReplicaWriteStatement(s Share, ownerOverride bool) Statement {
	st := Statement{
		Sid:       SidReplicaWriteShared,
		Effect:    Allow,
		Principal: Everyone(),
		Action:    []string{ActReplicateObject, ActReplicateDelete, ActReplicateTags},
		Resource:  append([]string(nil), s.Objects...),
		Condition: s.principalCondition(nil),
	}
	if ownerOverride {
		st.Sid, st.Action = SidOwnerOverrideShared, []string{ActObjectOwnerOverride}
	}
	return st
}

// SharedReplicaEncryptStatement is the destination key policy's grant of the replica
// key use (Encrypt, and GenerateDataKey and Decrypt for Bucket Keys) to every s3crr
// replication role the share admits: through S3 in region only, and only with S3's
// encryption context of an admitted object pattern or of its bucket (the Bucket Key
// form, docs/aws-facts.md#F-BUCKET-KEY).
func SharedReplicaEncryptStatement(region string, s Share) Statement {
	ctxValues := append([]string(nil), s.Objects...)
	for _, o := range s.Objects {
		if b := bucketOfObjects(o); b != "" {
			ctxValues = append(ctxValues, BucketARN(b))
		}
	}
	cond := map[string]map[string][]string{
		StringEquals: {KeyViaService: {ViaS3(region)}},
		StringLike:   {KeyS3Context: sortedUnique(ctxValues)},
	}
	return Statement{
		Sid:       SidReplicaEncryptShared,
		Effect:    Allow,
		Principal: Everyone(),
		Action:    replicaKeyActions(ReplicationParams{}),
		Resource:  []string{"*"},
		Condition: s.principalCondition(cond),
	}
}

// ShareOf reads back what a shared statement (one SharedReplicaWriteStatement or
// SharedReplicaEncryptStatement built) admits. Condition keys are matched
// case-insensitively, as IAM does.
func ShareOf(st Statement) Share {
	var s Share
	for op, keys := range st.Condition {
		for k, v := range keys {
			switch {
			case strings.EqualFold(op, StringEquals) && strings.EqualFold(k, KeyPrincipalOrgID) && len(v) > 0:
				s.OrganizationID = v[0]
			case strings.EqualFold(op, StringEquals) && strings.EqualFold(k, KeyPrincipalAccount):
				s.Accounts = append(s.Accounts, v...)
			case strings.EqualFold(op, StringLike) && strings.EqualFold(k, KeyS3Context):
				for _, o := range v {
					if strings.HasSuffix(o, "*") {
						s.Objects = append(s.Objects, o)
					}
				}
			}
		}
	}
	for _, r := range st.Resource {
		if strings.HasPrefix(r, sharedObjectPatternStart) && strings.HasSuffix(r, "*") {
			s.Objects = append(s.Objects, r)
		}
	}
	return s.normal()
}

// Find returns the statement with the Sid, if the document has it.
func Find(doc Document, sid string) (Statement, bool) {
	for _, s := range doc.Statement {
		if s.Sid == sid {
			return s, true
		}
	}
	return Statement{}, false
}

// LegacyGrant is one per-pair statement an earlier s3crr wrote into a destination
// bucket or key policy (Sid SidFor(pair, PurposeReplicaWrite or PurposeReplicaEncrypt),
// Principal the pair's replication role) which a shared grant now replaces.
type LegacyGrant struct {
	Sid           string
	Account       string
	Objects       string
	OwnerOverride bool
}

// LegacyGrants lists the per-pair statements of purpose (PurposeReplicaWrite for a
// bucket policy, PurposeReplicaEncrypt for a key policy) whose principal is exactly one
// role matching ReplicationRolePattern and whose objects are one pattern: those the
// shared grant can take over. Anything else with an s3crr Sid is left alone.
func LegacyGrants(doc Document, purpose string) []LegacyGrant {
	var out []LegacyGrant
	for _, s := range doc.Statement {
		pair, p, ok := ParseSid(s.Sid)
		if !ok || pair == "" || p != purpose || s.Effect != Allow || s.Principal == nil || len(s.Principal.AWS) != 1 {
			continue
		}
		role := s.Principal.AWS[0]
		if !GlobMatch(ReplicationRolePattern(), role) {
			continue
		}
		account := accountOfARN(role)
		var objects []string
		if purpose == PurposeReplicaEncrypt {
			objects = ShareOf(Statement{Condition: s.Condition}).Objects
		} else {
			objects = ShareOf(Statement{Resource: s.Resource}).Objects
		}
		if account == "" || len(objects) != 1 {
			continue
		}
		override := false
		for _, a := range s.Action {
			override = override || strings.EqualFold(a, ActObjectOwnerOverride)
		}
		out = append(out, LegacyGrant{Sid: s.Sid, Account: account, Objects: objects[0], OwnerOverride: override})
	}
	return out
}

// accountOfARN returns the account field of an ARN, "" when it has none.
func accountOfARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// bucketOfObjects returns the bucket of an object pattern, "" if it is none.
func bucketOfObjects(objects string) string {
	rest, ok := strings.CutPrefix(objects, sharedObjectPatternStart)
	if !ok {
		return ""
	}
	b, _, _ := strings.Cut(rest, "/")
	return b
}

func sortedUnique(v []string) []string {
	if len(v) == 0 {
		return nil
	}
	out := append([]string(nil), v...)
	sort.Strings(out)
	w := 0
	for i, s := range out {
		if i == 0 || s != out[w-1] {
			out[w] = s
			w++
		}
	}
	return out[:w]
}

func contains(v []string, s string) bool {
	for _, x := range v {
		if x == s {
			return true
		}
	}
	return false
}
