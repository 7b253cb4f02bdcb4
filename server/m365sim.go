package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lintelhq/lintel/proto/clock"
	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
	"github.com/lintelhq/lintel/server/store"
)

// startM365Sim starts the Graph emulator with a seeded tenant, adds a room
// for each of its room mailboxes (when the store has none yet), and
// returns the connector settings that read them through the real
// Microsoft 365 connector, so anyone can see that path without a tenant.
func startM365Sim(db *store.DB, dataDir string, now clock.Func) (*graphtest.Server, admin.ConnectorSettings, string, error) {
	loc, _ := time.LoadLocation("Europe/Zurich")
	sim := graphtest.NewServer(graphtest.Options{Now: now})
	demo := sim.SeedDemo(now(), loc)
	secretFile := filepath.Join(dataDir, "m365-sim-secret")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		sim.Close()
		return nil, admin.ConnectorSettings{}, "", fmt.Errorf("m365-sim: %w", err)
	}
	if err := writeSecretFile(secretFile, demo.Secret); err != nil {
		sim.Close()
		return nil, admin.ConnectorSettings{}, "", fmt.Errorf("m365-sim: %w", err)
	}
	rooms, err := db.Rooms()
	if err != nil {
		sim.Close()
		return nil, admin.ConnectorSettings{}, "", fmt.Errorf("m365-sim: %w", err)
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
				return nil, admin.ConnectorSettings{}, "", fmt.Errorf("m365-sim: %w", err)
			}
		}
	}
	settings := admin.ConnectorSettings{
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
