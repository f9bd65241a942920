package spec

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// schemaBlind says why the JSON Schema cannot reject a request Go rejects.
type schemaBlind string

const (
	// seen: the schema must reject the request too.
	seen schemaBlind = ""
	// crossField: the rule compares two fields, which JSON Schema cannot.
	crossField schemaBlind = "compares fields"
	// byteLength: S3 counts key bytes, JSON Schema counts characters.
	byteLength schemaBlind = "counts bytes"
	// notADocument: the bytes are not one JSON object the schema could judge.
	notADocument schemaBlind = "not a schema question"
)

// invalidCase is a request Parse must reject with problems at exactly the
// paths in want.
type invalidCase struct {
	name  string
	give  edits  // applied to baseRequest
	raw   string // used instead of give when set
	want  []string
	blind schemaBlind
}

func (c invalidCase) data(t testing.TB) []byte {
	if c.raw != "" {
		return []byte(c.raw)
	}
	return build(t, c.give)
}

var (
	uuid      = "1234abcd-12ab-34cd-56ef-1234567890ab"
	srcKeyARN = "arn:aws:kms:ap-south-1:111111111111:key/" + uuid
)

// invalidRequests covers every validation rule at least once.
var invalidRequests = []invalidCase{
	// pairId
	{name: "pairId missing", give: edits{"pairId": deleted}, want: []string{"pairId"}},
	{name: "pairId too short", give: edits{"pairId": "ab"}, want: []string{"pairId"}},
	{name: "pairId too long", give: edits{"pairId": "p" + strings.Repeat("a", 48)}, want: []string{"pairId"}},
	{name: "pairId uppercase", give: edits{"pairId": "Payments"}, want: []string{"pairId"}},
	{name: "pairId starts with digit", give: edits{"pairId": "1payments"}, want: []string{"pairId"}},
	{name: "pairId underscore", give: edits{"pairId": "pay_ments"}, want: []string{"pairId"}},
	{name: "pairId not a string", give: edits{"pairId": 42}, want: []string{"pairId"}},

	// accounts
	{name: "account 11 digits", give: edits{"source.account": "11111111111"}, want: []string{"source.account"}},
	{name: "account with letter", give: edits{"destination.account": "22222222222a"}, want: []string{"destination.account"}},
	{name: "account with dashes", give: edits{"destination.account": "2222-2222-2222"}, want: []string{"destination.account"}},
	{name: "account as number", give: edits{"source.account": 111111111111}, want: []string{"source.account"}},
	{name: "account missing", give: edits{"source.account": deleted}, want: []string{"source.account"}},

	// regions
	{name: "region unknown", give: edits{"source.region": "us-east-3"}, want: []string{"source.region"}},
	{name: "region uppercase", give: edits{"source.region": "US-EAST-1"}, want: []string{"source.region"}},
	{name: "region GovCloud", give: edits{"destination.region": "us-gov-west-1"}, want: []string{"destination.region"}},
	{name: "region China", give: edits{"destination.region": "cn-north-1"}, want: []string{"destination.region"}},
	{name: "region missing", give: edits{"destination.region": deleted}, want: []string{"destination.region"}},
	{name: "same region without opt-in", give: edits{"destination.region": "ap-south-1"}, want: []string{"destination.region"}, blind: crossField},

	// buckets
	{name: "bucket too short", give: edits{"source.bucket": "ab"}, want: []string{"source.bucket"}},
	{name: "bucket too long", give: edits{"source.bucket": strings.Repeat("b", 64)}, want: []string{"source.bucket"}},
	{name: "bucket uppercase", give: edits{"source.bucket": "Payments-src"}, want: []string{"source.bucket"}},
	{name: "bucket underscore", give: edits{"source.bucket": "payments_src"}, want: []string{"source.bucket"}},
	{name: "bucket starts with hyphen", give: edits{"source.bucket": "-payments"}, want: []string{"source.bucket"}},
	{name: "bucket ends with dot", give: edits{"destination.bucket": "payments."}, want: []string{"destination.bucket"}},
	{name: "bucket adjacent dots", give: edits{"destination.bucket": "pay..ments"}, want: []string{"destination.bucket"}},
	{name: "bucket is an IP address", give: edits{"destination.bucket": "192.168.5.4"}, want: []string{"destination.bucket"}},
	{name: "bucket prefix xn--", give: edits{"source.bucket": "xn--payments"}, want: []string{"source.bucket"}},
	{name: "bucket prefix sthree-", give: edits{"source.bucket": "sthree-payments"}, want: []string{"source.bucket"}},
	{name: "bucket prefix amzn-s3-demo-", give: edits{"source.bucket": "amzn-s3-demo-payments"}, want: []string{"source.bucket"}},
	{name: "bucket suffix -s3alias", give: edits{"source.bucket": "payments-s3alias"}, want: []string{"source.bucket"}},
	{name: "bucket suffix --ol-s3", give: edits{"source.bucket": "payments--ol-s3"}, want: []string{"source.bucket"}},
	{name: "bucket suffix .mrap", give: edits{"destination.bucket": "payments.mrap"}, want: []string{"destination.bucket"}},
	{name: "bucket suffix --x-s3", give: edits{"destination.bucket": "payments--x-s3"}, want: []string{"destination.bucket"}},
	{name: "bucket suffix --table-s3", give: edits{"destination.bucket": "payments--table-s3"}, want: []string{"destination.bucket"}},
	{name: "bucket missing", give: edits{"destination.bucket": deleted}, want: []string{"destination.bucket"}},
	{name: "same bucket both sides", give: edits{"destination.bucket": "payments-src"}, want: []string{"destination.bucket"}, blind: crossField},

	// key aliases
	{name: "alias of AWS managed key", give: edits{"source.kmsKeyAlias": "alias/aws/s3"}, want: []string{"source.kmsKeyAlias"}},
	{name: "alias without alias/", give: edits{"source.kmsKeyAlias": "s3crr-src"}, want: []string{"source.kmsKeyAlias"}},
	{name: "alias outside alias/s3crr", give: edits{"destination.kmsKeyAlias": "alias/payments"}, want: []string{"destination.kmsKeyAlias"}},
	{name: "alias bad character", give: edits{"source.kmsKeyAlias": "alias/s3crr/pay ments"}, want: []string{"source.kmsKeyAlias"}},
	{name: "alias too long", give: edits{"source.kmsKeyAlias": "alias/s3crr/" + strings.Repeat("k", 245)}, want: []string{"source.kmsKeyAlias"}},
	{name: "alias empty", give: edits{"source.kmsKeyAlias": ""}, want: []string{"source.kmsKeyAlias"}},
	{name: "alias and ARN both", give: edits{"source.kmsKeyAlias": "alias/s3crr-src", "source.kmsKeyArn": srcKeyARN}, want: []string{"source.kmsKeyArn"}},

	// key ARNs
	{name: "key ARN is an alias ARN", give: edits{"source.kmsKeyArn": "arn:aws:kms:ap-south-1:111111111111:alias/s3crr-src"}, want: []string{"source.kmsKeyArn"}},
	{name: "key ARN is an AWS managed alias", give: edits{"source.kmsKeyArn": "alias/aws/s3"}, want: []string{"source.kmsKeyArn"}},
	{name: "key ARN is an AWS managed alias ARN", give: edits{"destination.kmsKeyArn": "arn:aws:kms:us-east-1:222222222222:alias/aws/s3"}, want: []string{"destination.kmsKeyArn"}},
	{name: "key ARN is a bare key ID", give: edits{"source.kmsKeyArn": uuid}, want: []string{"source.kmsKeyArn"}},
	{name: "key ARN not KMS", give: edits{"source.kmsKeyArn": "arn:aws:s3:::payments-src"}, want: []string{"source.kmsKeyArn"}},
	{name: "key ARN uppercase key ID", give: edits{"source.kmsKeyArn": strings.ToUpper(srcKeyARN[:40]) + strings.ToUpper(uuid)}, want: []string{"source.kmsKeyArn"}},
	{name: "key ARN other partition", give: edits{"source.kmsKeyArn": "arn:aws-cn:kms:ap-south-1:111111111111:key/" + uuid}, want: []string{"source.kmsKeyArn"}},
	{name: "key ARN wrong region", give: edits{"source.kmsKeyArn": "arn:aws:kms:us-east-1:111111111111:key/" + uuid}, want: []string{"source.kmsKeyArn"}, blind: crossField},
	{name: "key ARN wrong account", give: edits{"destination.kmsKeyArn": "arn:aws:kms:us-east-1:111111111111:key/" + uuid}, want: []string{"destination.kmsKeyArn"}, blind: crossField},
	{name: "key ARN empty", give: edits{"destination.kmsKeyArn": ""}, want: []string{"destination.kmsKeyArn"}},

	// rule
	{name: "storage class OUTPOSTS", give: edits{"rule.storageClass": "OUTPOSTS"}, want: []string{"rule.storageClass"}},
	{name: "storage class EXPRESS_ONEZONE", give: edits{"rule.storageClass": "EXPRESS_ONEZONE"}, want: []string{"rule.storageClass"}},
	{name: "storage class lowercase", give: edits{"rule.storageClass": "standard"}, want: []string{"rule.storageClass"}},
	{name: "storage class empty", give: edits{"rule.storageClass": ""}, want: []string{"rule.storageClass"}},
	{name: "RTC without metrics", give: edits{"rule.metrics": false}, want: []string{"rule.metrics"}},
	{name: "tag filter with delete markers", give: edits{"rule.tags": map[string]any{"replicate": "yes"}}, want: []string{"rule.tags"}},
	{name: "eleven tags", give: edits{"rule.deleteMarkerReplication": false, "rule.tags": manyTags(11)}, want: []string{"rule.tags"}},
	{name: "tag key too long", give: edits{"rule.deleteMarkerReplication": false, "rule.tags": map[string]any{strings.Repeat("k", 129): "v"}},
		want: []string{"rule.tags." + strings.Repeat("k", 129)}},
	{name: "tag key empty", give: edits{"rule.deleteMarkerReplication": false, "rule.tags": map[string]any{"": "v"}}, want: []string{`rule.tags[""]`}},
	{name: "tag value too long", give: edits{"rule.deleteMarkerReplication": false, "rule.tags": map[string]any{"team": strings.Repeat("v", 257)}}, want: []string{"rule.tags.team"}},
	{name: "tag value not a string", give: edits{"rule.deleteMarkerReplication": false, "rule.tags": map[string]any{"app.tier": 3}}, want: []string{`rule.tags["app.tier"]`}},
	{name: "tags not an object", give: edits{"rule.tags": []any{"a"}}, want: []string{"rule.tags"}},
	{name: "prefix too long", give: edits{"rule.prefix": strings.Repeat("p", MaxPrefixBytes+1)}, want: []string{"rule.prefix"}},
	{name: "prefix under the batch report directory", give: edits{"rule.prefix": ".s3crr-batch-reports/x/"}, want: []string{"rule.prefix"}},
	{name: "prefix too long in bytes", give: edits{"rule.prefix": strings.Repeat("é", MaxPrefixBytes/2+1)}, want: []string{"rule.prefix"}, blind: byteLength},
	{name: "rule ID too long", give: edits{"rule.id": strings.Repeat("r", 256)}, want: []string{"rule.id"}},
	{name: "rule ID empty", give: edits{"rule.id": ""}, want: []string{"rule.id"}},
	{name: "priority negative", give: edits{"rule.priority": -1}, want: []string{"rule.priority"}},
	{name: "priority fractional", give: edits{"rule.priority": 1.5}, want: []string{"rule.priority"}},
	{name: "priority beyond int32", give: edits{"rule.priority": 2147483648}, want: []string{"rule.priority"}},
	{name: "priority as string", give: edits{"rule.priority": "5"}, want: []string{"rule.priority"}},
	{name: "priority null", give: edits{"rule.priority": nil}, want: []string{"rule.priority"}},
	{name: "owner override within one account", give: edits{"destination.account": "111111111111"}, want: []string{"rule.ownerOverride"}, blind: crossField},
	{name: "boolean as string", give: edits{"rule.deleteMarkerReplication": "true"}, want: []string{"rule.deleteMarkerReplication"}},
	{name: "allowSameRegion as string", give: edits{"allowSameRegion": "yes"}, want: []string{"allowSameRegion"}},

	// structure
	{name: "unknown top-level field", give: edits{"dryRun": true}, want: []string{"dryRun"}},
	{name: "field in the wrong case", give: edits{"pairId": deleted, "PairID": "payments-archive"}, want: []string{"PairID", "pairId"}},
	{name: "unknown endpoint field", give: edits{"source.kmsKeyId": uuid}, want: []string{"source.kmsKeyId"}},
	{name: "unknown rule field", give: edits{"rule.Prefix": "logs/"}, want: []string{"rule.Prefix"}},
	{name: "endpoint not an object", give: edits{"source": "payments-src"}, want: []string{"source"}},
	{name: "rule not an object", give: edits{"rule": true}, want: []string{"rule"}},
	{name: "many problems at once",
		give: edits{"pairId": "P", "source.account": "1", "destination.region": "mars-1", "destination.bucket": "B",
			"rule.storageClass": "OUTPOSTS", "rule.priority": -3, "rule.extra": 1},
		want: []string{"pairId", "source.account", "destination.region", "destination.bucket", "rule.storageClass", "rule.priority", "rule.extra"}},

	// destinations and twoWay
	{name: "destination and destinations", give: edits{"destinations": dests(dst("dst-a", "us-east-1"))}, want: []string{"destinations"}},
	{name: "neither destination nor destinations", give: edits{"destination": deleted},
		want: []string{"destination.account", "destination.region", "destination.bucket"}},
	{name: "destinations empty", give: fanOut(), want: []string{"destinations"}},
	{name: "destinations not an array", give: edits{"destination": deleted, "destinations": dst("dst-a", "us-east-1")}, want: []string{"destinations"}},
	{name: "too many destinations", give: fanOut(dst("d-1", "us-east-1"), dst("d-2", "us-east-2"), dst("d-3", "us-west-1"), dst("d-4", "us-west-2"), dst("d-5", "eu-west-1"), dst("d-6", "eu-west-2")),
		want: []string{"destinations"}},
	{name: "same destination bucket twice", give: fanOut(dst("dst-a", "us-east-1"), dst("dst-a", "us-east-2")), want: []string{"destinations[1].bucket"}, blind: crossField},
	{name: "same priority twice", give: fanOut(withRule(dst("dst-a", "us-east-1"), map[string]any{"priority": 7}), withRule(dst("dst-b", "us-east-2"), map[string]any{"priority": 7})),
		want: []string{"destinations[1].rule.priority"}, blind: crossField},
	{name: "destination is the source bucket", give: fanOut(dst("payments-src", "us-east-1")), want: []string{"destinations[0].bucket"}, blind: crossField},
	{name: "destination in the source region", give: fanOut(dst("dst-a", "ap-south-1")), want: []string{"destinations[0].region"}, blind: crossField},
	{name: "destination without region", give: fanOut(map[string]any{"account": "222222222222", "bucket": "dst-a"}), want: []string{"destinations[0].region"}},
	{name: "unknown field in a destination", give: fanOut(map[string]any{"account": "222222222222", "region": "us-east-1", "bucket": "dst-a", "kmsKeyId": uuid}),
		want: []string{"destinations[0].kmsKeyId"}},
	{name: "bad rule of a destination", give: fanOut(withRule(dst("dst-a", "us-east-1"), map[string]any{"storageClass": "OUTPOSTS"})),
		want: []string{"destinations[0].rule.storageClass"}},
	{name: "shared rule ID for several destinations", give: merge(fanOut(dst("dst-a", "us-east-1")), edits{"rule.id": "one-rule"}), want: []string{"rule.id"}},
	{name: "shared priority for several destinations", give: merge(fanOut(dst("dst-a", "us-east-1")), edits{"rule.priority": 3}), want: []string{"rule.priority"}},
	{name: "twoWay with destinations", give: merge(fanOut(dst("dst-a", "us-east-1")), edits{"twoWay": true}), want: []string{"twoWay"}},
	{name: "twoWay with a long pairId", give: edits{"twoWay": true, "pairId": "p" + strings.Repeat("a", 40)}, want: []string{"pairId"}},
	{name: "twoWay not a boolean", give: edits{"twoWay": "yes"}, want: []string{"twoWay"}},
	{name: "replicationRole not s3crr's", give: edits{"replicationRole": "admin"}, want: []string{"replicationRole"}},

	// documents that are not one JSON object
	{name: "not JSON", raw: `{"pairId": `, want: []string{""}, blind: notADocument},
	{name: "empty document", raw: " \n", want: []string{""}, blind: notADocument},
	{name: "trailing data", raw: string(build(&testing.T{}, nil)) + ` {}`, want: []string{""}, blind: notADocument},
	{name: "array document", raw: `[]`, want: []string{""}, blind: notADocument},
	{name: "null document", raw: `null`, want: []string{""}, blind: notADocument},
	{name: "duplicate field", raw: `{"pairId":"payments-archive","pairId":"other-pair","source":{"account":"111111111111","region":"ap-south-1","bucket":"payments-src"},"destination":{"account":"222222222222","region":"us-east-1","bucket":"payments-dst"}}`,
		want: []string{"pairId"}, blind: notADocument},
	{name: "duplicate tag", raw: `{"pairId":"payments-archive","source":{"account":"111111111111","region":"ap-south-1","bucket":"payments-src"},"destination":{"account":"222222222222","region":"us-east-1","bucket":"payments-dst"},"rule":{"tags":{"env":"a","env":"b"}}}`,
		want: []string{"rule.tags.env"}, blind: notADocument},
	{name: "duplicate field in an endpoint", raw: `{"pairId":"payments-archive","source":{"account":"111111111111","region":"ap-south-1","bucket":"payments-src","bucket":"other-src"},"destination":{"account":"222222222222","region":"us-east-1","bucket":"payments-dst"}}`,
		want: []string{"source.bucket"}, blind: notADocument},
	{name: "document too large", raw: `{"pairId":"` + strings.Repeat("a", MaxRequestBytes) + `"}`, want: []string{""}, blind: notADocument},
}

