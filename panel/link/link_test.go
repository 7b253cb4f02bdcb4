package link

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lintelhq/lintel/proto"
)

// These tests run the link against a scripted server written with gorilla
// directly: panel/ never imports server/, not even in tests. The round
// trip against the real hub is in server/hub's tests.

// testServer accepts panels; each test scripts what the server says.
type testServer struct {
	url   string
	conns chan *serverConn
	srv   *httptest.Server
	mu    sync.Mutex
	all   []*websocket.Conn
}

// serverConn is one accepted panel, past its hello.
type serverConn struct {
	ws       *websocket.Conn
	auth     string // the Authorization header
	hello    proto.Hello
	accepted time.Time
}

func newTestServer(t *testing.T) *testServer { return newTestServerOn(t, nil) }

// newTestServerOn is a testServer listening on ln (nil: 127.0.0.1, any
// port).
func newTestServerOn(t *testing.T, ln net.Listener) *testServer {
	s := &testServer{conns: make(chan *serverConn, 32)}
	up := websocket.Upgrader{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.all = append(s.all, ws)
		s.mu.Unlock()
		c := &serverConn{ws: ws, auth: r.Header.Get("Authorization"), accepted: time.Now()}
		m := c.read(t)
		if m.Type != proto.TypeHello {
			t.Errorf("first frame is %s, want hello", m)
			return
		}
		c.hello = *m.Hello
		s.conns <- c
	}))
	if ln != nil {
		srv.Listener.Close()
		srv.Listener = ln
	}
	srv.Start()
	s.srv = srv
	t.Cleanup(s.kill)
	s.url = "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	return s
}

// kill stops the server as a crashed replica stops: no new connections
// (a dial is refused), and every open one closed.
func (s *testServer) kill() {
	s.srv.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ws := range s.all {
		ws.Close()
	}
}

func (s *testServer) accept(t *testing.T) *serverConn {
	t.Helper()
	select {
	case c := <-s.conns:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("the panel did not connect")
		return nil
	}
}

func (c *serverConn) send(t *testing.T, m proto.Message) {
	t.Helper()
	b, err := proto.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatalf("send %s: %v", m, err)
	}
}

func (c *serverConn) read(t *testing.T) proto.Message {
	t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		t.Errorf("server read: %v", err)
		return proto.Message{}
	}
	m, err := proto.Decode(b)
	if err != nil {
		t.Errorf("server decode: %v", err)
	}
	return m
}

func testState(title string) *proto.State {
	start := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	return &proto.State{
		Room:       proto.Room{ID: "r1", Name: "Matterhorn", TimeZone: "Europe/Zurich"},
		ServerTime: start,
		Meetings:   []proto.Meeting{{ID: "m1", Title: title, Start: start, End: start.Add(time.Hour)}},
	}
}

// logBuffer collects the link's log so tests can check what it says (and
// that it never says the token), and copies it to the test output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	t   *testing.T
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	return b.t.Output().Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start runs a link until the test ends. Opts get fast backoffs unless set.
// setup, if any, changes the link before it runs.
func start(t *testing.T, opts Opts, setup ...func(*Link)) (*Link, *logBuffer) {
	t.Helper()
	logs := &logBuffer{t: t}
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opts.MinBackoff == 0 {
		opts.MinBackoff = 10 * time.Millisecond
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 50 * time.Millisecond
	}
	if opts.Firmware == "" {
		opts.Firmware = "1.0.0"
	}
	l, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range setup {
		f(l)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		// Drain, so Run can return, and check the channel closes.
		for range l.Events() {
		}
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
	})
	return l, logs
}

