package main

import (
	"log/slog"

	"github.com/lintelhq/lintel/server/hub"
)

// fdReserve is how many file descriptors are kept for everything but panel
// connections: the admin's and the API's requests, the store, calendar
// calls, TLS certificate reloads.
const fdReserve = 1024

// fitConns lowers the panel connection cap to what the open file limit
// allows with fdReserve to spare, so that a flood of panel connections
// reaches the cap, and is refused, before the process runs out of file
// descriptors and the admin with it. Go raises the soft limit to the hard
// one at start.
func fitConns(want int, log *slog.Logger) int {
	if want <= 0 {
		want = hub.DefaultMaxConns
	}
	limit, ok := openFileLimit()
	if !ok {
		return want
	}
	fit := int(limit) - fdReserve
	if fit < 64 {
		fit = 64
	}
	if want > fit {
		log.Warn("panel connections capped below --max-conns by the open file limit; raise LimitNOFILE (systemd) or ulimit -n to allow more",
			"max_conns", fit, "wanted", want, "open_file_limit", limit)
		return fit
	}
	return want
}
