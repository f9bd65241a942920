package localaws

import (
	"context"
	"time"
)

// The replication engine. S3 replicates asynchronously: a write that a rule selects marks the
// new version PENDING and queues work; the work runs after Options.ReplicationDelay in its
// own goroutine, re-reads the state under s.mu, checks every permission S3 checks as the
// replication role (replication_process.go), and either writes the replica (COMPLETED) or
// records the documented failure code (FAILED) and emits the failure event (events.go).

// Replication status values, as S3 reports them in x-amz-replication-status.
const (
	replPending   = "PENDING"
	replCompleted = "COMPLETED"
	replFailed    = "FAILED"
	replReplica   = "REPLICA"
)

// maxLatencySamples bounds the latencies kept for benchmarks, so a long-running
// `crr local serve` does not grow without limit.
const maxLatencySamples = 1 << 16

// replicationWork is the replication engine's bookkeeping inside Server (guarded by s.mu).
type replicationWork struct {
	// pending counts queued and running tasks; WaitIdle waits for it to reach zero.
	pending int
	// progress tracks versions replicating to several destinations: the source status is
	// COMPLETED only when every destination succeeded (S3's multi-destination rule).
	progress map[*objectVersion]*versionProgress
	// seq numbers events, for the "sequencer" field.
	seq uint64
	// latencies are wall-clock durations from scheduling to a successful replica, newest
	// last, for BenchmarkReplication.
	latencies []time.Duration
}

// versionProgress is the outcome so far of one version's replication to its destinations.
type versionProgress struct {
	remaining int
	failure   string // first failure code, "" while every finished task succeeded
	detail    string
}

// replicationTask is one version to replicate to one destination, as selected when it was
// written. Only names are kept: the task re-reads everything under s.mu when it runs,
// because configuration, policies and keys may change in between, as in S3.
type replicationTask struct {
	bucket, key, versionID string
	ruleID                 string
	destBucket             string
	v                      *objectVersion // identity of the version, for progress
	// tagsOnly is a task for a tag change on a version that has already replicated: S3
	// replicates the new tag set onto the existing replica (replication_tags.go).
	tagsOnly bool
	// replicaSync is a tagsOnly task for a tag change on a replica, replicated back to its
	// source by a rule with replica modification sync (scheduleReplicaSync): the replica
	// keeps its REPLICA status, so no progress is tracked on it.
	replicaSync bool
	requestTime time.Time // s.now() when the write happened (event requestTime)
	queued      time.Time // wall clock, for latency
}

// scheduleReplication queues replication of a new version (or delete marker) of an object
// in bucket b, if b's replication configuration selects it; it sets the version's status to
// PENDING when it does. The S3 handlers call it after every PutObject and DeleteObject that
// creates a version, with s.mu held. Replicas (status REPLICA) are never replicated again.
func (s *Server) scheduleReplication(b *bucket, v *objectVersion) {
	if s.closed || b == nil || v == nil || b.replication == nil {
		return
	}
	// A replica is never replicated again, whatever rules its bucket has (no chains,
	// no ping-pong between two buckets replicating to each other); and a version that
	// already has a status was scheduled before.
	if v.replicationStatus != "" {
		return
	}
	s.replQueue(b, v, replSelectRules(b.replication, v), false)
}

// replQueue marks v PENDING and queues one task per rule, for the whole version or, with
// tagsOnly, for its tags. The caller holds s.mu.
func (s *Server) replQueue(b *bucket, v *objectVersion, rules []*replicationRule, tagsOnly bool) {
	if len(rules) == 0 {
		return
	}
	v.replicationStatus = replPending
	v.replicationFailure, v.replicationDetail = "", ""
	if s.repl.progress == nil {
		s.repl.progress = map[*objectVersion]*versionProgress{}
	}
	s.repl.progress[v] = &versionProgress{remaining: len(rules)}
	now, wall := s.now(), time.Now()
	for _, r := range rules {
		t := replicationTask{
			bucket: b.name, key: v.key, versionID: v.versionID,
			ruleID: r.id, destBucket: s3BucketNameFromARN(r.destBucketARN),
			v: v, requestTime: now, queued: wall, tagsOnly: tagsOnly,
		}
		s.repl.pending++
		go s.runReplication(t)
	}
}

// runReplication waits out the configured delay, processes the task under s.mu, and
// delivers the resulting events without the lock.
func (s *Server) runReplication(t replicationTask) {
	if d := s.opts.ReplicationDelay; d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-s.baseCtx.Done():
			timer.Stop()
		}
	}
	var events []Event
	s.mu.Lock()
	if s.baseCtx.Err() == nil {
		events = s.processReplication(t)
	}
	// A task dropped by Close leaves the version PENDING, as an S3 outage does.
	s.mu.Unlock()

	if sink := s.opts.EventSink; sink != nil {
		for _, e := range events {
			sink(e)
		}
	}

	s.mu.Lock()
	s.repl.pending--
	if s.repl.pending == 0 {
		s.cond.Broadcast()
	}
	s.mu.Unlock()
}

// replFinish records one destination's outcome on the source version, and sets the
// version's final status once every destination has finished. The caller holds s.mu.
func (s *Server) replFinish(t replicationTask, failure, detail string) {
	p := s.repl.progress[t.v]
	if p == nil {
		// The version's bookkeeping is gone (should not happen); fall back to this task.
		p = &versionProgress{remaining: 1}
	}
	p.remaining--
	if failure != "" && p.failure == "" {
		p.failure, p.detail = failure, detail
	}
	if p.remaining > 0 {
		return
	}
	delete(s.repl.progress, t.v)
	if p.failure != "" {
		t.v.replicationStatus = replFailed
		t.v.replicationFailure, t.v.replicationDetail = p.failure, p.detail
		return
	}
	t.v.replicationStatus = replCompleted
}

// WaitIdle blocks until no replication is pending or running, or ctx ends. Events of the
// finished work have been delivered to Options.EventSink when it returns nil.
func (s *Server) WaitIdle(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.repl.pending > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.cond.Wait()
	}
	return nil
}

// ObjectReplication reports the replication state of one version of an object (the latest
// version when versionID is ""): its status ("", PENDING, COMPLETED, FAILED or REPLICA), and
// for FAILED the documented failure code and the simulator's explanation (which permission
// or state check failed and why). These diagnostics are the simulator's own: S3 exposes only
// the status, and the code through failure events. ok is false when the version does not
// exist.
func (s *Server) ObjectReplication(bucketName, key, versionID string) (status, failureCode, detail string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.replFindVersion(bucketName, key, versionID)
	if v == nil {
		return "", "", "", false
	}
	return v.replicationStatus, v.replicationFailure, v.replicationDetail, true
}

// replicationLatencies returns the recorded wall-clock latencies of successful
// replications, oldest first.
func (s *Server) replicationLatencies() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.repl.latencies...)
}

// replRecordLatency keeps one latency sample. The caller holds s.mu.
func (s *Server) replRecordLatency(d time.Duration) {
	if len(s.repl.latencies) >= maxLatencySamples {
		s.repl.latencies = append(s.repl.latencies[:0], s.repl.latencies[len(s.repl.latencies)/2:]...)
	}
	s.repl.latencies = append(s.repl.latencies, d)
}

// replFindVersion finds a version of an object (the latest when versionID is ""), or nil.
// The caller holds s.mu.
func (s *Server) replFindVersion(bucketName, key, versionID string) *objectVersion {
	b := s.buckets[bucketName]
	if b == nil {
		return nil
	}
	return s3FindVersion(b, key, versionID)
}
