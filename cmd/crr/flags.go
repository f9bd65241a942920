package main

// Flag helpers every command shares, so a flag reads the same in each command's help and
// a command line fails the same way (a usage error, exit 2) whatever the command.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	region, profile *string
}

// addAWSFlags defines --region and --profile.
func addAWSFlags(fs *flag.FlagSet) awsFlags {
	return awsFlags{
		region:  fs.String("region", "", "the hub's AWS `region`; default AWS_REGION or the profile's region"),
		profile: fs.String("profile", "", "shared config `profile`; default AWS_PROFILE or \"default\""),
	}
}

// load returns the SDK configuration from the standard chain (environment, shared files,
// SSO, instance role; endpoints from AWS_ENDPOINT_URL_*), and checks up front that it has
// a region and credentials, so the user gets a fix instead of an SDK error later.
func (f awsFlags) load(ctx context.Context) (aws.Config, error) {
	cfg, err := awsclient.LoadProfile(ctx, *f.region, *f.profile)
	if err != nil {
		return aws.Config{}, fmt.Errorf("%w\n  fix: check --profile / AWS_PROFILE and ~/.aws/config", err)
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

// addOutputFlag defines --output: text for people, json with the same facts for scripts.
func addOutputFlag(fs *flag.FlagSet) *string {
	return fs.String("output", outputText, "output `format`: text or json")
}

// checkOutput rejects an --output value other than text or json.
func checkOutput(v string) error {
	if v != outputText && v != outputJSON {
		return usagef("--output %q: want text or json", v)
	}
	return nil
}
