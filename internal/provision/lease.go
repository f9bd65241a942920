package provision

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/s3crr/s3crr/internal/lease"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// DocumentBusy means another s3crr run holds the lease on a document this stage must
// merge into (another pair's stage writing the same bucket policy, key policy,
// replication configuration...). Nothing was changed; the state machine retries it with
// backoff and full jitter, and the lease's expiry bounds the wait on a crashed holder.
type DocumentBusy struct{ Message string }

func (e *DocumentBusy) Error() string { return e.Message }

// DocumentChanged means s3crr wrote a document, read it back and did not find what it had
// just written, again after re-merging: someone who does not take s3crr's lease (a person,
// another tool) keeps rewriting it. Message names the document and what is missing. The
// state machine retries it a few times with backoff before the run fails.
type DocumentChanged struct{ Message string }

func (e *DocumentChanged) Error() string { return e.Message }

// mergeAttempts bounds the re-merges after a read-back that misses s3crr's entries, within
// one stage run (the state machine's retries come on top).
const mergeAttempts = 3

// DefaultLeaseDuration is how long a lease counts when Config.LeaseDuration is unset: far
// longer than a read-modify-write-read-back takes (a few calls), short enough that a
// crashed holder blocks the document for less than the state machine's DocumentBusy
// retries last (statemachine's tests hold the ASL to it).
const DefaultLeaseDuration = 2 * time.Minute

// LeasedStages are the stages that merge into a document other pairs also write, and so
// take its lease and may return DocumentBusy or DocumentChanged.
var LeasedStages = []string{names.StageBucket, names.StageRole, names.StageKeyPolicy, names.StageBucketPolicy, names.StageReplication, names.StageEvents,
	names.StageDestroyReplication, names.StageDestroyEvents, names.StageDestroyBucketPolicy, names.StageDestroyKeyPolicy, names.StageDestroyRole, names.StageDestroyBucket}

// sharedDocument is one document other pairs also write, as a stage merges into it.
type sharedDocument struct {
	// key is its lease key (lease.S3Document, lease.KeyPolicy, lease.RolePolicy).
	key string
	// merge reads the document, merges the pair's entries in and, when something was
	// missing, puts it through st.change. reread is true on a re-merge after a failed
	// read-back: the document must then be read even where the first merge could skip
	// the read (a bucket this run created).
	merge func(reread bool) error
	// missing reads the document back and lists what of the pair's entries it lacks
	// (for a removal: what of them it still holds).
	missing func() ([]string, error)
	// removal is true for a destroy stage taking the pair's entries out: the read-back
	// then looks for entries that came back, and the messages say so.
	removal bool
}

// withLease runs a shared document's merge under its lease and, when the merge wrote,
// reads it back: the lease keeps other s3crr runs out between read and put, the read-back
// catches writers that take no lease. Planning only reads, so it takes no lease.
func (st *stage) withLease(ctx context.Context, doc sharedDocument) error {
	if st.plan {
		return doc.merge(false)
	}
	// A first look without the lease, as planning does (reads only): a document that
	// already holds the pair's entries, as on every re-run of a converged pair, needs
	// neither the lease nor a write, so such a re-run makes no call to the lease table.
	if needed, err := st.mergeNeeded(doc); err != nil || !needed {
		return err
	}
	l := lease.Lease{
		Resource: doc.key,
		Owner:    lease.NewOwner("pair " + st.req.PairID + " stage " + stageLabel(st.res.Stage, st.res.Side)),
		Expires:  time.Now().Add(st.svc.cfg.LeaseDuration),
	}
	if err := st.svc.cfg.Leases.Acquire(ctx, l); err != nil {
		var held *lease.Held
		if errors.As(err, &held) {
			return &DocumentBusy{Message: held.Error() + "; retried"}
		}
		return err
	}
	// Released even when ctx is done (the Lambda's deadline), so the next run need not
	// wait for the expiry; a failed release only leaves the lease to expire.
	defer func() { _ = st.svc.cfg.Leases.Release(context.WithoutCancel(ctx), l) }()

	var missing []string
	for attempt := range mergeAttempts {
		before := len(st.res.Changes)
		if err := doc.merge(attempt > 0); err != nil {
			return err
		}
		if len(st.res.Changes) == before {
			return nil // nothing was missing: nothing written, nothing to read back
		}
		var err error
		if missing, err = doc.missing(); err != nil {
			return err
		}
		if len(missing) == 0 {
			return nil
		}
		// Someone rewrote the document between the put and the read: merge again from
		// what is there now, reporting only the change that stuck.
		st.res.Changes = st.res.Changes[:before]
		if doc.removal {
			st.warn("%s got %s back right after s3crr removed it (another writer); removed again", doc.key, strings.Join(missing, ", "))
		} else {
			st.warn("%s lost %s right after s3crr wrote it (another writer); merged again", doc.key, strings.Join(missing, ", "))
		}
	}
	what := "misses"
	if doc.removal {
		what = "still holds"
	}
	return &DocumentChanged{Message: fmt.Sprintf("%s: after %d attempts, reading it back %s %s: another writer that takes no s3crr lease keeps replacing it (fix: stop that writer, or have it merge instead of replace; then re-run)",
		doc.key, mergeAttempts, what, strings.Join(missing, ", "))}
}

// mergeNeeded runs the merge as planning does and reports whether it would change the
// document, leaving no trace of the planned change.
func (st *stage) mergeNeeded(doc sharedDocument) (bool, error) {
	changes, warnings := len(st.res.Changes), len(st.res.Warnings)
	st.plan = true
	err := doc.merge(false)
	st.plan = false
	needed := len(st.res.Changes) > changes
	st.res.Changes = st.res.Changes[:changes]
	if needed {
		st.res.Warnings = st.res.Warnings[:warnings] // the real merge warns again
	}
	return needed, err
}

// missingStatements lists the Sids of ours that doc does not hold as they are.
func missingStatements(doc policy.Document, ours []policy.Statement) []string {
	var out []string
	for _, s := range ours {
		if _, changed := policy.Merge(doc, []policy.Statement{s}); changed {
			out = append(out, "statement "+s.Sid)
		}
	}
	return out
}

// retryBusy runs one stage as the state machine's Retry on DocumentBusy and
// DocumentChanged does: again after a fully jittered, exponentially growing delay, a
// bounded number of times. Only the in-process runs (Apply, Plan) use it; the Lambda
// returns the error to Step Functions and never sleeps.
func (s *Service) retryBusy(ctx context.Context, ev Event) (Result, error) {
	const attempts, base, maxDelay = 12, 20 * time.Millisecond, 2 * time.Second
	for i := 0; ; i++ {
		res, err := s.Run(ctx, ev)
		var busy *DocumentBusy
		var changed *DocumentChanged
		if i == attempts-1 || !(errors.As(err, &busy) || errors.As(err, &changed)) {
			return res, err
		}
		limit := min(base<<i, maxDelay)
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(rand.N(limit) + time.Millisecond):
		}
	}
}
