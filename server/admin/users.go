package admin

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/lintelhq/lintel/server/devices"
	"github.com/lintelhq/lintel/server/store"
)

// User is a local account as the API shows it (never its password hash).
type User struct {
	Username string    `json:"username"`
	Role     string    `json:"role"`
	Created  time.Time `json:"created"`
}

func userOf(a store.Admin) User {
	return User{Username: a.Username, Role: accountRole(a), Created: a.Created}
}

// CreateUser adds a local account with a role; ErrExists if the username
// is taken.
func CreateUser(db AccountStore, username, password, role string, now time.Time) (User, error) {
	if !slices.Contains(Roles, role) {
		return User{}, fmt.Errorf("admin: the role is admin or helpdesk, not %q", role)
	}
	if _, err := db.Admin(username); err == nil {
		return User{}, fmt.Errorf("admin: user %q: %w", username, store.ErrExists)
	}
	hash, err := hashPassword(username, password)
	if err != nil {
		return User{}, err
	}
	a := store.Admin{Username: username, PasswordHash: hash, Created: now.UTC(), Role: role}
	if err := db.PutAdmin(a); err != nil {
		return User{}, fmt.Errorf("admin: %w", err)
	}
	return userOf(a), nil
}

func hashPassword(username, password string) ([]byte, error) {
	if username == "" || len(username) > 64 || strings.ContainsAny(username, "/?#% \t\r\n") {
		return nil, errors.New("admin: a username is 1 to 64 characters, without spaces, '/', '?', '#' or '%'")
	}
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return nil, fmt.Errorf("admin: the password must be at least %d characters", MinPasswordLength)
	}
	if len(password) > 72 {
		return nil, errors.New("admin: the password must be at most 72 bytes (bcrypt's limit)")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return nil, fmt.Errorf("admin: hash password: %w", err)
	}
	return hash, nil
}

// PasswordChange is what ChangePassword did besides the password.
type PasswordChange struct {
	SessionsEnded int `json:"sessions_ended"`
	TokensRevoked int `json:"tokens_revoked"`
}

// ChangePassword gives an account a new password and ends its sessions,
// all but the one stored under keepHash (the browser that made the
// change; "" for none). With revokeTokens it also revokes the API tokens
// the account made.
//
// Tokens outlive a routine password change: they are named, scoped, listed
// and revoked one by one, and scripts should not break because a person
// changed a password. After a lost or stolen password (admin
// reset-password) they are revoked, since whoever had the password may
// have made one.
func ChangePassword(db CredentialStore, username, password, keepHash string, revokeTokens bool, now time.Time) (PasswordChange, error) {
	hash, err := hashPassword(username, password)
	if err != nil {
		return PasswordChange{}, err
	}
	if _, err := db.UpdateAdmin(username, func(a *store.Admin) error { a.PasswordHash = hash; return nil }); err != nil {
		return PasswordChange{}, fmt.Errorf("admin: %w", err)
	}
	var ch PasswordChange
	if ch.SessionsEnded, err = db.DeleteSessionsOf(username, keepHash); err != nil {
		return ch, fmt.Errorf("admin: end %s's sessions: %w", username, err)
	}
	if revokeTokens {
		if ch.TokensRevoked, err = db.RevokeAPITokensOf(username, now); err != nil {
			return ch, fmt.Errorf("admin: revoke %s's API tokens: %w", username, err)
		}
	}
	return ch, nil
}

// SetRole changes an account's role; the last admin keeps theirs.
func SetRole(db AccountStore, username, role string) (User, error) {
	if !slices.Contains(Roles, role) {
		return User{}, fmt.Errorf("admin: the role is admin or helpdesk, not %q", role)
	}
	a, err := db.UpdateAdmin(username, func(a *store.Admin) error { a.Role = role; return nil })
	if err != nil {
		return User{}, fmt.Errorf("admin: %w", err)
	}
	return userOf(a), nil
}

// userError maps account errors to API statuses.
func userError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrLastAdmin):
		return httpError(http.StatusConflict, "%v", err)
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExists):
		return err
	}
	return httpError(http.StatusBadRequest, "%v", err)
}

