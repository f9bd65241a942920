// Command provision is the provision Lambda: one binary for every stage of the provision
// state machine. The handler lives in internal/lambdas, which crr's local hub serves too.
package main

import "github.com/s3crr/s3crr/internal/lambdas"

func main() { lambdas.Provision() }
