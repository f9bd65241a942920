package provision

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/policy"
	"github.com/s3crr/s3crr/internal/spec"
)

// BenchmarkFanIn provisions FANIN_PAIRS (default 1000) pairs from FANIN_ACCOUNTS (default
// 10) source accounts into one destination bucket and key on the simulator, through the
// same stages as the state machine, and reports after 1, 10, 100, ... pairs the
// destination bucket policy's and key policy's bytes and the bucket's tag count, and the
// API calls of the last pair (reads and writes); then the evidence that the pairs work at
// that size (fanInEvidence). scripts/bench-fanin.sh prints the table and the evidence.
func BenchmarkFanIn(b *testing.B) {
	pairs := envInt("FANIN_PAIRS", 1000)
	nAccounts := envInt("FANIN_ACCOUNTS", 10)
	var sources []string
	for i := range nAccounts {
		sources = append(sources, fmt.Sprintf("7%011d", i+1))
	}
	members := append([]string{localaws.DestinationAccount}, sources...)
	for range b.N {
		env := newLocalEnvWith(b, localaws.Options{Accounts: append([]string{localaws.HubAccount}, members...)}, members, "")
		var reqs []spec.Request
		b.Logf("%-6s %-22s %-19s %-11s %-12s %s", "pairs", "bucket policy bytes", "key policy bytes", "bucket tags", "calls/pair", "writes/pair")
		next := 1
		for i := range pairs {
			env.srv.ResetCalls()
			r := env.provisionFanIn(b, fanInRequest(b, i, sources[i%len(sources)]))
			reqs = append(reqs, r)
			calls := 0
			for _, c := range env.srv.Calls() {
				calls += c.Count
			}
			if i+1 == next || i+1 == pairs {
				bp, kp, tags := env.destinationDocs(b, r.Destination)
				b.Logf("%-6d %-22d %-19d %-11d %-12d %d", i+1, len(bp), len(kp), tags, calls, env.srv.MutatingCalls(""))
				b.ReportMetric(float64(len(bp)), "bucket-policy-bytes")
				b.ReportMetric(float64(len(kp)), "key-policy-bytes")
				b.ReportMetric(float64(calls), "calls/pair")
				next *= 10
			}
		}
		env.fanInEvidence(b, reqs, envInt("FANIN_SAMPLE_EVERY", 50))
	}
	// Without organizationId the grants list the source accounts: how many fit.
	fit := func(limit int, size func(policy.Share) int) int {
		s := policy.Share{}.With("100000000000", policy.ObjectsARN("central-archive", "acct-/"))
		n := 1
		for ; size(s.With(fmt.Sprintf("1%011d", n), policy.ObjectsARN("central-archive", "acct-/"))) <= limit; n++ {
			s = s.With(fmt.Sprintf("1%011d", n), policy.ObjectsARN("central-archive", "acct-/"))
		}
		return n
	}
	bucket := fit(policy.MaxBucketPolicyBytes, func(s policy.Share) int {
		return len(policy.Document{Version: policy.Version, Statement: []policy.Statement{policy.DenyInsecureTransport("central-archive"), policy.SharedReplicaWriteStatement(s, false)}}.JSON())
	})
	key := fit(policy.MaxKeyPolicyBytes, func(s policy.Share) int {
		d, _ := policy.Merge(policy.DefaultKeyPolicy(localaws.DestinationAccount), []policy.Statement{policy.SharedReplicaEncryptStatement("us-east-1", s)})
		return len(d.JSON())
	})
	b.Logf("source accounts that fit without organizationId (one prefix): bucket policy %d, key policy %d; with organizationId: no limit by account", bucket, key)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
