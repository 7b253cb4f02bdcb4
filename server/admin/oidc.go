package admin

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/lintelhq/lintel/server/internal/atomicfile"
	"github.com/lintelhq/lintel/server/store"
)

// Roles a signed-in person has. A local account (bootstrap, break-glass)
// is an admin.
const (
	RoleAdmin    = "admin"
	RoleHelpdesk = "helpdesk"
)

// OIDCSettings configure admin sign-in with Microsoft Entra ID (OpenID
// Connect, authorization code flow with PKCE). The client secret is not
// among them: it is written once to a 0600 file and never shown again.
type OIDCSettings struct {
	// TenantID is the directory (tenant) ID; the issuer is then
	// https://login.microsoftonline.com/<tenant>/v2.0.
	TenantID string `json:"tenant_id,omitempty"`
	// Issuer overrides that issuer (national clouds; tests).
	Issuer   string `json:"issuer,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	// SecretExpires, when set, makes the server alert 30 days ahead.
	SecretExpires time.Time `json:"secret_expires,omitzero"`
	// Roles maps Lintel's roles ("admin", "helpdesk") to the Entra group
	// object IDs (the "groups" claim) and app role values (the "roles"
	// claim) whose members get them. Admin wins over helpdesk; a person in
	// none is refused.
	Roles map[string][]string `json:"roles,omitempty"`
	// HasSecret says whether a client secret is stored (never its value).
	HasSecret bool `json:"has_secret,omitempty"`
	// FromFlags is set when the server's flags configure sign-in: they win
	// over what is saved.
	FromFlags bool `json:"from_flags,omitempty"`
	// SecretFile and SecretEnv, set only by the server's flags, say where
	// the client secret is instead of the data directory's file.
	SecretFile string `json:"-"`
	SecretEnv  string `json:"-"`
}

// Enabled reports whether Entra ID sign-in is configured.
func (o OIDCSettings) Enabled() bool { return o.ClientID != "" && (o.TenantID != "" || o.Issuer != "") }

// IssuerURL is the OpenID issuer the ID tokens must come from.
func (o OIDCSettings) IssuerURL() string {
	if o.Issuer != "" {
		return strings.TrimSuffix(o.Issuer, "/")
	}
	return "https://login.microsoftonline.com/" + o.TenantID + "/v2.0"
}

// RoleFor maps a person's groups and app roles to a Lintel role: admin
// wins over helpdesk, "" when nothing matches.
func (o OIDCSettings) RoleFor(groups, appRoles []string) string {
	for _, role := range []string{RoleAdmin, RoleHelpdesk} {
		for _, v := range o.Roles[role] {
			if slices.Contains(groups, v) || slices.Contains(appRoles, v) {
				return role
			}
		}
	}
	return ""
}

// maxRoleValues bounds each role's list.
const maxRoleValues = 50

// Validate checks the settings in the words of the API's fields.
func (o OIDCSettings) Validate() error {
	if !o.Enabled() {
		if o.ClientID != "" || o.TenantID != "" || o.Issuer != "" {
			return errors.New("sign-in needs both client_id and tenant_id (or issuer); leave all empty to turn it off")
		}
		return nil
	}
	var probs []string
	if o.TenantID != "" && !validTenant(o.TenantID) {
		probs = append(probs, fmt.Sprintf("tenant_id %q is not a directory (tenant) ID or domain; \"common\" and \"organizations\" are not allowed: Lintel signs in one tenant's people", o.TenantID))
	}
	if o.Issuer != "" {
		if u, err := url.Parse(o.Issuer); err != nil || u.Scheme != "https" || u.Host == "" {
			probs = append(probs, fmt.Sprintf("issuer %q is not an https:// URL", o.Issuer))
		}
	}
	if len(o.ClientID) > 100 || strings.ContainsAny(o.ClientID, " /?#") {
		probs = append(probs, fmt.Sprintf("client_id %q is not an application (client) ID", o.ClientID))
	}
	for role, values := range o.Roles {
		if role != RoleAdmin && role != RoleHelpdesk {
			probs = append(probs, fmt.Sprintf("roles: %q is not a role (admin or helpdesk)", role))
		}
		if len(values) > maxRoleValues {
			probs = append(probs, fmt.Sprintf("roles.%s has %d entries; at most %d", role, len(values), maxRoleValues))
		}
		for _, v := range values {
			if v == "" || len(v) > 120 || strings.ContainsAny(v, " ,") {
				probs = append(probs, fmt.Sprintf("roles.%s: %q is not a group object ID or app role value", role, v))
			}
		}
	}
	if len(o.Roles[RoleAdmin]) == 0 && len(o.Roles[RoleHelpdesk]) == 0 {
		probs = append(probs, "roles: map at least one Entra group or app role to admin or helpdesk, or nobody can sign in")
	}
	if len(probs) > 0 {
		return errors.New(strings.Join(probs, "; "))
	}
	return nil
}

func validTenant(t string) bool {
	if t == "common" || t == "organizations" || t == "consumers" || len(t) > 100 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return t != ""
}

// OIDCSettingsKey is where the sign-in settings live in the store, and
// oidcSecretFile the client secret's 0600 file in the data directory.
const (
	OIDCSettingsKey = "oidc"
	oidcSecretFile  = "oidc-client-secret"
	oidcCookie      = "lintel_oidc"
	// oidcFlowLifetime bounds how long a person may take at Microsoft's
	// sign-in page.
	oidcFlowLifetime = 10 * time.Minute
)

// signin holds the sign-in settings and the discovered provider.
type signin struct {
	mu       gosync.Mutex
	settings OIDCSettings
	provider *oidc.Provider // discovered for issuer, lazily
	issuer   string
	// fails bounds failed sign-ins per address: each costs a request to
	// the identity provider.
	fails *limiter
}

// Failed Entra ID sign-ins allowed per address per minute. Higher than
// the password limit: nothing can be guessed here (Microsoft checks the
// password), it only bounds the work.
const oidcFailLimit = 20

// loadOIDC starts with the flags' settings when given, else the saved
// ones.
func (s *Server) loadOIDC() error {
	s.signin.fails = newLimiter(oidcFailLimit, time.Minute)
	if s.opts.OIDC != nil {
		o := *s.opts.OIDC
		o.FromFlags = true
		if err := o.Validate(); err != nil {
			return fmt.Errorf("admin: sign-in flags: %w", err)
		}
		s.signin.settings = o
		return nil
	}
	var saved OIDCSettings
	if err := s.opts.Store.Setting(OIDCSettingsKey, &saved); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("admin: sign-in settings: %w", err)
	}
	s.signin.settings = saved
	return nil
}

// FollowOIDC reads the sign-in settings again from the store, after
// another replica saved them. Settings given by flags stay.
func (s *Server) FollowOIDC() error {
	var saved OIDCSettings
	if err := s.opts.Store.Setting(OIDCSettingsKey, &saved); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("admin: sign-in settings: %w", err)
	}
	s.signin.mu.Lock()
	defer s.signin.mu.Unlock()
	if s.signin.settings.FromFlags {
		return nil
	}
	s.signin.settings, s.signin.provider = saved, nil
	return nil
}

// OIDCSettings returns the sign-in settings as answers show them.
func (s *Server) OIDCSettings() OIDCSettings {
	s.signin.mu.Lock()
	o := s.signin.settings
	s.signin.mu.Unlock()
	if o.Enabled() && o.SecretFile == "" && o.SecretEnv == "" {
		_, err := os.Stat(s.oidcSecretPath())
		o.HasSecret = err == nil
	} else {
		o.HasSecret = o.SecretFile != "" || o.SecretEnv != ""
	}
	return o
}

func (s *Server) oidcSecretPath() string { return filepath.Join(s.opts.DataDir, oidcSecretFile) }

// applyOIDC checks and saves new sign-in settings, with a new client
// secret when secret is not empty.
func (s *Server) applyOIDC(o OIDCSettings, secret string) error {
	s.signin.mu.Lock()
	defer s.signin.mu.Unlock()
	if s.signin.settings.FromFlags {
		return errors.New("sign-in is configured by the server's flags (--oidc-*); change them there")
	}
	o.HasSecret, o.FromFlags, o.SecretFile, o.SecretEnv = false, false, "", ""
	if err := o.Validate(); err != nil {
		return err
	}
	if len(secret) > 1024 {
		return errors.New("the client secret is longer than 1024 characters: paste the secret's Value")
	}
	if o.Enabled() {
		if secret != "" {
			if err := atomicfile.WriteSecret(s.oidcSecretPath(), secret); err != nil {
				return fmt.Errorf("save the client secret: %w", err)
			}
		} else if _, err := os.Stat(s.oidcSecretPath()); err != nil {
			return errors.New("secret: enter the client secret's Value (Entra ID > App registrations > the app > Certificates & secrets)")
		}
	} else if err := os.Remove(s.oidcSecretPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the client secret: %w", err)
	}
	if err := s.opts.Store.PutSetting(OIDCSettingsKey, o); err != nil {
		return fmt.Errorf("save the sign-in settings: %w", err)
	}
	s.signin.settings, s.signin.provider = o, nil
	return nil
}

// clientSecret reads the sign-in client secret from where the settings
// say.
func (s *Server) clientSecret(o OIDCSettings) (string, error) {
	var raw []byte
	var err error
	switch {
	case o.SecretEnv != "":
		raw = []byte(os.Getenv(o.SecretEnv))
	case o.SecretFile != "":
		raw, err = os.ReadFile(o.SecretFile)
	default:
		raw, err = os.ReadFile(s.oidcSecretPath())
	}
	if err != nil {
		return "", errors.New("the sign-in client secret cannot be read: enter it again under Sign-in")
	}
	secret := strings.TrimSpace(string(raw))
	if secret == "" {
		return "", errors.New("no sign-in client secret is set")
	}
	return secret, nil
}

// httpContext carries the HTTP client go-oidc and oauth2 use.
func (s *Server) httpContext(ctx context.Context) context.Context {
	c := s.opts.OIDCClient
	if c == nil {
		c = &http.Client{Timeout: 15 * time.Second}
	}
	return oidc.ClientContext(ctx, c)
}

// oauthConfig discovers the provider (once per issuer) and returns the
// OAuth2 configuration and the provider.
func (s *Server) oauthConfig(ctx context.Context) (*oauth2.Config, *oidc.Provider, OIDCSettings, error) {
	s.signin.mu.Lock()
	o, p, issuer := s.signin.settings, s.signin.provider, s.signin.issuer
	s.signin.mu.Unlock()
	if !o.Enabled() {
		return nil, nil, o, errors.New("sign-in with Microsoft is not set up on this server: use a local account")
	}
	if p == nil || issuer != o.IssuerURL() {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		var err error
		// The provider keeps the client from this context for its keys,
		// not the context's deadline.
		if p, err = oidc.NewProvider(s.httpContext(ctx), o.IssuerURL()); err != nil {
			return nil, nil, o, fmt.Errorf("cannot reach Entra ID's sign-in configuration at %s: %v", o.IssuerURL(), err)
		}
		s.signin.mu.Lock()
		s.signin.provider, s.signin.issuer = p, o.IssuerURL()
		s.signin.mu.Unlock()
	}
	secret, err := s.clientSecret(o)
	if err != nil {
		return nil, nil, o, err
	}
	return &oauth2.Config{
		ClientID: o.ClientID, ClientSecret: secret, Endpoint: p.Endpoint(),
		RedirectURL: s.redirectURL(),
		// profile gives the name, email the address; groups and app
		// roles come in the ID token by the app registration's token
		// configuration.
		Scopes: []string{oidc.ScopeOpenID, "profile", "email"},
	}, p, o, nil
}

// redirectURL is where Entra ID sends the browser back: it must be
// registered on the app as a Web redirect URI.
func (s *Server) redirectURL() string {
	return strings.TrimSuffix(s.opts.PublicURL, "/") + "/login/oidc/callback"
}

// oidcFlow is what the browser keeps between leaving for Entra ID and
// coming back, in an HttpOnly cookie: the state that ties the answer to
// this browser, the nonce the ID token must carry, the PKCE verifier, and
// where to go after.
type oidcFlow struct {
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"`
	Next     string    `json:"x"`
	Expires  time.Time `json:"e"`
}

