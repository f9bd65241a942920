// Package lease serialises s3crr's read-modify-writes of the documents that several pairs
// write: a bucket policy, a key policy, a role policy, a replication or notification
// configuration, a bucket's tag set. AWS replaces each of these whole on every put and
// offers no conditional write, so two pairs merging into one document at the same time
// lose one pair's entry, silently (docs/aws-facts.md#F-WHOLE-DOCUMENT-PUTS).
//
// A lease is one item in the hub's lease table (names.LeaseTableName), keyed by the
// document. Acquire is a conditional PutItem that succeeds only when no one holds the
// document or the holder's lease has expired, so a holder that crashed stops blocking
// others once its lease runs out; DynamoDB's TTL only sweeps the expired items later
// (docs/aws-facts.md#F-DDB-CONDITIONAL-LEASE). Acquire never waits: a held document is a
// *Held error, which the provision Lambda reports as DocumentBusy and the state machine
// retries with backoff and jitter.
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/s3crr/s3crr/internal/names"
)

// Store takes and gives back leases. DynamoDB is the deployed one; Memory has the same
// semantics within one process (the CLI's in-process runs and unit tests).
type Store interface {
	// Acquire takes the lease on l.Resource for l.Owner until l.Expires. It fails with
	// *Held when another owner holds an unexpired lease on it; the same owner acquiring
	// again (a retried call) renews its lease.
	Acquire(ctx context.Context, l Lease) error
	// Release gives the lease back if l.Owner still holds it; a lease that expired and
	// was taken by someone else is left alone.
	Release(ctx context.Context, l Lease) error
}

// Lease is one holder's claim on one document.
type Lease struct {
	// Resource is the document's key (S3Document, KeyPolicy, RolePolicy).
	Resource string
	// Owner identifies the holder (NewOwner), so only it can release or renew.
	Owner string
	// Expires is when the lease stops counting: then anyone may take it.
	Expires time.Time
}

// Held is Acquire's failure when someone else holds the document.
type Held struct {
	Resource string
	// Holder and Expires describe the current lease when the store returned them
	// (empty and zero otherwise).
	Holder  string
	Expires time.Time
}

func (e *Held) Error() string {
	msg := "document " + e.Resource + " is being changed by another s3crr run"
	if e.Holder != "" {
		msg += " (" + e.Holder + ")"
	}
	if !e.Expires.IsZero() {
		msg += ", lease until " + e.Expires.UTC().Format(time.RFC3339)
	}
	return msg
}

// S3Document is the key of one of a bucket's documents ("policy", "replication",
// "notification", "tagging", "lifecycle").
func S3Document(bucket, document string) string {
	return names.LeaseKeyPrefixes[0] + "arn:" + names.Partition + ":s3:::" + bucket + "#" + document
}

// KeyPolicy is the key of a KMS key's (only) key policy.
func KeyPolicy(keyARN string) string { return names.LeaseKeyPrefixes[1] + keyARN + "#policy" }

// RolePolicy is the key of an IAM role's inline policy.
func RolePolicy(roleARN, policyName string) string {
	return names.LeaseKeyPrefixes[2] + roleARN + "#" + policyName
}

// NewOwner returns a holder identity: what the run is (for the DocumentBusy message of
// the runs it blocks) and a random part, so two runs of the same stage never mistake each
// other's lease for their own.
func NewOwner(what string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return what + " " + hex.EncodeToString(b)
}

// Memory is an in-process Store with DynamoDB's semantics. Its zero value is ready.
type Memory struct {
	// Now is the clock; default time.Now. Tests move it to expire a lease.
	Now func() time.Time

	mu     sync.Mutex
	leases map[string]Lease
}

var _ Store = (*Memory)(nil)

func (m *Memory) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Acquire implements Store.
func (m *Memory) Acquire(_ context.Context, l Lease) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.leases == nil {
		m.leases = map[string]Lease{}
	}
	if cur, ok := m.leases[l.Resource]; ok && cur.Owner != l.Owner && !expired(cur.Expires, m.now()) {
		return &Held{Resource: l.Resource, Holder: cur.Owner, Expires: cur.Expires}
	}
	m.leases[l.Resource] = l
	return nil
}

// Release implements Store.
func (m *Memory) Release(_ context.Context, l Lease) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.leases[l.Resource]; ok && cur.Owner == l.Owner {
		delete(m.leases, l.Resource)
	}
	return nil
}

// expired is the one rule both stores apply, at the table's resolution (epoch seconds,
// the TTL attribute's unit): a lease is expired once its second has passed.
func expired(expires, now time.Time) bool { return expires.Unix() < now.Unix() }
