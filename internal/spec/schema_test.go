package spec

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const schemaPath = "../../statemachine/pair-request.schema.json"

// compileSchema compiles the published schema with a real draft 2020-12
// validator, so the test judges the file users get, not a copy.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("read schema: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("pair-request.schema.json", doc); err != nil {
		t.Fatalf("add schema: %v", err)
	}
	sch, err := c.Compile("pair-request.schema.json")
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	return sch
}

func schemaAccepts(t *testing.T, sch *jsonschema.Schema, data []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("test document is not JSON: %v", err)
	}
	return sch.Validate(v)
}

// TestSchemaAgreesWithGo runs every table row through both the JSON Schema and
// Parse. Rows Go rejects for reasons JSON Schema cannot express are marked
// blind, and the test asserts the schema really does accept them, so the list
// of gaps stays exact.
func TestSchemaAgreesWithGo(t *testing.T) {
	sch := compileSchema(t)

	for _, tt := range validRequests {
		t.Run("valid/"+tt.name, func(t *testing.T) {
			data := build(t, tt.give)
			if err := schemaAccepts(t, sch, data); err != nil {
				t.Errorf("schema rejects a request Go accepts:\n%v", err)
			}
		})
	}
	for _, region := range Regions {
		data := build(t, edits{"source.region": region, "destination.region": "us-east-2", "allowSameRegion": true})
		if err := schemaAccepts(t, sch, data); err != nil {
			t.Errorf("schema rejects region %s: %v", region, err)
		}
	}

	for _, tt := range invalidRequests {
		if tt.blind == notADocument {
			continue
		}
		t.Run("invalid/"+tt.name, func(t *testing.T) {
			data := tt.data(t)
			if _, err := Parse(data); err == nil {
				t.Fatal("Go accepts the request")
			}
			err := schemaAccepts(t, sch, data)
			switch {
			case tt.blind == seen && err == nil:
				t.Error("schema accepts a request Go rejects")
			case tt.blind != seen && err != nil:
				t.Errorf("row is marked %q but the schema rejects it; drop the mark:\n%v", tt.blind, err)
			}
		})
	}
}

// The schema's enums and limits are the Go ones; the table above checks the
// patterns by behaviour.
func TestSchemaListsMatchGo(t *testing.T) {
	raw, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Properties struct {
			PairID struct {
				MinLength int `json:"minLength"`
				MaxLength int `json:"maxLength"`
			} `json:"pairId"`
		} `json:"properties"`
		Defs struct {
			Endpoint struct {
				Properties struct {
					Region struct {
						Enum []string `json:"enum"`
					} `json:"region"`
					Alias struct {
						MaxLength int `json:"maxLength"`
					} `json:"kmsKeyAlias"`
				} `json:"properties"`
			} `json:"endpoint"`
			Rule struct {
				Properties struct {
					ID struct {
						MaxLength int `json:"maxLength"`
					} `json:"id"`
					Prefix struct {
						MaxLength int `json:"maxLength"`
					} `json:"prefix"`
					Tags struct {
						MaxProperties int `json:"maxProperties"`
						PropertyNames struct {
							MaxLength int `json:"maxLength"`
						} `json:"propertyNames"`
						AdditionalProperties struct {
							MaxLength int `json:"maxLength"`
						} `json:"additionalProperties"`
					} `json:"tags"`
					StorageClass struct {
						Enum []string `json:"enum"`
					} `json:"storageClass"`
				} `json:"properties"`
			} `json:"rule"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	rp := s.Defs.Rule.Properties
	tests := []struct {
		name      string
		got, want any
	}{
		{"regions", s.Defs.Endpoint.Properties.Region.Enum, Regions},
		{"storage classes", rp.StorageClass.Enum, StorageClasses},
		{"pairId min", s.Properties.PairID.MinLength, MinPairIDLen},
		{"pairId max", s.Properties.PairID.MaxLength, MaxPairIDLen},
		{"alias max", s.Defs.Endpoint.Properties.Alias.MaxLength, maxAliasLen},
		{"rule id max", rp.ID.MaxLength, maxRuleIDLen},
		{"prefix max", rp.Prefix.MaxLength, MaxPrefixBytes},
		{"tags max", rp.Tags.MaxProperties, maxTags},
		{"tag key max", rp.Tags.PropertyNames.MaxLength, maxTagKeyLen},
		{"tag value max", rp.Tags.AdditionalProperties.MaxLength, maxTagValueLen},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: schema has %v, Go has %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestSampleMatchesSchema(t *testing.T) {
	data, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	if err := schemaAccepts(t, compileSchema(t), data); err != nil {
		t.Errorf("sample-pair.json does not match the schema:\n%v", err)
	}
}

// The schema's examples (a pair, a fan-out, a two-way pair) are requests both the
// schema and Parse accept.
func TestSchemaExamplesAreValid(t *testing.T) {
	sch := compileSchema(t)
	raw, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Examples []json.RawMessage `json:"examples"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Examples) < 3 {
		t.Fatalf("%d examples, want a pair, a fan-out and a two-way pair", len(s.Examples))
	}
	for i, ex := range s.Examples {
		if err := schemaAccepts(t, sch, ex); err != nil {
			t.Errorf("example %d: schema rejects it: %v", i, err)
		}
		if _, err := Parse(ex); err != nil {
			t.Errorf("example %d: Parse rejects it: %v", i, err)
		}
	}
}
