package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	"github.com/lintelhq/lintel/proto/clock"
	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/store"
)

// testServer is the whole server in-process on 127.0.0.1, with its store
// in a temporary directory and an API token.
type testServer struct {
	t     testing.TB
	app   *app
	http  *httptest.Server
	token string
	dir   string
	logs  *syncBuffer
	// now is the server's clock: LINTEL_TEST_NOW, or clock.TestDefault.
	now clock.Func
	// kill stops the server as a crash would: no hand-over of its rooms
	// (its etcd lease runs out), connections cut. Safe to call twice.
	kill func()
}

// syncBuffer collects logs from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTestServer(t testing.TB) *testServer {
	t.Helper()
	return newTestServerWith(t, func(*config) {})
}

// newTestServerWith lets a test change the configuration first.
func newTestServerWith(t testing.TB, change func(*config)) *testServer {
	t.Helper()
	dir := t.TempDir()
	logs := &syncBuffer{}
	log := newLogger(io.MultiWriter(logs, t.Output()), config{LogLevel: -4})
	ts := &testServer{t: t, dir: dir, logs: logs, now: clock.ForTests(os.Getenv)}
	// The handler is set once the app exists: the pairing URL needs the
	// test server's address first.
	// The server runs as serve runs it (newHTTPServer: its timeouts).
	var handler http.Handler = http.NotFoundHandler()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) })
	ts.http = httptest.NewUnstartedServer(h)
	ctx, cancel := context.WithCancel(context.Background())
	cfg := config{DataDir: dir, Init: true, Poll: time.Hour, PublicURL: "http://" + ts.http.Listener.Addr().String(), Now: ts.now, StartSim: startSimForTests}
	change(&cfg)
	ts.http.Config = newHTTPServer(h, cfg.HTTP, log)
	ts.http.Start()
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	handler = a.handler
	ts.app = a
	a.start(ctx)
	var once sync.Once
	ts.kill = func() {
		once.Do(func() {
			cancel()
			ts.http.CloseClientConnections()
			a.hub.Close()
			a.wait()
			ts.http.Close()
		})
	}
	t.Cleanup(func() {
		ts.kill()
		a.Close()
	})
	if ts.token, err = admin.NewAPIToken(a.db, "test", "", ts.now()); err != nil {
		t.Fatal(err)
	}
	return ts
}

// api calls the JSON API and decodes the answer into out.
func (ts *testServer) api(method, path string, in, out any) int {
	ts.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, ts.http.URL+path, body)
	req.Header.Set("Authorization", "Bearer "+ts.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			ts.t.Fatalf("%s %s: %v\n%s", method, path, err, data)
		}
	}
	if resp.StatusCode >= 300 {
		ts.t.Logf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode
}

// cli runs a lintel-server command in-process against the test server.
func (ts *testServer) cli(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	env := map[string]string{"LINTEL_SERVER": ts.http.URL, "LINTEL_API_TOKEN": ts.token, "LINTEL_DATA": ts.dir}
	c := Context{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Args: args, Getenv: func(k string) string { return env[k] }}
	err := c.Execute(context.Background())
	return out.String() + errOut.String(), err
}

func (ts *testServer) wsURL() string { return "ws" + strings.TrimPrefix(ts.http.URL, "http") + "/ws" }

// addRoom creates a room through the API.
func (ts *testServer) addRoom(room store.Room) {
	ts.t.Helper()
	if code := ts.api("POST", "/api/v1/rooms", room, nil); code != http.StatusCreated {
		ts.t.Fatalf("create room %s: %d", room.ID, code)
	}
}

