//go:build soak

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/proto/clock"
	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
	"github.com/lintelhq/lintel/server/store"
)

// TestSoak runs the whole server (the real Microsoft 365 connector against
// the Graph emulator) under a bounded mixed load for LINTEL_SOAK_DURATION
// (default 3 minutes): anonymous sockets from many addresses, rogue panels
// (request floods, garbage, sockets that never say hello, revocation in
// the middle), panels booking and ending meetings (with answers lost to
// dropped connections and retried), admin API calls, and Graph faults
// (503, 429 with Retry-After, slow answers). Then it stops the load and
// asserts that goroutines, open files and heap return to the baseline, and
// that every booking a panel was told about is in the room's calendar.
//
// Run it with `make soak`; it is not part of `make test`.
func TestSoak(t *testing.T) {
	duration := 3 * time.Minute
	if v := os.Getenv("LINTEL_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("LINTEL_SOAK_DURATION: %v", err)
		}
		duration = d
	}
	s := startSoakServer(t)
	base := measure(t)
	t.Logf("baseline: %s", base)

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	run := func(name string, n int, f func(ctx context.Context, i int, st *soakStats)) {
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f(ctx, i, &s.stats)
			}()
		}
	}
	run("anonymous", 8, s.anonymous)
	run("rogue", 3, s.rogue)
	run("booker", len(s.bookRooms), s.booker)
	run("admin", 2, s.adminCalls)
	run("graph faults", 1, s.graphFaults)
	start := time.Now()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(30 * time.Second):
			m := measure(t)
			t.Logf("%s in: %s; %s", time.Since(start).Round(time.Second), m, s.stats.String())
		}
	}
	wg.Wait()
	peak := measure(t)
	t.Logf("load over: %s", s.stats.String())

	// Back to the baseline: every client has gone, the server must
	// have let go of everything they cost.
	var after sample
	settled := false
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		after = measure(t)
		if after.goroutines <= base.goroutines+5 && after.fds <= base.fds+5 && after.heap <= base.heap+8<<20 {
			settled = true
			break
		}
	}
	t.Logf("after the load: %s (at the end of the load: %s)", after, peak)
	if !settled {
		buf := make([]byte, 1<<20)
		t.Errorf("did not return to the baseline (%s) within 90 s: %s\n%s", base, after, buf[:runtime.Stack(buf, true)])
	}

	// No acknowledged booking is lost.
	s.checkBookings(t)
	if s.stats.acked.Load() == 0 {
		t.Error("no booking was acknowledged during the soak")
	}
}

// soakServer is the server under test and what the load needs of it.
type soakServer struct {
	t         *testing.T
	app       *app
	http      *httptest.Server
	ws        string
	token     string
	sim       *graphtest.Server
	rooms     []store.Room
	bookRooms []store.Room // cleared of demo meetings: the bookers' rooms
	logBytes  atomic.Int64
	stats     soakStats

	mu    sync.Mutex
	acked map[string]ackedBooking // by meeting id
}

type ackedBooking struct {
	room, device, request string
	start, end            time.Time
}

// soakStats counts what the load did.
type soakStats struct {
	anonOpen, anonRefused, rogueFrames, requests, acked, retried, adminCalls, faults atomic.Int64
}

func (s *soakStats) String() string {
	return fmt.Sprintf("anonymous sockets %d (refused %d), rogue frames %d, booking requests %d (acknowledged %d, retried %d), admin calls %d, Graph faults %d",
		s.anonOpen.Load(), s.anonRefused.Load(), s.rogueFrames.Load(), s.requests.Load(), s.acked.Load(), s.retried.Load(), s.adminCalls.Load(), s.faults.Load())
}

type countingWriter struct{ n *atomic.Int64 }

func (w countingWriter) Write(b []byte) (int, error) { w.n.Add(int64(len(b))); return len(b), nil }