func (s *Server) accountRoutes() {
	api := func(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
		s.mux.Handle(pattern, s.requireAPI(h))
	}
	api("GET /api/v1/users", s.listUsers)
	api("POST /api/v1/users", s.createUser)
	api("PUT /api/v1/users/{user}", s.putUser)
	api("DELETE /api/v1/users/{user}", s.deleteUser)
	api("GET /api/v1/tokens", s.listTokens)
	api("POST /api/v1/tokens", s.createToken)
	api("POST /api/v1/tokens/{token}/revoke", s.revokeToken)
	ui := func(pattern string, h http.HandlerFunc) { s.mux.Handle(pattern, s.requireSession(h)) }
	ui("GET /users", s.usersPage)
	ui("POST /users", s.usersCreateForm)
	ui("POST /users/{user}/{action}", s.userAction)
	ui("GET /tokens", s.tokensPage)
	ui("POST /tokens", s.tokensCreateForm)
	ui("POST /tokens/{token}/revoke", s.tokenRevokeForm)
	ui("GET /account", s.accountPage)
	ui("POST /account/password", s.accountPassword)
}

func (s *Server) users() ([]User, error) {
	list, err := s.opts.Store.AdminList()
	if err != nil {
		return nil, err
	}
	out := []User{}
	for _, a := range list {
		out = append(out, userOf(a))
	}
	return out, nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	users, err := s.users()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, users)
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Username string `json:"username"`
		Role     string `json:"role"`
		Password string `json:"password"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	u, err := CreateUser(s.opts.Store, req.Username, req.Password, req.Role, s.opts.Now())
	if err != nil {
		return userError(err)
	}
	s.log.Info("user created", "user", u.Username, "role", u.Role, "by", who(r))
	writeJSON(w, http.StatusCreated, u)
	return nil
}

// putUser changes a role and/or a password. A new password ends the
// user's other sessions (the caller's own browser session stays).
func (s *Server) putUser(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Role         string `json:"role,omitempty"`
		Password     string `json:"password,omitempty"`
		RevokeTokens bool   `json:"revoke_tokens,omitempty"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	name := r.PathValue("user")
	a, err := s.opts.Store.Admin(name)
	if err != nil {
		return err
	}
	if req.Role == "" && req.Password == "" && !req.RevokeTokens {
		return httpError(http.StatusBadRequest, "send a new role, a new password, or both")
	}
	answer := struct {
		User
		PasswordChange
	}{User: userOf(a)}
	if req.Role != "" && req.Role != answer.Role {
		if answer.User, err = SetRole(s.opts.Store, name, req.Role); err != nil {
			return userError(err)
		}
		s.log.Info("user's role changed", "user", name, "role", req.Role, "by", who(r))
	}
	if req.Password != "" {
		if answer.PasswordChange, err = ChangePassword(s.opts.Store, name, req.Password, s.ownSession(r, name), req.RevokeTokens, s.opts.Now()); err != nil {
			return userError(err)
		}
		s.log.Info("user's password changed", "user", name, "by", who(r), "sessions_ended", answer.SessionsEnded, "tokens_revoked", answer.TokensRevoked)
	} else if req.RevokeTokens {
		if answer.TokensRevoked, err = s.opts.Store.RevokeAPITokensOf(name, s.opts.Now()); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, answer)
	return nil
}

// ownSession is the hash of the caller's session when it is user's own
// (kept when user's password changes), else "".
func (s *Server) ownSession(r *http.Request, user string) string {
	if pr := principalOf(r); pr.Token != nil || pr.User != user || !pr.Local {
		return ""
	}
	_, hash, _ := s.session(r)
	return hash
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("user")
	if err := s.opts.Store.DeleteAdmin(name, s.opts.Now()); err != nil {
		return userError(err)
	}
	s.log.Info("user removed", "user", name, "by", who(r))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Token is an API token as lists show it: never the token itself.
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Scope     string     `json:"scope"`
	CreatedBy string     `json:"created_by"`
	Created   time.Time  `json:"created"`
	Expires   *time.Time `json:"expires"`
	LastUsed  *time.Time `json:"last_used"`
	Revoked   *time.Time `json:"revoked"`
	// State is "active", "expired" or "revoked".
	State string `json:"state"`
}