// addDevice runs 'lintel-server devices add' and returns the credential.
func (ts *testServer) addDevice(room string) string {
	ts.t.Helper()
	file := filepath.Join(ts.dir, "panels", room+"-"+fmt.Sprint(time.Now().UnixNano()), "credential")
	out, err := ts.cli("devices", "add", "--room", room, "--credential-file", file)
	if err != nil {
		ts.t.Fatalf("devices add: %v\n%s", err, out)
	}
	fi, err := os.Stat(file)
	if err != nil {
		ts.t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		ts.t.Errorf("credential file mode %o, want 600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(file)
	return strings.TrimSpace(string(b))
}

// rawPanel is a websocket client speaking the protocol by hand, to see
// exactly what goes over the wire.
type rawPanel struct {
	t      *testing.T
	conn   *websocket.Conn
	frames chan []byte
	mu     sync.Mutex
	all    [][]byte
}

func dialRaw(t *testing.T, url, token string) *rawPanel {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	conn, _, err := websocket.DefaultDialer.Dial(url, h)
	if err != nil {
		t.Fatal(err)
	}
	p := &rawPanel{t: t, conn: conn, frames: make(chan []byte, 100)}
	go func() {
		defer close(p.frames)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.all = append(p.all, data)
			p.mu.Unlock()
			p.frames <- data
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return p
}

func (p *rawPanel) send(m proto.Message) {
	p.t.Helper()
	b, err := proto.Encode(m)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		p.t.Fatal(err)
	}
}

func (p *rawPanel) hello() {
	p.send(proto.Message{Type: proto.TypeHello, Hello: &proto.Hello{Protocol: proto.Version, Firmware: "test"}})
}

// next returns the next frame that satisfies match, within 5 seconds.
func (p *rawPanel) next(match func(proto.Message) bool) proto.Message {
	p.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case data, ok := <-p.frames:
			if !ok {
				p.t.Fatal("connection closed while waiting for a frame")
			}
			m, err := proto.Decode(data)
			if err != nil {
				p.t.Fatalf("server sent an invalid frame: %v\n%s", err, data)
			}
			if match(m) {
				return m
			}
		case <-timeout:
			p.t.Fatal("no matching frame within 5 s")
		}
	}
}

func (p *rawPanel) wire() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(bytes.Join(p.all, []byte("\n")))
}

func isState(m proto.Message) bool { return m.Type == proto.TypeState }

func TestEndToEndOverTheWire(t *testing.T) {
	ts := newTestServer(t)
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich", Display: store.DisplayTitle,
		Booking: store.BookingSettings{Instant: true}})
	now := ts.now().UTC().Truncate(time.Minute)
	var ev store.Event
	if code := ts.api("POST", "/api/v1/rooms/rigi/events", map[string]any{
		"subject": "Budget review", "organizer": "Anna", "start": now.Add(-10 * time.Minute), "end": now.Add(50 * time.Minute),
	}, &ev); code != http.StatusCreated {
		t.Fatalf("add event: %d", code)
	}
	token := ts.addDevice("rigi")

	p := dialRaw(t, ts.wsURL(), token)
	p.hello()
	st := p.next(isState).State
	if st.Room.Name != "Rigi" || len(st.Meetings) != 1 || st.Meetings[0].Title != "Budget review" {
		t.Fatalf("first state: %+v", st)
	}

	// A change through the API reaches the panel at once, not at the next poll
	// (the poll interval here is an hour).
	secret := "Reorg: Marc leaves"
	start := time.Now()
	if code := ts.api("POST", "/api/v1/rooms/rigi/events", map[string]any{
		"subject": secret, "organizer": "Petra", "start": now.Add(2 * time.Hour), "end": now.Add(3 * time.Hour), "private": true,
	}, nil); code != http.StatusCreated {
		t.Fatalf("add private event: %d", code)
	}
	st = p.next(func(m proto.Message) bool { return isState(m) && len(m.State.Meetings) == 2 }).State
	t.Logf("change reached the panel in %v", time.Since(start))
	if st.Meetings[1].Title != "Reserved" || !st.Meetings[1].Private {
		t.Errorf("private meeting on the wire: %+v", st.Meetings[1])
	}
	if code := ts.api("PUT", "/api/v1/rooms/rigi/events/"+ev.ID, map[string]any{
		"subject": "Budget review (moved)", "organizer": "Anna", "start": now.Add(-10 * time.Minute), "end": now.Add(20 * time.Minute),
	}, nil); code != http.StatusOK {
		t.Fatalf("change event: %d", code)
	}
	st = p.next(func(m proto.Message) bool { return isState(m) && m.State.Meetings[0].Title == "Budget review (moved)" }).State
	if !st.Meetings[0].End.Equal(now.Add(20 * time.Minute)) {
		t.Errorf("changed end: %v", st.Meetings[0].End)
	}

	// The private subject never left the server: not on the wire, not in
	// the logs, not in the API's room state.
	var state map[string]any
	ts.api("GET", "/api/v1/rooms/rigi/state", nil, &state)
	apiState, _ := json.Marshal(state)
	for where, text := range map[string]string{"websocket frames": p.wire(), "server logs": ts.logs.String(), "room state API": string(apiState)} {
		if strings.Contains(text, secret) || strings.Contains(text, "Reorg") {
			t.Errorf("the private subject appears in the %s", where)
		}
	}
}

