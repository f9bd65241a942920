// Command crr is the s3crr command-line tool. Today it runs the local simulator of the
// member accounts (crr local serve); the validate, plan, apply, status and local demo
// commands join it as one file per command group.
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
)

// Exit codes, as the usage text documents them.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // the command line is wrong
)

// command is one subcommand, or a group of them (subs).
type command struct {
	name    string
	summary string
	// run executes the command with the arguments after its name. Only main exits.
	run  func(ctx context.Context, env *cliEnv, args []string) error
	subs []*command
}

// cliEnv is what a command may touch: its output streams. Tests substitute buffers.
type cliEnv struct {
	stdout, stderr io.Writer
}

// usageError marks a wrong command line: main prints it with the usage and exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// commands is the command tree. Each group registers itself from its own file.
func commands() []*command {
	return []*command{localCommand()}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &cliEnv{stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
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
			switch {
			case err == nil:
				return exitOK
			case errors.As(err, &ue):
				fmt.Fprintf(env.stderr, "%s: %v (see %s -h)\n", strings.Join(path, " "), err, strings.Join(path, " "))
				return exitUsage
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
  1  the command failed
  2  the command line is wrong (unknown command, bad flag)
`)
}
