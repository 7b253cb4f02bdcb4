package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"time"

	"github.com/lintelhq/lintel/proto/clock"
	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/builtin"
	"github.com/lintelhq/lintel/server/calendar/graph"
	"github.com/lintelhq/lintel/server/store"
)

// connectorKey is where the admin's connector settings live in the store.
const connectorKey = "connector"

// secretFileName is the client secret's file in the data directory, and
// certFileName the certificate's uploaded in the admin UI.
const (
	secretFileName = "graph-client-secret"
	certFileName   = "graph-certificate"
)

// connector is the calendar provider the server uses now. It implements
// calendar.Provider by handing each call to the current backend, so the
// admin can switch from the built-in calendar to Microsoft 365 (or change
// its credentials) without a restart, and admin.Connector for managing it.
type connector struct {
	db      *store.DB
	builtin *builtin.Calendar
	dataDir string
	log     *slog.Logger
	client  *http.Client // for Graph: counts requests for /metrics
	now     clock.Func
	health  *calendarHealth

	// notifications checks Microsoft 365 change notifications for Test
	// all and doctor (set by newApp).
	notifications func(ctx context.Context) admin.Check
	// onPublicURL is told the public URL the admin saved (set by newApp
	// when --public-url does not fix it).
	onPublicURL func(string)

	mu       gosync.RWMutex
	gen      uint64 // counts switches of current
	current  calendar.Provider
	graph    *graph.Provider // set while current is Microsoft 365
	settings admin.ConnectorSettings
}

var (
	_ calendar.Provider = (*connector)(nil)
	_ admin.Connector   = (*connector)(nil)
)

func (c *connector) provider() calendar.Provider {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.current
}

func (c *connector) Name() string { return c.provider().Name() }

// OnlineMeetings implements calendar.OnlineMeetings for the current
// backend: none of the rooms when it cannot create Teams meetings.
func (c *connector) OnlineMeetings(ctx context.Context, rooms []string) map[string]bool {
	om, ok := c.provider().(calendar.OnlineMeetings)
	if !ok {
		return nil
	}
	return om.OnlineMeetings(ctx, rooms)
}

