// Package graphtest is a Microsoft Graph and Microsoft Entra ID emulator for
// tests and demos. It serves, over TLS like the real services:
//
//   - the Entra ID v2.0 endpoints that azidentity uses: OpenID configuration
//     and the token endpoint, for client secrets and certificate assertions,
//     answering with the real AADSTS error codes for the usual mistakes;
//   - the Graph calls Lintel makes: calendarView with paging
//     (@odata.nextLink), the room calendar's properties, events create (with
//     transactionId dedup and Teams join URLs), update, decline and delete,
//     JSON $batch, and the Places room list.
//
// It also models what makes Graph hard to get right: mailboxes the app may
// not read (application access policy), Exchange's default room processing
// (subjects replaced by the organizer's name, private flag removed),
// throttling (429 with Retry-After past a per-mailbox rate and past 4
// concurrent operations per mailbox), and injected 503s and timeouts; and
// change notifications (subscriptions.go).
//
// The package imports only the standard library, so the real SDK client can
// be tested against it without a tenant, and `make run-m365-sim` can show
// the Microsoft 365 path to anyone.
package graphtest

import (
	"compress/gzip"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // the emulator converts to named zones on any machine
)

// Defaults for Options.
const (
	DefaultTenantID     = "7d3f1c2a-5b6e-4f80-9a1b-2c3d4e5f6a7b"
	DefaultTenantDomain = "contoso.onmicrosoft.com"
)

// Options configure a Server. The zero value is a usable emulator with
// Graph's documented Outlook limits.
type Options struct {
	// TenantID is the directory (tenant) ID; default DefaultTenantID.
	TenantID string
	// TenantDomain is accepted in place of TenantID; default DefaultTenantDomain.
	TenantDomain string
	// Addr is the address to listen on, e.g. "127.0.0.1:8443" for a demo
	// with a stable URL; default a free loopback port.
	Addr string
	// Now is the clock for throttling windows; default time.Now. Benchmarks
	// replace it to simulate an hour of polling in seconds. Tokens always
	// use the real clock because azidentity caches them by the real clock.
	Now func() time.Time
	// Throttle is the throttling model; the zero value is Graph's.
	Throttle Throttle
	// Latency is added to every Graph request (not token requests), so
	// that concurrent requests overlap as they do against the real service.
	Latency time.Duration
	// OpLatency is added to every Graph operation: each top-level request
	// and each item of a $batch (which runs 4 items at a time, as Graph
	// does), so that a mailbox's concurrency limit can be reached.
	OpLatency time.Duration
	// NotifyDelay is how long after a change its notification is sent.
	NotifyDelay time.Duration
	// NotifyClient sends validation requests, notifications and lifecycle
	// events; default a client with a 10 s timeout.
	NotifyClient *http.Client
}

// Throttle models Graph's Outlook throttling. Zero fields take Graph's
// documented limits; negative values switch a limit off.
type Throttle struct {
	// MaxConcurrent, when positive, is how many Graph requests one app may
	// have in flight; past it the request gets 429. A $batch counts once.
	// Default none: Outlook's concurrency limit is per mailbox
	// (MailboxConcurrent).
	MaxConcurrent int
	// MailboxLimit is how many requests one app may make to one mailbox per
	// Window (a token bucket: it refills continuously). Items of a $batch
	// count one by one, as in Graph. Default 10000.
	MailboxLimit int
	// Window is the period of MailboxLimit; default 10 minutes.
	Window time.Duration
	// MailboxConcurrent is how many requests one app may have in flight
	// against one mailbox (Outlook's MailboxConcurrency); past it an
	// operation gets 429 with Retry-After. Items of a $batch count one by
	// one. Default 4.
	MailboxConcurrent int
}

// App is an app registration in the emulated tenant.
type App struct {
	ClientID string
	// Secret is the client secret's Value. Sending anything else, such as
	// SecretID, gets AADSTS7000215 as in Entra ID.
	Secret string
	// SecretID is the secret's ID, which admins often paste by mistake.
	SecretID string
	// SecretExpired makes the correct secret fail with AADSTS7000222.
	SecretExpired bool
	// Certificate is accepted for client assertions (PS256 or RS256).
	Certificate *x509.Certificate
	// Roles are the granted application permissions, as they appear in the
	// token's roles claim. nil means {"Calendars.ReadWrite"}.
	Roles []string
	// ExchangeRBAC grants calendar access through RBAC for Applications in
	// Exchange Online: no Calendars role in the token is needed.
	ExchangeRBAC bool
}

// Mailbox is a mailbox in the emulated tenant: a room or a user.
type Mailbox struct {
	Address string
	Name    string
	Room    bool
	// Capacity, Building and Floor are listed by Places for rooms.
	Capacity int
	Building string
	Floor    int
	// TimeZone is the mailbox's Windows time zone name, used when a client
	// does not send Prefer: outlook.timezone. Default "Pacific Standard Time".
	TimeZone string
	// ExchangeDefault applies Exchange's default room processing to what
	// calendarView returns: subjects replaced by the organizer's name and
	// the private flag removed (DeleteSubject, AddOrganizerToSubject,
	// RemovePrivateProperty all $true). Events the mailbox organizes itself
	// keep their subject, as in Exchange.
	ExchangeDefault bool
	// OnPremises makes every call fail with MailboxNotEnabledForRESTAPI.
	OnPremises bool
	// OnlineMeetingProviders is the calendar's allowedOnlineMeetingProviders;
	// nil means {"teamsForBusiness"}.
	OnlineMeetingProviders []string
	// NoJoinURL makes Teams meeting creation answer 201 without a join URL,
	// as Graph does when the mailbox cannot host Teams meetings.
	NoJoinURL bool
}

