package cdk

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// MemberStackSetStackName is the stack, in the hub account, that holds the StackSet
// rolling the member stack out to the organization's member OUs.
const MemberStackSetStackName = "s3crr-member-stackset"

// MemberStackSetName is the StackSet itself.
const MemberStackSetName = "s3crr-member"

// maxTemplateBody is CloudFormation's limit on an inline TemplateBody, in bytes.
const maxTemplateBody = 51200

// NewMemberStackSetStack adds the stack holding a service-managed StackSet that deploys
// the member stack to every account of cfg.MemberOUs, in cfg.OrgMemberRegions, and to
// accounts that join those OUs later (docs/aws-facts.md#F-CFN-STACKSETS-ORG). The
// template is the member stack synthesized without an account or region, checked by
// cdk-nag like the others. The hub account creates it as the organization's delegated
// administrator for StackSets (CallAs DELEGATED_ADMIN).
func NewMemberStackSetStack(app awscdk.App, cfg Config) (awscdk.Stack, error) {
	body, err := memberStackSetTemplate(app, cfg)
	if err != nil {
		return nil, err
	}
	stack := awscdk.NewStack(app, jsii.String(MemberStackSetStackName), &awscdk.StackProps{
		Env:         &awscdk.Environment{Account: jsii.String(cfg.HubAccount), Region: jsii.String(cfg.HubRegion)},
		Description: jsii.String("s3crr: the member stack for every account of the organization's member OUs"),
	})
	awscloudformation.NewCfnStackSet(stack, jsii.String("MemberStackSet"), &awscloudformation.CfnStackSetProps{
		StackSetName:    jsii.String(MemberStackSetName),
		Description:     jsii.String("s3crr member: provisioner role, replication boundary, failure-event route"),
		PermissionModel: jsii.String("SERVICE_MANAGED"),
		CallAs:          jsii.String("DELEGATED_ADMIN"),
		AutoDeployment: &awscloudformation.CfnStackSet_AutoDeploymentProperty{
			Enabled: jsii.Bool(true),
			// An account leaving the OUs loses s3crr's access to it.
			RetainStacksOnAccountRemoval: jsii.Bool(false),
		},
		Capabilities: jsii.Strings("CAPABILITY_NAMED_IAM"),
		ManagedExecution: map[string]any{
			"Active": true,
		},
		TemplateBody: jsii.String(body),
		StackInstancesGroup: []any{&awscloudformation.CfnStackSet_StackInstancesProperty{
			DeploymentTargets: &awscloudformation.CfnStackSet_DeploymentTargetsProperty{
				OrganizationalUnitIds: jsii.Strings(cfg.MemberOUs...),
			},
			Regions: jsii.Strings(cfg.OrgMemberRegions...),
		}},
	})
	return stack, nil
}

// memberStackSetTemplate synthesizes the account- and region-agnostic member stack in
// an app of its own (with the outer app's context, so the same feature flags) and
// returns its template.
func memberStackSetTemplate(outer awscdk.App, cfg Config) (string, error) {
	dir, err := os.MkdirTemp("", "s3crr-member-stackset-")
	if err != nil {
		return "", fmt.Errorf("make the StackSet template's output directory: %w", err)
	}
	defer os.RemoveAll(dir)
	ctx, _ := outer.Node().GetAllContext(nil).(map[string]any)
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(dir), AnalyticsReporting: jsii.Bool(false)})
	_, err = NewMemberStack(app, MemberStackSetName, &MemberStackProps{
		StackProps: awscdk.StackProps{
			// No bootstrap resources: StackSets deploy the template as it is.
			Synthesizer: awscdk.NewBootstraplessSynthesizer(&awscdk.BootstraplessSynthesizerProps{}),
			Description: jsii.String("s3crr member (StackSet): provisioner role and boundary in the primary region, failure-event route in every region"),
		},
		Config:        cfg,
		Account:       *awscdk.Aws_ACCOUNT_ID(),
		Region:        *awscdk.Aws_REGION(),
		PrimaryRegion: cfg.OrgMemberRegions[0],
	})
	if err != nil {
		return "", err
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	tm, err := synthTemplate(app, MemberStackSetName)
	if err != nil {
		return "", err
	}
	if len(tm) > maxTemplateBody {
		return "", fmt.Errorf("the member StackSet template is %d bytes, over CloudFormation's inline limit of %d", len(tm), maxTemplateBody)
	}
	return tm, nil
}

// synthTemplate synthesizes an app and returns one stack's template as compact JSON,
// turning a failed validation (a cdk-nag error) into an error.
func synthTemplate(app awscdk.App, stack string) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("synthesize %s: %v", stack, r)
		}
	}()
	art := app.Synth(nil).GetStackArtifact(jsii.String(stack))
	b, err := json.Marshal(art.Template())
	if err != nil {
		return "", fmt.Errorf("encode the %s template: %w", stack, err)
	}
	return string(b), nil
}