// next returns the next event of kind, skipping others.
func next(t *testing.T, l *Link, kind Kind) Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-l.Events():
			if ev.Kind == kind {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event", kind)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestStateIsCachedAtomically(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "state.json")
	cred := filepath.Join(dir, "token")
	writeFile(t, cred, "tok-1\n")
	writeFile(t, cache, `{"type":"state","state":{"room":`) // a cut-off write

	srv := newTestServer(t)
	l, logs := start(t, Opts{URL: srv.url, CredentialPath: cred, CachePath: cache, Firmware: "2.1.0", Width: 800, Height: 480, Locale: "de"})
	if st, err := l.Cached(); st != nil || err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("Cached() with a corrupt cache = %v, %v; want nil and a corrupt error", st, err)
	}
	old, err := os.Stat(cache)
	if err != nil {
		t.Fatal(err)
	}

	c := srv.accept(t)
	if c.auth != "Bearer tok-1" {
		t.Errorf("Authorization = %q", c.auth)
	}
	if h := c.hello; h.Protocol != proto.Version || h.Firmware != "2.1.0" || h.Width != 800 || h.Height != 480 || h.Locale != "de" {
		t.Errorf("hello = %+v", h)
	}
	next(t, l, KindConnected)
	c.send(t, proto.Message{Type: proto.TypeState, State: testState("Budget")})
	if ev := next(t, l, KindState); ev.State.Meetings[0].Title != "Budget" {
		t.Errorf("state event = %+v", ev.State)
	}

	// The cache holds the state frame as sent, mode 0600, written to a new
	// file renamed over the old one (never rewritten in place), with no
	// temporary file left behind.
	fi, err := os.Stat(cache)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("cache mode = %v, want 0600", fi.Mode())
	}
	if os.SameFile(old, fi) {
		t.Error("cache was rewritten in place, not replaced")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("directory holds %v, want only the token and the cache", entries)
	}
	b, _ := os.ReadFile(cache)
	m, err := proto.Decode(b)
	if err != nil || m.Type != proto.TypeState || m.State.Meetings[0].Title != "Budget" {
		t.Errorf("cache = %s (%v)", b, err)
	}
	if st, err := l.Cached(); err != nil || st == nil || st.Meetings[0].Title != "Budget" {
		t.Errorf("Cached() = %v, %v", st, err)
	}

	// After a restart the cache is there before any connection.
	l2, err := New(Opts{URL: srv.url, Firmware: "2.1.0", CachePath: cache})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := l2.Cached(); err != nil || st == nil || st.Room.Name != "Matterhorn" {
		t.Errorf("Cached() after restart = %v, %v", st, err)
	}
	if strings.Contains(logs.String(), "tok-1") {
		t.Error("the log shows the token")
	}
}

func TestNoCacheIsNotAnError(t *testing.T) {
	l, err := New(Opts{URL: "ws://127.0.0.1:1", Firmware: "1.0.0", CachePath: filepath.Join(t.TempDir(), "none.json")})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := l.Cached(); st != nil || err != nil {
		t.Errorf("Cached() = %v, %v; want nil, nil", st, err)
	}
	for _, bad := range []string{"http://host/ws", "host:80", "", "ws://"} {
		if _, err := New(Opts{URL: bad, Firmware: "1.0.0"}); err == nil {
			t.Errorf("New accepted URL %q", bad)
		}
	}
	if _, err := New(Opts{URL: "ws://host/ws"}); err == nil {
		t.Error("New accepted no firmware version")
	}
}

