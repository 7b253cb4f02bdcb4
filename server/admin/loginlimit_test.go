package admin

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestLoginDelayDoubles: after its free failures a key waits 1 s, 2 s,
// 4 s, ... up to 5 minutes after each attempt, and is forgiven after an
// hour without one; a success forgives the address.
func TestLoginDelayDoubles(t *testing.T) {
	l := newLoginLimiter()
	start := time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC)
	r := httptest.NewRequest("POST", "/login", nil)
	keys := l.keysFor(r, "203.0.113.5", "admin")
	now := start
	for i := range loginAddrFree {
		if _, ok := l.reserve(keys, now); !ok {
			t.Fatalf("free attempt %d refused", i)
		}
	}
	for _, want := range []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300} {
		want *= time.Second
		wait, ok := l.reserve(keys, now)
		if ok || wait != want {
			t.Fatalf("right after an attempt: wait %s ok %v, want %s", wait, ok, want)
		}
		now = now.Add(want - time.Millisecond)
		if _, ok := l.reserve(keys, now); ok {
			t.Fatalf("allowed before %s passed", want)
		}
		now = now.Add(time.Millisecond)
		if _, ok := l.reserve(keys, now); !ok {
			t.Fatalf("refused after %s", want)
		}
	}
	// Per second, the figures the doc comment gives: count what an
	// attacker trying all the time gets through in the first hour.
	for _, c := range []struct {
		name string
		free int
		want int
	}{{"address", loginAddrFree, 24}, {"username", loginUserFree, 29}} {
		n, at := 0, start
		for at.Sub(start) < time.Hour {
			n++
			at = at.Add(loginDelay(n, c.free))
		}
		t.Logf("per %s: %d checks in the first hour (%.4f/s), then one every %s", c.name, n, float64(n)/3600, loginMaxDelay)
		if n != c.want {
			t.Errorf("per %s: %d in the first hour, want %d", c.name, n, c.want)
		}
	}
	// An hour without attempts forgives.
	now = now.Add(loginForget)
	if _, ok := l.reserve(keys, now); !ok {
		t.Error("refused after an hour without attempts")
	}
	l.succeeded(keys)
	for i := range loginAddrFree - 1 {
		if _, ok := l.reserve(l.keysFor(r, "203.0.113.5", "someone"), now); !ok {
			t.Fatalf("attempt %d after a success refused", i)
		}
	}
}

// TestDeviceCookie: a browser that logged in as a username is counted on
// its own key for that username only; a forged or foreign cookie is not.
func TestDeviceCookie(t *testing.T) {
	l := newLoginLimiter()
	rec := httptest.NewRecorder()
	l.trustDevice(rec, httptest.NewRequest("POST", "/login", nil), "Facilities")
	cookie := rec.Result().Cookies()[0]
	with := func(c *http.Cookie) *http.Request {
		r := httptest.NewRequest("POST", "/login", nil)
		r.AddCookie(c)
		return r
	}
	if _, ok := l.device(with(cookie), "facilities"); !ok {
		t.Error("the device cookie is not the username's")
	}
	if _, ok := l.device(with(cookie), "other"); ok {
		t.Error("the device cookie counts for another username")
	}
	forged := *cookie
	forged.Value = "someid." + "AAAA"
	if _, ok := l.device(with(&forged), "facilities"); ok {
		t.Error("a forged device cookie counts")
	}
	if k := l.keysFor(with(cookie), "198.51.100.1", "facilities"); k[1].id[:7] != "device:" {
		t.Errorf("keys with the cookie: %v", k)
	}
	if k := newLoginLimiter().keysFor(with(cookie), "198.51.100.1", "facilities"); k[1].id[:5] != "user:" {
		t.Errorf("a cookie of another process (restart) counts: %v", k)
	}
}

// TestSafeNext: a redirect after login stays on this site.
func TestSafeNextAttacks(t *testing.T) {
	for next, want := range map[string]string{
		"/rooms/rigi":         "/rooms/rigi",
		"/devices?x=1#frag":   "/devices?x=1#frag",
		"/rooms/a%20b":        "/rooms/a%20b",
		"":                    "/rooms",
		"rooms":               "/rooms",
		`/\evil.example`:      "/rooms",
		`\\evil.example`:      "/rooms",
		"//evil":              "/rooms",
		"///evil":             "/rooms",
		"https://evil":        "/rooms",
		"https:/evil":         "/rooms",
		"javascript:alert(1)": "/rooms",
		"/%5cevil":            "/rooms",
		"/%5Cevil":            "/rooms",
		"/%2f%2fevil":         "/rooms",
		"/%2F/evil":           "/rooms",
		"/\t/evil":            "/rooms",
		"/%09/evil":           "/rooms",
		"/\n/evil":            "/rooms",
		"/rooms/%zz":          "/rooms",
		"/ok\x00":             "/rooms",
		"//evil@good/":        "/rooms",
		"/.//evil":            "/.//evil", // a path on this site: no browser reads a host in it
		"/../evil":            "/../evil",
		"/rooms?next=//evil":  "/rooms?next=//evil",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}
