// Package localdeploy does on the local stand-ins what the CDK stacks do in AWS, through
// the same policy builders: in each member account the replication permissions boundary,
// the s3crr-provisioner role, the read-only s3crr-auditor role and the canary's
// s3crr-verifier role, and in each member region the events queue (MemberStack), and in
// the hub account the provision and verify Lambdas' roles (HubStack). The local run and
// the integration tests use it, so the provisioner's policies are exercised as strictly
// as the replication policies.
package localdeploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/policy"
)

// Params describes a local deployment.
type Params struct {
	// Endpoint is the member-account stand-in (internal/localaws) URL.
	Endpoint string
	// HubAccount is the automation account; its provision Lambda role is created there.
	HubAccount string
	// Members are the member accounts that get a provisioner role.
	Members []string
	// ExternalID is the deployment's ExternalId.
	ExternalID string
	// HubRegion is the hub's region (STS calls are signed for it).
	HubRegion string
	// OrganizationID, when set, scopes the hub's sts:AssumeRole and the boundary's
	// replica writes to the organization's accounts instead of listing Members, as
	// the CDK stacks do with organizationId.
	OrganizationID string
	// Regions are the member regions MemberStack is deployed in, each getting the events
	// queue; default DefaultRegions. A source bucket in another region fails preflight,
	// as in AWS.
	Regions []string
	// KMSAliasPrefix is the deployment's kmsAliasPrefix; "" is names.AliasPrefix. The
	// provisioner roles may manage only aliases under it, as MemberStack's do.
	KMSAliasPrefix string
	// BucketPattern limits the provisioner roles' S3 permissions to matching bucket
	// names (e.g. "acme-*"), as MemberStack's bucketNamePrefix; "" is every bucket.
	BucketPattern string
	// AlertTopicARN and PairsTableARN scope the verify Lambda's role; default: the
	// deployed names in the hub account and region (kumo serves them and checks no IAM).
	AlertTopicARN, PairsTableARN string
	// LeaseTableARN scopes the provision Lambda's lease grant; default: names.LeaseTableName
	// in the hub account and region.
	LeaseTableARN string
}

// DefaultRegions are the member regions of a local deployment: those of the sample pair
// (statemachine/sample-pair.json).
var DefaultRegions = []string{"ap-south-1", "us-east-1"}

// Result is what Deploy created.
type Result struct {
	HubRoleARN          string
	VerifyRoleARN       string
	ProvisionerRoleARNs map[string]string // by account
}

// RootConfig is an SDK configuration for the root user of a simulated account.
func RootConfig(endpoint, account, region string) aws.Config {
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(account, "local", ""),
	}
}

// Deploy creates (or updates) the hub role and every member's boundary and provisioner
// role. It is idempotent.
func Deploy(ctx context.Context, p Params) (Result, error) {
	if p.HubRegion == "" {
		p.HubRegion = "us-east-1"
	}
	hubRole := policy.RoleARN(p.HubAccount, "/", names.ProvisionFunctionRoleName)
	res := Result{HubRoleARN: hubRole, ProvisionerRoleARNs: map[string]string{}}

	// Hub: in AWS, Lambda issues the function's credentials; locally the hub account's
	// root stands in for lambda.amazonaws.com, so the local runner can assume the role.
	hubIAM := awsclient.IAM(RootConfig(p.Endpoint, p.HubAccount, p.HubRegion))
	hubTrust := policy.Document{Version: policy.Version, Statement: []policy.Statement{{
		Sid: "LocalLambdaStandIn", Effect: policy.Allow,
		Principal: policy.AWSPrincipal(policy.AccountRootARN(p.HubAccount)),
		Action:    []string{"sts:AssumeRole"},
	}}}
	leases := p.LeaseTableARN
	if leases == "" {
		leases = "arn:aws:dynamodb:" + p.HubRegion + ":" + p.HubAccount + ":table/" + names.LeaseTableName
	}
	topic, table := p.AlertTopicARN, p.PairsTableARN
	if topic == "" {
		topic = "arn:aws:sns:" + p.HubRegion + ":" + p.HubAccount + ":" + names.AlertTopicName
	}
	if table == "" {
		table = "arn:aws:dynamodb:" + p.HubRegion + ":" + p.HubAccount + ":table/" + names.PairsTableName
	}
	hubPolicy := policy.ProvisionFunctionPolicy(policy.HubParams{MemberAccounts: p.Members, ExternalID: p.ExternalID, OrganizationID: p.OrganizationID,
		LeaseTableARN: leases, TableARN: table})
	if err := ensureRole(ctx, hubIAM, "/", names.ProvisionFunctionRoleName, hubTrust, names.ProvisionFunctionName, hubPolicy); err != nil {
		return res, fmt.Errorf("hub account %s: %w", p.HubAccount, err)
	}

	// The verify Lambda's role (HubStack): the member verifier roles trust it.
	verifyRole := policy.RoleARN(p.HubAccount, "/", names.VerifyFunctionRoleName)
	verifyPolicy := policy.VerifyFunctionPolicy(policy.HubParams{MemberAccounts: p.Members, ExternalID: p.ExternalID,
		TopicARN: topic, TableARN: table})
	if err := ensureRole(ctx, hubIAM, "/", names.VerifyFunctionRoleName, hubTrust, names.VerifyFunctionName, verifyPolicy); err != nil {
		return res, fmt.Errorf("hub account %s: %w", p.HubAccount, err)
	}
	res.VerifyRoleARN = verifyRole

	for _, acct := range p.Members {
		c := awsclient.IAM(RootConfig(p.Endpoint, acct, p.HubRegion))
		if err := ensureManagedPolicy(ctx, c, names.BoundaryPolicyPath, names.BoundaryPolicyName, policy.ReplicationBoundary(policy.BoundaryParams{MemberAccounts: p.Members, OrganizationID: p.OrganizationID})); err != nil {
			return res, fmt.Errorf("member account %s: %w", acct, err)
		}
		pp := policy.ProvisionerParams{Account: acct, HubAccount: p.HubAccount, HubRoleARNs: []string{hubRole}, ExternalID: p.ExternalID, BucketPattern: p.BucketPattern}
		if p.KMSAliasPrefix != "" {
			pp.AliasPattern = p.KMSAliasPrefix + "*"
		}
		if err := ensureRole(ctx, c, "/", names.ProvisionerRoleName, policy.ProvisionerTrustPolicy(pp), names.ProvisionerRoleName, policy.ProvisionerPolicy(pp)); err != nil {
			return res, fmt.Errorf("member account %s: %w", acct, err)
		}
		res.ProvisionerRoleARNs[acct] = policy.RoleARN(acct, "/", names.ProvisionerRoleName)
		vp := policy.VerifierParams{Account: acct, HubAccount: p.HubAccount, HubRoleARN: verifyRole, ExternalID: p.ExternalID, BucketPattern: p.BucketPattern}
		if err := ensureRole(ctx, c, "/", names.VerifierRoleName, policy.VerifierTrustPolicy(vp), names.VerifierPolicyName, policy.VerifierPolicy(vp)); err != nil {
			return res, fmt.Errorf("member account %s: %w", acct, err)
		}
		ap := policy.AuditorParams{Account: acct, HubAccount: p.HubAccount, ExternalID: p.ExternalID}
		if err := ensureRole(ctx, c, "/", names.AuditorRoleName, policy.AuditorTrustPolicy(ap), names.AuditorPolicyName, policy.AuditorPolicy(ap)); err != nil {
			return res, fmt.Errorf("member account %s: %w", acct, err)
		}
		regions := p.Regions
		if len(regions) == 0 {
			regions = DefaultRegions
		}
		for _, region := range regions {
			// MemberStack's queue; its Pipe and forwarding rule are played by the local
			// run's event sink (internal/localrun).
			if _, err := awsclient.SQS(RootConfig(p.Endpoint, acct, region)).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(names.EventsQueueName)}); err != nil {
				return res, fmt.Errorf("member account %s: create queue %s in %s: %w", acct, names.EventsQueueName, region, err)
			}
		}
	}
	return res, nil
}

