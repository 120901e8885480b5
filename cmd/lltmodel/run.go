// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command failed
	exitUsage = 2 // the command line was wrong
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

const usage = `lltmodel writes and inspects GGUF model files.

Usage:
  lltmodel generate [flags]       write a random-weight model that llama.cpp serves
  lltmodel inspect [flags] FILE   print a model's facts, metadata and tensors
  lltmodel version                print the version
  lltmodel help [COMMAND]         print this help, or a command's

Run "lltmodel COMMAND -h" for a command's flags.
Exit status: 0 on success, 1 when the command fails, 2 on a usage error.
`

// usageError is an error in the command line; it exits with status 2.
type usageError struct{ msg string }

// Error returns the message.
func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// command is one subcommand: its flags are registered on fs and run does
// the work once they are parsed.
type command struct {
	name    string
	summary string // the usage line after "lltmodel NAME"
	setup   func(fs *flag.FlagSet) func(args []string, stdout io.Writer) error
}

var commands = []command{
	{"generate", "[flags]", setupGenerate},
	{"inspect", "[flags] FILE", setupInspect},
	{"version", "", setupVersion},
}

// run executes the command line args (without the program name) and
// returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printf(stderr, "%s", usage)
		return exitUsage
	}
	name, args := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 0 && name == "help" {
			return run([]string{args[0], "-h"}, stdout, stderr)
		}
		printf(stdout, "%s", usage)
		return exitOK
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(args, stdout, stderr)
		}
	}
	printf(stderr, "lltmodel: unknown command %q\n\n%s", name, usage)
	return exitUsage
}

func (c command) run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lltmodel "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	do := c.setup(fs)
	printUsage := func(w io.Writer) {
		printf(w, "Usage: lltmodel %s %s\n", c.name, c.summary)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout)
			return exitOK
		}
		printf(stderr, "lltmodel: %v\n", err)
		printUsage(stderr)
		return exitUsage
	}
	err := do(fs.Args(), stdout)
	if err == nil {
		return exitOK
	}
	printf(stderr, "lltmodel: %v\n", err)
	if ue := (*usageError)(nil); errors.As(err, &ue) {
		printUsage(stderr)
		return exitUsage
	}
	return exitError
}

// printf writes help and diagnostics. An error writing them could only be
// reported to the same writer, so it is dropped.
func printf(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, format, args...)
}

func setupVersion(fs *flag.FlagSet) func([]string, io.Writer) error {
	return func(args []string, stdout io.Writer) error {
		if len(args) > 0 {
			return usagef("version takes no arguments")
		}
		_, err := fmt.Fprintf(stdout, "lltmodel %s (%s)\n", buildVersion(), runtime.Version())
		return err
	}
}

// buildVersion returns the version set at link time, else the module
// version Go recorded, else "(devel)".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
