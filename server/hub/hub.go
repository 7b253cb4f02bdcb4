// Package hub is the server end of the panel websocket (the /ws endpoint):
// it authenticates panels, pairs new ones, fans each room's state out to the
// panels of that room, and carries requests and reports back.
//
// A connection goes through these steps:
//
//  1. The panel connects with "Authorization: Bearer <token>", or without a
//     token when it is not paired yet. Connections are capped before the
//     upgrade (Opts.MaxConns in all; Opts.MaxUnpaired and
//     Opts.MaxUnpairedPerAddr for those without a valid credential, so
//     that paired panels keep a reserve; two per device), and refused
//     with 503 or 429. The token is checked before the upgrade; a refused
//     panel is still upgraded so that it can read an error frame
//     (CodeUnauthorized, CodeRevoked) that says why, then closed.
//  2. The panel's first frame must be a hello, within Opts.HelloTimeout. A
//     protocol version this server does not speak gets CodeUnsupportedVersion
//     and a close: the panel shows an "update firmware" screen. A paired
//     panel's credential is checked again (Authenticator.Check): it may
//     have been revoked since the upgrade.
//  3. A paired panel then gets its room's last state at once, asked of
//     Opts.States (the hub keeps no copy of it), and every state published
//     for the room after it; its credential is checked again
//     before each request and report. An unpaired panel is handed to the
//     Pairer, whose pairing code it shows until an admin approves it (it
//     then gets its credential and is closed so that it reconnects with
//     it) or until Opts.UnpairedLifetime ends the connection; the panel
//     reconnects for a new code.
//
// Disconnect cuts every connection of a device, whatever its state, within
// a second: an admin's revocation takes effect at once.
//
// Memory is what bounds how many panels one server holds, so an idle
// connection costs little: one goroutine (its reader, started after the
// hello on a small stack), a 1 KB read buffer, and no write buffer (writes
// borrow one from a shared pool). Everything the hub sends goes through a
// small bounded queue; the first frame queued starts a short-lived flusher
// goroutine that writes what is queued and ends (a gorilla Conn supports
// one concurrent reader and one writer). A panel whose queue is full is
// too slow and is dropped, so a stuck panel can never block Publish or the
// other panels (as in coder/websocket's chat example). A state is encoded
// and framed once per Publish (a websocket.PreparedMessage) and the same
// frame is written to every panel of the room; the state a late joiner
// gets is asked of Opts.States once and prepared once for all who join
// within a second (a Publish drops that frame).
//
// A frame that proto.Decode refuses gets an error frame that says what was
// wrong, then the connection is closed: a panel that sends garbage has a bug
// that retrying will not fix, and the other panels are unaffected.
//
// Heartbeats: a timer pings every PingInterval (the first after a random
// part of it, so panels that connected together are pinged apart); the
// reader's deadline is two PingIntervals, renewed by every pong and every
// frame, so a panel that vanished without closing its TCP connection is
// dropped after at most two intervals. Every write has a deadline (WriteTimeout).
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lintelhq/lintel/proto"
)

// Errors an Authenticator wraps so that the panel learns why it was refused.
var (
	// ErrUnknownToken: the token is not one the server issued. The panel
	// gets CodeUnauthorized.
	ErrUnknownToken = errors.New("hub: unknown device token")
	// ErrRevoked: the device was removed by an admin. The panel gets
	// CodeRevoked, forgets its credential and pairs again.
	ErrRevoked = errors.New("hub: device revoked")
)

// Defaults for the zero fields of Opts.
const (
	DefaultSendQueue    = 16
	DefaultWriteTimeout = 10 * time.Second
	DefaultPingInterval = 30 * time.Second
	DefaultHelloTimeout = 10 * time.Second

	DefaultMaxConns           = 10_000
	DefaultMaxHandshakes      = 64
	DefaultHandshakeWait      = 3 * time.Second
	DefaultMaxUnpaired        = 1_000
	DefaultMaxUnpairedPerAddr = 16
	DefaultUnpairedLifetime   = 10 * time.Minute
)

