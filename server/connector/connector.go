// Package connector is where room calendars come from: the calendar
// provider the server uses, switched live between the built-in calendar
// and Microsoft 365 when the admin changes the connection, its settings
// (kept in the store) and its credentials (a client secret or certificate
// written once to a 0600 file in the data directory, never read back into
// a page, a log or an API answer).
//
// It is the one owner of the settings type: the admin server edits them
// through its Connector role, serve's flags make them (Flags), and the
// Graph emulator hands them out for demos.
package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	gosync "sync"
	"time"

	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/graph"
	"github.com/lintelhq/lintel/server/internal/atomicfile"
	"github.com/lintelhq/lintel/server/store"
)

// SettingsKey is where the admin's connector settings live in the store
// (replicas watch it to Follow).
const SettingsKey = "connector"

// secretFileName is the client secret's file in the data directory, and
// certFileName the certificate's uploaded in the admin UI.
const (
	secretFileName = "graph-client-secret"
	certFileName   = "graph-certificate"
)

// Store keeps the settings the admin saved (without the secret); *store.DB
// is one.
type Store interface {
	Setting(key string, v any) error
	PutSetting(key string, v any) error
}

// Opts configures a Connector.
type Opts struct {
	Store   Store             // required
	Builtin calendar.Provider // required: the built-in calendar
	// DataDir holds the client secret's and the uploaded certificate's
	// 0600 files.
	DataDir string
	// HTTPClient carries the Graph requests (the server's counts them for
	// /metrics). Default: http.DefaultClient.
	HTTPClient *http.Client
	Logger     *slog.Logger     // default: discard
	Now        func() time.Time // default: time.Now
	// OnReadFailure, when set, is told the status of every failed room
	// read (the metrics' failure counter).
	OnReadFailure func(calendar.Status)
	// Shared is set when several replicas share the store: a secret or
	// certificate typed into the admin UI would stay in one replica's
	// data directory, so each replica must get it as a file instead, and
	// every replica follows the settings saved through any of them
	// (Follow).
	Shared bool
}

// Connector is the calendar provider the server uses now. It implements
// calendar.Provider by handing each call to the current backend, so the
// admin can switch from the built-in calendar to Microsoft 365 (or change
// its credentials) without a restart, and admin.Connector for managing it.
type Connector struct {
	db      Store
	builtin calendar.Provider
	dataDir string
	log     *slog.Logger
	client  *http.Client
	now     func() time.Time
	health  *calendarHealth
	shared  bool

	// notifications checks Microsoft 365 change notifications for Test
	// all and doctor (SetNotificationCheck).
	notifications func(ctx context.Context) Check
	// onPublicURL is told the public URL the admin saved
	// (OnPublicURL).
	onPublicURL func(string)

	mu       gosync.RWMutex
	gen      uint64 // counts switches of current
	current  calendar.Provider
	graph    *graph.Provider // set while current is Microsoft 365
	settings Settings
	// secretFile and secretEnv are where the flags said the client
	// secret is (kept for settings saved later, which do not say).
	secretFile, secretEnv string
}

// ErrSetByReplicaFlags refuses, when several replicas share the store, a
// secret or certificate typed into the admin UI (it would stay in one
// replica's data directory) and any change of where the credential goes
// (the admin UI could otherwise send every replica's secret file
// somewhere new without knowing it).
var ErrSetByReplicaFlags = errors.New("with several replicas, the Microsoft 365 connection (calendar kind, tenant, app, cloud, Graph URL and the credential) is set by each replica's flags: LINTEL_CALENDAR, LINTEL_GRAPH_TENANT, LINTEL_GRAPH_CLIENT and the rest of the LINTEL_GRAPH_ variables, and the secret or certificate as a file (LINTEL_GRAPH_SECRET_FILE or LINTEL_GRAPH_CERT_FILE; on Kubernetes a Secret); change them there and restart the replicas one at a time. Here you can change the public URL, the canary mailbox and the secret's expiry")

var (
	_ calendar.Provider       = (*Connector)(nil)
	_ calendar.OnlineMeetings = (*Connector)(nil)
)

// New returns a Connector on the built-in calendar; Load switches it to
// the configured one.
func New(opts Opts) *Connector {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	h := newCalendarHealth(opts.Logger)
	h.onFailure = opts.OnReadFailure
	return &Connector{db: opts.Store, builtin: opts.Builtin, dataDir: opts.DataDir, log: opts.Logger,
		client: opts.HTTPClient, now: opts.Now, health: h, shared: opts.Shared,
		current: opts.Builtin, settings: Settings{Kind: "builtin"}}
}