func TestBadPanelsAreDroppedOthersUnaffected(t *testing.T) {
	ts := newTestServer(t)
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich"})
	good := dialRaw(t, ts.wsURL(), ts.addDevice("rigi"))
	good.hello()
	good.next(isState)

	bad := []struct {
		name  string
		frame []byte
		want  string
	}{
		{"garbage", []byte("\x00\x01 not json"), "not a valid message"},
		{"unknown type", []byte(`{"type":"launch"}`), "unknown message type"},
		{"oversized", bytes.Repeat([]byte("x"), proto.MaxFrameBytes+10), ""},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			p := dialRaw(t, ts.wsURL(), ts.addDevice("rigi"))
			p.hello()
			p.next(isState)
			p.conn.WriteMessage(websocket.TextMessage, tc.frame)
			if tc.want != "" {
				m := p.next(func(m proto.Message) bool { return m.Type == proto.TypeError })
				if !strings.Contains(m.Error.Message, tc.want) {
					t.Errorf("error %q does not say %q", m.Error.Message, tc.want)
				}
			}
			select {
			case _, open := <-p.frames:
				for open {
					_, open = <-p.frames
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the bad panel was not disconnected")
			}
		})
	}
	// The good panel still gets changes.
	now := ts.now().UTC()
	ts.api("POST", "/api/v1/rooms/rigi/events", map[string]any{"subject": "After", "start": now.Add(time.Hour), "end": now.Add(2 * time.Hour)}, nil)
	good.next(func(m proto.Message) bool { return isState(m) && len(m.State.Meetings) == 1 })
}

func TestWrongCredentialAndUnknownRoom(t *testing.T) {
	ts := newTestServer(t)
	p := dialRaw(t, ts.wsURL(), "lintel_dev_not-a-real-token")
	m := p.next(func(m proto.Message) bool { return m.Type == proto.TypeError })
	if m.Error.Code != proto.CodeUnauthorized {
		t.Errorf("wrong credential: %+v", m.Error)
	}
	if out, err := ts.cli("devices", "add", "--room", "nowhere"); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("devices add to an unknown room: %v\n%s", err, out)
	}
}

func TestServeRefusesLockedOrCorruptStore(t *testing.T) {
	dir := t.TempDir()
	run := func() error {
		var out bytes.Buffer
		c := Context{Stdout: &out, Stderr: &out, Args: []string{"serve", "--data", dir, "--listen", "127.0.0.1:0"}, Getenv: func(string) string { return "" }}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return c.Execute(ctx)
	}
	path := filepath.Join(dir, "lintel.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	err = run()
	db.Close()
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "locked") {
		t.Errorf("locked store: %v", err)
	}
	if err := os.WriteFile(path, bytes.Repeat([]byte("garbage!"), 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a valid Lintel database") {
		t.Errorf("corrupt store: %v", err)
	}
}

func bookReq(minutes int) proto.Request {
	return proto.Request{Action: proto.ActionBook, Minutes: minutes}
}

func writeTestFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
