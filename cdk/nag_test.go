package cdk

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/s3crr/s3crr/internal/policy"
)

var nagFinding = regexp.MustCompile(`AwsSolutions-[A-Za-z0-9]+`)

// nagFindings returns the unsuppressed AwsSolutions findings (error or warning level)
// of a stack: what assertions.Annotations' FindError/FindWarning("*",
// Match.stringLikeRegexp("AwsSolutions-.*")) would return, read from the one shared
// synth instead of synthesizing the app again for every stack.
func nagFindings(msgs []message) []message {
	var out []message
	for _, m := range msgs {
		if (m.level == "error" || m.level == "warning") && nagFinding.MatchString(m.text) {
			out = append(out, m)
		}
	}
	return out
}

func TestNagClean(t *testing.T) {
	if len(synthesized.templates) == 0 {
		t.Fatal("no stacks synthesized")
	}
	for name, msgs := range synthesized.messages {
		for _, f := range nagFindings(msgs) {
			t.Errorf("%s: unsuppressed cdk-nag %s at %s: %s", name, f.level, f.path, f.text)
		}
	}
}

// TestNagDetects proves the checks can fail, with cdk.json's flags: a warning-level
// finding (a table without point-in-time recovery, AwsSolutions-DDB3) reaches the
// stack's messages, which TestNagClean reads; an error-level finding (a topic that does
// not require TLS, AwsSolutions-SNS3) fails the synth itself
// (@aws-cdk/core:annotationsInValidationReport), which TestMain and `cdk synth` report.
func TestNagDetects(t *testing.T) {
	tests := []struct {
		name      string
		add       func(awscdk.Stack)
		wantError string // in the synth failure
		wantMsg   string // among the stack's findings
	}{
		{
			name: "warning",
			add: func(s awscdk.Stack) {
				awsdynamodb.NewTable(s, jsii.String("Table"), &awsdynamodb.TableProps{
					PartitionKey: &awsdynamodb.Attribute{Name: jsii.String("k"), Type: awsdynamodb.AttributeType_STRING},
				})
			},
			wantMsg: "AwsSolutions-DDB3",
		},
		{
			name:      "error",
			add:       func(s awscdk.Stack) { awssns.NewTopic(s, jsii.String("Plain"), nil) },
			wantError: "AwsSolutions-SNS3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outdir := t.TempDir()
			ctx := synthesized.cdkJSON
			app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(outdir)})
			stack := awscdk.NewStack(app, jsii.String("bad"), nil)
			tt.add(stack)
			awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Reports: jsii.Bool(false)}), nil)

			asm, err := synth(app, outdir)
			if tt.wantError != "" {
				if err == nil {
					t.Fatalf("synth succeeded, want a validation failure naming %s", tt.wantError)
				}
				if !strings.Contains(err.Error(), tt.wantError) {
					t.Errorf("validation failure does not name %s:\n%v", tt.wantError, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("synth: %v", err)
			}
			var got []string
			for _, f := range nagFindings(stackMessages(asm.GetStackArtifact(jsii.String("bad")))) {
				got = append(got, nagFinding.FindString(f.text))
			}
			if !slices.Contains(got, tt.wantMsg) {
				t.Errorf("findings %v, want %s among them", got, tt.wantMsg)
			}
		})
	}
}

