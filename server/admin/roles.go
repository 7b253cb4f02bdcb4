package admin

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/lintelhq/lintel/server/devices"
	"github.com/lintelhq/lintel/server/store"
)

// Scopes of API tokens: what a script holding one may do.
const (
	// ScopeRead may only read (GET), and not the settings, users, tokens
	// or backup.
	ScopeRead = "read"
	// ScopeDevices may read, and add, pair, move, revoke and delete
	// panels (for a provisioning script).
	ScopeDevices = "devices"
	// ScopeAdmin may do everything an admin may.
	ScopeAdmin = "admin"
)

// Scopes lists the token scopes, least first.
var Scopes = []string{ScopeRead, ScopeDevices, ScopeAdmin}

// Roles lists the roles of people, least first.
var Roles = []string{RoleHelpdesk, RoleAdmin}

// perm is what a route needs; each level includes the ones below it.
type perm int

const (
	// permRead: see rooms, panels, activity, calendars' health.
	permRead perm = iota + 1
	// permHelpdesk: make a panel blink, take its screenshot, test the
	// rooms' calendars, change one's own password. Nothing is changed.
	permHelpdesk
	// permDevices: add, pair, move, rename, revoke and delete panels.
	permDevices
	// permAdmin: rooms and their meetings, the calendar connection,
	// sign-in, alerts, users, API tokens, backups.
	permAdmin
)

var permNames = map[perm]string{permRead: "read", permHelpdesk: "helpdesk", permDevices: "devices", permAdmin: "admin"}

func (p perm) String() string { return permNames[p] }

// routePerms says what each route of the admin server needs. It is THE
// table of who may do what: requireAPI and requireSession look the
// request's route up here (a route missing from it needs the admin role;
// TestEveryRouteHasAPermission lists what is missing). Routes outside it
// and publicRoutes take no login at all.
var routePerms = map[string]perm{
	// JSON API.
	"GET /api/v1/rooms":                          permRead,
	"POST /api/v1/rooms":                         permAdmin,
	"GET /api/v1/rooms/{room}":                   permRead,
	"PUT /api/v1/rooms/{room}":                   permAdmin,
	"DELETE /api/v1/rooms/{room}":                permAdmin,
	"GET /api/v1/rooms/{room}/state":             permRead,
	"GET /api/v1/rooms/{room}/events":            permRead,
	"POST /api/v1/rooms/{room}/events":           permAdmin,
	"PUT /api/v1/rooms/{room}/events/{event}":    permAdmin,
	"DELETE /api/v1/rooms/{room}/events/{event}": permAdmin,
	"POST /api/v1/rooms/import-places":           permAdmin,
	"GET /api/v1/devices":                        permRead,
	"POST /api/v1/devices":                       permDevices,
	"POST /api/v1/devices/{device}/revoke":       permDevices,
	"DELETE /api/v1/devices/{device}":            permDevices,
	"GET /api/v1/pairing":                        permRead,
	"POST /api/v1/pairing/{code}/approve":        permDevices,
	"GET /api/v1/test":                           permRead,
	"GET /api/v1/activity":                       permRead,
	"GET /api/v1/utilization":                    permRead,
	"GET /api/v1/utilization.csv":                permRead,
	"GET /api/v1/alerts":                         permRead,
	"GET /api/v1/connector":                      permAdmin,
	"PUT /api/v1/connector":                      permAdmin,
	"GET /api/v1/alerts/settings":                permAdmin,
	"PUT /api/v1/alerts/settings":                permAdmin,
	"POST /api/v1/alerts/test":                   permAdmin,
	"GET /api/v1/signin":                         permAdmin,
	"PUT /api/v1/signin":                         permAdmin,
	"GET /api/v1/backup":                         permAdmin,
	"GET /api/v1/users":                          permAdmin,
	"POST /api/v1/users":                         permAdmin,
	"PUT /api/v1/users/{user}":                   permAdmin,
	"DELETE /api/v1/users/{user}":                permAdmin,
	"GET /api/v1/tokens":                         permAdmin,
	"POST /api/v1/tokens":                        permAdmin,
	"POST /api/v1/tokens/{token}/revoke":         permAdmin,
	"/api/":                                      permRead, // the JSON 404 for unknown endpoints
	"POST /logout":                               permRead,
	"GET /{$}":                                   permRead,
	"GET /rooms":                                 permRead,
	"POST /rooms/test":                           permHelpdesk,
	"POST /rooms/import":                         permAdmin,
	"GET /rooms/{room}":                          permRead,
	"POST /rooms/{room}":                         permAdmin,
	"POST /rooms/{room}/delete":                  permAdmin,
	"GET /rooms/{room}/preview.png":              permRead,
	"GET /rooms/{room}/day":                      permRead,
	"POST /rooms/{room}/day/add":                 permAdmin,
	"POST /rooms/{room}/day/{event}":             permAdmin,
	"POST /rooms/{room}/day/{event}/remove":      permAdmin,
	"GET /devices":                               permRead,
	"POST /devices/{device}/{action}":            permDevices, // identify: permHelpdesk (permFor)
	"GET /devices/{device}/screenshot":           permHelpdesk,
	"GET /devices/{device}/screenshot.png":       permHelpdesk,
	"GET /pair":                                  permRead,
	"POST /pair":                                 permDevices,
	"GET /activity":                              permRead,
	"GET /utilization":                           permRead,
	"GET /connector":                             permAdmin,
	"POST /connector":                            permAdmin,
	"GET /alerts":                                permAdmin,
	"POST /alerts":                               permAdmin,
	"POST /alerts/test":                          permAdmin,
	"GET /signin":                                permAdmin,
	"POST /signin":                               permAdmin,
	"GET /account":                               permRead,
	"POST /account/password":                     permHelpdesk,
	"GET /users":                                 permAdmin,
	"POST /users":                                permAdmin,
	"POST /users/{user}/{action}":                permAdmin,
	"GET /tokens":                                permAdmin,
	"POST /tokens":                               permAdmin,
	"POST /tokens/{token}/revoke":                permAdmin,
	// Fleet: panel settings and firmware (server/admin fleet.go, firmware.go).
	"GET /api/v1/panel-settings":                  permRead,
	"PUT /api/v1/panel-settings":                  permAdmin,
	"GET /api/v1/rooms/{room}/panel-settings":     permRead,
	"PUT /api/v1/rooms/{room}/panel-settings":     permAdmin,
	"GET /api/v1/devices/{device}/panel-settings": permRead,
	"PUT /api/v1/devices/{device}/panel-settings": permDevices,
	"GET /api/v1/firmware":                        permRead,
	"POST /api/v1/firmware":                       permAdmin,
	"POST /api/v1/firmware/rollout":               permAdmin,
	"POST /api/v1/firmware/halt":                  permAdmin,
	"GET /fleet/settings":                         permRead,
	"POST /fleet/settings":                        permAdmin,
	"GET /rooms/{room}/panel-settings":            permRead,
	"POST /rooms/{room}/panel-settings":           permAdmin,
	"GET /devices/{device}/panel-settings":        permRead,
	"POST /devices/{device}/panel-settings":       permDevices,
	"GET /fleet/firmware":                         permRead,
	"POST /fleet/firmware/upload":                 permAdmin,
	"POST /fleet/firmware/rollout":                permAdmin,
	"POST /fleet/firmware/halt":                   permAdmin,
}

