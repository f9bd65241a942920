package provision

// Teardown while other pairs are provisioned into the same documents, against the
// simulator: the destroy stages take the pair's entries out of documents other pairs
// merge into (docs/aws-facts.md#F-WHOLE-DOCUMENT-PUTS), so without the leases a
// concurrent merge is lost to the removal's put, or the removal to the merge's.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// registerPair records a provisioned pair in the test registry, as RegisterPair does.
func (e *localEnv) registerPair(r spec.Request, dstKeyARN string) {
	e.svc.cfg.Registry.(*memRegistry).register(RegisteredPair{PairID: r.PairID, SourceAccount: r.Source.Account,
		DestinationAccount: r.Destination.Account, DestinationBucket: r.Destination.Bucket, DestinationKeyARN: dstKeyARN,
		Prefix: r.Rule.Prefix, OwnerOverride: r.Rule.OwnerOverride})
}

// runStages runs, in order, the stages of one run (the provision stages after validate,
// or the destroy stages) whose names are in only, retrying DocumentBusy as the state
// machine does. The batch stages are left out: these pairs replicate no existing objects.
func (e *localEnv) runStages(ctx context.Context, req []byte, destroy bool, only ...string) error {
	stages := Stages[1:]
	if destroy {
		stages = DestroyStages
	}
	for _, stg := range stages {
		if !slices.Contains(only, stg.Name) {
			continue
		}
		for _, side := range stg.Sides {
			if _, err := e.svc.retryBusy(ctx, Event{Stage: stg.Name, Side: side, Request: req}); err != nil {
				return fmt.Errorf("stage %s(%s): %w", stg.Name, side, err)
			}
		}
	}
	return nil
}

