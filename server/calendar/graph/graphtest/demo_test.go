package graphtest_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto/clock"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/graph"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
)

// TestDemoWithSDK wires the real connector to a seeded emulator the way a
// demo (make run-m365-sim) does, and checks what doctor shows there.
func TestDemoWithSDK(t *testing.T) {
	srv := graphtest.NewServer(graphtest.Options{})
	defer srv.Close()
	now := clock.ForTests(os.Getenv)
	demo := srv.SeedDemo(now(), time.Local)

	secretFile := filepath.Join(t.TempDir(), "graph-secret")
	if err := os.WriteFile(secretFile, []byte(demo.Secret), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := graph.New(context.Background(), graph.Config{
		TenantID:         demo.TenantID,
		ClientID:         demo.ClientID,
		ClientSecretFile: secretFile,
		Cloud:            graph.CloudCustom,
		AuthorityHost:    srv.AuthorityHost,
		GraphBaseURL:     srv.GraphURL,
		CanaryMailbox:    demo.Canary,
		HTTPClient:       srv.Client(),
		Logger:           slog.New(slog.NewTextHandler(t.Output(), nil)),
		Now:              now,
	})
	if err != nil {
		t.Fatal(err)
	}

	rep := p.Doctor(context.Background(), demo.Rooms)
	var text strings.Builder
	rep.WriteText(&text)
	t.Log("\n" + text.String())
	for i, d := range rep.Rooms {
		want := calendar.StatusOK
		if i == len(demo.Rooms)-1 {
			want = calendar.StatusTitlesHidden
		}
		if d.Status != want {
			t.Errorf("%s: %s, want %s", d.Room, d.Status, want)
		}
	}
	for _, c := range rep.Tenant.Checks {
		if c.Name == graph.CheckLeastPrivilege && c.Level != graph.LevelOK {
			t.Errorf("least privilege: %+v", c)
		}
	}

	local := now().In(time.Local)
	from := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.Local)
	got, err := p.Events(context.Background(), demo.Rooms, from, from.Add(36*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range demo.Rooms {
		if got[r].Err != nil || len(got[r].Events) < 5 {
			t.Errorf("%s: %d events, err %v", r, len(got[r].Events), got[r].Err)
		}
	}
}