func startSoakServer(t *testing.T) *soakServer {
	s := &soakServer{t: t, acked: map[string]ackedBooking{}}
	dir := t.TempDir()
	log := newLogger(countingWriter{&s.logBytes}, config{LogLevel: 0})
	var handler http.Handler = http.NotFoundHandler()
	s.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	ctx, cancel := context.WithCancel(context.Background())
	cfg := config{DataDir: dir, Init: true, M365Sim: true, StartSim: startSimForTests, Poll: 3 * time.Second, PublicURL: s.http.URL, Now: clock.ForTests(os.Getenv)}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	handler = a.handler
	s.app, s.sim = a, a.graphSim()
	a.start(ctx)
	t.Cleanup(func() {
		cancel()
		s.http.CloseClientConnections()
		a.hub.Close()
		a.wait()
		s.http.Close()
		a.Close()
		t.Logf("log written: %d bytes", s.logBytes.Load())
	})
	s.ws = "ws" + strings.TrimPrefix(s.http.URL, "http") + "/ws"
	if s.token, err = admin.NewAPIToken(a.db, "soak", "", cfg.Now()); err != nil {
		t.Fatal(err)
	}
	if s.rooms, err = a.db.Rooms(); err != nil || len(s.rooms) < 3 {
		t.Fatalf("rooms: %v %v", s.rooms, err)
	}
	for _, r := range s.rooms[:2] {
		s.sim.ClearEvents(r.Calendar)
		s.bookRooms = append(s.bookRooms, r)
	}
	// Let the first poll and the server settle before the baseline.
	time.Sleep(5 * time.Second)
	return s
}

// sample is one measurement of what the process holds.
type sample struct {
	goroutines, fds int
	heap            uint64
}

func (s sample) String() string {
	return fmt.Sprintf("%d goroutines, %d open files, %.1f MB heap", s.goroutines, s.fds, float64(s.heap)/(1<<20))
}

func measure(t *testing.T) sample {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return sample{goroutines: runtime.NumGoroutine(), fds: len(fds), heap: ms.HeapAlloc}
}

// dialFrom connects to the panel endpoint from a loopback address of its
// own, with a token or none.
func (s *soakServer) dialFrom(ctx context.Context, ip, token string) (*websocket.Conn, error) {
	d := websocket.Dialer{
		NetDialContext:   (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext,
		HandshakeTimeout: 5 * time.Second,
	}
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	c, resp, err := d.DialContext(ctx, s.ws, h)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	return c, err
}

func send(c *websocket.Conn, m proto.Message) error {
	b, err := proto.Encode(m)
	if err != nil {
		return err
	}
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.WriteMessage(websocket.TextMessage, b)
}

func helloMsg() proto.Message {
	return proto.Message{Type: proto.TypeHello, Hello: &proto.Hello{Protocol: proto.Version, Firmware: "soak"}}
}

// drain reads and drops frames until the connection ends.
func drain(c *websocket.Conn) {
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return
		}
	}
}

// anonymous keeps a pool of unpaired sockets from a few addresses: some
// show a pairing code, some never say hello; old ones are dropped and new
// ones opened all the time.
func (s *soakServer) anonymous(ctx context.Context, worker int, st *soakStats) {
	var pool []*websocket.Conn
	defer func() {
		for _, c := range pool {
			c.Close()
		}
	}()
	for ctx.Err() == nil {
		ip := fmt.Sprintf("127.0.%d.%d", 10+worker, 1+rand.IntN(5))
		c, err := s.dialFrom(ctx, ip, "")
		if err != nil {
			st.anonRefused.Add(1)
			sleep(ctx, 20*time.Millisecond)
			continue
		}
		st.anonOpen.Add(1)
		if rand.IntN(4) > 0 {
			send(c, helloMsg())
		}
		go drain(c)
		pool = append(pool, c)
		if len(pool) > 100 {
			i := rand.IntN(len(pool))
			pool[i].Close()
			pool = append(pool[:i], pool[i+1:]...)
		}
		sleep(ctx, 10*time.Millisecond)
	}
}