// dst is a destinations entry in account B.
func dst(bucket, region string) map[string]any {
	return map[string]any{"account": "222222222222", "region": region, "bucket": bucket}
}

// withRule gives a destinations entry its own rule.
func withRule(d, rule map[string]any) map[string]any {
	d["rule"] = rule
	return d
}

func dests(ds ...map[string]any) []any {
	out := make([]any, len(ds))
	for i, d := range ds {
		out[i] = d
	}
	return out
}

// fanOut edits the base request into a fan-out to ds (rule options without ID or
// priority, which differ per leg).
func fanOut(ds ...map[string]any) edits {
	return edits{"destination": deleted, "destinations": dests(ds...)}
}

func merge(a, b edits) edits {
	out := edits{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func manyTags(n int) map[string]any {
	m := map[string]any{}
	for i := range n {
		m[fmt.Sprintf("k%d", i)] = "v"
	}
	return m
}

func TestParseRejects(t *testing.T) {
	for _, tt := range invalidRequests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.data(t))
			if err == nil {
				t.Fatalf("Parse accepted the request: %+v", r)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error is %T, want *ValidationError", err)
			}
			if got := pathSet(t, err); !sameSet(got, tt.want) {
				t.Errorf("problem paths = %q, want %q\n%v", keys(got), tt.want, err)
			}
		})
	}
}

