package cdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/schedule"
)

// Context keys the app reads (cdk.json's "context" holds the defaults; `-c key=value`
// overrides them). Every validation error names the key it is about.
const (
	CtxHubAccount          = "hubAccount"
	CtxHubRegion           = "hubRegion"
	CtxMembers             = "members"
	CtxExternalID          = "externalId"
	CtxAlertEmail          = "alertEmail"
	CtxBucketNamePrefix    = "bucketNamePrefix"
	CtxVerifySchedule      = schedule.ContextExpression
	CtxVerifyTimeZone      = schedule.ContextTimeZone
	CtxProvisionerRoleName = "provisionerRoleName"
	CtxKMSAliasPrefix      = "kmsAliasPrefix"
	CtxOrganizationID      = "organizationId"
	CtxMemberOUs           = "memberOrganizationalUnits"
	CtxOrgMemberRegions    = "organizationMemberRegions"
)

// ExampleExternalID is the placeholder cdk.json ships with. Every reader of this
// repository knows it, so a deployment using it would have no confused-deputy guard:
// ParseConfig refuses it.
const ExampleExternalID = "s3crr-example-external-id"

// DefaultKMSAliasPrefix is the alias prefix when kmsAliasPrefix is not set
// (alias/s3crr/<pairId>/<side> for the default aliases).
const DefaultKMSAliasPrefix = names.AliasPrefix

// DefaultVerifySchedule runs the nightly verification at 03:00 (UTC unless
// verifyTimeZone says otherwise); `crr local up` fires its schedule from the same value.
const DefaultVerifySchedule = schedule.DefaultVerifyExpression

// Member is one member account and the regions s3crr may use in it. The first region is
// the account's primary region: its MemberStack also holds the account's IAM resources.
type Member struct {
	Account string   `json:"account"`
	Regions []string `json:"regions"`
}

// Config is the deployment, read from the CDK context and validated.
type Config struct {
	// HubAccount and HubRegion are where HubStack is deployed.
	HubAccount string
	HubRegion  string
	// Members are the accounts (and their regions) that hold buckets s3crr replicates.
	Members []Member
	// ExternalID is the deployment's shared sts:ExternalId. It is not a secret: it guards
	// against the confused deputy (someone else's automation being tricked into using
	// our trust), and it appears in the provisioner roles' trust policies anyway.
	ExternalID string
	// AlertEmail, when set, subscribes an address to the alert topic (the subscription
	// must be confirmed from the e-mail).
	AlertEmail string
	// BucketNamePrefix limits every S3 permission of the provisioner roles and of the
	// replication boundary to buckets whose names start with it. It is required; the
	// context value "*" (names.AnyBucket) is stored as "" and means every bucket.
	BucketNamePrefix string
	// KMSAliasPrefix limits the key aliases the provisioner roles may create and the
	// keys they may change to aliases starting with it; default DefaultKMSAliasPrefix.
	KMSAliasPrefix string
	// OrganizationID, when set, scopes the hub's trust in member accounts by AWS
	// Organizations membership (aws:PrincipalOrgID, aws:ResourceOrgID) instead of by
	// the member account list, so that an account added to the organization's member
	// OU needs no hub redeployment for its events.
	OrganizationID string
	// MemberOUs, when set, are the organizational units (or the root) whose accounts get
	// the member stack through a service-managed StackSet with automatic deployment
	// (stack MemberStackSetStackName), in OrgMemberRegions; the first of those is where
	// each account's IAM resources are created.
	MemberOUs        []string
	OrgMemberRegions []string
	// VerifySchedule is the EventBridge schedule expression of the nightly verification.
	// It is validated now and used once the verify state machine exists.
	VerifySchedule string
	// VerifyTimeZone is the schedule's IANA time zone (EventBridge Scheduler's
	// ScheduleExpressionTimezone); default UTC.
	VerifyTimeZone string
	// ProvisionerRoleName is the role every MemberStack creates and the hub Lambdas assume.
	ProvisionerRoleName string
}

