package main

import (
	"github.com/lintelhq/lintel/proto/clock"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
	"github.com/lintelhq/lintel/server/connector"
	"github.com/lintelhq/lintel/server/internal/m365sim"
	"github.com/lintelhq/lintel/server/store"
)

// startSimForTests gives the tests the Graph emulator whatever the build
// tags (the production build leaves it out of serve).
func startSimForTests(db *store.DB, dataDir string, now clock.Func) (simulator, connector.Settings, string, error) {
	return m365sim.Start(db, dataDir, now)
}

// graphSim is the app's Graph emulator, for tests that script it.
func (a *app) graphSim() *graphtest.Server { return a.sim.(*graphtest.Server) }
