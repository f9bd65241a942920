// Package sfnrunner embeds the local Step Functions runner (run.mjs, faithful.mjs) and
// the npm manifest and lock file of exactly the packages it needs, so that a crr built
// with `go install` can install and run it without a checkout (localhub.InstallRunner).
//
// package.json and package-lock.json here are derived from the repository's: the
// runner's dependencies and everything they pull in, at the versions the root lock pins.
// TestLockIsTheRootLockSubset in internal/localhub keeps them equal; regenerate them with
// `go test ./internal/localhub -run TestLockIsTheRootLockSubset -update`.
package sfnrunner

import "embed"

// Files holds run.mjs, faithful.mjs, package.json and package-lock.json.
//
//go:embed *.mjs package.json package-lock.json
var Files embed.FS

// Dependencies are the npm packages the runner imports (and Node 22, which
// aws-local-stepfunctions needs), as the root package.json names them.
var Dependencies = []string{
	"@aws-sdk/client-dynamodb",
	"@aws-sdk/client-lambda",
	"@aws-sdk/client-sns",
	"aws-local-stepfunctions",
	"node",
}
