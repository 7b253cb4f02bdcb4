// Package loadtest connects many simulated door panels to a Lintel server on
// loopback and measures what people at the doors would notice: how long all
// panels take to connect, how long a calendar change takes to reach every
// panel of its room, and how long a booking at the panel takes to answer.
//
// A run goes through these steps, each bounded in time:
//
//  1. Setup, through the JSON API: Opts.Rooms rooms with instant booking
//     (ids Opts.Prefix-000, ...) and Opts.Panels devices spread evenly
//     over them.
//  2. Connect: every panel dials /ws with its device token, says hello and
//     waits for its room's first state.
//  3. One change: an event is added to the first room through the API;
//     the time until each of that room's panels has the new state. This
//     runs right after the connect step, while the server may still be
//     catching up with it (recording every panel's last-seen), and again
//     after step 4, on a quiet server.
//  4. Every room: an event is added to every room at once; the time from
//     each room's API call until each of its panels has the new state.
//  5. Late joiners: Opts.Joiners panels reconnect, a few at a time, while
//     the others stay connected; the time from hello to the first state.
//  6. Booking: one panel in each of Opts.Bookings rooms books 15 minutes
//     at the same time; the time from sending the request until its
//     result (tap to confirmation).
//  7. Reconnect storm (when the run has the server's Process): the server
//     is restarted (SIGTERM, then started again) with every panel
//     connected; the panels reconnect with backoff and full jitter as
//     panel/link does, and the time from the restart until each panel
//     shows its room's current state again, with the server's peak RSS
//     and CPU meanwhile.
//  8. Cleanup (unless Opts.Keep): the panels disconnect, their devices are
//     deleted and the rooms deleted.
//
// With the server's Process the run also samples its resident memory:
// before the panels connect and once they are all connected.
//
// The panels and the server share the machine, so the figures are an upper
// bound for the server's own work. Only loopback addresses are dialled: this
// is a tool for a test server, not for a production one.
package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	gosync "sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lintelhq/lintel/proto"
)

// Limits on a run, so a typo cannot start a runaway test.
const (
	MaxPanels = 20000
	MaxRooms  = 5000
)

// Opts configures a run. Zero values take the documented defaults.
type Opts struct {
	// Server is the server's base URL, e.g. http://127.0.0.1:8080. Its
	// host must be a loopback address (or a name resolving to one).
	Server string
	// Token is an API token for the JSON API.
	Token string
	// Panels is how many panels to connect. Default 100, at most MaxPanels.
	Panels int
	// Rooms is how many rooms the panels are spread over. Default
	// Panels/10 (at least 1), at most MaxRooms and Panels.
	Rooms int
	// Timeout bounds the whole run, cleanup excepted. Default 5 min.
	Timeout time.Duration
	// StepTimeout bounds each wait for one panel: to connect, to see a
	// change, to get a booking's result. Default 30 s.
	StepTimeout time.Duration
	// Concurrency is how many dials and API calls run at once during setup
	// and connect. Default 32.
	Concurrency int
	// Prefix starts the ids of the rooms the run creates. Default
	// "load-" and 6 random hex digits, so runs never collide.
	Prefix string
	// TimeZone of the rooms. Default "UTC".
	TimeZone string
	// Keep leaves the rooms, devices and events in place after the run.
	Keep bool
	// Logger gets progress. Default: discard.
	Logger *slog.Logger
	// Now is the server's time of day, which the test meetings are placed
	// around. Default: the machine's clock.
	Now func() time.Time
	// Process, when set, is the server's process: its memory and CPU are
	// sampled, and it is restarted for the reconnect storm.
	Process Process
	// Joiners is how many panels reconnect in the late-joiner step.
	// Default 200 (at most Panels).
	Joiners int
	// Bookings is how many rooms book at once (one panel each). Default
	// 100 (at most Rooms).
	Bookings int
}

