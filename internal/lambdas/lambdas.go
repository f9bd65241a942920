// Package lambdas holds the hub's Lambda handlers as functions that serve them, so that
// two binaries serve the same code: functions/<name>/main.go (what the CDK deploys, one
// handler each) and crr's hidden `__lambda <name>` command, which the local hub runs as
// the function's process (crr local up needs no source tree to build a Lambda from).
package lambdas

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/monitor"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/provision"
)

// Handlers maps a function's short name to what serves it: each reads its configuration
// from the environment, as Lambda gives it, and serves invocations through the Runtime
// API at AWS_LAMBDA_RUNTIME_API until the process is stopped.
var Handlers = map[string]func(){
	"provision": Provision,
	"monitor":   Monitor,
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
	}
	if cfg.ExternalID == "" {
		slog.Error("EXTERNAL_ID is not set: the member provisioner roles require the deployment's ExternalId")
		os.Exit(1)
	}
	base, err := awsclient.Load(context.Background(), "")
	if err != nil {
		slog.Error("load AWS configuration", "error", err)
		os.Exit(1)
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
