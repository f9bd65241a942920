// Command denied is a test Lambda that always fails with AccessDenied, the
// error a provisioner role without a needed permission produces in s3crr.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

// AccessDenied has the name the state machine sees as the task's Error.
type AccessDenied struct{}

func (AccessDenied) Error() string {
	return "provision (destination): s3crr-provisioner in 222222222222 may not call kms:PutKeyPolicy"
}

func handle(context.Context, map[string]any) (map[string]any, error) {
	return nil, AccessDenied{}
}

func main() { lambda.Start(handle) }
