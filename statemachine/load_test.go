package statemachine

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/testenv"
)

func TestPlaceholdersOfProvision(t *testing.T) {
	got, err := Placeholders(Provision)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{AlertTopicArn, PairsTableName, ProvisionFunctionArn, VerifyFunctionArn}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Placeholders = %v, want %v", got, want)
	}
}

func TestLoadSubstitutesEveryPlaceholder(t *testing.T) {
	for _, name := range Names() {
		b, err := Load(name, subsFor(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if left := placeholderRE.FindAll(b, -1); len(left) > 0 {
			t.Errorf("%s: placeholders left after Load: %q", name, left)
		}
		for _, v := range subsFor(t, name) {
			if !strings.Contains(string(b), v) {
				t.Errorf("%s: substituted definition does not contain %q", name, v)
			}
		}
	}
}

func TestLoad(t *testing.T) {
	full := func(edit func(map[string]string)) map[string]string {
		m := map[string]string{}
		for k, v := range testSubs {
			m[k] = v
		}
		edit(m)
		return m
	}
	tests := []struct {
		name      string
		give      map[string]string
		wantErr   string
		wantTable string
	}{
		{name: "missing", give: full(func(m map[string]string) { delete(m, AlertTopicArn) }), wantErr: "no substitution for ${AlertTopicArn}"},
		{name: "typo", give: full(func(m map[string]string) { m["PairsTablename"] = "x" }), wantErr: "PairsTablename match no placeholder"},
		{name: "quotes stay inside the string", give: full(func(m map[string]string) { m[PairsTableName] = `a"b\c` }), wantTable: `a"b\c`},
		// CDK passes tokens that look like placeholders; they must not be taken for missing ones.
		{name: "cdk token", give: full(func(m map[string]string) { m[PairsTableName] = "${Token[TOKEN.123]}" }), wantTable: "${Token[TOKEN.123]}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Load(Provision, tt.give)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var def struct {
				States struct {
					Legs struct {
						ItemProcessor struct {
							States map[string]struct {
								Parameters struct {
									TableName string `json:"TableName"`
								} `json:"Parameters"`
							} `json:"States"`
						} `json:"ItemProcessor"`
					} `json:"Legs"`
				} `json:"States"`
			}
			if err := json.Unmarshal(b, &def); err != nil {
				t.Fatal(err)
			}
			if got := def.States.Legs.ItemProcessor.States["RegisterPair"].Parameters.TableName; got != tt.wantTable {
				t.Errorf("TableName = %q, want %q", got, tt.wantTable)
			}
		})
	}
	if _, err := Load("nope", nil); err == nil || !strings.Contains(err.Error(), "provision") {
		t.Errorf("Load(nope) = %v, want an error listing the known machines", err)
	}
}

func TestOutputChanges(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "output.json"))
	if err != nil {
		t.Fatal(err)
	}
	var o Output
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range o.Changes() {
		got = append(got, c.Action+" "+c.Resource)
	}
	want := []string{
		"create arn:aws:s3:::payments-src",
		"create arn:aws:kms:ap-south-1:111111111111:key/src",
		"create arn:aws:kms:us-east-1:222222222222:key/dst",
		"update arn:aws:s3:::payments-dst",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Changes() = %q, want %q", got, want)
	}
	if o.ARNs.DestinationKey != "arn:aws:kms:us-east-1:222222222222:key/dst" || o.Verification.Outputs["ready"] != "true" {
		t.Errorf("decoded output = %+v", o)
	}
}

// repoRoot is where package.json and node_modules live.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestASLValidator runs the npm asl-validator (the schema AWS tooling uses) on
// every substituted definition.
func TestASLValidator(t *testing.T) {
	root := repoRoot(t)
	testenv.RequireNodeModules(t, root)
	dir := t.TempDir()
	for _, name := range Names() {
		b, err := Load(name, subsFor(t, name))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name+".asl.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("npx", "--no-install", "asl-validator", "--json-path", path)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("asl-validator rejects %s: %v\n%s", name, err, out)
		}
	}
	// And it does reject a broken definition, so a pass above means something.
	bad := filepath.Join(dir, "bad.asl.json")
	if err := os.WriteFile(bad, []byte(`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("npx", "--no-install", "asl-validator", "--json-path", bad)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("asl-validator accepted a Task with neither Next nor End:\n%s", out)
	}
}