// Event is a meeting in a mailbox's calendar.
type Event struct {
	ID               string
	Subject          string
	Organizer        string // display name
	OrganizerAddress string
	Start, End       time.Time
	AllDay           bool
	// Sensitivity is "normal" (default), "personal", "private" or "confidential".
	Sensitivity string
	// ShowAs is "busy" (default), "free", "tentative", "oof", "workingElsewhere".
	ShowAs    string
	Cancelled bool
	// Recurring marks an occurrence of a series: calendarView lists
	// occurrences after single events, as Graph does, so a client must sort.
	Recurring bool
	// SeriesMasterID is the series of an occurrence (seriesMasterId).
	SeriesMasterID string
	Online         bool
	JoinURL        string
	TransactionID  string
	// Declined and DeclineComment record a decline; declined events leave
	// the room's calendar view.
	Declined       bool
	DeclineComment string
	// Deleted records a DELETE.
	Deleted bool
}

// Fault is an injected failure. See Server.Inject.
type Fault struct {
	// Mailbox limits the fault to requests (and $batch items) for one
	// mailbox; "" hits any Graph request, a $batch as a whole.
	Mailbox string
	// Status is the HTTP status to answer, e.g. 429, 503, 504; 0 answers
	// normally after Delay.
	Status int
	// RetryAfter is sent as the Retry-After header when positive.
	RetryAfter time.Duration
	// Delay holds the request first, or until the client gives up: a
	// timeout when it is longer than the client waits.
	Delay time.Duration
	// Times is how many requests the fault hits; default 1.
	Times int
	// Code and Message, when set, are the OData error Graph answers with
	// (e.g. a whole $batch refused with 400 BadRequest "Invalid batch
	// payload format."); by default they follow Status.
	Code    string
	Message string
}

// Stats counts what the emulator saw.
type Stats struct {
	Requests      int // Graph HTTP requests; a $batch counts once
	BatchItems    int // requests inside $batch bodies
	TokenRequests int // token endpoint requests
	Throttled     int // 429 answers, top-level and $batch items
	MaxInFlight   int // the most Graph requests one app had in flight at once
	// MaxMailboxInFlight is the most operations one mailbox had at once.
	MaxMailboxInFlight int
	Notifications      int // change notifications delivered (2xx)
	NotifyFailures     int // notifications the endpoint refused or did not answer
	Validations        int // validation handshakes sent
}

// Request is one Graph request as the emulator saw it, for assertions.
type Request struct {
	Method  string
	Path    string // decoded, without the /v1.0 prefix
	Query   url.Values
	Prefer  string // the Prefer header values, joined with ", "
	InBatch bool
	Status  int
}

// maxLog caps the request log so that benchmarks do not grow it forever.
const maxLog = 10000

// Server is a running emulator. It is safe for concurrent use.
type Server struct {
	// URL is the server's root, e.g. "https://127.0.0.1:40123".
	URL string
	// GraphURL is the Graph base URL: URL + "/v1.0".
	GraphURL string
	// AuthorityHost is the Entra ID authority host: URL + "/".
	AuthorityHost string
	// TenantID and TenantDomain name the emulated tenant.
	TenantID     string
	TenantDomain string

	ts          *httptest.Server
	now         func() time.Time
	throttle    Throttle
	latency     time.Duration
	opLatency   time.Duration
	notifyDelay time.Duration
	notifier    *http.Client
	tokenKey    []byte

	mu        sync.Mutex
	apps      map[string]*App
	mailboxes map[string]*mailbox // by lower-case address
	denied    map[string]bool     // by lower-case address
	faults    []*Fault
	inflight  map[string]int
	buckets   map[string]*bucket
	stats     Stats
	log       []Request
	nextID    int
	mbFlight  map[string]int           // operations in flight by app|mailbox
	subs      map[string]*Subscription // by id
	nextSub   int
}

type mailbox struct {
	Mailbox
	events []*Event
}

// NewServer starts an emulator. Close it when done.
func NewServer(opts Options) *Server {
	s := &Server{
		TenantID:     opts.TenantID,
		TenantDomain: opts.TenantDomain,
		now:          opts.Now,
		throttle:     opts.Throttle,
		latency:      opts.Latency,
		tokenKey:     make([]byte, 32),
		apps:         map[string]*App{},
		mailboxes:    map[string]*mailbox{},
		denied:       map[string]bool{},
		inflight:     map[string]int{},
		buckets:      map[string]*bucket{},
		opLatency:    opts.OpLatency,
		notifyDelay:  opts.NotifyDelay,
		notifier:     opts.NotifyClient,
		mbFlight:     map[string]int{},
		subs:         map[string]*Subscription{},
	}
	if s.notifier == nil {
		s.notifier = &http.Client{Timeout: 10 * time.Second}
	}
	if s.throttle.MailboxConcurrent == 0 {
		s.throttle.MailboxConcurrent = 4
	}
	if s.TenantID == "" {
		s.TenantID = DefaultTenantID
	}
	if s.TenantDomain == "" {
		s.TenantDomain = DefaultTenantDomain
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.throttle.MailboxLimit == 0 {
		s.throttle.MailboxLimit = 10000
	}
	if s.throttle.Window <= 0 {
		s.throttle.Window = 10 * time.Minute
	}
	if _, err := rand.Read(s.tokenKey); err != nil {
		panic("graphtest: " + err.Error())
	}

	login := http.NewServeMux()
	login.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.serveOpenID)
	login.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.serveToken)
	// Graph under /v1.0/, Entra ID everywhere else, as on two hosts.
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1.0/") {
			s.serveGraph(w, r)
			return
		}
		login.ServeHTTP(w, r)
	})

	s.ts = httptest.NewUnstartedServer(root)
	if opts.Addr != "" {
		l, err := net.Listen("tcp", opts.Addr)
		if err != nil {
			panic(fmt.Sprintf("graphtest: listen on %s: %v", opts.Addr, err))
		}
		s.ts.Listener.Close()
		s.ts.Listener = l
	}
	s.ts.StartTLS()
	s.URL = s.ts.URL
	s.GraphURL = s.URL + "/v1.0"
	s.AuthorityHost = s.URL + "/"
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

