package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
)

// Version is stamped at build time with -ldflags "-X main.Version=...".
// "lintel-server version" and "lintel-server --version" print it alone on
// a line, as "lintel-panel version" does, so scripts compare it directly.
var Version = "dev"

// Context is one run of the CLI. It is a value so tests run commands
// in-process with their own input, output and environment.
type Context struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Args   []string
	Getenv func(string) string
	// Program is how the user started the binary (os.Args[0]), so hints
	// name a command they can paste. Default: lintel-server.
	Program string
	// Listen opens serve's listener. Default: net.Listen. Tests replace
	// it to see what is on disk at the moment the port opens.
	Listen func(network, address string) (net.Listener, error)

	// summary is the running command's one-line description, for its -h.
	summary string
	// help receives a command's flag usage; Execute decides where it goes
	// (standard output for -h, nowhere after a mistyped flag).
	help *flagHelp
}

// command is a subcommand: its one-line summary and what it runs. A
// summary names the command's arguments in capitals (FILE, CODE).
type command struct {
	summary string
	run     func(ctx context.Context, c Context, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":         {"run the server: the panels' websocket, the admin UI and API, calendar sync", serve},
		"devices":       {"add, list, pair and revoke door panels (through the API)", devicesCmd},
		"rooms":         {"list, add, change and remove rooms, import them from Microsoft 365 Places (through the API)", roomsCmd},
		"firmware":      {"upload panel builds and roll them out ring by ring, with automatic halt and rollback (through the API)", firmwareCmd},
		"settings":      {"show and change the panels' display settings: fleet default, per room, per panel (through the API)", settingsCmd},
		"admin":         {"create admins, reset their passwords and make API tokens (on the data directory, server stopped)", adminCmd},
		"users":         {"list, add and remove admin and helpdesk accounts, set roles and passwords (through the API)", usersCmd},
		"tokens":        {"make, list and revoke scoped API tokens (through the API)", tokensCmd},
		"doctor":        {"test access to every room's calendar and explain each failure", doctor},
		"backup":        {"write a consistent snapshot of the running server's store to FILE", backup},
		"restore":       {"put the backup FILE in place of the store (server stopped)", restore},
		"migrate-store": {"copy the whole store from a bbolt file to etcd, for several replicas, or back (servers stopped)", migrateStore},
		"tenant-script": {"print the Exchange Online PowerShell that grants the app access to the room calendars only", tenantScript},
		"load":          {"connect simulated panels to a server on this machine and measure memory, fan-out, booking, first state and a restart (builds with -tags sim)", loadCmd},
		"healthcheck":   {"exit 0 when the running server answers /healthz, wherever it listens (for container health checks)", healthcheck},
		"version":       {"print the version (also: lintel-server --version)", printVersion},
	}
}

func printVersion(_ context.Context, c Context, args []string) error {
	fs := c.flags("version")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout, Version)
	return nil
}

// Execute runs the command named by c.Args[0]. "-h" anywhere a command
// reads flags prints its description and flags to Stdout and succeeds.
func (c Context) Execute(ctx context.Context) error {
	if c.Getenv == nil {
		c.Getenv = func(string) string { return "" }
	}
	if c.Program == "" {
		c.Program = "lintel-server"
	}
	if c.Listen == nil {
		c.Listen = net.Listen
	}
	c.help = &flagHelp{}
	cmds := commands()
	args := c.Args
	switch {
	case len(args) == 0:
		usage(c.Stderr, "", about, cmds)
		return errors.New("which command? (lintel-server help lists them)")
	case args[0] == "--version" || args[0] == "-version":
		args = []string{"version"}
	case (args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help") && len(args) == 1:
		usage(c.Stdout, "", about, cmds)
		return nil
	case args[0] == "help":
		// "help devices add" is "devices add -h".
		args = append(args[1:len(args):len(args)], "-h")
	}
	return c.dispatch(ctx, "", args, cmds)
}

// dispatch runs args[0] from cmds; group is the words before it ("" at the
// top, "devices" for "devices add").
func (c Context) dispatch(ctx context.Context, group string, args []string, cmds map[string]command) error {
	name := args[0]
	cmd, ok := cmds[name]
	if !ok {
		desc := c.summary
		if group == "" {
			desc = about
		}
		usage(c.Stderr, group, desc, cmds)
		return fmt.Errorf("unknown command %q", strings.TrimSpace(group+" "+name))
	}
	c.summary = cmd.summary
	err := cmd.run(ctx, c, args[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
		io.WriteString(c.Stdout, c.help.text.String())
		return nil
	case err != nil && c.help.failed:
		// A flag was wrong: the error says which; the list would bury it.
		c.help.failed = false // an enclosing group must not say it again
		return fmt.Errorf("%s: %w (run '%s %s -h' for its flags)", c.help.name, err, c.Program, c.help.name)
	}
	return err
}

// about is what lintel-server is, for its help.
const about = "lintel-server reads meeting rooms' calendars (Microsoft 365 or its built-in one) and serves\nthe door panels beside the rooms and the facilities admin (web UI, JSON API and this CLI)."

// usage describes a group (about for the top level) and lists its
// commands.
func usage(w io.Writer, group, about string, cmds map[string]command) {
	names := sortedNames(cmds)
	words := strings.TrimSpace("lintel-server " + group)
	fmt.Fprintf(w, "usage: %s <command> [flags]\n\n%s\n\ncommands:\n", words, about)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> -h' for a command's flags.\n", words)
}

// flagHelp is where a command's FlagSet writes its usage.
type flagHelp struct {
	name   string // "devices add"
	text   strings.Builder
	failed bool // a flag was wrong (as opposed to -h)
}

// Write receives the flag package's messages: an error message, then the
// usage (on a mistake) or only the usage (on -h).
func (h *flagHelp) Write(p []byte) (int, error) { return h.text.Write(p) }

// flags returns the FlagSet of the command name ("devices add"). Parse
// returns flag.ErrHelp on -h, which Execute turns into the usage on
// Stdout and success.
func (c Context) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("lintel-server "+name, flag.ContinueOnError)
	h := c.help
	if h == nil { // a command run without Execute (tests of one command)
		h = &flagHelp{}
	}
	h.name = name
	h.text.Reset()
	fs.SetOutput(h)
	summary := c.summary
	fs.Usage = func() {
		if h.text.Len() > 0 { // the flag package wrote an error first
			h.failed = true
			return
		}
		fmt.Fprintf(h, "usage: lintel-server %s [flags]\n\n%s\n", name, summary)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(h, "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// env returns the variable, or def when it is unset.
func (c Context) env(name, def string) string {
	if v := c.Getenv(name); v != "" {
		return v
	}
	return def
}

// subcommand runs one command of a group ("lintel-server devices add ...").
func subcommand(ctx context.Context, c Context, group string, args []string, subs map[string]command) error {
	if len(args) == 0 {
		usage(c.Stderr, group, c.summary, subs)
		return fmt.Errorf("%s: which command? (%s)", group, strings.Join(sortedNames(subs), ", "))
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(c.Stdout, group, c.summary, subs)
		return nil
	}
	return c.dispatch(ctx, group, args, subs)
}

func sortedNames(cmds map[string]command) []string {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
