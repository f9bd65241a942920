// Command provision is the provision Lambda: one binary for every stage of the provision
// state machine. It only wires configuration; the stages live in internal/provision.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/provision"
)

func main() {
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
