// Package m365sim runs the Microsoft Graph emulator (graphtest) with a
// seeded tenant for `lintel-server serve --m365-sim` and for the tests.
// It is a package of its own so that the production server, built
// without the "sim" tag, links neither it nor the emulator.
package m365sim

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lintelhq/lintel/proto/clock"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
	"github.com/lintelhq/lintel/server/connector"
	"github.com/lintelhq/lintel/server/internal/atomicfile"
	"github.com/lintelhq/lintel/server/store"
)

// Sim is the running emulator.
type Sim interface {
	Close()
	// TLSConfig trusts the emulator's certificate.
	TLSConfig() *tls.Config
}

// Rooms is where Start adds the emulated tenant's rooms. *store.DB is
// one.
type Rooms interface {
	Rooms() ([]store.Room, error)
	PutRoom(r store.Room) error
}

// Start starts the Graph emulator with a seeded tenant, adds a room
// for each of its room mailboxes (when the store has none yet), and
// returns the connector settings that read them through the real
// Microsoft 365 connector, so anyone can see that path without a tenant.
func Start(db Rooms, dataDir string, now clock.Func) (Sim, connector.Settings, string, error) {
	loc, _ := time.LoadLocation("Europe/Zurich")
	sim := graphtest.NewServer(graphtest.Options{Now: now})
	demo := sim.SeedDemo(now(), loc)
	secretFile := filepath.Join(dataDir, "m365-sim-secret")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		sim.Close()
		return nil, connector.Settings{}, "", fmt.Errorf("m365-sim: %w", err)
	}
	if err := atomicfile.WriteSecret(secretFile, demo.Secret); err != nil {
		sim.Close()
		return nil, connector.Settings{}, "", fmt.Errorf("m365-sim: %w", err)
	}
	rooms, err := db.Rooms()
	if err != nil {
		sim.Close()
		return nil, connector.Settings{}, "", fmt.Errorf("m365-sim: %w", err)
	}
	if len(rooms) == 0 {
		for i, addr := range demo.Rooms {
			name := addr
			if local, _, ok := strings.Cut(addr, "@"); ok {
				name = local
			}
			r := store.Room{ID: name, Name: title(name), Calendar: addr, TimeZone: "Europe/Zurich", Display: store.DisplayTitle,
				Booking: store.BookingSettings{Instant: true, Teams: true, ExtendEnd: true, CheckIn: i == 1, AutoRelease: i == 1}}
			if err := db.PutRoom(r); err != nil {
				sim.Close()
				return nil, connector.Settings{}, "", fmt.Errorf("m365-sim: %w", err)
			}
		}
	}
	settings := connector.Settings{
		Kind: "m365", TenantID: demo.TenantID, ClientID: demo.ClientID, Cloud: "custom",
		AuthorityHost: sim.AuthorityHost, GraphBaseURL: sim.GraphURL, Auth: "secret", SecretFile: secretFile,
		CanaryMailbox: demo.Canary,
	}
	note := fmt.Sprintf("m365-sim: Microsoft Graph emulator at %s with %d room mailboxes (tenant %s)\n", sim.URL, len(demo.Rooms), demo.TenantID)
	return sim, settings, note, nil
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
