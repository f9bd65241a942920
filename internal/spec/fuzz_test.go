package spec

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse. It must never panic; a rejection
// must be a *ValidationError whose every problem has a message and a fix; an
// accepted request must re-encode to JSON that parses again to the same
// request and the same Hash (so the execution name is stable however the
// request travels: CLI, console, state machine input).
func FuzzParse(f *testing.F) {
	if sample, err := os.ReadFile(samplePath); err == nil {
		f.Add(sample)
	}
	f.Add(build(f, nil))
	f.Add(build(f, edits{"rule": deleted}))
	f.Add(build(f, edits{"rule.tags": map[string]any{"a.b": "c", "": "x"}, "rule.deleteMarkerReplication": false}))
	f.Add(build(f, edits{"source.kmsKeyArn": srcKeyARN, "rule.priority": 5.0}))
	for _, tt := range invalidRequests {
		if len(tt.raw) < 4096 {
			f.Add(tt.data(f))
		}
	}
	f.Add([]byte(`{"pairId":"abc","source":{"account":"111111111111","region":"eu-west-1","bucket":"a\u00e9b"},"destination":{"account":"111111111111","region":"eu-west-1","bucket":"xyz"},"allowSameRegion":true}`))
	f.Add([]byte(`{"rule":{"priority":1e400}}`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`))

	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("rejection is %T %v, want a non-empty *ValidationError", err, err)
			}
			for _, p := range ve.Problems {
				if p.Message == "" || p.Fix == "" {
					t.Fatalf("problem without message or fix: %+v", p)
				}
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("Parse returned a request that does not validate: %v", err)
		}
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("marshal accepted request: %v", err)
		}
		r2, err := Parse(again)
		if err != nil {
			t.Fatalf("re-encoded request %s rejected: %v", again, err)
		}
		if r.Hash() != r2.Hash() {
			t.Fatalf("hash changed through re-encoding: %s vs %s\n%s", r.Hash(), r2.Hash(), again)
		}
		if r.ExecutionName() != r2.ExecutionName() || len(r.ExecutionName()) > 80 {
			t.Fatalf("execution name unstable or too long: %q vs %q", r.ExecutionName(), r2.ExecutionName())
		}
	})
}