// maxConnsPerDevice is how many connections one credential holds at once:
// the live one and the half-open leftover of a panel that just rebooted.
// A third (a rogue panel opening sockets in a loop) closes the oldest.
const maxConnsPerDevice = 2

const (
	// finalWriteTimeout and closeGrace bound how long a connection takes to
	// close after the hub decided to close it (Disconnect, a bad frame):
	// writing the last frames, then waiting for the panel's close reply so
	// that the last frame is not lost to a TCP reset. Together under 1 s.
	finalWriteTimeout = 300 * time.Millisecond
	closeGrace        = 500 * time.Millisecond
	// closeWait bounds how long Close waits for the panels' close replies
	// before it cuts the remaining connections.
	closeWait = time.Second
	// cutDeadline is when Disconnect closes the socket of a panel whose
	// goodbye could not be written by then.
	cutDeadline = 900 * time.Millisecond

	// maxInFlight bounds the requests and reports of one panel being
	// handled at once, so a misbehaving panel cannot start goroutines
	// without limit.
	maxInFlight = 4

	// Buffer sizes. Panel frames are small, and the read buffer lives as
	// long as the connection, so it is small (a larger frame is read past
	// it, straight into the message); write buffers come from a pool and
	// are held only while a frame is written.
	readBufferSize  = 256
	writeBufferSize = 4096
)

// Device is who is on the other end of a paired connection.
type Device struct {
	ID   string
	Room string // the room the device shows; "" = none yet
	Name string
}

// Authenticator checks the token a panel presents. It returns an error
// wrapping ErrUnknownToken or ErrRevoked when the token is refused; any
// other error is taken as temporary (CodeUnavailable: try again later).
//
// Check tells whether a device authenticated earlier may still be served,
// with the same errors: the hub asks at hello and before every request and
// report, so a device revoked while connected is refused even if nobody
// called Disconnect.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Device, error)
	Check(ctx context.Context, deviceID string) error
}

// States answers with a room's last state (false when it has none yet).
// The syncer is one. Its answer must be the last state it gave to Publish,
// recorded just before publishing it, in the order published: never older
// than a state already published, and never newer than one still to be.
type States interface {
	State(room string) (proto.State, bool)
}

// Pairer pairs panels that connect without a token.
type Pairer interface {
	// Pair sends pairing codes to the panel through send and blocks until an
	// admin approves one (it returns the credential, which the hub sends to
	// the panel before closing the connection, so that the panel reconnects
	// with it) or until ctx ends (the panel left or the hub closed). An
	// error that is a *proto.Error is passed on to the panel as is.
	Pair(ctx context.Context, remoteAddr string, send func(proto.Message) error) (proto.Credential, error)
}

// Handler handles what paired panels send. Both methods run off the
// connection's read loop (so heartbeats keep flowing while a booking
// talks to a slow calendar), at most a few at a time per panel. ctx ends
// when the panel disconnects or the hub closes: a request is idempotent by
// id, and the panel sends the same id again after it reconnects.
type Handler interface {
	Request(ctx context.Context, d Device, id string, r proto.Request) proto.Result
	Report(ctx context.Context, d Device, r proto.Report)
}

// ConnInfo describes one connection, for the admin's health view.
type ConnInfo struct {
	DeviceID   string // "" for an unpaired panel
	Name       string
	Room       string
	RemoteAddr string
	Paired     bool
	Firmware   string
	Protocol   int
	Since      time.Time     // when the connection was accepted
	Uptime     time.Duration // the panel's uptime as its hello said
	Arch       string        // the panel binary's platform, e.g. "linux/arm64"
}

