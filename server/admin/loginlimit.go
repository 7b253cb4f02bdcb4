package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	gosync "sync"
	"time"

	"github.com/lintelhq/lintel/server/clientaddr"
)

// Login limits. A password check is reserved before it is made, on the
// client's address and on the username (or, from a browser this username
// logged in with before, on that browser), and each key allows a few
// failures and then one attempt after a delay that doubles with every
// further failure, up to loginMaxDelay. Failures are forgotten after
// loginForget without one.
//
// What that allows: from one address 5 checks at once, then 1 after 1 s,
// 2 s, 4 s, ... 256 s, then one every 5 minutes: 10 in the first minute,
// about 24 in the first hour, 12 an hour after. For one username, from
// any number of addresses together, 10 at once and then the same
// doubling: about 29 in the first hour, 12 an hour after. An attacker
// guessing the admin's password from many addresses delays the admin's
// username, not the admin: a browser the admin logged in with before
// carries a signed cookie and is counted on its own key instead.
const (
	loginAddrFree   = 5
	loginUserFree   = 10
	loginDeviceFree = 5
	loginBaseDelay  = time.Second
	loginMaxDelay   = 5 * time.Minute
	loginForget     = time.Hour

	// deviceCookie marks a browser that logged in as a username before.
	deviceCookie   = "lintel_device"
	deviceLifetime = 90 * 24 * time.Hour
)

// loginLimiter counts login attempts by key.
type loginLimiter struct {
	mu    gosync.Mutex
	keys  map[string]*loginAttempts
	swept time.Time
	// secret signs device cookies and hashes usernames for the logs; it
	// lives as long as the process (a restart only forgets devices).
	secret []byte
}

// loginAttempts are one key's attempts: failures (and checks in flight)
// since the key was last forgiven, and when the last one was reserved.
type loginAttempts struct {
	fails int
	last  time.Time
}

// loginKey is one thing a login attempt counts against.
type loginKey struct {
	id   string
	free int
}

func newLoginLimiter() *loginLimiter {
	secret := make([]byte, 32)
	rand.Read(secret)
	return &loginLimiter{keys: map[string]*loginAttempts{}, secret: secret}
}

// loginDelay is how long after its last attempt a key with fails failures
// waits.
func loginDelay(fails, free int) time.Duration {
	n := fails - free
	switch {
	case n < 0:
		return 0
	case n >= 20:
		return loginMaxDelay
	}
	return min(loginBaseDelay<<n, loginMaxDelay)
}

// keysFor are the keys of a login attempt by username from addr, with
// the request's device cookie (a browser this username logged in with).
func (l *loginLimiter) keysFor(r *http.Request, addr, username string) []loginKey {
	keys := []loginKey{{id: "addr:" + clientaddr.Key(addr), free: loginAddrFree}}
	if dev, ok := l.device(r, username); ok {
		return append(keys, loginKey{id: "device:" + dev, free: loginDeviceFree})
	}
	return append(keys, loginKey{id: "user:" + l.hash(strings.ToLower(username)), free: loginUserFree})
}

// reserve counts an attempt on every key, before the password is checked,
// or refuses it with how long to wait: concurrent attempts cannot all
// pass before the first failure is counted.
func (l *loginLimiter) reserve(keys []loginKey, now time.Time) (wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	for _, k := range keys {
		a := l.keys[k.id]
		if a == nil {
			continue
		}
		if w := a.last.Add(loginDelay(a.fails, k.free)).Sub(now); w > wait {
			wait = w
		}
	}
	if wait > 0 {
		return wait, false
	}
	for _, k := range keys {
		a := l.keys[k.id]
		if a == nil {
			a = &loginAttempts{}
			l.keys[k.id] = a
		}
		a.fails++
		a.last = now
	}
	return 0, true
}

// succeeded forgives the address and the device, and gives the username
// its attempt back (others may still be guessing it).
func (l *loginLimiter) succeeded(keys []loginKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		a := l.keys[k.id]
		switch {
		case a == nil:
		case strings.HasPrefix(k.id, "user:") && a.fails > 1:
			a.fails--
		default:
			delete(l.keys, k.id)
		}
	}
}

// sweep drops the keys forgiven by time, once a minute.
func (l *loginLimiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for id, a := range l.keys {
		if now.Sub(a.last) >= loginForget {
			delete(l.keys, id)
		}
	}
}

// hash is a short keyed hash of s: a username in the limiter's keys and
// in the logs (a mistyped username may be a password).
func (l *loginLimiter) hash(s string) string {
	m := hmac.New(sha256.New, l.secret)
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil)[:6])
}

// deviceMAC signs a device id for a username.
func (l *loginLimiter) deviceMAC(id, username string) string {
	m := hmac.New(sha256.New, l.secret)
	m.Write([]byte("device\x00" + id + "\x00" + strings.ToLower(username)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// device returns the id of the request's device cookie when it was given
// to a browser that logged in as username.
func (l *loginLimiter) device(r *http.Request, username string) (string, bool) {
	c, err := r.Cookie(deviceCookie)
	if err != nil || len(c.Value) > 200 {
		return "", false
	}
	id, mac, ok := strings.Cut(c.Value, ".")
	if !ok || id == "" || !hmac.Equal([]byte(mac), []byte(l.deviceMAC(id, username))) {
		return "", false
	}
	return id, true
}

// trustDevice gives the browser that just logged in as username a device
// cookie (only the login form reads it).
func (l *loginLimiter) trustDevice(w http.ResponseWriter, r *http.Request, username string) {
	id := randomToken()[:22]
	if old, ok := l.device(r, username); ok {
		id = old
	}
	http.SetCookie(w, &http.Cookie{
		Name: deviceCookie, Value: id + "." + l.deviceMAC(id, username), Path: "/login",
		MaxAge: int(deviceLifetime.Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isTLS(r),
	})
}