func tokenOf(t store.APIToken, now time.Time) Token {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	out := Token{ID: t.ID, Name: t.Name, Scope: t.Scope, CreatedBy: t.Admin, Created: t.Created,
		Expires: opt(t.Expires), LastUsed: opt(t.LastUsed), Revoked: opt(t.Revoked), State: "active"}
	switch {
	case !t.Revoked.IsZero():
		out.State = "revoked"
	case !t.Expires.IsZero() && !now.Before(t.Expires):
		out.State = "expired"
	}
	return out
}

// NewAPIToken creates an admin-scope API token that does not expire and
// returns it; the store keeps only its hash.
func NewAPIToken(db TokenStore, name, admin string, now time.Time) (string, error) {
	token, _, err := CreateAPIToken(db, TokenSpec{Name: name, Scope: ScopeAdmin, Admin: admin}, now)
	return token, err
}

// TokenSpec is what a new API token is.
type TokenSpec struct {
	Name  string
	Scope string // ScopeRead, ScopeDevices or ScopeAdmin
	Admin string // who makes it
	// Expires: zero for never; else after now.
	Expires time.Time
}

// CreateAPIToken makes an API token and returns it (the one time it is
// seen) with its listing; the store keeps only its hash.
func CreateAPIToken(db TokenStore, spec TokenSpec, now time.Time) (string, Token, error) {
	spec.Name = strings.TrimSpace(spec.Name)
	switch {
	case spec.Name == "" || utf8.RuneCountInString(spec.Name) > 64:
		return "", Token{}, errors.New("admin: a token's name is 1 to 64 characters: say what it is for")
	case !slices.Contains(Scopes, spec.Scope):
		return "", Token{}, fmt.Errorf("admin: a token's scope is read, devices or admin, not %q", spec.Scope)
	case !spec.Expires.IsZero() && !spec.Expires.After(now):
		return "", Token{}, errors.New("admin: a token's expiry must be in the future")
	}
	token := "lintel_api_" + randomToken()
	hash := devices.HashToken(token)
	t := store.APIToken{Name: spec.Name, Admin: spec.Admin, Scope: spec.Scope, Created: now.UTC(), Expires: spec.Expires.UTC()}
	if spec.Expires.IsZero() {
		t.Expires = time.Time{}
	}
	if err := db.PutAPIToken(hash, t); err != nil {
		return "", Token{}, fmt.Errorf("admin: create API token: %w", err)
	}
	t, err := db.APIToken(hash)
	if err != nil {
		return "", Token{}, fmt.Errorf("admin: create API token: %w", err)
	}
	return token, tokenOf(t, now), nil
}

