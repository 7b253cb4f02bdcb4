//go:build sim

package main

import (
	"context"

	"github.com/lintelhq/lintel/proto/clock"
	"github.com/lintelhq/lintel/server/connector"
	"github.com/lintelhq/lintel/server/internal/m365sim"
	"github.com/lintelhq/lintel/server/loadtest"
	"github.com/lintelhq/lintel/server/store"
)

// startM365Sim starts the Graph emulator for serve --m365-sim.
func startM365Sim(db *store.DB, dataDir string, now clock.Func) (simulator, connector.Settings, string, error) {
	return m365sim.Start(db, dataDir, now)
}

// loadCmd is lintel-server load.
func loadCmd(ctx context.Context, c Context, args []string) error {
	return loadtest.Command(ctx, args, c.Stdout, c.Stderr, c.Getenv)
}
