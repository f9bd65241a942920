// Package spec defines the pair request: the one JSON document that describes a
// replication pair (source bucket and key in account A, destination bucket and key
// in account B, and the replication rule between them), its defaults, its
// validation, and the names every other component derives from it.
//
// The same rules are published as a JSON Schema in
// statemachine/pair-request.schema.json so that the console user, the CLI and the
// provision Lambda reject the same requests; tests in this package keep the two
// in agreement.
package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/s3crr/s3crr/internal/names"
)

// Request is a replication pair request: the input of the provision state machine.
type Request struct {
	// PairID names the pair; every derived name (role, aliases, rule ID,
	// execution name) comes from it, so it is also the idempotency key.
	PairID      string   `json:"pairId"`
	Source      Endpoint `json:"source"`
	Destination Endpoint `json:"destination"`
	Rule        Rule     `json:"rule"`
	// AllowSameRegion is the explicit opt-in to same-region replication (SRR);
	// without it a same-region pair is almost always a typo.
	AllowSameRegion bool `json:"allowSameRegion,omitempty"`
	// Destinations replaces Destination for a fan-out request: one source bucket
	// replicated to each of these, every one a pair of its own (a leg, see Legs).
	Destinations []Destination `json:"destinations,omitempty"`
	// TwoWay provisions the back direction too (destination to source), both rules with
	// replica modification sync; single destination only.
	TwoWay bool `json:"twoWay,omitempty"`
	// ReplicationRole names the source bucket's replication role when it is not
	// names.SourceReplicationRoleName: the validate stage sets it on a leg whose source
	// bucket already replicates through an s3crr role named per pair (made before roles
	// were per source bucket), so the leg adopts that role instead of switching the
	// bucket's configuration to another one. Users leave it out.
	ReplicationRole string `json:"replicationRole,omitempty"`
}

// Destination is one entry of a fan-out request's destinations: an endpoint and,
// optionally, the rule of that leg, which then replaces the request's rule whole (so
// each leg's rule reads on its own, without a per-field merge to work out).
type Destination struct {
	Endpoint
	Rule *Rule `json:"rule,omitempty"`
}

// Endpoint is one side of the pair: a bucket and its SSE-KMS key in one account
// and region.
type Endpoint struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Bucket  string `json:"bucket"`
	// KMSKeyAlias is the alias of the customer managed key s3crr creates or
	// reuses. Defaults to names.SourceAlias / names.DestinationAlias under the
	// deployment's alias prefix.
	KMSKeyAlias string `json:"kmsKeyAlias,omitempty"`
	// KMSKeyARN selects an existing customer managed key instead of the alias;
	// it must live in this endpoint's account and region.
	KMSKeyARN string `json:"kmsKeyArn,omitempty"`
}

// Rule is the replication rule s3crr writes into the source bucket's replication
// configuration (merged by rule ID, other rules kept).
type Rule struct {
	// ID defaults to names.RuleID(pairId), s3crr-<pairId>.
	ID string `json:"id,omitempty"`
	// Priority defaults to DefaultPriority(pairId), see there for why.
	Priority *int32 `json:"priority,omitempty"`
	// Prefix limits replication to keys under it; empty means the whole bucket.
	Prefix string `json:"prefix,omitempty"`
	// Tags is a tag filter: only objects carrying all these tags replicate.
	// S3 rejects a tag filter together with delete-marker replication.
	Tags map[string]string `json:"tags,omitempty"`
	// StorageClass of the replicas; defaults to STANDARD.
	StorageClass            string `json:"storageClass,omitempty"`
	DeleteMarkerReplication bool   `json:"deleteMarkerReplication"`
	// ReplicationTimeControl turns on S3 RTC (15-minute SLA); it requires Metrics.
	ReplicationTimeControl bool `json:"replicationTimeControl"`
	// Metrics defaults to true: the s3:Replication:* failure events s3crr routes
	// to the hub only exist when replication metrics are on.
	Metrics *bool `json:"metrics,omitempty"`
	// OwnerOverride makes the destination account own the replicas;
	// cross-account pairs only. A BucketOwnerEnforced destination (how s3crr
	// creates buckets) already owns them, so there the rule leaves
	// AccessControlTranslation out and nothing grants
	// s3:ObjectOwnerOverrideToBucketOwner; any other destination gets the
	// option and the permission (docs/aws-facts.md#F-REPL-OWNER-OVERRIDE).
	OwnerOverride bool `json:"ownerOverride"`
	// BucketKeyEnabled defaults to true: S3 Bucket Keys on both buckets, which
	// cuts KMS calls and changes the encryption context to the bucket ARN.
	BucketKeyEnabled *bool `json:"bucketKeyEnabled,omitempty"`
	// ReplicaModifications replicates metadata changes made on replicas back
	// (used for two-way replication).
	ReplicaModifications bool `json:"replicaModifications,omitempty"`
	// ReplicateExisting replicates, once the rule is in place and verified, the objects
	// the rule selects that never replicated (status NONE): a new rule only copies new
	// writes (docs/aws-facts.md#F-REPL-EXISTING-OBJECTS), so the provision run starts an
	// S3 Batch Replication job for them, follows it to the end and reports its counts.
	ReplicateExisting bool `json:"replicateExisting,omitempty"`
}