// publicRoutes need no login: the login pages, sign-in with Entra ID and
// the stylesheet.
var publicRoutes = map[string]bool{
	"GET /login": true, "POST /login": true, "GET /static/": true,
	"GET /login/oidc": true, "GET /login/oidc/callback": true,
}

// permFor is what r (routed by the mux, r.Pattern set) needs.
func permFor(r *http.Request) perm {
	if r.Pattern == "POST /devices/{device}/{action}" && r.PathValue("action") == "identify" {
		return permHelpdesk // the LEDs blink; nothing changes
	}
	if p, ok := routePerms[r.Pattern]; ok {
		return p
	}
	return permAdmin
}

// principal is who makes a request: a person (a session) or a script (an
// API token).
type principal struct {
	User  string // the account or Entra ID user; a token's maker
	Role  string // RoleAdmin or RoleHelpdesk; for a token, its maker's when known
	Local bool   // a local account (not Entra ID)
	// Token is the API token a script called with (nil for a session);
	// TokenHash is its hash.
	Token     *store.APIToken
	TokenHash string
}

const principalKey ctxKey = 100

// principalOf is the caller of a request that passed requireAPI or
// requireSession.
func principalOf(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey).(principal)
	return p
}

func withPrincipal(r *http.Request, p principal) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), principalKey, p))
}

// roleAllows: admins may do everything; helpdesk may read and do what
// changes nothing (identify, screenshot, test).
func roleAllows(role string, p perm) bool {
	switch role {
	case RoleAdmin:
		return true
	case RoleHelpdesk:
		return p <= permHelpdesk
	}
	return false
}

// scopeAllows: an admin token may do everything, a devices token read and
// manage panels, a read token only GET what permRead covers.
func scopeAllows(scope string, p perm, method string) bool {
	switch scope {
	case ScopeAdmin:
		return true
	case ScopeDevices:
		return p <= permDevices
	case ScopeRead:
		return p == permRead && (method == http.MethodGet || method == http.MethodHead)
	}
	return false
}