// Opts configures a Hub. Zero fields take the documented defaults.
type Opts struct {
	// Auth checks tokens. Nil refuses every token (CodeUnauthorized).
	Auth Authenticator
	// Pairer pairs panels that come without a token. Nil refuses them.
	Pairer Pairer
	// Handler handles requests and reports. Nil answers every request with
	// CodeUnavailable and drops reports.
	Handler Handler
	// Logger gets connection events. Nil discards them. The token is never
	// logged.
	Logger *slog.Logger
	// SendQueue is how many frames may wait for a panel before it counts as
	// too slow and is dropped. Default 16.
	SendQueue int
	// WriteTimeout bounds every write. Default 10 s.
	WriteTimeout time.Duration
	// PingInterval is how often the hub pings each panel. A panel that
	// sends nothing, not even a pong, for two intervals is dropped.
	// Default 30 s (so a dead panel is noticed within 60 s).
	PingInterval time.Duration
	// HelloTimeout is how long a new connection has to send its hello.
	// Default 10 s.
	HelloTimeout time.Duration
	// MaxFrameBytes is the largest frame read from a panel. Default
	// proto.MaxFrameBytes; larger values do not help, since proto.Decode
	// refuses bigger frames anyway.
	MaxFrameBytes int
	// OnConnect and OnDisconnect are called when a paired panel has said
	// hello and when its connection ended, for last-seen and health. They
	// run on the connection's goroutines: keep them quick.
	OnConnect    func(Device, ConnInfo)
	OnDisconnect func(Device, ConnInfo)
	// Greet returns frames for a paired panel that just said hello, queued
	// before its room's state (its display settings, say, so that its
	// first frame is drawn with them). It runs on the connection's
	// goroutine, off the hub's lock. Nil sends nothing.
	Greet func(Device, proto.Hello) []proto.Message
	// States answers with a room's last state when a panel joins or moves
	// to it: it is the one owner of that state (the syncer), so the hub
	// keeps none of its own. Nil: a panel gets its room's states from the
	// next Publish on.
	States States
	// Now is the clock that stamps a late joiner's state. Default time.Now.
	Now func() time.Time

	// MaxConns caps the connections open at once, paired or not; one
	// more is refused with 503 before the upgrade, so the server keeps
	// file descriptors and memory for the admin and the API. Default
	// 10,000.
	MaxConns int
	// MaxUnpaired caps the connections without a valid credential:
	// unpaired panels, and refused ones while they are told why. The
	// rest of MaxConns is the reserve of paired panels, which therefore
	// reconnect even while anonymous sockets flood the server. Default
	// 1,000.
	MaxUnpaired int
	// MaxUnpairedPerAddr caps those per source address (an IPv4 address,
	// or an IPv6 /64); one more gets 429. Default 16.
	MaxUnpairedPerAddr int
	// UnpairedLifetime ends an unpaired connection with a normal close
	// (its pairing code expires with it); the panel reconnects for a new
	// code. Default 10 minutes.
	UnpairedLifetime time.Duration
	// MaxHandshakes bounds the connections being set up at once (the
	// token checked, the websocket upgraded); more wait up to
	// HandshakeWait for their turn and are then refused with 503 and a
	// Retry-After. After a restart every panel reconnects within seconds:
	// they are taken at the rate the server manages rather than all at
	// once. Defaults 64 and 3 s.
	MaxHandshakes int
	HandshakeWait time.Duration
	// ClientAddr returns the address a request comes from, for the
	// per-address cap and the pairing list. Default: r.RemoteAddr. Behind
	// a trusted reverse proxy, the address it forwards.
	ClientAddr func(*http.Request) string
}

// Hub is the panel websocket endpoint. It is an http.Handler; Close stops
// it with every connection and goroutine it started.
type Hub struct {
	opts     Opts
	log      *slog.Logger
	upgrader websocket.Upgrader
	// ctx is the parent of every connection's context; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts every goroutine the hub started.
	wg sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	conns    map[*conn]struct{}            // every open connection
	byDevice map[string][]*conn            // paired connections in any state, oldest first
	devices  map[string]*conn              // paired connections past hello, by device id
	rooms    map[string]map[*conn]struct{} // paired connections past hello, by room
	// joinFrame is each room's last state as a late joiner gets it,
	// asked of Opts.States and prepared once for the panels that join
	// within joinFrameFresh of it; Publish drops it.
	joinFrame map[string]preparedState
	// Admitted connections, counted from before the upgrade until the
	// connection ends: all, those without a credential, and those by
	// source address.
	open, anon int
	anonByAddr map[string]int
	// handshakes holds a token per connection being set up.
	handshakes chan struct{}
}

