// Package policy builds every IAM, KMS and S3 bucket policy document s3crr
// writes, as typed data with deterministic JSON.
//
// It is the single definition of each permission: the provisioning stages, the
// CDK stacks and the local run's set-up all call these builders. The member
// account simulator (internal/localaws) must never import this package, because
// it judges the documents built here; a permission that is wrong on both sides
// would otherwise pass.
//
// The package depends on nothing but the standard library so that the CDK app
// can import it without pulling in the provisioning code, and callers map their
// request types onto the parameter structs defined here.
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
)

// Version is the policy language version s3crr writes. The older 2008-10-17
// lacks policy variables and is never produced here.
const Version = "2012-10-17"

// Effects a statement may have.
const (
	Allow = "Allow"
	Deny  = "Deny"
)

// Document is one policy document: an identity policy, a trust policy, a key
// policy or a bucket policy.
type Document struct {
	// Version is the policy language version, normally [Version].
	Version string
	// ID is the optional top-level "Id" that bucket and key policies often
	// carry (KMS's default key policy has "key-default-1"); kept so that a
	// merged foreign policy keeps it.
	ID string
	// Statement lists the statements in document order.
	Statement []Statement
	// Extra holds top-level fields this package does not model, raw, so that
	// a foreign policy survives a parse-merge-render cycle without loss.
	Extra map[string]json.RawMessage
}

// Statement is one policy statement.
type Statement struct {
	// Sid identifies the statement; s3crr's Sids all start with [SidPrefix].
	Sid string
	// Effect is [Allow] or [Deny].
	Effect string
	// Principal is nil for identity policies.
	Principal *Principal
	// Action and NotAction are exclusive in valid policies; both are kept as
	// parsed.
	Action, NotAction []string
	// Resource and NotResource are exclusive in valid policies.
	Resource, NotResource []string
	// Condition maps operator -> key -> values, e.g.
	// {"StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com"]}}.
	Condition map[string]map[string][]string
	// Extra holds statement fields this package does not model (NotPrincipal,
	// for one), raw, so foreign statements round-trip without loss.
	Extra map[string]json.RawMessage
}

// Principal is a statement's Principal element.
type Principal struct {
	// All renders as the bare string "*" (everyone, including anonymous).
	// When All is set the lists below are ignored.
	All bool
	// AWS lists account IDs, account root ARNs, role ARNs and so on.
	AWS []string
	// Service lists service principals such as "s3.amazonaws.com".
	Service []string
	// Federated lists identity providers.
	Federated []string
	// CanonicalUser lists S3 canonical user IDs.
	CanonicalUser []string
}

// AWSPrincipal returns a principal naming AWS identities (role ARNs,
// account roots).
func AWSPrincipal(arns ...string) *Principal { return &Principal{AWS: arns} }

// ServicePrincipal returns a principal naming AWS services.
func ServicePrincipal(services ...string) *Principal { return &Principal{Service: services} }

// Everyone returns the "*" principal.
func Everyone() *Principal { return &Principal{All: true} }

// JSON renders the document deterministically and compactly, ready for
// PutRolePolicy, PutKeyPolicy or PutBucketPolicy.
//
// The rendering choices, fixed so that golden files and change detection are
// stable:
//   - top-level keys in the order Version, Id, Statement, then unmodelled keys
//     sorted by name;
//   - statement keys in the order Sid, Effect, Principal, Action, NotAction,
//     Resource, NotResource, Condition, then unmodelled keys sorted by name;
//     empty fields are omitted;
//   - Action, NotAction, Resource, NotResource, every Principal list and every
//     condition value are always rendered as JSON arrays, even with one
//     element, and in the order given (builders choose a meaningful order;
//     order never matters to [Equivalent]);
//   - Principal "*" renders as the bare string; otherwise its types appear in
//     sorted order (AWS, CanonicalUser, Federated, Service);
//   - condition operators and keys are sorted by name;
//   - unmodelled fields are rendered as parsed, compacted;
//   - no HTML escaping, so ARNs and patterns read as written.
func (d Document) JSON() []byte {
	var b bytes.Buffer
	d.write(&b)
	return b.Bytes()
}

