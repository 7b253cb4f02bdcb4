package main

import (
	"context"

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
