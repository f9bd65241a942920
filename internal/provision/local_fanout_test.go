package provision

// Fan-out (destinations) and two-way pairs against the simulator: every leg replicates
// under its own destination key through the one role of its source bucket, legs added or
// destroyed later leave the others replicating, and re-runs make no mutating call.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// fanOutRequest replicates payments-src (account A, ap-south-1) to two buckets of account
// B in two regions; the second destination brings its own rule.
const fanOutRequest = `{
  "pairId": "payments-fan",
  "source": {"account": "111111111111", "region": "ap-south-1", "bucket": "payments-src"},
  "destinations": [
    {"account": "222222222222", "region": "us-east-1", "bucket": "payments-dst-use1"},
    {"account": "222222222222", "region": "eu-west-1", "bucket": "payments-dst-euw1",
     "rule": {"prefix": "", "deleteMarkerReplication": true, "storageClass": "STANDARD_IA"}}
  ],
  "rule": {"deleteMarkerReplication": true}
}`

// laterRequest adds a third destination to the same source bucket later, as a plain
// request of its own; it names the source key the bucket already encrypts with (the
// fan-out request's default alias), since a bucket has one default key.
const laterRequest = `{
  "pairId": "payments-dr",
  "source": {"account": "111111111111", "region": "ap-south-1", "bucket": "payments-src", "kmsKeyAlias": "alias/s3crr/payments-fan/source"},
  "destination": {"account": "222222222222", "region": "eu-central-1", "bucket": "payments-dst-euc1"},
  "rule": {"deleteMarkerReplication": true}
}`

// legResults splits a run's results by leg: validate first, then each leg from its
// preflight on.
func legResults(res []Result) [][]Result {
	var out [][]Result
	for _, r := range res {
		if r.Stage == names.StagePreflight {
			out = append(out, nil)
		}
		if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], r)
		}
	}
	return out
}

