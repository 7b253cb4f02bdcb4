package hub_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/hub"
)

// fakeAuth knows tokens "tok-<device>" for the devices in it, and refuses
// "revoked" and "broken" tokens the way a store would.
type fakeAuth struct {
	mu      sync.Mutex
	devices map[string]hub.Device // by token
	revoked map[string]bool       // by device id
}

func newFakeAuth(devs ...hub.Device) *fakeAuth {
	a := &fakeAuth{devices: make(map[string]hub.Device), revoked: make(map[string]bool)}
	for _, d := range devs {
		a.add(d)
	}
	return a
}

func (a *fakeAuth) add(d hub.Device) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.devices["tok-"+d.ID] = d
}

func (a *fakeAuth) Authenticate(ctx context.Context, token string) (hub.Device, error) {
	switch token {
	case "revoked":
		return hub.Device{}, fmt.Errorf("store: device d9: %w", hub.ErrRevoked)
	case "broken":
		return hub.Device{}, errors.New("store: database is locked")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	d, ok := a.devices[token]
	switch {
	case !ok:
		return hub.Device{}, fmt.Errorf("store: %w", hub.ErrUnknownToken)
	case a.revoked[d.ID]:
		return hub.Device{}, fmt.Errorf("store: device %s: %w", d.ID, hub.ErrRevoked)
	}
	return d, nil
}

// revoke revokes a device the way an admin does in the store.
func (a *fakeAuth) revoke(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.revoked[id] = true
}

func (a *fakeAuth) Check(ctx context.Context, deviceID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.revoked[deviceID] {
		return fmt.Errorf("store: device %s: %w", deviceID, hub.ErrRevoked)
	}
	return nil
}

// fakeHandler answers requests: OK with a meeting named after the id, or,
// for ids starting with "block", only when release is closed or ctx ends.
type fakeHandler struct {
	release chan struct{}
	mu      sync.Mutex
	reqs    []string // "device room id action"
	reports []string // "device kind"
}

func newFakeHandler() *fakeHandler { return &fakeHandler{release: make(chan struct{})} }

func (f *fakeHandler) Request(ctx context.Context, d hub.Device, id string, r proto.Request) proto.Result {
	f.mu.Lock()
	f.reqs = append(f.reqs, fmt.Sprintf("%s %s %s %s", d.ID, d.Room, id, r.Action))
	f.mu.Unlock()
	if strings.HasPrefix(id, "block") {
		select {
		case <-f.release:
		case <-ctx.Done():
			return proto.Result{Error: proto.NewError(proto.CodeUnavailable, "canceled")}
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	return proto.Result{OK: true, Meeting: &proto.Meeting{ID: "m-" + id, Title: "Booked", Start: now, End: now.Add(time.Duration(r.Minutes) * time.Minute)}}
}

func (f *fakeHandler) Report(ctx context.Context, d hub.Device, r proto.Report) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, d.ID+" "+r.Kind)
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// syncedHub is a hub with the owner of its rooms' last states, as the
// server wires it: Publish records a state, then publishes it, as the
// syncer does.
type syncedHub struct {
	*hub.Hub
	states *lastStates
}

func (h syncedHub) Publish(room string, st proto.State) {
	h.states.set(room, st)
	h.Hub.Publish(room, st)
}

// lastStates is each room's last state, the hub's Opts.States.
type lastStates struct {
	mu sync.Mutex
	m  map[string]proto.State
}

func newLastStates() *lastStates { return &lastStates{m: make(map[string]proto.State)} }

func (s *lastStates) set(room string, st proto.State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[room] = st
}

func (s *lastStates) State(room string) (proto.State, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.m[room]
	return st, ok
}

// startHub serves a hub on 127.0.0.1. Unset Auth, Handler and Logger get
// fakes, and unset States a lastStates that the returned hub's Publish
// keeps.
func startHub(t testing.TB, opts hub.Opts) (syncedHub, string) {
	t.Helper()
	states, _ := opts.States.(*lastStates)
	if opts.States == nil {
		states = newLastStates()
		opts.States = states
	}
	if opts.Auth == nil {
		opts.Auth = newFakeAuth()
	}
	if opts.Handler == nil {
		opts.Handler = newFakeHandler()
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	h := hub.New(opts)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	return syncedHub{Hub: h, states: states}, "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

func dial(t testing.TB, url, token string) *websocket.Conn {
	t.Helper()
	header := http.Header{}
	if token != "" {
		header.Set("Authorization", "Bearer "+token)
	}
	c, _, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func writeMsg(t testing.TB, c *websocket.Conn, m proto.Message) {
	t.Helper()
	b, err := proto.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatalf("write %s: %v", m, err)
	}
}

func hello(t testing.TB, c *websocket.Conn) {
	t.Helper()
	writeMsg(t, c, proto.Message{Type: proto.TypeHello, Hello: &proto.Hello{Protocol: proto.Version, Firmware: "1.2.3", Uptime: 42}})
}

// connect dials as device id (token "tok-<id>") and says hello.
func connect(t testing.TB, url, id string) *websocket.Conn {
	t.Helper()
	c := dial(t, url, "tok-"+id)
	hello(t, c)
	return c
}

func readMsg(t testing.TB, c *websocket.Conn) proto.Message {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	m, err := proto.Decode(b)
	if err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

func readState(t testing.TB, c *websocket.Conn) *proto.State {
	t.Helper()
	m := readMsg(t, c)
	if m.Type != proto.TypeState {
		t.Fatalf("got %s, want a state", m)
	}
	return m.State
}

// expectRefused reads an error frame with code and a message containing
// want, then a close frame.
func expectRefused(t testing.TB, c *websocket.Conn, code proto.Code, want string) {
	t.Helper()
	m := readMsg(t, c)
	if m.Type != proto.TypeError {
		t.Fatalf("got %s, want an error frame", m)
	}
	if m.Error.Code != code || !strings.Contains(m.Error.Message, want) {
		t.Fatalf("error = %s %q, want %s containing %q", m.Error.Code, m.Error.Message, code, want)
	}
	expectClosed(t, c)
}

// expectClosed reads until the connection closes, failing on any frame.
func expectClosed(t testing.TB, c *websocket.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ReadMessage()
	if err == nil {
		t.Fatalf("got frame %s, want a close", b)
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open: %v", err)
	}
}

func state(room, title string) proto.State {
	start := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	return proto.State{
		Room:       proto.Room{ID: room, Name: "Room " + room, TimeZone: "Europe/Zurich"},
		ServerTime: start,
		Meetings:   []proto.Meeting{{ID: "m1", Title: title, Start: start, End: start.Add(time.Hour)}},
	}
}

func title(st *proto.State) string { return st.Meetings[0].Title }

// waitConns waits until n panels have said hello.
func waitConns(t testing.TB, h interface{ Connections() []hub.ConnInfo }, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(h.Connections()) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections, want %d", len(h.Connections()), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFanoutOnlyToTheRoom(t *testing.T) {
	rooms := []string{"a", "b", "c"}
	auth := newFakeAuth()
	for _, r := range rooms {
		for i := range 5 {
			auth.add(hub.Device{ID: fmt.Sprintf("%s%d", r, i), Room: r})
		}
	}
	h, url := startHub(t, hub.Opts{Auth: auth})
	panels := map[string][]*websocket.Conn{}
	for _, r := range rooms {
		for i := range 5 {
			panels[r] = append(panels[r], connect(t, url, fmt.Sprintf("%s%d", r, i)))
		}
	}
	waitConns(t, h, 15)

	// Each panel gets its own room's states, in order, and no other room's:
	// if a panel got another room's state, its first frame would be wrong.
	for round := range 2 {
		for _, r := range rooms {
			h.Publish(r, state(r, fmt.Sprintf("%s-%d", r, round)))
		}
		for _, r := range rooms {
			for i, c := range panels[r] {
				st := readState(t, c)
				if want := fmt.Sprintf("%s-%d", r, round); st.Room.ID != r || title(st) != want {
					t.Errorf("panel %s%d got %s %q, want %s %q", r, i, st.Room.ID, title(st), r, want)
				}
			}
		}
	}
}

func TestLateJoinerGetsLastState(t *testing.T) {
	auth := newFakeAuth(hub.Device{ID: "d1", Room: "a"}, hub.Device{ID: "d2", Room: "b"})
	h, url := startHub(t, hub.Opts{Auth: auth})
	h.Publish("a", state("a", "old"))
	h.Publish("a", state("a", "new"))
	h.Publish("b", state("b", "other room"))

	c := connect(t, url, "d1")
	first := readState(t, c)
	if got := title(first); got != "new" {
		t.Errorf("late joiner got %q, want the last state %q", got, "new")
	}
	// The state was published with an old server time; the late joiner's
	// copy carries the time it was sent, for a panel correcting its clock.
	if age := time.Since(first.ServerTime); age < 0 || age > 5*time.Second {
		t.Errorf("late joiner's server time is %v old", age)
	}
	h.Publish("a", state("a", "newer"))
	if got := title(readState(t, c)); got != "newer" {
		t.Errorf("then got %q, want %q", got, "newer")
	}
}

func TestBadInputClosesOnlyThatPanel(t *testing.T) {
	afterHello := func(frame string) func(*testing.T, *websocket.Conn) {
		return func(t *testing.T, c *websocket.Conn) {
			hello(t, c)
			if err := c.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name string
		send func(*testing.T, *websocket.Conn)
		code proto.Code
		want string
	}{
		{"garbage", afterHello("hello?"), proto.CodeBadRequest, "JSON syntax error"},
		{"unknown type", afterHello(`{"type":"launch","id":"x"}`), proto.CodeBadRequest, `unknown message type "launch"`},
		{"oversized", afterHello(`{"type":"report","report":{"kind":"problem","problem":"` + strings.Repeat("x", proto.MaxFrameBytes) + `"}}`),
			proto.CodeBadRequest, "over the 262144 byte limit"},
		{"binary", func(t *testing.T, c *websocket.Conn) {
			hello(t, c)
			c.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
		}, proto.CodeBadRequest, "JSON text"},
		{"no hello", func(*testing.T, *websocket.Conn) {}, proto.CodeBadRequest, "no hello within 300ms"},
		{"request before hello", func(t *testing.T, c *websocket.Conn) {
			writeMsg(t, c, proto.Message{Type: proto.TypeRequest, ID: "r1", Request: &proto.Request{Action: proto.ActionBook, Minutes: 15}})
		}, proto.CodeBadRequest, "first frame must be a hello, not request"},
		{"garbage before hello", func(t *testing.T, c *websocket.Conn) {
			c.WriteMessage(websocket.TextMessage, []byte("\x00\x01"))
		}, proto.CodeBadRequest, "not a valid message"},
		{"newer protocol", func(t *testing.T, c *websocket.Conn) {
			writeMsg(t, c, proto.Message{Type: proto.TypeHello, Hello: &proto.Hello{Protocol: proto.Version + 1, Firmware: "9.0"}})
		}, proto.CodeUnsupportedVersion, fmt.Sprintf("panel speaks protocol version %d, this server speaks version %d", proto.Version+1, proto.Version)},
	}
	auth := newFakeAuth(hub.Device{ID: "good", Room: "a"}, hub.Device{ID: "bad", Room: "z"}) // z has no state: the first frame is the answer
	h, url := startHub(t, hub.Opts{Auth: auth, HelloTimeout: 300 * time.Millisecond})
	good := connect(t, url, "good")
	waitConns(t, h, 1)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad := dial(t, url, "tok-bad")
			tc.send(t, bad)
			expectRefused(t, bad, tc.code, tc.want)

			// The other panel of the room still gets every state.
			want := fmt.Sprintf("after %d", i)
			h.Publish("a", state("a", want))
			if got := title(readState(t, good)); got != want {
				t.Errorf("good panel got %q, want %q", got, want)
			}
		})
	}
}

func TestAuthRefusals(t *testing.T) {
	tests := []struct {
		name   string
		header string
		code   proto.Code
		want   string
	}{
		{"unknown token", "Bearer nope", proto.CodeUnauthorized, "unknown device token"},
		{"revoked", "Bearer revoked", proto.CodeRevoked, "pair it again"},
		{"store down", "Bearer broken", proto.CodeUnavailable, "try again"},
		{"not bearer", "Basic dXNlcjpwdw==", proto.CodeUnauthorized, "Bearer <device token>"},
		{"no token and no pairer", "", proto.CodeUnauthorized, "does not pair"},
	}
	h, url := startHub(t, hub.Opts{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			header := http.Header{}
			if tc.header != "" {
				header.Set("Authorization", tc.header)
			}
			c, _, err := websocket.DefaultDialer.Dial(url, header)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			hello(t, c)
			expectRefused(t, c, tc.code, tc.want)
		})
	}
	if n := len(h.Connections()); n != 0 {
		t.Errorf("%d connections after refusals, want 0", n)
	}
}

// fakePairer sends one code, then waits for approve.
type fakePairer struct {
	approve chan proto.Credential
	remotes chan string
}

func (p *fakePairer) Pair(ctx context.Context, remote string, send func(proto.Message) error) (proto.Credential, error) {
	p.remotes <- remote
	err := send(proto.Message{Type: proto.TypePairing, Pairing: &proto.Pairing{Code: "K7Q4-MX2P", URL: "https://lintel/pair", Expires: time.Now().Add(time.Hour).UTC()}})
	if err != nil {
		return proto.Credential{}, err
	}
	select {
	case cred := <-p.approve:
		return cred, nil
	case <-ctx.Done():
		return proto.Credential{}, ctx.Err()
	}
}

func TestPairing(t *testing.T) {
	auth := newFakeAuth()
	pairer := &fakePairer{approve: make(chan proto.Credential), remotes: make(chan string, 1)}
	h, url := startHub(t, hub.Opts{Auth: auth, Pairer: pairer})
	h.Publish("a", state("a", "meeting"))

	c := dial(t, url, "")
	hello(t, c)
	if m := readMsg(t, c); m.Type != proto.TypePairing || m.Pairing.Code != "K7Q4-MX2P" {
		t.Fatalf("got %s, want the pairing code", m)
	}
	if remote := <-pairer.remotes; !strings.HasPrefix(remote, "127.0.0.1:") {
		t.Errorf("pairer got remote %q", remote)
	}
	if infos := h.Connections(); len(infos) != 1 || infos[0].Paired || infos[0].DeviceID != "" {
		t.Errorf("connections while pairing = %+v, want one unpaired", infos)
	}
	// An unpaired panel cannot book.
	writeMsg(t, c, proto.Message{Type: proto.TypeRequest, ID: "r1", Request: &proto.Request{Action: proto.ActionBook, Minutes: 15}})
	if m := readMsg(t, c); m.Type != proto.TypeResult || m.Result.OK || m.Result.Error.Code != proto.CodeUnauthorized {
		t.Fatalf("unpaired request got %s %+v, want unauthorized", m, m.Result)
	}

	auth.add(hub.Device{ID: "d1", Room: "a"})
	pairer.approve <- proto.Credential{DeviceID: "d1", Token: "tok-d1"}
	m := readMsg(t, c)
	if m.Type != proto.TypeCredential || m.Credential.Token != "tok-d1" {
		t.Fatalf("got %s, want the credential", m)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Fatalf("after the credential: %v, want a normal close", err)
	}

	// The panel comes back with its credential and shows its room.
	c2 := connect(t, url, "d1")
	if got := title(readState(t, c2)); got != "meeting" {
		t.Errorf("paired panel got %q", got)
	}
}

func TestRequestsAndReports(t *testing.T) {
	auth := newFakeAuth(hub.Device{ID: "d1", Room: "a"})
	handler := newFakeHandler()
	h, url := startHub(t, hub.Opts{Auth: auth, Handler: handler})
	c := connect(t, url, "d1")
	waitConns(t, h, 1)

	// A request that takes long does not hold up states or other requests.
	writeMsg(t, c, proto.Message{Type: proto.TypeRequest, ID: "block-1", Request: &proto.Request{Action: proto.ActionBook, Minutes: 30}})
	writeMsg(t, c, proto.Message{Type: proto.TypeRequest, ID: "quick", Request: &proto.Request{Action: proto.ActionBook, Minutes: 15}})
	m := readMsg(t, c)
	if m.Type != proto.TypeResult || m.ID != "quick" || !m.Result.OK || m.Result.Meeting.ID != "m-quick" {
		t.Fatalf("got %s %+v, want the quick result", m, m.Result)
	}
	h.Publish("a", state("a", "during"))
	if got := title(readState(t, c)); got != "during" {
		t.Fatalf("got %q", got)
	}
	close(handler.release)
	if m := readMsg(t, c); m.Type != proto.TypeResult || m.ID != "block-1" || !m.Result.OK {
		t.Fatalf("got %s, want the slow result", m)
	}

	writeMsg(t, c, proto.Message{Type: proto.TypeReport, Report: &proto.Report{Kind: "problem", Problem: "projector broken"}})
	// A frame a panel must not send gets an error, and the panel stays.
	writeMsg(t, c, proto.Message{Type: proto.TypeCommand, ID: "x", Command: &proto.Command{Name: "identify"}})
	if m := readMsg(t, c); m.Type != proto.TypeError || m.ID != "x" || !strings.Contains(m.Error.Message, "does not send command") {
		t.Fatalf("got %s %+v", m, m.Error)
	}

	handler.mu.Lock()
	defer handler.mu.Unlock()
	if got := strings.Join(handler.reqs, ","); !strings.Contains(got, "d1 a block-1 book") || !strings.Contains(got, "d1 a quick book") {
		t.Errorf("handler saw %s", got)
	}
	if got := strings.Join(handler.reports, ","); got != "d1 problem" {
		t.Errorf("reports = %q", got)
	}
}

func TestSendCommand(t *testing.T) {
	auth := newFakeAuth(hub.Device{ID: "d1", Room: "a"})
	h, url := startHub(t, hub.Opts{Auth: auth})
	c := connect(t, url, "d1")
	waitConns(t, h, 1)
	if err := h.Send("d1", proto.Message{Type: proto.TypeCommand, Command: &proto.Command{Name: "identify", Seconds: 30}}); err != nil {
		t.Fatal(err)
	}
	if m := readMsg(t, c); m.Type != proto.TypeCommand || m.Command.Name != "identify" {
		t.Fatalf("got %s", m)
	}
	if err := h.Send("nobody", proto.Message{Type: proto.TypeCommand, Command: &proto.Command{Name: "identify"}}); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Errorf("send to an absent device: %v", err)
	}
	if err := h.Send("d1", proto.Message{Type: proto.TypeCommand, Command: &proto.Command{}}); err == nil {
		t.Error("sent an invalid command")
	}
}

func TestConnectionsAndCallbacks(t *testing.T) {
	auth := newFakeAuth(hub.Device{ID: "d1", Room: "a", Name: "Door 1"})
	connected := make(chan hub.ConnInfo, 1)
	gone := make(chan hub.Device, 1)
	h, url := startHub(t, hub.Opts{
		Auth:         auth,
		OnConnect:    func(d hub.Device, ci hub.ConnInfo) { connected <- ci },
		OnDisconnect: func(d hub.Device, ci hub.ConnInfo) { gone <- d },
	})
	before := time.Now()
	c := connect(t, url, "d1")
	ci := <-connected
	infos := h.Connections()
	if len(infos) != 1 || infos[0] != ci {
		t.Fatalf("Connections() = %+v, OnConnect got %+v", infos, ci)
	}
	if ci.DeviceID != "d1" || ci.Name != "Door 1" || ci.Room != "a" || !ci.Paired || ci.Firmware != "1.2.3" ||
		ci.Protocol != proto.Version || ci.Uptime != 42*time.Second || ci.Since.Before(before) || !strings.HasPrefix(ci.RemoteAddr, "127.0.0.1:") {
		t.Errorf("info = %+v", ci)
	}
	c.Close()
	select {
	case d := <-gone:
		if d.ID != "d1" {
			t.Errorf("OnDisconnect got %+v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no OnDisconnect")
	}
	waitConns(t, h, 0)
}

func TestSameDeviceReconnectReplacesOldConnection(t *testing.T) {
	auth := newFakeAuth(hub.Device{ID: "d1", Room: "a"})
	h, url := startHub(t, hub.Opts{Auth: auth})
	old := connect(t, url, "d1")
	waitConns(t, h, 1)
	c := connect(t, url, "d1")
	expectClosed(t, old)
	waitConns(t, h, 1)
	h.Publish("a", state("a", "x"))
	if got := title(readState(t, c)); got != "x" {
		t.Errorf("got %q", got)
	}
}

func TestSlowPanelIsDroppedAndPublishNeverBlocks(t *testing.T) {
	auth := newFakeAuth(hub.Device{ID: "slow", Room: "a"}, hub.Device{ID: "fast", Room: "a"})
	gone := make(chan string, 2)
	h, url := startHub(t, hub.Opts{Auth: auth, SendQueue: 4, OnDisconnect: func(d hub.Device, _ hub.ConnInfo) { gone <- d.ID }})
	connect(t, url, "slow") // never reads
	fast := connect(t, url, "fast")
	waitConns(t, h, 2)

	// The fast panel reads every state; publishing waits for it (not for
	// the slow one), so only a panel that does not read at all falls behind.
	const n = 150
	read := make(chan int)
	go func() {
		defer close(read)
		for i := 0; i < n; i++ {
			fast.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, _, err := fast.ReadMessage(); err != nil {
				return
			}
			read <- i
		}
	}()

	// Frames of 200 kB fill the slow panel's socket buffers and queue fast.
	big := strings.Repeat("x", 200<<10)
	var slowest time.Duration
	for i := range n {
		st := state("a", big)
		st.Meetings[0].ID = fmt.Sprint("m", i)
		start := time.Now()
		h.Publish("a", st)
		slowest = max(slowest, time.Since(start))
		if got, ok := <-read; !ok || got != i {
			t.Fatalf("fast panel stopped after %d states", i)
		}
	}
	if slowest > 250*time.Millisecond {
		t.Errorf("slowest Publish took %s: it waited for a panel", slowest)
	}
	select {
	case id := <-gone:
		if id != "slow" {
			t.Fatalf("dropped %s, want the slow panel", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("slow panel was not dropped")
	}
}

func TestDisconnectWithinASecond(t *testing.T) {
	auth := newFakeAuth(hub.Device{ID: "reader", Room: "a"}, hub.Device{ID: "deaf", Room: "a"})
	gone := make(chan string, 2)
	h, url := startHub(t, hub.Opts{Auth: auth, OnDisconnect: func(d hub.Device, _ hub.ConnInfo) { gone <- d.ID }})
	c := connect(t, url, "reader")
	connect(t, url, "deaf") // never reads: no close reply comes
	waitConns(t, h, 2)

	start := time.Now()
	h.Disconnect("reader", proto.CodeRevoked, "this panel was removed")
	h.Disconnect("deaf", proto.CodeRevoked, "this panel was removed")
	h.Publish("a", state("a", "must not arrive"))
	expectRefused(t, c, proto.CodeRevoked, "removed")
	for range 2 {
		select {
		case <-gone:
		case <-time.After(2 * time.Second):
			t.Fatal("not disconnected")
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("disconnect took %s", d)
	}
	h.Disconnect("nobody", proto.CodeRevoked, "no-op")
}

func TestMoveSwitchesRooms(t *testing.T) {
	auth := newFakeAuth(hub.Device{ID: "d1", Room: "a"})
	h, url := startHub(t, hub.Opts{Auth: auth})
	h.Publish("b", state("b", "b-last"))
	c := connect(t, url, "d1")
	waitConns(t, h, 1)

	h.Move("d1", "b")
	if st := readState(t, c); st.Room.ID != "b" || title(st) != "b-last" {
		t.Fatalf("after move got %s %q, want b's last state", st.Room.ID, title(st))
	}
	h.Publish("a", state("a", "old room"))
	h.Publish("b", state("b", "new room"))
	if st := readState(t, c); title(st) != "new room" {
		t.Fatalf("got %q, want only the new room's states", title(st))
	}
	if infos := h.Connections(); infos[0].Room != "b" {
		t.Errorf("Connections room = %q", infos[0].Room)
	}
}

// TestCloseStopsEverything: Close ends every connection, handler call and
// pairing, and leaves no goroutine behind.
func TestCloseStopsEverything(t *testing.T) {
	auth := newFakeAuth(hub.Device{ID: "d1", Room: "a"}, hub.Device{ID: "d2", Room: "b"})
	pairer := &fakePairer{approve: make(chan proto.Credential), remotes: make(chan string, 1)}
	h := hub.New(hub.Opts{Auth: auth, Pairer: pairer, Handler: newFakeHandler(), Logger: testLogger(t)})
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	base := runtime.NumGoroutine()

	c1 := connect(t, url, "d1")
	c2 := connect(t, url, "d2")
	unpaired := dial(t, url, "")
	hello(t, unpaired)
	<-pairer.remotes
	waitConns(t, h, 3)
	h.Publish("a", state("a", "x"))
	writeMsg(t, c1, proto.Message{Type: proto.TypeRequest, ID: "block-1", Request: &proto.Request{Action: proto.ActionEnd, MeetingID: "m1"}})

	start := time.Now()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %s", d)
	}
	for _, c := range []*websocket.Conn{c1, c2, unpaired} {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				break
			}
		}
	}
	if n := len(h.Connections()); n != 0 {
		t.Errorf("%d connections after Close", n)
	}
	checkGoroutines(t, base)

	// A closed hub refuses new panels.
	if _, resp, err := websocket.DefaultDialer.Dial(url, nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after Close: %v", err)
	}
	h.Close() // twice is fine
}

// checkGoroutines waits for the number of goroutines to settle back to
// base, and shows the extra ones if it does not.
func checkGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), base, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestVersionRefusalIsCoded checks that a panel of another protocol
// version is told why in a code and parameters it words in its own
// language, not only in the server's English.
func TestVersionRefusalIsCoded(t *testing.T) {
	auth := newFakeAuth(hub.Device{ID: "good", Room: "a"})
	_, url := startHub(t, hub.Opts{Auth: auth})
	c := dial(t, url, "tok-good")
	writeMsg(t, c, proto.Message{Type: proto.TypeHello, Hello: &proto.Hello{Protocol: proto.Version + 1, Firmware: "9.0"}})
	m := readMsg(t, c)
	if m.Type != proto.TypeError || m.Error.Code != proto.CodeUnsupportedVersion || m.Error.Reason != proto.ReasonVersion ||
		m.Error.Params["server"] != fmt.Sprint(proto.Version) || m.Error.Params["panel"] != fmt.Sprint(proto.Version+1) {
		t.Fatalf("refusal %+v", m.Error)
	}
}
