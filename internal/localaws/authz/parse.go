package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Effect is a statement's Effect element.
type Effect string

// The two effects AWS accepts.
const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Policy is a parsed IAM policy document: identity, permissions boundary,
// bucket, key or trust policy.
type Policy struct {
	// Version is the policy language version, "" when the document has none.
	Version string
	// ID is the optional top-level Id element.
	ID string
	// Statements are the statements in document order.
	Statements []Statement

	raw []byte
}

// Statement is one parsed policy statement.
type Statement struct {
	// Sid is the statement ID, "" when absent.
	Sid string
	// Effect is Allow or Deny.
	Effect Effect
	// Principal is the Principal element; nil when the statement has none
	// (identity and boundary policies).
	Principal *Principals
	// Actions and NotActions hold the Action or NotAction patterns; exactly
	// one of them is non-empty.
	Actions    []string
	NotActions []string
	// Resources and NotResources hold the Resource or NotResource patterns;
	// both are empty when the statement has neither (trust policies).
	Resources    []string
	NotResources []string
	// Conditions are the Condition element's entries, sorted by operator and
	// key so evaluation and reasons are deterministic.
	Conditions []Condition
	// Raw is the statement as written in the document.
	Raw json.RawMessage
}

// Principals is a statement's Principal element.
type Principals struct {
	// Wildcard is true for "Principal": "*".
	Wildcard bool
	// AWS, Service, Federated and CanonicalUser are the values under those
	// keys, as written.
	AWS           []string
	Service       []string
	Federated     []string
	CanonicalUser []string
}

// Condition is one (operator, key) entry of a Condition element.
type Condition struct {
	// Operator is the operator as written, e.g. "ForAnyValue:StringLikeIfExists".
	Operator string
	// Key is the condition key as written.
	Key string
	// Values are the values, with booleans and numbers in their JSON text form.
	Values []string

	// unsupported is non-empty when the entry cannot be evaluated; it is the
	// reason without the statement label.
	unsupported string
	op          operator
}

// Raw returns the document Parse was given.
func (p *Policy) Raw() []byte { return p.raw }

// PrincipalARNs returns every Principal.AWS value across the statements, as
// written, in document order without duplicates. KMS uses it to reject key
// policies naming principals that do not exist; values that are not ARNs
// ("*", bare account IDs) are included for the caller to skip.
func (p *Policy) PrincipalARNs() []string {
	return p.collect(func(pr *Principals) []string { return pr.AWS })
}

// ServicePrincipals returns every Principal.Service value across the
// statements, in document order without duplicates.
func (p *Policy) ServicePrincipals() []string {
	return p.collect(func(pr *Principals) []string { return pr.Service })
}

