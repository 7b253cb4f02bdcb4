package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/proto/clock"
	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/alert"
	"github.com/lintelhq/lintel/server/board"
	"github.com/lintelhq/lintel/server/booking"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/builtin"
	"github.com/lintelhq/lintel/server/clientaddr"
	"github.com/lintelhq/lintel/server/connector"
	"github.com/lintelhq/lintel/server/devices"
	"github.com/lintelhq/lintel/server/fleet"
	"github.com/lintelhq/lintel/server/hub"
	"github.com/lintelhq/lintel/server/internal/atomicfile"
	"github.com/lintelhq/lintel/server/ratelimit"
	"github.com/lintelhq/lintel/server/remote"
	"github.com/lintelhq/lintel/server/store"
	"github.com/lintelhq/lintel/server/sync"
	"github.com/lintelhq/lintel/server/tablet"
)

// config is what serve needs; flags fill it.
type config struct {
	// Etcd, when set, puts the store on etcd, shared by several
	// replicas (--store etcd); else it is a bbolt file in DataDir.
	Etcd *store.EtcdOpts
	// BoardRefresh is how often floor boards read their floor (default
	// 10 s; tests shorten it).
	BoardRefresh time.Duration
	// TabletOfflineGrace is how long a tablet's page may be cut from the
	// server before it says so (default 30 s; tests shorten it).
	TabletOfflineGrace time.Duration
	// MaxTablets bounds the tablets served at once (--max-tablets).
	MaxTablets int
	// ReplicaID names this replica among those on etcd.
	ReplicaID string
	Listen    string
	DataDir   string
	// Init creates a new store when there is none (or an empty file);
	// without it (or Demo) a missing store is an error, so that a lost
	// file never silently becomes an empty store.
	Init bool
	Demo bool
	Poll time.Duration
	// StaleAfter: a room whose calendar was last read longer ago than
	// this shows as unknown on its panels (sent in its rules).
	StaleAfter time.Duration
	LogLevel   slog.Level
	LogJSON    bool
	// PublicURL is the admin URL panels show in their pairing QR code.
	// Default: http:// + the listen address.
	PublicURL string
	// Notifications: Microsoft 365 sends change notifications to
	// PublicURL + /graph/notifications (set when --public-url is given:
	// the default URL is not reachable from the internet).
	Notifications bool
	// SafetyPoll is how often a room with change notifications is still
	// read, to repair a lost notification.
	SafetyPoll time.Duration
	// TLS: a certificate and key (reloaded when they change), or a
	// self-signed development certificate.
	TLSCert, TLSKey string
	DevTLS          bool
	// OfflineAfter: a panel not seen for this long is flagged.
	OfflineAfter time.Duration
	// Connector, when set by flags, wins over the admin's saved choice.
	Connector *connector.Settings
	// M365Sim runs a Microsoft Graph emulator in-process and reads the
	// demo rooms through the real Microsoft 365 connector.
	M365Sim bool
	// StartSim starts that emulator (default: the build's; tests set it).
	StartSim simStarter
	// Now is the clock every part of the server reads the time of day
	// from (clock.FromEnv: the machine's, or LINTEL_TEST_NOW's).
	Now clock.Func
	// AlertNet is how alerts reach SMTP relays and webhooks (the zero
	// value: the system's dialer and CAs; tests point it at loopback).
	AlertNet alert.Net
	// OIDC is the Entra ID sign-in set by flags (nil: what the admin saved).
	OIDC *admin.OIDCSettings
	// OIDCClient, when set, is the HTTP client for the identity provider
	// (tests trust their provider's certificate with it).
	OIDCClient *http.Client
	// Panel connection caps (hub.Opts); zero takes the hub's default.
	// MaxConns is lowered to fit the file descriptor limit.
	MaxConns, MaxUnpaired, MaxUnpairedPerAddr int
	UnpairedLifetime                          time.Duration
	// Retention of what grows with use; zero takes the store's defaults.
	Retention store.Retention
	// TrustedProxy: the reverse proxies whose X-Forwarded-For (or
	// Forwarded) tells the client's address (nil: none).
	TrustedProxy *clientaddr.Resolver
	// HTTP are the server's timeouts; zero takes the defaults.
	HTTP httpTimeouts
	// MetricsToken, when set, is the bearer token /metrics asks for.
	MetricsToken string
	// MetricsListen, when set, serves /metrics there and not on Listen.
	MetricsListen string
	// FirmwareKey is a PEM ed25519 public key that uploaded firmware
	// builds must verify with ("": not checked here; panels check).
	FirmwareKey string
}

