package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// Fan-in: many source buckets, in several accounts, replicate into one destination bucket
// and key. The tests run the real stages against the simulator, which enforces S3's
// 20 KB bucket-policy limit, KMS's 32 KB key-policy limit and S3's 50 tags per bucket.

const (
	fanInBucket = "central-archive"
	fanInAlias  = "alias/s3crr/central-archive"
	// fanInLoner is a source account with a single pair, whose teardown must take the
	// account out of the shared grants.
	fanInLoner = "666666666666"
)

var fanInSources = []string{localaws.SourceAccount, "333333333333", "444444444444", "555555555555"}

// fanInRequest is pair i's request: source bucket i in one of the source accounts, rule
// prefix per account (so the shared grants list four object patterns), into the one
// destination bucket and key.
func fanInRequest(t testing.TB, i int, account string) []byte {
	t.Helper()
	r := map[string]any{
		"pairId":      fmt.Sprintf("fanin-%03d", i),
		"source":      map[string]any{"account": account, "region": "ap-south-1", "bucket": fmt.Sprintf("fanin-src-%03d", i)},
		"destination": map[string]any{"account": localaws.DestinationAccount, "region": "us-east-1", "bucket": fanInBucket, "kmsKeyAlias": fanInAlias},
		"rule":        map[string]any{"prefix": "acct-" + account + "/", "deleteMarkerReplication": true},
	}
	b, err := json.Marshal(r)
	must(t, err)
	return b
}

func newFanInEnv(t testing.TB, org string) *localEnv {
	members := append([]string{localaws.DestinationAccount, fanInLoner}, fanInSources...)
	opts := localaws.Options{Accounts: append([]string{localaws.HubAccount}, members...)}
	if org != "" {
		opts.Organizations = map[string]string{}
		for _, a := range members {
			opts.Organizations[a] = org
		}
	}
	return newLocalEnvWith(t, opts, members, org)
}

// provisionFanIn applies the pair and registers it, as the state machine's RegisterPair
// does after a successful run.
func (e *localEnv) provisionFanIn(t testing.TB, reqJSON []byte) spec.Request {
	t.Helper()
	e.apply(t, reqJSON)
	r := mustParse(t, reqJSON)
	e.svc.cfg.Registry.(*memRegistry).register(RegisteredPair{PairID: r.PairID, SourceAccount: r.Source.Account,
		DestinationAccount: r.Destination.Account, DestinationBucket: r.Destination.Bucket, DestinationKeyARN: e.keyARN(t, r.Destination), Prefix: r.Rule.Prefix})
	return r
}

func (e *localEnv) keyARN(t testing.TB, ep spec.Endpoint) string {
	t.Helper()
	out, err := awsclient.KMS(e.root(ep.Account, ep.Region)).DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: aws.String(keyRef(ep))})
	must(t, err)
	return aws.ToString(out.KeyMetadata.Arn)
}

// destinationDocs reads the destination bucket policy, key policy and bucket tags.
func (e *localEnv) destinationDocs(t testing.TB, dst spec.Endpoint) (bucketPolicy, keyPolicy string, tags int) {
	t.Helper()
	ctx := context.Background()
	c := awsclient.S3(e.root(dst.Account, dst.Region))
	bp, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(dst.Bucket)})
	must(t, err)
	kp, err := awsclient.KMS(e.root(dst.Account, dst.Region)).GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(e.keyARN(t, dst)), PolicyName: aws.String("default")})
	must(t, err)
	tg, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(dst.Bucket)})
	must(t, err)
	return aws.ToString(bp.Policy), aws.ToString(kp.Policy), len(tg.TagSet)
}

