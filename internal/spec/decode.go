package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// Decode reads a request strictly: unknown fields (matched case-sensitively,
// unlike encoding/json), duplicate fields, wrong types, null values and trailing
// data are all errors, each naming its JSON path. It reports every such problem
// at once as a *ValidationError. It does not apply defaults or validate values:
// see Parse.
//
// Decode walks the document itself instead of using json.Unmarshal because
// Unmarshal matches field names case-insensitively, keeps the last of duplicate
// fields and names no path for unknown fields — each of which would let a typo
// ("kmsKeyARN", "Prefix") be silently ignored or accepted differently from the
// JSON Schema.
func Decode(data []byte) (Request, error) {
	r, ps, _ := decode(data)
	if err := ps.err(); err != nil {
		return Request{}, err
	}
	return r, nil
}

// decode does the work of Decode. It returns what it could decode along with
// the problems; whole is false when the document could not be read as an
// object at all, so nothing decoded is worth validating.
func decode(data []byte) (r Request, ps problems, whole bool) {
	if len(data) > MaxRequestBytes {
		ps.add("", fmt.Sprintf("request is %d bytes, more than the %d allowed", len(data), MaxRequestBytes),
			"send only the pair request; a real one is well under 2 KiB")
		return r, ps, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		ps.add("", "not valid JSON: "+jsonErrText(err), "fix the JSON syntax (an editor with a JSON mode points at the error)")
		return r, ps, false
	}
	if _, err := dec.Token(); err != io.EOF {
		ps.add("", fmt.Sprintf("unexpected data after the request object at byte %d", dec.InputOffset()),
			"send exactly one JSON object")
		return r, ps, false
	}
	root, err := readTree(raw)
	if err != nil {
		// raw was accepted by the decoder above, so this is not expected.
		ps.add("", "not valid JSON: "+jsonErrText(err), "fix the JSON syntax")
		return r, ps, false
	}
	if root.kind != kindObject {
		ps.add("", "request must be a JSON object, not "+root.kind.String(),
			`send an object like {"pairId": ..., "source": {...}, "destination": {...}, "rule": {...}}`)
		return r, ps, false
	}
	d := decoder{ps: &ps}
	d.object("", "the request", root, requestFields, func(name, path string, v *node) {
		switch name {
		case "pairId":
			r.PairID = d.str(path, v)
		case "source":
			r.Source = d.endpoint(path, v)
		case "destination":
			r.Destination = d.endpoint(path, v)
		case "rule":
			r.Rule = d.rule(path, v)
		case "allowSameRegion":
			r.AllowSameRegion = d.boolean(path, v)
		case "destinations":
			r.Destinations = d.destinations(path, v)
		case "twoWay":
			r.TwoWay = d.boolean(path, v)
		case "replicationRole":
			r.ReplicationRole = d.optStr(path, v)
		}
	})
	return r, ps, true
}

// destinations decodes a fan-out request's list: each entry an endpoint with an
// optional rule of its own.
func (d decoder) destinations(path string, n *node) []Destination {
	if !d.want(path, n, kindArray, `an array of destinations, e.g. [{"account": ..., "region": ..., "bucket": ...}]`) {
		return nil
	}
	out := make([]Destination, len(n.values))
	for i, v := range n.values {
		p := fmt.Sprintf("%s[%d]", path, i)
		if !d.want(p, v, kindObject, "an object with account, region and bucket") {
			continue
		}
		// The entry is an endpoint plus "rule": split the rule off and decode the rest
		// as an endpoint, so endpoint fields keep one decoder.
		ep := &node{kind: kindObject}
		for j, key := range v.keys {
			if key == "rule" {
				r := d.rule(joinPath(p, key), v.values[j])
				out[i].Rule = &r
				continue
			}
			ep.keys = append(ep.keys, key)
			ep.values = append(ep.values, v.values[j])
		}
		out[i].Endpoint = d.endpointWith(p, ep, destinationFields)
	}
	return out
}

// The known fields of each object, in the order they are documented; the
// unknown-field fix lists them.
var (
	requestFields     = []string{"pairId", "source", "destination", "destinations", "rule", "allowSameRegion", "twoWay", "replicationRole"}
	endpointFields    = []string{"account", "region", "bucket", "kmsKeyAlias", "kmsKeyArn"}
	destinationFields = append(endpointFields[:len(endpointFields):len(endpointFields)], "rule")
	ruleFields        = []string{
		"id", "priority", "prefix", "tags", "storageClass", "deleteMarkerReplication",
		"replicationTimeControl", "metrics", "ownerOverride", "bucketKeyEnabled", "replicaModifications",
		"replicateExisting",
	}
)

