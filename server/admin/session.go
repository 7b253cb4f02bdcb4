package admin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	gosync "sync"
	"time"

	"github.com/lintelhq/lintel/server/devices"
	"github.com/lintelhq/lintel/server/store"
)

const (
	sessionCookie   = "lintel_session"
	sessionLifetime = 12 * time.Hour
)

type ctxKey int

const (
	sessionKey ctxKey = iota
	clientAddrKey
)

// sessionOf returns the logged-in session of a request that passed
// requireSession.
func sessionOf(r *http.Request) store.Session {
	s, _ := r.Context().Value(sessionKey).(store.Session)
	return s
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// session returns the request's live session, if any.
func (s *Server) session(r *http.Request) (store.Session, string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return store.Session{}, "", false
	}
	hash := devices.HashToken(c.Value)
	sess, err := s.opts.Store.Session(hash, s.opts.Now())
	if err != nil {
		return store.Session{}, "", false
	}
	return sess, hash, true
}

// startSession logs an admin in: a fresh random session id in an
// HttpOnly, SameSite=Strict cookie (Secure under TLS), stored only hashed.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, admin string) error {
	return s.startSessionAs(w, r, admin, "")
}

// startSessionAs is startSession with the role a person signed in with
// Entra ID was mapped to ("" for a local account).
func (s *Server) startSessionAs(w http.ResponseWriter, r *http.Request, admin, role string) error {
	id := randomToken()
	now := s.opts.Now()
	sess := store.Session{Admin: admin, Role: role, CSRF: randomToken(), Created: now.UTC(), Expires: now.Add(sessionLifetime).UTC()}
	if err := s.opts.Store.PutSession(devices.HashToken(id), sess); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/", MaxAge: int(sessionLifetime.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isTLS(r),
	})
	return nil
}

func isTLS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// requireSession lets a logged-in admin through and sends anyone else to
// the login page. Every request that changes something must carry the
// session's CSRF token (a form field "csrf" or the X-CSRF-Token header):
// the token is tied to the session, so neither another site nor another
// admin's page can make the change.
func (s *Server) requireSession(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _, ok := s.session(r)
		if !ok {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "not logged in", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !validCSRF(r, sess) {
			http.Error(w, "this form has expired or did not come from Lintel: reload the page and try again", http.StatusForbidden)
			return
		}
		pr, ok := s.sessionPrincipal(sess)
		if !ok { // the account was removed
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		r = withPrincipal(r.WithContext(context.WithValue(r.Context(), sessionKey, sess)), pr)
		if ok, why := pr.may(r); !ok {
			s.renderPage(w, r, http.StatusForbidden, "denied", "Not allowed", why, nil)
			return
		}
		h(w, r)
	})
}

func validCSRF(r *http.Request, sess store.Session) bool {
	token := r.Header.Get("X-CSRF-Token")
	if token == "" {
		token = r.PostFormValue("csrf")
	}
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRF)) == 1
}

// limiter counts failures per address in a sliding window (sign-in with
// Microsoft; the password login has loginLimiter).
type limiter struct {
	mu    gosync.Mutex
	limit int
	span  time.Duration
	fails map[string][]time.Time
}

func newLimiter(limit int, span time.Duration) *limiter {
	return &limiter{limit: limit, span: span, fails: map[string][]time.Time{}}
}

// blocked reports whether addr has used up its failures at now.
func (l *limiter) blocked(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	kept := l.fails[addr][:0]
	for _, t := range l.fails[addr] {
		if now.Sub(t) < l.span {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 {
		delete(l.fails, addr)
		return false
	}
	l.fails[addr] = kept
	return len(kept) >= l.limit
}

func (l *limiter) fail(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fails[addr] = append(l.fails[addr], now)
}

// clientAddr is the address a request came from, without its port: as
// Opts.ClientAddr tells it (ServeHTTP), else the peer's.
func clientAddr(r *http.Request) string {
	if a, ok := r.Context().Value(clientAddrKey).(string); ok && a != "" {
		return a
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