// Client returns an HTTP client that trusts the server's certificate, for
// both azidentity and the Graph request adapter.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// CertPool returns a pool holding the server's certificate.
func (s *Server) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(s.ts.Certificate())
	return pool
}

// CertPEM returns the server's certificate in PEM, for a process that
// talks to the emulator from outside (write it to a CA file).
func (s *Server) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ts.Certificate().Raw})
}

// TLSConfig returns a client TLS configuration that trusts the server.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12}
}

// AddApp registers an app. A later app with the same ClientID replaces it.
func (s *Server) AddApp(a App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.Roles == nil {
		a.Roles = []string{"Calendars.ReadWrite"}
	}
	s.apps[a.ClientID] = &a
}

// AddMailbox adds or replaces a mailbox (keeping its events).
func (s *Server) AddMailbox(m Mailbox) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.TimeZone == "" {
		m.TimeZone = "Pacific Standard Time"
	}
	if m.OnlineMeetingProviders == nil {
		m.OnlineMeetingProviders = []string{"teamsForBusiness"}
	}
	if m.Name == "" {
		m.Name, _, _ = strings.Cut(m.Address, "@")
	}
	key := strings.ToLower(m.Address)
	old := s.mailboxes[key]
	mb := &mailbox{Mailbox: m}
	if old != nil {
		mb.events = old.events
	}
	s.mailboxes[key] = mb
}

// SetExchangeDefault switches a mailbox's room processing to Exchange's
// default (on) or to Lintel's recommended settings (off).
func (s *Server) SetExchangeDefault(address string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mb := s.mailboxes[strings.ToLower(address)]; mb != nil {
		mb.ExchangeDefault = on
	}
}

// Deny puts a mailbox outside the app's application access policy (or
// RBAC management scope): every app gets 403 "Access to OData is disabled".
func (s *Server) Deny(address string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[strings.ToLower(address)] = true
}

// Allow undoes Deny.
func (s *Server) Allow(address string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.denied, strings.ToLower(address))
}

// AddEvent adds an event to a mailbox and returns its ID. The mailbox is
// created when missing.
func (s *Server) AddEvent(address string, e Event) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxes[strings.ToLower(address)]
	if mb == nil {
		s.mu.Unlock()
		s.AddMailbox(Mailbox{Address: address, Room: true})
		s.mu.Lock()
		mb = s.mailboxes[strings.ToLower(address)]
	}
	ev := s.addEventLocked(mb, e)
	if ev.Online && ev.JoinURL == "" {
		ev.JoinURL = joinURL(ev.ID)
	}
	s.notifyLocked(mb, "created", ev.ID)
	return ev.ID
}

// UpdateEvent changes an event as Outlook would (fn edits it in place)
// and notifies the mailbox's subscribers. It reports whether the event
// exists.
func (s *Server) UpdateEvent(address, id string, fn func(*Event)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxes[strings.ToLower(address)]
	if mb == nil {
		return false
	}
	for _, e := range mb.events {
		if e.ID == id {
			fn(e)
			e.Start, e.End = e.Start.UTC(), e.End.UTC()
			change := "updated"
			if e.Deleted {
				change = "deleted"
			}
			s.notifyLocked(mb, change, id)
			return true
		}
	}
	return false
}

// joinURL makes a Teams join URL of the real shape.
func joinURL(id string) string {
	return "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + id + "%40thread.v2/0"
}

func (s *Server) addEventLocked(mb *mailbox, e Event) *Event {
	if e.ID == "" {
		s.nextID++
		e.ID = fmt.Sprintf("AAMkAGI2TG93AAA%06d=", s.nextID)
	}
	if e.Sensitivity == "" {
		e.Sensitivity = "normal"
	}
	if e.ShowAs == "" {
		e.ShowAs = "busy"
	}
	e.Start, e.End = e.Start.UTC(), e.End.UTC()
	ev := &e
	mb.events = append(mb.events, ev)
	return ev
}

// Events returns a copy of a mailbox's events, including declined and
// deleted ones, in the order they were added.
func (s *Server) Events(address string) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxes[strings.ToLower(address)]
	if mb == nil {
		return nil
	}
	out := make([]Event, len(mb.events))
	for i, e := range mb.events {
		out[i] = *e
	}
	return out
}

// ClearEvents removes every event from a mailbox.
func (s *Server) ClearEvents(address string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mb := s.mailboxes[strings.ToLower(address)]; mb != nil {
		for _, e := range mb.events {
			s.notifyLocked(mb, "deleted", e.ID)
		}
		mb.events = nil
	}
}

// Inject adds a fault. Faults hit in the order they were added.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// ResetStats zeroes the counters and the request log.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{}
	s.log = nil
}

// Requests returns the Graph requests seen since the last ResetStats (the
// first 10000 of them), $batch items included.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Status == http.StatusTooManyRequests {
		s.stats.Throttled++
	}
	if len(s.log) < maxLog {
		s.log = append(s.log, r)
	}
}

