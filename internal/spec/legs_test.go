package spec

import (
	"testing"

	"github.com/s3crr/s3crr/internal/names"
)

func TestFanOutLegs(t *testing.T) {
	r, err := Parse(build(t, fanOut(
		dst("dst-a", "us-east-1"),
		withRule(dst("dst-b", "eu-west-1"), map[string]any{"priority": 9, "storageClass": "GLACIER_IR", "deleteMarkerReplication": false}))))
	if err != nil {
		t.Fatal(err)
	}
	legs := r.Legs()
	if len(legs) != 2 {
		t.Fatalf("%d legs", len(legs))
	}
	role := names.SourceReplicationRoleName("111111111111", "payments-src")
	for i, leg := range legs {
		want := names.LegID("payments-archive", i+1)
		if leg.PairID != want || leg.Destinations != nil || leg.TwoWay {
			t.Errorf("leg %d: %+v", i, leg)
		}
		if leg.Source != r.Source || leg.Source.KMSKeyAlias != "alias/s3crr/payments-archive/source" {
			t.Errorf("leg %s source %+v, want the request's (one source key)", want, leg.Source)
		}
		if got := leg.Destination.KMSKeyAlias; got != "alias/s3crr/"+want+"/destination" {
			t.Errorf("leg %s destination alias %s, want its own", want, got)
		}
		if leg.RuleID() != names.RuleID(want) || leg.ReplicationRoleName() != role {
			t.Errorf("leg %s rule %s role %s", want, leg.RuleID(), leg.ReplicationRoleName())
		}
		if err := leg.Validate(); err != nil {
			t.Errorf("leg %s is not a valid pair: %v", want, err)
		}
	}
	if *legs[0].Rule.Priority != DefaultPriority("payments-archive-1") || !legs[0].Rule.DeleteMarkerReplication || legs[0].Rule.StorageClass != DefaultStorageClass {
		t.Errorf("leg 1 rule %+v, want the request's options with its own priority", legs[0].Rule)
	}
	if *legs[1].Rule.Priority != 9 || legs[1].Rule.StorageClass != "GLACIER_IR" || legs[1].Rule.DeleteMarkerReplication || legs[1].Rule.ReplicationTimeControl {
		t.Errorf("leg 2 rule %+v, want the destination's own rule whole", legs[1].Rule)
	}
	if got := r.LegIDs(); len(got) != 2 || got[1] != "payments-archive-2" {
		t.Errorf("LegIDs = %v", got)
	}
}

func TestTwoWayLegs(t *testing.T) {
	r, err := Parse(build(t, edits{"twoWay": true}))
	if err != nil {
		t.Fatal(err)
	}
	legs := r.Legs()
	if len(legs) != 2 {
		t.Fatalf("%d legs", len(legs))
	}
	fwd, back := legs[0], legs[1]
	if fwd.PairID != "payments-archive" || back.PairID != "payments-archive-reverse" {
		t.Fatalf("leg IDs %s %s", fwd.PairID, back.PairID)
	}
	if back.Source != fwd.Destination || back.Destination != fwd.Source {
		t.Errorf("back direction %+v → %+v, want the endpoints swapped with the same keys", back.Source, back.Destination)
	}
	if !fwd.Rule.ReplicaModifications || !back.Rule.ReplicaModifications {
		t.Error("both rules must sync replica modifications")
	}
	if fwd.ReplicationRoleName() == back.ReplicationRoleName() || back.ReplicationRoleName() != names.SourceReplicationRoleName("222222222222", "payments-dst") {
		t.Errorf("roles %s and %s, want each bucket's own", fwd.ReplicationRoleName(), back.ReplicationRoleName())
	}
	if back.RuleID() != "s3crr-payments-archive-reverse" {
		t.Errorf("back rule ID %s", back.RuleID())
	}
}

// A plain request is its own only leg, unchanged, so pairs provisioned before legs
// keep their pair ID, hash and execution name.
func TestPlainRequestLeg(t *testing.T) {
	r, err := Parse(build(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	legs := r.Legs()
	if len(legs) != 1 || legs[0].PairID != r.PairID || legs[0].Hash() != r.Hash() {
		t.Errorf("legs %+v", legs)
	}
}

func TestSourceReplicationRoleName(t *testing.T) {
	long := "very-long-bucket-name-that-goes-on.and.on-beyond-what-iam-allows-x"
	for _, tt := range []struct{ account, bucket string }{
		{"111111111111", "payments-src"},
		{"111111111111", long[:63]},
		{"111111111111", "logs.example.com"},
	} {
		n := names.SourceReplicationRoleName(tt.account, tt.bucket)
		if len(n) > 64 || !roleNamePattern.MatchString(n) {
			t.Errorf("%s: %q is not a valid IAM role name", tt.bucket, n)
		}
	}
	if names.SourceReplicationRoleName("111111111111", "b-1") == names.SourceReplicationRoleName("222222222222", "b-1") {
		t.Error("the same bucket name in two accounts gets one role name")
	}
	a := names.SourceReplicationRoleName("111111111111", long[:63])
	b := names.SourceReplicationRoleName("111111111111", long[:62]+"y")
	if a == b {
		t.Error("buckets that differ after the cut share a role name")
	}
}
