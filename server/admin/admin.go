// Package admin serves the facilities admin: a JSON API under /api/v1 for
// scripts and the CLI, and the web UI. Every request is authenticated:
// API calls with a bearer API token, the web UI with a session cookie.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	gosync "sync"
	"time"

	"github.com/lintelhq/lintel/panel/view"
	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/builtin"
	"github.com/lintelhq/lintel/server/connector"
	"github.com/lintelhq/lintel/server/devices"
	"github.com/lintelhq/lintel/server/hub"
	"github.com/lintelhq/lintel/server/store"
	"github.com/lintelhq/lintel/server/sync"
)

// Panels is what admin needs of the connected panels (the hub).
type Panels interface {
	Disconnect(deviceID string, code proto.Code, reason string)
	Move(deviceID, room string)
	Send(deviceID string, m proto.Message) error
	Connections() []hub.ConnInfo
}

// Opts configures the admin server.
type Opts struct {
	Store    Store             // required
	Devices  *devices.Service  // required
	Provider calendar.Provider // the calendar in use now
	Builtin  *builtin.Calendar // the built-in calendar's editor, used while Provider is the built-in calendar
	// Connector manages where calendars come from and tests them.
	Connector Connector       // required
	Sync      *sync.Syncer    // required: changes show at once
	Panels    Panels          // required
	Pairer    *devices.Pairer // required for pairing
	// OfflineAfter: a panel not seen for this long is flagged. Default 10 min.
	OfflineAfter time.Duration
	Logger       *slog.Logger     // default: discard
	Now          func() time.Time // default: time.Now
	// OIDC is Entra ID sign-in as the server's flags set it (nil: what
	// the admin saved in the UI, if anything).
	OIDC *OIDCSettings
	// OIDCClient talks to the identity provider (default: 15 s timeout).
	OIDCClient *http.Client
	// DataDir holds the sign-in client secret's 0600 file.
	DataDir string
	// PublicURL is the server's address as browsers reach it: the sign-in
	// redirect URI is made from it.
	PublicURL string
	// ClientAddr returns the address a request comes from, for the login
	// limits and logs. Default: the peer's. Behind a trusted reverse
	// proxy, the address it forwards.
	ClientAddr func(*http.Request) string
	// Retention is how long the activity log and the meetings recorded
	// for the utilization figures are kept (--retention-activity): the
	// figures reach back that far at most. Default
	// store.DefaultActivityRetention.
	Retention time.Duration
}

// Server is the admin HTTP handler.
type Server struct {
	opts   Opts
	log    *slog.Logger
	mux    *routeMux
	logins *loginLimiter
	pages  map[string]*template.Template
	shots  *screenshots
	// renderer draws room previews with the panel's own view code.
	renderer *view.Renderer

	testsMu  gosync.Mutex // the last "test all", for the rooms page
	lastTest *connector.Report

	alerts Alerts // see SetAlerts
	// panelSettings are the panels' display settings (fleet.go).
	panelSettings PanelSettings
	firmware      Firmware // firmware builds and rollouts (firmware.go)
	signin        signin   // Entra ID sign-in (oidc.go)
}

