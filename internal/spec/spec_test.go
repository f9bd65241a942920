package spec

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

const samplePath = "../../statemachine/sample-pair.json"

func TestSampleParses(t *testing.T) {
	data, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(data)
	if err != nil {
		t.Fatalf("sample does not validate:\n%v", err)
	}
	if r.PairID != "payments-archive" || r.Source.KMSKeyAlias != "alias/s3crr-src" || r.Destination.Region != "us-east-1" ||
		!r.Rule.DeleteMarkerReplication || !r.Rule.ReplicationTimeControl || !r.Rule.OwnerOverride {
		t.Errorf("sample decoded wrongly: %+v", r)
	}
}

func TestApplyDefaults(t *testing.T) {
	tests := []struct {
		name string
		give Request
		want Request
	}{
		{
			name: "everything left out",
			give: Request{PairID: "orders"},
			want: Request{
				PairID:      "orders",
				Source:      Endpoint{KMSKeyAlias: "alias/s3crr/orders/source"},
				Destination: Endpoint{KMSKeyAlias: "alias/s3crr/orders/destination"},
				Rule: Rule{ID: "s3crr-orders", Priority: ptr(DefaultPriority("orders")), StorageClass: "STANDARD",
					Metrics: ptr(true), BucketKeyEnabled: ptr(true)},
			},
		},
		{
			name: "explicit values kept, including false and zero",
			give: Request{PairID: "orders",
				Source:      Endpoint{KMSKeyAlias: "alias/s3crr-a"},
				Destination: Endpoint{KMSKeyARN: "arn:aws:kms:us-east-1:222222222222:key/" + uuid},
				Rule: Rule{ID: "mine", Priority: ptr(int32(0)), StorageClass: "GLACIER",
					Metrics: ptr(false), BucketKeyEnabled: ptr(false)}},
			want: Request{PairID: "orders",
				Source:      Endpoint{KMSKeyAlias: "alias/s3crr-a"},
				Destination: Endpoint{KMSKeyARN: "arn:aws:kms:us-east-1:222222222222:key/" + uuid},
				Rule: Rule{ID: "mine", Priority: ptr(int32(0)), StorageClass: "GLACIER",
					Metrics: ptr(false), BucketKeyEnabled: ptr(false)}},
		},
		{
			name: "empty tag map dropped",
			give: Request{PairID: "orders", Rule: Rule{Tags: map[string]string{}}},
			want: Request{
				PairID:      "orders",
				Source:      Endpoint{KMSKeyAlias: "alias/s3crr/orders/source"},
				Destination: Endpoint{KMSKeyAlias: "alias/s3crr/orders/destination"},
				Rule: Rule{ID: "s3crr-orders", Priority: ptr(DefaultPriority("orders")), StorageClass: "STANDARD",
					Metrics: ptr(true), BucketKeyEnabled: ptr(true)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.give
			got.ApplyDefaults()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ApplyDefaults:\n got %s\nwant %s", mustJSON(t, got), mustJSON(t, tt.want))
			}
			again := got.clone()
			again.ApplyDefaults()
			if !reflect.DeepEqual(again, got) {
				t.Errorf("ApplyDefaults is not idempotent: %s then %s", mustJSON(t, got), mustJSON(t, again))
			}
		})
	}
}

func TestDefaultsThroughParse(t *testing.T) {
	r, err := Parse(build(t, edits{"rule": deleted}))
	if err != nil {
		t.Fatal(err)
	}
	if !r.MetricsEnabled() || !r.BucketKeyEnabled() || r.Rule.StorageClass != "STANDARD" ||
		r.Rule.DeleteMarkerReplication || r.Rule.ReplicationTimeControl || r.Rule.OwnerOverride {
		t.Errorf("defaults wrong: %s", mustJSON(t, r))
	}
	if got, want := r.Source.KMSKeyAlias, "alias/s3crr/payments-archive/source"; got != want {
		t.Errorf("source alias = %q, want %q", got, want)
	}
	if got, want := r.Destination.KMSKeyAlias, "alias/s3crr/payments-archive/destination"; got != want {
		t.Errorf("destination alias = %q, want %q", got, want)
	}
}

func TestDefaultPriority(t *testing.T) {
	// A golden value: changing the derivation would move the priority of
	// every existing rule and make re-runs report drift.
	if got := DefaultPriority("payments-archive"); got != 31130 {
		t.Errorf("DefaultPriority(payments-archive) = %d, want 31130 (FNV-1a mod 100000 + 1)", got)
	}
	seen := map[int32]string{}
	for _, id := range []string{"abc", "abd", "payments-archive", "payments-archive2", "logs", "orders-eu", "orders-us"} {
		p := DefaultPriority(id)
		if p < 1 || p > priorityRange {
			t.Errorf("DefaultPriority(%q) = %d, outside 1..%d", id, p, priorityRange)
		}
		if other, dup := seen[p]; dup {
			t.Errorf("DefaultPriority(%q) = DefaultPriority(%q) = %d", id, other, p)
		}
		seen[p] = id
	}
}

