package authz

import (
	"fmt"
	"strconv"
	"strings"
)

// baseOp is a condition operator without its IfExists suffix and set prefix.
type baseOp int

const (
	opUnknown baseOp = iota
	opStringEquals
	opStringNotEquals
	opStringEqualsIgnoreCase
	opStringNotEqualsIgnoreCase
	opStringLike
	opStringNotLike
	opArnEquals
	opArnLike
	opArnNotEquals
	opArnNotLike
	opBool
	opNumericEquals
	opNumericNotEquals
	opNumericLessThan
	opNumericLessThanEquals
	opNumericGreaterThan
	opNumericGreaterThanEquals
	opNull
)

var baseOps = map[string]baseOp{
	"stringequals":              opStringEquals,
	"stringnotequals":           opStringNotEquals,
	"stringequalsignorecase":    opStringEqualsIgnoreCase,
	"stringnotequalsignorecase": opStringNotEqualsIgnoreCase,
	"stringlike":                opStringLike,
	"stringnotlike":             opStringNotLike,
	"arnequals":                 opArnEquals,
	"arnlike":                   opArnLike,
	"arnnotequals":              opArnNotEquals,
	"arnnotlike":                opArnNotLike,
	"bool":                      opBool,
	"numericequals":             opNumericEquals,
	"numericnotequals":          opNumericNotEquals,
	"numericlessthan":           opNumericLessThan,
	"numericlessthanequals":     opNumericLessThanEquals,
	"numericgreaterthan":        opNumericGreaterThan,
	"numericgreaterthanequals":  opNumericGreaterThanEquals,
	"null":                      opNull,
}

// negations maps each negated operator to the positive one it inverts: AWS
// defines StringNotEquals as "matches none of the values", so a missing key
// makes it true.
var negations = map[baseOp]baseOp{
	opStringNotEquals:           opStringEquals,
	opStringNotEqualsIgnoreCase: opStringEqualsIgnoreCase,
	opStringNotLike:             opStringLike,
	opArnNotEquals:              opArnEquals,
	opArnNotLike:                opArnLike,
	opNumericNotEquals:          opNumericEquals,
}

type setQualifier int

const (
	setNone setQualifier = iota
	setAnyValue
	setAllValues
)

// operator is a parsed condition operator.
type operator struct {
	base     baseOp
	set      setQualifier
	ifExists bool
}

// parseOperator splits an operator name into its parts; ok is false when the
// name is outside the supported subset.
func parseOperator(name string) (operator, bool) {
	var op operator
	lower := strings.ToLower(name)
	switch {
	case strings.HasPrefix(lower, "foranyvalue:"):
		op.set = setAnyValue
		lower = strings.TrimPrefix(lower, "foranyvalue:")
	case strings.HasPrefix(lower, "forallvalues:"):
		op.set = setAllValues
		lower = strings.TrimPrefix(lower, "forallvalues:")
	}
	if strings.HasSuffix(lower, "ifexists") {
		op.ifExists = true
		lower = strings.TrimSuffix(lower, "ifexists")
	}
	b, ok := baseOps[lower]
	if !ok {
		return op, false
	}
	op.base = b
	if b == opNull && (op.ifExists || op.set != setNone) {
		return op, false
	}
	return op, true
}

// KnownConditionOperator reports whether the evaluator supports the condition
// operator name, including its IfExists and ForAnyValue:/ForAllValues: forms.
func KnownConditionOperator(name string) bool {
	_, ok := parseOperator(name)
	return ok
}

// knownKeys are the condition keys s3crr's policies and the simulator's
// services use, lower-cased.
var knownKeys = map[string]bool{
	"aws:securetransport":                            true,
	"aws:sourceaccount":                              true,
	"aws:sourcearn":                                  true,
	"aws:principalarn":                               true,
	"aws:principalaccount":                           true,
	"aws:principalorgid":                             true,
	"aws:resourceorgid":                              true,
	"aws:principalservicename":                       true,
	"aws:tagkeys":                                    true,
	"aws:calledvia":                                  true,
	"sts:externalid":                                 true,
	"sts:rolesessionname":                            true,
	"kms:viaservice":                                 true,
	"kms:calleraccount":                              true,
	"kms:encryptioncontextkeys":                      true,
	"kms:requestalias":                               true,
	"kms:resourcealiases":                            true,
	"kms:keyspec":                                    true,
	"kms:keyusage":                                   true,
	"kms:bypasspolicylockoutsafetycheck":             true,
	"s3:resourceaccount":                             true,
	"iam:permissionsboundary":                        true,
	"iam:passedtoservice":                            true,
	"iam:policyarn":                                  true,
	"s3:x-amz-server-side-encryption":                true,
	"s3:x-amz-server-side-encryption-aws-kms-key-id": true,
	"s3:prefix":                                      true,
	"cloudwatch:namespace":                           true,
	"cloudwatch:alarmactions":                        true,
	// The partition keys a DynamoDB item request touches: the hub's monitor role is
	// limited to its de-duplication table's key prefixes.
	"dynamodb:leadingkeys": true,
}