// Pretty renders the same document as [Document.JSON], indented by two
// spaces, for golden files, logs and people.
func (d Document) Pretty() []byte {
	var out bytes.Buffer
	if err := json.Indent(&out, d.JSON(), "", "  "); err != nil {
		// JSON always produces valid JSON; reaching here is a bug in write.
		panic(fmt.Sprintf("policy: indent own output: %v", err))
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// String returns the compact JSON, so documents print readably.
func (d Document) String() string { return string(d.JSON()) }

// fieldWriter returns a function that starts the next field of a JSON object being
// written to b: the separator, the quoted name and the colon.
func fieldWriter(b *bytes.Buffer) func(name string) {
	first := true
	return func(name string) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeString(b, name)
		b.WriteByte(':')
	}
}

func (d Document) write(b *bytes.Buffer) {
	b.WriteByte('{')
	field := fieldWriter(b)
	if d.Version != "" {
		field("Version")
		writeString(b, d.Version)
	}
	if d.ID != "" {
		field("Id")
		writeString(b, d.ID)
	}
	field("Statement")
	b.WriteByte('[')
	for i, s := range d.Statement {
		if i > 0 {
			b.WriteByte(',')
		}
		s.write(b)
	}
	b.WriteByte(']')
	for _, k := range sortedKeys(d.Extra) {
		field(k)
		writeRaw(b, d.Extra[k])
	}
	b.WriteByte('}')
}

func (s Statement) write(b *bytes.Buffer) {
	b.WriteByte('{')
	field := fieldWriter(b)
	if s.Sid != "" {
		field("Sid")
		writeString(b, s.Sid)
	}
	if s.Effect != "" {
		field("Effect")
		writeString(b, s.Effect)
	}
	if s.Principal != nil {
		field("Principal")
		s.Principal.write(b)
	}
	for _, l := range []struct {
		name string
		v    []string
	}{{"Action", s.Action}, {"NotAction", s.NotAction}, {"Resource", s.Resource}, {"NotResource", s.NotResource}} {
		if len(l.v) > 0 {
			field(l.name)
			writeStrings(b, l.v)
		}
	}
	if len(s.Condition) > 0 {
		field("Condition")
		b.WriteByte('{')
		for i, op := range sortedKeys(s.Condition) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, op)
			b.WriteString(":{")
			for j, key := range sortedKeys(s.Condition[op]) {
				if j > 0 {
					b.WriteByte(',')
				}
				writeString(b, key)
				b.WriteByte(':')
				writeStrings(b, s.Condition[op][key])
			}
			b.WriteByte('}')
		}
		b.WriteByte('}')
	}
	for _, k := range sortedKeys(s.Extra) {
		field(k)
		writeRaw(b, s.Extra[k])
	}
	b.WriteByte('}')
}

func (p *Principal) write(b *bytes.Buffer) {
	if p.All {
		writeString(b, "*")
		return
	}
	b.WriteByte('{')
	first := true
	for _, l := range []struct {
		name string
		v    []string
	}{{"AWS", p.AWS}, {"CanonicalUser", p.CanonicalUser}, {"Federated", p.Federated}, {"Service", p.Service}} {
		if len(l.v) == 0 {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeString(b, l.name)
		b.WriteByte(':')
		writeStrings(b, l.v)
	}
	b.WriteByte('}')
}

func writeStrings(b *bytes.Buffer, v []string) {
	b.WriteByte('[')
	for i, s := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, s)
	}
	b.WriteByte(']')
}

func writeString(b *bytes.Buffer, s string) {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(fmt.Sprintf("policy: encode string: %v", err)) // strings always encode
	}
	b.Write(bytes.TrimSuffix(tmp.Bytes(), []byte("\n")))
}

