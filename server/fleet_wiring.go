package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"path/filepath"

	"github.com/lintelhq/lintel/server/fleet"
	"github.com/lintelhq/lintel/server/hub"
)

// fleetPanels is the hub as the admin sees it: moving a panel to another
// room sends it that room's display settings too.
type fleetPanels struct {
	*hub.Hub
	settings *fleet.Settings
}

func (p fleetPanels) Move(deviceID, room string) {
	p.Hub.Move(deviceID, room)
	p.settings.Push(context.Background())
}

// newFirmware makes the firmware service: builds under the data
// directory, halts reported to the alert engine (made later).
func newFirmware(a *app, cfg config) (*fleet.Firmware, error) {
	var key ed25519.PublicKey
	if cfg.FirmwareKey != "" {
		var err error
		if key, err = fleet.ReadPublicKey(cfg.FirmwareKey); err != nil {
			return nil, fmt.Errorf("serve: --firmware-key: %w", err)
		}
	}
	f, err := fleet.NewFirmware(fleet.FirmwareOpts{
		Store:     a.db,
		Dir:       filepath.Join(cfg.DataDir, "firmware"),
		PublicKey: key,
		OnHalt: func(version, reason string) {
			if a.alerts != nil {
				a.alerts.engine.RolloutHalted(version, reason)
			}
		},
		OnResume: func(version string) {
			if a.alerts != nil {
				a.alerts.engine.RolloutResumed(version)
			}
		},
		Logger: a.log.With("component", "firmware"),
		Now:    a.now,
	})
	if err != nil {
		return nil, err
	}
	f.SetPanels(a.hub)
	return f, nil
}
