package provision

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/s3crr/s3crr/internal/lease"
	"github.com/s3crr/s3crr/internal/localaws"
)

// noLeases takes every lease at once and never holds anything: what the stages cost
// without serialisation (the read-backs stay).
type noLeases struct{}

func (noLeases) Acquire(context.Context, lease.Lease) error { return nil }
func (noLeases) Release(context.Context, lease.Lease) error { return nil }

// BenchmarkLeaseCost measures what the leases add to one pair's run, in the steady state
// of a fan-in (the destination bucket and key exist, other pairs' grants in them): each
// iteration provisions a new pair into the shared destination, stage by stage, with the
// lease table in kumo's DynamoDB (the deployed store, over HTTP) and, for comparison,
// with no lease at all. It logs, per stage, the member-account calls (reads/writes), the
// documents the stage wrote under a lease (each costs one read-back read), and the lease
// table calls, and reports the wall time per pair of both. scripts/bench-lease.sh runs it.
func BenchmarkLeaseCost(b *testing.B) {
	type stageCost struct{ reads, writes, leaseCalls, written int }
	for _, mode := range []string{"none", "dynamodb"} {
		b.Run(mode, func(b *testing.B) {
			env := newLocalEnv(b, localaws.Options{})
			var rec *recordingLeaseDB
			switch mode {
			case "none":
				env.svc.cfg.Leases = noLeases{}
			case "dynamodb":
				store := kumoLeases(b, nil)
				rec = &recordingLeaseDB{API: store.DB, tableARN: "lease-table"}
				store.DB = rec
				env.svc.cfg.Leases = store
			}
			env.apply(b, faninRequest("bench-first"))
			env.apply(b, faninRequest("bench-second"))
			costs := map[string]*stageCost{}
			var order []string
			var wall time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req := faninRequest(fmt.Sprintf("bench-%s-%d", mode, i))
				for _, stg := range Stages {
					for _, side := range stg.Sides {
						label := stageLabel(stg.Name, side)
						c := costs[label]
						if c == nil {
							c = &stageCost{}
							costs[label] = c
							order = append(order, label)
						}
						env.srv.ResetCalls()
						leaseBefore := 0
						if rec != nil {
							leaseBefore = len(rec.calls)
						}
						start := time.Now()
						res, err := env.svc.Run(context.Background(), Event{Stage: stg.Name, Side: side, Request: req})
						wall += time.Since(start)
						if err != nil {
							b.Fatalf("%s: %v", label, err)
						}
						for _, cc := range env.srv.Calls() {
							if cc.Account == localaws.HubAccount {
								continue
							}
							if cc.Mutating {
								c.writes += cc.Count
							} else {
								c.reads += cc.Count
							}
						}
						if rec != nil {
							c.leaseCalls += len(rec.calls) - leaseBefore
						}
						for _, ch := range res.Changes {
							if leasedChange(ch.Action) {
								c.written++
							}
						}
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(wall.Milliseconds())/float64(b.N), "ms/pair")
			var sb strings.Builder
			fmt.Fprintf(&sb, "per pair (%s), mean of %d: stage | member reads | member writes | shared docs written (1 read-back each) | lease calls\n", mode, b.N)
			var tot stageCost
			for _, label := range order {
				c := costs[label]
				if c.reads+c.writes+c.leaseCalls == 0 {
					continue
				}
				fmt.Fprintf(&sb, "  %-26s %5.1f %5.1f %5.1f %5.1f\n", label, per(c.reads, b.N), per(c.writes, b.N), per(c.written, b.N), per(c.leaseCalls, b.N))
				tot.reads, tot.writes, tot.written, tot.leaseCalls = tot.reads+c.reads, tot.writes+c.writes, tot.written+c.written, tot.leaseCalls+c.leaseCalls
			}
			fmt.Fprintf(&sb, "  %-26s %5.1f %5.1f %5.1f %5.1f\n  wall time per pair: %.1f ms", "total", per(tot.reads, b.N), per(tot.writes, b.N), per(tot.written, b.N), per(tot.leaseCalls, b.N),
				float64(wall.Microseconds())/1000/float64(b.N))
			fmt.Println(sb.String())
		})
	}
}

func per(n, iterations int) float64 { return float64(n) / float64(iterations) }

// leasedChange reports whether a change is a write of a shared document (withLease's).
func leasedChange(action string) bool {
	switch action {
	case "merge bucket policy", "merge key policy", "put role policy", "merge replication rule", "subscribe replication events", "tag":
		return true
	}
	return false
}