func (p *Policy) collect(get func(*Principals) []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, st := range p.Statements {
		if st.Principal == nil {
			continue
		}
		for _, v := range get(st.Principal) {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	return out
}

// Kind is the role a policy document plays; AWS validates each kind
// differently when the document is stored.
type Kind int

// The kinds of policy documents the simulator stores.
const (
	// KindIdentity is an inline or managed identity policy or a permissions
	// boundary: no Principal, Resource required.
	KindIdentity Kind = iota
	// KindResource is a bucket or key policy: Principal and Resource required.
	KindResource
	// KindTrust is a role's trust policy: Principal required, no Resource,
	// only sts:* actions.
	KindTrust
)

// CheckKind reports whether p is acceptable as a policy of kind k, with the
// messages IAM, S3 and KMS use for MalformedPolicyDocument. Parse cannot
// check this because one grammar serves all kinds.
func (p *Policy) CheckKind(k Kind) error {
	for i, st := range p.Statements {
		label := st.label(i)
		switch k {
		case KindIdentity:
			if st.Principal != nil {
				return fmt.Errorf("Policy document should not specify a principal (%s).", label)
			}
			if len(st.Resources) == 0 && len(st.NotResources) == 0 {
				return fmt.Errorf("Policy statement must contain resources (%s).", label)
			}
		case KindResource:
			if st.Principal == nil {
				return fmt.Errorf("Missing required field Principal (%s).", label)
			}
			if len(st.Resources) == 0 && len(st.NotResources) == 0 {
				return fmt.Errorf("Missing required field Resource (%s).", label)
			}
		case KindTrust:
			if st.Principal == nil {
				return fmt.Errorf("AssumeRolepolicy contained an invalid principal (%s): missing Principal.", label)
			}
			if len(st.Resources) > 0 || len(st.NotResources) > 0 {
				return fmt.Errorf("Has prohibited field Resource (%s).", label)
			}
			for _, a := range append(append([]string(nil), st.Actions...), st.NotActions...) {
				if a != "*" && !strings.HasPrefix(strings.ToLower(a), "sts:") {
					return fmt.Errorf("AssumeRole policy may only specify STS AssumeRole actions (%s).", label)
				}
			}
		default:
			return fmt.Errorf("unknown policy kind %d", k)
		}
	}
	return nil
}

// label names a statement in reasons: its Sid, or its 1-based position.
func (st *Statement) label(i int) string {
	if st.Sid != "" {
		return fmt.Sprintf("statement %q", st.Sid)
	}
	return fmt.Sprintf("statement #%d", i+1)
}

// Parse parses an IAM policy document (identity, boundary, resource, key or
// trust policy). It accepts AWS's shapes: Statement as an object or an array;
// Action, NotAction, Resource and NotResource as a string or an array;
// Principal as "*" or an object of AWS/Service/Federated/CanonicalUser to a
// string or an array; condition values as strings, booleans, numbers or arrays
// of them. It rejects malformed documents with an error whose message suits
// AWS's MalformedPolicyDocument error. Unknown condition operators and keys
// parse: they are judged at evaluation time, where they deny. NotPrincipal is
// rejected because the simulator does not evaluate it, and refusing to store
// it is safer than guessing.
func Parse(doc []byte) (*Policy, error) {
	top, err := decodeObject(doc)
	if err != nil {
		return nil, fmt.Errorf("Syntax errors in policy: %w", err)
	}
	p := &Policy{raw: append([]byte(nil), doc...)}
	var stmtRaw json.RawMessage
	for k, v := range top {
		switch k {
		case "Version":
			if p.Version, err = decodeString(v); err != nil {
				return nil, fmt.Errorf("Version: %w", err)
			}
			if p.Version != "2012-10-17" && p.Version != "2008-10-17" {
				return nil, fmt.Errorf("The policy failed legacy parsing: unsupported Version %q.", p.Version)
			}
		case "Id":
			if p.ID, err = decodeString(v); err != nil {
				return nil, fmt.Errorf("Id: %w", err)
			}
		case "Statement":
			stmtRaw = v
		default:
			return nil, fmt.Errorf("Syntax errors in policy: unknown field %q.", k)
		}
	}
	if stmtRaw == nil {
		return nil, errors.New("Missing required field Statement.")
	}
	raws, err := oneOrMany(stmtRaw)
	if err != nil {
		return nil, fmt.Errorf("Syntax errors in policy: Statement: %w", err)
	}
	if len(raws) == 0 {
		return nil, errors.New("Policy document must contain at least one statement.")
	}
	sids := map[string]bool{}
	for i, r := range raws {
		st, err := parseStatement(r)
		if err != nil {
			return nil, fmt.Errorf("%w (statement #%d)", err, i+1)
		}
		if st.Sid != "" {
			if sids[st.Sid] {
				return nil, fmt.Errorf("Statement IDs (SID) in a single policy must be unique: %q.", st.Sid)
			}
			sids[st.Sid] = true
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

func parseStatement(raw json.RawMessage) (Statement, error) {
	st := Statement{Raw: raw}
	obj, err := decodeObject(raw)
	if err != nil {
		return st, fmt.Errorf("Syntax errors in policy: %w", err)
	}
	var hasAction, hasNotAction, hasResource, hasNotResource bool
	for k, v := range obj {
		switch k {
		case "Sid":
			if st.Sid, err = decodeString(v); err != nil {
				return st, fmt.Errorf("Sid: %w", err)
			}
		case "Effect":
			s, err := decodeString(v)
			if err != nil {
				return st, fmt.Errorf("Effect: %w", err)
			}
			if s != string(Allow) && s != string(Deny) {
				return st, fmt.Errorf("Invalid effect: %s.", s)
			}
			st.Effect = Effect(s)
		case "Action":
			hasAction = true
			if st.Actions, err = stringList(v); err != nil {
				return st, fmt.Errorf("Action: %w", err)
			}
		case "NotAction":
			hasNotAction = true
			if st.NotActions, err = stringList(v); err != nil {
				return st, fmt.Errorf("NotAction: %w", err)
			}
		case "Resource":
			hasResource = true
			if st.Resources, err = stringList(v); err != nil {
				return st, fmt.Errorf("Resource: %w", err)
			}
		case "NotResource":
			hasNotResource = true
			if st.NotResources, err = stringList(v); err != nil {
				return st, fmt.Errorf("NotResource: %w", err)
			}
		case "Principal":
			if st.Principal, err = parsePrincipal(v); err != nil {
				return st, err
			}
		case "NotPrincipal":
			return st, errors.New("NotPrincipal is not supported by the simulator.")
		case "Condition":
			if st.Conditions, err = parseConditions(v); err != nil {
				return st, err
			}
		default:
			return st, fmt.Errorf("Syntax errors in policy: unknown field %q.", k)
		}
	}
	switch {
	case st.Effect == "":
		return st, errors.New("Missing required field Effect.")
	case !hasAction && !hasNotAction:
		return st, errors.New("Policy statement must contain actions.")
	case hasAction && hasNotAction:
		return st, errors.New("Statement cannot contain both Action and NotAction.")
	case hasResource && hasNotResource:
		return st, errors.New("Statement cannot contain both Resource and NotResource.")
	}
	for _, a := range append(append([]string(nil), st.Actions...), st.NotActions...) {
		if err := checkAction(a); err != nil {
			return st, err
		}
	}
	for _, r := range append(append([]string(nil), st.Resources...), st.NotResources...) {
		if r != "*" && !strings.HasPrefix(r, "arn:") {
			return st, fmt.Errorf("Invalid resource: %q is not an ARN.", r)
		}
	}
	return st, nil
}

func checkAction(a string) error {
	if a == "*" {
		return nil
	}
	svc, name, ok := strings.Cut(a, ":")
	if !ok || svc == "" || name == "" {
		return fmt.Errorf("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.: %q.", a)
	}
	if strings.ContainsAny(svc, "*?") {
		return fmt.Errorf("Action vendors must not contain wildcards: %q.", a)
	}
	return nil
}

func parsePrincipal(raw json.RawMessage) (*Principals, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		s, err := decodeString(raw)
		if err != nil {
			return nil, fmt.Errorf("Principal: %w", err)
		}
		if s != "*" {
			return nil, fmt.Errorf("Invalid principal in policy: %q (only \"*\" may be a bare string).", s)
		}
		return &Principals{Wildcard: true}, nil
	}
	obj, err := decodeObject(raw)
	if err != nil {
		return nil, fmt.Errorf("Invalid principal in policy: %w", err)
	}
	if len(obj) == 0 {
		return nil, errors.New("Invalid principal in policy: empty Principal.")
	}
	p := &Principals{}
	for k, v := range obj {
		vals, err := stringList(v)
		if err != nil {
			return nil, fmt.Errorf("Invalid principal in policy: %s: %w", k, err)
		}
		if len(vals) == 0 {
			return nil, fmt.Errorf("Invalid principal in policy: %s is empty.", k)
		}
		switch k {
		case "AWS":
			p.AWS = vals
		case "Service":
			p.Service = vals
		case "Federated":
			p.Federated = vals
		case "CanonicalUser":
			p.CanonicalUser = vals
		default:
			return nil, fmt.Errorf("Invalid principal in policy: unknown principal type %q.", k)
		}
	}
	return p, nil
}

func parseConditions(raw json.RawMessage) ([]Condition, error) {
	ops, err := decodeObject(raw)
	if err != nil {
		return nil, fmt.Errorf("Syntax errors in policy: Condition: %w", err)
	}
	var out []Condition
	for op, block := range ops {
		keys, err := decodeObject(block)
		if err != nil {
			return nil, fmt.Errorf("Syntax errors in policy: Condition %s: %w", op, err)
		}
		for key, v := range keys {
			vals, err := conditionValues(v)
			if err != nil {
				return nil, fmt.Errorf("Syntax errors in policy: Condition %s %s: %w", op, key, err)
			}
			c := Condition{Operator: op, Key: key, Values: vals}
			c.compile()
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Operator != out[j].Operator {
			return out[i].Operator < out[j].Operator
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

// conditionValues accepts a string, boolean or number, or an array of them,
// and returns their text forms.
func conditionValues(raw json.RawMessage) ([]string, error) {
	return mapOneOrMany(raw, scalar)
}

func scalar(raw json.RawMessage) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	switch t := v.(type) {
	case string:
		return t, nil
	case bool:
		if t {
			return "true", nil
		}
		return "false", nil
	case json.Number:
		return t.String(), nil
	default:
		return "", fmt.Errorf("value must be a string, boolean or number, not %s", jsonKind(raw))
	}
}

// oneOrMany returns the elements of a JSON array, or the value itself as the
// only element, since AWS accepts both for Statement.
func oneOrMany(raw json.RawMessage) ([]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var items []json.RawMessage
		if err := strictUnmarshal(raw, &items); err != nil {
			return nil, err
		}
		return items, nil
	}
	return []json.RawMessage{raw}, nil
}

// stringList accepts a string or an array of strings.
func stringList(raw json.RawMessage) ([]string, error) {
	out, err := mapOneOrMany(raw, decodeString)
	if err == nil && len(out) == 0 {
		// Only an empty array decodes to nothing, and such a list would name no principal,
		// action or resource.
		return nil, errors.New("must not be an empty array")
	}
	return out, err
}

// mapOneOrMany decodes each element of a JSON array, or the value itself when it is not
// an array, with decode.
func mapOneOrMany(raw json.RawMessage, decode func(json.RawMessage) (string, error)) ([]string, error) {
	items, err := oneOrMany(raw)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, err := decode(it)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func decodeString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", fmt.Errorf("must be a string, not %s", jsonKind(raw))
	}
	var s string
	if err := strictUnmarshal(raw, &s); err != nil {
		return "", err
	}
	if s == "" {
		return "", errors.New("must not be empty")
	}
	return s, nil
}

func decodeObject(raw []byte) (map[string]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("must be a JSON object, not %s", jsonKind(raw))
	}
	var m map[string]json.RawMessage
	if err := strictUnmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// strictUnmarshal decodes exactly one JSON value and rejects trailing data,
// which json.Unmarshal already does; it exists so every decode reports errors
// the same way.
func strictUnmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid JSON: trailing data")
	}
	return nil
}

func jsonKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}