// MemberAccounts lists the member account IDs in configuration order.
func (c Config) MemberAccounts() []string {
	out := make([]string, 0, len(c.Members))
	for _, m := range c.Members {
		out = append(out, m.Account)
	}
	return out
}

// BucketPattern is the IAM resource pattern for the buckets s3crr may manage.
func (c Config) BucketPattern() string { return c.BucketNamePrefix + "*" }

// BucketNamePrefixSetting is the prefix as the deployment wrote it: names.AnyBucket when it
// chose every bucket.
func (c Config) BucketNamePrefixSetting() string {
	if c.BucketNamePrefix == "" {
		return names.AnyBucket
	}
	return c.BucketNamePrefix
}

// AliasPattern is the IAM resource pattern (after "alias/") and kms:ResourceAliases
// value for the key aliases s3crr may manage.
func (c Config) AliasPattern() string { return c.KMSAliasPrefix + "*" }

var (
	accountRE      = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE       = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	externalIDRE   = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
	roleNameRE     = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	bucketPrefixRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,61}$`)
	emailRE        = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	// timeZoneRE is the shape of an IANA time zone name; EventBridge Scheduler checks the name itself.
	timeZoneRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$`)
	// An alias name is alias/ followed by letters, digits, /_- (KMS CreateAlias); the
	// prefix must name at least one character after alias/ to narrow anything.
	aliasPrefixRE = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]{1,200}$`)
	orgIDRE       = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	ouIDRE        = regexp.MustCompile(`^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$`)
)

// ParseConfig reads and validates the configuration; lookup returns a context value or
// nil (construct.Node().TryGetContext). Values from cdk.json keep their JSON types;
// values from `-c` arrive as strings, so every key accepts its string form too.
func ParseConfig(lookup func(key string) any) (Config, error) {
	var errs []error
	str := func(key string) string {
		v := lookup(key)
		switch x := v.(type) {
		case nil:
			return ""
		case string:
			return strings.TrimSpace(x)
		case float64:
			errs = append(errs, fmt.Errorf("context %q: got the number %v; quote it as a string (a number loses leading zeros)", key, x))
		default:
			errs = append(errs, fmt.Errorf("context %q: want a string, got %T", key, v))
		}
		return ""
	}
	c := Config{
		HubAccount:          str(CtxHubAccount),
		HubRegion:           str(CtxHubRegion),
		ExternalID:          str(CtxExternalID),
		AlertEmail:          str(CtxAlertEmail),
		BucketNamePrefix:    str(CtxBucketNamePrefix),
		VerifySchedule:      str(CtxVerifySchedule),
		VerifyTimeZone:      str(CtxVerifyTimeZone),
		ProvisionerRoleName: str(CtxProvisionerRoleName),
		KMSAliasPrefix:      str(CtxKMSAliasPrefix),
		OrganizationID:      str(CtxOrganizationID),
	}
	if c.KMSAliasPrefix == "" {
		c.KMSAliasPrefix = DefaultKMSAliasPrefix
	}
	if c.VerifyTimeZone == "" {
		c.VerifyTimeZone = schedule.DefaultVerifyTimeZone
	}
	if c.VerifySchedule == "" {
		c.VerifySchedule = DefaultVerifySchedule
	}
	if c.ProvisionerRoleName == "" {
		c.ProvisionerRoleName = names.ProvisionerRoleName
	}
	if raw := lookup(CtxMembers); raw == nil {
		errs = append(errs, fmt.Errorf("context %q is required: the member accounts and regions, e.g. \"111111111111:ap-south-1,222222222222:us-east-1\"", CtxMembers))
	} else if members, err := parseMembers(raw); err != nil {
		errs = append(errs, fmt.Errorf("context %q: %w", CtxMembers, err))
	} else {
		c.Members = members
	}

	switch {
	case c.HubAccount == "":
		errs = append(errs, fmt.Errorf("context %q is required: the automation account's 12-digit ID", CtxHubAccount))
	case !accountRE.MatchString(c.HubAccount):
		errs = append(errs, fmt.Errorf("context %q: %q is not a 12-digit account ID", CtxHubAccount, c.HubAccount))
	}
	switch {
	case c.HubRegion == "":
		errs = append(errs, fmt.Errorf("context %q is required, e.g. us-east-1", CtxHubRegion))
	case !regionRE.MatchString(c.HubRegion):
		errs = append(errs, fmt.Errorf("context %q: %q is not a region name such as us-east-1", CtxHubRegion, c.HubRegion))
	}
	switch {
	case c.ExternalID == "":
		errs = append(errs, fmt.Errorf("context %q is required: a deployment-wide value the provisioner roles demand as sts:ExternalId", CtxExternalID))
	case len(c.ExternalID) < 2 || len(c.ExternalID) > 1224 || !externalIDRE.MatchString(c.ExternalID):
		errs = append(errs, fmt.Errorf("context %q: must be 2 to 1224 characters of letters, digits and +=,.@:/-_", CtxExternalID))
	case c.ExternalID == ExampleExternalID:
		errs = append(errs, fmt.Errorf("context %q: %q is the published example, which guards nothing; set a value unique to this deployment in cdk.json or with -c %s=$(openssl rand -hex 16)", CtxExternalID, c.ExternalID, CtxExternalID))
	}
	if c.AlertEmail != "" && !emailRE.MatchString(c.AlertEmail) {
		errs = append(errs, fmt.Errorf("context %q: %q is not an e-mail address", CtxAlertEmail, c.AlertEmail))
	}
	switch {
	case c.BucketNamePrefix == "":
		errs = append(errs, fmt.Errorf("context %q is required: the start of the names of the buckets s3crr may manage (e.g. -c %s=acme-repl-), or %q to let it manage every bucket in the member accounts", CtxBucketNamePrefix, CtxBucketNamePrefix, names.AnyBucket))
	case c.BucketNamePrefix == names.AnyBucket:
		c.BucketNamePrefix = ""
	case !bucketPrefixRE.MatchString(c.BucketNamePrefix):
		errs = append(errs, fmt.Errorf("context %q: %q is not the start of a bucket name (lower-case letters, digits, '.' and '-'; %q alone for every bucket)", CtxBucketNamePrefix, c.BucketNamePrefix, names.AnyBucket))
	}
	switch {
	case !aliasPrefixRE.MatchString(c.KMSAliasPrefix):
		errs = append(errs, fmt.Errorf("context %q: %q is not the start of a KMS alias name (alias/ then letters, digits, '/', '_' and '-', e.g. %q)", CtxKMSAliasPrefix, c.KMSAliasPrefix, DefaultKMSAliasPrefix))
	case strings.HasPrefix(c.KMSAliasPrefix, "alias/aws"):
		errs = append(errs, fmt.Errorf("context %q: %q: alias names starting with alias/aws are reserved for AWS managed keys", CtxKMSAliasPrefix, c.KMSAliasPrefix))
	}
	if c.OrganizationID != "" && !orgIDRE.MatchString(c.OrganizationID) {
		errs = append(errs, fmt.Errorf("context %q: %q is not an AWS Organizations ID such as o-a1b2c3d4e5", CtxOrganizationID, c.OrganizationID))
	}
	c.MemberOUs = strList(lookup(CtxMemberOUs), CtxMemberOUs, &errs)
	c.OrgMemberRegions = strList(lookup(CtxOrgMemberRegions), CtxOrgMemberRegions, &errs)
	for _, ou := range c.MemberOUs {
		if !ouIDRE.MatchString(ou) {
			errs = append(errs, fmt.Errorf("context %q: %q is not an organizational unit ID (ou-...) or root ID (r-...)", CtxMemberOUs, ou))
		}
	}
	for _, r := range c.OrgMemberRegions {
		if !regionRE.MatchString(r) {
			errs = append(errs, fmt.Errorf("context %q: %q is not a region name such as us-east-1", CtxOrgMemberRegions, r))
		}
	}
	if len(c.MemberOUs) > 0 {
		if c.OrganizationID == "" {
			errs = append(errs, fmt.Errorf("context %q needs %q: the hub admits the organization's accounts by it", CtxMemberOUs, CtxOrganizationID))
		}
		if len(c.OrgMemberRegions) == 0 {
			errs = append(errs, fmt.Errorf("context %q needs %q: the regions every member account gets the stack in, the first holding its IAM role", CtxMemberOUs, CtxOrgMemberRegions))
		}
	}
	// The same parser the local hub fires the schedule with, so an expression the
	// local stack cannot evaluate is refused at synth (docs/aws-facts.md#F-SCHEDULER-EXPRESSIONS).
	if _, err := schedule.Parse(c.VerifySchedule); err != nil {
		errs = append(errs, fmt.Errorf("context %q: %v (e.g. %q or \"rate(1 day)\")", CtxVerifySchedule, err, DefaultVerifySchedule))
	}
	if !timeZoneRE.MatchString(c.VerifyTimeZone) {
		errs = append(errs, fmt.Errorf("context %q: %q is not an IANA time zone such as \"UTC\" or \"Europe/Berlin\"", CtxVerifyTimeZone, c.VerifyTimeZone))
	}
	if !roleNameRE.MatchString(c.ProvisionerRoleName) {
		errs = append(errs, fmt.Errorf("context %q: %q is not an IAM role name (1 to 64 characters of letters, digits and +=,.@-_)", CtxProvisionerRoleName, c.ProvisionerRoleName))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// strList reads a list setting: a JSON list from cdk.json, or "a,b" from -c.
func strList(v any, key string, errs *[]error) []string {
	var out []string
	switch x := v.(type) {
	case nil:
	case string:
		for _, p := range strings.Split(x, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				*errs = append(*errs, fmt.Errorf("context %q: want a list of strings, got %T in it", key, e))
				continue
			}
			out = append(out, strings.TrimSpace(s))
		}
	default:
		*errs = append(*errs, fmt.Errorf("context %q: want a list of strings or \"a,b\", got %T", key, v))
	}
	return out
}

// parseMembers accepts a JSON list of {"account", "regions"} (from cdk.json, or as a
// string from -c), or the short form "111111111111:ap-south-1,222222222222:us-east-1".
// Entries for the same account merge, keeping the order regions first appear in.
func parseMembers(v any) ([]Member, error) {
	var raw []Member
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		if strings.HasPrefix(s, "[") {
			if err := decodeMembers([]byte(s), &raw); err != nil {
				return nil, err
			}
			break
		}
		for i, part := range strings.Split(s, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			acct, region, ok := strings.Cut(part, ":")
			if !ok {
				return nil, fmt.Errorf("entry %d %q: want account:region", i+1, part)
			}
			raw = append(raw, Member{Account: strings.TrimSpace(acct), Regions: []string{strings.TrimSpace(region)}})
		}
	case []any:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, fmt.Errorf("encode: %w", err)
		}
		if err := decodeMembers(b, &raw); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("want a list of {\"account\", \"regions\"} or \"account:region,...\", got %T", v)
	}

	var (
		out  []Member
		idx  = map[string]int{}
		errs []error
	)
	for i, m := range raw {
		if !accountRE.MatchString(m.Account) {
			errs = append(errs, fmt.Errorf("entry %d: account %q is not a 12-digit account ID", i+1, m.Account))
			continue
		}
		if len(m.Regions) == 0 {
			errs = append(errs, fmt.Errorf("entry %d (account %s): no regions", i+1, m.Account))
			continue
		}
		j, seen := idx[m.Account]
		if !seen {
			j = len(out)
			idx[m.Account] = j
			out = append(out, Member{Account: m.Account})
		}
		for _, r := range m.Regions {
			if !regionRE.MatchString(r) {
				errs = append(errs, fmt.Errorf("entry %d (account %s): %q is not a region name such as us-east-1", i+1, m.Account, r))
				continue
			}
			if !containsString(out[j].Regions, r) {
				out[j].Regions = append(out[j].Regions, r)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("lists no member account")
	}
	return out, nil
}

// decodeMembers decodes strictly, so a misspelt field ("region" for "regions") or an
// unquoted account number is reported instead of silently dropped.
func decodeMembers(b []byte, into *[]Member) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("want a list of {\"account\": \"111111111111\", \"regions\": [\"us-east-1\"]}: %w", err)
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
