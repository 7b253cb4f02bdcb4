package connector

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/builtin"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
	"github.com/lintelhq/lintel/server/store"
)

var now = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

type fixture struct {
	db      *store.DB
	dir     string
	sim     *graphtest.Server
	demo    graphtest.Demo
	c       *Connector
	failed  []calendar.Status
	builtin *builtin.Calendar
}

// newFixture is a connector on a real store, with the Graph emulator
// ready to be switched to.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "lintel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sim := graphtest.NewServer(graphtest.Options{Now: func() time.Time { return now }})
	t.Cleanup(sim.Close)
	f := &fixture{db: db, dir: dir, sim: sim, demo: sim.SeedDemo(now, time.UTC), builtin: builtin.New(db)}
	f.c = New(Opts{Store: db, Builtin: f.builtin, DataDir: dir, HTTPClient: sim.Client(), Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
		Now: func() time.Time { return now }, OnReadFailure: func(s calendar.Status) { f.failed = append(f.failed, s) }})
	return f
}

// m365 are settings that reach the emulator.
func (f *fixture) m365() Settings {
	return Settings{Kind: "m365", TenantID: f.demo.TenantID, ClientID: f.demo.ClientID, Cloud: "custom",
		AuthorityHost: f.sim.AuthorityHost, GraphBaseURL: f.sim.GraphURL, Auth: "secret"}
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		saved     *Settings
		fromFlags *Settings
		wantKind  string
		wantErr   string
	}{
		{name: "nothing saved: the built-in calendar", wantKind: "builtin"},
		{name: "saved built-in", saved: &Settings{Kind: "builtin"}, wantKind: "builtin"},
		// The admin can fix a broken saved connection in the UI only if
		// the server starts.
		{name: "saved m365 without a stored secret falls back", saved: &Settings{Kind: "m365", TenantID: "t", ClientID: "c", Auth: "secret"}, wantKind: "builtin"},
		{name: "flags win over what is saved", saved: &Settings{Kind: "m365"}, fromFlags: &Settings{Kind: "builtin"}, wantKind: "builtin"},
		{name: "broken flags are an error in the flags' words", fromFlags: &Settings{Kind: "m365", Cloud: "nowhere", Auth: "secret", SecretEnv: "X"},
			wantErr: "--graph-cloud"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.saved != nil {
				if err := f.db.PutSetting(SettingsKey, *tt.saved); err != nil {
					t.Fatal(err)
				}
			}
			err := f.c.Load(ctx, tt.fromFlags)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load: %v; want an error naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.c.Settings().Kind; got != tt.wantKind {
				t.Errorf("kind %q, want %q", got, tt.wantKind)
			}
			if got := f.c.Settings().FromFlags; got != (tt.fromFlags != nil) {
				t.Errorf("FromFlags %v, want %v", got, tt.fromFlags != nil)
			}
		})
	}
}