// Limits every component derives from the request (the names are internal/names').
const (
	// DefaultStorageClass is the replicas' storage class unless the rule says otherwise.
	DefaultStorageClass = "STANDARD"
	// MaxCanaryNameBytes is the longest object name the verifier may put under
	// CanaryKeyPrefix; the prefix limit leaves room for it.
	MaxCanaryNameBytes = 100
	// MaxPrefixBytes is the longest rule prefix: S3 keys are at most 1024 bytes
	// and a canary key is prefix + names.CanaryDir + a name of MaxCanaryNameBytes.
	MaxPrefixBytes = 1024 - len(names.CanaryDir) - MaxCanaryNameBytes
	// MaxPairIDLen keeps ReplicationRoleName (s3crr-repl-<pairId>) well within
	// IAM's 64 characters and ExecutionName within Step Functions' 80.
	MaxPairIDLen = 48
	// MinPairIDLen is the shortest pair ID.
	MinPairIDLen = 3
	// MaxRequestBytes bounds the request document; Step Functions inputs are at
	// most 256 KiB and a real request is under 2 KiB.
	MaxRequestBytes = 64 << 10
	// hashLen is how many hex characters of the request hash are kept.
	hashLen = 10
)

// Parse decodes, defaults and validates a request. It is what every entry point
// (CLI, provision Lambda) calls; errors are *ValidationError.
//
// Parse reports decoding and validation problems together, so one attempt shows
// everything to fix; a validation problem at or under a path that already has a
// decoding problem (a wrong type reads as empty) is left out as noise.
//
// Parse reads the request for a deployment with the default settings; Options.Parse
// reads it for one with its own.
func Parse(data []byte) (Request, error) { return Options{}.Parse(data) }

// Options are the deployment settings a request is read under. The zero value is the
// default deployment.
type Options struct {
	// KMSAliasPrefix is the deployment's kmsAliasPrefix (names.EnvKMSAliasPrefix):
	// default aliases are built under it and a named alias must start with it, because
	// the member provisioner roles may manage only such aliases. "" means
	// names.AliasPrefix.
	KMSAliasPrefix string
}

// aliasPrefix is the effective alias prefix.
func (o Options) aliasPrefix() string {
	if o.KMSAliasPrefix == "" {
		return names.AliasPrefix
	}
	return o.KMSAliasPrefix
}

// Parse is the package's Parse under these options.
func (o Options) Parse(data []byte) (Request, error) {
	r, ps, whole := decode(data)
	if !whole {
		return Request{}, ps.err()
	}
	o.ApplyDefaults(&r)
	if err := o.Validate(r); err != nil {
		for _, p := range err.(*ValidationError).Problems {
			if !coveredBy(p.Path, ps) {
				ps = append(ps, p)
			}
		}
	}
	if err := ps.err(); err != nil {
		return Request{}, err
	}
	return r, nil
}

// coveredBy reports whether a decoding problem already explains path: one at
// the same path or at an enclosing object.
func coveredBy(path string, decoded problems) bool {
	for _, d := range decoded {
		if d.Path == "" || path == d.Path || strings.HasPrefix(path, d.Path+".") || strings.HasPrefix(path, d.Path+"[") {
			return true
		}
		// destinations that could not be read leave destination empty: its "is required"
		// would point the user at the field they chose not to use.
		if d.Path == "destinations" && (path == "destination" || strings.HasPrefix(path, "destination.")) {
			return true
		}
	}
	return false
}