// takeFault returns the first fault for the mailbox ("" for top level).
func (s *Server) takeFault(mailbox string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if !strings.EqualFold(f.Mailbox, mailbox) {
			continue
		}
		f.Times--
		if f.Times <= 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		}
		c := *f
		return &c
	}
	return nil
}

// bucket is a token bucket for one app and mailbox.
type bucket struct {
	tokens float64
	last   time.Time
}

// allow takes a token from the app's bucket for the mailbox. When the
// bucket is empty it returns how long until the next token.
func (s *Server) allow(app, mailbox string) (bool, time.Duration) {
	limit := s.throttle.MailboxLimit
	if limit < 0 {
		return true, 0
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	key := app + "|" + strings.ToLower(mailbox)
	b := s.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(limit), last: now}
		s.buckets[key] = b
	}
	perToken := s.throttle.Window / time.Duration(limit)
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(float64(limit), b.tokens+float64(elapsed)/float64(perToken))
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(perToken))
}

// ---- Entra ID ----

func (s *Server) knownTenant(t string) bool {
	return strings.EqualFold(t, s.TenantID) || strings.EqualFold(t, s.TenantDomain)
}

// tenantError answers like Entra ID for a tenant it does not know.
func (s *Server) tenantError(w http.ResponseWriter, tenant string) bool {
	if s.knownTenant(tenant) {
		return false
	}
	if !looksLikeTenant(tenant) {
		aadError(w, http.StatusBadRequest, "invalid_request", 900023,
			fmt.Sprintf("Specified tenant identifier '%s' is neither a valid DNS name, nor a valid external domain.", tenant))
		return true
	}
	aadError(w, http.StatusBadRequest, "invalid_tenant", 90002,
		fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing in to the correct cloud.", tenant))
	return true
}

// looksLikeTenant accepts a GUID or a DNS name, as Entra ID does.
func looksLikeTenant(t string) bool {
	if len(t) == 36 && strings.Count(t, "-") == 4 {
		_, err := hex.DecodeString(strings.ReplaceAll(t, "-", ""))
		return err == nil
	}
	return strings.Contains(t, ".") && !strings.ContainsAny(t, " /\\@")
}

func aadError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	writeJSON(w, status, nil, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: 0a1b2c3d Correlation ID: 4e5f6a7b Timestamp: 2024-01-01 00:00:00Z", aadsts, desc),
		"error_codes":       []int{aadsts},
		"trace_id":          "0a1b2c3d",
		"correlation_id":    "4e5f6a7b",
	})
}

func (s *Server) serveOpenID(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	if s.tenantError(w, tenant) {
		return
	}
	base := s.URL + "/" + tenant
	writeJSON(w, http.StatusOK, nil, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"issuer":                                s.URL + "/" + s.TenantID + "/v2.0",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt"},
		"tenant_region_scope":                   "EU",
	})
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.TokenRequests++
	s.mu.Unlock()
	if s.tenantError(w, r.PathValue("tenant")) {
		return
	}
	if err := r.ParseForm(); err != nil {
		aadError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	clientID := r.PostForm.Get("client_id")
	s.mu.Lock()
	app := s.apps[clientID]
	s.mu.Unlock()
	if app == nil {
		aadError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, s.TenantDomain))
		return
	}
	switch {
	case r.PostForm.Has("client_secret"):
		// Compare in constant time; never echo what was sent.
		sent := r.PostForm.Get("client_secret")
		if app.Secret == "" || !hmac.Equal([]byte(sent), []byte(app.Secret)) {
			aadError(w, http.StatusUnauthorized, "invalid_client", 7000215,
				fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID))
			return
		}
		if app.SecretExpired {
			aadError(w, http.StatusUnauthorized, "invalid_client", 7000222,
				fmt.Sprintf("The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app.", clientID))
			return
		}
	case r.PostForm.Has("client_assertion"):
		if err := verifyAssertion(r.PostForm.Get("client_assertion"), clientID, app.Certificate); err != nil {
			aadError(w, http.StatusUnauthorized, "invalid_client", 700027,
				"Client assertion failed signature validation: "+err.Error())
			return
		}
	default:
		aadError(w, http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	token := s.signToken(map[string]any{
		"aud":   "https://graph.microsoft.com",
		"iss":   "https://sts.windows.net/" + s.TenantID + "/",
		"tid":   s.TenantID,
		"appid": clientID,
		"roles": app.Roles,
		"iat":   time.Now().Unix(),
		"nbf":   time.Now().Unix(),
		"exp":   time.Now().Add(time.Hour).Unix(),
	})
	writeJSON(w, http.StatusOK, nil, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     3599,
		"ext_expires_in": 3599,
		"access_token":   token,
	})
}

var b64 = base64.RawURLEncoding

// signToken makes a JWT-shaped access token. It is signed with HMAC
// (unlike Entra ID's RS256) because only the emulator checks it.
func (s *Server) signToken(claims map[string]any) string {
	head, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "HS256"})
	body, _ := json.Marshal(claims)
	msg := b64.EncodeToString(head) + "." + b64.EncodeToString(body)
	mac := hmac.New(sha256.New, s.tokenKey)
	mac.Write([]byte(msg))
	return msg + "." + b64.EncodeToString(mac.Sum(nil))
}