func (s *Server) oidcRoutes() {
	s.mux.HandleFunc("GET /login/oidc", s.oidcStart)
	s.mux.HandleFunc("GET /login/oidc/callback", s.oidcCallback)
	api := func(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
		s.mux.Handle(pattern, s.requireAPI(h))
	}
	api("GET /api/v1/signin", s.getSignin)
	api("PUT /api/v1/signin", s.putSignin)
	ui := func(pattern string, h http.HandlerFunc) { s.mux.Handle(pattern, s.requireSession(h)) }
	ui("GET /signin", s.signinPage)
	ui("POST /signin", s.signinForm)
}

// safeNext keeps a redirect inside this site.
func safeNext(next string) string {
	// Only a path of this site: no scheme, no host, and nothing a browser
	// reads as one ("//host", "/\\host", which it turns into "//host"), in
	// raw or percent-encoded form; no control characters (a tab or newline
	// is dropped by browsers, joining what it separated).
	const home = "/rooms"
	if next == "" || len(next) > 2048 || !strings.HasPrefix(next, "/") {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return home
	}
	for _, s := range []string{next, u.Path} {
		if strings.HasPrefix(s, "//") || strings.ContainsRune(s, '\\') {
			return home
		}
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return home
		}
	}
	return next
}

// oidcStart sends the browser to Entra ID with a fresh state, nonce and
// PKCE challenge.
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	cfg, _, _, err := s.oauthConfig(r.Context())
	if err != nil {
		s.log.Warn("sign-in with Microsoft cannot start", "err", err)
		s.loginError(w, r, http.StatusServiceUnavailable, "Sign-in with Microsoft is not available: "+err.Error(), next)
		return
	}
	flow := oidcFlow{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(), Next: next,
		Expires: s.opts.Now().Add(oidcFlowLifetime).UTC()}
	b, _ := json.Marshal(flow)
	http.SetCookie(w, &http.Cookie{
		Name: oidcCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: "/login/oidc",
		MaxAge: int(oidcFlowLifetime.Seconds()), HttpOnly: true, Secure: isTLS(r),
		// Lax: the cookie must come along when Entra ID sends the browser
		// back (a top-level GET from another site); Strict would drop it.
		SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, cfg.AuthCodeURL(flow.State, oidc.Nonce(flow.Nonce), oauth2.S256ChallengeOption(flow.Verifier),
		oauth2.SetAuthURLParam("prompt", "select_account")), http.StatusFound)
}

