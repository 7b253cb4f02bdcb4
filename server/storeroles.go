package main

import (
	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/alert"
	"github.com/lintelhq/lintel/server/booking"
	"github.com/lintelhq/lintel/server/calendar/builtin"
	"github.com/lintelhq/lintel/server/connector"
	"github.com/lintelhq/lintel/server/devices"
	"github.com/lintelhq/lintel/server/fleet"
	"github.com/lintelhq/lintel/server/store"
	"github.com/lintelhq/lintel/server/sync"
)

// Each package declares the store role it needs; *store.DB (whichever
// backend is behind it) must meet every one. A method renamed or changed
// in the store breaks the build here, next to the wiring, rather than in
// each consumer.
var (
	_ booking.Store          = (*store.DB)(nil)
	_ devices.Store          = (*store.DB)(nil)
	_ sync.Store             = (*store.DB)(nil)
	_ sync.SubscriptionStore = (*store.DB)(nil)
	_ builtin.Store          = (*store.DB)(nil)
	_ builtin.SeedStore      = (*store.DB)(nil)
	_ admin.Store            = (*store.DB)(nil)
	_ admin.CredentialStore  = (*store.DB)(nil)
	_ alert.Store            = (*store.DB)(nil)
	_ fleet.Store            = (*store.DB)(nil)
	_ fleet.FirmwareStore    = (*store.DB)(nil)
	_ alertsStore            = (*store.DB)(nil)
	_ connector.Store        = (*store.DB)(nil)
)
