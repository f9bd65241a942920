package localaws

import "strings"

// Rule selection, as S3 applies a replication configuration to a new version
// ([UG] replication-add-config, replication-what-is-isnot-replicated):
//   - only Enabled rules whose filter matches (prefix, every filter tag, or both with And)
//     count; a V1 rule (no Filter) matches by its top-level Prefix;
//   - rules naming the same destination bucket compete: the highest Priority wins (the first
//     written wins a tie, which S3's validation does not let happen for V2 rules), so a
//     version replicates at most once to each destination;
//   - the winning rule then decides whether the version qualifies at all: delete markers
//     only with DeleteMarkerReplication Enabled (V1 rules always replicate them) and never
//     under a tag filter; SSE-KMS objects only with SseKmsEncryptedObjects Enabled; objects
//     in GLACIER or DEEP_ARCHIVE never. A version that does not qualify gets no status.

// replSelectRules returns the rule that applies to v for each destination, or nil when v is not
// replicated. The caller holds s.mu.
func replSelectRules(cfg *replicationConfig, v *objectVersion) []*replicationRule {
	best := map[string]*replicationRule{} // by destination bucket ARN
	var order []string
	for _, r := range cfg.rules {
		if r.status != "Enabled" || !replRuleMatches(r, v) {
			continue
		}
		cur, seen := best[r.destBucketARN]
		if !seen {
			order = append(order, r.destBucketARN)
		}
		if !seen || r.priority > cur.priority {
			best[r.destBucketARN] = r
		}
	}
	var out []*replicationRule
	for _, dest := range order {
		if r := best[dest]; replRuleQualifies(r, v) {
			out = append(out, r)
		}
	}
	return out
}

// replRuleMatches reports whether r's filter selects v's key and tags.
func replRuleMatches(r *replicationRule, v *objectVersion) bool {
	if !strings.HasPrefix(v.key, r.prefix) {
		return false
	}
	for k, want := range r.filterTags {
		// Delete markers carry no tags, so tag-filtered rules never select them.
		if got, ok := v.tags[k]; !ok || got != want || v.isDeleteMarker {
			return false
		}
	}
	return true
}

// replRuleQualifies applies the winning rule's conditions on the kind of version.
func replRuleQualifies(r *replicationRule, v *objectVersion) bool {
	if v.isDeleteMarker {
		if len(r.filterTags) > 0 {
			return false
		}
		// V1 rules (no Filter) replicate delete markers; V2 rules only when asked.
		return !r.v2 || r.deleteMarkerReplication
	}
	if s3IsKMS(v.sse) && !r.sseKMSEncryptedObjects {
		return false
	}
	switch v.storageClass {
	case "GLACIER", "DEEP_ARCHIVE":
		return false
	}
	return true
}