func serve(ctx context.Context, c Context, args []string) error {
	fs := c.flags("serve")
	var cfg config
	fs.StringVar(&cfg.Listen, "listen", c.env("LINTEL_LISTEN", "127.0.0.1:8080"), "address to serve panels and the admin on (env LINTEL_LISTEN)")
	data := c.dataFlag(fs)
	fs.BoolVar(&cfg.Init, "init", false, "create a new, empty store when the data directory has none (a new installation); without it a missing or empty store is an error")
	fs.BoolVar(&cfg.Demo, "demo", false, "seed the built-in calendar with demo rooms and meetings (only into an empty store), create the admin \"admin\" and print its password at every start")
	fs.DurationVar(&cfg.Poll, "poll", 15*time.Second, "how often to read every room's calendar")
	fs.DurationVar(&cfg.StaleAfter, "stale-after", 30*time.Minute, "panels show a room's schedule as unknown (never free) once its calendar was last read longer ago than this (whole minutes, at least 1m)")
	fs.StringVar(&cfg.PublicURL, "public-url", c.env("LINTEL_PUBLIC_URL", ""), "the server's URL as panels' users and Microsoft Graph reach it, for pairing QR codes and change notifications to {public-url}/graph/notifications (env LINTEL_PUBLIC_URL; default http://<listen address>, and rooms are polled)")
	fs.DurationVar(&cfg.SafetyPoll, "safety-poll", 15*time.Minute, "with change notifications, how often each room is still read to repair a lost notification (spread evenly)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", c.env("LINTEL_TLS_CERT", ""), "serve HTTPS/WSS with this PEM certificate (reloaded when it changes; env LINTEL_TLS_CERT)")
	fs.StringVar(&cfg.TLSKey, "tls-key", c.env("LINTEL_TLS_KEY", ""), "the certificate's PEM private key (env LINTEL_TLS_KEY)")
	fs.BoolVar(&cfg.DevTLS, "dev-tls", false, "serve HTTPS/WSS with a self-signed certificate kept in the data directory (for trials; panels pin its fingerprint)")
	fs.DurationVar(&cfg.OfflineAfter, "offline-after", 10*time.Minute, "flag a panel not seen for this long")
	fs.BoolVar(&cfg.M365Sim, "m365-sim", false, "read the demo rooms from a Microsoft Graph emulator run in-process, through the real Microsoft 365 connector")
	fs.IntVar(&cfg.MaxConns, "max-conns", hub.DefaultMaxConns, "most panel connections at once (lowered to fit the open file limit)")
	fs.IntVar(&cfg.MaxUnpaired, "max-unpaired", hub.DefaultMaxUnpaired, "most connections without a credential (unpaired panels) at once; the rest of --max-conns is kept for paired panels")
	fs.IntVar(&cfg.MaxTablets, "max-tablets", tablet.DefaultMaxTablets, "most tablets served at once as door panels (/tablet); each runs a panel in the server and holds its frame: about 4 MB at 1280x800")
	fs.IntVar(&cfg.MaxUnpairedPerAddr, "max-unpaired-per-addr", hub.DefaultMaxUnpairedPerAddr, "most connections without a credential from one address (IPv6: one /64)")
	fs.DurationVar(&cfg.UnpairedLifetime, "unpaired-lifetime", hub.DefaultUnpairedLifetime, "an unpaired panel's connection (and its pairing code) lasts this long; the panel then reconnects for a new code")
	fs.DurationVar(&cfg.Retention.Activity, "retention-activity", store.DefaultActivityRetention, "keep the activity log, the meetings recorded for utilization and built-in calendar events after they ended this long")
	fs.DurationVar(&cfg.Retention.Requests, "retention-requests", store.DefaultRequestRetention, "keep panel requests' idempotency records and check-ins this long")
	trustedProxy := fs.String("trusted-proxy", c.env("LINTEL_TRUSTED_PROXY", ""), "comma-separated CIDRs of reverse proxies (e.g. 127.0.0.1/32,::1): only from these is the client's address taken from X-Forwarded-For or Forwarded (env LINTEL_TRUSTED_PROXY)")
	metricsTokenFile := fs.String("metrics-token-file", c.env("LINTEL_METRICS_TOKEN_FILE", ""), "/metrics asks for the bearer token in this file (created 0600 with a random token when missing; env LINTEL_METRICS_TOKEN_FILE)")
	fs.StringVar(&cfg.MetricsListen, "metrics-listen", c.env("LINTEL_METRICS_LISTEN", ""), "serve /metrics on this address (e.g. 127.0.0.1:9090) instead of --listen (env LINTEL_METRICS_LISTEN)")
	m365 := connector.Flags(fs, c.Getenv)
	oidcFlags := c.oidcFlags(fs)
	fs.StringVar(&cfg.FirmwareKey, "firmware-key", c.env("LINTEL_FIRMWARE_KEY", ""), "PEM ed25519 public key panel firmware uploads must verify with (env LINTEL_FIRMWARE_KEY; default: not checked here, panels check)")
	storeFlags := c.storeFlags(fs, true)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.DataDir = *data
	var err error
	if cfg.Etcd, err = storeFlags.etcdOpts(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	cfg.ReplicaID = *storeFlags.replicaID
	if cfg.TrustedProxy, err = clientaddr.Parse(*trustedProxy); err != nil {
		return fmt.Errorf("serve: --trusted-proxy: %w", err)
	}
	if *metricsTokenFile != "" {
		if cfg.MetricsToken, err = metricsToken(*metricsTokenFile); err != nil {
			return fmt.Errorf("serve: --metrics-token-file: %w", err)
		}
	}
	if cfg.Connector, err = m365(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if cfg.OIDC, err = oidcFlags(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("serve: --log-level: %w", err)
	}
	if cfg.StaleAfter < time.Minute || cfg.StaleAfter > 24*time.Hour {
		return fmt.Errorf("serve: --stale-after must be from 1m to 24h, e.g. 30m, not %s", cfg.StaleAfter)
	}
	switch *logFormat {
	case "text":
	case "json":
		cfg.LogJSON = true
	default:
		return fmt.Errorf("serve: --log-format must be text or json, not %q", *logFormat)
	}
	log := newLogger(c.Stderr, cfg)
	now, moved, err := clock.FromEnv(c.Getenv)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if moved {
		log.Warn("the clock is moved by "+clock.Env+": meetings and bookings use that time of day", "now", now().Format(time.RFC3339))
	}
	cfg.Now = now
	tuneGC(c.Getenv, log)

	scheme := "http"
	if cfg.TLSCert != "" || cfg.DevTLS {
		scheme = "https"
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return fmt.Errorf("serve: --tls-cert and --tls-key go together")
	}
	// The demo's files (the CLI's API token, the admin's password) are on
	// disk before the port opens: scripts such as deploy/dev/run.sh wait
	// for the port or /readyz and then read them.
	var demoNote string
	if cfg.Demo {
		if demoNote, err = prepareDemo(cfg, c.Program); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	// Listen before the app is made: the address is known (port 0 picks
	// one) before the pairing URL is made from it.
	listen := c.Listen
	if listen == nil {
		listen = net.Listen
	}
	ln, err := listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", cfg.Listen, err)
	}
	defer ln.Close()
	cfg.Notifications = cfg.PublicURL != ""
	if cfg.PublicURL == "" {
		cfg.PublicURL = scheme + "://" + displayAddr(ln.Addr())
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer a.Close()
	srv := newHTTPServer(a.handler, cfg.HTTP, log)
	switch {
	case cfg.TLSCert != "":
		reloader, err := newCertReloader(cfg.TLSCert, cfg.TLSKey, log)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		srv.TLSConfig = &tls.Config{GetCertificate: reloader.GetCertificate, MinVersion: tls.VersionTLS12}
	case cfg.DevTLS:
		host, _, _ := net.SplitHostPort(cfg.Listen)
		cert, fingerprint, err := devCertificate(cfg.DataDir, []string{host})
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		fmt.Fprintf(c.Stdout, "dev-tls: self-signed certificate, SHA-256 fingerprint %s (panels: --pin-sha256 %s)\n", fingerprint, fingerprint)
	}
	url := scheme + "://" + displayAddr(ln.Addr())
	fmt.Fprintf(c.Stdout, "lintel-server %s: admin at %s/  panels connect to %s/ws\n", Version, url, strings.Replace(url, "http", "ws", 1))
	fmt.Fprintf(c.Stdout, "a tablet's browser is a panel at %s/tablet, a lobby screen a floor board at %s/board\n", url, url)
	fmt.Fprint(c.Stdout, demoNote+a.demoNote)

	// The healthcheck command (the container's HEALTHCHECK) reads where
	// this server listens and whether it speaks TLS from here, so that it
	// follows --listen, --tls-cert and --dev-tls without being told.
	healthFile := filepath.Join(cfg.DataDir, healthURLFile)
	if err := atomicfile.Write(healthFile, strings.NewReader(loopbackURL(scheme, ln.Addr())+"/healthz\n")); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer os.Remove(healthFile)

	errc := make(chan error, 2)
	if cfg.MetricsListen != "" {
		mln, err := listen("tcp", cfg.MetricsListen)
		if err != nil {
			return fmt.Errorf("serve: --metrics-listen %s: %w", cfg.MetricsListen, err)
		}
		defer mln.Close()
		msrv := newHTTPServer(a.metricsHandler, cfg.HTTP, log)
		defer msrv.Close()
		fmt.Fprintf(c.Stdout, "metrics at http://%s/metrics\n", displayAddr(mln.Addr()))
		go func() { errc <- fmt.Errorf("metrics: %w", msrv.Serve(mln)) }()
	}
	a.start(ctx)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	a.serving.Store(false)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The listener closes first, so that panels told to go away do not
	// reconnect to this server (thousands of them would keep Shutdown
	// waiting); websockets are hijacked, so Shutdown does not wait for
	// them: the hub closes them meanwhile.
	shutdown := make(chan error, 1)
	go func() { shutdown <- srv.Shutdown(shutdownCtx) }()
	began := time.Now()
	a.tablets.Close()
	a.hub.Close()
	log.Info("panels disconnected", "took", time.Since(began).Round(time.Millisecond))
	a.wait()
	log.Info("background work stopped", "took", time.Since(began).Round(time.Millisecond))
	if err := <-shutdown; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	return nil
}

// newLogger makes the server's logger: text or JSON, with each cause
// limited to a few lines a minute (ratelimit.Log), so that a failure
// repeated for every request (a full disk) cannot fill the disk further.
func newLogger(w interface{ Write([]byte) (int, error) }, cfg config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogJSON {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(ratelimit.Log(h, ratelimit.DefaultLogBurst, ratelimit.DefaultLogEvery))
}

// healthURLFile, in the data directory, holds the URL of the running
// server's /healthz on loopback.
const healthURLFile = "healthz.url"

// loopbackURL is the server's own URL from the machine it runs on: a
// listener on every address is reached on 127.0.0.1 (or ::1).
func loopbackURL(scheme string, a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return scheme + "://" + a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip.To4() == nil && ip.String() != "::" {
			host = "::1"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// displayAddr turns a listener's address into one a browser can open.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// app is the whole server, wired: what serve runs and what tests drive
// in-process.
type app struct {
	db        *store.DB
	provider  *connector.Connector
	devices   *devices.Service
	pairer    *devices.Pairer
	remote    *remote.Remote // phone pages of meetings booked at a panel
	hub       *hub.Hub
	tablets   *tablet.Tablets // tablets' browsers as door panels
	sync      *sync.Syncer
	subs      *sync.Subscriptions // Graph change notifications
	replicas  *store.Replicas     // with --store etcd: this replica's rooms
	booking   *booking.Service
	admin     *admin.Server
	handler   http.Handler
	demoNote  string // what --m365-sim prints at the start: the emulator's address
	log       *slog.Logger
	now       clock.Func
	wg        gosync.WaitGroup // the background loops start starts
	metrics   *metrics
	connector *connector.Connector
	sim       simulator // the Graph emulator, with --m365-sim
	alerts    *alerts
	settings  *fleet.Settings // the panels' display settings
	firmware  *fleet.Firmware // firmware builds and rollouts

	offlineAfter time.Duration
	retention    store.Retention
	// metricsHandler serves /metrics (behind the bearer token, if any):
	// in handler, or on its own listener with --metrics-listen.
	metricsHandler http.Handler
	// serving is set while the hub serves panels: from start until
	// shutdown begins. /readyz answers 200 only then.
	serving atomic.Bool
}

func newApp(ctx context.Context, cfg config, log *slog.Logger) (*app, error) {
	var db *store.DB
	var err error
	if cfg.Etcd != nil {
		db, err = store.OpenEtcd(ctx, *cfg.Etcd)
	} else {
		db, err = openStore(cfg.DataDir, cfg.Init || cfg.Demo)
	}
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = clock.Real
	}
	a := &app{db: db, log: log, now: cfg.Now, offlineAfter: cfg.OfflineAfter, retention: cfg.Retention}
	if a.offlineAfter <= 0 {
		a.offlineAfter = 10 * time.Minute
	}
	a.metrics = newMetrics(a)
	cal := builtin.New(db)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64 // as many as Graph requests in flight, at most
	if cfg.M365Sim {
		start := cfg.StartSim
		if start == nil {
			start = startM365Sim // an error in a build without the "sim" tag
		}
		sim, settings, note, err := start(db, cfg.DataDir, cfg.Now)
		if err != nil {
			db.Close()
			return nil, err
		}
		a.sim = sim
		a.demoNote += note
		transport.TLSClientConfig = sim.TLSConfig()
		cfg.Connector = &settings
	}
	a.connector = connector.New(connector.Opts{
		Shared:        cfg.Etcd != nil,
		Store:         db,
		Builtin:       cal,
		DataDir:       cfg.DataDir,
		HTTPClient:    &http.Client{Transport: countingTransport{next: transport, m: a.metrics}},
		Logger:        log.With("component", "calendar"),
		Now:           cfg.Now,
		OnReadFailure: a.metrics.observeReadFailure,
	})
	if err := a.connector.Load(ctx, cfg.Connector); err != nil {
		a.closeSim()
		db.Close()
		return nil, err
	}
	a.provider = a.connector
	a.devices = devices.New(db, devices.Opts{Logger: log.With("component", "devices"), Now: cfg.Now})
	a.pairer = devices.NewPairer(a.devices, cfg.PublicURL)
	panels := newPanelHandler(a)
	a.settings = fleet.NewSettings(db, log.With("component", "fleet"))
	a.hub = hub.New(hub.Opts{
		Greet:        a.settings.Greet,
		Auth:         deviceAuth{a.devices},
		Pairer:       a.pairer,
		Handler:      panels,
		Logger:       log.With("component", "hub"),
		OnConnect:    panels.connected,
		OnDisconnect: panels.disconnected,
		States:       syncStates{a},
		Now:          cfg.Now,

		MaxConns:           fitConns(cfg.MaxConns, log),
		MaxUnpaired:        cfg.MaxUnpaired,
		MaxUnpairedPerAddr: cfg.MaxUnpairedPerAddr,
		UnpairedLifetime:   cfg.UnpairedLifetime,
		ClientAddr:         cfg.TrustedProxy.Addr,
	})
	a.settings.SetPanels(a.hub)
	if a.firmware, err = newFirmware(a, cfg); err != nil {
		a.closeSim()
		db.Close()
		return nil, err
	}
	var publisher sync.Publisher = a.hub
	var owns func(string) bool
	var forward func(string)
	var lockRoom func(context.Context, string) (func(), error)
	if cfg.Etcd != nil {
		// Several replicas: each reads its share of rooms, states reach
		// every replica's panels through the store (followStore).
		publisher = noPublish{}
		owns = func(room string) bool { return a.replicas.Owns(room) }
		forward = func(room string) { a.replicas.Forward(room) }
		// Microsoft 365 has no transaction: one replica at a time
		// checks the room and books (the built-in calendar needs no
		// lock: booking.Opts.Transactional).
		lockRoom = func(ctx context.Context, room string) (func(), error) { return a.replicas.LockRoom(ctx, room) }
	}
	a.sync = sync.New(sync.Opts{
		// A meeting booked at a panel gets its phone page (set below,
		// once booking exists; sync reads it only once running).
		Remote: func(room, meeting string) string {
			if a.remote == nil {
				return ""
			}
			return a.remote.MeetingURL(room, meeting)
		},
		Book: func(room, timeZone string, t time.Time) string {
			if a.remote == nil {
				return ""
			}
			return a.remote.BookURL(room, timeZone, t)
		},
		Owns:          owns,
		Forward:       forward,
		Provider:      a.provider,
		Store:         db,
		Publisher:     publisher,
		Meetings:      db,
		Logger:        log.With("component", "sync"),
		Interval:      cfg.Poll,
		StaleAfter:    cfg.StaleAfter,
		Now:           cfg.Now,
		Observe:       a.metrics.observeSync,
		SafetyPoll:    cfg.SafetyPoll,
		ObserveNotify: func(d time.Duration) { a.metrics.notifyDelay.Observe(d.Seconds()) },
		Subscribed:    func(id string) bool { return a.subs.Subscribed(id) },
	})
	// --public-url wins; else the public URL saved on the Connection page.
	publicURL := a.connector.Settings().PublicURL
	if cfg.Notifications {
		publicURL = cfg.PublicURL
	}
	a.subs, err = sync.NewSubscriptions(sync.SubscriptionOpts{
		Subscriber: func() calendar.Subscriber {
			s, _ := a.connector.Current().(calendar.Subscriber)
			return s
		},
		Store:     db,
		Syncer:    a.sync,
		PublicURL: publicURL,
		Logger:    log.With("component", "subscriptions"),
		Now:       cfg.Now,
	})
	if err != nil {
		a.closeSim()
		db.Close()
		return nil, err
	}
	a.booking = booking.New(booking.Opts{
		Provider: a.provider,
		Store:    db,
		Sync:     a.sync,
		States:   a.sync,
		Logger:   log.With("component", "booking"),
		Observe:  a.metrics.observeRequest,
		Now:      cfg.Now,
		LockRoom: lockRoom,
		// The built-in calendar checks a booking inside its store
		// transaction: a crowd of panels is answered at once.
		Transactional: func() bool { return a.connector.Settings().Kind != "m365" },
	})
	a.sync.SetCheckIns(a.booking)
	a.remote, err = remote.New(remote.Opts{
		Store: db, States: a.sync, Booking: a.booking,
		PublicURL:  func() string { return cfg.PublicURL },
		ClientAddr: cfg.TrustedProxy.Addr,
		Refresh:    a.sync.Refresh,
		Logger:     log.With("component", "remote"),
		Now:        cfg.Now,
	})
	if err != nil {
		a.closeSim()
		db.Close()
		return nil, err
	}
	a.admin, err = admin.New(admin.Opts{
		Store:     db,
		Devices:   a.devices,
		Connector: a.connector,
		Provider:  a.provider,
		Builtin:   cal,
		Sync:      a.sync,
		Panels:    fleetPanels{a.hub, a.settings},
		Pairer:    a.pairer,
		Logger:    log.With("component", "admin"),

		OfflineAfter: a.offlineAfter,
		Now:          cfg.Now,
		OIDC:         cfg.OIDC,
		OIDCClient:   cfg.OIDCClient,
		DataDir:      cfg.DataDir,
		PublicURL:    cfg.PublicURL,
		ClientAddr:   cfg.TrustedProxy.Addr,
		Retention:    cfg.Retention.Activity,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	if a.alerts, err = newAlerts(a, cfg); err != nil {
		db.Close()
		return nil, err
	}
	a.admin.SetAlerts(a.alerts)
	a.connector.SetNotificationCheck(notificationCheck(a.subs, &http.Client{Timeout: 10 * time.Second}))
	if !cfg.Notifications {
		a.connector.OnPublicURL(a.subs.SetPublicURL)
	}
	a.admin.SetPanelSettings(a.settings)
	a.admin.SetFirmware(a.firmware)
	if cfg.Etcd != nil {
		if err := a.joinReplicas(ctx, cfg.ReplicaID); err != nil {
			a.closeSim()
			db.Close()
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", a.hub)
	mux.Handle("GET /firmware/{version}/{arch...}", a.firmware.DownloadHandler(deviceAuth{a.devices}))
	// Graph's change notifications: these two paths only, no session.
	mux.HandleFunc(sync.NotificationsPath, a.subs.ServeNotifications)
	mux.HandleFunc(sync.LifecyclePath, a.subs.ServeLifecycle)
	mux.HandleFunc("GET /healthz", a.health)
	mux.HandleFunc("GET /readyz", a.ready)
	metricsMux := mux
	if cfg.MetricsListen != "" {
		metricsMux = http.NewServeMux()
	}
	metricsMux.Handle("GET /metrics", requireBearer(cfg.MetricsToken, a.metrics.handler()))
	a.metricsHandler = guard(metricsMux)
	mux.Handle(remote.Path, a.remote.Handler()) // phone pages: the link is the capability, no session
	boardHandler := board.New(board.Opts{
		Pair: a.pairer.Pair, Authenticate: a.devices.Authenticate, Seen: a.devices.Seen, Rooms: db, States: a.sync,
		ClientAddr: cfg.TrustedProxy.Addr, Refresh: cfg.BoardRefresh, Logger: log.With("component", "board"), Now: cfg.Now,
	}).Handler()
	mux.Handle(board.Path, boardHandler) // the floor board: paired like a panel, no session
	mux.Handle(board.Path+"/", boardHandler)
	// A tablet's browser as a door panel: the panel's own software runs
	// here for it, connected to the hub inside the process.
	if a.tablets, err = tablet.New(tablet.Opts{
		Panels: a.hub, ClientAddr: cfg.TrustedProxy.Addr, Firmware: "tablet " + Version,
		MaxTablets: cfg.MaxTablets, OfflineGrace: cfg.TabletOfflineGrace,
		Logger: log.With("component", "tablet"), Now: cfg.Now,
	}); err != nil {
		a.closeSim()
		db.Close()
		return nil, err
	}
	tabletHandler := a.tablets.Handler()
	mux.Handle(tablet.Path, tabletHandler) // paired like a panel, no session
	mux.Handle(tablet.Path+"/", tabletHandler)
	mux.Handle("/", a.admin)
	a.handler = guard(mux)
	return a, nil
}

// start runs the background loops until ctx ends: calendar polling,
// auto-release of no-shows, panel health, and pruning what is past its
// retention.
func (a *app) start(ctx context.Context) {
	a.serving.Store(true)
	if a.replicas != nil {
		a.wg.Add(1)
		go func() { defer a.wg.Done(); a.followStore(ctx) }()
	}
	a.wg.Add(7)
	go func() { defer a.wg.Done(); a.firmware.Run(ctx, time.Second) }()
	go func() { defer a.wg.Done(); a.sync.Run(ctx) }()
	go func() { defer a.wg.Done(); a.subs.Run(ctx) }()
	go func() { defer a.wg.Done(); a.alerts.engine.Run(ctx) }()
	go func() { defer a.wg.Done(); a.booking.RunAutoRelease(ctx, 30*time.Second) }()
	go func() { defer a.wg.Done(); a.watchHealth(ctx, time.Minute) }()
	go func() { defer a.wg.Done(); a.prune(ctx, time.Hour) }()
}

// prune removes what is past its retention now and then every interval.
func (a *app) prune(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		p, err := a.db.Prune(a.now(), a.retention)
		switch {
		case err != nil:
			a.log.Error("cannot prune the store", "err", err)
		case p != (store.Pruned{}):
			a.log.Info("pruned the store", "activity", p.Activity, "requests", p.Requests, "checkins", p.CheckIns, "events", p.Events, "meetings", p.Meetings)
		}
		if n, err := a.settings.Prune(); err != nil {
			a.log.Error("cannot prune the panel settings", "err", err)
		} else if n > 0 {
			a.log.Info("pruned the panel settings of removed rooms and panels", "layers", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// offlinePanels lists the paired panels that are not connected and were
// last seen longer than offlineAfter ago.
func (a *app) offlinePanels() []store.Device {
	online := map[string]bool{}
	for _, c := range a.hub.Connections() {
		online[c.DeviceID] = c.Paired
	}
	devs, err := a.db.Devices()
	if err != nil {
		a.log.Error("cannot list devices", "err", err)
		return nil
	}
	var out []store.Device
	for _, d := range devs {
		seen := d.LastSeen
		if seen.IsZero() {
			seen = d.Created
		}
		if !d.Revoked && !online[d.ID] && a.now().Sub(seen) > a.offlineAfter {
			out = append(out, d)
		}
	}
	return out
}

// watchHealth logs each panel once when it goes offline for longer than
// offlineAfter, and once when it is back.
func (a *app) watchHealth(ctx context.Context, every time.Duration) {
	flagged := map[string]bool{}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		now := map[string]bool{}
		for _, d := range a.offlinePanels() {
			now[d.ID] = true
			if !flagged[d.ID] {
				a.log.Warn("panel offline", "device", d.ID, "name", d.Name, "room", d.Room, "last_seen", d.LastSeen)
			}
		}
		for id := range flagged {
			if !now[id] {
				a.log.Info("panel back online", "device", id)
			}
		}
		flagged = now
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// wait waits for the loops start started (their ctx must have ended).
func (a *app) wait() { a.wg.Wait() }

// Close stops the hub, the booking service and the emulator, and closes
// the store.
func (a *app) Close() error {
	a.serving.Store(false)
	if a.replicas != nil {
		a.replicas.Leave() // hand the rooms over before panels move away
	}
	a.tablets.Close()
	a.hub.Close()
	a.booking.Close()
	a.closeSim()
	return a.db.Close()
}

func (a *app) closeSim() {
	if a.sim != nil {
		a.sim.Close()
	}
}

// Per-device limits of what a panel may send: a burst, then a steady
// trickle. A person at the door books, extends or checks in a few times an
// hour; a problem is reported now and then.
const (
	requestBurst = 10
	requestEvery = 30 * time.Second
	problemBurst = 3
	problemEvery = 15 * time.Minute
)

// panelHandler routes what panels send: requests to booking, reports to
// admin, and connection events to the devices' last-seen record. Requests
// and problem reports are rate-limited per device, so that a rogue panel
// cannot fill the store (a refused request is not recorded).
type panelHandler struct {
	app      *app
	requests *ratelimit.Limiter
	problems *ratelimit.Limiter
}

func newPanelHandler(a *app) *panelHandler {
	return &panelHandler{
		app:      a,
		requests: ratelimit.New(ratelimit.Opts{Burst: requestBurst, Every: requestEvery, Now: a.now}),
		problems: ratelimit.New(ratelimit.Opts{Burst: problemBurst, Every: problemEvery, Now: a.now}),
	}
}

// nearby checks that a panel of room may book other: both rooms exist and
// stand in the same building. ok is false with the refusal to answer.
func (p *panelHandler) nearby(room, other string) (proto.Result, bool) {
	own, err1 := p.app.db.Room(room)
	there, err2 := p.app.db.Room(other)
	if err1 != nil || err2 != nil || own.Building == "" || own.Building != there.Building {
		return proto.Result{Error: proto.Refusal(proto.CodeNotAllowed, proto.ReasonBookingOff, "a panel books its own room or a free room in its building")}, false
	}
	return proto.Result{}, true
}

// Request carries out a panel's request and times it for the booking
// latency histogram (a duration, so the monotonic clock, not the injected
// time of day).
func (p *panelHandler) Request(ctx context.Context, d hub.Device, id string, r proto.Request) proto.Result {
	if !p.requests.Allow(d.ID) {
		p.app.log.Warn("panel sends too many requests: refused", "device", d.ID)
		return proto.Result{Error: proto.NewError(proto.CodeRateLimited, "too many requests from this panel: wait a minute")}
	}
	room := d.Room
	if r.Room != "" && r.Room != d.Room {
		// A nearby room (proto.State.Nearby): in the same building.
		if res, ok := p.nearby(d.Room, r.Room); !ok {
			return res
		}
		room = r.Room
	}
	start := time.Now()
	res := p.app.booking.Request(ctx, d.ID, room, id, r)
	p.app.metrics.observeLatency(string(r.Action), time.Since(start))
	return res
}

func (p *panelHandler) Report(ctx context.Context, d hub.Device, r proto.Report) {
	if r.Kind == "problem" && !p.problems.Allow(d.ID) {
		p.app.log.Warn("panel reports too many problems: dropped", "device", d.ID)
		return
	}
	p.app.admin.Report(ctx, d.ID, d.Room, r)
	if r.Kind == "problem" {
		p.app.alerts.problemReported(d.ID, d.Room, r.Problem)
	}
}

func (p *panelHandler) connected(d hub.Device, c hub.ConnInfo) {
	if err := p.app.devices.Seen(context.Background(), d.ID, c.RemoteAddr, c.Firmware, c.Protocol); err != nil {
		p.app.log.Warn("cannot record a panel's connection", "device", d.ID, "err", err)
	}
	p.app.firmware.Connected(d, c)
}

func (p *panelHandler) disconnected(d hub.Device, c hub.ConnInfo) {
	p.app.settings.Forget(d.ID)
	if err := p.app.devices.Seen(context.Background(), d.ID, "", "", 0); err != nil {
		p.app.log.Warn("cannot record a panel's disconnection", "device", d.ID, "err", err)
	}
}

// prepareDemo seeds the store for serve --demo (opening it for that
// alone) and returns what to print at every start.
func prepareDemo(cfg config, program string) (string, error) {
	db, err := openStore(cfg.DataDir, true) // the demo makes its store

	if err != nil {
		return "", err
	}
	defer db.Close()
	return seedDemo(db, cfg.DataDir, cfg.Now(), !cfg.M365Sim, program)
}

// Files serve --demo keeps beside the store, mode 0600.
const (
	demoTokenFile    = "api-token"      // an API token for the CLI
	demoPasswordFile = "admin-password" // the password of the admin "admin"
)

// seedDemo fills an empty store with demo rooms (when rooms is set); on
// the first start it creates the admin "admin" with a random password
// and an API token for the CLI, both kept in 0600 files in the data
// directory. At every start it returns what to print: the admin's
// password while the file still holds it, otherwise how to set a new one
// (program is how the user ran lintel-server, for a command to paste).
func seedDemo(db *store.DB, dataDir string, now time.Time, rooms bool, program string) (string, error) {
	if rooms {
		if _, err := builtin.Seed(db, now); err != nil {
			return "", err
		}
	}
	admins, err := db.Admins()
	if err != nil {
		return "", err
	}
	passwordFile := filepath.Join(dataDir, demoPasswordFile)
	tokenFile := filepath.Join(dataDir, demoTokenFile)
	if len(admins) == 0 {
		password := admin.GeneratePassword()
		if err := admin.CreateAdmin(db, "admin", password, now); err != nil {
			return "", err
		}
		if err := atomicfile.WriteSecret(passwordFile, password); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(tokenFile); errors.Is(err, os.ErrNotExist) {
		token, err := admin.NewAPIToken(db, "demo cli", "admin", now)
		if err != nil {
			return "", err
		}
		if err := atomicfile.WriteSecret(tokenFile, token); err != nil {
			return "", err
		}
	}
	var note strings.Builder
	b, err := os.ReadFile(passwordFile)
	if password := strings.TrimSpace(string(b)); err == nil && admin.CheckPassword(db, "admin", password) {
		fmt.Fprintf(&note, "demo: log in as admin with password %s (kept in %s)\n", password, passwordFile)
	} else {
		fmt.Fprintf(&note, "demo: the admin password is not the one the demo made (changed, or this data is older);\n"+
			"demo: to set a new one, stop the server and run: %s admin reset-password --data %s --out %s\n", program, dataDir, passwordFile)
	}
	fmt.Fprintf(&note, "demo: an API token for the CLI is in %s (LINTEL_API_TOKEN_FILE=%s)\n", tokenFile, tokenFile)
	return note.String(), nil
}

// deviceAuth lets the hub authenticate panels with the devices service.
type deviceAuth struct{ devices *devices.Service }

func (d deviceAuth) Authenticate(ctx context.Context, token string) (hub.Device, error) {
	dev, err := d.devices.Authenticate(ctx, token)
	switch {
	case errors.Is(err, devices.ErrRevoked):
		return hub.Device{}, fmt.Errorf("%w: %w", hub.ErrRevoked, err)
	case errors.Is(err, devices.ErrUnknownToken):
		return hub.Device{}, fmt.Errorf("%w: %w", hub.ErrUnknownToken, err)
	case err != nil:
		return hub.Device{}, err
	}
	return hub.Device{ID: dev.ID, Room: dev.Room, Name: dev.Name}, nil
}

func (d deviceAuth) Check(ctx context.Context, deviceID string) error {
	err := d.devices.Check(ctx, deviceID)
	if errors.Is(err, devices.ErrRevoked) {
		return fmt.Errorf("%w: %w", hub.ErrRevoked, err)
	}
	return err
}

// syncStates answers the hub with a room's last state from the syncer,
// its one owner (made after the hub, which it publishes to).
type syncStates struct{ a *app }

func (s syncStates) State(room string) (proto.State, bool) { return s.a.sync.State(room) }