// validRequests must be accepted by Parse (and by the JSON Schema).
var validRequests = []struct {
	name string
	give edits
}{
	{name: "base", give: nil},
	{name: "minimal, no rule", give: edits{"rule": deleted}},
	{name: "empty rule", give: edits{"rule": map[string]any{}}},
	{name: "aliases under alias/s3crr", give: edits{"source.kmsKeyAlias": "alias/s3crr-src", "destination.kmsKeyAlias": "alias/s3crr/team_a/Dest-1"}},
	{name: "existing key ARNs", give: edits{"source.kmsKeyArn": srcKeyARN, "destination.kmsKeyArn": "arn:aws:kms:us-east-1:222222222222:key/mrk-0123456789abcdef0123456789abcdef"}},
	{name: "same region with opt-in", give: edits{"destination.region": "ap-south-1", "allowSameRegion": true}},
	{name: "same account across regions", give: edits{"destination.account": "111111111111", "rule.ownerOverride": false}},
	{name: "tag filter without delete markers", give: edits{"rule.deleteMarkerReplication": false, "rule.tags": manyTags(10)}},
	{name: "empty tag map", give: edits{"rule.tags": map[string]any{}}},
	{name: "priority zero", give: edits{"rule.priority": 0}},
	{name: "priority written as 5.0", give: edits{"rule.priority": 5.0}},
	{name: "priority max int32", give: edits{"rule.priority": 2147483647}},
	{name: "RTC with metrics explicit", give: edits{"rule.metrics": true}},
	{name: "metrics off without RTC", give: edits{"rule.replicationTimeControl": false, "rule.metrics": false}},
	{name: "bucket keys off", give: edits{"rule.bucketKeyEnabled": false}},
	{name: "replica modifications", give: edits{"rule.replicaModifications": true}},
	{name: "every limit at its maximum", give: edits{
		"pairId":                       "p" + strings.Repeat("a", 47),
		"source.bucket":                strings.Repeat("s", 63),
		"destination.bucket":           "a.b-c.3",
		"source.kmsKeyAlias":           "alias/s3crr/" + strings.Repeat("k", 244),
		"rule.id":                      strings.Repeat("r", 255),
		"rule.prefix":                  strings.Repeat("p", MaxPrefixBytes),
		"rule.deleteMarkerReplication": false,
		"rule.tags":                    map[string]any{strings.Repeat("k", 128): strings.Repeat("v", 256), "é": ""},
	}},
	{name: "dotted bucket and prefix", give: edits{"source.bucket": "logs.example.com", "rule.prefix": "logs/2026/"}},
	{name: "numeric-looking bucket that is not an IP", give: edits{"source.bucket": "192.168.5"}},
	{name: "glacier replicas", give: edits{"rule.storageClass": "GLACIER_IR"}},
	{name: "fan-out to two regions", give: fanOut(dst("dst-a", "us-east-1"), dst("dst-b", "eu-west-1"))},
	{name: "fan-out with a rule per destination", give: fanOut(
		withRule(dst("dst-a", "us-east-1"), map[string]any{"priority": 1, "storageClass": "STANDARD_IA", "deleteMarkerReplication": true}),
		withRule(dst("dst-b", "eu-west-1"), map[string]any{"priority": 2, "prefix": "logs/"}),
		map[string]any{"account": "333333333333", "region": "us-west-2", "bucket": "dst-c", "kmsKeyAlias": "alias/s3crr/dst-c"})},
	{name: "fan-out at the limits", give: merge(fanOut(dst("d-1", "us-east-1"), dst("d-2", "us-east-2"), dst("d-3", "us-west-1"), dst("d-4", "us-west-2"), dst("d-5", "eu-west-1")),
		edits{"pairId": "p" + strings.Repeat("a", 39)})},
	{name: "two-way", give: edits{"twoWay": true}},
	{name: "an adopted role", give: edits{"replicationRole": "s3crr-repl-payments-archive"}},
}

