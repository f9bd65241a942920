// Command app is the s3crr CDK app (cdk.json runs it): it builds the Lambdas, then adds
// the hub stack and one member stack per member account and region, configured from the
// CDK context.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/s3crr/s3crr/cdk"
)

func main() {
	defer jsii.Close()
	// The CLI runs the app in the directory holding cdk.json, the repository root.
	if err := cdk.BuildLambdas(".", cdk.DefaultBuildDir); err != nil {
		fmt.Fprintf(os.Stderr, "s3crr: %v\n", err)
		os.Exit(1)
	}
	app := awscdk.NewApp(nil)
	if _, err := cdk.Build(app, cdk.Options{BuildDir: cdk.DefaultBuildDir, NagReports: true}); err != nil {
		fmt.Fprintf(os.Stderr, "s3crr: invalid configuration (set it in cdk.json's context or with -c key=value):\n%v\n", err)
		jsii.Close()
		os.Exit(1)
	}
	app.Synth(nil)
}
