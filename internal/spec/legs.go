package spec

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/s3crr/s3crr/internal/names"
)

// MaxDestinations is the most destinations one request may list. The legs from one source
// bucket share its replication role, whose inline policy holds every leg's statements, and
// IAM caps a role's inline policies at 10,240 characters in total
// (docs/aws-facts.md#F-IAM-QUOTAS): a leg's statements take about 1,500, so
// five legs fit with room for the longest prefixes and options. The role stage checks
// the real size too, for destinations added later by other requests.
const MaxDestinations = 5

// roleNamePattern is IAM's role-name character set, for replicationRole.
var roleNamePattern = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

// isMulti reports whether the request expands into more than its own pair: a fan-out
// (destinations) or a two-way pair.
func (r Request) isMulti() bool { return r.Destinations != nil || r.TwoWay }

// Legs expands a request into the single-destination pairs ("legs") it provisions, in the
// order they run. A plain request is its own only leg, unchanged (so existing pairs keep
// their IDs). A fan-out request gives one leg per destination, names.LegID(pairId, n)
// from 1, each with its destination's rule or else the request's. A two-way request gives
// the pair itself and its back direction, names.ReverseLegID(pairId), with the endpoints
// swapped: each bucket's key is the source key of one direction and the destination key
// of the other, and both rules sync replica modifications
// (docs/aws-facts.md#F-REPL-REPLICA-MODIFICATIONS).
//
// Every leg is defaulted under these options; the legs of a request from one source
// bucket carry the same ReplicationRole.
func (o Options) Legs(r Request) []Request {
	r = r.clone()
	o.ApplyDefaults(&r)
	switch {
	case len(r.Destinations) > 0:
		legs := make([]Request, len(r.Destinations))
		for i, d := range r.Destinations {
			leg := r.clone()
			leg.PairID = names.LegID(r.PairID, i+1)
			leg.Destination = d.Endpoint
			leg.Destinations = nil
			if d.Rule != nil {
				leg.Rule = d.Rule.clone()
			} else {
				leg.Rule.ID, leg.Rule.Priority = "", nil
			}
			o.ApplyDefaults(&leg)
			legs[i] = leg
		}
		return legs
	case r.TwoWay:
		fwd := r.clone()
		fwd.TwoWay = false
		fwd.Rule.ReplicaModifications = true
		back := fwd.clone()
		back.PairID = names.ReverseLegID(r.PairID)
		back.Source, back.Destination = r.Destination, r.Source
		// The back direction's role is its own source bucket's, never the forward one's.
		back.ReplicationRole = ""
		if back.Rule.ID == names.RuleID(r.PairID) {
			back.Rule.ID = names.RuleID(back.PairID)
		}
		return []Request{fwd, back}
	}
	return []Request{r}
}

// Legs is Options{}.Legs(r).
func (r Request) Legs() []Request { return Options{}.Legs(r) }

// LegIDs lists the pair IDs of the request's legs, what `crr status`, `crr verify` and
// `crr destroy` take.
func (r Request) LegIDs() []string {
	legs := r.Legs()
	ids := make([]string, len(legs))
	for i, l := range legs {
		ids[i] = l.PairID
	}
	return ids
}