// appFromToken checks a bearer token and returns the app it was issued to.
func (s *Server) appFromToken(header string) (*App, string) {
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return nil, "Access token is empty."
	}
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return nil, "Access token validation failure. Invalid audience."
	}
	mac := hmac.New(sha256.New, s.tokenKey)
	mac.Write([]byte(token[:i]))
	sig, err := b64.DecodeString(token[i+1:])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return nil, "Access token validation failure. Invalid signature."
	}
	_, payload, _ := strings.Cut(token[:i], ".")
	raw, err := b64.DecodeString(payload)
	if err != nil {
		return nil, "Access token validation failure."
	}
	var claims struct {
		AppID string `json:"appid"`
		Exp   int64  `json:"exp"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return nil, "Access token validation failure."
	}
	if time.Now().Unix() > claims.Exp {
		return nil, "Lifetime validation failed, the token is expired."
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.apps[claims.AppID]
	if app == nil {
		return nil, "Access token validation failure."
	}
	return app, ""
}

// ---- Graph ----

// reply is one Graph answer, top-level or a $batch item.
type reply struct {
	status int
	header map[string]string
	body   any // nil for no body
}

func graphError(status int, code, msg string) reply {
	return reply{status: status, body: map[string]any{"error": map[string]any{
		"code":    code,
		"message": msg,
		"innerError": map[string]any{
			"date":       time.Now().UTC().Format("2006-01-02T15:04:05"),
			"request-id": "5f1c2d3e-0000-4000-8000-000000000001",
		},
	}}}
}

func throttled(wait time.Duration, msg string) reply {
	r := graphError(http.StatusTooManyRequests, "ApplicationThrottled", msg)
	r.header = map[string]string{"Retry-After": retryAfterSeconds(wait)}
	return r
}

// retryAfterSeconds rounds up to whole seconds, at least 1, as Graph sends.
func retryAfterSeconds(d time.Duration) string {
	return fmt.Sprint(max(1, int(math.Ceil(d.Seconds()))))
}

func faultReply(f *Fault) reply {
	r := graphError(f.Status, "ServiceUnavailable", "Injected failure.")
	switch f.Status {
	case http.StatusTooManyRequests:
		r = graphError(f.Status, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
	case http.StatusGatewayTimeout:
		r = graphError(f.Status, "GatewayTimeout", "The gateway did not receive a response in time.")
	}
	if f.Code != "" || f.Message != "" {
		r = graphError(f.Status, f.Code, f.Message)
	}
	if f.RetryAfter > 0 {
		r.header = map[string]string{"Retry-After": retryAfterSeconds(f.RetryAfter)}
	}
	return r
}

func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests++
	s.mu.Unlock()

	app, why := s.appFromToken(r.Header.Get("Authorization"))
	if app == nil {
		s.write(w, r, graphError(http.StatusUnauthorized, "InvalidAuthenticationToken", why))
		return
	}

	s.mu.Lock()
	s.inflight[app.ClientID]++
	n := s.inflight[app.ClientID]
	s.stats.MaxInFlight = max(s.stats.MaxInFlight, n)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight[app.ClientID]--
		s.mu.Unlock()
	}()
	if limit := s.throttle.MaxConcurrent; limit > 0 && n > limit {
		s.write(w, r, throttled(time.Second, "Application is over its MailboxConcurrency limit."))
		return
	}
	if !sleep(r, s.latency) {
		return
	}
	if f := s.takeFault(""); f != nil {
		if !sleep(r, f.Delay) {
			return
		}
		if f.Status != 0 {
			s.write(w, r, faultReply(f))
			return
		}
	}

	body, err := readBody(r)
	if err != nil {
		s.write(w, r, graphError(http.StatusBadRequest, "BadRequest", "Unreadable body."))
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1.0")
	if path == "/$batch" && r.Method == http.MethodPost {
		s.write(w, r, s.batch(r, app, body))
		return
	}
	s.write(w, r, s.dispatch(r, app, r.Method, path, r.URL.Query(), strings.Join(r.Header.Values("Prefer"), ", "), body, false))
}

// sleep waits d or until the client gives up; false when it gave up.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		rd = zr
	}
	return io.ReadAll(io.LimitReader(rd, 4<<20))
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, rep reply) {
	if !strings.HasSuffix(r.URL.Path, "/$batch") {
		s.record(Request{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, "/v1.0"),
			Query: r.URL.Query(), Prefer: strings.Join(r.Header.Values("Prefer"), ", "), Status: rep.status})
	} else if rep.status == http.StatusTooManyRequests {
		s.record(Request{Method: r.Method, Path: "/$batch", Status: rep.status})
	}
	writeJSON(w, rep.status, rep.header, rep.body)
}

func writeJSON(w http.ResponseWriter, status int, header map[string]string, body any) {
	for k, v := range header {
		w.Header().Set(k, v)
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

type batchItem struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// batchParallel is how many items of a $batch Graph runs at a time.
const batchParallel = 4

// batch runs a JSON $batch, 4 items at a time as Graph does; the
// responses come back in reverse order because Graph does not promise any
// order.
func (s *Server) batch(r *http.Request, app *App, body []byte) reply {
	var req struct {
		Requests []batchItem `json:"requests"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return graphError(http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
	}
	if len(req.Requests) == 0 || len(req.Requests) > 20 {
		return graphError(http.StatusBadRequest, "BadRequest", "Invalid batch payload: between 1 and 20 requests are allowed.")
	}
	s.mu.Lock()
	s.stats.BatchItems += len(req.Requests)
	s.mu.Unlock()

	responses := make([]map[string]any, len(req.Requests))
	sem := make(chan struct{}, batchParallel)
	var wg sync.WaitGroup
	for i, it := range req.Requests {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			responses[len(req.Requests)-1-i] = s.batchItem(r, app, it)
		})
	}
	wg.Wait()
	return reply{status: http.StatusOK, body: map[string]any{"responses": responses}}
}