// SetNotificationCheck sets what checks Microsoft 365 change
// notifications in Test (the subscriptions, made after the connector).
// Call it before the server serves.
func (c *Connector) SetNotificationCheck(check func(ctx context.Context) Check) {
	c.notifications = check
}

// OnPublicURL sets what is told the public URL the admin saves, when the
// server's --public-url does not fix it. Call it before the server serves.
func (c *Connector) OnPublicURL(f func(string)) { c.onPublicURL = f }

// Current returns the backend in use now (to ask it for optional
// interfaces such as calendar.Subscriber).
func (c *Connector) Current() calendar.Provider {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.current
}

// GraphConcurrency is how many Graph requests may be in flight now, 0
// when Microsoft 365 is not in use.
func (c *Connector) GraphConcurrency() int {
	c.mu.RLock()
	g := c.graph
	c.mu.RUnlock()
	if g == nil {
		return 0
	}
	return g.Concurrency()
}

func (c *Connector) Name() string { return c.Current().Name() }

// OnlineMeetings implements calendar.OnlineMeetings for the current
// backend: none of the rooms when it cannot create Teams meetings.
func (c *Connector) OnlineMeetings(ctx context.Context, rooms []string) map[string]bool {
	om, ok := c.Current().(calendar.OnlineMeetings)
	if !ok {
		return nil
	}
	return om.OnlineMeetings(ctx, rooms)
}

// Events implements calendar.Provider, and notes every read's outcome in
// the calendar's health.
func (c *Connector) Events(ctx context.Context, rooms []string, from, to time.Time) (map[string]calendar.RoomEvents, error) {
	c.mu.RLock()
	p, gen := c.current, c.gen
	c.mu.RUnlock()
	got, err := p.Events(ctx, rooms, from, to)
	c.mu.RLock()
	same := gen == c.gen
	c.mu.RUnlock()
	// A read the old backend finished after a switch says nothing about
	// the new one.
	if ctx.Err() == nil && same {
		c.health.record(c.now(), rooms, got, err)
	}
	return got, err
}

// Health implements admin.Connector.
func (c *Connector) Health() Health { return c.health.snapshot(c.Name()) }

func (c *Connector) Book(ctx context.Context, room string, b calendar.Booking) (calendar.Event, error) {
	return c.Current().Book(ctx, room, b)
}

func (c *Connector) SetEnd(ctx context.Context, room, eventID string, end time.Time) (calendar.Event, error) {
	return c.Current().SetEnd(ctx, room, eventID, end)
}

func (c *Connector) Release(ctx context.Context, room, eventID, comment string) error {
	return c.Current().Release(ctx, room, eventID, comment)
}

func (c *Connector) Check(ctx context.Context, room string) calendar.Diagnosis {
	return c.Current().Check(ctx, room)
}

// Settings implements admin.Connector.
func (c *Connector) Settings() Settings {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s := c.settings
	_, err := os.Stat(filepath.Join(c.dataDir, secretFileName))
	s.HasSecret = err == nil
	return s
}

