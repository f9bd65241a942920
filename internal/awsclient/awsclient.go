// Package awsclient is the one place that builds AWS SDK configurations and clients for
// s3crr's Lambdas and CLI: the standard credential chain, role assumption into member
// accounts with the deployment's ExternalId, and region-specific service clients.
//
// Endpoints come only from the SDK's standard AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>
// variables (or an aws.Config's BaseEndpoint), so the same binaries run against AWS and
// against the local stand-ins with no "if local" branch.
package awsclient

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// DefaultMaxAttempts is how many times a client tries a call (the first attempt
// included) unless AWS_MAX_ATTEMPTS or the shared config's max_attempts says otherwise.
// The SDK's default is 3; provisioning many pairs at once meets the member accounts' API
// rate limits, and each attempt here is cheaper than failing the stage into the state
// machine's longer Throttled retry. With the SDK's 20-second backoff cap, five attempts
// stay well inside a stage's Task timeout.
const DefaultMaxAttempts = 5

// Load returns the base configuration from the standard chain (environment, shared
// config and credentials files, the Lambda execution role) in region.
//
// Unless AWS_RETRY_MODE or the shared config's retry_mode chooses otherwise, its clients
// use the SDK's adaptive retry mode: standard mode's retries plus client-side rate
// limiting that slows a client down once its calls are throttled
// (docs/aws-facts.md#F-SDK-RETRY-MODES). AWS advises adaptive mode only where a client
// talks to one throttling scope; s3crr's clients are built per member account, region
// and service (clients.go in internal/provision), which is the scope AWS throttles by.
func Load(ctx context.Context, region string) (aws.Config, error) {
	return LoadProfile(ctx, region, "")
}

// LoadProfile is Load with a named shared-config profile (the CLI's --profile); an empty
// profile means the standard choice (AWS_PROFILE, else "default").
func LoadProfile(ctx context.Context, region, profile string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return withRetryDefaults(cfg), nil
}

// withRetryDefaults sets s3crr's retry mode and attempts where the environment and the
// shared config left them unset (the SDK has then filled neither), so an operator's
// AWS_RETRY_MODE / AWS_MAX_ATTEMPTS still win.
func withRetryDefaults(cfg aws.Config) aws.Config {
	if cfg.Retryer == nil && cfg.RetryMode == "" {
		cfg.RetryMode = aws.RetryModeAdaptive
	}
	if cfg.Retryer == nil && cfg.RetryMaxAttempts == 0 {
		cfg.RetryMaxAttempts = DefaultMaxAttempts
	}
	return cfg
}

// WithEndpointURL returns a copy of cfg whose clients all call endpoint, whatever
// AWS_ENDPOINT_URL_<SERVICE> or the shared config say: what the AWS CLI's --endpoint-url
// does. The SDK lets a service-specific setting override BaseEndpoint, so the sources it
// reads them from are dropped from the copy (they were consulted already when cfg was
// loaded; only the late, per-service endpoint lookup reads them again).
func WithEndpointURL(cfg aws.Config, endpoint string) aws.Config {
	out := cfg.Copy()
	out.BaseEndpoint = aws.String(endpoint)
	out.ConfigSources = nil
	return out
}

// AssumeRole returns a copy of base, in region, whose credentials are those of roleARN
// assumed with externalID and sessionName. Credentials are fetched lazily and cached.
func AssumeRole(base aws.Config, roleARN, externalID, sessionName, region string) aws.Config {
	cfg := base.Copy()
	if region != "" {
		cfg.Region = region
	}
	// STS is called in the target region so the call stays regional (and so the local
	// simulator sees the region it expects).
	stsClient := sts.NewFromConfig(base, func(o *sts.Options) {
		if region != "" {
			o.Region = region
		}
	})
	provider := stscreds.NewAssumeRoleProvider(stsClient, roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = sessionName
		if externalID != "" {
			o.ExternalID = aws.String(externalID)
		}
	})
	cfg.Credentials = aws.NewCredentialsCache(provider)
	return cfg
}

// S3 returns an S3 client for cfg's region.
//
// The one place where an endpoint override changes behaviour: the Go SDK has no setting
// or environment variable for path-style addressing, and <bucket>.localhost does not
// resolve on developer machines, so when an S3 endpoint override is set (the local
// stand-ins) clients use path-style URLs. Against AWS (no override) they use the default
// virtual-hosted style.
func S3(cfg aws.Config) *s3.Client {
	override := cfg.BaseEndpoint != nil || os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if override {
			o.UsePathStyle = true
		}
	})
}

// S3Control returns an S3 Control client (S3 Batch Operations jobs) for cfg's region.
//
// The second place where an endpoint override changes behaviour, for the same reason as
// S3's path style: the SDK's endpoint rules put the request's account ID in front of the
// host (<account>.s3-control.<region>.amazonaws.com, and <account>.<override host> with an
// override), which does not resolve for a local endpoint. The account also travels in the
// x-amz-account-id header, which is what S3 Control reads, so with an override
// (AWS_ENDPOINT_URL_S3_CONTROL, AWS_ENDPOINT_URL or a BaseEndpoint) the account label is
// dropped from the host. Against AWS (no override) the SDK's host is used unchanged.
func S3Control(cfg aws.Config) *s3control.Client {
	override := cfg.BaseEndpoint != nil || os.Getenv("AWS_ENDPOINT_URL_S3_CONTROL") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	return s3control.NewFromConfig(cfg, func(o *s3control.Options) {
		if override {
			o.EndpointResolverV2 = accountlessEndpoint{s3control.NewDefaultEndpointResolverV2()}
		}
	})
}

// accountlessEndpoint resolves S3 Control endpoints without the account host label.
type accountlessEndpoint struct{ next s3control.EndpointResolverV2 }

// ResolveEndpoint resolves as the SDK does, then removes the leading "<account>." label.
func (r accountlessEndpoint) ResolveEndpoint(ctx context.Context, p s3control.EndpointParameters) (smithyendpoints.Endpoint, error) {
	ep, err := r.next.ResolveEndpoint(ctx, p)
	if err != nil || p.AccountId == nil {
		return ep, err
	}
	if host, ok := strings.CutPrefix(ep.URI.Host, *p.AccountId+"."); ok {
		ep.URI.Host = host
	}
	return ep, nil
}

// KMS returns a KMS client for cfg's region.
func KMS(cfg aws.Config) *kms.Client { return kms.NewFromConfig(cfg) }

// IAM returns an IAM client (a global service, signed for cfg's partition's home region
// by the SDK).
func IAM(cfg aws.Config) *iam.Client { return iam.NewFromConfig(cfg) }

// STS returns an STS client for cfg's region.
func STS(cfg aws.Config) *sts.Client { return sts.NewFromConfig(cfg) }

// CloudWatch returns a CloudWatch client for cfg's region (alarms live per region).
func CloudWatch(cfg aws.Config) *cloudwatch.Client { return cloudwatch.NewFromConfig(cfg) }

// SQS returns an SQS client for cfg's region (queues live per region).
func SQS(cfg aws.Config) *sqs.Client { return sqs.NewFromConfig(cfg) }

// SFN returns a Step Functions client for cfg's region.
func SFN(cfg aws.Config) *sfn.Client { return sfn.NewFromConfig(cfg) }

// Lambda returns a Lambda client for cfg's region.
func Lambda(cfg aws.Config) *lambda.Client { return lambda.NewFromConfig(cfg) }

// DynamoDB returns a DynamoDB client for cfg's region.
func DynamoDB(cfg aws.Config) *dynamodb.Client { return dynamodb.NewFromConfig(cfg) }
