package main

import (
	"crypto/tls"

	"github.com/lintelhq/lintel/proto/clock"
	"github.com/lintelhq/lintel/server/connector"
	"github.com/lintelhq/lintel/server/store"
)

// The Microsoft Graph emulator (serve --m365-sim) and the load test
// (lintel-server load) are for demos, trials and tests: the production
// server is built without them. `go build -tags sim` (make run, make
// run-m365-sim, make bench) links them; without the tag, --m365-sim and
// load say how to get a build that has them. Tests start the emulator
// through config.StartSim whatever the tags.

// simulator is the running Graph emulator (package m365sim).
type simulator interface {
	Close()
	TLSConfig() *tls.Config
}

// simStarter starts the emulator with a seeded tenant and returns the
// connector settings that read it and a note to print.
type simStarter func(db *store.DB, dataDir string, now clock.Func) (simulator, connector.Settings, string, error)