// replicaKey heads key in r's destination bucket and returns the replica's KMS key,
// failing unless it is a replica.
func (e *localEnv) replicaKey(t *testing.T, r spec.Request, key string) string {
	t.Helper()
	out, err := awsclient.S3(e.root(r.Destination.Account, r.Destination.Region)).HeadObject(context.Background(),
		&s3.HeadObjectInput{Bucket: aws.String(r.Destination.Bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("leg %s: head replica %s in %s: %v", r.PairID, key, r.Destination.Bucket, err)
	}
	if got := string(out.ReplicationStatus); got != "REPLICA" {
		t.Errorf("leg %s: %s in %s has status %q, want REPLICA", r.PairID, key, r.Destination.Bucket, got)
	}
	return aws.ToString(out.SSEKMSKeyId)
}

// versions counts the versions of key in a bucket.
func (e *localEnv) versions(t *testing.T, account, region, bucket, key string) int {
	t.Helper()
	out, err := awsclient.S3(e.root(account, region)).ListObjectVersions(context.Background(),
		&s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(key)})
	if err != nil {
		t.Fatalf("list versions of %s in %s: %v", key, bucket, err)
	}
	return len(out.Versions) + len(out.DeleteMarkers)
}

// rerunMakesNoWrite applies req again and fails on any mutating call.
func (e *localEnv) rerunMakesNoWrite(t *testing.T, what string, req []byte) {
	t.Helper()
	e.srv.ResetCalls()
	res := e.apply(t, req)
	if n := countChanges(res); n != 0 {
		t.Errorf("%s: re-run reported %d changes: %v", what, n, res)
	}
	if n := e.srv.MutatingCalls(""); n != 0 {
		for _, c := range e.srv.Calls() {
			if c.Mutating {
				t.Logf("mutating: %s %s %s ×%d", c.Account, c.Service, c.Operation, c.Count)
			}
		}
		t.Errorf("%s: re-run made %d mutating calls, want 0", what, n)
	}
}

func TestFanOutReplicatesToEveryDestinationWithItsOwnKey(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	ctx := context.Background()
	req := mustParse(t, []byte(fanOutRequest))
	legs := req.Legs()
	if len(legs) != 2 || legs[0].PairID != "payments-fan-1" || legs[1].PairID != "payments-fan-2" {
		t.Fatalf("legs = %v", req.LegIDs())
	}

	res := legResults(env.apply(t, []byte(fanOutRequest)))
	if len(res) != 2 {
		t.Fatalf("ran %d legs, want 2", len(res))
	}
	dstKeys := map[string]string{}
	for i, leg := range legs {
		k := outputOf(res[i], names.StageKey, SideDestination, "keyArn")
		if k == "" || strings.Contains(k, ":"+leg.Source.Region+":") {
			t.Fatalf("leg %s destination key %q", leg.PairID, k)
		}
		dstKeys[leg.PairID] = k
	}
	if dstKeys["payments-fan-1"] == dstKeys["payments-fan-2"] {
		t.Fatal("both legs have the same destination key")
	}

	env.putAndWait(t, legs[0], "invoices/1.csv", "")
	for _, leg := range legs {
		if got := env.replicaKey(t, leg, "invoices/1.csv"); got != dstKeys[leg.PairID] {
			t.Errorf("leg %s: replica key %s, want its destination key %s", leg.PairID, got, dstKeys[leg.PairID])
		}
	}

	// One role for the bucket, holding both legs' statements; one rule per destination.
	srcIAM := awsclient.IAM(env.root(req.Source.Account, req.Source.Region))
	roles, err := srcIAM.ListRoles(ctx, &iam.ListRolesInput{PathPrefix: aws.String(names.RolePath)})
	if err != nil {
		t.Fatal(err)
	}
	var replRoles []string
	for _, r := range roles.Roles {
		if strings.HasPrefix(aws.ToString(r.RoleName), names.ReplicationRoleNamePrefix) {
			replRoles = append(replRoles, aws.ToString(r.RoleName))
		}
	}
	if want := names.SourceReplicationRoleName(req.Source.Account, req.Source.Bucket); len(replRoles) != 1 || replRoles[0] != want {
		t.Errorf("replication roles %v, want only %s", replRoles, want)
	}
	cfg, err := awsclient.S3(env.root(req.Source.Account, req.Source.Region)).GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(req.Source.Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cfg.ReplicationConfiguration.Rules); n != 2 {
		t.Errorf("%d rules, want 2", n)
	} else if p0, p1 := cfg.ReplicationConfiguration.Rules[0].Priority, cfg.ReplicationConfiguration.Rules[1].Priority; aws.ToInt32(p0) == aws.ToInt32(p1) {
		t.Errorf("both rules have priority %d", aws.ToInt32(p0))
	}

	env.rerunMakesNoWrite(t, "fan-out", []byte(fanOutRequest))

	// A third destination later, from another request: the same role takes its share.
	later := mustParse(t, []byte(laterRequest))
	laterRes := env.apply(t, []byte(laterRequest))
	laterKey := outputOf(laterRes, names.StageKey, SideDestination, "keyArn")
	env.putAndWait(t, later, "invoices/2.csv", "")
	if got := env.replicaKey(t, later, "invoices/2.csv"); got != laterKey {
		t.Errorf("added destination: replica key %s, want %s", got, laterKey)
	}
	for _, leg := range legs {
		if got := env.replicaKey(t, leg, "invoices/2.csv"); got != dstKeys[leg.PairID] {
			t.Errorf("after adding a destination, leg %s: replica key %s, want %s", leg.PairID, got, dstKeys[leg.PairID])
		}
	}
	// Neither request undoes the other's share.
	env.rerunMakesNoWrite(t, "added destination", []byte(laterRequest))
	env.rerunMakesNoWrite(t, "fan-out after the added destination", []byte(fanOutRequest))

	// Destroying one leg, even with its keys and buckets, leaves the others replicating
	// through the role, with the source key and bucket they share.
	leg1, err := json.Marshal(legs[0])
	if err != nil {
		t.Fatal(err)
	}
	all := DestroyOptions{DeleteKeys: true, DeleteBuckets: true}
	destroyed, err := env.svc.Destroy(ctx, leg1, all, false)
	if err != nil {
		t.Fatalf("destroy leg 1: %v", err)
	}
	kept := false
	for _, r := range destroyed {
		for _, w := range r.Warnings {
			kept = kept || strings.Contains(w, "still serves other pairs")
		}
	}
	if !kept {
		t.Error("destroying leg 1 did not say it kept the shared source key")
	}
	env.putAndWait(t, legs[0], "invoices/3.csv", "")
	if n := env.versions(t, legs[0].Destination.Account, legs[0].Destination.Region, legs[0].Destination.Bucket, "invoices/3.csv"); n != 0 {
		t.Errorf("the destroyed leg still replicated (%d versions)", n)
	}
	if got := env.replicaKey(t, legs[1], "invoices/3.csv"); got != dstKeys[legs[1].PairID] {
		t.Errorf("after destroying leg 1, leg 2's replica key %s", got)
	}
	if got := env.replicaKey(t, later, "invoices/3.csv"); got != laterKey {
		t.Errorf("after destroying leg 1, the added destination's replica key %s", got)
	}
	pol, err := srcIAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(legs[1].ReplicationRoleName()), PolicyName: aws.String(names.ReplicationPolicyName)})
	if err != nil {
		t.Fatalf("the shared role's policy after destroying one leg: %v", err)
	}
	doc, err := policy.ParseIAMDocument(aws.ToString(pol.PolicyDocument))
	if err != nil {
		t.Fatal(err)
	}
	if _, sids := policy.RemovePair(doc, legs[0].PairID); len(sids) != 0 {
		t.Errorf("the destroyed leg's statements %v are still in the shared role", sids)
	}
	if _, sids := policy.RemovePair(doc, legs[1].PairID); len(sids) == 0 {
		t.Error("the destroy removed another leg's statements from the shared role")
	}
	env.srv.ResetCalls()
	if _, err := env.svc.Destroy(ctx, leg1, all, false); err != nil {
		t.Fatalf("second destroy of leg 1: %v", err)
	}
	if n := env.srv.MutatingCalls(""); n != 0 {
		t.Errorf("a second destroy of leg 1 made %d mutating calls", n)
	}
}

