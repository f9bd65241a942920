// Command monitor is the monitor Lambda: the target of the hub bus rule for S3 replication
// events and failed-replication alarm state changes. The handler lives in internal/lambdas,
// which crr's local hub serves too.
package main

import "github.com/s3crr/s3crr/internal/lambdas"

func main() { lambdas.Monitor() }
