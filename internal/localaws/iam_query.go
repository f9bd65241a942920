package localaws

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file holds what IAM and STS share: the AWS Query protocol (form parameters in,
// <OpResponse><OpResult> XML out), IAM-style input validation, and random identifiers.

const (
	iamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// iamQueryArgs are the form parameters of a Query-protocol request.
type iamQueryArgs url.Values

// get returns a parameter, "" when absent.
func (q iamQueryArgs) get(name string) string { return url.Values(q).Get(name) }

// has reports whether a parameter was sent at all (even empty).
func (q iamQueryArgs) has(name string) bool {
	_, ok := q[name]
	return ok
}

// list returns the values of a Query list parameter, "<name>.member.1", ".2", ... in
// index order.
func (q iamQueryArgs) list(name string) []string {
	type item struct {
		i int
		v string
	}
	var items []item
	prefix := name + ".member."
	for k, v := range q {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok || strings.Contains(rest, ".") || len(v) == 0 {
			continue
		}
		if i, err := strconv.Atoi(rest); err == nil {
			items = append(items, item{i, v[0]})
		}
	}
	sort.Slice(items, func(a, b int) bool { return items[a].i < items[b].i })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

// hasPrefix reports whether any parameter of a structured list ("Tags", "PolicyArns") was sent.
func (q iamQueryArgs) hasPrefix(name string) bool {
	for k := range q {
		if k == name || strings.HasPrefix(k, name+".") {
			return true
		}
	}
	return false
}

// iamTagXML is IAM's and STS's Tag shape.
type iamTagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// tags returns the "<name>.member.N.Key/Value" list in index order.
func (q iamQueryArgs) tags(name string) []iamTagXML {
	byIndex := map[int]*iamTagXML{}
	prefix := name + ".member."
	for k, v := range q {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok || len(v) == 0 {
			continue
		}
		idx, field, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(idx)
		if err != nil {
			continue
		}
		t := byIndex[i]
		if t == nil {
			t = &iamTagXML{}
			byIndex[i] = t
		}
		switch field {
		case "Key":
			t.Key = v[0]
		case "Value":
			t.Value = v[0]
		}
	}
	idx := make([]int, 0, len(byIndex))
	for i := range byIndex {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out := make([]iamTagXML, len(idx))
	for n, i := range idx {
		out[n] = *byIndex[i]
	}
	return out
}

// iamParseQuery reads the form of a Query-protocol request (POST body or URL query).
func iamParseQuery(c *call) (iamQueryArgs, *apiError) {
	if err := c.r.ParseForm(); err != nil {
		return nil, errf(http.StatusBadRequest, "MalformedQueryString", "read form parameters: %v", err)
	}
	return iamQueryArgs(c.r.Form), nil
}

// iamWriteQuery writes a Query-protocol success response: result (nil for operations without
// output) is marshalled as <OpResult> inside <OpResponse xmlns=ns>.
func (c *call) iamWriteQuery(ns, op string, result any) {
	if c.wrote {
		return
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<%sResponse xmlns="%s">`, op, ns)
	if result != nil {
		enc := xml.NewEncoder(&b)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: op + "Result"}}); err != nil {
			c.fail(errf(http.StatusInternalServerError, "ServiceFailure", "marshal response: %v", err))
			return
		}
	}
	fmt.Fprintf(&b, `<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, c.requestID, op)
	c.wrote = true
	c.w.Header().Set("Content-Type", "text/xml")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(b.Bytes())
}

// iamErrValidation is the ValidationError IAM and STS return for a parameter that breaks its
// model constraint, in their "1 validation error detected" wording.
func iamErrValidation(field, value, constraint string) *apiError {
	return errf(http.StatusBadRequest, "ValidationError",
		"1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, field, constraint)
}

// iamErrMissing is the ValidationError for a required parameter that was not sent.
func iamErrMissing(field string) *apiError {
	return errf(http.StatusBadRequest, "ValidationError",
		"1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", field)
}

var (
	iamNamePattern = regexp.MustCompile(`^[\w+=,.@-]+$`)
	iamPathPattern = regexp.MustCompile(`^(/|/[\x21-\x7E]+/)$`)
)

// iamCheckName validates an IAM entity name (role, policy): required, 1..max characters of
// [\w+=,.@-].
func iamCheckName(q iamQueryArgs, param, field string, max int) (string, *apiError) {
	v := q.get(param)
	if !q.has(param) {
		return "", iamErrMissing(field)
	}
	if len(v) < 1 || len(v) > max {
		return "", iamErrValidation(field, v, fmt.Sprintf("Member must have length less than or equal to %d and greater than or equal to 1", max))
	}
	if !iamNamePattern.MatchString(v) {
		return "", iamErrValidation(field, v, `Member must satisfy regular expression pattern: [\w+=,.@-]+`)
	}
	return v, nil
}

// iamCheckPath validates an IAM path ("/" or "/a/b/"); absent means "/".
func iamCheckPath(q iamQueryArgs, param, field string) (string, *apiError) {
	if !q.has(param) {
		return "/", nil
	}
	v := q.get(param)
	if len(v) > 512 {
		return "", iamErrValidation(field, v, "Member must have length less than or equal to 512")
	}
	if !iamPathPattern.MatchString(v) {
		return "", iamErrValidation(field, v, `Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
	}
	return v, nil
}

// iamCheckTags validates the tags of one request as IAM does: at most 50, keys 1..128, values
// 0..256 characters, keys unique ignoring case. The quota on a role's total is the caller's.
func iamCheckTags(tags []iamTagXML) *apiError {
	if len(tags) > 50 {
		return iamErrValidation("tags", fmt.Sprint(len(tags)), "Member must have length less than or equal to 50")
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if len(t.Key) < 1 || len(t.Key) > 128 {
			return iamErrValidation("tags.member.key", t.Key, "Member must have length less than or equal to 128 and greater than or equal to 1")
		}
		if len(t.Value) > 256 {
			return iamErrValidation("tags.member.value", t.Value, "Member must have length less than or equal to 256")
		}
		if lk := strings.ToLower(t.Key); seen[lk] {
			return errf(http.StatusBadRequest, "InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		} else {
			seen[lk] = true
		}
	}
	return nil
}

// iamPolicySize is a document's size as IAM counts it against its quotas: white space outside
// strings does not count.
func iamPolicySize(doc string) int {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(doc)); err != nil {
		return len(doc)
	}
	return b.Len()
}

// encodePolicyDoc URL-encodes a policy document the way IAM returns documents in its XML
// responses (RFC 3986: everything but unreserved characters percent-encoded), so that
// url.QueryUnescape and url.PathUnescape both give the document back.
func encodePolicyDoc(doc string) string {
	var b strings.Builder
	for i := 0; i < len(doc); i++ {
		ch := doc[i]
		switch {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9',
			ch == '-', ch == '_', ch == '.', ch == '~':
			b.WriteByte(ch)
		default:
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

// iamTime formats a timestamp as IAM and STS do.
func iamTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

const iamUpperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// iamRandomID returns prefix followed by n random upper-case letters and digits, the shape of
// IAM unique IDs (AROA..., ANPA...) and access key IDs (ASIA...).
func iamRandomID(prefix string, n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	for i := range buf {
		buf[i] = iamUpperAlnum[int(buf[i])%len(iamUpperAlnum)]
	}
	return prefix + string(buf)
}

// iamRandomSecret returns n random bytes in base64, for secret keys and session tokens.
func iamRandomSecret(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	return base64.StdEncoding.EncodeToString(buf)
}

// iamPaginate applies IAM's Marker/MaxItems paging to n items: it returns the slice bounds
// and the marker of the next page ("" when this is the last page).
func iamPaginate(q iamQueryArgs, n int) (start, end int, next string, err *apiError) {
	max := 100
	if v := q.get("MaxItems"); v != "" {
		m, convErr := strconv.Atoi(v)
		if convErr != nil || m < 1 || m > 1000 {
			return 0, 0, "", iamErrValidation("maxItems", v, "Member must have value less than or equal to 1000 and greater than or equal to 1")
		}
		max = m
	}
	if v := q.get("Marker"); v != "" {
		m, convErr := strconv.Atoi(v)
		if convErr != nil || m < 0 || m > n {
			return 0, 0, "", errf(http.StatusBadRequest, "InvalidInput", "Invalid Marker %q", v)
		}
		start = m
	}
	end = start + max
	if end >= n {
		return start, n, "", nil
	}
	return start, end, strconv.Itoa(end), nil
}
