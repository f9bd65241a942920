package policy

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sort"
	"strings"
)

// Merge adds s3crr's statements to an existing policy without disturbing
// anyone else's: a statement whose Sid matches one of ours is replaced in
// place by ours; every other statement (other Sids, or no Sid) is kept, in its
// original order; our statements not yet present are appended in the order
// given. An empty existing document gets [Version].
//
// changed is false when the merged document is [Equivalent] to the existing
// one, so an ensure stage can skip the write and report no change.
//
// Statements in ours must have distinct, non-empty Sids; a statement without
// a Sid is appended only if no equivalent statement is already present.
func Merge(existing Document, ours []Statement) (merged Document, changed bool) {
	bySid := make(map[string]int, len(ours))
	for i, s := range ours {
		if s.Sid != "" {
			bySid[s.Sid] = i
		}
	}
	merged = Document{
		Version: existing.Version,
		ID:      existing.ID,
		Extra:   cloneRaw(existing.Extra),
	}
	if merged.Version == "" {
		merged.Version = Version
	}
	placed := make(map[int]bool, len(ours))
	for _, s := range existing.Statement {
		i, isOurs := bySid[s.Sid]
		if s.Sid == "" || !isOurs {
			merged.Statement = append(merged.Statement, s.clone())
			continue
		}
		if placed[i] {
			// A second statement with one of our Sids: ours already replaced
			// the first, and a policy must not carry a Sid twice.
			continue
		}
		placed[i] = true
		merged.Statement = append(merged.Statement, ours[i].clone())
	}
	for i, s := range ours {
		if placed[i] {
			continue
		}
		if s.Sid == "" && containsEquivalent(merged.Statement, s) {
			continue
		}
		merged.Statement = append(merged.Statement, s.clone())
	}
	return merged, !Equivalent(existing, merged)
}

// Remove returns the document without the statements whose Sid is listed,
// for taking a pair down; removed reports whether any statement went.
func Remove(existing Document, sids ...string) (out Document, removed bool) {
	drop := make(map[string]bool, len(sids))
	for _, s := range sids {
		drop[s] = true
	}
	out = Document{Version: existing.Version, ID: existing.ID, Extra: cloneRaw(existing.Extra)}
	for _, s := range existing.Statement {
		if s.Sid != "" && drop[s.Sid] {
			removed = true
			continue
		}
		out.Statement = append(out.Statement, s.clone())
	}
	return out, removed
}

func containsEquivalent(list []Statement, s Statement) bool {
	c := canonicalStatement(s)
	for _, x := range list {
		if canonicalStatement(x) == c {
			return true
		}
	}
	return false
}

// Equivalent reports whether two documents mean the same to AWS's policy
// evaluation, ignoring representation: statement order; value order and
// duplicates inside every list; a string versus a one-element list; the case
// of action names and condition keys (both case-insensitive in IAM); a
// 12-digit account ID versus its root ARN in an AWS principal (S3 and KMS
// store the latter); and key order and whitespace in unmodelled fields.
// Sids, effects, resources and condition values are compared exactly.
func Equivalent(a, b Document) bool {
	if a.Version != b.Version || a.ID != b.ID {
		return false
	}
	if canonicalRawMap(a.Extra) != canonicalRawMap(b.Extra) {
		return false
	}
	if len(a.Statement) != len(b.Statement) {
		return false
	}
	ca := canonicalStatements(a.Statement)
	cb := canonicalStatements(b.Statement)
	for i := range ca {
		if ca[i] != cb[i] {
			return false
		}
	}
	return true
}

// StatementsEquivalent reports whether two statements mean the same, under
// the rules of [Equivalent].
func StatementsEquivalent(a, b Statement) bool {
	return canonicalStatement(a) == canonicalStatement(b)
}

func canonicalStatements(list []Statement) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = canonicalStatement(s)
	}
	sort.Strings(out)
	return out
}

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// canonicalStatement renders a statement in a normal form: the same string
// for statements that differ only in representation.
func canonicalStatement(s Statement) string {
	c := Statement{
		Sid:         s.Sid,
		Effect:      s.Effect,
		Action:      normSet(s.Action, strings.ToLower),
		NotAction:   normSet(s.NotAction, strings.ToLower),
		Resource:    normSet(s.Resource, nil),
		NotResource: normSet(s.NotResource, nil),
	}
	if s.Principal != nil {
		p := &Principal{All: s.Principal.All}
		if !p.All {
			p.AWS = normSet(s.Principal.AWS, func(v string) string {
				if accountID.MatchString(v) {
					return AccountRootARN(v)
				}
				return v
			})
			p.Service = normSet(s.Principal.Service, nil)
			p.Federated = normSet(s.Principal.Federated, nil)
			p.CanonicalUser = normSet(s.Principal.CanonicalUser, nil)
		}
		c.Principal = p
	}
	if len(s.Condition) > 0 {
		c.Condition = map[string]map[string][]string{}
		for op, keys := range s.Condition {
			m := c.Condition[op]
			if m == nil {
				m = map[string][]string{}
				c.Condition[op] = m
			}
			for k, v := range keys {
				lk := strings.ToLower(k)
				m[lk] = normSet(append(m[lk], v...), nil)
			}
		}
	}
	var b bytes.Buffer
	c.write(&b)
	b.WriteString(canonicalRawMap(s.Extra))
	return b.String()
}

