package cdk

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	base := map[string]any{
		CtxHubAccount: "333333333333",
		CtxHubRegion:  "us-east-1",
		CtxMembers:    "111111111111:ap-south-1",
		CtxExternalID: "ext-id",
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
		{name: "upper-case bucket prefix", give: with(map[string]any{CtxBucketNamePrefix: "Acme"}), wantErr: []string{`"bucketNamePrefix"`}},
		{name: "bad schedule", give: with(map[string]any{CtxVerifySchedule: "03:00 daily"}), wantErr: []string{`"verifySchedule"`}},
		{name: "bad role name", give: with(map[string]any{CtxProvisionerRoleName: "s3crr/provisioner"}), wantErr: []string{`"provisionerRoleName"`}},
		{
			name:    "every error at once",
			give:    map[string]any{CtxHubRegion: "x", CtxMembers: "1:us-east-1"},
			wantErr: []string{`"hubAccount"`, `"hubRegion"`, `"members"`, `"externalId"`},
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
	got, err := ParseConfig(func(k string) any {
		return map[string]any{
			CtxHubAccount: "333333333333", CtxHubRegion: "us-east-1",
			CtxMembers: "111111111111:ap-south-1", CtxExternalID: "ext-id",
		}[k]
	})
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	if got.ProvisionerRoleName != "s3crr-provisioner" {
		t.Errorf("ProvisionerRoleName = %q, want s3crr-provisioner", got.ProvisionerRoleName)
	}
	if got.VerifySchedule != DefaultVerifySchedule {
		t.Errorf("VerifySchedule = %q, want %q", got.VerifySchedule, DefaultVerifySchedule)
	}
	if got.BucketPattern() != "*" {
		t.Errorf("BucketPattern() = %q with no prefix, want *", got.BucketPattern())
	}
}

// cdk.json must hold a valid configuration and the feature flags, so that `npx cdk
// synth` works from a fresh clone and the tests synthesize with the CLI's flags.
func TestCDKJSONDefaults(t *testing.T) {
	ctx := synthesized.cdkJSON
	cfg, err := ParseConfig(func(k string) any { return ctx[k] })
	if err != nil {
		t.Fatalf("cdk.json's context does not parse: %v", err)
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
