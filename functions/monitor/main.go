// Command monitor is the monitor Lambda: the target of the hub bus rule for S3 replication
// events and failed-replication alarm state changes. It only wires configuration; the
// decoding, classification, de-duplication and alerting live in internal/monitor.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/monitor"
)

func main() {
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