// twoWayRequest replicates tw-a (account A) and tw-b (account B) into each other.
const twoWayRequest = `{
  "pairId": "mirror",
  "source": {"account": "111111111111", "region": "ap-south-1", "bucket": "tw-a"},
  "destination": {"account": "222222222222", "region": "us-east-1", "bucket": "tw-b"},
  "rule": {"deleteMarkerReplication": true},
  "twoWay": true
}`

func TestTwoWayReplicatesEachWayOnceWithoutLoop(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	req := mustParse(t, []byte(twoWayRequest))
	legs := req.Legs()
	if len(legs) != 2 || legs[1].PairID != "mirror-reverse" || legs[1].Source.Bucket != "tw-b" {
		t.Fatalf("legs = %+v", legs)
	}
	res := legResults(env.apply(t, []byte(twoWayRequest)))
	if len(res) != 2 {
		t.Fatalf("ran %d legs, want 2", len(res))
	}
	keyA := outputOf(res[0], names.StageKey, SideSource, "keyArn")
	keyB := outputOf(res[0], names.StageKey, SideDestination, "keyArn")
	// Each bucket's key serves both directions.
	if got := outputOf(res[1], names.StageKey, SideSource, "keyArn"); got != keyB {
		t.Errorf("back direction's source key %s, want B's key %s", got, keyB)
	}
	if got := outputOf(res[1], names.StageKey, SideDestination, "keyArn"); got != keyA {
		t.Errorf("back direction's destination key %s, want A's key %s", got, keyA)
	}
	for _, leg := range legs {
		cfg, err := awsclient.S3(env.root(leg.Source.Account, leg.Source.Region)).GetBucketReplication(context.Background(),
			&s3.GetBucketReplicationInput{Bucket: aws.String(leg.Source.Bucket)})
		if err != nil {
			t.Fatal(err)
		}
		rules := cfg.ReplicationConfiguration.Rules
		if len(rules) != 1 || rules[0].SourceSelectionCriteria == nil || rules[0].SourceSelectionCriteria.ReplicaModifications == nil ||
			rules[0].SourceSelectionCriteria.ReplicaModifications.Status != "Enabled" {
			t.Errorf("%s: rules %+v, want one with replica modification sync", leg.Source.Bucket, rules)
		}
	}

	env.putAndWait(t, legs[0], "from-a.txt", "")
	if got := env.replicaKey(t, legs[0], "from-a.txt"); got != keyB {
		t.Errorf("A→B replica key %s, want B's key %s", got, keyB)
	}
	env.putAndWait(t, legs[1], "from-b.txt", "")
	if got := env.replicaKey(t, legs[1], "from-b.txt"); got != keyA {
		t.Errorf("B→A replica key %s, want A's key %s", got, keyA)
	}
	// Let anything that would bounce back arrive, then count: one version on each side.
	wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := env.srv.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"from-a.txt", "from-b.txt"} {
		for _, side := range []spec.Endpoint{req.Source, req.Destination} {
			if n := env.versions(t, side.Account, side.Region, side.Bucket, key); n != 1 {
				t.Errorf("%s has %d versions of %s, want 1 (no loop)", side.Bucket, n, key)
			}
		}
	}

	// Replica modification sync: a tag put on B's replica reaches A's object, and
	// nothing else moves (no new version, statuses as they were).
	ctx := context.Background()
	b := awsclient.S3(env.root(req.Destination.Account, req.Destination.Region))
	if _, err := b.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("tw-b"), Key: aws.String("from-a.txt"),
		Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("reviewed"), Value: aws.String("yes")}}}}); err != nil {
		t.Fatal(err)
	}
	if err := env.srv.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	a := awsclient.S3(env.root(req.Source.Account, req.Source.Region))
	tags, err := a.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tw-a"), Key: aws.String("from-a.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if len(tags.TagSet) != 1 || aws.ToString(tags.TagSet[0].Key) != "reviewed" {
		t.Errorf("A's object has tags %v, want the tag put on B's replica (replica modification sync)", tags.TagSet)
	}
	for _, c := range []struct {
		client         *s3.Client
		bucket, status string
	}{{a, "tw-a", "COMPLETED"}, {b, "tw-b", "REPLICA"}} {
		head, err := c.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(c.bucket), Key: aws.String("from-a.txt")})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(head.ReplicationStatus); got != c.status {
			t.Errorf("%s/from-a.txt status %s after the metadata sync, want %s", c.bucket, got, c.status)
		}
		if n := env.versions(t, req.Source.Account, req.Source.Region, "tw-a", "from-a.txt") + env.versions(t, req.Destination.Account, req.Destination.Region, "tw-b", "from-a.txt"); n != 2 {
			t.Errorf("%d versions of from-a.txt on both sides after the metadata sync, want 2", n)
		}
	}
	env.rerunMakesNoWrite(t, "two-way", []byte(twoWayRequest))

	// Register both directions, as the state machine's RegisterPair does.
	reg := env.svc.cfg.Registry.(*memRegistry)
	for i, leg := range legs {
		reg.register(RegisteredPair{PairID: leg.PairID, SourceAccount: leg.Source.Account, DestinationAccount: leg.Destination.Account,
			DestinationBucket: leg.Destination.Bucket, DestinationKeyARN: outputOf(res[i], names.StageKey, SideDestination, "keyArn")})
	}
	// Destroying the forward direction, keys and buckets included, leaves B→A
	// replicating: A's key, which the forward pair created, is the back direction's
	// destination key, and B's its source key.
	fwd, err := json.Marshal(legs[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.svc.Destroy(ctx, fwd, DestroyOptions{DeleteKeys: true, DeleteBuckets: true}, false); err != nil {
		t.Fatalf("destroy the forward direction: %v", err)
	}
	reg.unregister(legs[0].PairID)
	env.putAndWait(t, legs[1], "back-after.txt", "")
	if got := env.replicaKey(t, legs[1], "back-after.txt"); got != keyA {
		t.Errorf("after destroying the forward direction, B→A replica key %s, want %s", got, keyA)
	}
	env.putAndWait(t, legs[0], "after.txt", "")
	if n := env.versions(t, req.Destination.Account, req.Destination.Region, "tw-b", "after.txt"); n != 0 {
		t.Errorf("the destroyed forward direction still replicated (%d versions in B)", n)
	}
}

// The validate stage's legs are the ones spec computes, and a plain request is its own
// only leg with its pair ID unchanged (so existing pairs keep theirs).
func TestPlainRequestIsItsOwnOnlyLeg(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	reqJSON := sampleRequest(t)
	res, err := env.svc.Run(context.Background(), Event{Stage: names.StageValidate, Request: reqJSON})
	if err != nil {
		t.Fatal(err)
	}
	req := mustParse(t, reqJSON)
	if len(res.Legs) != 1 || res.Legs[0].PairID != req.PairID || res.Legs[0].ReplicationRole != "" {
		t.Fatalf("legs = %+v", res.Legs)
	}
	a, _ := json.Marshal(res.Legs[0])
	b, _ := json.Marshal(req)
	if !bytes.Equal(a, b) {
		t.Errorf("the one leg differs from the request:\n%s\n%s", a, b)
	}
}

// A pair provisioned before roles were per source bucket has a role named after its pair
// ID, tagged with it. Its source bucket keeps that role: the re-run adopts it and changes
// nothing, and a destination added later shares it.
func TestLegacyPairRoleIsAdopted(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	ctx := context.Background()
	reqJSON := sampleRequest(t)
	req := mustParse(t, reqJSON)
	legacy := names.ReplicationRoleName(req.PairID)

	// Provision the pair as the old code did: the role named and tagged for the pair.
	old := req
	old.ReplicationRole = legacy
	oldJSON, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	env.apply(t, oldJSON)
	srcIAM := awsclient.IAM(env.root(req.Source.Account, req.Source.Region))
	if _, err := srcIAM.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String(legacy), TagKeys: []string{names.SourceBucketTagKey}}); err != nil {
		t.Fatal(err)
	}
	if _, err := srcIAM.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(legacy), Tags: []iamtypes.Tag{{Key: aws.String(names.PairIDTagKey), Value: aws.String(req.PairID)}}}); err != nil {
		t.Fatal(err)
	}

	// The same request with today's code: the bucket's role is adopted, nothing changes.
	env.rerunMakesNoWrite(t, "legacy pair", reqJSON)
	if _, err := srcIAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(req.ReplicationRoleName())}); !awsclient.IsNotFound(err) {
		t.Errorf("a per-bucket role was created next to the legacy one (err %v)", err)
	}

	// A destination added later replicates through the legacy role too.
	addJSON := []byte(`{
  "pairId": "payments-more",
  "source": {"account": "111111111111", "region": "ap-south-1", "bucket": "payments-src", "kmsKeyAlias": "alias/s3crr-src"},
  "destination": {"account": "222222222222", "region": "eu-west-1", "bucket": "payments-more"},
  "rule": {"deleteMarkerReplication": true}
}`)
	res := env.apply(t, addJSON)
	if got := outputOf(res, names.StageRole, SideSource, "roleArn"); got != names.ReplicationRoleARN(req.Source.Account, req.PairID) {
		t.Errorf("added destination's role %s, want the legacy role", got)
	}
	added := mustParse(t, addJSON)
	env.putAndWait(t, req, "x.csv", "")
	env.replicaKey(t, req, "x.csv")
	added.ReplicationRole = legacy
	env.replicaKey(t, added, "x.csv")
	env.rerunMakesNoWrite(t, "legacy pair after the added destination", reqJSON)
}