// TestApplySwitchesLive switches from the built-in calendar to Microsoft
// 365 and back while the same Connector serves reads, and checks what is
// saved: the settings in the store, the secret only in its 0600 file.
func TestApplySwitchesLive(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if err := f.c.Load(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if f.c.Name() != "builtin" {
		t.Fatalf("starts on %q", f.c.Name())
	}

	// Switching to Microsoft 365 needs the secret.
	if err := f.c.Apply(ctx, f.m365(), Credentials{}); !errors.Is(err, ErrCredentialAgain) {
		t.Fatalf("Apply without the secret: %v, want ErrCredentialAgain", err)
	}
	if err := f.c.Apply(ctx, f.m365(), Credentials{Secret: f.demo.Secret}); err != nil {
		t.Fatal(err)
	}
	if f.c.Name() != "graph" || f.c.GraphConcurrency() <= 0 {
		t.Fatalf("after Apply: %q, concurrency %d", f.c.Name(), f.c.GraphConcurrency())
	}
	got, err := f.c.Events(ctx, f.demo.Rooms[:1], now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil || got[f.demo.Rooms[0]].Err != nil {
		t.Fatalf("Events through Microsoft 365: %v, %v", err, got[f.demo.Rooms[0]].Err)
	}
	if h := f.c.Health(); h.Status != HealthOK || h.Provider != "graph" {
		t.Errorf("health after a good read: %+v", h)
	}

	secret, err := os.ReadFile(filepath.Join(f.dir, secretFileName))
	if err != nil || strings.TrimSpace(string(secret)) != f.demo.Secret {
		t.Fatalf("secret file: %q, %v", secret, err)
	}
	if fi, _ := os.Stat(filepath.Join(f.dir, secretFileName)); fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v", fi.Mode().Perm())
	}
	var saved map[string]any
	if err := f.db.Setting(SettingsKey, &saved); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(saved)
	if strings.Contains(string(raw), f.demo.Secret) || saved["has_secret"] != nil || saved["tenant_id"] != f.demo.TenantID {
		t.Errorf("saved settings %s", raw)
	}
	shown, _ := json.Marshal(f.c.Settings())
	if strings.Contains(string(shown), f.demo.Secret) || !f.c.Settings().HasSecret {
		t.Errorf("Settings() %s: want has_secret and no secret", shown)
	}

	// Same tenant and app, another public URL: the stored secret is kept.
	s := f.m365()
	s.PublicURL = "https://lintel.example.com"
	var told string
	f.c.OnPublicURL(func(u string) { told = u })
	if err := f.c.Apply(ctx, s, Credentials{}); err != nil {
		t.Fatal(err)
	}
	if told != s.PublicURL {
		t.Errorf("OnPublicURL told %q", told)
	}
	s.PublicURL = "lintel.example.com"
	if err := f.c.Apply(ctx, s, Credentials{}); err == nil || !strings.Contains(err.Error(), "public URL") {
		t.Errorf("a public URL without a scheme: %v", err)
	}

	// Back to the built-in calendar: health starts over.
	if err := f.c.Apply(ctx, Settings{Kind: "builtin"}, Credentials{}); err != nil {
		t.Fatal(err)
	}
	if f.c.Name() != "builtin" || f.c.GraphConcurrency() != 0 || f.c.Health().Status != HealthUnknown {
		t.Errorf("after switching back: %q, concurrency %d, health %q", f.c.Name(), f.c.GraphConcurrency(), f.c.Health().Status)
	}
	if _, err := f.c.Places(ctx); err == nil {
		t.Error("Places on the built-in calendar: no error")
	}
}

func TestHealthRecord(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name        string
		rooms       []string
		got         map[string]calendar.RoomEvents
		err         error
		wantStatus  string
		wantFailing int
		wantFailed  int
	}{
		{name: "all good", rooms: []string{"a", "b"}, got: map[string]calendar.RoomEvents{"a": {}, "b": {}}, wantStatus: HealthOK},
		{name: "one room fails", rooms: []string{"a", "b"}, got: map[string]calendar.RoomEvents{"a": {}, "b": {Err: boom}},
			wantStatus: HealthOK, wantFailing: 1, wantFailed: 1},
		{name: "a room missing from the answer fails", rooms: []string{"a", "b"}, got: map[string]calendar.RoomEvents{"a": {}},
			wantStatus: HealthOK, wantFailing: 1, wantFailed: 1},
		{name: "every room fails: the calendar fails", rooms: []string{"a", "b"}, got: map[string]calendar.RoomEvents{"a": {Err: boom}, "b": {Err: boom}},
			wantStatus: HealthFailing, wantFailing: 2, wantFailed: 2},
		{name: "the read fails as a whole", rooms: []string{"a"}, err: boom, wantStatus: HealthFailing, wantFailing: 1, wantFailed: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var failed int
			h := newCalendarHealth(slog.New(slog.NewTextHandler(t.Output(), nil)))
			h.onFailure = func(calendar.Status) { failed++ }
			if h.snapshot("x").Status != HealthUnknown {
				t.Fatal("a fresh health is not unknown")
			}
			h.record(now, tt.rooms, tt.got, tt.err)
			got := h.snapshot("x")
			if got.Status != tt.wantStatus || got.RoomsFailing != tt.wantFailing || failed != tt.wantFailed {
				t.Errorf("status %q, failing %d, told %d; want %q, %d, %d", got.Status, got.RoomsFailing, failed, tt.wantStatus, tt.wantFailing, tt.wantFailed)
			}
			h.reset()
			if got := h.snapshot("x"); got.Status != HealthUnknown || len(got.Rooms) != 0 {
				t.Errorf("after reset: %+v", got)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    *Settings
		wantErr string
	}{
		{name: "none: the saved choice holds", want: nil},
		{name: "builtin", args: []string{"--calendar", "builtin"}, want: &Settings{Kind: "builtin"}},
		{name: "m365 with the secret in the environment",
			args: []string{"--calendar", "m365", "--graph-tenant", "00000000-0000-0000-0000-000000000001", "--graph-client", "00000000-0000-0000-0000-000000000002"},
			env:  map[string]string{"LINTEL_GRAPH_CLIENT_SECRET": "s"},
			want: &Settings{Kind: "m365", TenantID: "00000000-0000-0000-0000-000000000001", ClientID: "00000000-0000-0000-0000-000000000002",
				Cloud: "global", Auth: "secret", SecretEnv: "LINTEL_GRAPH_CLIENT_SECRET"}},
		{name: "m365 without a credential", args: []string{"--calendar", "m365"}, wantErr: "needs a credential"},
		{name: "unknown kind", args: []string{"--calendar", "exchange"}, wantErr: `--calendar "exchange"`},
		{name: "bad expiry", args: []string{"--calendar", "m365", "--graph-secret-expires", "soon"}, env: map[string]string{"LINTEL_GRAPH_CLIENT_SECRET": "s"},
			wantErr: "--graph-secret-expires"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			parse := Flags(fs, func(k string) string { return tt.env[k] })
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			got, err := parse()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestReplicasFollowSettings: two replicas' connectors on one store, both
// started with the flags of one deployment (Microsoft 365, the secret in a
// file). A change saved through one is followed by the other; what would
// need a credential, or move it, is refused with the flags to use instead.
func TestReplicasFollowSettings(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	secretFile := filepath.Join(t.TempDir(), "graph-secret")
	if err := os.WriteFile(secretFile, []byte(f.demo.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := f.m365()
	flags.SecretFile = secretFile
	replica := func() *Connector {
		c := New(Opts{Store: f.db, Builtin: f.builtin, DataDir: t.TempDir(), HTTPClient: f.sim.Client(), Shared: true,
			Logger: slog.New(slog.NewTextHandler(t.Output(), nil)), Now: func() time.Time { return now }})
		if err := c.Load(ctx, &flags); err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := replica(), replica()
	var toldB string
	b.OnPublicURL(func(u string) { toldB = u })

	// Nothing new saved yet: following changes nothing.
	b.Follow(ctx)
	if b.Name() != "graph" || toldB != "" {
		t.Fatalf("b after a Follow with nothing saved: %s, told %q", b.Name(), toldB)
	}

	// The public URL and canary, through a.
	s := f.m365()
	s.PublicURL, s.CanaryMailbox = "https://lintel.example.com", "ceo@contoso.com"
	if err := a.Apply(ctx, s, Credentials{}); err != nil {
		t.Fatal(err)
	}
	b.Follow(ctx)
	if got := b.Settings(); got.PublicURL != s.PublicURL || got.CanaryMailbox != s.CanaryMailbox || b.Name() != "graph" {
		t.Errorf("b did not follow: %+v on %s", got, b.Name())
	}
	if toldB != s.PublicURL {
		t.Errorf("b's public URL told %q", toldB)
	}
	// b still reads rooms with the secret from its file.
	got, err := b.Events(ctx, f.demo.Rooms[:1], now, now.Add(time.Hour))
	if err != nil || got[f.demo.Rooms[0]].Err != nil {
		t.Fatalf("b reads after following: %v, %v", err, got[f.demo.Rooms[0]].Err)
	}

	// A typed secret, another tenant, another authority host, the
	// built-in calendar: the replicas' flags decide those.
	moved := f.m365()
	moved.AuthorityHost = "https://login.attacker.example"
	tenant := f.m365()
	tenant.TenantID = "another-tenant"
	for name, try := range map[string]func() error{
		"a typed secret":         func() error { return a.Apply(ctx, s, Credentials{Secret: f.demo.Secret}) },
		"a certificate":          func() error { return a.Apply(ctx, s, Credentials{Certificate: []byte("pem")}) },
		"another authority host": func() error { return a.Apply(ctx, moved, Credentials{}) },
		"another tenant":         func() error { return a.Apply(ctx, tenant, Credentials{}) },
		"the built-in calendar":  func() error { return a.Apply(ctx, Settings{Kind: "builtin"}, Credentials{}) },
	} {
		if err := try(); !errors.Is(err, ErrSetByReplicaFlags) {
			t.Errorf("%s through a replica's UI: %v, want ErrSetByReplicaFlags", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(f.dir, secretFileName)); err == nil {
		t.Error("a typed secret was written to a data directory")
	}
	if a.Settings().AuthorityHost != f.sim.AuthorityHost || a.Name() != "graph" {
		t.Errorf("a refused change was applied: %+v", a.Settings())
	}

	// Settings b cannot use (saved by a replica of another version, say)
	// are logged, and b keeps reading.
	if err := f.db.PutSetting(SettingsKey, Settings{Kind: "m365", Cloud: "nowhere"}); err != nil {
		t.Fatal(err)
	}
	b.Follow(ctx)
	if b.Name() != "graph" || b.Settings().PublicURL != s.PublicURL {
		t.Errorf("b after unusable settings: %s %+v", b.Name(), b.Settings())
	}
}