// decoder maps a checked JSON tree onto Request, recording type problems.
type decoder struct {
	ps *problems
}

// object walks the fields of n, reporting unknown and duplicate fields, and
// calls set for each known one.
func (d decoder) object(path, what string, n *node, known []string, set func(name, path string, v *node)) {
	seen := make(map[string]bool, len(n.keys))
	for i, key := range n.keys {
		p := joinPath(path, key)
		if !contains(known, key) {
			fix := "remove it; the fields of " + what + " are: " + strings.Join(known, ", ")
			if s := suggest(key, known); s != "" {
				fix = fmt.Sprintf("did you mean %q? (field names are case-sensitive); the fields of %s are: %s",
					s, what, strings.Join(known, ", "))
			}
			d.ps.add(p, "unknown field", fix)
			continue
		}
		if seen[key] {
			d.ps.add(p, "field appears more than once", "keep one occurrence")
			continue
		}
		seen[key] = true
		set(key, p, n.values[i])
	}
}

func (d decoder) endpoint(path string, n *node) Endpoint {
	return d.endpointWith(path, n, endpointFields)
}

// endpointWith decodes an endpoint whose object may also hold the fields known lists
// beyond the endpoint's (a destinations entry's rule, decoded by the caller).
func (d decoder) endpointWith(path string, n *node, known []string) Endpoint {
	var e Endpoint
	if !d.want(path, n, kindObject, "an object with account, region and bucket") {
		return e
	}
	d.object(path, path, n, known, func(name, p string, v *node) {
		switch name {
		case "account":
			e.Account = d.str(p, v)
		case "region":
			e.Region = d.str(p, v)
		case "bucket":
			e.Bucket = d.str(p, v)
		case "kmsKeyAlias":
			e.KMSKeyAlias = d.optStr(p, v)
		case "kmsKeyArn":
			e.KMSKeyARN = d.optStr(p, v)
		}
	})
	return e
}

func (d decoder) rule(path string, n *node) Rule {
	var r Rule
	if !d.want(path, n, kindObject, "an object") {
		return r
	}
	d.object(path, path, n, ruleFields, func(name, p string, v *node) {
		switch name {
		case "id":
			r.ID = d.optStr(p, v)
		case "priority":
			r.Priority = d.int32(p, v)
		case "prefix":
			r.Prefix = d.str(p, v)
		case "tags":
			r.Tags = d.tags(p, v)
		case "storageClass":
			r.StorageClass = d.optStr(p, v)
		case "deleteMarkerReplication":
			r.DeleteMarkerReplication = d.boolean(p, v)
		case "replicationTimeControl":
			r.ReplicationTimeControl = d.boolean(p, v)
		case "metrics":
			b := d.boolean(p, v)
			r.Metrics = &b
		case "ownerOverride":
			r.OwnerOverride = d.boolean(p, v)
		case "bucketKeyEnabled":
			b := d.boolean(p, v)
			r.BucketKeyEnabled = &b
		case "replicaModifications":
			r.ReplicaModifications = d.boolean(p, v)
		case "replicateExisting":
			r.ReplicateExisting = d.boolean(p, v)
		}
	})
	return r
}

func (d decoder) tags(path string, n *node) map[string]string {
	if !d.want(path, n, kindObject, `an object of tag key to value, e.g. {"replicate": "true"}`) {
		return nil
	}
	tags := make(map[string]string, len(n.keys))
	for i, key := range n.keys {
		p := tagPath(path, key)
		if _, dup := tags[key]; dup {
			d.ps.add(p, "tag appears more than once", "keep one occurrence")
			continue
		}
		tags[key] = d.str(p, n.values[i])
	}
	return tags
}

func (d decoder) str(path string, n *node) string {
	fix := "write the value as a JSON string, in quotes"
	if n.kind == kindNumber && strings.HasSuffix(path, ".account") {
		fix = `write it in quotes, e.g. "012345678901": account IDs are strings and may start with 0`
	}
	if !d.wantFix(path, n, kindString, fix) {
		return ""
	}
	return n.str
}