// New returns a Hub configured by opts.
func New(opts Opts) *Hub {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SendQueue <= 0 {
		opts.SendQueue = DefaultSendQueue
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = DefaultPingInterval
	}
	if opts.HelloTimeout <= 0 {
		opts.HelloTimeout = DefaultHelloTimeout
	}
	if opts.MaxFrameBytes <= 0 {
		opts.MaxFrameBytes = proto.MaxFrameBytes
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.MaxUnpaired <= 0 {
		opts.MaxUnpaired = DefaultMaxUnpaired
	}
	if opts.MaxUnpairedPerAddr <= 0 {
		opts.MaxUnpairedPerAddr = DefaultMaxUnpairedPerAddr
	}
	if opts.UnpairedLifetime <= 0 {
		opts.UnpairedLifetime = DefaultUnpairedLifetime
	}
	if opts.ClientAddr == nil {
		opts.ClientAddr = func(r *http.Request) string { return r.RemoteAddr }
	}
	if opts.MaxHandshakes <= 0 {
		opts.MaxHandshakes = DefaultMaxHandshakes
	}
	if opts.HandshakeWait <= 0 {
		opts.HandshakeWait = DefaultHandshakeWait
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{
		opts: opts,
		log:  opts.Logger,
		upgrader: websocket.Upgrader{
			ReadBufferSize:  readBufferSize,
			WriteBufferSize: writeBufferSize,
			WriteBufferPool: &sync.Pool{},
		},
		ctx:        ctx,
		cancel:     cancel,
		conns:      make(map[*conn]struct{}),
		byDevice:   make(map[string][]*conn),
		devices:    make(map[string]*conn),
		rooms:      make(map[string]map[*conn]struct{}),
		joinFrame:  make(map[string]preparedState),
		anonByAddr: make(map[string]int),
		handshakes: make(chan struct{}, opts.MaxHandshakes),
	}
}

// ServeHTTP upgrades a panel's request to a websocket and reads its hello.
// It returns once the panel is in (or refused): the connection then lives
// in a goroutine of its own.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.isClosed() {
		http.Error(w, "hub: shutting down", http.StatusServiceUnavailable)
		return
	}
	remote := h.opts.ClientAddr(r)
	if h.full() {
		// Refused before anything else, the token check included: a
		// flood costs as little as possible.
		refuseHTTP(w, http.StatusServiceUnavailable, "hub: too many panel connections: try again later")
		return
	}
	if !h.handshakeTurn(r.Context()) {
		h.log.Debug("hub: connection refused: too many being set up", "remote", remote)
		w.Header().Set("Retry-After", strconv.Itoa(1+rand.N(5)))
		w.Header().Set("Connection", "close")
		http.Error(w, "hub: busy setting up other panels' connections: try again in a few seconds", http.StatusServiceUnavailable)
		return
	}
	dev, paired, refusal := h.authenticate(r)
	slot := admission{addr: addrKey(remote), anon: !paired}
	if status, why := h.admit(slot); status != 0 {
		<-h.handshakes
		h.log.Debug("hub: connection refused", "remote", remote, "why", why)
		refuseHTTP(w, status, why)
		return
	}
	ws, err := h.upgrader.Upgrade(w, r, nil)
	<-h.handshakes
	if err != nil {
		// Upgrade has answered the request with an HTTP error already.
		h.log.Debug("hub: websocket upgrade failed", "remote", remote, "err", err)
		h.release(slot)
		return
	}
	c := h.newConn(ws, remote, dev, paired, slot)
	old, ok := h.add(c)
	if !ok {
		ws.Close()
		c.cancel()
		h.release(slot)
		return
	}
	if old != nil {
		old.log().Info("hub: a third connection with the same credential: closing the oldest")
		old.kill()
	}
	c.serve(refusal)
}

