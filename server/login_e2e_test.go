package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/lintelhq/lintel/proto/clock"

	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/clientaddr"
)

// loginFrom posts the login form as if from addr (an X-Forwarded-For hop
// the test's proxy, 127.0.0.1, adds) and returns the status.
func loginFrom(t *testing.T, c *http.Client, base, addr, user, password, next string) *http.Response {
	t.Helper()
	form := url.Values{"username": {user}, "password": {password}}
	if next != "" {
		form.Set("next", next)
	}
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if addr != "" {
		req.Header.Set("X-Forwarded-For", addr)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// noRedirects is a client that shows redirects instead of following them.
func noRedirects(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// frozenClock stops the server's clock at the test's start: the login
// limiter lets a key try again a second after its last failure, so on a
// moving clock a slow machine would see one check more than the limit.
func frozenClock(c *config) { c.Now = clock.Fixed(clock.TestStart(os.Getenv)) }

func trustLoopback(t *testing.T) *clientaddr.Resolver {
	t.Helper()
	r, err := clientaddr.Parse("127.0.0.1/32,::1")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestConcurrentLoginGuessesReservedBeforeTheCheck: 200 wrong passwords
// at once from one address (the attack got all 200 checked, the limit
// counting failures only after the slow check): only the address's free
// attempts are checked, the rest are refused before bcrypt.
func TestConcurrentLoginGuessesReservedBeforeTheCheck(t *testing.T) {
	ts := newTestServerWith(t, frozenClock)
	admin.CreateAdmin(ts.app.db, testAdmin, testPassword, ts.now())
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := loginFrom(t, http.DefaultClient, ts.http.URL, "", testAdmin, fmt.Sprintf("guess number %d", i), "")
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("200 concurrent guesses from one address: %v", codes)
	if codes[http.StatusUnauthorized] != 5 || codes[http.StatusTooManyRequests] != 195 {
		t.Errorf("answers %v: want 5 checked (401) and 195 refused (429)", codes)
	}
}

// TestLoginGuessesFromManyAddresses: 299 wrong passwords and then the
// right one, each from another address (the attack got in at ~6 tries/s):
// the username's own limit lets only a few be checked, and the right
// password arrives when the username must wait. The real admin, on a
// browser that logged in before, still gets in at once; a new browser is
// told how long to wait.
func TestLoginGuessesFromManyAddresses(t *testing.T) {
	ts := newTestServerWith(t, func(c *config) { frozenClock(c); c.TrustedProxy = trustLoopback(t) })
	admin.CreateAdmin(ts.app.db, testAdmin, testPassword, ts.now())
	jar, _ := cookiejar.New(nil)
	adminBrowser := noRedirects(jar)
	if resp := loginFrom(t, adminBrowser, ts.http.URL, "198.51.100.7", testAdmin, testPassword, ""); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the admin's first login: %d", resp.StatusCode)
	}
	checked := 0
	for i := range 300 {
		password := fmt.Sprintf("guess number %d", i)
		if i == 299 {
			password = testPassword
		}
		resp := loginFrom(t, noRedirects(nil), ts.http.URL, fmt.Sprintf("10.%d.%d.1", i/200, i%200), testAdmin, password, "")
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			checked++
		case http.StatusTooManyRequests:
			if resp.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		default:
			t.Fatalf("guess %d: %d", i, resp.StatusCode)
		}
	}
	t.Logf("300 guesses from 300 addresses: %d checked", checked)
	if checked != 10 {
		t.Errorf("%d guesses checked, want the username's 10", checked)
	}
	// Another browser of the admin's, from yet another address.
	if resp := loginFrom(t, noRedirects(nil), ts.http.URL, "198.51.100.8", testAdmin, testPassword, ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the right password on a new browser during the attack: %d, want 429", resp.StatusCode)
	}
	// The admin's browser has its own key: not held up by the attack.
	if resp := loginFrom(t, adminBrowser, ts.http.URL, "198.51.100.7", testAdmin, testPassword, ""); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the admin's own browser during the attack: %d, want a login", resp.StatusCode)
	}
}

// TestLoginBehindATrustedProxy: behind the documented proxy every request
// came from 127.0.0.1, so 5 wrong tries by anyone locked the admin out.
// With --trusted-proxy each client is counted by its forwarded address;
// without it a forged X-Forwarded-For changes nothing.
func TestLoginBehindATrustedProxy(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		t.Run(fmt.Sprintf("trusted=%v", trusted), func(t *testing.T) {
			ts := newTestServerWith(t, func(c *config) {
				frozenClock(c)
				if trusted {
					c.TrustedProxy = trustLoopback(t)
				}
			})
			admin.CreateAdmin(ts.app.db, testAdmin, testPassword, ts.now())
			for i := range 5 {
				loginFrom(t, noRedirects(nil), ts.http.URL, "203.0.113.5", testAdmin, fmt.Sprint("wrong ", i), "")
			}
			// The attacker forges another address: counted by the peer
			// unless the peer is a trusted proxy, which appends the real one.
			spoofed := "192.0.2.99"
			if trusted {
				spoofed += ", 203.0.113.5"
			}
			if resp := loginFrom(t, noRedirects(nil), ts.http.URL, spoofed, testAdmin, "wrong again", ""); resp.StatusCode != http.StatusTooManyRequests {
				t.Errorf("the attacker's 6th try: %d, want 429", resp.StatusCode)
			}
			resp := loginFrom(t, noRedirects(nil), ts.http.URL, "198.51.100.7", testAdmin, testPassword, "")
			if want := map[bool]int{true: http.StatusSeeOther, false: http.StatusTooManyRequests}[trusted]; resp.StatusCode != want {
				t.Errorf("the admin from another address: %d, want %d", resp.StatusCode, want)
			}
		})
	}
}