// rogue is a paired panel gone bad: request floods, problem floods,
// garbage frames, sockets with its token that never say hello. The first
// rogue is revoked a third of the way in, and deleted later.
func (s *soakServer) rogue(ctx context.Context, i int, st *soakStats) {
	room := s.rooms[2+i%(len(s.rooms)-2)]
	dev, token, err := s.app.devices.Add(ctx, room.ID, fmt.Sprint("rogue ", i))
	if err != nil {
		s.t.Error(err)
		return
	}
	if i == 0 {
		go func() {
			deadline, _ := ctx.Deadline()
			third := time.Until(deadline) / 3
			sleep(ctx, third)
			s.api(ctx, "POST", "/api/v1/devices/"+dev.ID+"/revoke", nil)
			sleep(ctx, third)
			s.api(ctx, "DELETE", "/api/v1/devices/"+dev.ID, nil)
		}()
	}
	ip := fmt.Sprintf("127.1.0.%d", 1+i)
	n := 0
	for ctx.Err() == nil {
		c, err := s.dialFrom(ctx, ip, token)
		if err != nil {
			sleep(ctx, 100*time.Millisecond)
			continue
		}
		go drain(c)
		if rand.IntN(3) == 0 { // a socket that never says hello
			sleep(ctx, 50*time.Millisecond)
			c.Close()
			continue
		}
		send(c, helloMsg())
		for range 50 {
			n++
			var m proto.Message
			switch rand.IntN(4) {
			case 0, 1:
				m = proto.Message{Type: proto.TypeRequest, ID: fmt.Sprint("rogue-", i, "-", n), Request: &proto.Request{Action: proto.ActionBook, Until: time.Now().Add(100 * time.Hour)}}
			case 2:
				m = proto.Message{Type: proto.TypeReport, Report: &proto.Report{Kind: "problem", Problem: strings.Repeat("broken ", 20)}}
			case 3:
				m = proto.Message{Type: proto.TypeReport, Report: &proto.Report{Kind: "screenshot", PNG: make([]byte, 64<<10)}}
			}
			if send(c, m) != nil {
				break
			}
			st.rogueFrames.Add(1)
		}
		if rand.IntN(5) == 0 {
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.WriteMessage(websocket.TextMessage, []byte(`{"type":"request","id":`)) // garbage: the server closes
			st.rogueFrames.Add(1)
		}
		sleep(ctx, 200*time.Millisecond)
		c.Close()
	}
}

// booker is a door panel in a room kept free of other meetings: it books
// 15 minutes, sometimes loses the answer to a dropped connection and asks
// again with the same id, then ends the meeting, once a minute or so.
func (s *soakServer) booker(ctx context.Context, i int, st *soakStats) {
	room := s.bookRooms[i]
	dev, token, err := s.app.devices.Add(ctx, room.ID, fmt.Sprint("door ", i))
	if err != nil {
		s.t.Error(err)
		return
	}
	ip := fmt.Sprintf("127.2.0.%d", 1+i)
	for n := 0; ctx.Err() == nil; n++ {
		id := fmt.Sprintf("book-%d-%d", i, n)
		book := proto.Message{Type: proto.TypeRequest, ID: id, Request: &proto.Request{Action: proto.ActionBook, Minutes: 15}}
		res, ok := s.request(ctx, ip, token, book, n%3 == 0)
		if !ok {
			continue
		}
		st.requests.Add(1)
		if res.OK {
			st.acked.Add(1)
			s.mu.Lock()
			s.acked[res.Meeting.ID] = ackedBooking{room: room.Calendar, device: dev.ID, request: id, start: res.Meeting.Start, end: res.Meeting.End}
			s.mu.Unlock()
			// The same id again gets the same booking.
			again, ok := s.request(ctx, ip, token, book, false)
			limited := !again.OK && again.Error != nil && again.Error.Code == proto.CodeRateLimited
			if ok && !limited && (!again.OK || again.Meeting.ID != res.Meeting.ID) {
				s.t.Errorf("retry of %s: %+v, want meeting %s", id, again, res.Meeting.ID)
			}
			sleep(ctx, 5*time.Second)
			end := proto.Message{Type: proto.TypeRequest, ID: id + "-end", Request: &proto.Request{Action: proto.ActionEnd, MeetingID: res.Meeting.ID}}
			s.request(ctx, ip, token, end, false)
		}
		sleep(ctx, time.Duration(40+rand.IntN(30))*time.Second)
	}
}