func (s *Server) tokens() ([]Token, error) {
	list, err := s.opts.Store.APITokens()
	if err != nil {
		return nil, err
	}
	now := s.opts.Now()
	out := []Token{}
	for _, t := range list {
		out = append(out, tokenOf(t, now))
	}
	return out, nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	list, err := s.tokens()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name    string    `json:"name"`
		Scope   string    `json:"scope"`
		Expires time.Time `json:"expires,omitzero"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	token, info, err := CreateAPIToken(s.opts.Store, TokenSpec{Name: req.Name, Scope: req.Scope, Admin: principalOf(r).User, Expires: req.Expires}, s.opts.Now())
	if err != nil {
		return httpError(http.StatusBadRequest, "%v", err)
	}
	s.log.Info("API token created", "id", info.ID, "name", info.Name, "scope", info.Scope, "by", who(r))
	// The one time the token is shown.
	writeJSON(w, http.StatusCreated, map[string]any{"token": token, "info": info})
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	t, err := s.opts.Store.RevokeAPIToken(r.PathValue("token"), s.opts.Now())
	if err != nil {
		return err
	}
	s.log.Info("API token revoked", "id", t.ID, "name", t.Name, "by", who(r))
	writeJSON(w, http.StatusOK, tokenOf(t, s.opts.Now()))
	return nil
}

// The pages.

type usersData struct {
	Users []User
	Roles []string
	Me    string
	// The add form as typed, after an error.
	Username, Role string
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request) {
	s.showUsers(w, r, http.StatusOK, r.URL.Query().Get("err"), usersData{Role: RoleHelpdesk})
}

func (s *Server) showUsers(w http.ResponseWriter, r *http.Request, status int, errText string, d usersData) {
	users, err := s.users()
	if err != nil {
		http.Error(w, "cannot read the store", http.StatusInternalServerError)
		return
	}
	d.Users, d.Roles, d.Me = users, Roles, principalOf(r).User
	s.renderPage(w, r, status, "users", "Users", errText, d)
}

func (s *Server) usersCreateForm(w http.ResponseWriter, r *http.Request) {
	name, role := strings.TrimSpace(r.PostFormValue("username")), r.PostFormValue("role")
	u, err := CreateUser(s.opts.Store, name, r.PostFormValue("password"), role, s.opts.Now())
	if err != nil {
		msg := title(strings.TrimPrefix(err.Error(), "admin: "))
		if errors.Is(err, store.ErrExists) {
			msg = "There is a user " + name + " already."
		}
		s.showUsers(w, r, http.StatusBadRequest, msg, usersData{Username: name, Role: role})
		return
	}
	s.log.Info("user created", "user", u.Username, "role", u.Role, "by", who(r))
	back(w, r, "/users", "msg", fmt.Sprintf("Added %s (%s).", u.Username, u.Role))
}

func (s *Server) userAction(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("user")
	if _, err := s.opts.Store.Admin(name); err != nil {
		back(w, r, "/users", "err", "No such user.")
		return
	}
	fail := func(err error) {
		back(w, r, "/users", "err", title(strings.TrimPrefix(strings.TrimPrefix(err.Error(), "admin: "), "store: ")))
	}
	switch r.PathValue("action") {
	case "role":
		u, err := SetRole(s.opts.Store, name, r.PostFormValue("role"))
		if err != nil {
			fail(err)
			return
		}
		s.log.Info("user's role changed", "user", name, "role", u.Role, "by", who(r))
		back(w, r, "/users", "msg", fmt.Sprintf("%s is now %s.", name, u.Role))
	case "password":
		ch, err := ChangePassword(s.opts.Store, name, r.PostFormValue("password"), s.ownSession(r, name), r.PostFormValue("revoke_tokens") == "yes", s.opts.Now())
		if err != nil {
			fail(err)
			return
		}
		s.log.Info("user's password changed", "user", name, "by", who(r), "sessions_ended", ch.SessionsEnded, "tokens_revoked", ch.TokensRevoked)
		back(w, r, "/users", "msg", fmt.Sprintf("New password set for %s: %s logged out, %s revoked.", name, plural(ch.SessionsEnded, "session"), plural(ch.TokensRevoked, "API token")))
	case "remove":
		if r.PostFormValue("confirm") != "yes" {
			back(w, r, "/users", "err", "Nobody removed: confirm with the button in the box.")
			return
		}
		if err := s.opts.Store.DeleteAdmin(name, s.opts.Now()); err != nil {
			fail(err)
			return
		}
		s.log.Info("user removed", "user", name, "by", who(r))
		back(w, r, "/users", "msg", name+" was removed: logged out, and the API tokens they made are revoked.")
	default:
		http.Error(w, "unknown action", http.StatusNotFound)
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

type tokensData struct {
	Tokens []Token
	Scopes []string
	// New is the token just made, shown this once.
	New     string
	NewInfo Token
	// The form as typed, after an error.
	Name, Scope, Expires string
}

func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request) {
	s.showTokens(w, r, http.StatusOK, r.URL.Query().Get("err"), tokensData{Scope: ScopeRead, Expires: "90"})
}

func (s *Server) showTokens(w http.ResponseWriter, r *http.Request, status int, errText string, d tokensData) {
	list, err := s.tokens()
	if err != nil {
		http.Error(w, "cannot read the store", http.StatusInternalServerError)
		return
	}
	d.Tokens, d.Scopes = list, Scopes
	s.renderPage(w, r, status, "tokens", "API tokens", errText, d)
}

// expiryChoices are the token page's expiry choices, in days ("" never).
var expiryChoices = map[string]int{"": 0, "7": 7, "30": 30, "90": 90, "365": 365}

func (s *Server) tokensCreateForm(w http.ResponseWriter, r *http.Request) {
	d := tokensData{Name: strings.TrimSpace(r.PostFormValue("name")), Scope: r.PostFormValue("scope"), Expires: r.PostFormValue("expires")}
	days, ok := expiryChoices[d.Expires]
	if !ok {
		s.showTokens(w, r, http.StatusBadRequest, "Pick when the token expires from the list.", d)
		return
	}
	now := s.opts.Now()
	var expires time.Time
	if days > 0 {
		expires = now.AddDate(0, 0, days)
	}
	token, info, err := CreateAPIToken(s.opts.Store, TokenSpec{Name: d.Name, Scope: d.Scope, Admin: principalOf(r).User, Expires: expires}, now)
	if err != nil {
		s.showTokens(w, r, http.StatusBadRequest, title(strings.TrimPrefix(err.Error(), "admin: ")), d)
		return
	}
	s.log.Info("API token created", "id", info.ID, "name", info.Name, "scope", info.Scope, "by", who(r))
	// Shown in this answer only: not in a URL, not stored.
	s.showTokens(w, r, http.StatusOK, "", tokensData{New: token, NewInfo: info, Scope: ScopeRead, Expires: "90"})
}

func (s *Server) tokenRevokeForm(w http.ResponseWriter, r *http.Request) {
	if r.PostFormValue("confirm") != "yes" {
		back(w, r, "/tokens", "err", "Nothing revoked: confirm with the button in the box.")
		return
	}
	t, err := s.opts.Store.RevokeAPIToken(r.PathValue("token"), s.opts.Now())
	if err != nil {
		back(w, r, "/tokens", "err", "No such API token.")
		return
	}
	s.log.Info("API token revoked", "id", t.ID, "name", t.Name, "by", who(r))
	back(w, r, "/tokens", "msg", "The API token "+t.Name+" was revoked: it is refused from now on.")
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) {
	pr := principalOf(r)
	s.render(w, r, "account", "Your account", map[string]any{"User": pr.User, "Role": pr.Role, "Local": pr.Local})
}

// accountPassword changes the caller's own password (the current one is
// asked again) and logs out their other browsers.
func (s *Server) accountPassword(w http.ResponseWriter, r *http.Request) {
	pr := principalOf(r)
	data := map[string]any{"User": pr.User, "Role": pr.Role, "Local": pr.Local}
	if !pr.Local {
		s.renderError(w, r, "account", "Your account", "Your password is your Microsoft account's: change it there.", data)
		return
	}
	if !CheckPassword(s.opts.Store, pr.User, r.PostFormValue("current")) {
		s.log.Warn("wrong current password on a password change", "user", pr.User, "addr", clientAddr(r))
		s.renderError(w, r, "account", "Your account", "Your current password is not that.", data)
		return
	}
	if r.PostFormValue("password") != r.PostFormValue("again") {
		s.renderError(w, r, "account", "Your account", "The new password and its repetition differ.", data)
		return
	}
	ch, err := ChangePassword(s.opts.Store, pr.User, r.PostFormValue("password"), s.ownSession(r, pr.User), r.PostFormValue("revoke_tokens") == "yes", s.opts.Now())
	if err != nil {
		s.renderError(w, r, "account", "Your account", title(strings.TrimPrefix(err.Error(), "admin: ")), data)
		return
	}
	s.log.Info("password changed", "user", pr.User, "sessions_ended", ch.SessionsEnded, "tokens_revoked", ch.TokensRevoked)
	back(w, r, "/account", "msg", fmt.Sprintf("Password changed. %s logged out elsewhere; %s revoked.", plural(ch.SessionsEnded, "other session"), plural(ch.TokensRevoked, "API token")))
}