func (o *Opts) defaults() error {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Server == "" || o.Token == "" {
		return errors.New("loadtest: the server URL and an API token are required")
	}
	if o.Panels == 0 {
		o.Panels = 100
	}
	if o.Rooms == 0 {
		o.Rooms = max(1, o.Panels/10)
	}
	switch {
	case o.Panels < 1 || o.Panels > MaxPanels:
		return fmt.Errorf("loadtest: panels must be between 1 and %d, not %d", MaxPanels, o.Panels)
	case o.Rooms < 1 || o.Rooms > MaxRooms || o.Rooms > o.Panels:
		return fmt.Errorf("loadtest: rooms must be between 1 and %d and no more than the panels, not %d", min(MaxRooms, o.Panels), o.Rooms)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.Joiners <= 0 {
		o.Joiners = 200
	}
	o.Joiners = min(o.Joiners, o.Panels)
	if o.Bookings <= 0 {
		o.Bookings = 100
	}
	o.Bookings = min(o.Bookings, o.Rooms)
	if o.StepTimeout <= 0 {
		o.StepTimeout = 30 * time.Second
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	if o.Prefix == "" {
		b := make([]byte, 3)
		rand.Read(b)
		o.Prefix = "load-" + hex.EncodeToString(b)
	}
	if o.TimeZone == "" {
		o.TimeZone = "UTC"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// run is the state of one load run.
type run struct {
	opts   Opts
	log    *slog.Logger
	api    *apiClient
	wsURL  string
	dialer *websocket.Dialer

	rooms   []string
	devices []device // by panel index
	panels  []*panel // by panel index; nil when it did not connect
	rep     *Report
	fails   failures
	sampler *sampler
}

type device struct {
	id, room, token string
}

// Run connects the panels, measures, cleans up and returns the figures. On
// an error the Report holds what was measured before it.
func Run(ctx context.Context, opts Opts) (Report, error) {
	if err := opts.defaults(); err != nil {
		return Report{}, err
	}
	base, err := url.Parse(opts.Server)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return Report{}, fmt.Errorf("loadtest: server %q is not an http:// or https:// URL", opts.Server)
	}
	if err := raiseFileLimit(opts.Panels + opts.Concurrency + 64); err != nil {
		return Report{}, err
	}
	rep := Report{Panels: opts.Panels, Rooms: opts.Rooms, Prefix: opts.Prefix}
	netDialer := &net.Dialer{Timeout: 10 * time.Second, Control: loopbackOnly}
	transport := &http.Transport{
		Proxy:               nil, // straight to the server, never through a proxy
		DialContext:         netDialer.DialContext,
		MaxIdleConnsPerHost: opts.Concurrency,
	}
	defer transport.CloseIdleConnections()
	ws := *base
	ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[base.Scheme]
	ws.Path = "/ws"
	r := &run{
		opts:  opts,
		log:   opts.Logger,
		api:   &apiClient{base: base.String(), token: opts.Token, http: &http.Client{Transport: transport, Timeout: opts.StepTimeout}},
		wsURL: ws.String(),
		dialer: &websocket.Dialer{
			NetDialContext:   netDialer.DialContext,
			HandshakeTimeout: opts.StepTimeout,
			ReadBufferSize:   1024,
			WriteBufferSize:  1024,
		},
		rep:     &rep,
		sampler: &sampler{pid: func() int { return 0 }},
	}
	runCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if opts.Process != nil {
		r.sampler.pid = opts.Process.PID
		sctx, stop := context.WithCancel(runCtx)
		defer stop()
		go r.sampler.run(sctx)
	}
	err = r.measure(runCtx)
	r.closePanels()
	if !opts.Keep {
		// Clean up even when ctx ended, within its own bound.
		cleanCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if cerr := r.cleanup(cleanCtx); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	rep.FailureCount, rep.Failures = r.fails.snapshot()
	return rep, err
}

// loopbackOnly refuses to connect anywhere but loopback. It checks the
// address actually dialled, after name resolution.
func loopbackOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("loadtest: %s is not a loopback address: load tests run against a server on this machine only", host)
	}
	return nil
}

func (r *run) measure(ctx context.Context) error {
	var err error
	start := time.Now()
	if err = r.setup(ctx); err != nil {
		return err
	}
	r.rep.Setup = time.Since(start)
	r.log.Info("rooms and devices created", "rooms", len(r.rooms), "devices", len(r.devices), "took", r.rep.Setup.Round(time.Millisecond))
	r.rep.IdleRSS = r.rss()

	r.sampler.reset()
	if err := r.connect(ctx); err != nil {
		return err
	}
	r.rep.ConnectPeakRSS, r.rep.ConnectPeakCPU = r.sampler.peaks()
	r.log.Info("panels connected", "connected", r.rep.Connect.N, "failed", r.rep.Connect.Failed, "took", r.rep.ConnectAll.Round(time.Millisecond))
	if r.opts.Process != nil {
		// The server settles (the last-seen writes, the garbage of the
		// handshakes collected) before its memory is read.
		time.Sleep(3 * time.Second)
		r.rep.ConnectedRSS = r.rss()
		r.log.Info("server memory", "idle_MB", r.rep.IdleRSS>>20, "connected_MB", r.rep.ConnectedRSS>>20, "per_panel_KB", r.rep.ConnectedRSS/int64(max(1, r.rep.Connect.N))>>10)
	}

	// Change events start in 3 hours: inside every state's window, and
	// clear of the 15-minute bookings made at the end.
	at := r.opts.Now().UTC().Truncate(time.Minute).Add(3 * time.Hour)
	if r.rep.OneRoomAfterConnect, err = r.change(ctx, r.rooms[:1], "one room after connect", at); err != nil {
		return err
	}
	r.log.Info("a change reached its room's panels, right after connect", "panels", r.rep.OneRoomAfterConnect.N, "max", r.rep.OneRoomAfterConnect.Max)

	changeStart := time.Now()
	if r.rep.AllRooms, err = r.change(ctx, r.rooms, "every room", at.Add(time.Hour)); err != nil {
		return err
	}
	r.rep.AllRoomsTook = time.Since(changeStart)
	r.log.Info("a change in every room reached the panels", "panels", r.rep.AllRooms.N, "took", r.rep.AllRoomsTook.Round(time.Millisecond))

	if r.rep.OneRoom, err = r.change(ctx, r.rooms[:1], "one room", at.Add(2*time.Hour)); err != nil {
		return err
	}
	r.log.Info("a change reached its room's panels", "panels", r.rep.OneRoom.N, "max", r.rep.OneRoom.Max)

	if err := r.joiners(ctx); err != nil {
		return err
	}
	r.log.Info("late joiners got their state", "ok", r.rep.Join.N, "p99", r.rep.Join.P99)

	if err := r.book(ctx); err != nil {
		return err
	}
	r.log.Info("bookings answered", "ok", r.rep.Book.N, "failed", r.rep.Book.Failed, "p99", r.rep.Book.P99)

	if r.opts.Process == nil {
		return nil
	}
	if err := r.storm(ctx, r.subject("every room")); err != nil {
		return err
	}
	r.log.Info("reconnect storm over", "back", r.rep.Storm.N, "failed", r.rep.Storm.Failed, "all_back_after", r.rep.Storm.Max.Round(time.Millisecond))
	return nil
}

// rss is the server's resident memory now, or 0 without its Process.
func (r *run) rss() int64 {
	if r.opts.Process == nil {
		return 0
	}
	n, err := readRSS(r.opts.Process.PID())
	if err != nil {
		r.log.Warn("cannot read the server's memory", "err", err)
	}
	return n
}

// subject is the subject of the events of the change step what.
func (r *run) subject(what string) string {
	return fmt.Sprintf("%s change %s", r.opts.Prefix, what)
}

// setup creates the rooms and the devices.
func (r *run) setup(ctx context.Context) error {
	r.rooms = make([]string, r.opts.Rooms)
	for i := range r.rooms {
		r.rooms[i] = fmt.Sprintf("%s-%03d", r.opts.Prefix, i)
	}
	err := parallel(ctx, len(r.rooms), r.opts.Concurrency, func(ctx context.Context, i int) error {
		room := map[string]any{
			"id": r.rooms[i], "name": fmt.Sprintf("Load test %d", i), "tz": r.opts.TimeZone,
			"display": "title", "booking": map[string]any{"instant": true},
		}
		return r.api.do(ctx, "POST", "/api/v1/rooms", room, nil)
	})
	if err != nil {
		return fmt.Errorf("loadtest: create rooms: %w", err)
	}
	r.devices = make([]device, r.opts.Panels)
	return parallel(ctx, len(r.devices), r.opts.Concurrency, func(ctx context.Context, i int) error {
		room := r.rooms[i%len(r.rooms)]
		var out struct {
			Device struct {
				ID string `json:"id"`
			} `json:"device"`
			Token string `json:"token"`
		}
		if err := r.api.do(ctx, "POST", "/api/v1/devices", map[string]string{"room": room, "name": fmt.Sprintf("load panel %d", i)}, &out); err != nil {
			return fmt.Errorf("loadtest: create devices: %w", err)
		}
		r.devices[i] = device{id: out.Device.ID, room: room, token: out.Token}
		return nil
	})
}

// connect dials every panel and waits for its first state. A panel that
// fails is counted and left out of the later steps.
func (r *run) connect(ctx context.Context) error {
	r.panels = make([]*panel, len(r.devices))
	lat := make([]time.Duration, len(r.devices))
	start := time.Now()
	err := parallel(ctx, len(r.devices), r.opts.Concurrency, func(ctx context.Context, i int) error {
		t0 := time.Now()
		p, err := dial(ctx, r.dialer, r.wsURL, r.devices[i], r.opts.StepTimeout)
		if err != nil {
			r.fails.add("connect", err)
			lat[i] = -1
			return nil
		}
		r.panels[i] = p
		lat[i] = time.Since(t0)
		return nil
	})
	r.rep.ConnectAll = time.Since(start)
	r.rep.Connect = summarize(lat)
	if err != nil {
		return fmt.Errorf("loadtest: connect: %w", err)
	}
	if r.rep.Connect.N == 0 {
		_, first := r.fails.snapshot()
		return fmt.Errorf("loadtest: no panel connected: %s", strings.Join(first, "; "))
	}
	return nil
}

// change adds an event to each of rooms through the API, all at once, and
// measures from each room's call until each of its panels has a state with
// the event. The event's subject names it, so it is recognized on the wire.
func (r *run) change(ctx context.Context, rooms []string, what string, at time.Time) (Stats, error) {
	subject := r.subject(what)
	byRoom := r.panelsByRoom()
	for _, room := range rooms {
		for _, p := range byRoom[room] {
			p.expect(func(m proto.Message) bool { return m.Type == proto.TypeState && hasTitle(m.State, subject) })
		}
	}
	var mu gosync.Mutex
	var lat []time.Duration
	var wg gosync.WaitGroup
	err := parallel(ctx, len(rooms), r.opts.Concurrency, func(callCtx context.Context, i int) error {
		t0 := time.Now()
		ev := map[string]any{"subject": subject, "organizer": "Load test", "start": at, "end": at.Add(30 * time.Minute)}
		if err := r.api.do(callCtx, "POST", "/api/v1/rooms/"+rooms[i]+"/events", ev, nil); err != nil {
			return fmt.Errorf("loadtest: change %s: %w", what, err)
		}
		for _, p := range byRoom[rooms[i]] {
			// The waits outlive parallel's context: they use the run's.
			wg.Go(func() {
				d := time.Duration(-1)
				if got, _, err := p.wait(ctx, r.opts.StepTimeout); err != nil {
					r.fails.add("change "+what, err)
				} else {
					d = got.Sub(t0)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			})
		}
		return nil
	})
	wg.Wait()
	return summarize(lat), err
}

// book has one panel in every room book 15 minutes, all at once, and
// measures each round trip.
func (r *run) book(ctx context.Context) error {
	byRoom := r.panelsByRoom()
	rooms := r.rooms[:r.opts.Bookings]
	lat := make([]time.Duration, len(rooms))
	var wg gosync.WaitGroup
	for i, room := range rooms {
		lat[i] = -1
		if len(byRoom[room]) == 0 {
			continue
		}
		p := byRoom[room][0]
		id := fmt.Sprintf("%s-book-%d", r.opts.Prefix, i)
		p.expect(func(m proto.Message) bool { return m.Type == proto.TypeResult && m.ID == id })
		wg.Go(func() {
			req := proto.Message{Type: proto.TypeRequest, ID: id, Request: &proto.Request{Action: proto.ActionBook, Minutes: 15}}
			t0 := time.Now()
			if err := p.send(req, r.opts.StepTimeout); err != nil {
				r.fails.add("book", err)
				return
			}
			got, res, err := p.wait(ctx, r.opts.StepTimeout)
			if err != nil {
				r.fails.add("book", err)
				return
			}
			if !res.Result.OK {
				r.fails.add("book", fmt.Errorf("room %s: %w", room, res.Result.Error))
				return
			}
			lat[i] = got.Sub(t0)
		})
	}
	wg.Wait()
	r.rep.Book = summarize(lat)
	return ctx.Err()
}

func hasTitle(st *proto.State, title string) bool {
	return slices.ContainsFunc(st.Meetings, func(m proto.Meeting) bool { return m.Title == title })
}

func (r *run) panelsByRoom() map[string][]*panel {
	out := make(map[string][]*panel, len(r.rooms))
	for _, p := range r.panels {
		if p != nil {
			out[p.dev.room] = append(out[p.dev.room], p)
		}
	}
	return out
}

func (r *run) closePanels() {
	var wg gosync.WaitGroup
	for _, p := range r.panels {
		if p != nil {
			wg.Go(p.close)
		}
	}
	wg.Wait()
}

// cleanup deletes the devices and the rooms the run created.
func (r *run) cleanup(ctx context.Context) error {
	err := parallel(ctx, len(r.devices), r.opts.Concurrency, func(ctx context.Context, i int) error {
		if r.devices[i].id == "" {
			return nil
		}
		return r.api.do(ctx, "DELETE", "/api/v1/devices/"+r.devices[i].id, nil, nil)
	})
	if err != nil {
		return fmt.Errorf("loadtest: cleanup: delete devices: %w", err)
	}
	err = parallel(ctx, len(r.rooms), r.opts.Concurrency, func(ctx context.Context, i int) error {
		return r.api.do(ctx, "DELETE", "/api/v1/rooms/"+r.rooms[i], nil, nil)
	})
	if err != nil {
		return fmt.Errorf("loadtest: cleanup: delete rooms: %w", err)
	}
	r.log.Info("cleaned up: rooms and devices deleted", "rooms", len(r.rooms), "devices", len(r.devices))
	return nil
}

// parallel runs f(0..n-1) on at most workers goroutines. It stops handing
// out work at the first error or when ctx ends, and returns that error.
func parallel(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan int)
	var wg gosync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := range work {
				if err := f(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
loop:
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
			break loop
		}
	}
	close(work)
	wg.Wait()
	return context.Cause(ctx)
}
