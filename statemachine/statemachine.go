// Package statemachine holds the Amazon States Language definitions of s3crr's
// state machines, the single source of truth that both the CDK stacks and the
// local run load, and the Go shapes of what the provision state machine hands
// back: its execution output and its failure alert.
//
// The definitions carry ${Name} placeholders (the same syntax as CloudFormation
// DefinitionSubstitutions) for everything that differs per deployment: the
// provision Lambda's ARN, the alert topic's ARN, the pairs table's name. Load
// fills them in and refuses to return a definition with any left over, because
// Step Functions would accept such a definition and fail only at run time.
package statemachine

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
)

//go:embed *.asl.json
var files embed.FS

//go:embed sample-pair.json
var samplePair []byte

// SamplePair is statemachine/sample-pair.json, the request the README and `crr local
// demo` use: embedded so that a crr installed with `go install` has it without a checkout.
func SamplePair() []byte { return append([]byte(nil), samplePair...) }

// The placeholders of the provision state machine.
const (
	// ProvisionFunctionArn is the ARN of the provision Lambda every stage invokes.
	ProvisionFunctionArn = "ProvisionFunctionArn"
	// AlertTopicArn is the SNS topic that receives failure alerts and success notices.
	AlertTopicArn = "AlertTopicArn"
	// PairsTableName is the DynamoDB table where a provisioned pair is registered.
	PairsTableName = "PairsTableName"
)

// Provision is the name of the provision state machine for Load.
const Provision = "provision"

// Destroy is the name of the destroy state machine for Load (`crr destroy`); it has the
// same placeholders as Provision.
const Destroy = "destroy"

// Redrive is the name of the redrive state machine for Load: it re-drives a registered
// pair's objects with S3 Batch Replication. Its placeholders are the provision state
// machine's.
const Redrive = "redrive"

// Verify is the name of the verify state machine for Load; VerifyFunctionArn, its only
// placeholder, is the verify Lambda's ARN (the Lambda records, measures and alerts).
const (
	Verify            = "verify"
	VerifyFunctionArn = "VerifyFunctionArn"
)

// ScheduledVerifyInput is the input the nightly schedule starts the verify state machine
// with: {} verifies every registered pair (verify.asl.json's OnePairOrAll). HubStack's
// EventBridge Scheduler target and the local hub's stand-in both send this, and
// `crr verify --scheduled` starts a run with it, so none of them can drift.
func ScheduledVerifyInput() string { return "{}" }

// LambdaErrorNames are the errors the provision Lambda returns by name
// (aws-lambda-go reports the Go type name as errorType). The ASL's Retry and
// Catch match exactly these, so the provision code's error types must be named
// the same; a test on each side holds them together.
var LambdaErrorNames = []string{
	"InvalidSpec",       // the request is invalid: never retried
	"PreflightFailed",   // a precondition in an account does not hold: never retried
	"PrincipalNotReady", // IAM/KMS propagation: retried with backoff for about five minutes
	"AccessDenied",      // a provisioner role lacks a permission: never retried
	"Conflict",          // existing configuration s3crr must not overwrite: never retried
	"StageFailed",       // any other failure (the AWS error code is in the cause): never retried
	"Throttled",         // an AWS API still throttling after the SDK's retries: retried with backoff
	// a Batch Replication job failed or some of its tasks did: never retried
	"BatchReplicationFailed",
	// another run holds the lease on a shared document: retried with backoff and full
	// jitter for longer than a crashed holder's lease lasts
	"DocumentBusy",
	// a shared document lost s3crr's write to a writer that takes no lease: retried a few times
	"DocumentChanged",
}

var placeholderRE = regexp.MustCompile(`\$\{([A-Za-z][A-Za-z0-9_]*)\}`)

// Names lists the state machines this package holds, e.g. "provision".
func Names() []string {
	matches, _ := fs.Glob(files, "*.asl.json") // the pattern is valid, so no error
	names := make([]string, 0, len(matches))
	for _, m := range matches {
		names = append(names, strings.TrimSuffix(m, ".asl.json"))
	}
	sort.Strings(names)
	return names
}

// Raw returns the definition exactly as stored, placeholders included.
func Raw(name string) ([]byte, error) {
	b, err := files.ReadFile(name + ".asl.json")
	if err != nil {
		return nil, fmt.Errorf("read state machine %q (have %s): %w", name, strings.Join(Names(), ", "), err)
	}
	return b, nil
}

// Placeholders lists the ${Name} placeholders of a definition, sorted, each once.
func Placeholders(name string) ([]string, error) {
	raw, err := Raw(name)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, m := range placeholderRE.FindAllSubmatch(raw, -1) {
		seen[string(m[1])] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

// Load returns the named definition with every ${Name} placeholder replaced by
// subs[Name]. It fails if a placeholder has no substitution or if a
// substitution names no placeholder (a typo would otherwise leave the real
// placeholder empty-handed only in some other caller). Values are inserted as
// JSON string content, so quotes in them cannot break the document, and values
// are never rescanned: a CDK token such as "${Token[TOKEN.12]}" passes through.
func Load(name string, subs map[string]string) ([]byte, error) {
	raw, err := Raw(name)
	if err != nil {
		return nil, err
	}
	var missing []string
	used := map[string]bool{}
	out := placeholderRE.ReplaceAllFunc(raw, func(m []byte) []byte {
		key := string(placeholderRE.FindSubmatch(m)[1])
		v, ok := subs[key]
		if !ok {
			if !contains(missing, key) {
				missing = append(missing, key)
			}
			return m
		}
		used[key] = true
		quoted, _ := json.Marshal(v) // marshalling a string cannot fail
		return quoted[1 : len(quoted)-1]
	})
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("load state machine %q: no substitution for %s", name, strings.Join(wrap(missing), ", "))
	}
	var unused []string
	for k := range subs {
		if !used[k] {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		return nil, fmt.Errorf("load state machine %q: substitutions %s match no placeholder", name, strings.Join(unused, ", "))
	}
	if !json.Valid(out) {
		return nil, fmt.Errorf("load state machine %q: the substituted definition is not valid JSON", name)
	}
	return out, nil
}

func wrap(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = "${" + k + "}"
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