// handshakeTurn waits up to HandshakeWait for a turn to set up a
// connection, and reports whether it got one; the caller gives it back.
func (h *Hub) handshakeTurn(ctx context.Context) bool {
	select {
	case h.handshakes <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(h.opts.HandshakeWait)
	defer t.Stop()
	select {
	case h.handshakes <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	case <-h.ctx.Done():
	}
	return false
}

// refuseHTTP answers a connection the hub does not take, before the
// upgrade; a panel backs off and tries again.
func refuseHTTP(w http.ResponseWriter, status int, why string) {
	w.Header().Set("Retry-After", "30")
	w.Header().Set("Connection", "close")
	http.Error(w, why, status)
}

// admission is a connection's place in the caps, from before the upgrade
// until it ends.
type admission struct {
	addr string // addrKey of the source address
	anon bool   // no valid credential
}

// full reports whether MaxConns connections are open.
func (h *Hub) full() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.open >= h.opts.MaxConns
}

// admit counts a connection in, or says why it may not come in: the status
// to answer and a sentence.
func (h *Hub) admit(a admission) (status int, why string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.open >= h.opts.MaxConns:
		return http.StatusServiceUnavailable, "hub: too many panel connections: try again later"
	case a.anon && h.anonByAddr[a.addr] >= h.opts.MaxUnpairedPerAddr:
		return http.StatusTooManyRequests, fmt.Sprintf("hub: too many connections without a credential from this address (at most %d): try again later", h.opts.MaxUnpairedPerAddr)
	case a.anon && h.anon >= h.opts.MaxUnpaired:
		return http.StatusServiceUnavailable, "hub: too many connections without a credential: try again later"
	}
	h.open++
	if a.anon {
		h.anon++
		h.anonByAddr[a.addr]++
	}
	return 0, ""
}

// release counts a connection out.
func (h *Hub) release(a admission) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.releaseLocked(a)
}

func (h *Hub) releaseLocked(a admission) {
	h.open--
	if a.anon {
		h.anon--
		if h.anonByAddr[a.addr]--; h.anonByAddr[a.addr] <= 0 {
			delete(h.anonByAddr, a.addr)
		}
	}
}

// addrKey is what the per-address cap counts by: the IP address without
// its port, and for IPv6 its /64, which one client usually has whole.
func addrKey(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return host
	case ip.To4() == nil:
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}

// authenticate decides who the panel is from its Authorization header.
// refusal is the error the panel gets when it may not go on.
func (h *Hub) authenticate(r *http.Request) (d Device, paired bool, refusal *proto.Error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		if h.opts.Pairer == nil {
			return Device{}, false, proto.NewError(proto.CodeUnauthorized, "this server does not pair new panels: connect with a device token")
		}
		return Device{}, false, nil
	}
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return Device{}, false, proto.NewError(proto.CodeUnauthorized, `the Authorization header must be "Bearer <device token>"`)
	}
	if h.opts.Auth == nil {
		return Device{}, false, proto.NewError(proto.CodeUnauthorized, "unknown device token: pair the panel again")
	}
	d, err := h.opts.Auth.Authenticate(r.Context(), strings.TrimSpace(token))
	if refusal := h.refusal(err, r.RemoteAddr); refusal != nil {
		return Device{}, false, refusal
	}
	if d.ID == "" {
		h.log.Error("hub: authenticator returned a device without an id", "remote", r.RemoteAddr)
		return Device{}, false, proto.NewError(proto.CodeInternal, "the server could not identify the panel")
	}
	return d, true, nil
}