// TestDestroyWhileOthersProvisionKeepsTheirGrants destroys one pair of a fan-in while
// new pairs are provisioned into the same destination bucket and key, several rounds:
// the destroy's removals from the destination bucket policy and key policy run at the
// same moment as the new pairs' merges into them, with the reads and puts slowed so that
// they overlap. Every survivor's grant must be in the destination's documents and every
// survivor must replicate under the destination key; the destroyed pair's share must be
// gone. Without the destroy stages' leases, a round loses a new pair's grant.
func TestDestroyWhileOthersProvisionKeepsTheirGrants(t *testing.T) {
	const rounds, newPerRound = 3, 3
	env := newLocalEnv(t, localaws.Options{})
	env.svc.cfg.Leases = kumoLeases(t, nil)
	ctx := context.Background()

	var live []spec.Request
	first := env.apply(t, faninRequest("td-first"))
	dstKey := outputOf(first, names.StageKey, SideDestination, "keyArn")
	for _, id := range []string{"td-first", "td-a0", "td-a1", "td-a2"} {
		if id != "td-first" {
			env.apply(t, faninRequest(id))
		}
		r := mustParse(t, faninRequest(id))
		env.registerPair(r, dstKey)
		live = append(live, r)
	}
	widenRaces(env.srv)
	dst := awsclient.S3(env.root(localaws.DestinationAccount, "us-east-1"))

	for round := range rounds {
		gone := live[len(live)-1] // never td-first, which keeps the source account in the share
		live = live[:len(live)-1]
		goneJSON, err := json.Marshal(gone)
		must(t, err)
		fresh := make([]spec.Request, newPerRound)
		for i := range fresh {
			fresh[i] = mustParse(t, faninRequest(fmt.Sprintf("td-r%d-n%d", round, i)))
			if _, err := env.svc.Run(ctx, Event{Stage: names.StageValidate, Request: faninRequest(fresh[i].PairID)}); err != nil {
				t.Fatal(err)
			}
			must(t, env.runStages(ctx, faninRequest(fresh[i].PairID), false, names.StagePreflight, names.StageBucket, names.StageKey, names.StageRole))
		}
		must(t, env.runStages(ctx, goneJSON, true, names.StageDestroyReplication, names.StageDestroyEvents))

		// One document at a time, so that the removal and the merges meet on it: the key
		// policies, then the bucket policy.
		for _, phase := range [][2]string{{names.StageDestroyKeyPolicy, names.StageKeyPolicy}, {names.StageDestroyBucketPolicy, names.StageBucketPolicy}} {
			var wg sync.WaitGroup
			errs := make([]error, newPerRound+1)
			wg.Add(1)
			go func() { defer wg.Done(); errs[newPerRound] = env.runStages(ctx, goneJSON, true, phase[0]) }()
			for i := range newPerRound {
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = env.runStages(ctx, faninRequest(fresh[i].PairID), false, phase[1]) }()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					what := "destroy " + gone.PairID
					if i < newPerRound {
						what = "apply " + fresh[i].PairID
					}
					t.Fatalf("round %d: %s: %v", round, what, err)
				}
			}
		}
		must(t, env.runStages(ctx, goneJSON, true, names.StageDestroyRole, names.StageDestroyKey, names.StageDestroyBucket))
		for _, r := range fresh {
			must(t, env.runStages(ctx, faninRequest(r.PairID), false, names.StageEncryption, names.StageReplication, names.StageEvents, names.StageCheckReplication))
		}
		// What the state machines do after the stages: Unregister, RegisterPair.
		env.svc.cfg.Registry.(*memRegistry).unregister(gone.PairID)
		for _, r := range fresh {
			env.registerPair(r, dstKey)
		}
		live = append(live, fresh...)

		out, err := dst.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("central-backup")})
		must(t, err)
		doc, err := policy.ParseDocument([]byte(aws.ToString(out.Policy)))
		must(t, err)
		share, ok := policy.Find(doc, policy.SidReplicaWriteShared)
		if !ok {
			t.Fatalf("round %d: the destination bucket policy lost %s", round, policy.SidReplicaWriteShared)
		}
		for _, r := range live {
			if !policy.ShareOf(share).Covers(r.Source.Account, policy.ObjectsARN(r.Destination.Bucket, r.Rule.Prefix)) {
				t.Errorf("round %d: the shared grant no longer admits pair %s (%s)", round, r.PairID, r.Rule.Prefix)
			}
		}
		if strings.Contains(aws.ToString(out.Policy), policy.ObjectsARN(gone.Destination.Bucket, gone.Rule.Prefix)) {
			t.Errorf("round %d: the destroyed pair %s's objects are still in the shared grant", round, gone.PairID)
		}
		for _, r := range live {
			if why := env.replicates(t, r, dstKey); why != "" {
				t.Errorf("round %d: pair %s does not replicate: %s", round, r.PairID, why)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
}

// TestDestroyLegWhileAnotherLegIsAddedKeepsTheRole destroys one leg of a source bucket
// while another leg from the same bucket is added: both write the bucket's replication
// configuration, its events subscription, and the shared role's policy and trust. The
// added leg, and the leg that was already there, must replicate through the role, the
// destroyed leg's rule and statements must be gone.
func TestDestroyLegWhileAnotherLegIsAddedKeepsTheRole(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	env.svc.cfg.Leases = kumoLeases(t, nil)
	ctx := context.Background()
	for _, op := range []struct{ service, op string }{
		{"s3", "GetBucketReplication"}, {"s3", "PutBucketReplication"}, {"iam", "GetRolePolicy"}, {"iam", "PutRolePolicy"},
		{"iam", "GetRole"}, {"iam", "UpdateAssumeRolePolicy"}, {"s3", "GetBucketNotificationConfiguration"}, {"s3", "PutBucketNotificationConfiguration"},
	} {
		env.srv.InjectFault(localaws.Fault{Account: localaws.SourceAccount, Service: op.service, Operation: op.op, Latency: 20 * time.Millisecond})
	}
	req := mustParse(t, []byte(fanOutRequest))
	res := legResults(env.apply(t, []byte(fanOutRequest)))
	legs := req.Legs()
	keys := map[string]string{}
	for i, leg := range legs {
		keys[leg.PairID] = outputOf(res[i], names.StageKey, SideDestination, "keyArn")
	}
	gone, err := json.Marshal(legs[0])
	must(t, err)
	later := mustParse(t, []byte(laterRequest))

	var wg sync.WaitGroup
	var destroyErr, applyErr error
	var laterRes []Result
	wg.Add(2)
	go func() { defer wg.Done(); _, destroyErr = env.svc.Destroy(ctx, gone, DestroyOptions{}, false) }()
	go func() { defer wg.Done(); laterRes, applyErr = env.svc.Apply(ctx, []byte(laterRequest)) }()
	wg.Wait()
	if destroyErr != nil || applyErr != nil {
		t.Fatalf("destroy leg 1: %v; add a destination: %v", destroyErr, applyErr)
	}
	keys[later.PairID] = outputOf(laterRes, names.StageKey, SideDestination, "keyArn")

	cfg, err := awsclient.S3(env.root(req.Source.Account, req.Source.Region)).GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(req.Source.Bucket)})
	must(t, err)
	var ids []string
	for _, r := range cfg.ReplicationConfiguration.Rules {
		ids = append(ids, aws.ToString(r.ID))
	}
	if strings.Contains(strings.Join(ids, ","), legs[0].RuleID()) || len(ids) != 2 {
		t.Errorf("rules after the destroy and the added leg: %v, want the rules of %s and %s", ids, legs[1].PairID, later.PairID)
	}
	for _, leg := range []spec.Request{legs[1], later} {
		env.putAndWait(t, legs[1], "after/"+leg.PairID, "")
		if got := env.replicaKey(t, leg, "after/"+leg.PairID); got != keys[leg.PairID] {
			t.Errorf("leg %s: replica key %q, want %s", leg.PairID, got, keys[leg.PairID])
		}
	}
	// Both survivors converge: re-running them writes nothing, so nothing of theirs was lost.
	env.rerunMakesNoWrite(t, "the added leg after the concurrent destroy", []byte(laterRequest))
}
