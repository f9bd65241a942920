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
	if r.Rule.StorageClass == "" {
		r.Rule.StorageClass = DefaultStorageClass
	}
	if r.Rule.Metrics == nil {
		t := true
		r.Rule.Metrics = &t
	}
	if r.Rule.BucketKeyEnabled == nil {
		t := true
		r.Rule.BucketKeyEnabled = &t
	}
	if len(r.Rule.Tags) == 0 {
		r.Rule.Tags = nil
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