// refusal turns an Authenticator's error into what the panel is told: nil
// when there was no error. Only CodeRevoked makes a panel forget its
// credential; an unknown token (a store restored from an old backup, say)
// does not.
func (h *Hub) refusal(err error, remote string) *proto.Error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrRevoked):
		return proto.NewError(proto.CodeRevoked, "this panel was removed by an administrator: pair it again")
	case errors.Is(err, ErrUnknownToken):
		return proto.NewError(proto.CodeUnauthorized, "unknown device token: pair the panel again")
	}
	h.log.Warn("hub: cannot check a device's credential", "remote", remote, "err", err)
	return proto.NewError(proto.CodeUnavailable, "the server cannot check the panel's credential right now: it will try again")
}

func (h *Hub) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// add tracks a new connection and counts its reader goroutine. It reports
// false when the hub is closed. The WaitGroup is added to under the lock,
// so Close, which sets closed under the same lock, never waits while a
// connection is still being added. A paired connection beyond
// maxConnsPerDevice returns the device's oldest, for the caller to close.
func (h *Hub) add(c *conn) (oldest *conn, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	h.conns[c] = struct{}{}
	if c.paired {
		list := append(h.byDevice[c.dev.ID], c)
		if len(list) > maxConnsPerDevice {
			oldest, list = list[0], list[1:]
		}
		h.byDevice[c.dev.ID] = list
	}
	h.wg.Add(1) // the reader; each flusher and handler call adds itself
	return oldest, true
}

// register subscribes a connection that said hello to its room (a paired
// panel); the caller then sends it the room's last state (sendJoinState).
// It reports false for a connection that Disconnect cut meanwhile.
func (h *Hub) register(c *conn, hello proto.Hello) (replaced *conn, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.cut {
		return nil, false
	}
	c.hello = hello
	c.helloDone = true
	if !c.paired {
		return nil, true
	}
	for _, b := range c.greeting {
		c.enqueue(b)
	}
	c.greeting = nil
	if old := h.devices[c.dev.ID]; old != nil && old != c {
		// The same device connected again: the old connection is a
		// half-open leftover (the panel rebooted or lost its network).
		h.unsubscribe(old)
		replaced = old
	}
	h.devices[c.dev.ID] = c
	h.subscribe(c, c.dev.Room)
	return replaced, true
}

// subscribe adds c to room's panels; its join is then pending until
// sendJoinState or a Publish to the room gives it a state. Called with
// h.mu held.
func (h *Hub) subscribe(c *conn, room string) {
	c.room = room
	c.joins++
	c.joinPending = room != ""
	if room == "" {
		return
	}
	set := h.rooms[room]
	if set == nil {
		set = make(map[*conn]struct{})
		h.rooms[room] = set
	}
	set[c] = struct{}{}
}

