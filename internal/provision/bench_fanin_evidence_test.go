package provision

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// maxRoleInlinePolicyChars is IAM's quota on a role's inline policies together, white
// space not counted (docs/aws-facts.md#F-IAM-QUOTAS).
const maxRoleInlinePolicyChars = 10240

// fanInEvidence proves a fan-in at full size works, as the many-pairs evidence asks: one
// pair in every sampleEvery (and the last) puts an object whose copy must arrive in the shared
// destination bucket as a REPLICA under the destination key; every policy the sampled pairs
// depend on is within its AWS limit; one pair outside the sample is torn down, after which
// the sample still replicates, the torn-down pair does not, and a re-run of the first and
// the last pair makes no mutating call. It logs each result and fails the benchmark on any
// miss, so scripts/bench-fanin.sh prints it and exits non-zero.
func (e *localEnv) fanInEvidence(b *testing.B, reqs []spec.Request, sampleEvery int) {
	b.Helper()
	n := len(reqs)
	if n < 3 {
		b.Logf("evidence: needs 3 pairs or more, have %d", n)
		return
	}
	var sample []int
	for i := 0; i < n; i += sampleEvery {
		sample = append(sample, i)
	}
	if sample[len(sample)-1] != n-1 {
		sample = append(sample, n-1)
	}
	gone := 1 // outside the sample unless every pair is sampled
	if sampleEvery == 1 {
		sample = append(sample[:1], sample[2:]...)
	}
	dst := reqs[0].Destination
	dstKey := e.keyARN(b, dst)

	replicating := func(name string) int {
		ok := 0
		for _, i := range sample {
			if good, why := e.replicatesUnder(b, reqs[i], dstKey, name); good {
				ok++
			} else {
				b.Errorf("pair %s (%d of %d): %s", reqs[i].PairID, i+1, n, why)
			}
		}
		return ok
	}
	ok := replicating("sample-before.txt")
	b.Logf("evidence: %d of %d sampled pairs (one in %d, and the last) replicate, each replica REPLICA under the destination key", ok, len(sample), sampleEvery)

	// Every policy the sample depends on, against its limit.
	bp, kp, tags := e.destinationDocs(b, dst)
	worst := map[string][2]int{
		"destination bucket policy (bytes)": {len(bp), policy.MaxBucketPolicyBytes},
		"destination key policy (bytes)":    {len(kp), policy.MaxKeyPolicyBytes},
		"destination bucket tags":           {tags, 50},
	}
	for _, i := range sample {
		for what, size := range e.sourcePolicySizes(b, reqs[i]) {
			if size[0] > worst[what][0] {
				worst[what] = size
			}
		}
	}
	within := 0
	for _, what := range []string{"destination bucket policy (bytes)", "destination key policy (bytes)", "destination bucket tags",
		"source bucket policy (bytes)", "source key policy (bytes)", "replication role inline policies (chars)"} {
		w := worst[what]
		verdict := "within"
		if w[0] > w[1] {
			verdict = "OVER"
			b.Errorf("%s: %d, limit %d", what, w[0], w[1])
		} else {
			within++
		}
		b.Logf("evidence: largest %-41s %6d of %6d: %s", what, w[0], w[1], verdict)
	}

	// Tear one pair down; the others keep replicating.
	ctx := context.Background()
	e.srv.ResetCalls()
	if _, err := e.svc.Destroy(ctx, fanInRequest(b, gone, reqs[gone].Source.Account), DestroyOptions{}, false); err != nil {
		b.Fatalf("tear down %s: %v", reqs[gone].PairID, err)
	}
	e.svc.cfg.Registry.(*memRegistry).unregister(reqs[gone].PairID)
	teardownWrites := e.srv.MutatingCalls("")
	bp2, kp2, _ := e.destinationDocs(b, dst)
	if bp2 != bp || kp2 != kp {
		b.Errorf("tearing down %s, whose account has other pairs, changed the shared grants", reqs[gone].PairID)
	}
	ok = replicating("sample-after.txt")
	stillGone, _ := e.replicatesUnder(b, reqs[gone], dstKey, "sample-after.txt")
	if stillGone {
		b.Errorf("pair %s still replicates after its teardown", reqs[gone].PairID)
	}
	b.Logf("evidence: tore down %s (%d writes, shared grants unchanged: %t); then %d of %d sampled pairs replicate, the torn-down pair replicates: %t",
		reqs[gone].PairID, teardownWrites, bp2 == bp && kp2 == kp, ok, len(sample), stillGone)

	// A converged pair re-runs without a single write.
	for _, i := range []int{0, n - 1} {
		e.srv.ResetCalls()
		res := e.apply(b, fanInRequest(b, i, reqs[i].Source.Account))
		calls := 0
		for _, c := range e.srv.Calls() {
			calls += c.Count
		}
		changes, writes := countChanges(res), e.srv.MutatingCalls("")
		if changes != 0 || writes != 0 {
			b.Errorf("re-run of %s: %d changes, %d mutating calls: %v", reqs[i].PairID, changes, writes, summarize(res))
		}
		b.Logf("evidence: re-run of %s after the teardown: %d calls, %d mutating, %d changes", reqs[i].PairID, calls, writes, changes)
	}
}

// sourcePolicySizes measures the source side's documents of pair r against their limits
// (size, limit): the source bucket policy and key policy, and the replication role's
// inline policies together.
func (e *localEnv) sourcePolicySizes(b *testing.B, r spec.Request) map[string][2]int {
	b.Helper()
	ctx := context.Background()
	cfg := e.root(r.Source.Account, r.Source.Region)
	out := map[string][2]int{}
	bucketPolicy := 0
	bp, err := awsclient.S3(cfg).GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(r.Source.Bucket)})
	switch {
	case err == nil:
		bucketPolicy = len(aws.ToString(bp.Policy))
	case !awsclient.IsNotFound(err):
		b.Fatalf("read %s's bucket policy: %v", r.Source.Bucket, err)
	}
	out["source bucket policy (bytes)"] = [2]int{bucketPolicy, policy.MaxBucketPolicyBytes}
	kp, err := awsclient.KMS(cfg).GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(e.keyARN(b, r.Source)), PolicyName: aws.String("default")})
	if err != nil {
		b.Fatalf("read %s's source key policy: %v", r.PairID, err)
	}
	out["source key policy (bytes)"] = [2]int{len(aws.ToString(kp.Policy)), policy.MaxKeyPolicyBytes}
	c := awsclient.IAM(cfg)
	role := r.ReplicationRoleName()
	listed, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	if err != nil {
		b.Fatalf("list %s's inline policies: %v", role, err)
	}
	chars := 0
	for _, name := range listed.PolicyNames {
		p, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name)})
		if err != nil {
			b.Fatalf("read %s's policy %s: %v", role, name, err)
		}
		doc, err := url.QueryUnescape(aws.ToString(p.PolicyDocument))
		if err != nil {
			b.Fatalf("decode %s's policy %s: %v", role, name, err)
		}
		chars += len(strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) {
				return -1
			}
			return r
		}, doc))
	}
	out["replication role inline policies (chars)"] = [2]int{chars, maxRoleInlinePolicyChars}
	if chars == 0 {
		b.Errorf("%s: the replication role %s has no inline policy", r.PairID, role)
	}
	return out
}