// validateMulti checks a fan-out or two-way request: its own rules, then each leg as a
// pair, with the leg's problems reported at the request's paths (a destination's at
// destinations[i]) and those shared by several legs once.
func (o Options) validateMulti(r Request) problems {
	var ps problems
	if len(r.Destinations) > 0 && r.Destination != (Endpoint{}) {
		ps.add("destinations", "is given together with destination",
			"use destination for one destination or destinations for several, not both")
	}
	if r.Destinations != nil && len(r.Destinations) == 0 {
		ps.add("destinations", "is empty", "list at least one destination, or use destination")
	}
	if len(r.Destinations) > MaxDestinations {
		ps.add("destinations", fmt.Sprintf("lists %d destinations, more than %d", len(r.Destinations), MaxDestinations),
			fmt.Sprintf("split them over requests with different source buckets, at most %d each: the destinations of one source bucket share its replication role, whose inline policies IAM limits to 10,240 characters", MaxDestinations))
	}
	if r.TwoWay && len(r.Destinations) > 0 {
		ps.add("twoWay", "is true with destinations", "a two-way pair has one destination: use destination, or drop twoWay")
	}
	if len(r.Destinations) > 0 {
		if r.Rule.ID != "" {
			ps.add("rule.id", "is set for several destinations, whose rules need distinct IDs",
				"remove it (each leg gets s3crr-<pairId>-<n>), or set destinations[i].rule.id")
		}
		if r.Rule.Priority != nil {
			ps.add("rule.priority", "is set for several destinations, whose rules need distinct priorities",
				"remove it (each leg gets its own), or set destinations[i].rule.priority")
		}
	}
	if max := MaxPairIDLen - len(names.ReverseLegSuffix); len(r.PairID) > max {
		ps.add("pairId", fmt.Sprintf("is %d characters; with destinations or twoWay it may have at most %d", len(r.PairID), max),
			"shorten it: each leg's pair ID adds -<n> or "+names.ReverseLegSuffix+" to it")
	}
	if r.Destinations != nil && (len(r.Destinations) == 0 || len(r.Destinations) > MaxDestinations) {
		return ps // no leg to check, or too many to list each one's problems
	}

	legs := o.Legs(r)
	seen := map[string]bool{}
	buckets := map[string]int{}
	priorities := map[int32]int{}
	for i, leg := range legs {
		for _, p := range o.validateOne(leg) {
			p.Path = r.legPath(i, p.Path)
			if k := p.Path + "\x00" + p.Message; !seen[k] {
				seen[k] = true
				ps = append(ps, p)
			}
		}
		if len(r.Destinations) == 0 {
			continue
		}
		if j, dup := buckets[leg.Destination.Bucket]; dup && leg.Destination.Bucket != "" {
			ps.add(fmt.Sprintf("destinations[%d].bucket", i), fmt.Sprintf("is the same bucket as destinations[%d].bucket", j),
				"list each destination bucket once: one rule per destination")
		} else {
			buckets[leg.Destination.Bucket] = i
		}
		if j, dup := priorities[*leg.Rule.Priority]; dup {
			ps.add(fmt.Sprintf("destinations[%d].rule.priority", i), fmt.Sprintf("is %d, the same as destinations[%d]'s", *leg.Rule.Priority, j),
				"give each destination a distinct rule.priority: S3 requires distinct priorities within a bucket's replication configuration")
		} else {
			priorities[*leg.Rule.Priority] = i
		}
	}
	return ps
}

// legPath maps a problem path of leg i onto the request: a fan-out leg's destination is
// destinations[i], and its rule is destinations[i].rule when the entry has one.
func (r Request) legPath(i int, path string) string {
	if len(r.Destinations) == 0 {
		if r.TwoWay && i == 1 {
			// The back direction swaps the endpoints: report at the request's paths.
			switch {
			case path == "source" || strings.HasPrefix(path, "source."):
				return "destination" + strings.TrimPrefix(path, "source")
			case path == "destination" || strings.HasPrefix(path, "destination."):
				return "source" + strings.TrimPrefix(path, "destination")
			}
		}
		return path
	}
	entry := fmt.Sprintf("destinations[%d]", i)
	switch {
	case path == "destination" || strings.HasPrefix(path, "destination."):
		return entry + strings.TrimPrefix(path, "destination")
	case (path == "rule" || strings.HasPrefix(path, "rule.")) && r.Destinations[i].Rule != nil:
		return entry + "." + path
	}
	return path
}

// checkReplicationRole checks replicationRole: only an s3crr replication role name, the
// only roles the provisioner may write.
func (r Request) checkReplicationRole(ps *problems) {
	if r.ReplicationRole == "" {
		return
	}
	if !roleNamePattern.MatchString(r.ReplicationRole) || !strings.HasPrefix(r.ReplicationRole, names.ReplicationRoleNamePrefix) {
		ps.add("replicationRole", "must be an s3crr replication role name ("+names.ReplicationRoleNamePrefix+"..., at most 64 characters)",
			"leave it out: s3crr names the source bucket's role itself, and sets this only to keep a role it made earlier")
	}
}
