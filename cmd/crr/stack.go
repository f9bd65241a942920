package main

// Starting the local stack, shared by `crr local up` and `crr local demo`, so both run
// exactly the same stand-ins, deployment and Lambda processes (internal/localrun.Start).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/s3crr/s3crr/internal/lambdas"
	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/localrun"
)

// selfLambda is set by main: the running binary is crr, which serves the hub's Lambda
// handlers itself (`crr __lambda <name>`), so the local hub runs it instead of building
// functions/<name> from a source tree. Tests call run directly from a test binary, which
// serves no handler, so they leave it false and the Lambda is built from the checkout.
var selfLambda bool

// lambdaCommandName is the hidden command that serves a hub Lambda handler.
const lambdaCommandName = "__lambda"

// serveLambda runs `crr __lambda <name>`: it serves the handler until the process is
// stopped, as the function's process in the local hub.
func serveLambda(args []string) int {
	if len(args) != 1 || lambdas.Handlers[args[0]] == nil {
		fmt.Fprintf(os.Stderr, "crr %s: want one of the hub's function names (provision, monitor), got %q\n", lambdaCommandName, args)
		return exitUsage
	}
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") == "" {
		fmt.Fprintf(os.Stderr, "crr %s %s: AWS_LAMBDA_RUNTIME_API is not set: this command is the local hub's Lambda process, started by crr local up\n", lambdaCommandName, args[0])
		return exitUsage
	}
	lambdas.Handlers[args[0]]()
	return exitOK
}

// stack is a started local stack and what to remove when it stops.
type stack struct {
	*localrun.Env
	// LogPath is the file the Lambda processes' output goes to.
	LogPath string
	logFile *os.File
}

// startStack starts the local stack with cfg (ModuleRoot, Log and the Lambda command are
// chosen here). Close it when done: it stops every process it started and removes the
// Lambda log unless keepLog.
func startStack(ctx context.Context, env *cliEnv, cfg localrun.Config) (*stack, error) {
	root, err := runnerRoot(ctx, env)
	if err != nil {
		return nil, err
	}
	cfg.ModuleRoot = root
	if selfLambda {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find the crr binary to serve the Lambda: %w", err)
		}
		cfg.LambdaBootstrap, cfg.LambdaArgs = exe, []string{lambdaCommandName}
	}
	logFile, err := os.CreateTemp("", "s3crr-lambda-*.log")
	if err != nil {
		return nil, fmt.Errorf("create the Lambda log: %w", err)
	}
	cfg.Log = logFile
	s := &stack{LogPath: logFile.Name(), logFile: logFile}
	if s.Env, err = localrun.Start(ctx, cfg); err != nil {
		logFile.Close()
		return nil, explainStart(err, s.LogPath)
	}
	return s, nil
}

// Close stops the stack and removes the Lambda log unless keepLog.
func (s *stack) Close(keepLog bool) {
	s.Env.Close()
	s.logFile.Close()
	if !keepLog {
		os.Remove(s.LogPath)
	}
}

// explainStart turns a start failure into one line naming the cause and the fix.
func explainStart(err error, logPath string) error {
	msg := err.Error()
	switch {
	case errors.Is(err, localhub.ErrPortInUse):
		return fmt.Errorf("%v: another crr local up (or another local AWS) is listening there: stop it, or pick other ports with --port / --members-port (0 picks a free one)", err)
	case strings.Contains(msg, "exits before polling the Runtime API"):
		return fmt.Errorf("start the local stack: %v (Lambda output: %s)", err, logPath)
	}
	return fmt.Errorf("start the local stack: %w (Lambda output: %s)", err, logPath)
}

// runnerRoot is the directory with the ASL runner (localhub/sfn-runner) and its
// node_modules: the checkout crr runs in, if any, else the per-user install of the
// runner embedded in crr.
func runnerRoot(ctx context.Context, env *cliEnv) (string, error) {
	if root, err := localhub.FindModuleRoot(); err == nil && localhub.CheckRunner(root) == nil {
		return root, nil
	}
	return localhub.InstallRunner(ctx, progressWriter(env))
}

// progressWriter is where a first-use install reports its progress.
func progressWriter(env *cliEnv) io.Writer { return env.stderr }