// replicatesUnder puts an object under the pair's prefix and reports whether its replica
// arrived, marked REPLICA and encrypted with the destination key, with the simulator's
// reason if not.
func (e *localEnv) replicatesUnder(t testing.TB, r spec.Request, dstKey, name string) (bool, string) {
	t.Helper()
	key := r.Rule.Prefix + name
	put := e.putAndWait(t, r, key, "")
	status, code, detail, _ := e.srv.ObjectReplication(r.Source.Bucket, key, aws.ToString(put.VersionId))
	if status != "COMPLETED" {
		return false, fmt.Sprintf("%s %s %s", status, code, detail)
	}
	head, err := awsclient.S3(e.root(r.Destination.Account, r.Destination.Region)).HeadObject(context.Background(), &s3.HeadObjectInput{
		Bucket: aws.String(r.Destination.Bucket), Key: aws.String(key), VersionId: put.VersionId})
	if err != nil {
		return false, err.Error()
	}
	if head.ReplicationStatus != s3types.ReplicationStatusReplica {
		return false, fmt.Sprintf("the destination's copy has replication status %q, want REPLICA", head.ReplicationStatus)
	}
	if head.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms || aws.ToString(head.SSEKMSKeyId) != dstKey {
		return false, fmt.Sprintf("replica encrypted %s with %s, want the destination key %s", head.ServerSideEncryption, aws.ToString(head.SSEKMSKeyId), dstKey)
	}
	return true, ""
}

// TestFanInPastTheOldWalls: 120 sources in five accounts into one bucket and key pass
// every wall today's per-pair grants hit (50 tags, ~80 statements in 20 KB and 32 KB):
// the policies stay within the limits, a sample replicates object by object under the
// destination key, a re-run makes no mutating call, and tearing one pair down leaves the
// others replicating; the last pair of an account takes its account out of the grants.
func TestFanInPastTheOldWalls(t *testing.T) {
	const n = 120
	env := newFanInEnv(t, "")
	var reqs []spec.Request
	for i := range n {
		account := fanInSources[i%len(fanInSources)]
		if i == n-1 {
			account = fanInLoner
		}
		reqs = append(reqs, env.provisionFanIn(t, fanInRequest(t, i, account)))
	}
	dst := reqs[0].Destination
	dstKey := env.keyARN(t, dst)
	bp, kp, tags := env.destinationDocs(t, dst)
	t.Logf("after %d pairs: bucket policy %d bytes, key policy %d bytes, %d bucket tags", n, len(bp), len(kp), tags)
	if len(bp) > policy.MaxBucketPolicyBytes/4 || len(kp) > policy.MaxKeyPolicyBytes/4 || tags > 2 {
		t.Errorf("after %d pairs: bucket policy %d bytes, key policy %d bytes, %d tags; want a quarter of the limits at most and 2 tags", n, len(bp), len(kp), tags)
	}
	doc, err := policy.ParseDocument([]byte(bp))
	must(t, err)
	write, ok := policy.Find(doc, policy.SidReplicaWriteShared)
	if !ok {
		t.Fatalf("no shared grant in %s", bp)
	}
	share := policy.ShareOf(write)
	if !slices.Equal(share.Accounts, []string{localaws.SourceAccount, "333333333333", "444444444444", "555555555555", fanInLoner}) || len(share.Objects) != 5 {
		t.Errorf("shared grant admits %+v", share)
	}

	sample := []int{0, 1, 57, 118, n - 1}
	for _, i := range sample {
		if ok, why := env.replicatesUnder(t, reqs[i], dstKey, "before.txt"); !ok {
			t.Errorf("pair %s does not replicate: %s", reqs[i].PairID, why)
		}
	}

	// A converged pair, first or last, re-runs without a single write.
	for _, i := range []int{0, n - 1} {
		env.srv.ResetCalls()
		res := env.apply(t, fanInRequest(t, i, reqs[i].Source.Account))
		if c, m := countChanges(res), env.srv.MutatingCalls(""); c != 0 || m != 0 {
			t.Errorf("re-run of %s: %d changes, %d mutating calls: %v", reqs[i].PairID, c, m, summarize(res))
		}
	}

	// Tear down pair 1: its account has other pairs, so the grants keep it.
	gone := reqs[1]
	if _, err := env.svc.Destroy(context.Background(), fanInRequest(t, 1, gone.Source.Account), DestroyOptions{}, false); err != nil {
		t.Fatal(err)
	}
	env.svc.cfg.Registry.(*memRegistry).unregister(gone.PairID)
	bp2, kp2, _ := env.destinationDocs(t, dst)
	if bp2 != bp || kp2 != kp {
		t.Errorf("destroying one of %d pairs whose account has others changed the shared grants:\n%s\n%s", n, bp2, kp2)
	}
	// Tear down the loner: its account goes from both grants.
	loner := reqs[n-1]
	if _, err := env.svc.Destroy(context.Background(), fanInRequest(t, n-1, fanInLoner), DestroyOptions{}, false); err != nil {
		t.Fatal(err)
	}
	env.svc.cfg.Registry.(*memRegistry).unregister(loner.PairID)
	bp3, kp3, _ := env.destinationDocs(t, dst)
	for _, d := range []string{bp3, kp3} {
		if strings.Contains(d, fanInLoner) || !strings.Contains(d, localaws.SourceAccount) {
			t.Errorf("after the loner's teardown: %s", d)
		}
	}
	for _, i := range []int{0, 57, 118} {
		if ok, why := env.replicatesUnder(t, reqs[i], dstKey, "after.txt"); !ok {
			t.Errorf("pair %s stopped replicating after another pair's teardown: %s", reqs[i].PairID, why)
		}
	}
	// The torn-down pair's rule is gone, so its objects stay where they are.
	if ok, _ := env.replicatesUnder(t, gone, dstKey, "after.txt"); ok {
		t.Errorf("pair %s still replicates after its teardown", gone.PairID)
	}
	// A second teardown finds nothing of the pair's.
	env.srv.ResetCalls()
	if res, err := env.svc.Destroy(context.Background(), fanInRequest(t, 1, gone.Source.Account), DestroyOptions{}, false); err != nil || countChanges(res) != 0 || env.srv.MutatingCalls("") != 0 {
		t.Errorf("second teardown: %v, %d changes, %d mutating calls", err, countChanges(res), env.srv.MutatingCalls(""))
	}
}