// knownKeyPrefixes are key families whose last part is free (a tag key, an
// encryption context key).
var knownKeyPrefixes = []string{
	"aws:requesttag/",
	"aws:resourcetag/",
	"kms:encryptioncontext:",
	"s3:existingobjecttag/",
}

// KnownConditionKey reports whether the evaluator supports the condition key
// k (case-insensitive). The simulator's services should only put known keys
// in a request context; a policy naming any other key denies.
func KnownConditionKey(k string) bool {
	lower := strings.ToLower(k)
	if knownKeys[lower] {
		return true
	}
	for _, p := range knownKeyPrefixes {
		if strings.HasPrefix(lower, p) && len(lower) > len(p) {
			return true
		}
	}
	return false
}

// compile resolves the operator and records why the entry cannot be
// evaluated, if it cannot.
func (c *Condition) compile() {
	op, ok := parseOperator(c.Operator)
	if !ok {
		c.unsupported = fmt.Sprintf("unsupported condition operator %q", c.Operator)
		return
	}
	c.op = op
	if !KnownConditionKey(c.Key) {
		c.unsupported = fmt.Sprintf("unsupported condition key %q", c.Key)
		return
	}
	for _, v := range c.Values {
		if strings.Contains(v, "${") {
			c.unsupported = fmt.Sprintf("unsupported policy variable in condition %s %q value %q", c.Operator, c.Key, v)
			return
		}
	}
}

// holds evaluates the entry against the context values of its key; present
// says whether the key is in the context at all.
func (c *Condition) holds(ctx []string, present bool) bool {
	op := c.op
	if op.base == opNull {
		for _, v := range c.Values {
			switch strings.ToLower(v) {
			case "true":
				if !present {
					return true
				}
			case "false":
				if present {
					return true
				}
			}
		}
		return false
	}
	if !present || len(ctx) == 0 {
		switch {
		case op.ifExists:
			return true
		case op.set == setAllValues:
			return true
		case op.set == setAnyValue:
			return false
		}
		_, negated := negations[op.base]
		return negated
	}
	pos, negated := negations[op.base]
	if !negated {
		pos = op.base
	}
	// one reports whether a context value satisfies the operator against the
	// policy values (ORed), negation included.
	one := func(cv string) bool {
		m := false
		for _, pv := range c.Values {
			if compare(pos, cv, pv) {
				m = true
				break
			}
		}
		return m != negated
	}
	switch op.set {
	case setAllValues:
		for _, cv := range ctx {
			if !one(cv) {
				return false
			}
		}
		return true
	case setAnyValue:
		for _, cv := range ctx {
			if one(cv) {
				return true
			}
		}
		return false
	}
	// A plain operator on a multivalued key: positive operators need some
	// context value to match some policy value; negated operators need no
	// context value to match any.
	matched := false
	for _, cv := range ctx {
		for _, pv := range c.Values {
			if compare(pos, cv, pv) {
				matched = true
			}
		}
	}
	return matched != negated
}

// compare applies a positive base operator to one context value (cv) and one
// policy value (pv).
func compare(op baseOp, cv, pv string) bool {
	switch op {
	case opStringEquals:
		return cv == pv
	case opStringEqualsIgnoreCase:
		return strings.EqualFold(cv, pv)
	case opStringLike:
		return WildcardMatch(pv, cv)
	case opArnEquals, opArnLike:
		return arnMatch(pv, cv)
	case opBool:
		return strings.EqualFold(cv, pv) && (strings.EqualFold(pv, "true") || strings.EqualFold(pv, "false"))
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		c, err1 := strconv.ParseFloat(cv, 64)
		p, err2 := strconv.ParseFloat(pv, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		switch op {
		case opNumericEquals:
			return c == p
		case opNumericLessThan:
			return c < p
		case opNumericLessThanEquals:
			return c <= p
		case opNumericGreaterThan:
			return c > p
		default:
			return c >= p
		}
	}
	return false
}

// arnMatch compares an ARN with a pattern part by part, so a wildcard cannot
// span the colons between partition, service, region, account and resource.
func arnMatch(pattern, arn string) bool {
	pp := strings.SplitN(pattern, ":", 6)
	ap := strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return false
	}
	for i := range pp {
		if !WildcardMatch(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

// WildcardMatch reports whether s matches pattern, where '*' matches any run
// of characters and '?' exactly one, case-sensitively. It backtracks only to
// the last '*', so it runs in O(len(pattern)*len(s)) at worst. It is exported
// so that the simulator's S3 checks a bucket policy's wildcard resources with
// the same matching the evaluator applies to them.
func WildcardMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