// normSet maps, sorts and de-duplicates a list; nil and empty both give nil.
func normSet(v []string, f func(string) string) []string {
	if len(v) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(v))
	out := make([]string, 0, len(v))
	for _, s := range v {
		if f != nil {
			s = f(s)
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// canonicalRawMap renders unmodelled fields with sorted keys and with arrays
// of scalars sorted, since IAM treats every list in a policy as a set.
func canonicalRawMap(m map[string]json.RawMessage) string {
	if len(m) == 0 {
		return ""
	}
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		var v any
		dec := json.NewDecoder(bytes.NewReader(m[k]))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			b.WriteString(k + "=" + string(m[k]) + ";")
			continue
		}
		out, err := json.Marshal(sortScalars(v))
		if err != nil {
			out = m[k]
		}
		b.WriteString(k + "=" + string(out) + ";")
	}
	return b.String()
}

func sortScalars(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = sortScalars(e)
		}
		return x
	case []any:
		if len(x) == 1 {
			// A one-element list means the same as the bare value.
			return sortScalars(x[0])
		}
		allStrings := true
		for i, e := range x {
			x[i] = sortScalars(e)
			if _, ok := x[i].(string); !ok {
				allStrings = false
			}
		}
		if allStrings {
			sort.Slice(x, func(i, j int) bool { return x[i].(string) < x[j].(string) })
		}
		return x
	default:
		return v
	}
}

// DelegatesToIAM reports whether a key policy lets the account's IAM policies
// grant the given KMS action: an unconditioned Allow for the account root (or
// the bare account ID) whose actions cover it and whose resource is "*". This
// is the "Enable IAM User Permissions" statement of [DefaultKeyPolicy].
func DelegatesToIAM(keyPolicy Document, account, action string) bool {
	root := AccountRootARN(account)
	for _, s := range keyPolicy.Statement {
		if s.Effect != Allow || s.Principal == nil || len(s.Condition) > 0 || len(s.NotAction) > 0 || len(s.NotResource) > 0 || len(s.Extra) > 0 {
			continue
		}
		names := false
		for _, p := range s.Principal.AWS {
			if p == root || p == account {
				names = true
			}
		}
		if !names || !matchesAny(s.Resource, "*") || !matchesAnyFold(s.Action, action) {
			continue
		}
		return true
	}
	return false
}

func matchesAny(patterns []string, v string) bool {
	for _, p := range patterns {
		if p == v {
			return true
		}
	}
	return false
}

func matchesAnyFold(patterns []string, v string) bool {
	for _, p := range patterns {
		if GlobMatch(strings.ToLower(p), strings.ToLower(v)) {
			return true
		}
	}
	return false
}

// GlobMatch matches IAM action and resource wildcards: * any run of characters (including
// /), ? one character. It compares bytes as they are; callers fold case for actions, which
// IAM matches case-insensitively. internal/verify judges live policies with it, so what
// merge treats as covered and what verify reports as allowed match alike.
func GlobMatch(pattern, s string) bool {
	p, v := 0, 0
	star, mark := -1, 0
	for v < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[v]):
			p++
			v++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, v
			p++
		case star >= 0:
			p = star + 1
			mark++
			v = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// RemovePair returns the document without the per-pair statements s3crr wrote for pairID
// (the Sids SidFor makes for it), keeping every other statement: other pairs', the
// bucket-wide ones (SidDenyInsecureTransport protects the data that stays) and foreign
// ones. sids lists what went, in document order.
func RemovePair(existing Document, pairID string) (out Document, sids []string) {
	want := camel(pairID)
	for _, s := range existing.Statement {
		if pair, _, ok := ParseSid(s.Sid); ok && pair != "" && pair == want {
			sids = append(sids, s.Sid)
		}
	}
	out, _ = Remove(existing, sids...)
	return out, sids
}