func TestParseAccepts(t *testing.T) {
	for _, tt := range validRequests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(build(t, tt.give)); err != nil {
				t.Errorf("Parse rejected a valid request:\n%v", err)
			}
		})
	}
}

func TestParseAcceptsEveryRegionAndStorageClass(t *testing.T) {
	for _, region := range Regions {
		if _, err := Parse(build(t, edits{"source.region": region, "destination.region": "us-east-2", "allowSameRegion": true})); err != nil {
			t.Errorf("region %s rejected: %v", region, err)
		}
	}
	for _, sc := range StorageClasses {
		if _, err := Parse(build(t, edits{"rule.storageClass": sc})); err != nil {
			t.Errorf("storage class %s rejected: %v", sc, err)
		}
	}
}

// A field with a type error must not also be reported as "is required".
func TestParseReportsATypeErrorOnce(t *testing.T) {
	_, err := Parse(build(t, edits{"source.account": 111111111111, "destination": "nope"}))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want *ValidationError", err)
	}
	want := []string{"source.account", "destination"}
	if got := ve.Paths(); len(got) != len(want) || !sameSet(pathSet(t, err), want) {
		t.Errorf("paths = %q, want each of %q once\n%v", got, want, err)
	}
}

func TestValidationErrorText(t *testing.T) {
	_, err := Parse(build(t, edits{"source.region": "us-east-3", "rule.Prefix": "x"}))
	if err == nil {
		t.Fatal("Parse accepted the request")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%v", len(lines), err)
	}
	wantStarts := []string{"rule.Prefix: unknown field (fix: did you mean \"prefix\"?", `source.region: unknown region "us-east-3" (fix: `}
	for i, w := range wantStarts {
		if !strings.HasPrefix(lines[i], w) || !strings.HasSuffix(lines[i], ")") {
			t.Errorf("line %d = %q, want it to start with %q and end with )", i, lines[i], w)
		}
	}
	doc := &ValidationError{Problems: []Problem{{Path: "", Message: "m", Fix: "f"}}}
	if got, want := doc.Error(), "request: m (fix: f)"; got != want {
		t.Errorf("root problem renders %q, want %q", got, want)
	}
}

