// Package lambdas holds the hub's Lambda handlers as functions that serve them, so that
// two binaries serve the same code: functions/<name>/main.go (what the CDK deploys, one
// handler each) and crr's hidden `__lambda <name>` command, which the local hub runs as
// the function's process (crr local up needs no source tree to build a Lambda from).
package lambdas

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/lease"
	"github.com/s3crr/s3crr/internal/monitor"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/provision"
	"github.com/s3crr/s3crr/internal/verify"
	"github.com/s3crr/s3crr/internal/verifyjob"
)

// Handlers maps a function's short name to what serves it: each reads its configuration
// from the environment, as Lambda gives it, and serves invocations through the Runtime
// API at AWS_LAMBDA_RUNTIME_API until the process is stopped.
var Handlers = map[string]func(){
	"provision": Provision,
	"monitor":   Monitor,
	"verify":    Verify,
}

// Monitor serves the monitor Lambda: the target of the hub bus rule for S3 replication
// events and failed-replication alarm state changes. It only wires configuration; the
// decoding, classification, de-duplication and alerting live in internal/monitor.
func Monitor() {
	slog.SetDefault(lambdacontext.NewLogger())
	cfg, err := monitor.ConfigFromEnv(os.Getenv)
	if err != nil {
		slog.Error("invalid configuration", "error", err)
		os.Exit(1)
	}
	base, err := awsclient.Load(context.Background(), "")
	if err != nil {
		slog.Error("load AWS configuration", "error", err)
		os.Exit(1)
	}
	svc := monitor.New(cfg, awsclient.DynamoDB(base), sns.NewFromConfig(base))
	lambda.StartWithOptions(svc.Handle, lambda.WithEnableSIGTERM())
}

// Provision serves the provision Lambda: one handler for every stage of the provision
// state machine. It only wires configuration; the stages live in internal/provision.
func Provision() {
	slog.SetDefault(lambdacontext.NewLogger())
	cfg := provision.Config{
		ProvisionerRoleName:     os.Getenv("PROVISIONER_ROLE_NAME"),
		ExternalID:              os.Getenv("EXTERNAL_ID"),
		BoundaryPolicyARNFormat: os.Getenv("BOUNDARY_POLICY_ARN_FORMAT"),
		EventsQueueName:         os.Getenv("EVENTS_QUEUE_NAME"),
		BucketNamePrefix:        os.Getenv(names.EnvBucketNamePrefix),
		KMSAliasPrefix:          os.Getenv(names.EnvKMSAliasPrefix),
		OrganizationID:          os.Getenv(names.EnvOrganizationID),
	}
	if cfg.ExternalID == "" {
		slog.Error("EXTERNAL_ID is not set: the member provisioner roles require the deployment's ExternalId")
		os.Exit(1)
	}
	// Without the lease table, concurrent executions would merge into shared documents
	// unserialised and lose each other's grants: refuse to start instead.
	leaseTable := os.Getenv(names.EnvLeaseTable)
	if leaseTable == "" {
		slog.Error(names.EnvLeaseTable + " is not set: the provision Lambda needs HubStack's document lease table")
		os.Exit(1)
	}
	base, err := awsclient.Load(context.Background(), "")
	if err != nil {
		slog.Error("load AWS configuration", "error", err)
		os.Exit(1)
	}
	cfg.Leases = lease.DynamoDB{DB: awsclient.DynamoDB(base), Table: leaseTable}
	if table := os.Getenv(names.EnvPairsTable); table != "" {
		cfg.Registry = provision.TableRegistry{Client: awsclient.DynamoDB(base), Table: table}
	}
	svc := provision.New(cfg, provision.AssumeRoleConnector{Base: base})
	lambda.Start(func(ctx context.Context, ev provision.Event) (provision.Result, error) {
		res, err := svc.Run(ctx, ev)
		if err != nil {
			slog.Error("stage failed", "stage", ev.Stage, "side", ev.Side, "error", err)
		} else {
			slog.Info("stage done", "stage", ev.Stage, "side", ev.Side, "changes", len(res.Changes))
		}
		return res, err
	})
}

// Verify serves the verify Lambda: one handler for every stage of the verify state
// machine. It only wires configuration; the stages live in internal/verifyjob, the checks
// and the canary in internal/verify.
func Verify() {
	slog.SetDefault(lambdacontext.NewLogger())
	cfg := verifyjob.Config{
		ExternalID:       os.Getenv("EXTERNAL_ID"),
		VerifierRoleName: os.Getenv("VERIFIER_ROLE_NAME"),
		TableName:        os.Getenv("PAIRS_TABLE_NAME"),
		TopicARN:         os.Getenv("ALERT_TOPIC_ARN"),
	}
	if cfg.ExternalID == "" || cfg.TableName == "" || cfg.TopicARN == "" {
		slog.Error("EXTERNAL_ID, PAIRS_TABLE_NAME and ALERT_TOPIC_ARN must be set")
		os.Exit(1)
	}
	if cfg.VerifierRoleName == "" {
		cfg.VerifierRoleName = names.VerifierRoleName
	}
	if v := os.Getenv("CANARY_DEADLINE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			slog.Error("CANARY_DEADLINE is not a duration such as 15m", "value", v)
			os.Exit(1)
		}
		cfg.CanaryDeadline = d
	}
	base, err := awsclient.Load(context.Background(), "")
	if err != nil {
		slog.Error("load AWS configuration", "error", err)
		os.Exit(1)
	}
	svc := verifyjob.New(cfg, awsclient.DynamoDB(base), awsclient.CloudWatch(base), sns.NewFromConfig(base),
		verify.AuditorConnector{Base: base, ExternalID: cfg.ExternalID},
		verify.AuditorConnector{Base: base, ExternalID: cfg.ExternalID, RoleName: cfg.VerifierRoleName})
	lambda.Start(func(ctx context.Context, ev verifyjob.Event) (any, error) {
		out, err := svc.Handle(ctx, ev)
		if err != nil {
			slog.Error("stage failed", "stage", ev.Stage, "error", err)
		}
		return out, err
	})
}