// New returns the admin server.
func New(opts Opts) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OfflineAfter <= 0 {
		opts.OfflineAfter = 10 * time.Minute
	}
	renderer, err := view.NewRenderer()
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	s := &Server{opts: opts, log: opts.Logger, mux: &routeMux{ServeMux: http.NewServeMux()}, logins: newLoginLimiter(),
		pages: parsePages(opts.Now), shots: newScreenshots(), renderer: renderer}
	if err := s.loadOIDC(); err != nil {
		return nil, err
	}
	s.routes()
	s.uiRoutes()
	s.alertRoutes()
	s.oidcRoutes()
	s.accountRoutes()
	s.fleetRoutes()
	s.firmwareRoutes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.ClientAddr != nil {
		r = r.WithContext(context.WithValue(r.Context(), clientAddrKey, s.opts.ClientAddr(r)))
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) routes() {
	api := func(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
		s.mux.Handle(pattern, s.requireAPI(h))
	}
	api("GET /api/v1/rooms", s.listRooms)
	api("POST /api/v1/rooms", s.createRoom)
	api("GET /api/v1/rooms/{room}", s.getRoom)
	api("PUT /api/v1/rooms/{room}", s.putRoom)
	api("DELETE /api/v1/rooms/{room}", s.deleteRoom)
	api("GET /api/v1/rooms/{room}/state", s.roomState)
	api("GET /api/v1/rooms/{room}/events", s.listEvents)
	api("POST /api/v1/rooms/{room}/events", s.addEvent)
	api("PUT /api/v1/rooms/{room}/events/{event}", s.changeEvent)
	api("DELETE /api/v1/rooms/{room}/events/{event}", s.removeEvent)
	api("GET /api/v1/devices", s.listDevices)
	api("POST /api/v1/devices", s.addDevice)
	api("POST /api/v1/devices/{device}/revoke", s.revokeDevice)
	api("DELETE /api/v1/devices/{device}", s.deleteDevice)
	api("GET /api/v1/test", s.testAll)
	api("GET /api/v1/connector", s.getConnector)
	api("POST /api/v1/rooms/import-places", s.importPlaces)
	api("PUT /api/v1/connector", s.putConnector)
	api("GET /api/v1/pairing", s.listPending)
	api("POST /api/v1/pairing/{code}/approve", s.approvePairing)
	api("GET /api/v1/activity", s.activity)
	api("GET /api/v1/utilization", s.utilization)
	api("GET /api/v1/utilization.csv", s.utilizationCSV)
	api("GET /api/v1/backup", s.backup)
	s.mux.Handle("/api/", s.requireAPI(func(w http.ResponseWriter, r *http.Request) error {
		return httpError(http.StatusNotFound, "no such API endpoint: %s %s", r.Method, r.URL.Path)
	}))
}

// apiError is an error with the HTTP status it maps to.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func httpError(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// requireAPI authenticates an API call by its bearer token, or by the
// browser session of a logged-in admin (writes then need the session's
// CSRF token in X-CSRF-Token), runs h and turns its error into a JSON
// error answer. A refused call changes nothing.
func (s *Server) requireAPI(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		var pr principal
		switch {
		case bearer && token != "":
			var err error
			if pr, err = s.tokenPrincipal(token); err != nil {
				writeError(w, err)
				return
			}
		default:
			sess, _, ok := s.session(r)
			if ok {
				pr, ok = s.sessionPrincipal(sess)
			}
			if !ok {
				writeError(w, httpError(http.StatusUnauthorized, "this API needs an API token: send it as 'Authorization: Bearer <token>'"))
				return
			}
			if r.Method != http.MethodGet && r.Method != http.MethodHead && !validCSRF(r, sess) {
				writeError(w, httpError(http.StatusForbidden, "a browser session must send its CSRF token in the X-CSRF-Token header"))
				return
			}
		}
		if ok, why := pr.may(r); !ok {
			writeError(w, httpError(http.StatusForbidden, "%s", why))
			return
		}
		r = withPrincipal(r, pr)
		if err := h(w, r); err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				s.log.Error("admin API failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			writeError(w, err)
		}
	})
}

// writeError answers {"error": "..."} with the error's status: an
// *apiError's own, 404 for unknown things, 409 for conflicts, else 500.
func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		status = ae.status
	case errors.Is(err, store.ErrNotFound), errors.Is(err, calendar.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, store.ErrExists), errors.Is(err, calendar.ErrConflict):
		status = http.StatusConflict
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// readJSON decodes a request body strictly, at most 1 MiB (413 beyond).
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return httpError(http.StatusRequestEntityTooLarge, "the request body is larger than %d KiB, the most this endpoint takes", mbe.Limit>>10)
		}
		return httpError(http.StatusBadRequest, "request body is not valid JSON for this endpoint: %v", err)
	}
	return nil
}

// maxJSON bounds a JSON request body.
const maxJSON = 1 << 20

// refresh re-reads a room's calendar so a change reaches its panels at once.
func (s *Server) refresh(ctx context.Context, room string) {
	if err := s.opts.Sync.Refresh(ctx, room); err != nil {
		s.log.Warn("refresh after change failed; the next poll will pick it up", "room", room, "err", err)
	}
}

func isNotFound(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, calendar.ErrNotFound)
}