func TestFixTexts(t *testing.T) {
	tests := []struct {
		name string
		give edits
		want string // a fragment the fix must contain, the reason the user needs
	}{
		{name: "alias scope explains the provisioner role", give: edits{"source.kmsKeyAlias": "alias/payments"}, want: "provisioner roles may only create and manage aliases under alias/s3crr"},
		{name: "AWS managed key explains cross-account", give: edits{"source.kmsKeyArn": "alias/aws/s3"}, want: "cannot be used cross-account"},
		{name: "alias ARN explains resolution", give: edits{"source.kmsKeyArn": "arn:aws:kms:ap-south-1:111111111111:alias/x"}, want: "resolves an alias in the replication requester's account"},
		{name: "key ID gets the full ARN", give: edits{"source.kmsKeyArn": uuid}, want: srcKeyARN},
		{name: "same region names the opt-in", give: edits{"destination.region": "ap-south-1"}, want: "allowSameRegion: true"},
		{name: "RTC names metrics", give: edits{"rule.metrics": false}, want: "requires replication metrics"},
		{name: "region typo is suggested", give: edits{"source.region": "ap-south1"}, want: `did you mean "ap-south-1"?`},
		{name: "uppercase bucket is lowered", give: edits{"source.bucket": "Payments-Src"}, want: `use "payments-src"`},
		{name: "unknown field suggests", give: edits{"source.kmsKeyARN": srcKeyARN}, want: `did you mean "kmsKeyArn"?`},
		{name: "express one zone says why", give: edits{"rule.storageClass": "EXPRESS_ONEZONE"}, want: "use one of STANDARD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(build(t, tt.give))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not contain %q:\n%v", tt.want, err)
			}
		})
	}
}