// TestNagCatchesNewWildcard proves the IAM5 waivers cannot absorb a new wildcard: a
// provisioner policy with one more statement on a wildcard resource, synthesized with
// cdk-nag and cdk.json's flags, fails with an unsuppressed AwsSolutions-IAM5 naming it.
func TestNagCatchesNewWildcard(t *testing.T) {
	const extra = "arn:aws:s3:::acme-*/unreviewed/*"
	orig := provisionerPolicy
	provisionerPolicy = func(p policy.ProvisionerParams) policy.Document {
		d := orig(p)
		d.Statement = append(d.Statement, policy.Statement{Sid: "S3crrUnreviewed", Effect: policy.Allow, Action: []string{"s3:GetObject"}, Resource: []string{extra}})
		return d
	}
	defer func() { provisionerPolicy = orig }()

	outdir := t.TempDir()
	ctx := map[string]any{}
	for k, v := range synthesized.cdkJSON {
		ctx[k] = v
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(outdir)})
	cfg := synthesized.stacks.Config
	if _, err := NewMemberStack(app, "member", &MemberStackProps{Config: cfg, Account: "111111111111", Region: "ap-south-1", Primary: true}); err != nil {
		t.Fatal(err)
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Reports: jsii.Bool(false)}), nil)
	_, err := synth(app, outdir)
	if err == nil {
		t.Fatal("synth succeeded with an unreviewed wildcard in the provisioner policy")
	}
	if !strings.Contains(err.Error(), "AwsSolutions-IAM5") || !strings.Contains(err.Error(), "unreviewed") {
		t.Errorf("validation failure does not report the new wildcard as AwsSolutions-IAM5:\n%v", err)
	}
}

// TestReviewedWildcardsAreProduced keeps the reviewed list honest the other way: every
// entry is a wildcard the builder really writes in that statement, so a wildcard that
// is narrowed or removed takes its waiver with it.
func TestReviewedWildcardsAreProduced(t *testing.T) {
	cfg := synthesized.stacks.Config
	pp := provisionerParams(cfg, "111111111111")
	for _, tt := range []struct {
		name string
		doc  policy.Document
		list []reviewedWildcard
	}{
		{"provisioner", policy.ProvisionerPolicy(pp), provisionerWildcards},
		{"verifier", policy.VerifierPolicy(policy.VerifierParams{Account: pp.Account, BucketPattern: pp.BucketPattern}), verifierWildcards},
		{"boundary", policy.ReplicationBoundary(policy.BoundaryParams{BucketPattern: cfg.BucketPattern(), MemberAccounts: cfg.MemberAccounts()}), boundaryWildcards},
		{"organization boundary", policy.ReplicationBoundary(policy.BoundaryParams{BucketPattern: cfg.BucketPattern(), OrganizationID: "o-a1b2c3d4e5"}), boundaryWildcards},
		{"organization hub provision function", policy.ProvisionFunctionPolicy(policy.HubParams{OrganizationID: "o-a1b2c3d4e5",
			ProvisionerRoleName: cfg.ProvisionerRoleName, ExternalID: cfg.ExternalID}), organizationHubWildcards},
		{"organization hub verify function", policy.VerifyFunctionPolicy(policy.HubParams{OrganizationID: "o-a1b2c3d4e5",
			ProvisionerRoleName: cfg.ProvisionerRoleName, ExternalID: cfg.ExternalID}), append(slices.Clone(verifyFunctionWildcards), organizationVerifyWildcards...)},
		{"hub verify function", policy.VerifyFunctionPolicy(policy.HubParams{MemberAccounts: []string{"111111111111"},
			ExternalID: cfg.ExternalID, TopicARN: "arn:aws:sns:eu-central-1:333333333333:s3crr-alerts", TableARN: "arn:aws:dynamodb:eu-central-1:333333333333:table/s3crr-pairs"}), verifyFunctionWildcards},
	} {
		produced := map[string]bool{}
		for _, st := range tt.doc.Statement {
			for _, r := range st.Resource {
				if strings.Contains(r, "*") {
					produced[st.Sid+" Resource::"+r] = true
				}
			}
			for _, a := range st.Action {
				if strings.Contains(a, "*") {
					produced[st.Sid+" Action::"+a] = true
				}
			}
		}
		findings, _ := expandWildcards(tt.list, "111111111111", cfg)
		reviewed := map[string]bool{}
		for i, w := range tt.list {
			k := w.sid + " " + findings[i]
			reviewed[k] = true
			if !produced[k] {
				t.Errorf("%s: reviewed wildcard %s is not in the policy", tt.name, k)
			}
		}
		for k := range produced {
			if !reviewed[k] {
				t.Errorf("%s: wildcard %s has no reviewed entry in cdk/nag_waivers.go", tt.name, k)
			}
		}
	}
}
