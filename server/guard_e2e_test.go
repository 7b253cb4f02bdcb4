package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/store"
)

// rawRequest writes a request's head and then body (in a goroutine: the
// server may stop reading) over a new connection, and reads the answer.
func rawRequest(t *testing.T, addr, head string, body io.Reader) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	go io.Copy(c, body)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// endless is a body that never ends (filler bytes).
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// TestLargeBodiesRefused: 30 logins with a 10 MB body each (the attack
// held the last byte back) are answered 413 at once, whether the body
// says its length or comes chunked, and the server's memory does not grow
// by their size. A JSON body over 1 MiB gets 413 from the API too.
func TestLargeBodiesRefused(t *testing.T) {
	ts := newTestServer(t)
	addr := ts.http.Listener.Addr().String()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const logins = 30
	var wg sync.WaitGroup
	codes := make(chan string, logins)
	for i := range logins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			head := "POST /login HTTP/1.1\r\nHost: lintel\r\nContent-Type: application/x-www-form-urlencoded\r\n"
			var body io.Reader = io.MultiReader(strings.NewReader("username=admin&password="), io.LimitReader(endless{}, 10<<20-1))
			if i%2 == 0 {
				head += fmt.Sprintf("Content-Length: %d\r\n\r\n", 10<<20)
			} else {
				head += "Transfer-Encoding: chunked\r\n\r\n"
				body = chunked(body)
			}
			resp, text := rawRequest(t, addr, head, body)
			codes <- fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(text))
		}()
	}
	wg.Wait()
	close(codes)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	for c := range codes {
		if !strings.HasPrefix(c, "413 the request body is larger than 64 KiB") {
			t.Errorf("a 10 MB login: %q, want 413 with why", c)
		}
	}
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d logins with 10 MB bodies: heap %+.1f MB (%.1f MB -> %.1f MB)", logins, float64(grew)/(1<<20), float64(before.HeapAlloc)/(1<<20), float64(after.HeapAlloc)/(1<<20))
	if grew > 30<<20 {
		t.Errorf("the heap grew by %d MB for %d large logins", grew>>20, logins)
	}
	// The API's JSON: at most 1 MiB.
	big := `{"id":"x","name":"` + strings.Repeat("n", 2<<20) + `"}`
	req, _ := http.NewRequest("POST", ts.http.URL+"/api/v1/rooms", strings.NewReader(big))
	req.Header.Set("Authorization", "Bearer "+ts.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]string
	json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(answer["error"], "larger than 1024 KiB") {
		t.Errorf("2 MiB of JSON: %d %q", resp.StatusCode, answer)
	}
	// A small login still works as before.
	resp, err = http.PostForm(ts.http.URL+"/login", map[string][]string{"username": {"nobody"}, "password": {"wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong login after the large ones: %d", resp.StatusCode)
	}
}

// chunked encodes r in HTTP/1.1 chunks of 32 KiB, ending with the last
// chunk.
func chunked(r io.Reader) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				if _, werr := fmt.Fprintf(pw, "%x\r\n%s\r\n", n, buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				io.WriteString(pw, "0\r\n\r\n")
				pw.Close()
				return
			}
		}
	}()
	return pr
}

// TestSlowBodyCutByReadTimeout: a body held back (the last byte never
// sent) does not keep its connection: the read timeout ends it.
func TestSlowBodyCutByReadTimeout(t *testing.T) {
	ts := newTestServerWith(t, func(c *config) { c.HTTP = httpTimeouts{Read: 300 * time.Millisecond} })
	c, err := net.Dial("tcp", ts.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /login HTTP/1.1\r\nHost: lintel\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nusername=admin&password=")
	// Nothing more is sent; the server must answer and close by itself.
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("the connection with a held-back body is still open: %v", err)
	}
	if !strings.HasPrefix(string(got), "HTTP/1.1 408") {
		t.Errorf("answer to a held-back body: %.80q, want 408", got)
	}
}

// TestWebsocketOutlivesServerTimeouts: the server's read, write and idle
// timeouts do not apply to a panel's websocket after the upgrade.
func TestWebsocketOutlivesServerTimeouts(t *testing.T) {
	const short = 200 * time.Millisecond
	ts := newTestServerWith(t, func(c *config) {
		c.HTTP = httpTimeouts{ReadHeader: short, Read: short, Write: short, Idle: short}
	})
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich", Booking: store.BookingSettings{Instant: true}})
	p := dialRaw(t, ts.wsURL(), ts.addDevice("rigi"))
	p.hello()
	p.next(isState)
	time.Sleep(5 * short) // past every server timeout
	p.send(proto.Message{Type: proto.TypeRequest, ID: "late", Request: &proto.Request{Action: proto.ActionBook, Minutes: 15}})
	if m := p.next(func(m proto.Message) bool { return m.Type == proto.TypeResult }); !m.Result.OK {
		t.Fatalf("booking after the timeouts: %+v", m.Result.Error)
	}
}

