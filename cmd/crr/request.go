package main

// Reading the pair request that validate, plan, apply and local demo take with -f.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/spec"
)

// readRequestFile reads the -f argument: a file, or standard input for "-". It reads at
// most one byte more than spec.MaxRequestBytes, enough for spec.Parse to report the size.
func readRequestFile(env *cliEnv, file string) ([]byte, error) {
	var r io.Reader
	switch file {
	case "":
		return nil, usagef("-f is required: the pair request file, or - for standard input")
	case "-":
		if env.stdin == nil {
			return nil, errors.New("read pair request: no standard input")
		}
		r = env.stdin
	default:
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("read pair request: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, spec.MaxRequestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read pair request %s: %w", file, err)
	}
	return data, nil
}

// loadRequest reads and parses the -f argument. An invalid request has its problems
// printed to stderr and comes back as an *invalidRequestError.
func loadRequest(env *cliEnv, file string) (spec.Request, error) {
	data, err := readRequestFile(env, file)
	if err != nil {
		return spec.Request{}, err
	}
	req, err := requestOptions().Parse(data)
	if err != nil {
		return spec.Request{}, reportInvalid(env, err)
	}
	return req, nil
}

// requestOptions are the deployment settings a request is read under, from the same
// environment variable HubStack gives the provision Lambda: with the deployment's
// kmsAliasPrefix in S3CRR_KMS_ALIAS_PREFIX, the CLI derives the same default aliases (and
// so the same execution name) and accepts the same aliases as the Lambda.
func requestOptions() spec.Options {
	return spec.Options{KMSAliasPrefix: os.Getenv(names.EnvKMSAliasPrefix)}
}

// reportInvalid prints every problem of a *spec.ValidationError, each with its JSON path
// and fix, and returns the error that exits with exitInvalid.
func reportInvalid(env *cliEnv, err error) error {
	var ve *spec.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("parse pair request: %w", err)
	}
	for _, p := range ve.Problems {
		path := p.Path
		if path == "" {
			path = "request"
		}
		fmt.Fprintf(env.stderr, "%s: %s\n    fix: %s\n", path, p.Message, p.Fix)
	}
	return &invalidRequestError{problems: len(ve.Problems)}
}

// invalidRequestError ends a command whose pair request does not validate; the problems
// have been printed, run prints this one line and exits exitInvalid.
type invalidRequestError struct{ problems int }

func (e *invalidRequestError) Error() string {
	if e.problems == 1 {
		return "the request is invalid: 1 problem (above)"
	}
	return fmt.Sprintf("the request is invalid: %d problems (above)", e.problems)
}

func (e *invalidRequestError) exitCode() int { return exitInvalid }

// canonicalInput is the execution input for a request: the defaulted request as compact
// JSON. Sending the canonical form rather than the file's bytes makes "same request" mean
// "same input" to Step Functions, which treats a StartExecution with the name and input
// of a running execution as a success instead of ExecutionAlreadyExists.
func canonicalInput(r spec.Request) string {
	// Marshal of a Request cannot fail: strings, bools, integers and a string map.
	b, err := json.Marshal(r)
	if err != nil {
		panic("marshal request: " + err.Error())
	}
	return string(b)
}
