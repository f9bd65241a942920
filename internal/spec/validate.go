package spec

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/s3crr/s3crr/internal/names"
)

// Problem is one thing wrong with a request.
type Problem struct {
	// Path is the JSON path of the offending field, e.g. "source.bucket" or
	// "rule.tags"; empty for the document as a whole.
	Path string `json:"path"`
	// Message says what is wrong.
	Message string `json:"message"`
	// Fix says how to put it right.
	Fix string `json:"fix"`
}

// String renders the problem as one line: "path: message (fix: ...)".
func (p Problem) String() string {
	path := p.Path
	if path == "" {
		path = "request"
	}
	return path + ": " + p.Message + " (fix: " + p.Fix + ")"
}

// ValidationError lists every problem found in a request, so that the user can
// fix them all in one go. Decode, Validate and Parse return it.
type ValidationError struct {
	Problems []Problem `json:"problems"`
}

// Error lists every problem on its own line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Paths returns the path of every problem, in order (with repeats).
func (e *ValidationError) Paths() []string {
	paths := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		paths[i] = p.Path
	}
	return paths
}

// problems collects Problem values while checking.
type problems []Problem

func (ps *problems) add(path, msg, fix string) {
	*ps = append(*ps, Problem{Path: path, Message: msg, Fix: fix})
}

// err returns nil, or a *ValidationError as an error.
func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}

