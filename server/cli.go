package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/lintelhq/lintel/server/loadtest"
)

// Version is stamped at build time with -ldflags "-X main.Version=...".
var Version = "dev"

// Context is one run of the CLI. It is a value so tests run commands
// in-process with their own input, output and environment.
type Context struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Args   []string
	Getenv func(string) string
}

// command is a subcommand: its one-line summary and what it runs.
type command struct {
	summary string
	run     func(ctx context.Context, c Context, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":         {"run the server", serve},
		"devices":       {"add, list and revoke door panels (through the API)", devicesCmd},
		"rooms":         {"list, add, change and remove rooms, import them from Microsoft 365 Places (through the API)", roomsCmd},
		"admin":         {"create admins and API tokens (on the data directory)", adminCmd},
		"doctor":        {"test access to every room's calendar and explain each failure", doctor},
		"backup":        {"write a consistent snapshot of the running server's store to a file", backup},
		"restore":       {"put a backup in place of the store (server stopped)", restore},
		"tenant-script": {"print the Exchange Online PowerShell that grants the app access to the room calendars only", tenantScript},
		"load": {"connect simulated panels to a server on this machine and measure fan-out and booking latency", func(ctx context.Context, c Context, args []string) error {
			return loadtest.Command(ctx, args, c.Stdout, c.Stderr, c.Getenv)
		}},
		"healthcheck": {"exit 0 when the running server answers /healthz, wherever it listens (for container health checks)", healthcheck},
		"version":     {"print the version", func(_ context.Context, c Context, _ []string) error { fmt.Fprintln(c.Stdout, Version); return nil }},
	}
}

// Execute runs the command named by c.Args[0].
func (c Context) Execute(ctx context.Context) error {
	if c.Getenv == nil {
		c.Getenv = func(string) string { return "" }
	}
	cmds := commands()
	if len(c.Args) == 0 || c.Args[0] == "help" || c.Args[0] == "-h" || c.Args[0] == "--help" {
		c.usage(cmds)
		return nil
	}
	cmd, ok := cmds[c.Args[0]]
	if !ok {
		c.usage(cmds)
		return fmt.Errorf("unknown command %q", c.Args[0])
	}
	err := cmd.run(ctx, c, c.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func (c Context) usage(cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(c.Stdout, "usage: lintel-server <command> [flags]\n\ncommands:")
	for _, n := range names {
		fmt.Fprintf(c.Stdout, "  %-14s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(c.Stdout, "\nRun 'lintel-server <command> -h' for a command's flags.")
}

// flags returns a FlagSet that reports to c.Stderr and returns errors.
func (c Context) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("lintel-server "+name, flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	return fs
}

// env returns the variable, or def when it is unset.
func (c Context) env(name, def string) string {
	if v := c.Getenv(name); v != "" {
		return v
	}
	return def
}

// subcommand dispatches "lintel-server devices add ..." style commands.
func subcommand(ctx context.Context, c Context, group string, args []string, subs map[string]func(context.Context, Context, []string) error) error {
	if len(args) == 0 || subs[args[0]] == nil {
		names := make([]string, 0, len(subs))
		for n := range subs {
			names = append(names, n)
		}
		sort.Strings(names)
		return fmt.Errorf("usage: lintel-server %s %s", group, strings.Join(names, "|"))
	}
	return subs[args[0]](ctx, c, args[1:])
}