// optStr reads an optional string whose empty value would be ambiguous: an
// explicit "" is rejected rather than read as "use the default", so that the
// request says what it means and the JSON Schema can say the same.
func (d decoder) optStr(path string, n *node) string {
	s := d.str(path, n)
	if n.kind == kindString && s == "" {
		d.ps.add(path, "must not be empty", "leave the field out to get its default, or give a value")
	}
	return s
}

func (d decoder) boolean(path string, n *node) bool {
	if !d.wantFix(path, n, kindBool, "write true or false, without quotes") {
		return false
	}
	return n.b
}

// int32 accepts any JSON number with an integral value in int32 range (so 5.0
// and 5e0 are 5, as in JSON Schema's "integer").
func (d decoder) int32(path string, n *node) *int32 {
	if !d.wantFix(path, n, kindNumber, "write a whole number without quotes, e.g. 10") {
		return nil
	}
	f, ok := new(big.Float).SetString(string(n.num))
	if !ok || !f.IsInt() {
		d.ps.add(path, "must be a whole number, got "+string(n.num), "write a whole number, e.g. 10")
		return nil
	}
	i, acc := f.Int64()
	if acc != big.Exact || i < math.MinInt32 || i > math.MaxInt32 {
		d.ps.add(path, "is out of range, got "+string(n.num), "use a number from 0 to 2147483647")
		return nil
	}
	v := int32(i)
	return &v
}

func (d decoder) want(path string, n *node, k nodeKind, desc string) bool {
	return d.wantFix(path, n, k, "write "+desc)
}

func (d decoder) wantFix(path string, n *node, k nodeKind, fix string) bool {
	if n.kind == k {
		return true
	}
	msg := "must be " + k.String() + ", got " + n.kind.String()
	if n.kind == kindNull {
		fix = "leave the field out to get its default, or " + fix
	}
	d.ps.add(path, msg, fix)
	return false
}

// joinPath builds the dotted JSON path used in Problem.Path.
func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// tagPath names a tag: rule.tags.env, or rule.tags["a.b"] when the key is not
// a plain identifier and a dot would be ambiguous.
func tagPath(parent, key string) string {
	plain := key != ""
	for _, c := range key {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			plain = false
			break
		}
	}
	if plain {
		return parent + "." + key
	}
	return parent + "[" + strconv.Quote(key) + "]"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the known field closest to an unknown one (same letters in
// another case, or at most two edits away), or "".
func suggest(key string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if strings.EqualFold(k, key) {
			return k
		}
		if d := editDistance(strings.ToLower(key), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// jsonErrText describes a JSON syntax error with its byte offset.
func jsonErrText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	if errors.Is(err, io.EOF) {
		return "document is empty"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "document ends too early"
	}
	return err.Error()
}

// nodeKind is the JSON type of a node.
type nodeKind int

const (
	kindNull nodeKind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

func (k nodeKind) String() string {
	switch k {
	case kindBool:
		return "a boolean"
	case kindNumber:
		return "a number"
	case kindString:
		return "a string"
	case kindArray:
		return "an array"
	case kindObject:
		return "an object"
	}
	return "null"
}

// node is a JSON value that keeps object fields in order and keeps duplicates,
// so that Decode can report them.
type node struct {
	kind   nodeKind
	b      bool
	num    json.Number
	str    string
	keys   []string // object field names, in document order
	values []*node  // object field values, or array items
}

// readTree parses one JSON value into a node tree.
func readTree(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return readNode(dec)
}

func readNode(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return &node{kind: kindNull}, nil
	case bool:
		return &node{kind: kindBool, b: t}, nil
	case json.Number:
		return &node{kind: kindNumber, num: t}, nil
	case string:
		return &node{kind: kindString, str: t}, nil
	case json.Delim:
		n := &node{kind: kindArray}
		if t == '{' {
			n.kind = kindObject
		}
		for dec.More() {
			if n.kind == kindObject {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key is %v, not a string", kt)
				}
				n.keys = append(n.keys, key)
			}
			v, err := readNode(dec)
			if err != nil {
				return nil, err
			}
			n.values = append(n.values, v)
		}
		if _, err := dec.Token(); err != nil { // closing delimiter
			return nil, err
		}
		return n, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// sortedKeys returns the keys of m in order, for deterministic problem lists.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