// TestPanelCapsPerClientBehindAProxy: the per-address cap of unpaired
// panels counts the forwarded client behind a trusted proxy (not the
// proxy, which would let one client take every slot), and only then.
func TestPanelCapsPerClientBehindAProxy(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		t.Run(fmt.Sprintf("trusted=%v", trusted), func(t *testing.T) {
			ts := newTestServerWith(t, func(c *config) {
				c.MaxUnpairedPerAddr = 2
				if trusted {
					c.TrustedProxy = trustLoopback(t)
				}
			})
			dial := func(from string) int {
				h := http.Header{"X-Forwarded-For": {from}}
				conn, resp, err := websocket.DefaultDialer.Dial(ts.wsURL(), h)
				if err != nil {
					if resp == nil {
						t.Fatal(err)
					}
					return resp.StatusCode
				}
				t.Cleanup(func() { conn.Close() })
				return resp.StatusCode
			}
			for i := range 2 {
				if code := dial("203.0.113.5"); code != http.StatusSwitchingProtocols {
					t.Fatalf("unpaired socket %d: %d", i, code)
				}
			}
			if code := dial("203.0.113.5"); code != http.StatusTooManyRequests {
				t.Errorf("third socket from one client: %d, want 429", code)
			}
			want := map[bool]int{true: http.StatusSwitchingProtocols, false: http.StatusTooManyRequests}[trusted]
			if code := dial("198.51.100.7"); code != want {
				t.Errorf("a socket from another client: %d, want %d", code, want)
			}
		})
	}
}

// TestFailedLoginLogsNoTypedUsername: a username that is no admin's (a
// password typed into the wrong field) is not logged; an admin's is.
func TestFailedLoginLogsNoTypedUsername(t *testing.T) {
	ts := newTestServer(t)
	admin.CreateAdmin(ts.app.db, testAdmin, testPassword, ts.now())
	typed := "Secret-Passw0rd-in-the-username"
	loginFrom(t, noRedirects(nil), ts.http.URL, "", typed, "x", "")
	loginFrom(t, noRedirects(nil), ts.http.URL, "", testAdmin, "wrong", "")
	logs := ts.logs.String()
	if strings.Contains(logs, typed) {
		t.Error("the logs hold a typed username that is no admin's")
	}
	if !strings.Contains(logs, "unknown user") || !strings.Contains(logs, "username="+testAdmin) {
		t.Errorf("failed logins are not logged as expected:\n%s", logs)
	}
}

// TestLoginNextStaysOnTheSite: after a real login, next= never leads to
// another site (the attack: /login?next=/\evil.example).
func TestLoginNextStaysOnTheSite(t *testing.T) {
	ts := newTestServer(t)
	admin.CreateAdmin(ts.app.db, testAdmin, testPassword, ts.now())
	for _, next := range []string{`/\evil.example`, "//evil.example", "https://evil.example", `/%5cevil.example`, "/%2f%2fevil.example", "/\t/evil.example", "/rooms/rigi?x=1"} {
		jar, _ := cookiejar.New(nil)
		resp := loginFrom(t, noRedirects(jar), ts.http.URL, "", testAdmin, testPassword, next)
		loc := resp.Header.Get("Location")
		want := "/rooms"
		if next == "/rooms/rigi?x=1" {
			want = next
		}
		if resp.StatusCode != http.StatusSeeOther || loc != want {
			t.Errorf("next=%q: %d to %q, want %q", next, resp.StatusCode, loc, want)
		}
	}
	// The login page does not echo a foreign next into its form either.
	resp, err := http.Get(ts.http.URL + "/login?next=" + url.QueryEscape(`/\evil.example`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), "evil.example") {
		t.Error("the login form carries the foreign next")
	}
}
