package main

// Flag helpers every command shares, so a flag reads the same in each command's help and
// a command line fails the same way (a usage error, exit 2) whatever the command.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/s3crr/s3crr/internal/awsclient"
)

// newFlagSet returns a flag set that reports errors to the caller instead of printing or
// exiting, so run decides the exit code.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args; -h prints the flags to stdout and reports done.
func parseFlags(fs *flag.FlagSet, env *cliEnv, usage string, args []string) (done bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(fs, env, usage)
			return true, nil
		}
		return false, usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return false, usagef("unexpected argument %q", fs.Arg(0))
	}
	return false, nil
}

// printHelp answers -h: the usage, then every flag with its default, on stdout (help
// asked for is output, not an error).
func printHelp(fs *flag.FlagSet, env *cliEnv, usage string) {
	fmt.Fprintf(env.stdout, "Usage: %s\n\nFlags:\n", usage)
	fs.SetOutput(env.stdout)
	fs.PrintDefaults()
}

// parseFlagsWithArg parses flags around exactly one positional argument, which may come
// before or after them (the standard flag package stops at the first non-flag).
func parseFlagsWithArg(fs *flag.FlagSet, env *cliEnv, usage string, args []string) (arg string, done bool, err error) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		arg, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(fs, env, usage)
			return "", true, nil
		}
		return "", false, usagef("%v", err)
	}
	rest := fs.Args()
	if arg == "" && len(rest) > 0 {
		arg, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		return "", false, usagef("unexpected argument %q", rest[0])
	}
	if arg == "" {
		return "", false, usagef("give a pair ID or an execution ARN")
	}
	return arg, false, nil
}

// addRequestFlag defines -f, the pair request file, with the meaning readRequestFile
// gives it; validate, plan and apply share it so the flag reads the same in every
// command's help.
func addRequestFlag(fs *flag.FlagSet) *string {
	return fs.String("f", "", "pair request `file` (JSON); - reads standard input")
}

// awsFlags are the flags every command that calls AWS takes.
type awsFlags struct {
	region, profile, endpoint *string
}

// addAWSFlags defines --region, --profile and --endpoint-url.
func addAWSFlags(fs *flag.FlagSet) awsFlags {
	return awsFlags{
		region:   fs.String("region", "", "the hub's AWS `region`; default AWS_REGION or the profile's region"),
		profile:  fs.String("profile", "", "shared config `profile`; default AWS_PROFILE or \"default\""),
		endpoint: fs.String("endpoint-url", "", "send every AWS call to this `URL` (e.g. crr local up's hub endpoint), ahead of AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>, as the AWS CLI's flag"),
	}
}

// outputFlag is --output: text for people, json for scripts.
type outputFlag struct{ format *string }

// addOutputFlag defines --output on a command that reports something.
func addOutputFlag(fs *flag.FlagSet) outputFlag {
	return outputFlag{format: fs.String("output", outputText, "`format` of the report: text, or json (one JSON document on stdout with the same facts)")}
}

// json reports whether --output json was asked for; any value but text or json is a
// usage error.
func (o outputFlag) json() (bool, error) {
	switch *o.format {
	case outputText, "":
		return false, nil
	case outputJSON:
		return true, nil
	}
	return false, usagef("--output must be %s or %s, not %q", outputText, outputJSON, *o.format)
}

// load returns the SDK configuration from the standard chain (environment, shared files,
// SSO, instance role; endpoints from AWS_ENDPOINT_URL_*), and checks up front that it has
// a region and credentials, so the user gets a fix instead of an SDK error later.
func (f awsFlags) load(ctx context.Context) (aws.Config, error) {
	cfg, err := awsclient.LoadProfile(ctx, *f.region, *f.profile)
	if err != nil {
		return aws.Config{}, fmt.Errorf("%w\n  fix: check --profile / AWS_PROFILE and ~/.aws/config", err)
	}
	if *f.endpoint != "" {
		if u, err := url.Parse(*f.endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return aws.Config{}, usagef("--endpoint-url %q is not an http(s) URL", *f.endpoint)
		}
		cfg = awsclient.WithEndpointURL(cfg, *f.endpoint)
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("no AWS region: pass --region with the hub's region, or set AWS_REGION")
	}
	if cfg.Credentials == nil {
		return aws.Config{}, errors.New("no AWS credentials\n  fix: pass --profile or set AWS_PROFILE (aws configure, aws sso login), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, fmt.Errorf("get AWS credentials: %w\n  fix: pass --profile or set AWS_PROFILE (aws configure, aws sso login), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", err)
	}
	return cfg, nil
}

// Output formats of --output.
const (
	outputText = "text"
	outputJSON = "json"
)