// sendJoinState queues the last state of the room c just joined, asked of
// Opts.States off the hub's lock (the syncer takes locks of its own, and
// publishes under them). The order of states stays right without holding
// one lock across both: the syncer answers with the last state it gave
// to Publish, recorded just before publishing it (States), so its answer
// is at least as new as every state published before c joined, and a
// Publish that reaches c meanwhile ends the join, so an older answer
// never follows a newer state; nor does a Publish of an older state
// follow the answer. A join whose connection left the room meanwhile
// ends too (unsubscribe). At worst c gets the same state twice.
func (h *Hub) sendJoinState(c *conn) {
	h.mu.Lock()
	room, join := c.room, c.joins
	if !c.joinPending || h.opts.States == nil {
		h.mu.Unlock()
		return
	}
	pm, fresh := h.freshJoinFrameLocked(room)
	if fresh {
		c.joinPending = false
		c.enqueueShared(pm) // a full queue means c is being dropped already
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()

	st, ok := h.opts.States.State(room)
	if !ok {
		return // the room has no state yet: the first Publish brings it
	}
	now := h.opts.Now().UTC()
	// A late joiner gets the last state stamped with the time now: a
	// panel that just booted with its clock in 1970 corrects its clock by
	// this, so an hour-old stamp would show an hour-old status.
	st.ServerTime = now
	pm, err := prepareState(st)
	if err != nil {
		h.log.Error("hub: cannot encode the last state", "room", room, "err", err)
		return
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if !c.joinPending || c.joins != join || c.cut {
		return // a Publish, a Move or a Disconnect came first
	}
	c.joinPending = false
	// No Publish to the room since c joined: the answer is the room's
	// latest, worth sharing with the panels joining after c.
	h.joinFrame[room] = preparedState{stamped: now, pm: pm}
	c.enqueueShared(pm)
}

// joinFrameFresh is how old the server time of a late joiner's state may
// be: the state is prepared once for every panel that joins within it
// (after a restart, thousands join in a few seconds).
const joinFrameFresh = time.Second

// preparedState is a state frame ready to write to many panels.
type preparedState struct {
	stamped time.Time // its ServerTime
	pm      *websocket.PreparedMessage
}

// freshJoinFrameLocked returns the frame prepared for room's late joiners
// if it is still fresh. Called with h.mu held.
func (h *Hub) freshJoinFrameLocked(room string) (*websocket.PreparedMessage, bool) {
	p, ok := h.joinFrame[room]
	if !ok {
		return nil, false
	}
	now := h.opts.Now().UTC()
	if now.Before(p.stamped) || now.Sub(p.stamped) >= joinFrameFresh {
		delete(h.joinFrame, room)
		return nil, false
	}
	return p.pm, true
}

// prepareState encodes a state frame once for any number of panels.
func prepareState(st proto.State) (*websocket.PreparedMessage, error) {
	b, err := proto.Encode(proto.Message{Type: proto.TypeState, State: &st})
	if err != nil {
		return nil, err
	}
	return websocket.NewPreparedMessage(websocket.TextMessage, b)
}

// unsubscribe removes c from its room; a join still asking for the room's
// state ends (no Publish reaches c any more, so its answer could be
// older than the room's latest). Called with h.mu held.
func (h *Hub) unsubscribe(c *conn) {
	c.joinPending = false
	if set := h.rooms[c.room]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(h.rooms, c.room)
		}
	}
	if c.paired && h.devices[c.dev.ID] == c {
		delete(h.devices, c.dev.ID)
	}
}

// remove forgets a connection that ended.
func (h *Hub) remove(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.conns[c]; !ok {
		return
	}
	delete(h.conns, c)
	h.releaseLocked(c.slot)
	if c.paired {
		list := slices.DeleteFunc(h.byDevice[c.dev.ID], func(o *conn) bool { return o == c })
		if len(list) == 0 {
			delete(h.byDevice, c.dev.ID)
		} else {
			h.byDevice[c.dev.ID] = list
		}
	}
	if c.helloDone {
		h.unsubscribe(c)
	}
}

// Publish sends st to every panel of room. It keeps no copy: a panel
// that connects or moves to the room later gets its last state from
// Opts.States. The state is encoded once and the same bytes are queued for every
// panel; Publish never waits for a panel: one whose queue is full is
// dropped.
func (h *Hub) Publish(room string, st proto.State) {
	pm, err := prepareState(st)
	if err != nil {
		h.log.Error("hub: cannot publish a state", "room", room, "err", err)
		return
	}
	var slow []*conn
	h.mu.Lock()
	delete(h.joinFrame, room)
	for c := range h.rooms[room] {
		c.joinPending = false
		if !c.enqueueShared(pm) {
			slow = append(slow, c)
		}
	}
	h.mu.Unlock()
	for _, c := range slow {
		c.drop("its send queue is full")
	}
}

// Send queues m for the device's panel: commands such as identify and
// screenshot. It fails when the device is not connected or its queue is
// full (the panel is then dropped).
func (h *Hub) Send(deviceID string, m proto.Message) error {
	b, err := proto.Encode(m)
	if err != nil {
		return fmt.Errorf("hub: send %s to %s: %w", m, deviceID, err)
	}
	h.mu.Lock()
	c := h.devices[deviceID]
	h.mu.Unlock()
	if c == nil {
		return fmt.Errorf("hub: send %s to %s: device is not connected", m, deviceID)
	}
	if !c.enqueue(b) {
		c.drop("its send queue is full")
		return fmt.Errorf("hub: send %s to %s: panel too slow, dropped", m, deviceID)
	}
	return nil
}