// TestSecurityHeaders: every answer says nosniff and same-origin
// referrers; under TLS, HSTS.
func TestSecurityHeaders(t *testing.T) {
	ts := newTestServer(t)
	for _, path := range []string{"/login", "/healthz", "/metrics", "/static/style.css", "/api/v1/rooms", "/nothing"} {
		resp, err := http.Get(ts.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", path, got)
		}
		if got := resp.Header.Get("Referrer-Policy"); got != "same-origin" {
			t.Errorf("%s: Referrer-Policy %q", path, got)
		}
		if got := resp.Header.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("%s: HSTS %q over plain HTTP", path, got)
		}
	}
	tlsServer := httptest.NewTLSServer(ts.app.handler)
	defer tlsServer.Close()
	resp, err := tlsServer.Client().Get(tlsServer.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Errorf("HSTS under TLS: %q", got)
	}
}

// TestStaticServesOnlyTheStaticFolder: escaped dots do not lead out of
// /static to the page templates.
func TestStaticServesOnlyTheStaticFolder(t *testing.T) {
	ts := newTestServer(t)
	for _, path := range []string{"/static/%2e%2e/login.html", "/static/%2E%2E/layout.html", "/static/..%2flogin.html", "/static/%2e%2e%2flogin.html", "/static/%2e%2e/static/style.css"} {
		resp, err := http.Get(ts.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || bytes.Contains(b, []byte("{{")) {
			t.Errorf("%s: %d, %d bytes (%.60q)", path, resp.StatusCode, len(b), b)
		}
	}
	resp, err := http.Get(ts.http.URL + "/static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("style.css: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestMetricsBehindToken: with --metrics-token-file, /metrics answers
// only with the file's token (the file is made 0600 when missing).
func TestMetricsBehindToken(t *testing.T) {
	file := filepath.Join(t.TempDir(), "metrics-token")
	token, err := metricsToken(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v, want mode 0600", fi, err)
	}
	if again, _ := metricsToken(file); again != token {
		t.Errorf("the token changed on the second read")
	}
	ts := newTestServerWith(t, func(c *config) { c.MetricsToken = token })
	for _, c := range []struct {
		auth string
		want int
	}{{"", http.StatusUnauthorized}, {"Bearer wrong", http.StatusUnauthorized}, {"Bearer " + ts.token, http.StatusUnauthorized}, {"Bearer " + token, http.StatusOK}} {
		req, _ := http.NewRequest("GET", ts.http.URL+"/metrics", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want || (c.want == 200) != strings.Contains(string(b), "lintel_rooms") {
			t.Errorf("/metrics with %q: %d", c.auth, resp.StatusCode)
		}
	}
}

// TestMetricsOnTheirOwnAddress: serve --metrics-listen serves /metrics
// there and no longer on the main address.
func TestMetricsOnTheirOwnAddress(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &syncBuffer{}
	c := Context{Stdout: out, Stderr: t.Output(), Args: []string{"serve", "--init", "--data", dir, "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"},
		Getenv: func(string) string { return "" }}
	done := make(chan error, 1)
	go func() { done <- c.Execute(ctx) }()
	var mainURL, metricsURL string
	waitFor(t, "serve's banner", func() bool {
		s := out.String()
		if _, rest, ok := strings.Cut(s, "metrics at "); ok {
			metricsURL, _, _ = strings.Cut(rest, "\n")
		}
		if _, rest, ok := strings.Cut(s, "admin at "); ok {
			mainURL, _, _ = strings.Cut(rest, "/ ")
		}
		return mainURL != "" && metricsURL != ""
	})
	get := func(url string) int {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(metricsURL); code != http.StatusOK {
		t.Errorf("%s: %d", metricsURL, code)
	}
	if code := get(mainURL + "/metrics"); code == http.StatusOK {
		t.Errorf("/metrics still on the main address")
	}
	if code := get(mainURL + "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// TestTrustedProxyFlag: a CIDR list that does not parse stops serve with
// the flag's name, from the flag or from LINTEL_TRUSTED_PROXY.
func TestTrustedProxyFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  string
	}{{args: []string{"--trusted-proxy", "10.0.0.0/8,proxy.example"}}, {env: "10.0.0.0/33"}} {
		env := map[string]string{"LINTEL_TRUSTED_PROXY": c.env}
		ctx := Context{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return env[k] },
			Args: append([]string{"serve", "--init", "--data", t.TempDir(), "--listen", "127.0.0.1:0"}, c.args...)}
		err := ctx.Execute(t.Context())
		if err == nil || !strings.Contains(err.Error(), "--trusted-proxy") {
			t.Errorf("%v %q: %v", c.args, c.env, err)
		}
	}
}
