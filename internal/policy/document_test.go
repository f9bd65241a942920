package policy

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseDocumentShapes(t *testing.T) {
	tests := []struct {
		name string
		give string
		want Document
	}{
		{
			name: "statement as object, strings for lists, principal star, bool and number conditions",
			give: `{"Version":"2012-10-17","Statement":{"Sid":"A","Effect":"Deny","Principal":"*","Action":"s3:*",
				"Resource":"arn:aws:s3:::b","Condition":{"Bool":{"aws:SecureTransport":false},"NumericLessThan":{"s3:TlsVersion":1.2}}}}`,
			want: Document{Version: Version, Statement: []Statement{{
				Sid: "A", Effect: Deny, Principal: &Principal{All: true}, Action: []string{"s3:*"}, Resource: []string{"arn:aws:s3:::b"},
				Condition: map[string]map[string][]string{"Bool": {"aws:SecureTransport": {"false"}}, "NumericLessThan": {"s3:TlsVersion": {"1.2"}}},
			}}},
		},
		{
			name: "arrays everywhere, principal object with string and list, id kept",
			give: `{"Version":"2012-10-17","Id":"key-consolepolicy-3","Statement":[{"Effect":"Allow",
				"Principal":{"AWS":"arn:aws:iam::111111111111:root","Service":["s3.amazonaws.com","logs.amazonaws.com"]},
				"NotAction":["kms:Delete*"],"NotResource":["arn:aws:s3:::x"],"Condition":{"StringEquals":{"k":["a",true,3]}}}]}`,
			want: Document{Version: Version, ID: "key-consolepolicy-3", Statement: []Statement{{
				Effect:      Allow,
				Principal:   &Principal{AWS: []string{"arn:aws:iam::111111111111:root"}, Service: []string{"s3.amazonaws.com", "logs.amazonaws.com"}},
				NotAction:   []string{"kms:Delete*"},
				NotResource: []string{"arn:aws:s3:::x"},
				Condition:   map[string]map[string][]string{"StringEquals": {"k": {"a", "true", "3"}}},
			}}},
		},
		{
			name: "unknown fields kept raw, compacted",
			give: `{"Version":"2012-10-17","Custom":{"a": 1},"Statement":[{"Sid":"N","Effect":"Deny",
				"NotPrincipal":{"AWS": ["arn:aws:iam::1:root"]},"Action":"s3:*","Resource":"*"}]}`,
			want: Document{Version: Version, Extra: map[string]json.RawMessage{"Custom": json.RawMessage(`{"a":1}`)}, Statement: []Statement{{
				Sid: "N", Effect: Deny, Action: []string{"s3:*"}, Resource: []string{"*"},
				Extra: map[string]json.RawMessage{"NotPrincipal": json.RawMessage(`{"AWS":["arn:aws:iam::1:root"]}`)},
			}}},
		},
		{
			name: "no statement",
			give: `{"Version":"2008-10-17"}`,
			want: Document{Version: "2008-10-17"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDocument([]byte(tt.give))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestParseDocumentErrors(t *testing.T) {
	tests := []struct {
		name string
		give string
		want string // substring of the error
	}{
		{"not JSON", `{`, "parse policy document"},
		{"not an object", `[1]`, "parse policy document"},
		{"null", `null`, "not a JSON object"},
		{"trailing data", `{"Version":"2012-10-17"} {}`, "trailing data"},
		{"statement not an object", `{"Statement":[1]}`, "statement 0"},
		{"principal string other than star", `{"Statement":[{"Principal":"me"}]}`, `"me"`},
		{"unknown principal type", `{"Statement":[{"Principal":{"Foo":"x"}}]}`, "unknown principal type"},
		{"action number", `{"Statement":[{"Action":3}]}`, "Action"},
		{"action null", `{"Statement":[{"Action":null}]}`, "null"},
		{"condition object value", `{"Statement":[{"Condition":{"StringEquals":{"k":{"a":1}}}}]}`, "condition value"},
		{"condition null value", `{"Statement":[{"Condition":{"StringEquals":{"k":null}}}]}`, "condition value"},
		{"version not a string", `{"Version":1}`, "Version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDocument([]byte(tt.give))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestJSONDeterministic: maps are rendered in sorted order whatever Go's map
// iteration does, lists in the given order, single values as arrays.
func TestJSONDeterministic(t *testing.T) {
	doc := Document{Version: Version, Extra: map[string]json.RawMessage{"Z": json.RawMessage(`1`), "A": json.RawMessage(`{ "b" : 2 }`)},
		Statement: []Statement{{
			Sid: "S", Effect: Allow, Principal: &Principal{Service: []string{"s3.amazonaws.com"}, AWS: []string{"arn:aws:iam::1:root"}},
			Action: []string{"b", "a"}, Resource: []string{"r<&>"},
			Condition: map[string]map[string][]string{"StringLike": {"z": {"1"}, "a": {"2"}}, "Bool": {"k": {"false"}}},
			Extra:     map[string]json.RawMessage{"NotPrincipal": json.RawMessage(`"*"`)},
		}}}
	want := `{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:root"],"Service":["s3.amazonaws.com"]},` +
		`"Action":["b","a"],"Resource":["r<&>"],"Condition":{"Bool":{"k":["false"]},"StringLike":{"a":["2"],"z":["1"]}},"NotPrincipal":"*"}],"A":{"b":2},"Z":1}`
	for range 20 {
		if got := string(doc.JSON()); got != want {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	}
	if !json.Valid(doc.Pretty()) {
		t.Error("Pretty is not valid JSON")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, doc.Pretty()); err != nil || compact.String() != want {
		t.Errorf("Pretty compacts to %s (%v)", compact.String(), err)
	}
}

func TestEquivalent(t *testing.T) {
	base := `{"Version":"2012-10-17","Statement":[
		{"Sid":"A","Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":["kms:Decrypt","kms:Encrypt"],"Resource":"*",
		 "Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}},
		{"Sid":"B","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],
		 "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	tests := []struct {
		name string
		give string
		want bool
	}{
		{"same", base, true},
		{"statements reordered, lists reordered, strings vs arrays, root ARN vs account ID, case of actions and condition keys, bool vs string", `{"Version":"2012-10-17","Statement":[
			{"Sid":"B","Effect":"Deny","Principal":"*","Action":["s3:*"],"Resource":["arn:aws:s3:::b/*","arn:aws:s3:::b"],
			 "Condition":{"Bool":{"aws:securetransport":false}}},
			{"Sid":"A","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:root"]},"Action":["KMS:Encrypt","kms:Decrypt","kms:Decrypt"],"Resource":["*"],
			 "Condition":{"StringEquals":{"kms:ViaService":["s3.us-east-1.amazonaws.com"]}}}]}`, true},
		{"different condition value", strings.Replace(base, "us-east-1", "us-east-2", 1), false},
		{"different resource case", strings.Replace(base, "arn:aws:s3:::b/*", "arn:aws:s3:::B/*", 1), false},
		{"different effect", strings.Replace(base, `"Deny"`, `"Allow"`, 1), false},
		{"different sid", strings.Replace(base, `"Sid":"A"`, `"Sid":"C"`, 1), false},
		{"missing statement", `{"Version":"2012-10-17","Statement":[{"Sid":"B","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, false},
		{"different version", strings.Replace(base, "2012-10-17", "2008-10-17", 1), false},
		{"extra field", strings.Replace(base, `"Sid":"A",`, `"Sid":"A","NotPrincipal":{"AWS":"x"},`, 1), false},
	}
	a, err := ParseDocument([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseDocument([]byte(tt.give))
			if err != nil {
				t.Fatal(err)
			}
			if got := Equivalent(a, b); got != tt.want {
				t.Errorf("Equivalent = %v, want %v", got, tt.want)
			}
			if got := Equivalent(b, a); got != tt.want {
				t.Errorf("Equivalent reversed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEquivalentRawFieldsAsSets(t *testing.T) {
	a, _ := ParseDocument([]byte(`{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":["x","y"]},"Action":"s3:*"}]}`))
	b, _ := ParseDocument([]byte(`{"Statement":[{"Effect":"Deny","NotPrincipal":{ "AWS" : ["y","x"] },"Action":"s3:*"}]}`))
	c, _ := ParseDocument([]byte(`{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"x"},"Action":"s3:*"}]}`))
	d, _ := ParseDocument([]byte(`{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":["x"]},"Action":"s3:*"}]}`))
	if !Equivalent(a, b) {
		t.Error("NotPrincipal lists in another order should be equivalent")
	}
	if Equivalent(a, c) {
		t.Error("NotPrincipal with fewer principals should differ")
	}
	if !Equivalent(c, d) {
		t.Error("NotPrincipal string and one-element list should be equivalent")
	}
}

func TestParseIAMDocument(t *testing.T) {
	plain := `{"Version":"2012-10-17","Statement":[{"Sid":"A+B","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/a b*"}]}`
	encoded := "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Sid%22%3A%22A%2BB%22%2C%22Effect%22%3A%22Allow%22%2C" +
		"%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%2Fa%20b%2A%22%7D%5D%7D"
	want, err := ParseDocument([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	for _, give := range []string{plain, encoded, " " + encoded + "\n"} {
		got, err := ParseIAMDocument(give)
		if err != nil {
			t.Fatalf("ParseIAMDocument(%q): %v", give, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ParseIAMDocument(%q) = %s, want %s", give, got.JSON(), want.JSON())
		}
	}
	if _, err := ParseIAMDocument("%7B%zz"); err == nil {
		t.Error("bad percent-encoding accepted")
	}
}