// HubFunctionConfig returns an SDK configuration with the provision Lambda role's
// credentials, as Lambda would give the function.
func HubFunctionConfig(ctx context.Context, p Params) (aws.Config, error) {
	return HubRoleConfig(ctx, p, names.ProvisionFunctionRoleName)
}

// HubRoleConfig returns an SDK configuration with the credentials of the hub role
// roleName (a Lambda's role), as Lambda would give the function.
func HubRoleConfig(ctx context.Context, p Params, roleName string) (aws.Config, error) {
	if p.HubRegion == "" {
		p.HubRegion = "us-east-1"
	}
	root := RootConfig(p.Endpoint, p.HubAccount, p.HubRegion)
	out, err := sts.NewFromConfig(root).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String(policy.RoleARN(p.HubAccount, "/", roleName)),
		RoleSessionName: aws.String(roleName),
	})
	if err != nil {
		return aws.Config{}, fmt.Errorf("assume the hub role %s: %w", roleName, err)
	}
	cfg := root.Copy()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
	return cfg, nil
}

// HubFunctionCredentials returns the provision Lambda role's temporary credentials, for
// a process (the local Lambda runtime) that reads them from the environment.
func HubFunctionCredentials(ctx context.Context, p Params) (aws.Credentials, error) {
	cfg, err := HubFunctionConfig(ctx, p)
	if err != nil {
		return aws.Credentials{}, err
	}
	return cfg.Credentials.Retrieve(ctx)
}

func ensureRole(ctx context.Context, c *iam.Client, path, name string, trust policy.Document, policyName string, perms policy.Document) error {
	in := &iam.CreateRoleInput{RoleName: aws.String(name), Path: aws.String(path), AssumeRolePolicyDocument: aws.String(string(trust.JSON()))}
	if _, err := c.CreateRole(ctx, in); err != nil {
		if awsclient.ErrorCode(err) != "EntityAlreadyExists" {
			return fmt.Errorf("create role %s: %w", name, err)
		}
		if _, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name), PolicyDocument: aws.String(string(trust.JSON()))}); err != nil {
			return fmt.Errorf("update trust of role %s: %w", name, err)
		}
	}
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(policyName), PolicyDocument: aws.String(string(perms.JSON()))}); err != nil {
		return fmt.Errorf("put policy of role %s: %w", name, err)
	}
	return nil
}

func ensureManagedPolicy(ctx context.Context, c *iam.Client, path, name string, doc policy.Document) error {
	_, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), Path: aws.String(path), PolicyDocument: aws.String(string(doc.JSON()))})
	if err != nil && awsclient.ErrorCode(err) != "EntityAlreadyExists" {
		return fmt.Errorf("create policy %s: %w", name, err)
	}
	return nil
}