// TestBackoffIsExponentialWithFullJitter: the ceiling grows by half per
// failure, so panels that failed while a server restarted are back
// within seconds of it (see backoff).
func TestBackoffIsExponentialWithFullJitter(t *testing.T) {
	l, err := New(Opts{URL: "ws://x/ws", Firmware: "1.0.0", MinBackoff: time.Second, MaxBackoff: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var ceilings []time.Duration
	l.randN = func(n int64) int64 { return n - 1 } // the largest delay possible
	for f := range 13 {
		ceilings = append(ceilings, l.backoff(f))
	}
	// Growing by half: 1, 1.5, 2.25, 3.375 s ... up to 60 s.
	want := []float64{1000, 1500, 2250, 3375, 5062.5, 7593.75, 11390.625, 17085.9375, 25628.90625, 38443.359375, 57665.0390625, 60000, 60000}
	for i := range want {
		if w := time.Duration(want[i] * float64(time.Millisecond)); ceilings[i] != w {
			t.Errorf("ceiling after %d failures = %s, want %s", i, ceilings[i], w)
		}
	}
	if d := l.backoff(1000); d != 60*time.Second {
		t.Errorf("after 1000 failures = %s (overflow?)", d)
	}
	l.randN = func(n int64) int64 { return 0 }
	if d := l.backoff(5); d != 0 {
		t.Errorf("smallest jitter = %s, want 0", d)
	}
}

func TestReconnectsWithBackoff(t *testing.T) {
	srv := newTestServer(t)
	l, err := New(Opts{URL: srv.url, Firmware: "1.0.0", MinBackoff: 40 * time.Millisecond, MaxBackoff: 160 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l.randN = func(n int64) int64 { return n - 1 } // waits are exactly the ceilings
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx)
	go func() {
		for range l.Events() {
		}
	}()

	// The server drops every connection at once: the waits grow by half
	// up to the maximum, and are never shorter.
	var times []time.Time
	for range 6 {
		c := srv.accept(t)
		times = append(times, c.accepted)
		c.ws.Close()
	}
	want := []time.Duration{40, 60, 90, 135, 160}
	for i, w := range want {
		got := times[i+1].Sub(times[i])
		if w := w * time.Millisecond; got < w || got > w+400*time.Millisecond {
			t.Errorf("reconnect %d after %s, want %s", i+1, got, w)
		}
	}

	// A connection that worked resets the backoff.
	c := srv.accept(t)
	c.send(t, proto.Message{Type: proto.TypeState, State: testState("x")})
	time.Sleep(20 * time.Millisecond)
	c.ws.Close()
	if got := srv.accept(t).accepted.Sub(c.accepted); got > 40*time.Millisecond+400*time.Millisecond {
		t.Errorf("after a good connection the reconnect took %s", got)
	}
}

func TestRequestRetriedAfterDropAnsweredOnce(t *testing.T) {
	srv := newTestServer(t)
	l, _ := start(t, Opts{URL: srv.url, CredentialPath: writeToken(t, "tok")})

	// Offline (never connected): an immediate error the UI can show.
	off, err := New(Opts{URL: srv.url, Firmware: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := off.Request(ctx, "r0", proto.Request{Action: proto.ActionBook, Minutes: 15}); proto.CodeOf(err) != proto.CodeOffline {
		t.Errorf("offline request: %v, want code offline", err)
	}
	if err := off.Report(ctx, proto.Report{Kind: "problem"}); proto.CodeOf(err) != proto.CodeOffline {
		t.Errorf("offline report: %v, want code offline", err)
	}

	c1 := srv.accept(t)
	next(t, l, KindConnected)
	type answer struct {
		res proto.Result
		err error
	}
	answers := make(chan answer, 2)
	go func() {
		res, err := l.Request(context.Background(), "r1", proto.Request{Action: proto.ActionBook, Minutes: 30})
		answers <- answer{res, err}
	}()
	if m := c1.read(t); m.Type != proto.TypeRequest || m.ID != "r1" {
		t.Fatalf("server got %s", m)
	}
	c1.ws.Close() // dropped before the result

	c2 := srv.accept(t)
	if m := c2.read(t); m.Type != proto.TypeRequest || m.ID != "r1" || m.Request.Minutes != 30 {
		t.Fatalf("after reconnecting the server got %s %+v, want r1 again", m, m.Request)
	}
	now := time.Now().UTC().Truncate(time.Second)
	result := proto.Message{Type: proto.TypeResult, ID: "r1", Result: &proto.Result{OK: true, Meeting: &proto.Meeting{ID: "m9", Title: "Booked", Start: now, End: now.Add(30 * time.Minute)}}}
	c2.send(t, result)
	c2.send(t, result) // a duplicate answer must not reach anyone
	a := <-answers
	if a.err != nil || !a.res.OK || a.res.Meeting.ID != "m9" {
		t.Fatalf("Request = %+v, %v", a.res, a.err)
	}

	// The link still works, and a late duplicate did not confuse it.
	go func() {
		res, err := l.Request(context.Background(), "r2", proto.Request{Action: proto.ActionEnd, MeetingID: "m9"})
		answers <- answer{res, err}
	}()
	if m := c2.read(t); m.ID != "r2" {
		t.Fatalf("server got %s", m)
	}
	c2.send(t, proto.Message{Type: proto.TypeResult, ID: "r2", Result: &proto.Result{Error: proto.NewError(proto.CodeConflict, "already ended")}})
	if a := <-answers; a.err != nil || a.res.OK || a.res.Error.Code != proto.CodeConflict {
		t.Fatalf("Request r2 = %+v, %v", a.res, a.err)
	}
	select {
	case a := <-answers:
		t.Fatalf("an extra answer: %+v", a)
	default:
	}

	if err := l.Report(context.Background(), proto.Report{Kind: "problem", Problem: "projector broken"}); err != nil {
		t.Fatal(err)
	}
	if m := c2.read(t); m.Type != proto.TypeReport || m.Report.Problem != "projector broken" {
		t.Fatalf("server got %s", m)
	}
}

func writeToken(t *testing.T, token string) string {
	path := filepath.Join(t.TempDir(), "token")
	writeFile(t, path, token+"\n")
	return path
}

func TestPairingSavesCredentialAndReconnectsWithIt(t *testing.T) {
	cred := filepath.Join(t.TempDir(), "token")
	srv := newTestServer(t)
	l, logs := start(t, Opts{URL: srv.url, CredentialPath: cred})

	c := srv.accept(t)
	if c.auth != "" {
		t.Errorf("unpaired panel sent Authorization %q", c.auth)
	}
	expires := time.Now().Add(10 * time.Minute).UTC().Truncate(time.Second)
	c.send(t, proto.Message{Type: proto.TypePairing, Pairing: &proto.Pairing{Code: "K7Q4-MX2P", URL: "https://lintel/pair", Expires: expires}})
	if ev := next(t, l, KindPairing); ev.Pairing.Code != "K7Q4-MX2P" {
		t.Errorf("pairing = %+v", ev.Pairing)
	}
	c.send(t, proto.Message{Type: proto.TypeCredential, Credential: &proto.Credential{DeviceID: "d1", Token: "s3cret-token"}})

	c2 := srv.accept(t)
	if c2.auth != "Bearer s3cret-token" {
		t.Errorf("after pairing Authorization = %q", c2.auth)
	}
	fi, err := os.Stat(cred)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("credential mode = %v, want 0600", fi.Mode())
	}
	if b, _ := os.ReadFile(cred); strings.TrimSpace(string(b)) != "s3cret-token" {
		t.Errorf("credential file = %q", b)
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Error("the log shows the token")
	}
}

func TestRevokedForgetsCredential(t *testing.T) {
	cred := writeToken(t, "old-token")
	srv := newTestServer(t)
	l, _ := start(t, Opts{URL: srv.url, CredentialPath: cred})
	c := srv.accept(t)
	if c.auth != "Bearer old-token" {
		t.Fatalf("Authorization = %q", c.auth)
	}
	c.send(t, proto.Message{Type: proto.TypeError, Error: proto.NewError(proto.CodeRevoked, "pair it again")})
	if ev := next(t, l, KindRevoked); proto.CodeOf(ev.Err) != proto.CodeRevoked {
		t.Errorf("revoked event err = %v", ev.Err)
	}
	if c := srv.accept(t); c.auth != "" {
		t.Errorf("after revocation Authorization = %q, want none", c.auth)
	}
	if _, err := os.Stat(cred); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("credential still there: %v", err)
	}
}

// A server that does not know the token (a store restored from an old
// backup, or started empty by mistake) must not make the panel forget it:
// only an explicit "revoked" does. The panel says so and tries again
// later with the same credential.
func TestUnknownTokenKeepsCredential(t *testing.T) {
	cred := writeToken(t, "old-token")
	srv := newTestServer(t)
	l, _ := start(t, Opts{URL: srv.url, CredentialPath: cred, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	c := srv.accept(t)
	c.send(t, proto.Message{Type: proto.TypeError, Error: proto.NewError(proto.CodeUnauthorized, "unknown device token")})
	if ev := next(t, l, KindError); proto.CodeOf(ev.Err) != proto.CodeUnauthorized {
		t.Errorf("error event err = %v", ev.Err)
	}
	c.ws.Close()
	if c := srv.accept(t); c.auth != "Bearer old-token" {
		t.Errorf("after an unknown-token answer Authorization = %q, want the same credential", c.auth)
	}
	if b, err := os.ReadFile(cred); err != nil || strings.TrimSpace(string(b)) != "old-token" {
		t.Errorf("credential file after an unknown-token answer: %q %v", b, err)
	}
}

func TestUnsupportedVersionUpdatesFirmwareAndRetriesSlowly(t *testing.T) {
	srv := newTestServer(t)
	l, _ := start(t, Opts{URL: srv.url, MinBackoff: 5 * time.Millisecond, MaxBackoff: 300 * time.Millisecond})
	c := srv.accept(t)
	c.send(t, proto.Message{Type: proto.TypeError, Error: proto.NewError(proto.CodeUnsupportedVersion, "update the panel's firmware")})
	ev := next(t, l, KindUpdateFirmware)
	if proto.CodeOf(ev.Err) != proto.CodeUnsupportedVersion || !strings.Contains(ev.Err.Error(), "update the panel's firmware") {
		t.Errorf("event err = %v", ev.Err)
	}
	if d := srv.accept(t).accepted.Sub(c.accepted); d < 300*time.Millisecond {
		t.Errorf("retried after %s, want MaxBackoff (300ms)", d)
	}
}

func TestSlowUIGetsLatestState(t *testing.T) {
	srv := newTestServer(t)
	l, _ := start(t, Opts{URL: srv.url})
	c := srv.accept(t)
	// The UI reads nothing while many states arrive; the read loop must go
	// on regardless (else the server would see a slow panel and drop it).
	for i := range 200 {
		c.send(t, proto.Message{Type: proto.TypeState, State: testState(strings.Repeat("x", i+1))})
	}
	c.send(t, proto.Message{Type: proto.TypeCommand, Command: &proto.Command{Name: "identify"}})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if st, _ := l.Cached(); st != nil && len(st.Meetings[0].Title) == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the link did not read the states while the UI was busy")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // and the command after them

	// Now the UI looks: it gets at most the one state that was already on
	// its way, then the latest, then the command; not 200 stale states.
	var lens []int
	for ev := range l.Events() {
		if ev.Kind == KindState {
			lens = append(lens, len(ev.State.Meetings[0].Title))
		}
		if ev.Kind == KindCommand {
			break
		}
	}
	if len(lens) == 0 || len(lens) > 2 || lens[len(lens)-1] != 200 {
		t.Errorf("UI got states of lengths %v, want at most 2 ending with the latest (200)", lens)
	}
}