// Accepts reports whether the device's panel is connected and named
// capability (proto.AcceptSettings, ...) in its hello: only then may it be
// sent the message type the capability stands for.
func (h *Hub) Accepts(deviceID, capability string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.devices[deviceID]
	return c != nil && c.hello.Can(capability)
}

// Disconnect sends every connection of the device an error frame with
// code and reason and closes it within a second, whatever state it is in:
// before its hello, idle, or in the middle of a request. Use CodeRevoked
// when an admin removed the device: the panel then forgets its credential
// and pairs again (and, the token being revoked, cannot simply come back).
func (h *Hub) Disconnect(deviceID string, code proto.Code, reason string) {
	h.mu.Lock()
	conns := slices.Clone(h.byDevice[deviceID])
	for _, c := range conns {
		// No more states for it, even if it were slow to close, and no
		// hello taken from it from now on.
		c.cut = true
		if c.helloDone {
			h.unsubscribe(c)
		}
	}
	h.mu.Unlock()
	frame := errorFrame(proto.NewError(code, reason))
	for _, c := range conns {
		c.log().Info("hub: disconnecting panel", "code", code)
		c.closeWith(frame, websocket.ClosePolicyViolation, string(code), false)
		// The flusher may be stuck in a write to a panel that does not
		// read; the socket goes regardless.
		time.AfterFunc(cutDeadline, c.kill)
	}
}

// Move switches a connected device to another room: it stops getting the
// old room's states and gets the new room's last state at once.
func (h *Hub) Move(deviceID, room string) {
	h.mu.Lock()
	c := h.devices[deviceID]
	if c == nil || c.room == room {
		h.mu.Unlock()
		return
	}
	if set := h.rooms[c.room]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(h.rooms, c.room)
		}
	}
	h.subscribe(c, room)
	h.mu.Unlock()
	h.sendJoinState(c)
}

// Connections lists the panels connected now that have said hello, by
// device id (unpaired panels first).
func (h *Hub) Connections() []ConnInfo {
	h.mu.Lock()
	infos := make([]ConnInfo, 0, len(h.conns))
	for c := range h.conns {
		if c.helloDone {
			infos = append(infos, c.info())
		}
	}
	h.mu.Unlock()
	slices.SortFunc(infos, func(a, b ConnInfo) int {
		if a.DeviceID != b.DeviceID {
			return strings.Compare(a.DeviceID, b.DeviceID)
		}
		return strings.Compare(a.RemoteAddr, b.RemoteAddr)
	})
	return infos
}

// Close closes every connection (with a "going away" close frame, so the
// panels reconnect to the next server) and returns when every goroutine
// the hub started has ended. Handlers and Pairers must return when their
// ctx ends. Close is safe to call more than once.
func (h *Hub) Close() error {
	h.mu.Lock()
	first := !h.closed
	h.closed = true
	conns := slices.Collect(maps.Keys(h.conns))
	h.mu.Unlock()
	if first {
		h.cancel()
		for _, c := range conns {
			c.closeWith(nil, websocket.CloseGoingAway, "server shutting down", false)
		}
		done := make(chan struct{})
		go func() {
			h.wg.Wait()
			close(done)
		}()
		t := time.NewTimer(closeWait)
		select {
		case <-done:
		case <-t.C:
			for _, c := range conns {
				c.kill()
			}
		}
		t.Stop()
	}
	h.wg.Wait()
	return nil
}

// errorFrame encodes an error message. Errors are small and valid, so
// encoding cannot fail.
func errorFrame(e *proto.Error) []byte {
	b, err := proto.Encode(proto.Message{Type: proto.TypeError, Error: e})
	if err != nil {
		panic("hub: cannot encode an error frame: " + err.Error())
	}
	return b
}
