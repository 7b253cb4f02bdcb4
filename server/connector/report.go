package connector

import (
	"time"

	"github.com/lintelhq/lintel/server/calendar"
)

// Check is one tenant-level finding of a test.
type Check struct {
	Name   string `json:"name"`
	Level  string `json:"level"` // ok, info, warn, fail
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is what "test all" found: tenant-level checks (Microsoft 365
// sign-in, granted permissions, least privilege, secret expiry) and a
// diagnosis per room.
type Report struct {
	Provider string               `json:"provider"`
	Roles    []string             `json:"roles,omitempty"`
	Tenant   []Check              `json:"tenant"`
	Rooms    []calendar.Diagnosis `json:"rooms"`
	At       time.Time            `json:"at"`
}

// Failed counts the rooms that did not pass.
func (r Report) Failed() int {
	n := 0
	for _, d := range r.Rooms {
		if d.Status != calendar.StatusOK {
			n++
		}
	}
	return n
}

// Place is a room mailbox as the directory lists it.
type Place struct {
	Address  string `json:"address"`
	Name     string `json:"name"`
	Capacity int    `json:"capacity,omitempty"`
	Building string `json:"building,omitempty"`
}