// TestSharedRoleRefusesThePairThatWouldOverflow adds destinations to one source bucket,
// one request each, until the role stage refuses: it must refuse before IAM's 10,240
// characters (with PreflightFailed naming the limit and the fix), not fail halfway with
// IAM's LimitExceeded, and only after at least spec.MaxDestinations pairs fit. It logs
// the role policy's size after each pair: the measurement behind MaxDestinations.
func TestSharedRoleRefusesThePairThatWouldOverflow(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	ctx := context.Background()
	regions := []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1", "ca-central-1", "sa-east-1", "ap-northeast-1"}
	srcIAM := awsclient.IAM(env.root(localaws.SourceAccount, "ap-south-1"))
	fitted := 0
	for i, region := range regions {
		reqJSON := []byte(`{"pairId": "capacity-` + region + `",
		  "source": {"account": "111111111111", "region": "ap-south-1", "bucket": "capacity-src", "kmsKeyAlias": "alias/s3crr/capacity/source"},
		  "destination": {"account": "222222222222", "region": "` + region + `", "bucket": "capacity-dst-` + region + `"},
		  "rule": {"deleteMarkerReplication": true, "prefix": "data/` + strings.Repeat("x", 40) + `/"}}`)
		_, err := env.svc.Apply(ctx, reqJSON)
		if err != nil {
			var pf *PreflightFailed
			if !errors.As(err, &pf) || !strings.Contains(pf.Message, "10240") || !strings.Contains(pf.Message, "fix:") {
				t.Fatalf("pair %d: %v, want PreflightFailed naming IAM's limit and the fix", i+1, err)
			}
			t.Logf("pair %d refused: %s", i+1, pf.Message)
			break
		}
		fitted++
		req := mustParse(t, reqJSON)
		pol, err := srcIAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(req.ReplicationRoleName()), PolicyName: aws.String(names.ReplicationPolicyName)})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := policy.ParseIAMDocument(aws.ToString(pol.PolicyDocument))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%2d pairs from one bucket: role policy %5d characters (%d per pair)", fitted, len(doc.JSON()), len(doc.JSON())/fitted)
	}
	if fitted < spec.MaxDestinations || fitted == len(regions) {
		t.Errorf("%d pairs fitted in the shared role; want at least %d and a refusal before %d", fitted, spec.MaxDestinations, len(regions))
	}
}