// TestFanInOrganizationGrantIsConstant: with organizationId the shared grants name the
// organization, not the accounts, and replication works from every account of it.
func TestFanInOrganizationGrantIsConstant(t *testing.T) {
	const org = "o-a1b2c3d4e5"
	env := newFanInEnv(t, org)
	var reqs []spec.Request
	for i, a := range append([]string{fanInLoner}, fanInSources...) {
		reqs = append(reqs, env.provisionFanIn(t, fanInRequest(t, i, a)))
	}
	bp, kp, _ := env.destinationDocs(t, reqs[0].Destination)
	for _, d := range []string{bp, kp} {
		if !strings.Contains(d, org) || strings.Contains(d, policy.KeyPrincipalAccount) {
			t.Errorf("the shared grant does not name the organization alone: %s", d)
		}
	}
	dstKey := env.keyARN(t, reqs[0].Destination)
	for _, r := range reqs {
		if ok, why := env.replicatesUnder(t, r, dstKey, "org.txt"); !ok {
			t.Errorf("pair %s does not replicate: %s", r.PairID, why)
		}
	}
}

// TestFanInMigratesPerPairGrants: a destination provisioned by an earlier version (a
// statement per pair in both policies, a tag per pair on the bucket) converges when any
// of its pairs re-runs: the shared grants take over every s3crr per-pair statement they
// can read, which go, with the per-pair tags; foreign statements and tags stay, the old
// pairs keep replicating, and a second re-run writes nothing.
func TestFanInMigratesPerPairGrants(t *testing.T) {
	env := newFanInEnv(t, "")
	ctx := context.Background()
	a := env.provisionFanIn(t, fanInRequest(t, 0, localaws.SourceAccount))
	b := env.provisionFanIn(t, fanInRequest(t, 1, "333333333333"))
	dst := a.Destination
	dstKey := env.keyARN(t, dst)
	c := awsclient.S3(env.root(dst.Account, dst.Region))
	k := awsclient.KMS(env.root(dst.Account, dst.Region))

	// Rewrite the destination as an earlier version left it, written by hand: per-pair
	// statements (Sid, role ARN, the pair's objects), per-pair tags, plus the owner's own.
	legacy := func(r spec.Request) policy.ReplicationParams {
		return policy.ReplicationParams{PairID: r.PairID, SourceAccount: r.Source.Account, DestinationAccount: dst.Account, DestinationRegion: dst.Region,
			DestinationBucket: dst.Bucket, DestinationKeyARN: dstKey, Prefix: r.Rule.Prefix, RoleARN: r.ReplicationRoleARN()}
	}
	foreign := policy.Statement{Sid: "AuditorRead", Effect: policy.Allow, Principal: policy.AWSPrincipal(policy.AccountRootARN("999999999999")),
		Action: []string{"s3:GetObject"}, Resource: []string{policy.ObjectsARN(dst.Bucket, "audit/")}}
	bucketDoc := policy.Document{Version: policy.Version, Statement: []policy.Statement{policy.DenyInsecureTransport(dst.Bucket), foreign}}
	keyDoc := policy.DefaultKeyPolicy(dst.Account)
	for _, r := range []spec.Request{a, b} {
		bucketDoc.Statement = append(bucketDoc.Statement, policy.DestinationBucketStatements(legacy(r))...)
		keyDoc.Statement = append(keyDoc.Statement, policy.DestinationKeyStatements(legacy(r))...)
	}
	must(t, call(c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(dst.Bucket), Policy: aws.String(string(bucketDoc.JSON()))})))
	must(t, call(k.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(dstKey), PolicyName: aws.String("default"), Policy: aws.String(string(keyDoc.JSON()))})))
	must(t, call(c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(dst.Bucket), Tagging: &s3types.Tagging{TagSet: []s3types.Tag{
		{Key: aws.String(names.ManagedByTagKey), Value: aws.String(names.ManagedByTagValue)},
		{Key: aws.String(names.PairTagKey(a.PairID)), Value: aws.String(SideDestination)},
		{Key: aws.String(names.PairTagKey(b.PairID)), Value: aws.String(SideDestination)},
		{Key: aws.String("team"), Value: aws.String("archive")},
	}}})))
	for _, r := range []spec.Request{a, b} {
		if ok, why := env.replicatesUnder(t, r, dstKey, "legacy.txt"); !ok {
			t.Fatalf("the hand-written legacy grants do not work for %s: %s", r.PairID, why)
		}
	}

	// A third pair arrives; its run migrates the destination.
	third := env.provisionFanIn(t, fanInRequest(t, 2, "444444444444"))
	bp, kp, _ := env.destinationDocs(t, dst)
	for _, r := range []spec.Request{a, b} {
		for _, sid := range []string{policy.SidFor(r.PairID, policy.PurposeReplicaWrite), policy.SidFor(r.PairID, policy.PurposeReplicaEncrypt)} {
			if strings.Contains(bp+kp, sid) {
				t.Errorf("per-pair statement %s is still there", sid)
			}
		}
	}
	if !strings.Contains(bp, "AuditorRead") || !strings.Contains(bp, policy.SidDenyInsecureTransport) || !strings.Contains(kp, policy.DefaultKeyPolicySid) {
		t.Errorf("foreign or bucket-wide statements lost:\n%s\n%s", bp, kp)
	}
	tg, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(dst.Bucket)})
	must(t, err)
	var tagKeys []string
	for _, tag := range tg.TagSet {
		tagKeys = append(tagKeys, aws.ToString(tag.Key))
	}
	slices.Sort(tagKeys)
	if want := []string{names.ManagedByTagKey, names.PairIDTagKey, "team"}; !slices.Equal(tagKeys, want) {
		t.Errorf("destination tags %v, want %v", tagKeys, want)
	}
	for _, r := range []spec.Request{a, b, third} {
		if ok, why := env.replicatesUnder(t, r, dstKey, "migrated.txt"); !ok {
			t.Errorf("pair %s does not replicate after the migration: %s", r.PairID, why)
		}
	}
	env.srv.ResetCalls()
	if res := env.apply(t, fanInRequest(t, 0, localaws.SourceAccount)); countChanges(res) != 0 || env.srv.MutatingCalls("") != 0 {
		t.Errorf("re-run after the migration: %v", summarize(res))
	}
}
