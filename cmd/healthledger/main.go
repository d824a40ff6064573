package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/healthledger/healthledger/ledger"
)

// Exit codes (see the package documentation).
const (
	exitOK       = 0
	exitFailed   = 1 // verification failed, or findings
	exitUsage    = 2 // bad flags or arguments
	exitIOError  = 3 // a file, directory or server could not be read or written
	exitInternal = 4 // anything else
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runContext(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args (without the program name) and returns
// the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

type command struct {
	name, args, summary string
	run                 func(ctx context.Context, e *env, args []string) error
}

var commands = []command{
	{"keygen", "--origin NAME --out FILE [--cosigner]", "generate a log key (or a witness cosigner key)", cmdKeygen},
	{"serve", "--dir DIR --origin NAME --log-key KEY [--addr HOST:PORT] [--witness-key FILE ...]", "serve a Pebble ledger's read path (and a witness)", cmdServe},
	{"verify", "--origin NAME --log-key KEY [--witness KEY ... --threshold K | --policy FILE] RECEIPT", "verify a receipt offline", cmdVerify},
	{"check", "--dir DIR --log-key KEY", "check a Pebble ledger directory (fsck)", cmdCheck},
	{"monitor", "--origin NAME --log-key KEY [--witness KEY ...] [--follow] URL", "monitor a log over its read path", cmdMonitor},
	{"inspect", "(--dir DIR | --url URL) --origin NAME --log-key KEY [--subject HEX]", "show the checkpoint and a subject's entries", cmdInspect},
}

// env is what a command writes to.
type env struct {
	stdout, stderr io.Writer
	json           bool
}

// usageError is a bad command line (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// failure is a verification failure or findings (exit 1); the command has
// printed what failed.
type failure struct{ msg string }

func (e *failure) Error() string { return e.msg }

// ioError is a file, directory or network error (exit 3).
type ioError struct{ err error }

func (e *ioError) Error() string { return e.err.Error() }
func (e *ioError) Unwrap() error { return e.err }

func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, &env{stdout: stdout, stderr: stderr}, args[1:])
		return exitCode(stderr, c, err)
	}
	fmt.Fprintf(stderr, "healthledger: unknown command %q\n", args[0])
	printUsage(stderr)
	return exitUsage
}

func exitCode(stderr io.Writer, c command, err error) int {
	var ue *usageError
	var fe *failure
	var ie *ioError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "healthledger %s: %v\nusage: healthledger %s %s\n", c.name, err, c.name, c.args)
		return exitUsage
	case errors.As(err, &fe):
		fmt.Fprintf(stderr, "healthledger %s: %v\n", c.name, err)
		return exitFailed
	case errors.As(err, &ie):
		fmt.Fprintf(stderr, "healthledger %s: %v\n", c.name, err)
		return exitIOError
	case isVerificationError(err):
		fmt.Fprintf(stderr, "healthledger %s: verification failed: %v\n", c.name, err)
		return exitFailed
	}
	fmt.Fprintf(stderr, "healthledger %s: %v\n", c.name, err)
	return exitInternal
}

// isVerificationError reports errors that say the data is wrong, not that
// it could not be read.
func isVerificationError(err error) bool {
	for _, s := range []error{ledger.ErrBadSignature, ledger.ErrInvalidProof, ledger.ErrMalformed, ledger.ErrWrongOrigin,
		ledger.ErrClockSkew, ledger.ErrNoTimestamp, ledger.ErrCorrupt, ledger.ErrRollback, ledger.ErrWrongKey, ledger.ErrTooLarge} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: healthledger COMMAND [flags] [args]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'healthledger COMMAND -h' for a command's flags. Exit codes: 0 ok, 1 verification failed or findings, 2 usage, 3 I/O error, 4 other error.")
}

// newFlags returns a flag set for a command that writes errors to stderr
// and adds --json.
func (e *env) newFlags(c string) *flag.FlagSet {
	fs := flag.NewFlagSet("healthledger "+c, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.BoolVar(&e.json, "json", false, "print JSON for scripts instead of text")
	return fs
}

// parse parses args, flags and positional arguments in any order ("--"
// ends the flags); a flag error is a usage error. It returns the
// positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// output prints v as JSON with --json, or calls text.
func (e *env) output(v any, text func(w io.Writer)) error {
	if e.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(e.stdout)
	return nil
}

// progress prints a progress line on stderr (never with --json on stdout:
// stderr is for people either way).
func (e *env) progress(format string, args ...any) {
	fmt.Fprintf(e.stderr, format+"\n", args...)
}

// strings is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// keyArg returns a key given on the command line: the contents of the file
// it names if there is one, else the value itself.
func keyArg(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	b, err := os.ReadFile(v)
	switch {
	case err == nil:
		return strings.TrimSpace(string(b)), nil
	case errors.Is(err, os.ErrNotExist) && strings.Count(v, "+") >= 2:
		return v, nil // a verifier key itself
	}
	return "", &ioError{fmt.Errorf("reading key %s: %w", v, err)}
}

// required returns a usage error naming the first empty flag.
func required(flags ...[2]string) error {
	for _, f := range flags {
		if f[1] == "" {
			return usagef("--%s is required", f[0])
		}
	}
	return nil
}