// Validate works on a Request built in Go, before or after defaults.
func TestValidateGoValues(t *testing.T) {
	r := Request{
		PairID:      "payments-archive",
		Source:      Endpoint{Account: "111111111111", Region: "eu-west-1", Bucket: "src-bucket"},
		Destination: Endpoint{Account: "222222222222", Region: "eu-central-1", Bucket: "dst-bucket"},
	}
	if err := r.Validate(); err != nil {
		t.Fatalf("Validate before defaults: %v", err)
	}
	r.ApplyDefaults()
	if err := r.Validate(); err != nil {
		t.Fatalf("Validate after defaults: %v", err)
	}
	r.Rule.Priority = ptr(int32(-2))
	r.Rule.Tags = map[string]string{"a": "b"}
	r.Rule.DeleteMarkerReplication = true
	got := pathSet(t, r.Validate())
	if want := []string{"rule.priority", "rule.tags"}; !sameSet(got, want) {
		t.Errorf("paths = %q, want %q", keys(got), want)
	}
}

// A deployment's alias prefix decides which aliases a request may name and where the
// default aliases go: the tutorial's alias/s3-crr-key-account-a is valid under
// alias/s3-crr-key and not under the default prefix, and the defaults follow the prefix.
func TestOptionsAliasPrefix(t *testing.T) {
	tutorial := []byte(`{"pairId":"tutorial","source":{"account":"111111111111","region":"ap-south-1","bucket":"tutorial-src","kmsKeyAlias":"alias/s3-crr-key-account-a"},
		"destination":{"account":"222222222222","region":"us-east-1","bucket":"tutorial-dst"}}`)
	if _, err := Parse(tutorial); err == nil || !strings.Contains(err.Error(), `must start with "alias/s3crr"`) {
		t.Errorf("default deployment: Parse = %v, want the alias refused", err)
	}
	r, err := Options{KMSAliasPrefix: "alias/s3-crr-key"}.Parse(tutorial)
	if err != nil {
		t.Fatalf("under alias/s3-crr-key: %v", err)
	}
	if r.Source.KMSKeyAlias != "alias/s3-crr-key-account-a" || r.Destination.KMSKeyAlias != "alias/s3-crr-key/tutorial/destination" {
		t.Errorf("aliases = %q, %q", r.Source.KMSKeyAlias, r.Destination.KMSKeyAlias)
	}
	if _, err := (Options{KMSAliasPrefix: "alias/s3-crr-key"}).Parse(build(t, edits{"source.kmsKeyAlias": "alias/s3crr-src"})); err == nil || !strings.Contains(err.Error(), "source.kmsKeyAlias") {
		t.Errorf("sample under alias/s3-crr-key: %v, want source.kmsKeyAlias refused", err)
	}
}

// ValidPairID is the pairId rule the CLI's pair-ID arguments are checked by.
func TestValidPairIDIsThePairIDRule(t *testing.T) {
	for _, id := range []string{"payments-archive", "abc", strings.Repeat("a", MaxPairIDLen), "ab", strings.Repeat("a", MaxPairIDLen+1), "Payments", "9lives", "pay_archive", ""} {
		r := Request{PairID: id}
		var ps problems
		r.checkPairID(&ps)
		if got, want := ValidPairID(id), len(ps) == 0; got != want {
			t.Errorf("ValidPairID(%q) = %v, but the request rule says valid = %v (%v)", id, got, want, ps)
		}
	}
}