// A stage after validate refuses a whole fan-out request: it has no one destination.
func TestStagesTakeOneLeg(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	env.srv.ResetCalls()
	_, err := env.svc.Run(context.Background(), Event{Stage: names.StageRole, Side: SideSource, Request: []byte(fanOutRequest)})
	var is *InvalidSpec
	if !errors.As(err, &is) || !strings.Contains(is.Message, "one leg") {
		t.Errorf("err = %v, want InvalidSpec saying the stage takes one leg", err)
	}
	if n := env.srv.MutatingCalls(""); n != 0 {
		t.Errorf("%d mutating calls", n)
	}
}

// TestOverflowingFanOutIsRefusedBeforeAnyWrite: a fan-out request whose legs would take
// the source bucket's shared role policy past IAM's limit, given what the role already
// holds, is refused by the validate stage, naming the field, the limit, the size and the
// fix, with no mutating call: no bucket, key or rule of any of its legs is created.
func TestOverflowingFanOutIsRefusedBeforeAnyWrite(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	ctx := context.Background()
	long := `"prefix": "data/` + strings.Repeat("x", 40) + `/"`
	for _, region := range []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2"} {
		env.apply(t, []byte(`{"pairId": "cap-`+region+`",
		  "source": {"account": "111111111111", "region": "ap-south-1", "bucket": "capacity-src", "kmsKeyAlias": "alias/s3crr/capacity/source"},
		  "destination": {"account": "222222222222", "region": "`+region+`", "bucket": "capacity-dst-`+region+`"},
		  "rule": {"deleteMarkerReplication": true, `+long+`}}`))
	}
	fan := []byte(`{"pairId": "cap-fan",
	  "source": {"account": "111111111111", "region": "ap-south-1", "bucket": "capacity-src", "kmsKeyAlias": "alias/s3crr/capacity/source"},
	  "destinations": [
	    {"account": "222222222222", "region": "eu-west-1", "bucket": "capacity-fan-euw1"},
	    {"account": "222222222222", "region": "eu-west-2", "bucket": "capacity-fan-euw2"},
	    {"account": "222222222222", "region": "eu-central-1", "bucket": "capacity-fan-euc1"}
	  ],
	  "rule": {"deleteMarkerReplication": true, ` + long + `}}`)
	env.srv.ResetCalls()
	res, err := env.svc.Apply(ctx, fan)
	var pf *PreflightFailed
	if !errors.As(err, &pf) {
		t.Fatalf("apply = %v, want PreflightFailed", err)
	}
	for _, want := range []string{"destinations:", "10240", "cap-fan-1, cap-fan-2, cap-fan-3", "nothing was created", "fix: put fewer entries in destinations"} {
		if !strings.Contains(pf.Message, want) {
			t.Errorf("refusal %q does not say %q", pf.Message, want)
		}
	}
	if len(res) != 1 || res[0].Stage != names.StageValidate {
		t.Errorf("the refusal came after %d stages, want in validate", len(res))
	}
	if n := env.srv.MutatingCalls(""); n != 0 {
		for _, c := range env.srv.Calls() {
			if c.Mutating {
				t.Logf("mutating: %s %s %s ×%d", c.Account, c.Service, c.Operation, c.Count)
			}
		}
		t.Errorf("the refused request made %d mutating calls, want 0", n)
	}
	reads := 0
	for _, c := range env.srv.Calls() {
		reads += c.Count
	}
	t.Logf("refused after %d read calls: %s", reads, pf.Message)
}
