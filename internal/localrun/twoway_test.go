package localrun

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/spec"
	"github.com/s3crr/s3crr/internal/verifyjob"
)

// twoWayRequest replicates bucket A (account A) and bucket B (account B) into each other.
const twoWayRequest = `{
  "pairId": "mirror",
  "source": {"account": "111111111111", "region": "ap-south-1", "bucket": "mirror-a"},
  "destination": {"account": "222222222222", "region": "us-east-1", "bucket": "mirror-b"},
  "rule": {"deleteMarkerReplication": true},
  "twoWay": true
}`

// canaryVersions counts every version and delete marker under the canary prefix of a
// bucket, as its owner sees them.
func canaryVersions(t *testing.T, env *Env, ep spec.Endpoint, prefix string) int {
	t.Helper()
	v, err := awsclient.S3(env.RootConfig(ep.Account, ep.Region)).ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{
		Bucket: aws.String(ep.Bucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	return len(v.Versions) + len(v.DeleteMarkers)
}

// TestTwoWayCanaryProvesEachDirection provisions a two-way pair through the provision
// state machine and verifies it through the verify state machine: each direction is a
// pair of its own whose canary is written to its own source and must arrive in the other
// bucket, so each passes with a latency of its own, which a one-way canary could not show.
// The canaries do not bounce: a replica is not replicated back (replica modification
// sync carries metadata changes only), so after each verification, and once the
// simulator has nothing left to replicate, no canary version is left on either side.
func TestTwoWayCanaryProvesEachDirection(t *testing.T) {
	env := startEnv(t, Config{WaitOverrides: map[string]time.Duration{"WaitForReplica": 200 * time.Millisecond}})
	ctx := t.Context()
	req, err := spec.Parse([]byte(twoWayRequest))
	if err != nil {
		t.Fatal(err)
	}
	legs := req.Legs()
	if len(legs) != 2 {
		t.Fatalf("legs %v, want the two directions", req.LegIDs())
	}
	run, err := env.Provision(ctx, []byte(twoWayRequest), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Succeeded() {
		t.Fatalf("provision: %s %s", run.Execution.Error, run.Execution.Cause)
	}
	// The provision run ends with each direction's verification: a canary per direction.
	if len(run.Output.Legs) != 2 {
		t.Fatalf("provision output has %d legs, want 2", len(run.Output.Legs))
	}
	for i, o := range run.Output.Legs {
		if o.Verify == nil || o.Verify.Status != verifyjob.StatusPassed || o.Verify.LatencySeconds <= 0 {
			t.Errorf("provision's verification of %s: %+v, want passed with a canary latency", legs[i].PairID, o.Verify)
		}
	}
	t.Logf("provision run: %d configuration writes, %d canary writes", run.MemberWrites, run.CanaryWrites)

	for _, leg := range legs {
		res := verifyOne(t, env, leg.PairID)
		if res.Status != verifyjob.StatusPassed || res.LatencySeconds <= 0 {
			t.Errorf("verify %s (%s → %s): status %s, latency %v, findings %v; want passed with a latency",
				leg.PairID, leg.Source.Bucket, leg.Destination.Bucket, res.Status, res.LatencySeconds, res.Findings)
		}
		t.Logf("%s → %s: canary latency %.3fs", leg.Source.Bucket, leg.Destination.Bucket, res.LatencySeconds)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := env.Sim.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	for _, leg := range legs {
		for _, side := range []spec.Endpoint{leg.Source, leg.Destination} {
			if n := canaryVersions(t, env, side, leg.CanaryKeyPrefix()); n != 0 {
				t.Errorf("%s holds %d canary versions under %s after the verifications, want 0 (a bounced canary is a version no cleanup knows)", side.Bucket, n, leg.CanaryKeyPrefix())
			}
		}
	}
	// An object written on each side replicates once and comes back as no new version.
	for i, leg := range legs {
		key := "data/from-" + leg.Source.Bucket
		rep, err := env.PutAndCheck(ctx, leg, key, run.Output.Legs[i].ARNs.DestinationKey)
		if err != nil {
			t.Fatalf("%s: %v", leg.PairID, err)
		}
		if rep.ReplicaKMSKeyID != run.Output.Legs[i].ARNs.DestinationKey {
			t.Errorf("%s: replica under %s, want the other bucket's key %s", leg.PairID, rep.ReplicaKMSKeyID, run.Output.Legs[i].ARNs.DestinationKey)
		}
	}
	if err := env.Sim.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	for _, leg := range legs {
		key := "data/from-" + leg.Source.Bucket
		for _, side := range []spec.Endpoint{leg.Source, leg.Destination} {
			if n := canaryVersions(t, env, side, key); n != 1 {
				t.Errorf("%s has %d versions of %s, want 1 (no loop)", side.Bucket, n, key)
			}
		}
	}
}
