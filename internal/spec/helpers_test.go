package spec

import (
	"encoding/json"
	"strings"
	"testing"
)

// deleted, as an edit value, removes the field.
type deletedT struct{}

var deleted = deletedT{}

// baseRequest is a valid cross-account, cross-region request as a generic
// JSON value, so tests can break it in ways the Go types cannot express.
func baseRequest() map[string]any {
	return map[string]any{
		"pairId": "payments-archive",
		"source": map[string]any{
			"account": "111111111111", "region": "ap-south-1", "bucket": "payments-src",
		},
		"destination": map[string]any{
			"account": "222222222222", "region": "us-east-1", "bucket": "payments-dst",
		},
		"rule": map[string]any{
			"deleteMarkerReplication": true, "replicationTimeControl": true, "ownerOverride": true,
		},
	}
}

// edits maps dotted paths ("source.bucket") to new values (or deleted).
type edits map[string]any

// build applies e to baseRequest and returns the JSON.
func build(t testing.TB, e edits) []byte {
	t.Helper()
	m := baseRequest()
	for path, v := range e {
		parts := strings.Split(path, ".")
		obj := m
		for _, p := range parts[:len(parts)-1] {
			next, ok := obj[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				obj[p] = next
			}
			obj = next
		}
		last := parts[len(parts)-1]
		if v == deleted {
			delete(obj, last)
			continue
		}
		obj[last] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("marshal test request: %v", err)
	}
	return b
}

// pathSet returns the distinct problem paths of err (nil if err is nil).
func pathSet(t testing.TB, err error) map[string]bool {
	t.Helper()
	if err == nil {
		return nil
	}
	ve, ok := err.(*ValidationError)
	if !ok {
		t.Fatalf("error is %T, want *ValidationError: %v", err, err)
	}
	set := map[string]bool{}
	for _, p := range ve.Problems {
		set[p.Path] = true
		if p.Message == "" || p.Fix == "" {
			t.Errorf("problem at %q lacks message or fix: %+v", p.Path, p)
		}
	}
	return set
}

func sameSet(got map[string]bool, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !got[w] {
			return false
		}
	}
	return true
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
