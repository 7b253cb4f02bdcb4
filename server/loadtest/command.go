package loadtest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/lintelhq/lintel/proto/clock"
)

// Command is 'lintel-server load': it parses args, runs the load test and
// prints the report to stdout, progress to stderr. getenv supplies
// LINTEL_SERVER, LINTEL_API_TOKEN_FILE and LINTEL_API_TOKEN, as for the
// other API commands. A -h gives flag.ErrHelp.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("lintel-server load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lintel-server load [flags]\n\nConnects simulated panels to a server on this machine (loopback only) and measures\nconnecting, how fast calendar changes reach the panels, and booking round trips.\nThe rooms and devices it creates are deleted afterwards.\n\nflags:")
		fs.PrintDefaults()
	}
	var o Opts
	server := fs.String("server", env("LINTEL_SERVER", "http://127.0.0.1:8080"), "the server's URL, on loopback (env LINTEL_SERVER)")
	tokenFile := fs.String("token-file", env("LINTEL_API_TOKEN_FILE", ""), "file holding an API token (env LINTEL_API_TOKEN_FILE; or set LINTEL_API_TOKEN)")
	fs.IntVar(&o.Panels, "panels", 100, fmt.Sprintf("panels to connect (at most %d)", MaxPanels))
	fs.IntVar(&o.Rooms, "rooms", 0, fmt.Sprintf("rooms to spread them over (default panels/10, at most %d)", MaxRooms))
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Minute, "stop the run after this long")
	fs.DurationVar(&o.StepTimeout, "step-timeout", 30*time.Second, "give up on one panel's connect, change or booking after this long")
	fs.IntVar(&o.Concurrency, "concurrency", 32, "dials and API calls at once during setup")
	fs.StringVar(&o.TimeZone, "tz", "UTC", "the rooms' IANA time zone")
	fs.BoolVar(&o.Keep, "keep", false, "leave the rooms, devices and events in place")
	fs.IntVar(&o.Bookings, "bookings", 100, "rooms that book at once, one panel each")
	fs.IntVar(&o.Joiners, "joiners", 200, "panels that reconnect one by one to measure hello to first state")
	spawn := fs.Bool("spawn", false, "start a server for the run (this program's serve --demo, on a temporary data directory and a free loopback port) instead of using --server: its memory and CPU are measured and it is restarted for a reconnect storm")
	spawnArgs := fs.String("spawn-args", "", "more flags for the spawned server's serve, space separated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("load: unexpected arguments %q", fs.Args())
	}
	o.Server = *server
	o.Token = getenv("LINTEL_API_TOKEN")
	o.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	if *spawn {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("load: --spawn: %w", err)
		}
		// Enough connections for every panel, a late joiner's leftover
		// and the API.
		args := append([]string{"--max-conns", fmt.Sprint(2*o.Panels + 100)}, strings.Fields(*spawnArgs)...)
		srv, err := Spawn(ctx, self, args, stderr)
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		defer srv.Close()
		o.Server, o.Process = srv.URL(), srv
		if o.Token, err = srv.Token(); err != nil {
			return fmt.Errorf("load: %w", err)
		}
		o.Logger.Info("spawned a server", "url", o.Server, "pid", srv.PID())
		*tokenFile = ""
	}
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fmt.Errorf("load: read API token: %w", err)
		}
		o.Token = strings.TrimSpace(string(b))
	}
	if o.Token == "" {
		return errors.New("load: no API token: set --token-file, LINTEL_API_TOKEN_FILE or LINTEL_API_TOKEN ('lintel-server admin token' makes one)")
	}
	// The server under load may run on a moved clock (LINTEL_TEST_NOW):
	// the test meetings go where its day is.
	now, _, err := clock.FromEnv(getenv)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	o.Now = now
	rep, err := Run(ctx, o)
	if rep.Panels > 0 {
		fmt.Fprint(stdout, rep)
	}
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	return nil
}