// batchItem runs one item of a $batch.
func (s *Server) batchItem(r *http.Request, app *App, it batchItem) map[string]any {
	u, err := url.Parse(it.URL)
	var rep reply
	if err != nil || it.ID == "" {
		rep = graphError(http.StatusBadRequest, "BadRequest", "Invalid request URL.")
	} else {
		var prefer string
		for k, v := range it.Headers {
			if strings.EqualFold(k, "Prefer") {
				prefer = v
			}
		}
		var itemBody []byte
		if len(it.Body) > 0 && string(it.Body) != "null" {
			itemBody = it.Body
		}
		path := "/" + strings.TrimPrefix(strings.TrimPrefix(u.Path, "/v1.0"), "/")
		rep = s.dispatch(r, app, strings.ToUpper(it.Method), path, u.Query(), prefer, itemBody, true)
		s.record(Request{Method: strings.ToUpper(it.Method), Path: path, Query: u.Query(), Prefer: prefer, InBatch: true, Status: rep.status})
	}
	header := map[string]string{}
	maps.Copy(header, rep.header)
	item := map[string]any{"id": it.ID, "status": rep.status, "headers": header}
	if rep.body != nil {
		header["Content-Type"] = "application/json"
		item["body"] = rep.body
	}
	return item
}

// dispatch answers one Graph request, top-level or inside a $batch.
func (s *Server) dispatch(r *http.Request, app *App, method, path string, q url.Values, prefer string, body []byte, inBatch bool) reply {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	// Graph accepts the namespace alias "graph." for "microsoft.graph.";
	// the SDK uses it.
	if len(parts) == 2 && parts[0] == "places" && (parts[1] == "microsoft.graph.room" || parts[1] == "graph.room") && method == http.MethodGet {
		return s.places(app)
	}
	if len(parts) >= 1 && parts[0] == "subscriptions" {
		if !sleep(r, s.opLatency) {
			return graphError(http.StatusGatewayTimeout, "GatewayTimeout", "The client went away.")
		}
		return s.subscriptionOp(r, app, method, parts[1:], body)
	}
	if len(parts) < 3 || parts[0] != "users" {
		return graphError(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+path+"'.")
	}
	address := parts[1]
	if f := s.takeFault(address); f != nil {
		if !sleep(r, f.Delay) {
			return graphError(http.StatusGatewayTimeout, "GatewayTimeout", "The client went away.")
		}
		if f.Status != 0 {
			return faultReply(f)
		}
	}
	if ok, wait := s.allow(app.ClientID, address); !ok {
		return throttled(wait, "Application is over its MailboxConcurrency limit.")
	}
	release, ok := s.enterMailbox(app.ClientID, address)
	if !ok {
		return throttled(time.Second, "Application is over its MailboxConcurrency limit.")
	}
	defer release()
	if !sleep(r, s.opLatency) {
		return graphError(http.StatusGatewayTimeout, "GatewayTimeout", "The client went away.")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxes[strings.ToLower(address)]
	if mb == nil {
		return graphError(http.StatusNotFound, "ErrorInvalidUser", "The requested user '"+address+"' is invalid.")
	}
	if mb.OnPremises {
		return graphError(http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
	}
	write := method != http.MethodGet
	if !app.ExchangeRBAC && !hasRole(app.Roles, "Calendars.ReadWrite") && (write || !hasRole(app.Roles, "Calendars.Read")) {
		return graphError(http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
	}
	if s.denied[strings.ToLower(address)] {
		return graphError(http.StatusForbidden, "ErrorAccessDenied", "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.")
	}

	zone := zoneFromPrefer(prefer)
	rest := parts[2:]
	switch {
	case len(rest) == 1 && rest[0] == "calendarView" && method == http.MethodGet:
		return s.calendarView(mb, path, q, zone)
	case len(rest) == 1 && rest[0] == "calendar" && method == http.MethodGet:
		return reply{status: http.StatusOK, body: map[string]any{
			"id":                            "AAMkCalendar" + mb.Name,
			"name":                          "Calendar",
			"allowedOnlineMeetingProviders": mb.OnlineMeetingProviders,
			"defaultOnlineMeetingProvider":  firstOr(mb.OnlineMeetingProviders, "none"),
		}}
	case (len(rest) == 1 && rest[0] == "events" || len(rest) == 2 && rest[0] == "calendar" && rest[1] == "events") && method == http.MethodPost:
		return s.createEvent(mb, body, zone)
	case len(rest) >= 2 && rest[0] == "events":
		ev := mb.find(rest[1])
		if ev == nil {
			return graphError(http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		}
		switch {
		case len(rest) == 2 && method == http.MethodGet:
			return reply{status: http.StatusOK, body: eventJSON(mb, ev, zone, selectSet(q))}
		case len(rest) == 2 && method == http.MethodPatch:
			return s.updateEvent(mb, ev, body, zone)
		case len(rest) == 2 && method == http.MethodDelete:
			ev.Deleted = true
			s.notifyLocked(mb, "deleted", ev.ID)
			return reply{status: http.StatusNoContent}
		case len(rest) == 3 && rest[2] == "decline" && method == http.MethodPost:
			if strings.EqualFold(ev.OrganizerAddress, mb.Address) {
				return graphError(http.StatusBadRequest, "ErrorInvalidRequest", "Your request can't be completed. You can't respond to a meeting you organized.")
			}
			var in struct {
				Comment string `json:"comment"`
			}
			_ = json.Unmarshal(body, &in)
			ev.Declined, ev.DeclineComment = true, in.Comment
			s.notifyLocked(mb, "deleted", ev.ID)
			return reply{status: http.StatusAccepted}
		}
	}
	return graphError(http.StatusMethodNotAllowed, "ErrorInvalidRequest", "The OData request is not supported.")
}

func (mb *mailbox) find(id string) *Event {
	for _, e := range mb.events {
		if e.ID == id && !e.Deleted && !e.Declined {
			return e
		}
	}
	return nil
}

func hasRole(roles []string, want string) bool { return slices.Contains(roles, want) }

func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
}

func (s *Server) places(app *App) reply {
	if !hasRole(app.Roles, "Place.Read.All") {
		return graphError(http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var rooms []map[string]any
	for _, mb := range s.mailboxes {
		if !mb.Room {
			continue
		}
		rooms = append(rooms, map[string]any{
			"id":           "place-" + strings.ToLower(mb.Address),
			"displayName":  mb.Name,
			"emailAddress": mb.Address,
			"capacity":     mb.Capacity,
			"building":     mb.Building,
			"floorNumber":  mb.Floor,
		})
	}
	slices.SortFunc(rooms, func(a, b map[string]any) int {
		return strings.Compare(a["emailAddress"].(string), b["emailAddress"].(string))
	})
	return reply{status: http.StatusOK, body: map[string]any{"value": rooms}}
}

// calendarView lists the events overlapping [startDateTime, endDateTime):
// single events by start, then occurrences of series, $top per page
// (default 10) with an @odata.nextLink carrying $skip.
func (s *Server) calendarView(mb *mailbox, path string, q url.Values, zone string) reply {
	from, err1 := parseQueryTime(q.Get("startDateTime"))
	to, err2 := parseQueryTime(q.Get("endDateTime"))
	if err1 != nil || err2 != nil {
		return graphError(http.StatusBadRequest, "ErrorInvalidParameter", "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.")
	}
	top := 10
	if v := q.Get("$top"); v != "" {
		if _, err := fmt.Sscan(v, &top); err != nil || top < 1 || top > 1000 {
			return graphError(http.StatusBadRequest, "ErrorInvalidParameter", "Invalid $top.")
		}
	}
	skip := 0
	if v := q.Get("$skip"); v != "" {
		fmt.Sscan(v, &skip)
	}
	var hits []*Event
	for _, e := range mb.events {
		if e.Deleted || e.Declined || !e.Start.Before(to) || !e.End.After(from) {
			continue
		}
		hits = append(hits, e)
	}
	slices.SortStableFunc(hits, func(a, b *Event) int {
		if a.Recurring != b.Recurring {
			if a.Recurring {
				return 1
			}
			return -1
		}
		return a.Start.Compare(b.Start)
	})
	sel := selectSet(q)
	page := []map[string]any{}
	for i := skip; i < len(hits) && i < skip+top; i++ {
		page = append(page, eventJSON(mb, hits[i], zone, sel))
	}
	out := map[string]any{"value": page}
	if skip+top < len(hits) {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("$skip", fmt.Sprint(skip+top))
		u := url.URL{Path: "/v1.0" + path, RawQuery: next.Encode()}
		out["@odata.nextLink"] = s.URL + u.String()
	}
	h := map[string]string{}
	if zone != "" {
		h["Preference-Applied"] = `outlook.timezone="` + zone + `"`
	}
	return reply{status: http.StatusOK, header: h, body: out}
}

func parseQueryTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02T15:04:05.9999999", v, time.UTC)
}

func selectSet(q url.Values) map[string]bool {
	v := q.Get("$select")
	if v == "" {
		return nil
	}
	set := map[string]bool{}
	for _, f := range strings.Split(v, ",") {
		set[strings.TrimSpace(f)] = true
	}
	return set
}

// windowsZones maps the Windows time zone names Exchange uses to IANA.
var windowsZones = map[string]string{
	"UTC":                     "UTC",
	"Pacific Standard Time":   "America/Los_Angeles",
	"Eastern Standard Time":   "America/New_York",
	"GMT Standard Time":       "Europe/London",
	"W. Europe Standard Time": "Europe/Berlin",
	"Romance Standard Time":   "Europe/Paris",
	"Tokyo Standard Time":     "Asia/Tokyo",
}

func location(name string) *time.Location {
	if iana, ok := windowsZones[name]; ok {
		name = iana
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// zoneFromPrefer returns the zone of `Prefer: outlook.timezone="..."`, or "".
func zoneFromPrefer(prefer string) string {
	_, rest, ok := strings.Cut(prefer, `outlook.timezone="`)
	if !ok {
		return ""
	}
	zone, _, _ := strings.Cut(rest, `"`)
	return zone
}

const graphTime = "2006-01-02T15:04:05.0000000"

// eventJSON renders an event as Graph does, in the zone the client asked
// for or else the mailbox's own, with only the $select fields (and id).
func eventJSON(mb *mailbox, e *Event, zone string, sel map[string]bool) map[string]any {
	if zone == "" {
		zone = mb.TimeZone
	}
	loc := location(zone)
	stamp := func(t time.Time) map[string]any {
		if e.AllDay { // all-day events are floating dates: midnight in any zone
			return map[string]any{"dateTime": t.UTC().Format(graphTime), "timeZone": zone}
		}
		return map[string]any{"dateTime": t.In(loc).Format(graphTime), "timeZone": zone}
	}
	subject, sensitivity := e.Subject, e.Sensitivity
	if mb.ExchangeDefault && !strings.EqualFold(e.OrganizerAddress, mb.Address) {
		subject, sensitivity = e.Organizer, "normal"
	}
	var online any
	provider := "unknown"
	if e.Online {
		provider = "teamsForBusiness"
		if e.JoinURL != "" {
			online = map[string]any{"joinUrl": e.JoinURL}
		}
	}
	all := map[string]any{
		"id":                    e.ID,
		"@odata.etag":           `W/"DwAAABYAAAA` + e.ID[len(e.ID)-7:] + `"`,
		"subject":               subject,
		"organizer":             map[string]any{"emailAddress": map[string]any{"name": e.Organizer, "address": e.OrganizerAddress}},
		"start":                 stamp(e.Start),
		"end":                   stamp(e.End),
		"sensitivity":           sensitivity,
		"showAs":                e.ShowAs,
		"isCancelled":           e.Cancelled,
		"isAllDay":              e.AllDay,
		"isOrganizer":           strings.EqualFold(e.OrganizerAddress, mb.Address),
		"isOnlineMeeting":       e.Online,
		"onlineMeetingProvider": provider,
		"onlineMeeting":         online,
		"transactionId":         nilIfEmpty(e.TransactionID),
		"seriesMasterId":        nilIfEmpty(e.SeriesMasterID),
		"type":                  map[bool]string{true: "occurrence", false: "singleInstance"}[e.Recurring],
		"body":                  map[string]any{"contentType": "html", "content": "<html><body>Agenda</body></html>"},
	}
	if sel == nil {
		return all
	}
	out := map[string]any{"id": e.ID, "@odata.etag": all["@odata.etag"]}
	for k := range sel {
		if v, ok := all[k]; ok {
			out[k] = v
		}
	}
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

type dateTimeZone struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

func (d *dateTimeZone) time() (time.Time, error) {
	return time.ParseInLocation("2006-01-02T15:04:05.9999999", d.DateTime, location(d.TimeZone))
}

type eventInput struct {
	Subject               *string       `json:"subject"`
	Start                 *dateTimeZone `json:"start"`
	End                   *dateTimeZone `json:"end"`
	IsOnlineMeeting       bool          `json:"isOnlineMeeting"`
	OnlineMeetingProvider string        `json:"onlineMeetingProvider"`
	TransactionID         string        `json:"transactionId"`
	ShowAs                string        `json:"showAs"`
	Sensitivity           string        `json:"sensitivity"`
}

func (s *Server) createEvent(mb *mailbox, body []byte, zone string) reply {
	var in eventInput
	if err := json.Unmarshal(body, &in); err != nil || in.Start == nil || in.End == nil {
		return graphError(http.StatusBadRequest, "ErrorInvalidRequest", "Your request can't be completed. The event needs a start and an end.")
	}
	start, err1 := in.Start.time()
	end, err2 := in.End.time()
	if err1 != nil || err2 != nil || !end.After(start) {
		return graphError(http.StatusBadRequest, "ErrorInvalidRequest", "Your request can't be completed. The end of the event must be after its start.")
	}
	subject := ""
	if in.Subject != nil {
		subject = *in.Subject
	}
	if in.TransactionID != "" {
		for _, e := range mb.events {
			if e.TransactionID != in.TransactionID {
				continue
			}
			if e.Subject == subject && e.Start.Equal(start) && e.End.Equal(end) {
				return reply{status: http.StatusCreated, body: eventJSON(mb, e, zone, nil)}
			}
			return graphError(http.StatusBadRequest, "ErrorDuplicateTransactionId", "Your request can't be completed. The TransactionId specified in the request has already been used to create a different event.")
		}
	}
	ev := Event{
		Subject: subject, Organizer: mb.Name, OrganizerAddress: mb.Address,
		Start: start, End: end, ShowAs: in.ShowAs, Sensitivity: in.Sensitivity,
		TransactionID: in.TransactionID,
	}
	if in.IsOnlineMeeting {
		provider := in.OnlineMeetingProvider
		if provider == "" {
			provider = firstOr(mb.OnlineMeetingProviders, "")
		}
		// Like Graph, a provider the calendar does not allow creates a plain event.
		ev.Online = provider == "teamsForBusiness" && slices.Contains(mb.OnlineMeetingProviders, provider)
	}
	created := s.addEventLocked(mb, ev)
	if created.Online && !mb.NoJoinURL {
		created.JoinURL = joinURL(created.ID)
	}
	s.notifyLocked(mb, "created", created.ID)
	return reply{status: http.StatusCreated, body: eventJSON(mb, created, zone, nil)}
}

func (s *Server) updateEvent(mb *mailbox, ev *Event, body []byte, zone string) reply {
	var in eventInput
	if err := json.Unmarshal(body, &in); err != nil {
		return graphError(http.StatusBadRequest, "ErrorInvalidRequest", "Your request can't be completed. Invalid body.")
	}
	start, end := ev.Start, ev.End
	var err error
	if in.Start != nil {
		if start, err = in.Start.time(); err != nil {
			return graphError(http.StatusBadRequest, "ErrorInvalidRequest", "Your request can't be completed. Invalid start.")
		}
	}
	if in.End != nil {
		if end, err = in.End.time(); err != nil {
			return graphError(http.StatusBadRequest, "ErrorInvalidRequest", "Your request can't be completed. Invalid end.")
		}
	}
	if !end.After(start) {
		return graphError(http.StatusBadRequest, "ErrorInvalidRequest", "Your request can't be completed. The end of the event must be after its start.")
	}
	if in.TransactionID != "" && in.TransactionID != ev.TransactionID {
		return graphError(http.StatusBadRequest, "ErrorInvalidRequest", "Your request can't be completed. ClientId/TransactionId is immutable and cannot be updated.")
	}
	ev.Start, ev.End = start.UTC(), end.UTC()
	if in.Subject != nil {
		ev.Subject = *in.Subject
	}
	s.notifyLocked(mb, "updated", ev.ID)
	return reply{status: http.StatusOK, body: eventJSON(mb, ev, zone, nil)}
}