// idClaims are the ID token claims Lintel reads.
type idClaims struct {
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Email             string   `json:"email"`
	ObjectID          string   `json:"oid"`
	Groups            []string `json:"groups"`
	Roles             []string `json:"roles"`
	// ClaimNames has "groups" when the person is in too many groups for
	// the token (over 200): Entra ID then leaves them out.
	ClaimNames map[string]string `json:"_claim_names"`
}

// maxCallbackParam bounds what the callback reads from the query.
const maxCallbackParam = 4096

// oidcCallback finishes the sign-in: the state must match this browser's,
// the code is exchanged with the PKCE verifier, the ID token's signature,
// issuer, audience, expiry and nonce are checked, and the person's groups
// or app roles must map to a role.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	addr, now := clientAddr(r), s.opts.Now()
	if s.signin.fails.blocked(addr, now) {
		s.loginError(w, r, http.StatusTooManyRequests, "Too many failed sign-ins from your address: wait a minute.", "/rooms")
		return
	}
	fail := func(status int, msg string, next string, logArgs ...any) {
		s.signin.fails.fail(addr, now)
		s.log.Warn("sign-in with Microsoft refused", append([]any{"addr", addr, "why", msg}, logArgs...)...)
		s.loginError(w, r, status, msg, next)
	}
	// The flow cookie is used once, whatever happens.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/login/oidc", MaxAge: -1, HttpOnly: true, Secure: isTLS(r), SameSite: http.SameSiteLaxMode})
	var flow oidcFlow
	c, err := r.Cookie(oidcCookie)
	if err == nil && len(c.Value) < maxCallbackParam {
		var b []byte
		if b, err = base64.RawURLEncoding.DecodeString(c.Value); err == nil {
			err = json.Unmarshal(b, &flow)
		}
	}
	if err != nil || flow.State == "" || now.After(flow.Expires) {
		fail(http.StatusBadRequest, "Sign-in with Microsoft took longer than 10 minutes, or this browser blocks cookies: start again.", "/rooms")
		return
	}
	next := safeNext(flow.Next)
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		desc := q.Get("error_description")
		if len(desc) > 300 {
			desc = desc[:300] + "…"
		}
		fail(http.StatusUnauthorized, fmt.Sprintf("Microsoft refused the sign-in (%s): %s", truncate(e, 60), desc), next)
		return
	}
	state := q.Get("state")
	if len(state) > maxCallbackParam || subtle.ConstantTimeCompare([]byte(state), []byte(flow.State)) != 1 {
		fail(http.StatusBadRequest, "The answer from Microsoft does not belong to the sign-in this browser started (state mismatch): start again.", next)
		return
	}
	code := q.Get("code")
	if code == "" || len(code) > maxCallbackParam {
		fail(http.StatusBadRequest, "The answer from Microsoft has no sign-in code: start again.", next)
		return
	}
	cfg, p, o, err := s.oauthConfig(r.Context())
	if err != nil {
		fail(http.StatusServiceUnavailable, "Sign-in with Microsoft is not available: "+err.Error(), next)
		return
	}
	ctx, cancel := context.WithTimeout(s.httpContext(r.Context()), 15*time.Second)
	defer cancel()
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		fail(http.StatusBadGateway, "Microsoft did not accept the sign-in code: "+oauthProblem(err), next)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		fail(http.StatusBadGateway, "Microsoft's answer has no ID token: check that the app registration allows ID tokens for this redirect URI.", next)
		return
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.ClientID, Now: s.opts.Now}).Verify(ctx, raw)
	if err != nil {
		fail(http.StatusUnauthorized, "The ID token from Microsoft is not valid, so you were not signed in: "+err.Error(), next)
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(flow.Nonce)) != 1 {
		fail(http.StatusUnauthorized, "The ID token from Microsoft was not issued for this sign-in (nonce mismatch), so you were not signed in: start again.", next)
		return
	}
	var cl idClaims
	if err := idt.Claims(&cl); err != nil {
		fail(http.StatusBadGateway, "The ID token's claims cannot be read: "+err.Error(), next)
		return
	}
	user := cl.PreferredUsername
	if user == "" {
		user = cl.Email
	}
	if user == "" {
		user = cl.ObjectID
	}
	user = truncate(user, 128)
	role := o.RoleFor(cl.Groups, cl.Roles)
	if role == "" {
		msg := fmt.Sprintf("You signed in to Microsoft as %s, but that account is in no Entra group or app role that Lintel maps to admin or helpdesk, so Lintel does not let it in. Ask a Lintel admin to add you to one of them.", user)
		if _, over := cl.ClaimNames["groups"]; over {
			msg = fmt.Sprintf("You signed in to Microsoft as %s, but your account is in too many groups for Entra ID to list them in the sign-in token. Ask a Lintel admin to map an app role instead (assign it to the group), or to emit only the groups assigned to the application.", user)
		}
		fail(http.StatusForbidden, msg, next, "user", user)
		return
	}
	if err := s.startSessionAs(w, r, user, role); err != nil {
		s.log.Error("cannot start a session", "err", err)
		http.Error(w, "cannot sign in right now: the server cannot write its store", http.StatusInternalServerError)
		return
	}
	s.log.Info("admin signed in with Entra ID", "user", user, "role", role, "addr", addr)
	// A page, not a redirect: the session cookie is SameSite=Strict, and
	// a redirect chain that began at Microsoft is cross-site, so the
	// browser would not send it yet. A same-site navigation from this page
	// does.
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'")
	signedInPage.Execute(w, map[string]string{"Next": next, "User": user, "Role": role})
}