// request sends m on a connection of its own and waits for its result.
// With lose, the connection is dropped right after sending (the answer is
// lost) and the request sent again with the same id on a new one.
func (s *soakServer) request(ctx context.Context, ip, token string, m proto.Message, lose bool) (proto.Result, bool) {
	for attempt := 0; attempt < 5 && ctx.Err() == nil; attempt++ {
		c, err := s.dialFrom(ctx, ip, token)
		if err != nil {
			sleep(ctx, time.Second)
			continue
		}
		stop := context.AfterFunc(ctx, func() { c.Close() })
		send(c, helloMsg())
		if send(c, m) != nil {
			stop()
			c.Close()
			continue
		}
		if lose {
			lose = false
			s.stats.retried.Add(1)
			stop()
			c.Close()
			continue
		}
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				break
			}
			got, err := proto.Decode(b)
			if err == nil && got.Type == proto.TypeResult && got.ID == m.ID {
				stop()
				c.Close()
				if !got.Result.OK && got.Result.Error.Code == proto.CodeUnavailable {
					break // Graph failed: ask again
				}
				return *got.Result, true
			}
		}
		stop()
		c.Close()
		sleep(ctx, time.Second)
	}
	return proto.Result{}, false
}

// adminCalls reads what an admin's scripts read, page by page.
func (s *soakServer) adminCalls(ctx context.Context, i int, st *soakStats) {
	paths := []string{"/api/v1/rooms", "/api/v1/devices", "/api/v1/pairing", "/api/v1/activity?limit=50", "/healthz", "/metrics", "/login"}
	for _, r := range s.rooms {
		paths = append(paths, "/api/v1/rooms/"+r.ID+"/state")
	}
	for ctx.Err() == nil {
		p := paths[rand.IntN(len(paths))]
		for p != "" {
			resp := s.api(ctx, "GET", p, nil)
			st.adminCalls.Add(1)
			p = ""
			if resp != nil {
				if link := resp.Header.Get("Link"); link != "" && rand.IntN(2) == 0 {
					p, _, _ = strings.Cut(strings.TrimPrefix(link, "<"), ">")
				}
			}
		}
		sleep(ctx, 100*time.Millisecond)
	}
}

func (s *soakServer) api(ctx context.Context, method, path string, body any) *http.Response {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, s.http.URL+path, r)
	if err != nil {
		return nil
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// graphFaults makes Graph fail now and then: 503s, 429s with Retry-After,
// answers that come late, for one mailbox or all.
func (s *soakServer) graphFaults(ctx context.Context, _ int, st *soakStats) {
	for ctx.Err() == nil {
		sleep(ctx, time.Duration(5+rand.IntN(10))*time.Second)
		mailbox := ""
		if rand.IntN(2) == 0 {
			mailbox = s.rooms[rand.IntN(len(s.rooms))].Calendar
		}
		switch rand.IntN(3) {
		case 0:
			s.sim.Inject(graphtest.Fault{Mailbox: mailbox, Status: http.StatusServiceUnavailable, Times: 3})
		case 1:
			s.sim.Inject(graphtest.Fault{Mailbox: mailbox, Status: http.StatusTooManyRequests, RetryAfter: time.Second, Times: 2})
		case 2:
			s.sim.Inject(graphtest.Fault{Mailbox: mailbox, Delay: 3 * time.Second, Times: 2})
		}
		st.faults.Add(1)
	}
}

// checkBookings asserts that every acknowledged booking is in its room's
// calendar, with the times the panel was told, and that no room holds two
// overlapping bookings made at the panel.
func (s *soakServer) checkBookings(t *testing.T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	events := map[string]graphtest.Event{}
	for _, r := range s.rooms {
		for _, e := range s.sim.Events(r.Calendar) {
			events[e.ID] = e
		}
	}
	for id, b := range s.acked {
		e, ok := events[id]
		switch {
		case !ok:
			t.Errorf("booking %s (request %s of %s) was acknowledged but is not in %s's calendar", id, b.request, b.device, b.room)
		case e.Deleted || e.Cancelled || e.Declined:
			t.Errorf("booking %s was acknowledged but is gone: %+v", id, e)
		case !e.Start.Equal(b.start):
			t.Errorf("booking %s starts at %v, the panel was told %v", id, e.Start, b.start)
		}
	}
	t.Logf("%d acknowledged bookings, all in their calendars", len(s.acked))
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
