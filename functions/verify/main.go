// Command verify is the verify Lambda: one binary for every stage of the verify state
// machine. The handler is internal/lambdas' (crr serves the same one locally).
package main

import "github.com/s3crr/s3crr/internal/lambdas"

func main() { lambdas.Verify() }