// Apply implements admin.Connector: it builds the new backend first and
// switches only when that worked, then saves the settings. A certificate
// uploaded in the admin UI is checked, then kept in the data directory
// (0600) and used from there.
func (c *Connector) Apply(ctx context.Context, s Settings, cred Credentials) error {
	c.mu.RLock()
	old := c.settings
	c.mu.RUnlock()
	if c.shared && (cred.Secret != "" || len(cred.Certificate) > 0 || NeedsCredential(old, s, Credentials{}) != nil ||
		old.Kind != s.Kind && !(old.Kind == "" && s.Kind == "builtin")) {
		return ErrSetByReplicaFlags
	}
	if err := NeedsCredential(old, s, cred); err != nil {
		return err
	}
	if s.Kind == "m365" && s.Auth != "certificate" && cred.Secret != "" {
		if err := atomicfile.WriteSecret(filepath.Join(c.dataDir, secretFileName), cred.Secret); err != nil {
			return fmt.Errorf("save the client secret: %w", err)
		}
		// The typed secret replaces one the flags pointed at.
		s.SecretFile, s.SecretEnv = filepath.Join(c.dataDir, secretFileName), ""
	}
	if s.Kind == "m365" && len(cred.Certificate) > 0 {
		if err := graph.CheckCertificate(cred.Certificate, os.Getenv("LINTEL_GRAPH_CERT_PASSWORD")); err != nil {
			return fmt.Errorf("certificate upload: %w", err)
		}
		path := filepath.Join(c.dataDir, certFileName)
		if err := atomicfile.Write(path, bytes.NewReader(cred.Certificate)); err != nil {
			return fmt.Errorf("save the certificate: %w", err)
		}
		s.Auth, s.CertFile = "certificate", path
	}
	if s.PublicURL != "" {
		u, err := url.Parse(s.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("public URL %q: give the base URL Microsoft 365 reaches, e.g. https://lintel.contoso.com", s.PublicURL)
		}
	}
	if err := c.use(ctx, s); err != nil {
		return renameFields(err, settingNames)
	}
	if cred.Secret != "" {
		c.mu.Lock()
		c.secretFile, c.secretEnv = "", ""
		c.mu.Unlock()
	}
	if c.onPublicURL != nil {
		c.onPublicURL(s.PublicURL)
	}
	s.HasSecret, s.FromFlags = false, false
	if err := c.db.PutSetting(SettingsKey, s); err != nil {
		return fmt.Errorf("save the connector settings: %w", err)
	}
	return nil
}

// use switches to the backend s describes.
func (c *Connector) use(ctx context.Context, s Settings) error {
	switch s.Kind {
	case "", "builtin":
		s.Kind = "builtin"
		c.mu.Lock()
		c.current, c.graph, c.settings = c.builtin, nil, s
		c.gen++
		c.health.reset()
		c.mu.Unlock()
		c.log.Info("calendar: using the built-in calendar")
		return nil
	case "m365":
	default:
		return fmt.Errorf("calendar kind %q is not builtin or m365", s.Kind)
	}
	cfg := graph.Config{
		TenantID: s.TenantID, ClientID: s.ClientID, Cloud: graph.Cloud(s.Cloud),
		AuthorityHost: s.AuthorityHost, GraphBaseURL: s.GraphBaseURL,
		SecretExpires: s.SecretExpires, CanaryMailbox: s.CanaryMailbox,
		HTTPClient: c.client, Logger: c.log.With("component", "graph"), Now: c.now,
	}
	if s.Auth == "certificate" {
		cfg.CertificateFile = s.CertFile
		if os.Getenv("LINTEL_GRAPH_CERT_PASSWORD") != "" { // only an encrypted PFX or key has one
			cfg.CertificatePasswordEnv = "LINTEL_GRAPH_CERT_PASSWORD"
		}
	} else if s.SecretFile != "" || s.SecretEnv != "" {
		cfg.ClientSecretFile, cfg.ClientSecretEnv = s.SecretFile, s.SecretEnv
	} else if file, env := c.flagSecret(); file != "" || env != "" {
		// Saved settings after a start with the secret's flags: the
		// secret is still where the flags said.
		cfg.ClientSecretFile, cfg.ClientSecretEnv = file, env
	} else if c.shared {
		return errors.New("no client secret on this replica: give it to every replica as a file (--graph-secret-file, LINTEL_GRAPH_SECRET_FILE)")
	} else {
		cfg.ClientSecretFile = filepath.Join(c.dataDir, secretFileName)
		if _, err := os.Stat(cfg.ClientSecretFile); errors.Is(err, os.ErrNotExist) {
			return errors.New("no client secret is stored yet: enter the secret's Value")
		}
	}
	p, err := graph.New(ctx, cfg)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.current, c.graph, c.settings = p, p, s
	c.gen++
	c.health.reset()
	c.mu.Unlock()
	c.log.Info("calendar: using Microsoft 365", "config", cfg)
	return nil
}