var signedInPage = template.Must(template.New("signedin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="0;url={{.Next}}"><title>Signed in · Lintel</title><link rel="stylesheet" href="/static/style.css"></head>
<body><main><p class="flash ok" role="status">Signed in as {{.User}} ({{.Role}}). <a href="{{.Next}}" id="continue">Continue</a></p></main></body></html>
`))

// oauthProblem words an OAuth2 token error without the response body's
// noise.
func oauthProblem(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.ErrorDescription != "" {
			return truncate(re.ErrorCode+": "+re.ErrorDescription, 300)
		}
		if re.ErrorCode != "" {
			return re.ErrorCode
		}
		return re.Response.Status
	}
	return truncate(err.Error(), 300)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// loginError shows the login page with an error.
func (s *Server) loginError(w http.ResponseWriter, r *http.Request, status int, msg, next string) {
	s.renderPage(w, r, status, "login", "Log in", msg, s.loginData(next))
}

// loginData is what the login page needs: where to go after, and whether
// to offer sign-in with Microsoft.
func (s *Server) loginData(next string) map[string]string {
	d := map[string]string{"Next": next}
	if s.OIDCSettings().Enabled() {
		d["SSO"] = "/login/oidc?next=" + url.QueryEscape(safeNext(next))
	}
	return d
}

// who names the caller in logs.
func who(r *http.Request) string {
	pr := principalOf(r)
	if pr.Token != nil {
		return fmt.Sprintf("API token %q (%s)", pr.Token.Name, pr.Token.ID)
	}
	if sess, ok := r.Context().Value(sessionKey).(store.Session); ok {
		return sess.Admin
	}
	return "an API token"
}

// signinBody is PUT /api/v1/signin: the settings and, write-only, the
// client secret.
type signinBody struct {
	OIDCSettings
	Secret string `json:"secret,omitempty"`
}

func (s *Server) getSignin(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, signinAnswer{s.OIDCSettings(), s.redirectURL()})
	return nil
}

// signinAnswer adds the redirect URI to register on the app.
type signinAnswer struct {
	OIDCSettings
	RedirectURI string `json:"redirect_uri"`
}

func (s *Server) putSignin(w http.ResponseWriter, r *http.Request) error {
	var body signinBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if err := s.applyOIDC(body.OIDCSettings, body.Secret); err != nil {
		return httpError(http.StatusBadRequest, "%v", err)
	}
	s.log.Info("sign-in settings changed", "by", who(r), "enabled", body.Enabled())
	writeJSON(w, http.StatusOK, signinAnswer{s.OIDCSettings(), s.redirectURL()})
	return nil
}

// signinPageData is what the sign-in settings page shows.
type signinPageData struct {
	Settings    OIDCSettings
	RedirectURI string
	Admins      string // one per line
	Helpdesk    string
}

func (s *Server) signinData(o OIDCSettings) signinPageData {
	return signinPageData{Settings: o, RedirectURI: s.redirectURL(),
		Admins: strings.Join(o.Roles[RoleAdmin], "\n"), Helpdesk: strings.Join(o.Roles[RoleHelpdesk], "\n")}
}

func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "signin", "Sign-in", s.signinData(s.OIDCSettings()))
}

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request) {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	o := OIDCSettings{TenantID: f("tenant_id"), Issuer: f("issuer"), ClientID: f("client_id"), Roles: map[string][]string{}}
	lines := func(k string) []string {
		return strings.FieldsFunc(r.PostFormValue(k), func(c rune) bool { return c == '\n' || c == '\r' || c == ',' || c == ' ' })
	}
	if v := lines("admins"); len(v) > 0 {
		o.Roles[RoleAdmin] = v
	}
	if v := lines("helpdesk"); len(v) > 0 {
		o.Roles[RoleHelpdesk] = v
	}
	again := func(msg string) {
		shown := o
		shown.HasSecret = s.OIDCSettings().HasSecret
		s.renderError(w, r, "signin", "Sign-in", msg, s.signinData(shown))
	}
	if v := f("secret_expires"); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			again("The secret's expiry is a date like 2027-06-30.")
			return
		}
		o.SecretExpires = t
	}
	if err := s.applyOIDC(o, r.PostFormValue("secret")); err != nil {
		again(err.Error())
		return
	}
	s.log.Info("sign-in settings changed", "by", who(r), "enabled", o.Enabled())
	if !o.Enabled() {
		back(w, r, "/signin", "msg", "Saved. Sign-in with Microsoft is off; local accounts sign in as before.")
		return
	}
	back(w, r, "/signin", "msg", "Saved. Sign out and use “Sign in with Microsoft” to try it; local accounts keep working.")
}