// ReplicationRoleName is the name of the IAM role S3 assumes to replicate this pair:
// the role of its source bucket, shared by every pair from that bucket because S3
// names one role per bucket.
func (r Request) ReplicationRoleName() string {
	if r.ReplicationRole != "" {
		return r.ReplicationRole
	}
	return names.SourceReplicationRoleName(r.Source.Account, r.Source.Bucket)
}

// ReplicationRolePath is the IAM path of the replication role.
func (r Request) ReplicationRolePath() string {
	return names.RolePath
}

// ReplicationRoleARN is the replication role's ARN; the role lives in the
// source account.
func (r Request) ReplicationRoleARN() string {
	return names.RoleARN(r.Source.Account, r.ReplicationRoleName())
}

// RuleID is the replication rule's ID, defaulted if the request left it empty.
func (r Request) RuleID() string {
	if r.Rule.ID != "" {
		return r.Rule.ID
	}
	return names.RuleID(r.PairID)
}

// SourceBucketARN is the ARN of the source bucket.
func (r Request) SourceBucketARN() string {
	return BucketARN(r.Source.Bucket)
}

// DestinationBucketARN is the ARN of the destination bucket.
func (r Request) DestinationBucketARN() string {
	return BucketARN(r.Destination.Bucket)
}

// BucketARN is the ARN of an S3 bucket in the aws partition (bucket ARNs carry
// neither account nor region).
func BucketARN(bucket string) string {
	return "arn:aws:s3:::" + bucket
}

// IsSameRegion reports whether the pair is same-region replication (SRR).
func (r Request) IsSameRegion() bool {
	return r.Source.Region == r.Destination.Region
}

// IsCrossAccount reports whether the buckets belong to different accounts, the
// case that needs the destination bucket and key policies.
func (r Request) IsCrossAccount() bool {
	return r.Source.Account != r.Destination.Account
}

// CanaryKeyPrefix is where the verifier writes canary objects: inside the
// rule's prefix, so that the rule replicates them.
func (r Request) CanaryKeyPrefix() string {
	return r.Rule.Prefix + names.CanaryDir
}

// MetricsEnabled reports whether replication metrics are on (default true).
func (r Request) MetricsEnabled() bool {
	return r.Rule.Metrics == nil || *r.Rule.Metrics
}

// BucketKeyEnabled reports whether S3 Bucket Keys are on (default true).
func (r Request) BucketKeyEnabled() bool {
	return r.Rule.BucketKeyEnabled == nil || *r.Rule.BucketKeyEnabled
}

// Hash is a short stable hash of the canonical JSON of the defaulted request:
// two requests that mean the same thing have the same hash, any change to what
// is provisioned changes it. Fields added to Request later must be omitempty
// (and default to their zero value) so that existing requests keep their hash;
// example_test.go pins one.
func (r Request) Hash() string {
	c := r.clone()
	c.ApplyDefaults()
	// Marshal of these types cannot fail: only strings, bools, ints and a
	// string map. encoding/json sorts map keys, so the bytes are canonical.
	b, err := json.Marshal(c)
	if err != nil {
		panic("spec: marshal request: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:hashLen]
}

// ExecutionName is the Step Functions execution name for this exact request:
// starting the same request twice reuses the name, which StartExecution treats
// as idempotent, while a changed request gets a new execution.
func (r Request) ExecutionName() string {
	return names.ExecutionName(r.PairID, r.Hash())
}

// clone returns a deep copy so that defaulting it leaves r untouched.
func (r Request) clone() Request {
	c := r
	c.Rule = r.Rule.clone()
	if r.Destinations != nil {
		c.Destinations = make([]Destination, len(r.Destinations))
		for i, d := range r.Destinations {
			c.Destinations[i] = d
			if d.Rule != nil {
				x := d.Rule.clone()
				c.Destinations[i].Rule = &x
			}
		}
	}
	return c
}

// clone returns a deep copy of the rule.
func (r Rule) clone() Rule {
	c := r
	if r.Priority != nil {
		p := *r.Priority
		c.Priority = &p
	}
	if r.Metrics != nil {
		m := *r.Metrics
		c.Metrics = &m
	}
	if r.BucketKeyEnabled != nil {
		b := *r.BucketKeyEnabled
		c.BucketKeyEnabled = &b
	}
	if r.Tags != nil {
		c.Tags = make(map[string]string, len(r.Tags))
		for k, v := range r.Tags {
			c.Tags[k] = v
		}
	}
	return c
}
