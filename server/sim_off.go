//go:build !sim

package main

import (
	"context"
	"errors"

	"github.com/lintelhq/lintel/proto/clock"
	"github.com/lintelhq/lintel/server/connector"
	"github.com/lintelhq/lintel/server/store"
)

// startM365Sim: this build has no Graph emulator.
func startM365Sim(*store.DB, string, clock.Func) (simulator, connector.Settings, string, error) {
	return nil, connector.Settings{}, "", errors.New("m365-sim: this lintel-server is a production build without the Microsoft Graph emulator: build it with `go build -tags sim` (make run-m365-sim does)")
}

// loadCmd: this build has no load test.
func loadCmd(_ context.Context, c Context, args []string) error {
	fs := c.flags("load")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return errors.New("load: this lintel-server is a production build without the load test: build it with `go build -tags sim` (make bench does)")
}