// Test implements admin.Connector.
func (c *Connector) Test(ctx context.Context, rooms map[string]string) Report {
	c.mu.RLock()
	p, g := c.current, c.graph
	c.mu.RUnlock()
	rep := Report{Provider: p.Name(), At: c.now(), Tenant: []Check{}}
	byAddr := map[string][]string{} // calendar address -> room ids
	var addrs []string
	for id, addr := range rooms {
		if byAddr[addr] == nil {
			addrs = append(addrs, addr)
		}
		byAddr[addr] = append(byAddr[addr], id)
	}
	var diags []calendar.Diagnosis
	if g != nil {
		r := g.Doctor(ctx, addrs)
		rep.Roles = r.Tenant.Roles
		for _, ch := range r.Tenant.Checks {
			rep.Tenant = append(rep.Tenant, Check{Name: ch.Name, Level: string(ch.Level), Detail: ch.Detail, Fix: ch.Fix})
		}
		diags = r.Rooms
	} else {
		for _, addr := range addrs {
			diags = append(diags, p.Check(ctx, addr))
		}
	}
	if g != nil && c.notifications != nil {
		rep.Tenant = append(rep.Tenant, c.notifications(ctx))
	}
	for i, d := range diags {
		if d.Room == "" && i < len(addrs) {
			d.Room = addrs[i]
		}
		for _, id := range byAddr[d.Room] {
			dd := d
			dd.Room = id
			rep.Rooms = append(rep.Rooms, dd)
		}
	}
	return rep
}

// Places implements admin.Connector.
func (c *Connector) Places(ctx context.Context) ([]Place, error) {
	c.mu.RLock()
	g := c.graph
	c.mu.RUnlock()
	if g == nil {
		return nil, errors.New("rooms can be imported only from Microsoft 365: set up the connection first")
	}
	rooms, err := g.Rooms(ctx)
	if errors.Is(err, calendar.ErrDenied) {
		return nil, fmt.Errorf("places: Microsoft 365 refused to list rooms: %w", err)
	}
	if err != nil {
		return nil, err
	}
	out := make([]Place, len(rooms))
	for i, r := range rooms {
		out[i] = Place{Address: r.Address, Name: r.Name, Capacity: r.Capacity, Building: r.Building}
	}
	return out, nil
}

// Load starts with the flags' settings when given, else the ones saved by
// the admin, else the built-in calendar. Saved settings that no longer
// work are logged and the built-in calendar is used, so the admin can fix
// them in the UI; flags that do not work are an error, worded with the
// flags' names.
func (c *Connector) Load(ctx context.Context, fromFlags *Settings) error {
	if fromFlags != nil {
		s := *fromFlags
		s.FromFlags = true
		c.mu.Lock()
		c.secretFile, c.secretEnv = s.SecretFile, s.SecretEnv
		c.mu.Unlock()
		if err := c.use(ctx, s); err != nil {
			return fmt.Errorf("calendar: %w", renameFields(err, flagNames))
		}
		c.mu.Lock()
		c.settings.FromFlags = true
		c.mu.Unlock()
		return nil
	}
	var saved Settings
	if err := c.db.Setting(SettingsKey, &saved); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return c.use(ctx, Settings{Kind: "builtin"})
	}
	if err := c.use(ctx, saved); err != nil {
		// Start anyway, on the built-in calendar, and say why: the admin can
		// fix the connection in the UI.
		c.log.Error("cannot use the saved Microsoft 365 connection; using the built-in calendar until it is fixed", "err", renameFields(err, settingNames))
		return c.use(ctx, Settings{Kind: "builtin"})
	}
	return nil
}

// flagSecret is where the flags said the client secret is ("" when they
// did not, or a secret typed since replaced it).
func (c *Connector) flagSecret() (file, env string) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.secretFile, c.secretEnv
}

// Follow switches to the settings saved through another replica, when
// they differ from those in use (they come as a change of the stored
// settings). Settings this replica cannot use (its secret file is
// missing, say) are logged and the current backend stays.
func (c *Connector) Follow(ctx context.Context) {
	var saved Settings
	if err := c.db.Setting(SettingsKey, &saved); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			c.log.Error("cannot read the connector settings saved by another replica", "err", err)
		}
		return
	}
	c.mu.RLock()
	cur := c.settings
	c.mu.RUnlock()
	cur.HasSecret, cur.FromFlags = false, false
	a, _ := json.Marshal(saved)
	b, _ := json.Marshal(cur)
	if bytes.Equal(a, b) {
		return // this replica's own save, or nothing new
	}
	if err := c.use(ctx, saved); err != nil {
		c.log.Error("another replica saved calendar settings this replica cannot use; it keeps the current ones", "err", renameFields(err, settingNames))
		return
	}
	if c.onPublicURL != nil {
		c.onPublicURL(saved.PublicURL)
	}
	c.log.Info("calendar: following the settings saved through another replica", "kind", saved.Kind)
}