func writeRaw(b *bytes.Buffer, raw json.RawMessage) {
	var tmp bytes.Buffer
	if err := json.Compact(&tmp, raw); err != nil {
		// Extra values come from ParseDocument (valid JSON) or from callers;
		// render invalid input as null rather than emitting broken JSON.
		b.WriteString("null")
		return
	}
	b.Write(tmp.Bytes())
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ParseDocument reads a policy document as AWS returns it (GetKeyPolicy,
// GetBucketPolicy, GetRolePolicy after URL-decoding). It accepts every shape
// AWS accepts: Statement as an object or an array; Action, Resource and
// Principal lists as a string or an array; Principal as "*" or an object;
// condition values as strings, booleans, numbers or arrays of them. Fields it
// does not model are kept raw in Extra, so a foreign policy round-trips.
func ParseDocument(data []byte) (Document, error) {
	var top map[string]json.RawMessage
	if err := decode(data, &top); err != nil {
		return Document{}, fmt.Errorf("parse policy document: %w", err)
	}
	if top == nil {
		return Document{}, errors.New("parse policy document: not a JSON object")
	}
	var d Document
	for k, raw := range top {
		var err error
		switch k {
		case "Version":
			err = decode(raw, &d.Version)
		case "Id":
			err = decode(raw, &d.ID)
		case "Statement":
			d.Statement, err = parseStatements(raw)
		default:
			if d.Extra == nil {
				d.Extra = map[string]json.RawMessage{}
			}
			d.Extra[k] = compactRaw(raw)
		}
		if err != nil {
			return Document{}, fmt.Errorf("parse policy document %s: %w", k, err)
		}
	}
	return d, nil
}

// ParseIAMDocument parses a policy document as IAM's Get* calls return it
// (GetRolePolicy, GetRole's AssumeRolePolicyDocument, GetPolicyVersion):
// URL-encoded per RFC 3986. A document that is already plain JSON (as some
// emulators return it) is parsed as is. Percent-decoding, not query
// decoding: a literal "+" in a policy is not a space.
func ParseIAMDocument(s string) (Document, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "%") {
		dec, err := url.PathUnescape(t)
		if err != nil {
			return Document{}, fmt.Errorf("url-decode IAM policy document: %w", err)
		}
		t = dec
	}
	return ParseDocument([]byte(t))
}

func parseStatements(raw json.RawMessage) ([]Statement, error) {
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '{' {
		s, err := parseStatement(raw)
		if err != nil {
			return nil, err
		}
		return []Statement{s}, nil
	}
	var list []json.RawMessage
	if err := decode(raw, &list); err != nil {
		return nil, err
	}
	out := make([]Statement, 0, len(list))
	for i, r := range list {
		s, err := parseStatement(r)
		if err != nil {
			return nil, fmt.Errorf("statement %d: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func parseStatement(raw json.RawMessage) (Statement, error) {
	var fields map[string]json.RawMessage
	if err := decode(raw, &fields); err != nil {
		return Statement{}, err
	}
	if fields == nil {
		return Statement{}, errors.New("statement is not an object")
	}
	var s Statement
	for k, v := range fields {
		var err error
		switch k {
		case "Sid":
			err = decode(v, &s.Sid)
		case "Effect":
			err = decode(v, &s.Effect)
		case "Principal":
			s.Principal, err = parsePrincipal(v)
		case "Action":
			s.Action, err = stringOrList(v)
		case "NotAction":
			s.NotAction, err = stringOrList(v)
		case "Resource":
			s.Resource, err = stringOrList(v)
		case "NotResource":
			s.NotResource, err = stringOrList(v)
		case "Condition":
			s.Condition, err = parseCondition(v)
		default:
			if s.Extra == nil {
				s.Extra = map[string]json.RawMessage{}
			}
			s.Extra[k] = compactRaw(v)
		}
		if err != nil {
			return Statement{}, fmt.Errorf("%s: %w", k, err)
		}
	}
	return s, nil
}

func parsePrincipal(raw json.RawMessage) (*Principal, error) {
	var star string
	if err := decode(raw, &star); err == nil {
		if star != "*" {
			return nil, fmt.Errorf("principal string %q is not \"*\"", star)
		}
		return &Principal{All: true}, nil
	}
	var m map[string]json.RawMessage
	if err := decode(raw, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("principal is null")
	}
	p := &Principal{}
	for k, v := range m {
		l, err := stringOrList(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		switch k {
		case "AWS":
			p.AWS = l
		case "Service":
			p.Service = l
		case "Federated":
			p.Federated = l
		case "CanonicalUser":
			p.CanonicalUser = l
		default:
			// AWS rejects other principal types, so no stored policy has one.
			return nil, fmt.Errorf("unknown principal type %q", k)
		}
	}
	return p, nil
}

func parseCondition(raw json.RawMessage) (map[string]map[string][]string, error) {
	var ops map[string]map[string]json.RawMessage
	if err := decode(raw, &ops); err != nil {
		return nil, err
	}
	if ops == nil {
		return nil, nil
	}
	out := make(map[string]map[string][]string, len(ops))
	for op, keys := range ops {
		m := make(map[string][]string, len(keys))
		for k, v := range keys {
			l, err := scalarOrList(v)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", op, k, err)
			}
			m[k] = l
		}
		out[op] = m
	}
	return out, nil
}

// stringOrList accepts "x" or ["x", ...].
func stringOrList(raw json.RawMessage) ([]string, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, errors.New("want a string or an array of strings, got null")
	}
	var one string
	if err := decode(raw, &one); err == nil {
		return []string{one}, nil
	}
	var list []string
	if err := decode(raw, &list); err != nil {
		return nil, errors.New("want a string or an array of strings")
	}
	if list == nil {
		return nil, errors.New("want a string or an array of strings, got null")
	}
	return list, nil
}

// scalarOrList accepts a string, boolean or number, or an array of them, and
// returns the values as strings (numbers keep their literal spelling), which is
// how AWS compares condition values.
func scalarOrList(raw json.RawMessage) ([]string, error) {
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '[' {
		var list []json.RawMessage
		if err := decode(raw, &list); err != nil {
			return nil, err
		}
		out := make([]string, 0, len(list))
		for _, r := range list {
			s, err := scalar(r)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := scalar(raw)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

func scalar(raw json.RawMessage) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		if x {
			return "true", nil
		}
		return "false", nil
	case json.Number:
		return x.String(), nil
	default:
		return "", errors.New("condition value must be a string, boolean or number")
	}
}

// decode is json.Unmarshal that rejects trailing data, so "a" "b" is not
// silently read as "a".
func decode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

func compactRaw(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return append(json.RawMessage(nil), raw...)
	}
	return b.Bytes()
}

// clone returns a deep copy, so merged documents never alias their inputs.
func (s Statement) clone() Statement {
	c := s
	if s.Principal != nil {
		p := *s.Principal
		p.AWS = cloneStrings(p.AWS)
		p.Service = cloneStrings(p.Service)
		p.Federated = cloneStrings(p.Federated)
		p.CanonicalUser = cloneStrings(p.CanonicalUser)
		c.Principal = &p
	}
	c.Action = cloneStrings(s.Action)
	c.NotAction = cloneStrings(s.NotAction)
	c.Resource = cloneStrings(s.Resource)
	c.NotResource = cloneStrings(s.NotResource)
	if s.Condition != nil {
		c.Condition = make(map[string]map[string][]string, len(s.Condition))
		for op, keys := range s.Condition {
			m := make(map[string][]string, len(keys))
			for k, v := range keys {
				m[k] = cloneStrings(v)
			}
			c.Condition[op] = m
		}
	}
	c.Extra = cloneRaw(s.Extra)
	return c
}

func cloneStrings(v []string) []string {
	if v == nil {
		return nil
	}
	return append([]string(nil), v...)
}

func cloneRaw(m map[string]json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		return nil
	}
	c := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		c[k] = append(json.RawMessage(nil), v...)
	}
	return c
}