// Patterns shared with the JSON Schema (statemachine/pair-request.schema.json);
// schema_test.go checks that the schema uses the same ones.
var (
	pairIDPattern  = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	bucketCharset  = regexp.MustCompile(`^[a-z0-9.-]*$`)
	ipAddress      = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$`)
	aliasCharset   = regexp.MustCompile(`^[a-zA-Z0-9/_-]*$`)
	keyIDPattern   = `([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})`
	keyID          = regexp.MustCompile(`^` + keyIDPattern + `$`)
	keyARN         = regexp.MustCompile(`^arn:aws:kms:([a-z0-9-]+):([0-9]{12}):key/` + keyIDPattern + `$`)
)

// Bucket name prefixes and suffixes S3 reserves for other features.
var (
	reservedBucketPrefixes = []string{"xn--", "sthree-", "amzn-s3-demo-"}
	reservedBucketSuffixes = []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}
)

// Limits of the rule (PutBucketReplication and object tagging limits).
const (
	maxRuleIDLen   = 255
	maxTags        = 10
	maxTagKeyLen   = 128
	maxTagValueLen = 256
	maxAliasLen    = 256
)

// Validate checks the request and returns a *ValidationError listing every
// problem, or nil. It accepts a request before or after ApplyDefaults: empty
// optional fields are the defaults' business, not errors.
//
// It checks aliases against the default prefix (names.AliasPrefix); a deployment with
// another kmsAliasPrefix validates with Options.Validate.
func (r Request) Validate() error { return Options{}.Validate(r) }

// Validate is Request.Validate under these options: kmsKeyAlias must start with the
// deployment's alias prefix, the only aliases its provisioner roles may manage.
func (o Options) Validate(r Request) error {
	if r.isMulti() {
		return o.validateMulti(r).err()
	}
	return o.validateOne(r).err()
}

// validateOne checks a single-destination request (a plain request, or one leg).
func (o Options) validateOne(r Request) problems {
	var ps problems
	prefix := o.aliasPrefix()
	r.checkReplicationRole(&ps)
	r.checkPairID(&ps)
	r.checkEndpoint(&ps, "source", r.Source, names.SourceAlias(prefix, r.PairID), prefix)
	r.checkEndpoint(&ps, "destination", r.Destination, names.DestinationAlias(prefix, r.PairID), prefix)
	r.checkPair(&ps)
	r.checkRule(&ps)
	return ps
}

// ValidPairID reports whether id is a well-formed pair ID (the pairId rule: pattern and
// length), so commands that take a pair ID check it by the same rule as requests.
func ValidPairID(id string) bool {
	return len(id) >= MinPairIDLen && len(id) <= MaxPairIDLen && pairIDPattern.MatchString(id)
}

func (r Request) checkPairID(ps *problems) {
	const why = "it names the replication role (s3crr-repl-<pairId>), the key aliases, the rule and the execution"
	id := r.PairID
	switch {
	case id == "":
		ps.add("pairId", "is required", `set a short name for the pair, e.g. "payments-archive"`)
		return
	case len(id) < MinPairIDLen || len(id) > MaxPairIDLen:
		ps.add("pairId", fmt.Sprintf("must be %d to %d characters, got %d", MinPairIDLen, MaxPairIDLen, len(id)),
			fmt.Sprintf("use %d to %d characters: %s, and IAM role names are at most 64", MinPairIDLen, MaxPairIDLen, why))
	}
	if !pairIDPattern.MatchString(id) {
		ps.add("pairId", "must start with a lowercase letter and contain only lowercase letters, digits and hyphens",
			`use e.g. "payments-archive": `+why)
	}
}

func (r Request) checkEndpoint(ps *problems, side string, e Endpoint, defaultAlias, aliasPrefix string) {
	p := func(f string) string { return side + "." + f }

	switch {
	case e.Account == "":
		ps.add(p("account"), "is required", "set the 12-digit AWS account ID that owns the "+side+" bucket")
	case !accountPattern.MatchString(e.Account):
		ps.add(p("account"), fmt.Sprintf("must be a 12-digit AWS account ID, got %q", e.Account),
			`write the 12 digits as a string, with any leading zeros and no dashes, e.g. "012345678901"`)
	}

	checkRegion(ps, p("region"), e.Region)
	checkBucket(ps, p("bucket"), e.Bucket)

	if e.KMSKeyAlias != "" && e.KMSKeyARN != "" {
		ps.add(p("kmsKeyArn"), "kmsKeyAlias and kmsKeyArn are both set",
			"keep kmsKeyArn to use an existing key, or kmsKeyAlias to have s3crr create or reuse the key under that alias")
	}
	// The default alias is valid whenever pairId is; reporting it too would
	// repeat a pairId problem under another path.
	if e.KMSKeyAlias != "" && e.KMSKeyAlias != defaultAlias {
		checkAlias(ps, p("kmsKeyAlias"), e.KMSKeyAlias, aliasPrefix)
	}
	if e.KMSKeyARN != "" {
		checkKeyARN(ps, p("kmsKeyArn"), e.KMSKeyARN, e)
	}
}

func checkRegion(ps *problems, path, region string) {
	switch {
	case region == "":
		ps.add(path, "is required", "set the region code of the bucket, e.g. us-east-1")
	case strings.HasPrefix(region, "us-gov-") || strings.HasPrefix(region, "cn-") || strings.HasPrefix(region, "eusc-"):
		ps.add(path, fmt.Sprintf("region %q is outside the aws partition", region),
			"s3crr provisions commercial AWS regions only (it builds arn:aws: ARNs); use a commercial region")
	case !IsKnownRegion(region):
		fix := "use a commercial AWS region code such as us-east-1; known: " + strings.Join(Regions, ", ")
		if s := closest(strings.ToLower(strings.TrimSpace(region)), Regions); s != "" {
			fix = fmt.Sprintf("did you mean %q? region codes are lowercase, like us-east-1", s)
		}
		ps.add(path, fmt.Sprintf("unknown region %q", region), fix)
	}
}

// closest returns the entry of list nearest to s (at most two edits), or "".
func closest(s string, list []string) string {
	best, bestDist := "", 3
	for _, x := range list {
		if d := editDistance(s, x); d < bestDist {
			best, bestDist = x, d
		}
	}
	return best
}

// checkBucket applies S3's general purpose bucket naming rules
// ([UG] bucketnamingrules); each broken rule is its own problem.
func checkBucket(ps *problems, path, b string) {
	const rules = "S3 bucket names are 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"
	if b == "" {
		ps.add(path, "is required", "set the bucket name (s3crr creates the bucket if it does not exist)")
		return
	}
	if n := len(b); n < 3 || n > 63 {
		ps.add(path, fmt.Sprintf("must be 3 to 63 characters, got %d", n), rules)
	}
	if !bucketCharset.MatchString(b) {
		fix := rules
		if l := strings.ToLower(b); bucketCharset.MatchString(l) {
			fix = fmt.Sprintf("bucket names are lowercase: use %q", l)
		}
		ps.add(path, "may contain only lowercase letters, digits, dots and hyphens", fix)
	}
	if !isAlnum(b[0]) || !isAlnum(b[len(b)-1]) {
		ps.add(path, "must begin and end with a lowercase letter or digit", rules)
	}
	if strings.Contains(b, "..") {
		ps.add(path, "must not contain two adjacent dots", rules)
	}
	if ipAddress.MatchString(b) {
		ps.add(path, "must not be formatted as an IP address", "choose a name that is not four dot-separated numbers")
	}
	for _, pre := range reservedBucketPrefixes {
		if strings.HasPrefix(b, pre) {
			ps.add(path, fmt.Sprintf("must not start with %q, which S3 reserves", pre), "choose a name without the reserved prefix")
		}
	}
	for _, suf := range reservedBucketSuffixes {
		if strings.HasSuffix(b, suf) {
			ps.add(path, fmt.Sprintf("must not end with %q, which S3 reserves for access points and other bucket types", suf),
				"choose a name without the reserved suffix")
		}
	}
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

const awsManagedWhy = "AWS managed keys (alias/aws/...) cannot be used cross-account: their key policy cannot grant the replication role"

func checkAlias(ps *problems, path, alias, prefix string) {
	scope := "this deployment's member provisioner roles may only create and manage aliases under " + prefix +
		"* (its kmsAliasPrefix), so s3crr cannot manage any other alias; leave kmsKeyAlias out for the default " +
		names.SourceAlias(prefix, "<pairId>") + " (or .../destination), use kmsKeyArn to bring an existing key, " +
		"or redeploy with another kmsAliasPrefix (and set " + names.EnvKMSAliasPrefix + " to it for the CLI)"
	switch {
	case strings.HasPrefix(alias, "alias/aws/"):
		ps.add(path, "names an AWS managed key", awsManagedWhy+"; leave kmsKeyAlias out to have s3crr create a customer managed key")
		return
	case !strings.HasPrefix(alias, "alias/"):
		ps.add(path, `must start with "alias/"`, `write the full alias name, e.g. "alias/s3crr/payments"; to use an existing key by ARN, set kmsKeyArn instead`)
		return
	}
	if len(alias) > maxAliasLen {
		ps.add(path, fmt.Sprintf("must be at most %d characters, got %d", maxAliasLen, len(alias)), "shorten the alias")
	}
	if !aliasCharset.MatchString(alias) {
		ps.add(path, "may contain only letters, digits, slashes, underscores and hyphens", `use e.g. "alias/s3crr/payments"`)
	}
	if !strings.HasPrefix(alias, prefix) {
		ps.add(path, fmt.Sprintf("must start with %q", prefix), scope)
	}
}

func checkKeyARN(ps *problems, path, arn string, e Endpoint) {
	const format = "arn:aws:kms:<region>:<account>:key/<key-id>"
	switch {
	case strings.HasPrefix(arn, "alias/aws/") || strings.Contains(arn, ":alias/aws/"):
		ps.add(path, "names an AWS managed key", awsManagedWhy+"; use a customer managed key, or leave kmsKeyArn out to have s3crr create one")
		return
	case strings.HasPrefix(arn, "alias/") || strings.HasPrefix(arn, "arn:aws:kms:") && strings.Contains(arn, ":alias/"):
		ps.add(path, "is an alias, not a key ARN",
			"use the key ARN ("+format+"): S3 resolves an alias in the replication requester's account, not the key owner's; or put an alias under the deployment's kmsAliasPrefix in kmsKeyAlias")
		return
	case keyID.MatchString(arn):
		ps.add(path, "is a key ID, not a key ARN", fmt.Sprintf("write the full ARN: arn:aws:kms:%s:%s:key/%s", orPlaceholder(e.Region, "<region>"), orPlaceholder(e.Account, "<account>"), arn))
		return
	}
	m := keyARN.FindStringSubmatch(arn)
	if m == nil {
		ps.add(path, "is not a KMS key ARN", "use "+format+" with a lowercase key ID")
		return
	}
	region, account := m[1], m[2]
	if e.Region != "" && region != e.Region {
		ps.add(path, fmt.Sprintf("key is in region %s but the bucket is in %s", region, e.Region),
			"S3 encrypts with a key in the bucket's own region; use a key in "+e.Region+", or leave kmsKeyArn out to have s3crr create one")
	}
	if e.Account != "" && account != e.Account {
		ps.add(path, fmt.Sprintf("key is in account %s but the bucket is in %s", account, e.Account),
			"s3crr manages the key policy with the bucket account's provisioner role; use a key owned by "+e.Account+", or leave kmsKeyArn out to have s3crr create one")
	}
}

func orPlaceholder(s, placeholder string) string {
	if s == "" {
		return placeholder
	}
	return s
}

// checkPair applies the rules that compare source and destination.
func (r Request) checkPair(ps *problems) {
	if r.Source.Bucket != "" && r.Source.Bucket == r.Destination.Bucket {
		ps.add("destination.bucket", "is the same bucket as source.bucket",
			"bucket names are global: replicate into a different bucket")
	}
	if r.Source.Region != "" && r.Source.Region == r.Destination.Region && !r.AllowSameRegion {
		ps.add("destination.region", "is the same region as source.region",
			"choose a destination in another region for cross-region replication, or set allowSameRegion: true to ask for same-region replication (SRR) on purpose")
	}
}

func (r Request) checkRule(ps *problems) {
	rule := r.Rule
	if rule.ID != "" && rule.ID != names.RuleID(r.PairID) {
		if n := utf8.RuneCountInString(rule.ID); n > maxRuleIDLen {
			ps.add("rule.id", fmt.Sprintf("must be at most %d characters, got %d", maxRuleIDLen, n),
				"shorten it, or leave it out for the default s3crr-<pairId>")
		}
	}
	if rule.Priority != nil && *rule.Priority < 0 {
		ps.add("rule.priority", fmt.Sprintf("must not be negative, got %d", *rule.Priority),
			"use 0 or more (higher wins between rules matching the same object), or leave it out for the default derived from pairId")
	}
	if n := len(rule.Prefix); n > MaxPrefixBytes {
		ps.add("rule.prefix", fmt.Sprintf("must be at most %d bytes, got %d", MaxPrefixBytes, n),
			fmt.Sprintf("S3 keys are at most 1024 bytes and the verifier's canaries go under <prefix>%s; shorten the prefix", names.CanaryDir))
	}

	if strings.HasPrefix(rule.Prefix, names.BatchReportDir) {
		ps.add("rule.prefix", fmt.Sprintf("must not be under %s, where s3crr's Batch Replication jobs write their completion reports", names.BatchReportDir),
			"choose a prefix for your data; the reserved prefix holds only s3crr's job reports")
	}

	if len(rule.Tags) > maxTags {
		ps.add("rule.tags", fmt.Sprintf("has %d tags, at most %d allowed", len(rule.Tags), maxTags),
			"filter on at most 10 tags (the S3 object tag limit)")
	}
	for _, k := range sortedKeys(rule.Tags) {
		p := tagPath("rule.tags", k)
		if n := utf8.RuneCountInString(k); n < 1 || n > maxTagKeyLen {
			ps.add(p, fmt.Sprintf("tag key must be 1 to %d characters, got %d", maxTagKeyLen, n), "use a shorter, non-empty tag key")
		}
		if n := utf8.RuneCountInString(rule.Tags[k]); n > maxTagValueLen {
			ps.add(p, fmt.Sprintf("tag value must be at most %d characters, got %d", maxTagValueLen, n), "use a shorter tag value")
		}
	}
	if len(rule.Tags) > 0 && rule.DeleteMarkerReplication {
		ps.add("rule.tags", "a tag filter cannot be combined with deleteMarkerReplication: true",
			"S3 rejects delete-marker replication in a rule with a tag filter (delete markers carry no tags); remove the tags or set deleteMarkerReplication: false")
	}

	if sc := rule.StorageClass; sc != "" && !contains(StorageClasses, sc) {
		msg := fmt.Sprintf("unknown storage class %q", sc)
		if why, ok := unsupportedStorageClasses[sc]; ok {
			msg = fmt.Sprintf("storage class %q cannot be used: %s", sc, why)
		}
		ps.add("rule.storageClass", msg, "use one of "+strings.Join(StorageClasses, ", ")+", or leave it out for STANDARD")
	}

	if rule.ReplicationTimeControl && rule.Metrics != nil && !*rule.Metrics {
		ps.add("rule.metrics", "is false but replicationTimeControl is true",
			"S3 requires replication metrics with Replication Time Control: set metrics to true or leave it out")
	}

	if rule.OwnerOverride && r.Source.Account != "" && r.Source.Account == r.Destination.Account {
		ps.add("rule.ownerOverride", "is true but source and destination are in the same account",
			"owner override (AccessControlTranslation) applies only across accounts: set ownerOverride: false")
	}
}
