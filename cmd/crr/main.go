// Command crr is the s3crr command-line tool: it validates a pair request (validate),
// shows what provisioning would change (plan), starts and follows the provision state
// machine (apply), reports a pair or an execution (status), checks read-only whether a
// pair would replicate (doctor), previews the monitor's alerts (monitor), and runs the
// local stand-ins (local).
//
// Files by concern: one per command (validate.go, plan.go, apply.go, status.go with
// status_alerts.go, doctor.go, monitor.go, local.go for serve, local_demo.go with
// local_demo_monitor.go); flags.go for the flags every command shares; request.go for
// reading -f; awserr.go for explaining AWS errors; hub.go for the HubStack's names and the
// ARNs derived from them; execution.go and history.go for following an execution and
// printing how it ended; format.go for small text helpers. A new command is a file with a
// xxxCommand() registered in commands() below.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/s3crr/s3crr/internal/localhub"
)

// Exit codes, as the usage text documents them.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // the command line is wrong
	exitInvalid = 3 // the pair request is invalid
)

// command is one subcommand, or a group of them (subs).
type command struct {
	name    string
	summary string
	// run executes the command with the arguments after its name. Only main exits.
	run  func(ctx context.Context, env *cliEnv, args []string) error
	subs []*command
}

// cliEnv is what a command may touch: its standard streams. Tests substitute buffers.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// usageError marks a wrong command line: main prints it with the usage and exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCoder is an error that chooses the exit code itself, e.g. exitInvalid for a
// request that does not validate (the command has printed the details).
type exitCoder interface {
	error
	exitCode() int
}

// commands is the command tree. Each group registers itself from its own file.
func commands() []*command {
	return []*command{validateCommand(), planCommand(), applyCommand(), redriveCommand(), destroyCommand(), statusCommand(), verifyCommand(), doctorCommand(), monitorCommand(), localCommand()}
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == lambdaCommandName {
		// The local hub's Lambda process: serve the handler, nothing else.
		os.Exit(serveLambda(os.Args[2:]))
	}
	selfLambda = true
	if isLocalUp(os.Args[1:]) {
		if err := ensureUpPorts(os.Args[1:]); err != nil {
			fmt.Fprintf(os.Stderr, "crr local up: %v\n", err)
			os.Exit(exitFailure)
		}
	} else if needsKumoPort(os.Args[1:]) {
		// Before anything else: this re-executes crr with KUMO_PORT set, so that the
		// embedded kumo's init functions see it (see localhub.EnsureKumoPort).
		if err := localhub.EnsureKumoPort(); err != nil {
			fmt.Fprintf(os.Stderr, "crr: %v\n", err)
			os.Exit(exitFailure)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches args to a command and returns the process exit code.
func run(ctx context.Context, env *cliEnv, args []string) int {
	cmds := commands()
	path := []string{"crr"}
	for {
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			printUsage(env.stderr, path, cmds)
			if len(args) == 0 {
				return exitUsage
			}
			return exitOK
		}
		c := find(cmds, args[0])
		if c == nil {
			fmt.Fprintf(env.stderr, "%s: unknown command %q\n\n", strings.Join(path, " "), args[0])
			printUsage(env.stderr, path, cmds)
			return exitUsage
		}
		path = append(path, c.name)
		args = args[1:]
		if c.run != nil {
			err := c.run(ctx, env, args)
			var ue *usageError
			var ec exitCoder
			switch {
			case err == nil:
				return exitOK
			case errors.As(err, &ue):
				fmt.Fprintf(env.stderr, "%s: %v (see %s -h)\n", strings.Join(path, " "), err, strings.Join(path, " "))
				return exitUsage
			case errors.As(err, &ec):
				fmt.Fprintf(env.stderr, "%s: %v\n", strings.Join(path, " "), err)
				return ec.exitCode()
			default:
				fmt.Fprintf(env.stderr, "%s: %v\n", strings.Join(path, " "), err)
				return exitFailure
			}
		}
		cmds = c.subs
	}
}

func find(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.name == name {
			return c
		}
	}
	return nil
}

func printUsage(w io.Writer, path []string, cmds []*command) {
	fmt.Fprintf(w, "Usage: %s <command> [flags]\n\nCommands:\n", strings.Join(path, " "))
	sorted := append([]*command(nil), cmds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> -h' for a command's flags.\n", strings.Join(path, " "))
	fmt.Fprint(w, `
Exit codes:
  0  success
  1  the command failed: an AWS error, a failed stage, or a FAILED, TIMED_OUT or
     ABORTED execution (the message names the AWS error code and what to do)
  2  the command line is wrong (unknown command, bad flag)
  3  the request is invalid (every problem is printed with its JSON path and fix)
`)
}
