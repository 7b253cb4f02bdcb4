// Command lintel-panel is the door panel's firmware: it shows a meeting
// room's state on the screen and LEDs beside the door and sends bookings
// back to the Lintel server. Run "lintel-panel -h" for its settings.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // render any room's zone, whatever the board's OS has
)

// Version is stamped at build time with -ldflags "-X main.Version=...".
// "lintel-panel version" and "lintel-panel --version" print it alone on a
// line, as lintel-server does (deploy/panel/update.sh compares it).
var Version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	if errors.Is(err, errRestart) {
		// The supervisor (systemd's Restart=always) starts the new binary.
		fmt.Fprintln(os.Stderr, "lintel-panel:", err)
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lintel-panel:", err)
		os.Exit(1)
	}
}
