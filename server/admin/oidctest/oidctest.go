// Package oidctest is an OpenID Connect provider for tests, shaped like
// Microsoft Entra ID's v2.0 endpoints: discovery, JWKS, an authorize page
// where the test picks who signs in, and a token endpoint that checks the
// client secret and the PKCE verifier and issues RS256-signed ID tokens
// with Entra's claims (oid, tid, preferred_username, groups, roles). It
// can tamper with the next ID token (a broken signature, a wrong nonce) to
// test that a relying party refuses it. It serves over TLS
// (httptest.NewTLSServer) and is not linked into the server binary.
package oidctest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	gosync "sync"
	"time"
)

// User is someone who can sign in at the provider.
type User struct {
	Username string   // preferred_username, e.g. ada@contoso.test
	Name     string   // display name
	OID      string   // object ID
	Groups   []string // group object IDs, in the "groups" claim
	Roles    []string // app role values, in the "roles" claim
	// TooManyGroups leaves "groups" out and points to Graph instead, as
	// Entra ID does for someone in more than 200 groups.
	TooManyGroups bool
}

// Opts configure a Provider.
type Opts struct {
	Tenant       string // default "11111111-2222-3333-4444-555555555555"
	ClientID     string // required
	ClientSecret string // required
	RedirectURL  string // required: the only redirect URI registered
	Users        []User
	Now          func() time.Time // the clock tokens are dated by; default time.Now
}

// Tampering the next ID token can suffer.
const (
	TamperSignature = "signature" // a claim changed after signing
	TamperNonce     = "nonce"     // signed, but for another sign-in's nonce
	TamperAudience  = "audience"  // signed, but for another app
	TamperExpired   = "expired"   // signed, but expired an hour ago
)

// Provider is the running provider.
type Provider struct {
	*httptest.Server
	Issuer string
	opts   Opts
	key    *rsa.PrivateKey
	kid    string

	mu     gosync.Mutex
	codes  map[string]grant
	tamper string
	issued int
}

// grant is what an authorization code stands for.
type grant struct {
	user          User
	nonce         string
	challenge     string
	redirect      string
	expires       time.Time
	clientID      string
	challengeMeth string
}

// New starts a provider on a TLS loopback server.
func New(opts Opts) *Provider {
	if opts.Tenant == "" {
		opts.Tenant = "11111111-2222-3333-4444-555555555555"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	p := &Provider{opts: opts, key: key, kid: "lintel-test-key-1", codes: map[string]grant{}}
	mux := http.NewServeMux()
	base := "/" + opts.Tenant
	mux.HandleFunc("GET "+base+"/v2.0/.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET "+base+"/discovery/v2.0/keys", p.jwks)
	mux.HandleFunc("GET "+base+"/oauth2/v2.0/authorize", p.authorizePage)
	mux.HandleFunc("POST "+base+"/oauth2/v2.0/authorize", p.authorize)
	mux.HandleFunc("POST "+base+"/oauth2/v2.0/token", p.token)
	p.Server = httptest.NewTLSServer(mux)
	p.Issuer = p.URL + base + "/v2.0"
	return p
}

// Tamper makes the next ID token issued suffer kind.
func (p *Provider) Tamper(kind string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = kind
}

// Issued counts the ID tokens issued.
func (p *Provider) Issued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.issued
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	base := p.URL + "/" + p.opts.Tenant
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.Issuer,
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_types_supported":              []string{"code", "id_token", "code id_token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{map[string]any{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": p.kid,
		"n": b64(p.key.N.Bytes()), "e": b64(big.NewInt(int64(p.key.E)).Bytes()),
	}}})
}

// checkAuthorize validates an authorization request's parameters as Entra
// ID does, before anyone signs in.
func (p *Provider) checkAuthorize(q url.Values) string {
	switch {
	case q.Get("client_id") != p.opts.ClientID:
		return "AADSTS700016: application not found"
	case q.Get("redirect_uri") != p.opts.RedirectURL:
		return "AADSTS50011: the redirect URI does not match the ones registered: " + q.Get("redirect_uri")
	case q.Get("response_type") != "code":
		return "unsupported response_type " + q.Get("response_type")
	case !strings.Contains(" "+q.Get("scope")+" ", " openid "):
		return "the scope lacks openid"
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		return "PKCE with S256 is required"
	case q.Get("state") == "" || q.Get("nonce") == "":
		return "state and nonce are required"
	}
	return ""
}