// Events implements calendar.Provider, and notes every read's outcome in
// the calendar's health.
func (c *connector) Events(ctx context.Context, rooms []string, from, to time.Time) (map[string]calendar.RoomEvents, error) {
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
func (c *connector) Health() admin.Health { return c.health.snapshot(c.Name()) }

func (c *connector) Book(ctx context.Context, room string, b calendar.Booking) (calendar.Event, error) {
	return c.provider().Book(ctx, room, b)
}

func (c *connector) SetEnd(ctx context.Context, room, eventID string, end time.Time) (calendar.Event, error) {
	return c.provider().SetEnd(ctx, room, eventID, end)
}

func (c *connector) Release(ctx context.Context, room, eventID, comment string) error {
	return c.provider().Release(ctx, room, eventID, comment)
}

func (c *connector) Check(ctx context.Context, room string) calendar.Diagnosis {
	return c.provider().Check(ctx, room)
}

// Settings implements admin.Connector.
func (c *connector) Settings() admin.ConnectorSettings {
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
func (c *connector) Apply(ctx context.Context, s admin.ConnectorSettings, cred admin.Credentials) error {
	c.mu.RLock()
	old := c.settings
	c.mu.RUnlock()
	if err := admin.NeedsCredential(old, s, cred); err != nil {
		return err
	}
	if s.Kind == "m365" && s.Auth != "certificate" && cred.Secret != "" {
		if err := writeSecretFile(filepath.Join(c.dataDir, secretFileName), cred.Secret); err != nil {
			return fmt.Errorf("save the client secret: %w", err)
		}
	}
	if s.Kind == "m365" && len(cred.Certificate) > 0 {
		if err := graph.CheckCertificate(cred.Certificate, os.Getenv("LINTEL_GRAPH_CERT_PASSWORD")); err != nil {
			return fmt.Errorf("certificate upload: %w", err)
		}
		path := filepath.Join(c.dataDir, certFileName)
		if err := writeFileAtomic(path, bytes.NewReader(cred.Certificate)); err != nil {
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
	if c.onPublicURL != nil {
		c.onPublicURL(s.PublicURL)
	}
	s.HasSecret, s.FromFlags = false, false
	if err := c.db.PutSetting(connectorKey, s); err != nil {
		return fmt.Errorf("save the connector settings: %w", err)
	}
	return nil
}

// use switches to the backend s describes.
func (c *connector) use(ctx context.Context, s admin.ConnectorSettings) error {
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
func (c *connector) Test(ctx context.Context, rooms map[string]string) admin.Report {
	c.mu.RLock()
	p, g := c.current, c.graph
	c.mu.RUnlock()
	rep := admin.Report{Provider: p.Name(), At: c.now(), Tenant: []admin.Check{}}
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
			rep.Tenant = append(rep.Tenant, admin.Check{Name: ch.Name, Level: string(ch.Level), Detail: ch.Detail, Fix: ch.Fix})
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
func (c *connector) Places(ctx context.Context) ([]admin.Place, error) {
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
	out := make([]admin.Place, len(rooms))
	for i, r := range rooms {
		out[i] = admin.Place{Address: r.Address, Name: r.Name, Capacity: r.Capacity, Building: r.Building}
	}
	return out, nil
}

// loadConnector starts with the flags' connector when given, else the one
// saved by the admin, else the built-in calendar.
func loadConnector(ctx context.Context, c *connector, fromFlags *admin.ConnectorSettings) error {
	if fromFlags != nil {
		s := *fromFlags
		s.FromFlags = true
		if err := c.use(ctx, s); err != nil {
			return fmt.Errorf("calendar: %w", renameFields(err, flagNames))
		}
		c.mu.Lock()
		c.settings.FromFlags = true
		c.mu.Unlock()
		return nil
	}
	var saved admin.ConnectorSettings
	if err := c.db.Setting(connectorKey, &saved); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return c.use(ctx, admin.ConnectorSettings{Kind: "builtin"})
	}
	if err := c.use(ctx, saved); err != nil {
		// Start anyway, on the built-in calendar, and say why: the admin can
		// fix the connection in the UI.
		c.log.Error("cannot use the saved Microsoft 365 connection; using the built-in calendar until it is fixed", "err", renameFields(err, settingNames))
		return c.use(ctx, admin.ConnectorSettings{Kind: "builtin"})
	}
	return nil
}

// connectorFlags adds the Microsoft 365 flags to serve. The secret itself
// is never a flag (it would show in ps and shell history): it comes from a
// file or the environment variable LINTEL_GRAPH_CLIENT_SECRET.
func (c Context) connectorFlags(fs *flag.FlagSet) func() (*admin.ConnectorSettings, error) {
	kind := fs.String("calendar", c.env("LINTEL_CALENDAR", ""), "where room calendars come from: builtin or m365 (env LINTEL_CALENDAR; default: what the admin chose in the UI)")
	tenant := fs.String("graph-tenant", c.env("LINTEL_GRAPH_TENANT", ""), "Microsoft 365: directory (tenant) ID (env LINTEL_GRAPH_TENANT)")
	client := fs.String("graph-client", c.env("LINTEL_GRAPH_CLIENT", ""), "Microsoft 365: application (client) ID (env LINTEL_GRAPH_CLIENT)")
	secretFile := fs.String("graph-secret-file", c.env("LINTEL_GRAPH_SECRET_FILE", ""), "Microsoft 365: file holding the client secret's value (or set LINTEL_GRAPH_CLIENT_SECRET)")
	certFile := fs.String("graph-cert-file", c.env("LINTEL_GRAPH_CERT_FILE", ""), "Microsoft 365: certificate and key, PEM or PFX (password in LINTEL_GRAPH_CERT_PASSWORD)")
	cloud := fs.String("graph-cloud", c.env("LINTEL_GRAPH_CLOUD", "global"), "Microsoft 365 cloud: global, usgovhigh, dod, china or custom")
	authority := fs.String("graph-authority", c.env("LINTEL_GRAPH_AUTHORITY", ""), "custom cloud: the sign-in authority host")
	graphURL := fs.String("graph-url", c.env("LINTEL_GRAPH_URL", ""), "custom cloud: the Graph base URL, e.g. https://graph.example/v1.0")
	expires := fs.String("graph-secret-expires", c.env("LINTEL_GRAPH_SECRET_EXPIRES", ""), "the client secret's expiry date (YYYY-MM-DD): warns 30 days ahead")
	canary := fs.String("graph-canary", c.env("LINTEL_GRAPH_CANARY", ""), "a user mailbox Lintel must NOT be able to read, to check least privilege")
	return func() (*admin.ConnectorSettings, error) {
		switch *kind {
		case "":
			return nil, nil
		case "builtin":
			return &admin.ConnectorSettings{Kind: "builtin"}, nil
		case "m365":
		default:
			return nil, fmt.Errorf("--calendar %q is not builtin or m365", *kind)
		}
		s := &admin.ConnectorSettings{Kind: "m365", TenantID: *tenant, ClientID: *client, Cloud: *cloud,
			AuthorityHost: *authority, GraphBaseURL: *graphURL, CanaryMailbox: *canary}
		switch {
		case *certFile != "":
			s.Auth, s.CertFile = "certificate", *certFile
		case *secretFile != "":
			s.Auth, s.SecretFile = "secret", *secretFile
		case c.Getenv("LINTEL_GRAPH_CLIENT_SECRET") != "":
			s.Auth, s.SecretEnv = "secret", "LINTEL_GRAPH_CLIENT_SECRET"
		default:
			return nil, errors.New("--calendar m365 needs a credential: --graph-cert-file, --graph-secret-file or LINTEL_GRAPH_CLIENT_SECRET")
		}
		if *expires != "" {
			t, err := time.Parse("2006-01-02", *expires)
			if err != nil {
				return nil, fmt.Errorf("--graph-secret-expires %q is not a date like 2027-06-30", *expires)
			}
			s.SecretExpires = t
		}
		// Check now, before anything starts, in the flags' own words.
		cfg := graph.Config{TenantID: s.TenantID, ClientID: s.ClientID, Cloud: graph.Cloud(s.Cloud),
			AuthorityHost: s.AuthorityHost, GraphBaseURL: s.GraphBaseURL,
			CertificateFile: s.CertFile, ClientSecretFile: s.SecretFile, ClientSecretEnv: s.SecretEnv}
		if err := cfg.Validate(); err != nil {
			return nil, renameFields(err, flagNames)
		}
		return s, nil
	}
}

// flagNames and settingNames name graph.Config's fields as serve's flags
// and as the API and the admin UI (label and JSON key) call them.
var (
	flagNames = map[string]string{
		"TenantID": "--graph-tenant", "ClientID": "--graph-client", "Cloud": "--graph-cloud",
		"AuthorityHost": "--graph-authority", "GraphBaseURL": "--graph-url",
		"Credential":       "--calendar m365 (--graph-cert-file, --graph-secret-file or LINTEL_GRAPH_CLIENT_SECRET)",
		"ClientSecretFile": "--graph-secret-file", "CertificateFile": "--graph-cert-file",
		"ClientSecretEnv": "LINTEL_GRAPH_CLIENT_SECRET", "CertificatePasswordEnv": "LINTEL_GRAPH_CERT_PASSWORD",
	}
	settingNames = map[string]string{
		"TenantID": "Directory (tenant) ID (tenant_id)", "ClientID": "Application (client) ID (client_id)",
		"Cloud": "Cloud (cloud)", "AuthorityHost": "Authority host (authority_host)", "GraphBaseURL": "Graph base URL (graph_base_url)",
		"Credential": "The credential (auth)", "CertificateFile": "Certificate file (certificate_file)",
		"ClientSecretFile": "The client secret", "ClientSecretEnv": "The client secret", "CertificatePasswordEnv": "LINTEL_GRAPH_CERT_PASSWORD",
	}
)

// renameFields words graph's configuration problems with the names the
// user typed them under; any other error is returned as it is.
func renameFields(err error, names map[string]string) error {
	fes := graph.FieldErrors(err)
	if len(fes) == 0 {
		return err
	}
	msgs := make([]string, len(fes))
	for i, fe := range fes {
		name, ok := names[fe.Field]
		if !ok {
			name = fe.Field
		}
		msgs[i] = name + " " + fe.Problem
	}
	return errors.New(strings.Join(msgs, "; "))
}
