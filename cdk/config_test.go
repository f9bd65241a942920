package cdk

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	base := map[string]any{
		CtxHubAccount:       "333333333333",
		CtxHubRegion:        "us-east-1",
		CtxMembers:          "111111111111:ap-south-1",
		CtxExternalID:       "ext-id",
		CtxBucketNamePrefix: "acme-",
	}
	with := func(edits map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range edits {
			if v == nil {
				delete(m, k)
				continue
			}
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name        string
		give        map[string]any
		wantMembers []Member
		wantErr     []string // each must appear in the error
	}{
		{
			name:        "short form merges accounts and keeps region order",
			give:        with(map[string]any{CtxMembers: "111111111111:ap-south-1, 222222222222:us-east-1,111111111111:eu-west-1,111111111111:ap-south-1"}),
			wantMembers: []Member{{"111111111111", []string{"ap-south-1", "eu-west-1"}}, {"222222222222", []string{"us-east-1"}}},
		},
		{
			name: "cdk.json list",
			give: with(map[string]any{CtxMembers: []any{
				map[string]any{"account": "111111111111", "regions": []any{"ap-south-1", "eu-west-1"}},
				map[string]any{"account": "222222222222", "regions": []any{"us-east-1"}},
			}}),
			wantMembers: []Member{{"111111111111", []string{"ap-south-1", "eu-west-1"}}, {"222222222222", []string{"us-east-1"}}},
		},
		{
			name:        "JSON list passed with -c",
			give:        with(map[string]any{CtxMembers: `[{"account":"222222222222","regions":["us-east-1"]}]`}),
			wantMembers: []Member{{"222222222222", []string{"us-east-1"}}},
		},
		{name: "missing hub account", give: with(map[string]any{CtxHubAccount: nil}), wantErr: []string{`"hubAccount" is required`}},
		{name: "short hub account", give: with(map[string]any{CtxHubAccount: "12345"}), wantErr: []string{`"hubAccount"`, "12-digit"}},
		{name: "numeric hub account", give: with(map[string]any{CtxHubAccount: float64(33333333333)}), wantErr: []string{`"hubAccount"`, "quote it"}},
		{name: "bad hub region", give: with(map[string]any{CtxHubRegion: "useast1"}), wantErr: []string{`"hubRegion"`}},
		{name: "missing members", give: with(map[string]any{CtxMembers: nil}), wantErr: []string{`"members" is required`}},
		{name: "member without region", give: with(map[string]any{CtxMembers: "111111111111"}), wantErr: []string{`"members"`, "account:region"}},
		{name: "member bad account", give: with(map[string]any{CtxMembers: "11111111111:us-east-1"}), wantErr: []string{`"members"`, `"11111111111"`}},
		{name: "member bad region", give: with(map[string]any{CtxMembers: "111111111111:mars-1"}), wantErr: []string{`"members"`, `"mars-1"`}},
		{name: "member misspelt field", give: with(map[string]any{CtxMembers: `[{"account":"111111111111","region":["us-east-1"]}]`}), wantErr: []string{`"members"`, `"region"`}},
		{name: "member numeric account", give: with(map[string]any{CtxMembers: []any{map[string]any{"account": float64(111111111111), "regions": []any{"us-east-1"}}}}), wantErr: []string{`"members"`}},
		{name: "missing external id", give: with(map[string]any{CtxExternalID: nil}), wantErr: []string{`"externalId" is required`}},
		{name: "external id with space", give: with(map[string]any{CtxExternalID: "a b"}), wantErr: []string{`"externalId"`}},
		{name: "bad email", give: with(map[string]any{CtxAlertEmail: "ops"}), wantErr: []string{`"alertEmail"`}},
		{name: "wildcard bucket prefix", give: with(map[string]any{CtxBucketNamePrefix: "acme-*"}), wantErr: []string{`"bucketNamePrefix"`}},
		// Fail closed: no prefix is not "every bucket"; that takes an explicit "*".
		{name: "missing bucket prefix", give: with(map[string]any{CtxBucketNamePrefix: nil}), wantErr: []string{`"bucketNamePrefix" is required`, `"*"`}},
		{name: "blank bucket prefix", give: with(map[string]any{CtxBucketNamePrefix: "  "}), wantErr: []string{`"bucketNamePrefix" is required`}},
		{name: "example external id", give: with(map[string]any{CtxExternalID: ExampleExternalID}), wantErr: []string{`"externalId"`, "example", "openssl rand"}},
		{name: "alias prefix without alias/", give: with(map[string]any{CtxKMSAliasPrefix: "s3crr"}), wantErr: []string{`"kmsAliasPrefix"`}},
		{name: "alias prefix alias/ alone", give: with(map[string]any{CtxKMSAliasPrefix: "alias/"}), wantErr: []string{`"kmsAliasPrefix"`}},
		{name: "alias prefix with wildcard", give: with(map[string]any{CtxKMSAliasPrefix: "alias/s3crr*"}), wantErr: []string{`"kmsAliasPrefix"`}},
		{name: "alias prefix reserved for AWS", give: with(map[string]any{CtxKMSAliasPrefix: "alias/aws/s3"}), wantErr: []string{`"kmsAliasPrefix"`, "reserved"}},
		{name: "bad organization id", give: with(map[string]any{CtxOrganizationID: "123456"}), wantErr: []string{`"organizationId"`}},
		{name: "member OUs without organization", give: with(map[string]any{CtxMemberOUs: "ou-ab12-cdefgh34", CtxOrgMemberRegions: "us-east-1"}), wantErr: []string{`"memberOrganizationalUnits" needs "organizationId"`}},
		{name: "member OUs without regions", give: with(map[string]any{CtxOrganizationID: "o-a1b2c3d4e5", CtxMemberOUs: []any{"ou-ab12-cdefgh34"}}), wantErr: []string{`needs "organizationMemberRegions"`}},
		{name: "bad OU", give: with(map[string]any{CtxOrganizationID: "o-a1b2c3d4e5", CtxMemberOUs: "engineering", CtxOrgMemberRegions: "us-east-1"}), wantErr: []string{`"memberOrganizationalUnits"`, `"engineering"`}},
		{name: "upper-case bucket prefix", give: with(map[string]any{CtxBucketNamePrefix: "Acme"}), wantErr: []string{`"bucketNamePrefix"`}},
		{name: "bad schedule", give: with(map[string]any{CtxVerifySchedule: "03:00 daily"}), wantErr: []string{`"verifySchedule"`}},
		{name: "bad role name", give: with(map[string]any{CtxProvisionerRoleName: "s3crr/provisioner"}), wantErr: []string{`"provisionerRoleName"`}},
		{
			name:    "every error at once",
			give:    map[string]any{CtxHubRegion: "x", CtxMembers: "1:us-east-1"},
			wantErr: []string{`"hubAccount"`, `"hubRegion"`, `"members"`, `"externalId"`, `"bucketNamePrefix"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig(func(k string) any { return tt.give[k] })
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("ParseConfig succeeded with %+v, want an error naming %v", got, tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %s", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseConfig: %v", err)
			}
			if !reflect.DeepEqual(got.Members, tt.wantMembers) {
				t.Errorf("members = %+v, want %+v", got.Members, tt.wantMembers)
			}
		})
	}
}

func TestParseConfigDefaults(t *testing.T) {
	parse := func(edits map[string]any) Config {
		t.Helper()
		ctx := map[string]any{
			CtxHubAccount: "333333333333", CtxHubRegion: "us-east-1",
			CtxMembers: "111111111111:ap-south-1", CtxExternalID: "ext-id",
		}
		for k, v := range edits {
			ctx[k] = v
		}
		got, err := ParseConfig(func(k string) any { return ctx[k] })
		if err != nil {
			t.Fatalf("ParseConfig: %v", err)
		}
		return got
	}
	got := parse(map[string]any{CtxBucketNamePrefix: "acme-"})
	if got.ProvisionerRoleName != "s3crr-provisioner" {
		t.Errorf("ProvisionerRoleName = %q, want s3crr-provisioner", got.ProvisionerRoleName)
	}
	if got.VerifySchedule != DefaultVerifySchedule {
		t.Errorf("VerifySchedule = %q, want %q", got.VerifySchedule, DefaultVerifySchedule)
	}
	if got.BucketPattern() != "acme-*" || got.BucketNamePrefixSetting() != "acme-" {
		t.Errorf("BucketPattern() = %q, setting %q; want acme-* and acme-", got.BucketPattern(), got.BucketNamePrefixSetting())
	}
	if got.AliasPattern() != "alias/s3crr*" {
		t.Errorf("AliasPattern() = %q with no kmsAliasPrefix, want alias/s3crr*", got.AliasPattern())
	}

	all := parse(map[string]any{CtxBucketNamePrefix: "*"})
	if all.BucketPattern() != "*" || all.BucketNamePrefixSetting() != "*" {
		t.Errorf("bucketNamePrefix \"*\": BucketPattern() = %q, setting %q; want * and *", all.BucketPattern(), all.BucketNamePrefixSetting())
	}
	// The tutorial's alias naming: the prefix is a deployment setting.
	tut := parse(map[string]any{CtxBucketNamePrefix: "*", CtxKMSAliasPrefix: "alias/s3-crr-key-"})
	if tut.AliasPattern() != "alias/s3-crr-key-*" {
		t.Errorf("AliasPattern() = %q, want alias/s3-crr-key-*", tut.AliasPattern())
	}
}

// cdk.json holds the feature flags and placeholder values, and fails closed: the two
// settings that have no safe default (the deployment's own ExternalId, and which
// buckets s3crr may touch) must be supplied, and with them the configuration is valid.
func TestCDKJSONDefaults(t *testing.T) {
	ctx := synthesized.cdkJSON
	_, err := ParseConfig(func(k string) any { return ctx[k] })
	if err == nil {
		t.Fatalf("cdk.json's context parses as it is; want it to refuse the example externalId and the missing bucketNamePrefix")
	}
	for _, want := range []string{`"externalId"`, `"bucketNamePrefix"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("cdk.json's context: error %q does not name %s", err, want)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 2 {
		t.Errorf("cdk.json's context has %d problems, want only the 2 settings without a safe default:\n%v", n, err)
	}
	supplied := map[string]any{CtxExternalID: "my-deployment-id", CtxBucketNamePrefix: "acme-"}
	cfg, err := ParseConfig(func(k string) any {
		if v, ok := supplied[k]; ok {
			return v
		}
		return ctx[k]
	})
	if err != nil {
		t.Fatalf("cdk.json's context with externalId and bucketNamePrefix supplied does not parse: %v", err)
	}
	if len(cfg.Members) == 0 {
		t.Errorf("cdk.json names no member")
	}
	for _, flag := range []string{"@aws-cdk/aws-iam:minimizePolicies", "@aws-cdk/core:enablePartitionLiterals", "@aws-cdk/aws-events:requireEventBusPolicySid"} {
		if ctx[flag] != true {
			t.Errorf("cdk.json: feature flag %s = %v, want true (as cdk init writes it)", flag, ctx[flag])
		}
	}
}
