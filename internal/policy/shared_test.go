package policy

import (
	"fmt"
	"slices"
	"testing"
)

// The shared grants' size depends on the source accounts and the distinct prefixes, not
// on the number of pairs: a thousand pairs from 10 accounts into 3 prefixes make the same
// statement as 10 pairs do.
func TestSharedGrantSizeIsPerAccountNotPerPair(t *testing.T) {
	sizes := map[int]int{}
	for _, n := range []int{10, 1000} {
		var s Share
		for i := range n {
			s = s.With(fmt.Sprintf("1000000000%02d", i%10), ObjectsARN("central", []string{"a/", "b/", "c/"}[i%3]))
		}
		sizes[n] = len(statements(SharedReplicaWriteStatement(s, false), SharedReplicaEncryptStatement("eu-west-1", s)).JSON())
	}
	if sizes[10] != sizes[1000] {
		t.Errorf("10 pairs: %d bytes, 1000 pairs: %d bytes; want the same", sizes[10], sizes[1000])
	}
	org := Share{}.With("100000000001", ObjectsARN("central", "")).InOrganization("o-a1b2c3d4e5")
	for i := range 1000 {
		org = org.With(fmt.Sprintf("%012d", i), ObjectsARN("central", fmt.Sprintf("p%d/", i)))
	}
	if len(org.Accounts) != 0 || !slices.Equal(org.Objects, []string{ObjectsARN("central", "")}) {
		t.Errorf("organization share = %+v, want no account and the whole bucket (which covers every prefix)", org)
	}
}

func TestShareReadsBackAndTakesOutOnlyItsOwn(t *testing.T) {
	s := Share{}.With("111111111111", ObjectsARN("dst", "a/")).With("222222222222", ObjectsARN("dst", "b/")).With("111111111111", ObjectsARN("dst", "b/"))
	for _, st := range []Statement{SharedReplicaWriteStatement(s, false), SharedReplicaEncryptStatement("eu-west-1", s)} {
		if got := ShareOf(st); !slices.Equal(got.Accounts, s.Accounts) || !slices.Equal(got.Objects, s.Objects) {
			t.Errorf("ShareOf(%s) = %+v, want %+v", st.Sid, got, s)
		}
	}
	if !s.Covers("111111111111", ObjectsARN("dst", "a/x/")) || s.Covers("333333333333", ObjectsARN("dst", "a/")) || s.Covers("111111111111", ObjectsARN("dst", "c/")) {
		t.Errorf("Covers is wrong for %+v", s)
	}
	// Account 1's pair on a/ goes; its pair on b/ (still registered) keeps the account.
	keep := Share{}.With("111111111111", ObjectsARN("dst", "b/")).With("222222222222", ObjectsARN("dst", "b/"))
	got := s.Without("111111111111", ObjectsARN("dst", "a/"), keep)
	if !slices.Equal(got.Accounts, []string{"111111111111", "222222222222"}) || !slices.Equal(got.Objects, []string{ObjectsARN("dst", "b/")}) {
		t.Errorf("Without = %+v", got)
	}
	// Account 2's last pair goes: the account goes with it.
	keep = Share{}.With("111111111111", ObjectsARN("dst", "a/")).With("111111111111", ObjectsARN("dst", "b/"))
	if got := s.Without("222222222222", ObjectsARN("dst", "b/"), keep); slices.Contains(got.Accounts, "222222222222") || !got.Covers("111111111111", ObjectsARN("dst", "b/")) {
		t.Errorf("Without the last pair of account 2 = %+v", got)
	}
}

func TestSharedSidsAreFixed(t *testing.T) {
	for _, sid := range []string{SidReplicaWriteShared, SidOwnerOverrideShared, SidReplicaEncryptShared} {
		pair, _, ok := ParseSid(sid)
		if !ok || pair != "" {
			t.Errorf("ParseSid(%q) = %q, %v; want a fixed s3crr Sid", sid, pair, ok)
		}
	}
	doc := Document{Version: Version, Statement: []Statement{SharedReplicaWriteStatement(Share{}.With("111111111111", ObjectsARN("dst", "")), false)}}
	if _, sids := RemovePair(doc, "shared"); len(sids) != 0 {
		t.Errorf("RemovePair(shared) removed %v, the shared grant of every pair", sids)
	}
}

// Per-pair statements written by earlier versions are recognised for folding: the
// pair's account and objects, its owner override; a foreign principal is not.
func TestLegacyGrants(t *testing.T) {
	p := ReplicationParams{PairID: "pay", SourceAccount: "111111111111", DestinationAccount: "222222222222", DestinationBucket: "dst",
		DestinationRegion: "eu-west-1", Prefix: "logs/", OwnerOverride: true, RoleARN: "arn:aws:iam::111111111111:role/s3crr/s3crr-repl-pay"}
	foreign := DestinationBucketStatements(p)[0]
	foreign.Sid, foreign.Principal = SidFor("other", PurposeReplicaWrite), AWSPrincipal("arn:aws:iam::111111111111:role/ops")
	doc := Document{Version: Version, Statement: append(DestinationBucketStatements(p), foreign)}
	got := LegacyGrants(doc, PurposeReplicaWrite)
	want := []LegacyGrant{{Sid: SidFor("pay", PurposeReplicaWrite), Account: "111111111111", Objects: ObjectsARN("dst", "logs/"), OwnerOverride: true}}
	if !slices.Equal(got, want) {
		t.Errorf("bucket: LegacyGrants = %+v, want %+v", got, want)
	}
	key := LegacyGrants(Document{Version: Version, Statement: DestinationKeyStatements(p)}, PurposeReplicaEncrypt)
	if len(key) != 1 || key[0].Objects != ObjectsARN("dst", "logs/") || key[0].Account != "111111111111" {
		t.Errorf("key: LegacyGrants = %+v", key)
	}
}