func TestDerivedNames(t *testing.T) {
	r, err := Parse(build(t, edits{"rule.prefix": "logs/"}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, got, want string
	}{
		{"role name", r.ReplicationRoleName(), "s3crr-repl-payments-src-38d30e55"},
		{"role path", r.ReplicationRolePath(), "/s3crr/"},
		{"role ARN", r.ReplicationRoleARN(), "arn:aws:iam::111111111111:role/s3crr/s3crr-repl-payments-src-38d30e55"},
		{"rule ID", r.RuleID(), "s3crr-payments-archive"},
		{"source bucket ARN", r.SourceBucketARN(), "arn:aws:s3:::payments-src"},
		{"destination bucket ARN", r.DestinationBucketARN(), "arn:aws:s3:::payments-dst"},
		{"canary prefix", r.CanaryKeyPrefix(), "logs/.s3crr-canary/"},
		{"canary prefix without rule prefix", Request{}.CanaryKeyPrefix(), ".s3crr-canary/"},
		{"rule ID before defaults", Request{PairID: "x-y"}.RuleID(), "s3crr-x-y"},
		{"explicit rule ID", Request{PairID: "x-y", Rule: Rule{ID: "keep"}}.RuleID(), "keep"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	if r.IsSameRegion() {
		t.Error("IsSameRegion true for ap-south-1 → us-east-1")
	}
	if !r.IsCrossAccount() {
		t.Error("IsCrossAccount false for two accounts")
	}
	srr, err := Parse(build(t, edits{"destination.region": "ap-south-1", "allowSameRegion": true}))
	if err != nil {
		t.Fatal(err)
	}
	if !srr.IsSameRegion() {
		t.Error("IsSameRegion false for ap-south-1 → ap-south-1")
	}
}

var executionNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]*-[0-9a-f]{10}$`)

func TestNamesFitAWSLimits(t *testing.T) {
	longest := "p" + strings.Repeat("a", MaxPairIDLen-1)
	r, err := Parse(build(t, edits{"pairId": longest}))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.ReplicationRoleName()); n > 64 {
		t.Errorf("role name is %d characters, IAM allows 64", n)
	}
	name := r.ExecutionName()
	if len(name) > 80 || !executionNameRE.MatchString(name) {
		t.Errorf("execution name %q: %d characters or charset not allowed by StartExecution", name, len(name))
	}
	if !strings.HasPrefix(name, longest+"-") {
		t.Errorf("execution name %q does not start with the pair ID", name)
	}
}

func TestHash(t *testing.T) {
	base, err := Parse(build(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	// The same request with every default written out hashes the same.
	explicit, err := Parse(build(t, edits{
		"source.kmsKeyAlias":      "alias/s3crr/payments-archive/source",
		"destination.kmsKeyAlias": "alias/s3crr/payments-archive/destination",
		"rule.id":                 "s3crr-payments-archive",
		"rule.priority":           DefaultPriority("payments-archive"),
		"rule.storageClass":       "STANDARD",
		"rule.metrics":            true,
		"rule.bucketKeyEnabled":   true,
		"rule.tags":               map[string]any{},
		"rule.prefix":             "",
		"allowSameRegion":         false,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if base.Hash() != explicit.Hash() {
		t.Errorf("defaults written out change the hash: %s vs %s", base.Hash(), explicit.Hash())
	}
	// An undefaulted Go value hashes like its defaulted form, and Hash does
	// not default the receiver.
	raw, err := Decode(build(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if raw.Hash() != base.Hash() {
		t.Errorf("Hash before defaults %s differs from after %s", raw.Hash(), base.Hash())
	}
	if raw.Rule.Priority != nil || raw.Source.KMSKeyAlias != "" {
		t.Error("Hash changed its receiver")
	}
	// Anything that changes what is provisioned changes the hash.
	changes := []edits{
		{"rule.prefix": "logs/"},
		{"rule.deleteMarkerReplication": false},
		{"rule.priority": 7},
		{"rule.tags": map[string]any{"a": "b"}, "rule.deleteMarkerReplication": false},
		{"destination.bucket": "payments-dst2"},
		{"source.kmsKeyAlias": "alias/s3crr-other"},
		{"rule.bucketKeyEnabled": false},
	}
	seen := map[string]bool{base.Hash(): true}
	for _, e := range changes {
		r, err := Parse(build(t, e))
		if err != nil {
			t.Fatal(err)
		}
		if h := r.Hash(); seen[h] {
			t.Errorf("change %v did not produce a new hash (%s)", e, h)
		} else {
			seen[h] = true
		}
		if len(r.Hash()) != 10 {
			t.Errorf("hash %q is not 10 characters", r.Hash())
		}
	}
}

func TestDecodeIsStrictAboutCase(t *testing.T) {
	// encoding/json would accept "PairId" as pairId; Decode must not.
	data := []byte(`{"PairId":"payments-archive","source":{},"destination":{}}`)
	r, err := Decode(data)
	if err == nil {
		t.Fatalf("Decode accepted a wrongly cased field: %+v", r)
	}
	if got := pathSet(t, err); !sameSet(got, []string{"PairId"}) {
		t.Errorf("paths = %q, want [PairId]", keys(got))
	}
}

func TestDecodeDoesNotValidate(t *testing.T) {
	r, err := Decode([]byte(`{"pairId":"X","source":{"bucket":"B"},"rule":{"priority":-1}}`))
	if err != nil {
		t.Fatalf("Decode judged values: %v", err)
	}
	if r.PairID != "X" || r.Source.Bucket != "B" || r.Rule.Priority == nil || *r.Rule.Priority != -1 {
		t.Errorf("decoded %+v", r)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