var pickPage = template.Must(template.New("pick").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · test identity provider</title></head>
<body><h1>Pick an account</h1>
<form method="post">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
{{range .Users}}<p><button name="user" value="{{.Username}}">{{.Name}} ({{.Username}})</button></p>{{end}}
</form></body></html>`))

func (p *Provider) authorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if msg := p.checkAuthorize(q); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	params := map[string]string{}
	for _, k := range []string{"client_id", "redirect_uri", "state", "nonce", "code_challenge", "code_challenge_method", "scope", "response_type"} {
		params[k] = q.Get(k)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	pickPage.Execute(w, map[string]any{"Params": params, "Users": p.opts.Users})
}

// authorize signs the picked user in and sends the browser back with a
// code.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	q := r.PostForm
	if msg := p.checkAuthorize(q); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	var user *User
	for i := range p.opts.Users {
		if p.opts.Users[i].Username == q.Get("user") {
			user = &p.opts.Users[i]
		}
	}
	if user == nil {
		http.Error(w, "no such user", http.StatusBadRequest)
		return
	}
	code := randomString()
	p.mu.Lock()
	p.codes[code] = grant{user: *user, nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), challengeMeth: q.Get("code_challenge_method"),
		redirect: q.Get("redirect_uri"), clientID: q.Get("client_id"), expires: p.opts.Now().Add(5 * time.Minute)}
	p.mu.Unlock()
	back := q.Get("redirect_uri") + "?" + url.Values{"code": {code}, "state": {q.Get("state")}, "session_state": {randomString()}}.Encode()
	http.Redirect(w, r, back, http.StatusFound)
}

// tokenError answers as Entra ID does.
func tokenError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// token exchanges a code for tokens: the client must authenticate, the
// redirect URI must match, and the PKCE verifier must hash to the
// challenge. A code works once.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f := r.PostForm
	clientID, secret, basic := r.BasicAuth()
	if !basic {
		clientID, secret = f.Get("client_id"), f.Get("client_secret")
	}
	if clientID != p.opts.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.opts.ClientSecret)) != 1 {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
		return
	}
	if f.Get("grant_type") != "authorization_code" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code")
		return
	}
	p.mu.Lock()
	g, ok := p.codes[f.Get("code")]
	delete(p.codes, f.Get("code"))
	p.mu.Unlock()
	switch {
	case !ok || p.opts.Now().After(g.expires):
		tokenError(w, http.StatusBadRequest, "invalid_grant", "AADSTS70008: the authorization code is unknown, used or expired.")
		return
	case g.redirect != f.Get("redirect_uri") || g.clientID != clientID:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "AADSTS50011: redirect_uri does not match the authorization request.")
		return
	}
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	if f.Get("code_verifier") == "" || b64(sum[:]) != g.challenge {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.")
		return
	}
	p.mu.Lock()
	tamper := p.tamper
	p.tamper = ""
	p.issued++
	p.mu.Unlock()
	idToken := p.idToken(g, tamper)
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type": "Bearer", "scope": "openid profile email", "expires_in": 3600,
		"access_token": randomString(), "id_token": idToken,
	})
}

// idToken signs an ID token for g, tampered with as asked.
func (p *Provider) idToken(g grant, tamper string) string {
	now := p.opts.Now()
	claims := map[string]any{
		"iss": p.Issuer, "aud": p.opts.ClientID, "sub": "sub-" + g.user.OID,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"nonce": g.nonce, "tid": p.opts.Tenant, "oid": g.user.OID, "ver": "2.0",
		"name": g.user.Name, "preferred_username": g.user.Username, "email": g.user.Username,
	}
	if g.user.TooManyGroups {
		claims["_claim_names"] = map[string]string{"groups": "src1"}
		claims["_claim_sources"] = map[string]any{"src1": map[string]string{"endpoint": "https://graph.microsoft.com/v1.0/users/" + g.user.OID + "/getMemberObjects"}}
	} else if len(g.user.Groups) > 0 {
		claims["groups"] = g.user.Groups
	}
	if len(g.user.Roles) > 0 {
		claims["roles"] = g.user.Roles
	}
	switch tamper {
	case TamperNonce:
		claims["nonce"] = "a-nonce-from-another-sign-in"
	case TamperAudience:
		claims["aud"] = "another-app"
	case TamperExpired:
		claims["iat"], claims["nbf"], claims["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	}
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": p.kid, "typ": "JWT"})
	body, _ := json.Marshal(claims)
	signing := b64(header) + "." + b64(body)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	if tamper == TamperSignature {
		// Promote the user after signing: the signature no longer fits.
		claims["roles"] = []string{"Lintel.Admin"}
		claims["groups"] = []string{"all-the-admins"}
		body, _ = json.Marshal(claims)
		signing = b64(header) + "." + b64(body)
	}
	return signing + "." + b64(sig)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomString() string {
	b := make([]byte, 24)
	rand.Read(b)
	return b64(b)
}

// String names the provider for test logs.
func (p *Provider) String() string { return fmt.Sprintf("oidctest(%s)", p.Issuer) }
