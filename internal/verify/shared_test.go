package verify

import (
	"testing"

	"github.com/s3crr/s3crr/internal/policy"
)

// withShared rewrites the healthy snapshot's destination grants into the shared form the
// stages now write, admitting share.
func withShared(t *testing.T, share policy.Share) *Snapshot {
	t.Helper()
	s := healthy(t)
	bucket := policy.Document{Version: policy.Version, Statement: []policy.Statement{policy.DenyInsecureTransport("u-dst"), policy.SharedReplicaWriteStatement(share, false)}}
	key, _ := policy.Merge(policy.DefaultKeyPolicy(uDstAcct), []policy.Statement{policy.SharedReplicaEncryptStatement("us-east-1", share)})
	s.Destination.BucketPolicy, s.Destination.Key.Policy = &bucket, key
	return s
}

// The shared destination grants: a pair they admit is healthy (no drift, no
// sufficiency finding); one they do not admit is both drift and a failure with S3's code;
// in an organization deployment the checks cannot tell the caller's organization and ask
// a person to confirm instead of failing.
func TestCheckSharedDestinationGrants(t *testing.T) {
	objects := policy.ObjectsARN("u-dst", "")
	admitted := policy.Share{}.With(uSrcAcct, objects).With("333333333333", policy.ObjectsARN("u-dst", "other/"))
	if rep := Check(withShared(t, admitted)); len(rep.Findings) != 0 {
		t.Errorf("a pair the shared grants admit: findings %v", rep.Findings)
	}

	rep := Check(withShared(t, policy.Share{}.With("333333333333", objects)))
	var drift, failed bool
	for _, f := range rep.Findings {
		drift = drift || (f.Kind == KindDrift && f.Check == "drift-destination-bucket-policy" && f.Statement == policy.SidReplicaWriteShared)
		failed = failed || (f.Kind == KindSufficiency && f.Severity == SeverityError && f.Code == "DstPutObjectNotPermitted")
	}
	if !drift || !failed {
		t.Errorf("a pair the shared grants do not admit: findings %v; want drift on %s and DstPutObjectNotPermitted", rep.Findings, policy.SidReplicaWriteShared)
	}

	rep = Check(withShared(t, admitted.InOrganization("o-a1b2c3d4e5")))
	for _, f := range rep.Findings {
		if f.Severity == SeverityError {
			t.Errorf("organization grant: error finding %v; want a warning to confirm by hand", f)
		}
	}
	if len(rep.Findings) == 0 {
		t.Error("organization grant: no finding; the checks cannot know the source's organization and must say so")
	}
}
