package provision

import (
	"context"
	"fmt"

	"github.com/s3crr/s3crr/internal/policy"
)

// This file keeps the destination's shared grants (policy.SharedReplicaWriteStatement,
// policy.SharedReplicaEncryptStatement): one statement per action set for every pair
// replicating into a destination bucket or key, whatever their number. Provisioning only
// ever adds this pair to a share (and folds in the per-pair statements earlier versions
// wrote, which it then removes), so it needs no list of the other pairs; teardown takes
// this pair out only where the pairs registry shows no other pair still needs it.

// RegisteredPair is what teardown needs to know of another registered pair sharing a
// destination.
type RegisteredPair struct {
	PairID string
	// SourceAccount is the account of the pair's replication role.
	SourceAccount string
	// DestinationAccount, DestinationBucket and DestinationKeyARN are where it replicates to.
	DestinationAccount, DestinationBucket, DestinationKeyARN string
	// Prefix is its rule's prefix.
	Prefix string
	// OwnerOverride is its request's rule.ownerOverride.
	OwnerOverride bool
}

// Registry lists the registered pairs (the pairs table the state machine's RegisterPair
// writes): which pairs use a bucket or a key is kept there, not in tags on them.
type Registry interface {
	// PairsInto returns every registered pair whose destination is in account.
	PairsInto(ctx context.Context, account string) ([]RegisteredPair, error)
}

// sharedGrants is this pair's part in the destination's shared grants.
type sharedGrants struct {
	account       string // the source account (the replication role's)
	objects       string // the destination object pattern
	ownerOverride bool
}

func (st *stage) sharedPart(p policy.ReplicationParams) sharedGrants {
	return sharedGrants{account: p.SourceAccount, objects: policy.ObjectsARN(p.DestinationBucket, p.Prefix), ownerOverride: p.OwnerOverride}
}

// withShared returns the destination document with this pair added to the shared grants
// sids name (built by build from a share), the per-pair statements of purpose that the
// shares now cover folded in and removed, and the deployment's organization applied.
// Foreign statements, and s3crr statements it cannot take over, are kept.
func (st *stage) withShared(existing policy.Document, me sharedGrants, legacyPurpose string, sids []string, build func(sid string, s policy.Share) policy.Statement) (policy.Document, []string) {
	shares := map[string]policy.Share{}
	for _, sid := range sids {
		if s, ok := policy.Find(existing, sid); ok {
			shares[sid] = policy.ShareOf(s)
		}
	}
	add := func(sid, account, objects string) {
		shares[sid] = shares[sid].With(account, objects)
	}
	add(sids[0], me.account, me.objects)
	if me.ownerOverride && len(sids) > 1 {
		add(sids[1], me.account, me.objects)
	}
	var folded []string
	if _, ok := policy.Find(existing, policy.SidFor(st.req.PairID, legacyPurpose)); ok {
		// This pair's own per-pair statement, whatever its shape: the shared grant now
		// admits the pair.
		folded = append(folded, policy.SidFor(st.req.PairID, legacyPurpose))
	}
	for _, g := range policy.LegacyGrants(existing, legacyPurpose) {
		if g.Sid == policy.SidFor(st.req.PairID, legacyPurpose) {
			continue
		}
		add(sids[0], g.Account, g.Objects)
		if g.OwnerOverride && len(sids) > 1 {
			add(sids[1], g.Account, g.Objects)
		}
		folded = append(folded, g.Sid)
	}
	var ours []policy.Statement
	for _, sid := range sids {
		if s, ok := shares[sid]; ok && !s.Empty() {
			ours = append(ours, build(sid, s.InOrganization(st.svc.cfg.OrganizationID)))
		}
	}
	merged, _ := policy.Merge(existing, ours)
	merged, _ = policy.Remove(merged, folded...)
	return merged, folded
}

// withoutShared returns the destination document with this pair taken out of the shared
// grants: its account stays while another registered pair from it uses the document, its
// object pattern while another uses it, and a shared statement goes only with its last
// pair. uses says whether a registered pair uses this document (this bucket, or this key).
func (st *stage) withoutShared(ctx context.Context, existing policy.Document, me sharedGrants, account string, uses func(RegisteredPair) bool, sids []string, build func(sid string, s policy.Share) policy.Statement) (policy.Document, bool, error) {
	present := false
	for _, sid := range sids {
		if _, ok := policy.Find(existing, sid); ok {
			present = true
		}
	}
	if !present {
		return existing, false, nil
	}
	if st.svc.cfg.Registry == nil {
		// Without the registry, this pair cannot tell whether others still rely on the
		// shared grant: keeping it is the only safe choice.
		st.warn("the shared grants %v are kept: no pairs registry is configured to tell whether other pairs use them", sids)
		return existing, false, nil
	}
	all, err := st.svc.cfg.Registry.PairsInto(ctx, account)
	if err != nil {
		return existing, false, fmt.Errorf("read the pairs registry: %w", err)
	}
	keep := map[string]policy.Share{}
	for _, o := range all {
		if o.PairID == st.req.PairID || !uses(o) {
			continue
		}
		objects := policy.ObjectsARN(o.DestinationBucket, o.Prefix)
		keep[sids[0]] = keep[sids[0]].With(o.SourceAccount, objects)
		if o.OwnerOverride && len(sids) > 1 {
			keep[sids[1]] = keep[sids[1]].With(o.SourceAccount, objects)
		}
	}
	out := existing
	var drop []string
	var ours []policy.Statement
	for _, sid := range sids {
		s, ok := policy.Find(existing, sid)
		if !ok {
			continue
		}
		k := keep[sid]
		if len(k.Objects) == 0 {
			drop = append(drop, sid)
			continue
		}
		ours = append(ours, build(sid, policy.ShareOf(s).Without(me.account, me.objects, k)))
	}
	out, _ = policy.Merge(out, ours)
	out, _ = policy.Remove(out, drop...)
	return out, !policy.Equivalent(existing, out), nil
}

// checkPolicySize refuses, before writing, a document over the service's limit, naming
// the limit, what the shared grants hold and the fix.
func checkPolicySize(doc policy.Document, limit int, what string) error {
	n := len(doc.JSON())
	if n <= limit {
		return nil
	}
	accounts, objects := 0, 0
	for _, s := range doc.Statement {
		if pair, _, ok := policy.ParseSid(s.Sid); ok && pair == "" {
			sh := policy.ShareOf(s)
			accounts, objects = max(accounts, len(sh.Accounts)), max(objects, len(sh.Objects))
		}
	}
	return &PreflightFailed{Message: fmt.Sprintf("%s would be %d bytes, over its limit of %d (%d statements; s3crr's shared grant lists %d source accounts and %d object patterns). "+
		"Fix: configure organizationId in the deployment, so the grant names the organization instead of each account; or give the pairs a common destination prefix; or remove foreign statements",
		what, n, limit, len(doc.Statement), accounts, objects)}
}

// shareMissing lists, for a read-back, the shared grants of sids (the first always, the
// others only when the pair needs them) that the document lacks or that no longer admit
// the pair.
func shareMissing(doc policy.Document, sids []string, me sharedGrants) []string {
	var out []string
	for i, sid := range sids {
		if i > 0 && !me.ownerOverride {
			continue
		}
		if s, ok := policy.Find(doc, sid); !ok || !policy.ShareOf(s).Covers(me.account, me.objects) {
			out = append(out, fmt.Sprintf("statement %s admitting %s on %s", sid, me.account, me.objects))
		}
	}
	return out
}
