package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3crr/s3crr/internal/names"
)

// foreignLifecycleRules are rules someone else put on the bucket, with elements s3crr
// never writes, so that "kept" means every element, not only the ID.
func foreignLifecycleRules() []s3types.LifecycleRule {
	return []s3types.LifecycleRule{
		{ID: aws.String("logs-to-ia"), Status: s3types.ExpirationStatusEnabled, Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String("logs/")},
			Transitions: []s3types.Transition{{Days: aws.Int32(30), StorageClass: s3types.TransitionStorageClassStandardIa}}},
		{ID: aws.String("tmp"), Status: s3types.ExpirationStatusDisabled, Filter: &s3types.LifecycleRuleFilter{Tag: &s3types.Tag{Key: aws.String("tmp"), Value: aws.String("yes")}},
			Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(7)}, NoncurrentVersionExpiration: &s3types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(3), NewerNoncurrentVersions: aws.Int32(2)}},
	}
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The bucket stage merges the pair's canary rule into the lifecycle configuration by ID:
// every foreign rule is written back whole and in place, a re-run changes nothing, a
// drifted rule is put back, and a bucket at S3's 1,000-rule limit is a Conflict naming
// the fix. Teardown removes only the pair's rule, and deletes the configuration only when
// that rule was its last.
func TestCanaryLifecycleRuleIsMergedAndRemovedByID(t *testing.T) {
	req := requestJSON(t)
	// The sample request's rule prefix is "": the bucket's one rule for .s3crr-canary/.
	id := names.CanaryLifecycleRuleID(".s3crr-canary/")
	if id != "s3crr-canary-expiry" {
		t.Fatalf("rule ID for the empty prefix = %q", id)
	}
	ours := func(b *fakeBucket) *s3types.LifecycleRule {
		for i := range b.lifecycle {
			if aws.ToString(b.lifecycle[i].ID) == id {
				return &b.lifecycle[i]
			}
		}
		return nil
	}

	t.Run("merged into foreign rules", func(t *testing.T) {
		env := newFakeEnv(t)
		b := env.addBucket(env.src, "payments-src")
		b.versioning = s3types.BucketVersioningStatusEnabled
		b.lifecycle = foreignLifecycleRules()
		res := env.mustRun(t, names.StageBucket, SideSource, req)
		if !slices.Contains(changeActions(res), "add lifecycle rule") {
			t.Errorf("changes = %q, want the lifecycle rule added", changeActions(res))
		}
		if len(b.lifecycle) != 3 || asJSON(t, b.lifecycle[:2]) != asJSON(t, foreignLifecycleRules()) {
			t.Fatalf("rules after the merge = %s, want the two foreign rules unchanged, then s3crr's", asJSON(t, b.lifecycle))
		}
		r := ours(b)
		if r == nil || aws.ToString(r.Filter.Prefix) != ".s3crr-canary/" || r.Status != s3types.ExpirationStatusEnabled ||
			aws.ToInt32(r.Expiration.Days) != 1 || r.Expiration.ExpiredObjectDeleteMarker != nil ||
			aws.ToInt32(r.NoncurrentVersionExpiration.NoncurrentDays) != 1 || aws.ToInt32(r.AbortIncompleteMultipartUpload.DaysAfterInitiation) != 1 {
			t.Errorf("s3crr's rule = %s", asJSON(t, r))
		}

		env.log.reset()
		if res := env.mustRun(t, names.StageBucket, SideSource, req); slices.Contains(changeActions(res), "add lifecycle rule") || len(env.log.mutating()) != 0 {
			t.Errorf("re-run: changes %q, mutating calls %q; want none", changeActions(res), env.log.mutating())
		}

		// Someone shortened it to nothing useful: put back, the others untouched.
		r.Expiration = &s3types.LifecycleExpiration{Days: aws.Int32(365)}
		res = env.mustRun(t, names.StageBucket, SideSource, req)
		if !slices.Contains(changeActions(res), "update lifecycle rule") || aws.ToInt32(ours(b).Expiration.Days) != 1 ||
			asJSON(t, b.lifecycle[:2]) != asJSON(t, foreignLifecycleRules()) {
			t.Errorf("drifted rule: changes %q, rules %s", changeActions(res), asJSON(t, b.lifecycle))
		}

		res = env.mustRun(t, names.StageDestroyBucket, SideSource, req)
		if !slices.Contains(changeActions(res), "remove lifecycle rule") || ours(b) != nil || asJSON(t, b.lifecycle) != asJSON(t, foreignLifecycleRules()) {
			t.Errorf("destroy: changes %q, rules %s; want only s3crr's rule gone", changeActions(res), asJSON(t, b.lifecycle))
		}
		env.log.reset()
		if res := env.mustRun(t, names.StageDestroyBucket, SideSource, req); len(changeActions(res)) != 0 || len(env.log.mutating()) != 0 {
			t.Errorf("second destroy: changes %q, mutating %q", changeActions(res), env.log.mutating())
		}
	})

	t.Run("the only rule: destroy deletes the configuration", func(t *testing.T) {
		env := newFakeEnv(t)
		env.mustRun(t, names.StageBucket, SideSource, req)
		b := env.bucket(t, "payments-src")
		if len(b.lifecycle) != 1 || ours(b) == nil {
			t.Fatalf("new bucket's rules = %s, want s3crr's alone", asJSON(t, b.lifecycle))
		}
		res := env.mustRun(t, names.StageDestroyBucket, SideSource, req)
		if !slices.Contains(changeActions(res), "delete lifecycle configuration") || b.lifecycle != nil || env.log.count("DeleteBucketLifecycle") != 1 {
			t.Errorf("destroy: changes %q, rules %s", changeActions(res), asJSON(t, b.lifecycle))
		}
	})

	// On the destination the rule is shared by every pair into the bucket under the same
	// prefix (a fan-in): teardown removes it only when the registry shows none is left.
	t.Run("destination rule shared by prefix", func(t *testing.T) {
		env := newFakeEnv(t)
		env.mustRun(t, names.StageBucket, SideDestination, req)
		b := env.bucket(t, "payments-dst")
		other := RegisteredPair{PairID: "other-pair", DestinationAccount: fakeDstAccount, DestinationBucket: "payments-dst"}
		reg := &memRegistry{}
		for _, tt := range []struct {
			name     string
			registry Registry
			others   []RegisteredPair
			kept     bool
			warning  string
		}{
			{"no registry", nil, nil, true, "no pairs registry"},
			{"another pair, same prefix", reg, []RegisteredPair{other}, true, "pair other-pair replicates into it"},
			{"another pair, another prefix", reg, []RegisteredPair{{PairID: "third", DestinationAccount: fakeDstAccount, DestinationBucket: "payments-dst", Prefix: "logs/"}}, false, ""},
		} {
			reg.pairs = nil
			for _, o := range tt.others {
				reg.register(o)
			}
			env.svc.cfg.Registry = tt.registry
			res := env.mustRun(t, names.StageDestroyBucket, SideDestination, req)
			if gotKept := ours(b) != nil; gotKept != tt.kept || (tt.warning != "" && !strings.Contains(strings.Join(res.Warnings, "\n"), tt.warning)) {
				t.Errorf("%s: kept %t (warnings %q), want kept %t warning %q", tt.name, gotKept, res.Warnings, tt.kept, tt.warning)
			}
		}
	})

	t.Run("1,000 rules already", func(t *testing.T) {
		env := newFakeEnv(t)
		b := env.addBucket(env.src, "payments-src")
		b.versioning = s3types.BucketVersioningStatusEnabled
		for i := range maxLifecycleRules {
			b.lifecycle = append(b.lifecycle, s3types.LifecycleRule{ID: aws.String(fmt.Sprintf("r%d", i)), Status: s3types.ExpirationStatusEnabled,
				Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String(fmt.Sprintf("p%d/", i))}, Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(30)}})
		}
		_, err := env.run(t, names.StageBucket, SideSource, req)
		var c *Conflict
		if !errors.As(err, &c) || len(b.lifecycle) != maxLifecycleRules {
			t.Fatalf("err = %v (rules %d), want a Conflict and nothing written", err, len(b.lifecycle))
		}
		for _, want := range []string{"payments-src", "1000 lifecycle rules", "fix:"} {
			if !strings.Contains(c.Message, want) {
				t.Errorf("conflict %q does not say %q", c.Message, want)
			}
		}
	})
}
