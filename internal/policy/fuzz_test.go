package policy

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzParseDocument: ParseDocument never panics; whatever it accepts renders
// to valid JSON that parses back to an equivalent document whose rendering is
// byte-for-byte the same (JSON(Parse(JSON(x))) == JSON(x)); and merging our
// statements into it is idempotent.
func FuzzParseDocument(f *testing.F) {
	f.Add([]byte(foreignKeyPolicy))
	f.Add([]byte(`{"Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Condition":{"Bool":{"aws:SecureTransport":false}}}}`))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Condition":{"NumericLessThan":{"k":[1e3,-0.5,true,"x"]}}}],"Id":"x","Z":[1,{"a":null}]}`))
	f.Add([]byte(`{"Statement":[{"Sid":"","Action":[],"Resource":[""],"Principal":{"AWS":[]}}]}`))
	f.Add([]byte(`{"Statement":[{"Sid":"\u00e9\u2028<>&","Action":"a\"b"}]}`))
	for _, d := range generated() {
		f.Add(d.JSON())
	}
	ours := DestinationKeyStatements(pairConfigs()["full"])
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDocument(data)
		if err != nil {
			return
		}
		j1 := d.JSON()
		if !json.Valid(j1) {
			t.Fatalf("JSON rendered invalid JSON: %s", j1)
		}
		d2, err := ParseDocument(j1)
		if err != nil {
			t.Fatalf("cannot parse own rendering %s: %v", j1, err)
		}
		if j2 := d2.JSON(); !bytes.Equal(j1, j2) {
			t.Fatalf("rendering not stable:\n%s\n%s", j1, j2)
		}
		if !Equivalent(d, d2) {
			t.Fatalf("round trip not equivalent: %s", j1)
		}
		m, _ := Merge(d, ours)
		if _, changed := Merge(m, ours); changed {
			t.Fatalf("second merge changed %s", m.JSON())
		}
	})
}
