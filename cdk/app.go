package cdk

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/s3crr/s3crr/internal/names"
)

// DefaultBuildDir is where BuildLambdas puts the Lambda binaries, relative to the
// repository root (the working directory of `cdk synth`).
const DefaultBuildDir = "build"

// Options are the app's inputs that do not come from the CDK context.
type Options struct {
	// BuildDir holds <function>/bootstrap; default DefaultBuildDir.
	BuildDir string
	// NagReports writes cdk-nag's CSV reports next to the templates (cdk.out).
	NagReports bool
}

// Stacks is what Build created.
type Stacks struct {
	// Config is the validated configuration the stacks were built from.
	Config Config
	// Hub is the automation account's stack.
	Hub *HubStack
	// Members are the member stacks, in configuration order (account, then region).
	Members []*MemberStack
	// MemberStackSet holds the organization-wide member StackSet (only when
	// memberOrganizationalUnits is configured, else nil).
	MemberStackSet awscdk.Stack
}

// Build reads the configuration from the app's context, adds the hub stack and one
// member stack per member account and region, and applies cdk-nag's AwsSolutions
// checks to all of them. A configuration error names the context key.
func Build(app awscdk.App, opts Options) (*Stacks, error) {
	cfg, err := ParseConfig(func(key string) any { return app.Node().TryGetContext(jsii.String(key)) })
	if err != nil {
		return nil, err
	}
	if opts.BuildDir == "" {
		opts.BuildDir = DefaultBuildDir
	}
	awscdk.Tags_Of(app).Add(jsii.String("project"), jsii.String("s3crr"), nil)

	out := &Stacks{Config: cfg}
	hub, err := NewHubStack(app, names.HubStackName, &HubStackProps{
		StackProps: awscdk.StackProps{
			Env:         &awscdk.Environment{Account: jsii.String(cfg.HubAccount), Region: jsii.String(cfg.HubRegion)},
			Description: jsii.String("s3crr hub: provision state machine, Lambdas, alert topic, pairs table, event bus"),
		},
		Config:   cfg,
		BuildDir: opts.BuildDir,
	})
	if err != nil {
		return nil, err
	}
	out.Hub = hub
	for _, mem := range cfg.Members {
		for i, region := range mem.Regions {
			ms, err := NewMemberStack(app, names.MemberStackName(mem.Account, region), &MemberStackProps{
				StackProps: awscdk.StackProps{
					Env:         &awscdk.Environment{Account: jsii.String(mem.Account), Region: jsii.String(region)},
					Description: jsii.String(memberDescription(i == 0)),
				},
				Config:  cfg,
				Account: mem.Account,
				Region:  region,
				Primary: i == 0,
			})
			if err != nil {
				return nil, err
			}
			out.Members = append(out.Members, ms)
		}
	}
	if len(cfg.MemberOUs) > 0 {
		ss, err := NewMemberStackSetStack(app, cfg)
		if err != nil {
			return nil, err
		}
		out.MemberStackSet = ss
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{
		Verbose: jsii.Bool(true),
		Reports: jsii.Bool(opts.NagReports),
	}), nil)
	return out, nil
}

func memberDescription(primary bool) string {
	if primary {
		return "s3crr member (primary region): provisioner role, replication boundary, failure-event route"
	}
	return "s3crr member: failure-event route"
}