// may reports whether pr may make request r, and if not, says why.
func (pr principal) may(r *http.Request) (bool, string) {
	need := permFor(r)
	if pr.Token != nil {
		if !scopeAllows(pr.Token.Scope, need, r.Method) {
			return false, fmt.Sprintf("the API token %q has the %s scope, which may not %s %s (it needs the %s scope)", pr.Token.Name, pr.Token.Scope, r.Method, r.URL.Path, scopeNeeded(need))
		}
		// A token does no more than its maker now may: a maker made
		// helpdesk is held to helpdesk.
		if pr.Role != "" && !roleAllows(pr.Role, need) {
			return false, fmt.Sprintf("the API token %q was made by %s, who now has the %s role, which may not %s %s", pr.Token.Name, pr.User, pr.Role, r.Method, r.URL.Path)
		}
		return true, ""
	}
	if !roleAllows(pr.Role, need) {
		return false, fmt.Sprintf("This page is for admins; you are signed in as %s with the %s role.", pr.User, pr.Role)
	}
	return true, ""
}

func scopeNeeded(p perm) string {
	if p <= permRead {
		return ScopeRead
	}
	if p <= permDevices {
		return ScopeDevices
	}
	return ScopeAdmin
}

// sessionPrincipal resolves a session's caller. A local account's role is
// read at every request, so a change of role counts at once; a session of
// an account that no longer exists is over (ok false).
func (s *Server) sessionPrincipal(sess store.Session) (principal, bool) {
	if sess.Role != "" { // Entra ID: the role the groups mapped to at sign-in
		return principal{User: sess.Admin, Role: sess.Role}, true
	}
	a, err := s.opts.Store.Admin(sess.Admin)
	if err != nil {
		return principal{}, false
	}
	return principal{User: sess.Admin, Role: accountRole(a), Local: true}, true
}

// accountRole: accounts from before roles are admins.
func accountRole(a store.Admin) string {
	if a.Role == "" {
		return RoleAdmin
	}
	return a.Role
}

// can is what the page's viewer may do, for templates to hide the rest.
type can struct {
	Admin, Devices, Helpdesk bool
}

func canOf(pr principal) can {
	return can{Admin: roleAllows(pr.Role, permAdmin), Devices: roleAllows(pr.Role, permDevices), Helpdesk: roleAllows(pr.Role, permHelpdesk)}
}

// RouteTable maps every route with a login to what it needs ("read",
// "helpdesk", "devices" or "admin"), for tests and documentation.
func RouteTable() map[string]string {
	out := map[string]string{}
	for pattern, p := range routePerms {
		out[pattern] = p.String()
	}
	return out
}

// Routes lists the patterns the server registered, sorted.
func (s *Server) Routes() []string {
	out := slices.Clone(s.mux.patterns)
	sort.Strings(out)
	return out
}

// PublicRoute reports whether a pattern needs no login.
func PublicRoute(pattern string) bool { return publicRoutes[pattern] }

// routeMux is a ServeMux that remembers its patterns, so a test checks
// that each is in routePerms.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

// tokenPrincipal checks a bearer token: unknown, revoked and expired
// tokens are refused with 401 and a message that says which. Its use is
// recorded (at most once a minute).
func (s *Server) tokenPrincipal(token string) (principal, error) {
	hash := devices.HashToken(token)
	tok, err := s.opts.Store.APIToken(hash)
	if err != nil {
		return principal{}, httpError(http.StatusUnauthorized, "the API token is not valid; create one with 'lintel-server tokens create' or on the API tokens page")
	}
	now := s.opts.Now()
	if !tok.Revoked.IsZero() {
		return principal{}, httpError(http.StatusUnauthorized, "the API token %q (%s) was revoked on %s; ask an admin for a new one", tok.Name, tok.ID, tok.Revoked.Format(time.RFC3339))
	}
	if !tok.Expires.IsZero() && !now.Before(tok.Expires) {
		return principal{}, httpError(http.StatusUnauthorized, "the API token %q (%s) expired on %s; ask an admin for a new one", tok.Name, tok.ID, tok.Expires.Format(time.RFC3339))
	}
	if err := s.opts.Store.TouchAPIToken(hash, now); err != nil {
		s.log.Warn("cannot record an API token's use", "token", tok.ID, "err", err)
	}
	pr := principal{User: tok.Admin, Token: &tok, TokenHash: hash}
	if tok.Admin != "" {
		if a, err := s.opts.Store.Admin(tok.Admin); err == nil {
			pr.Role, pr.Local = accountRole(a), true
		}
	}
	return pr, nil
}
