package spec

import (
	"hash/fnv"

	"github.com/s3crr/s3crr/internal/names"
)

// priorityRange bounds DefaultPriority to 1..priorityRange.
const priorityRange = 100000

// ApplyDefaults fills every optional field the request left empty, so that the
// defaulted request says exactly what will be provisioned (and hashes the same
// whether a default was written out or left implicit).
//
//   - key aliases: names.SourceAlias / names.DestinationAlias under the default
//     prefix (Options.ApplyDefaults for a deployment's own), unless the endpoint
//     names an existing key ARN;
//   - rule ID: DefaultRuleID; priority: DefaultPriority;
//   - storage class STANDARD; metrics on; S3 Bucket Keys on;
//   - an empty tag map is dropped (it filters nothing).
func (r *Request) ApplyDefaults() { Options{}.ApplyDefaults(r) }

// ApplyDefaults is Request.ApplyDefaults under these options: the default aliases are
// built under the deployment's alias prefix, the only one its provisioners may use.
func (o Options) ApplyDefaults(r *Request) {
	if len(r.Destinations) > 0 {
		o.applyFanOutDefaults(r)
		return
	}
	if r.Source.KMSKeyAlias == "" && r.Source.KMSKeyARN == "" {
		r.Source.KMSKeyAlias = names.SourceAlias(o.aliasPrefix(), r.PairID)
	}
	if r.Destination.KMSKeyAlias == "" && r.Destination.KMSKeyARN == "" {
		r.Destination.KMSKeyAlias = names.DestinationAlias(o.aliasPrefix(), r.PairID)
	}
	if r.Rule.ID == "" {
		r.Rule.ID = names.RuleID(r.PairID)
	}
	if r.Rule.Priority == nil {
		p := DefaultPriority(r.PairID)
		r.Rule.Priority = &p
	}
	r.Rule.applyOptionDefaults()
}

// applyOptionDefaults fills the rule's options that do not depend on the pair ID.
func (r *Rule) applyOptionDefaults() {
	if r.StorageClass == "" {
		r.StorageClass = DefaultStorageClass
	}
	if r.Metrics == nil {
		t := true
		r.Metrics = &t
	}
	if r.BucketKeyEnabled == nil {
		t := true
		r.BucketKeyEnabled = &t
	}
	if len(r.Tags) == 0 {
		r.Tags = nil
	}
}

// applyFanOutDefaults defaults a request with destinations: the source alias as for a
// pair; each destination's alias and rule under its leg's ID (names.LegID), so every
// leg gets its own key, rule ID and priority; the shared rule's options but not its ID
// or priority, which must differ per leg.
func (o Options) applyFanOutDefaults(r *Request) {
	if r.Source.KMSKeyAlias == "" && r.Source.KMSKeyARN == "" {
		r.Source.KMSKeyAlias = names.SourceAlias(o.aliasPrefix(), r.PairID)
	}
	r.Rule.applyOptionDefaults()
	for i := range r.Destinations {
		d := &r.Destinations[i]
		leg := names.LegID(r.PairID, i+1)
		if d.KMSKeyAlias == "" && d.KMSKeyARN == "" {
			d.KMSKeyAlias = names.DestinationAlias(o.aliasPrefix(), leg)
		}
		if d.Rule != nil {
			d.Rule.applyOptionDefaults()
			if d.Rule.ID == "" {
				d.Rule.ID = names.RuleID(leg)
			}
			if d.Rule.Priority == nil {
				p := DefaultPriority(leg)
				d.Rule.Priority = &p
			}
		}
	}
}

// DefaultPriority is the rule priority used when the request gives none: a
// number from 1 to 100000 derived from the pair ID (FNV-1a).
//
// Why not a constant: S3 requires every rule in a bucket's replication
// configuration to have a distinct priority, and one source bucket can feed
// several pairs (one rule per destination). A constant would make the second
// pair on a bucket fail with a priority clash; a value derived from the pair ID
// is stable across re-runs and collides only by chance (set rule.priority
// explicitly if it does). Priority only decides between rules that match the
// same object for the same destination, which s3crr pairs never share.
func DefaultPriority(pairID string) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(pairID)) // hash.Hash.Write never fails
	return int32(h.Sum32()%priorityRange) + 1
}
