package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lintelhq/lintel/proto"
)

// conn is one panel's connection. The reader goroutine lives as long as
// the connection: it reads and handles frames, and tears the connection
// down when it ends. Writes need no goroutine of their own while there is
// nothing to send: the first frame queued starts a short-lived flusher that
// writes what is queued and ends; pings come from a timer.
type conn struct {
	h      *Hub
	ws     *websocket.Conn
	remote string
	since  time.Time
	dev    Device // as authenticated; the current room is in room
	paired bool
	slot   admission // its place in the hub's connection caps

	// ctx ends when the connection ends or the hub closes; the handlers
	// and the pairer run under it.
	ctx    context.Context
	cancel context.CancelFunc

	readDone chan struct{} // closed when the reader has stopped reading
	ping     *time.Timer   // the next ping

	killOnce sync.Once

	// The outgoing side, guarded by qmu.
	qmu   sync.Mutex
	queue []outFrame  // frames for the flusher; at most SendQueue
	final *finalFrame // the last thing to send before closing
	// finalDone is closed when the final frames are written (or failed).
	finalDone chan struct{}
	flushing  bool // a flusher goroutine is running
	ended     bool // torn down: nothing more is queued or started
	dead      bool // a write failed: nothing more is written
	inFlight  int  // handler calls running

	greeting [][]byte // Opts.Greet's frames, queued at register

	// Guarded by h.mu.
	room  string
	joins uint64 // rooms joined, counting moves; a join's number
	// joinPending: c joined its room and no state of the room has been
	// queued for it since (sendJoinState or Publish ends it).
	joinPending bool
	hello       proto.Hello
	helloDone   bool
	cut         bool // Disconnect closes it: it may not register
}

// outFrame is one frame to send: a state shared by every panel of a room,
// prepared once, or bytes for this panel alone.
type outFrame struct {
	shared *websocket.PreparedMessage
	own    []byte
}

// finalFrame is how a connection is to end: an optional last frame, then a
// close frame with code and reason. drain sends what is queued first.
type finalFrame struct {
	frame  []byte
	code   int
	reason string
	drain  bool
}

func (h *Hub) newConn(ws *websocket.Conn, remote string, dev Device, paired bool, slot admission) *conn {
	ctx, cancel := context.WithCancel(h.ctx)
	c := &conn{
		h:        h,
		ws:       ws,
		remote:   remote,
		since:    time.Now(),
		dev:      dev,
		paired:   paired,
		slot:     slot,
		ctx:      ctx,
		cancel:   cancel,
		readDone: make(chan struct{}),
	}
	// Made stopped; the reader starts it.
	c.ping = time.AfterFunc(time.Duration(math.MaxInt64), c.sendPing)
	c.ping.Stop()
	return c
}

// log is the connection's logger. It is made when something is logged
// rather than kept: ten thousand idle panels need no loggers.
func (c *conn) log() *slog.Logger {
	if c.paired {
		return c.h.log.With("remote", c.remote, "device", c.dev.ID, "room", c.dev.Room)
	}
	return c.h.log.With("remote", c.remote)
}

// enqueue queues a frame of this panel's own without ever blocking. It
// reports false when the queue is full: the caller drops the panel.
func (c *conn) enqueue(b []byte) bool { return c.push(outFrame{own: b}) }

// enqueueShared queues a frame prepared once for many panels.
func (c *conn) enqueueShared(pm *websocket.PreparedMessage) bool {
	return c.push(outFrame{shared: pm})
}

func (c *conn) push(f outFrame) bool {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.ended || c.dead {
		return true // the connection is gone; nothing to drop
	}
	if len(c.queue) >= c.h.opts.SendQueue {
		return false
	}
	c.queue = append(c.queue, f)
	c.startFlushLocked()
	return true
}

// startFlushLocked starts the flusher unless it runs. Called with qmu
// held and ended false, so the reader still counts in the hub's WaitGroup
// and the Add below cannot race with Close's Wait.
func (c *conn) startFlushLocked() {
	if c.flushing {
		return
	}
	c.flushing = true
	c.h.wg.Add(1)
	go c.flush()
}

// closeWith asks the flusher to send frame (if any) and a close frame, then
// close. Only the first call counts.
func (c *conn) closeWith(frame []byte, code int, reason string, drain bool) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.final != nil || c.ended {
		return
	}
	c.final = &finalFrame{frame: frame, code: code, reason: reason, drain: drain}
	c.finalDone = make(chan struct{})
	if c.dead {
		close(c.finalDone)
		return
	}
	c.startFlushLocked()
}

// flush writes what is queued, then ends; it is the only goroutine that
// writes data frames while it runs. A pending close wins over queued
// frames (a revoked panel gets nothing more) unless it asked for a drain.
func (c *conn) flush() {
	defer c.h.wg.Done()
	for {
		c.qmu.Lock()
		if f := c.final; f != nil && (!f.drain || len(c.queue) == 0) {
			c.queue = nil
			c.qmu.Unlock()
			c.writeFinal(*f)
			c.kill()
			close(c.finalDone)
			return
		}
		if len(c.queue) == 0 {
			c.queue = nil // an idle panel holds no queue
			c.flushing = false
			c.qmu.Unlock()
			return
		}
		f := c.queue[0]
		c.queue[0] = outFrame{}
		c.queue = c.queue[1:]
		c.qmu.Unlock()
		if err := c.write(f, time.Now().Add(c.h.opts.WriteTimeout)); err != nil {
			if !errors.Is(err, net.ErrClosed) {
				c.log().Info("hub: write to panel failed", "err", err)
			}
			c.kill()
			c.qmu.Lock()
			// Nothing more can be written: no flusher starts again, and
			// a pending close is as done as it will be.
			c.dead = true
			c.queue = nil
			if c.final != nil {
				close(c.finalDone)
			}
			c.qmu.Unlock()
			return
		}
	}
}

func (c *conn) write(f outFrame, deadline time.Time) error {
	if err := c.ws.SetWriteDeadline(deadline); err != nil {
		return err
	}
	if f.shared != nil {
		return c.ws.WritePreparedMessage(f.shared)
	}
	return c.ws.WriteMessage(websocket.TextMessage, f.own)
}

// sendPing runs on the ping timer: a ping, and the next one scheduled. A
// gorilla Conn allows WriteControl alongside the flusher's writes.
func (c *conn) sendPing() {
	if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.h.opts.WriteTimeout)); err != nil {
		if !errors.Is(err, net.ErrClosed) && !errors.Is(err, websocket.ErrCloseSent) {
			c.log().Info("hub: ping to panel failed", "err", err)
		}
		c.kill()
		return
	}
	c.ping.Reset(c.h.opts.PingInterval)
}

// drop cuts a panel that cannot keep up, without a goodbye: its queue is
// full, so nothing more would reach it in time.
func (c *conn) drop(why string) {
	c.log().Warn("hub: dropping slow panel", "why", why)
	c.kill()
}

// kill closes the network connection, which ends the reader at once (and a
// write blocked on a panel that does not read returns too).
func (c *conn) kill() {
	c.killOnce.Do(func() {
		c.ws.NetConn().Close()
	})
}

// device returns the device with its current room.
func (c *conn) device() Device {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	d := c.dev
	d.Room = c.room
	return d
}

// info describes the connection. Called with h.mu held.
func (c *conn) info() ConnInfo {
	return ConnInfo{
		DeviceID:   c.dev.ID,
		Name:       c.dev.Name,
		Room:       c.room,
		RemoteAddr: c.remote,
		Paired:     c.paired,
		Firmware:   c.hello.Firmware,
		Protocol:   c.hello.Protocol,
		Since:      c.since,
		Uptime:     time.Duration(c.hello.Uptime) * time.Second,
		Arch:       c.hello.Arch,
	}
}

// writeFinal sends the last frames and the close frame, then waits a little
// for the panel's close reply: closing a socket that has unread data resets
// it, and the reset could destroy the error frame before the panel reads it.
func (c *conn) writeFinal(f finalFrame) {
	deadline := time.Now().Add(min(c.h.opts.WriteTimeout, finalWriteTimeout))
	if f.frame != nil {
		if c.write(outFrame{own: f.frame}, deadline) != nil {
			return
		}
	}
	if c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(f.code, f.reason), deadline) != nil {
		return
	}
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	select {
	case <-c.readDone:
	case <-t.C:
	}
}

// teardown runs once, when the reader ends: it closes the socket, ends
// the connection's context, stops the pings and forgets the connection.
func (c *conn) teardown() {
	// The reader may end before its goodbye is written (a read that
	// timed out cannot be read again): let the flusher write it first.
	c.qmu.Lock()
	finalDone := c.finalDone
	c.qmu.Unlock()
	if finalDone != nil {
		t := time.NewTimer(finalWriteTimeout + closeGrace)
		select {
		case <-finalDone:
		case <-t.C:
		}
		t.Stop()
	}
	c.kill()
	c.cancel()
	c.ping.Stop()
	c.qmu.Lock()
	c.ended = true
	c.queue = nil
	c.qmu.Unlock()
	c.h.mu.Lock()
	registered := c.helloDone && c.paired
	info := c.info()
	c.h.mu.Unlock()
	c.h.remove(c)
	if registered || !c.paired {
		c.log().Info("hub: connection closed", "connected_for", time.Since(c.since).Round(time.Millisecond))
	}
	if registered && c.h.opts.OnDisconnect != nil {
		d := c.dev
		d.Room = info.Room
		c.h.opts.OnDisconnect(d, info)
	}
}

// serve serves the connection until it ends. refusal, when set, is sent
// at once and the connection closed.
func (c *conn) serve(refusal *proto.Error) {
	if !c.open(refusal) {
		c.finish()
		return
	}
	go func() {
		c.readFrames()
		c.finish()
	}()
}

// finish ends the connection once nothing reads from it any more.
func (c *conn) finish() {
	close(c.readDone)
	c.teardown()
	c.h.wg.Done()
}

// open starts the connection: the refusal, if any, or the hello and what
// follows it. It runs on the HTTP handler's goroutine, whose stack is
// deep already, and reports whether the panel is in; the goroutine that
// then reads the panel's frames for hours starts small and stays small.
func (c *conn) open(refusal *proto.Error) bool {
	// The first ping comes after a random part of the interval, so that
	// panels that connected together (after a restart) are not pinged
	// together ever after.
	c.ping.Reset(c.h.opts.PingInterval/2 + rand.N(c.h.opts.PingInterval/2+1))
	if refusal != nil {
		c.log().Info("hub: panel refused", "code", refusal.Code)
		c.refuse(refusal)
		return false
	}

	hello, err := c.readHello()
	if err != nil {
		var pe *proto.Error
		if errors.As(err, &pe) {
			c.log().Info("hub: panel refused", "code", pe.Code, "err", pe.Message)
			c.refuse(pe)
		}
		return false
	}
	if c.paired {
		// The credential was checked before the upgrade; an admin may
		// have revoked it since.
		if refusal := c.h.refusal(c.h.opts.Auth.Check(c.ctx, c.dev.ID), c.remote); refusal != nil {
			c.log().Info("hub: panel refused at hello", "code", refusal.Code)
			c.refuse(refusal)
			return false
		}
	}
	if c.paired && c.h.opts.Greet != nil {
		for _, m := range c.h.opts.Greet(c.dev, hello) {
			b, err := proto.Encode(m)
			if err != nil {
				c.log().Error("hub: cannot encode a greeting", "frame", m.String(), "err", err)
				continue
			}
			c.greeting = append(c.greeting, b)
		}
	}
	old, ok := c.h.register(c, hello)
	if !ok {
		c.refuse(nil) // Disconnect has queued the goodbye
		return false
	}
	if old != nil {
		old.log().Info("hub: panel connected again: closing its old connection")
		old.kill()
	}
	c.h.sendJoinState(c)
	c.log().Info("hub: panel connected", "firmware", hello.Firmware, "paired", c.paired)
	if c.paired && c.h.opts.OnConnect != nil {
		c.h.mu.Lock()
		info := c.info()
		c.h.mu.Unlock()
		c.h.opts.OnConnect(c.device(), info)
	}
	if !c.paired {
		c.startPairing()
	}
	// From here a frame or a pong proves the panel is alive.
	pongWait := 2 * c.h.opts.PingInterval
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(pongWait))
	})
	return true
}

// readFrames reads and handles the panel's frames until the connection
// ends.
func (c *conn) readFrames() {
	pongWait := 2 * c.h.opts.PingInterval
	for {
		if err := c.ws.SetReadDeadline(time.Now().Add(pongWait)); err != nil {
			return
		}
		m, err := c.readMessage()
		if err != nil {
			var pe *proto.Error
			if errors.As(err, &pe) {
				c.log().Info("hub: bad frame from panel", "err", pe.Message)
				c.refuse(pe)
			} else if !isClosing(err) {
				c.log().Info("hub: read from panel failed", "err", err)
			}
			return
		}
		c.handle(m)
	}
}

// refuse sends e and closes the connection, reading (and ignoring) what the
// panel still sends until its close reply arrives, so that the closing
// handshake completes. With e nil, the goodbye was queued already.
func (c *conn) refuse(e *proto.Error) {
	if e != nil {
		c.closeWith(errorFrame(e), websocket.ClosePolicyViolation, string(e.Code), false)
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(finalWriteTimeout + closeGrace))
	for {
		if _, _, err := c.ws.NextReader(); err != nil {
			return
		}
	}
}

// readHello reads the first frame, which must be a hello in a protocol
// version this server speaks.
func (c *conn) readHello() (proto.Hello, error) {
	timeout := c.h.opts.HelloTimeout
	if err := c.ws.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return proto.Hello{}, err
	}
	m, err := c.readMessage()
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return proto.Hello{}, proto.NewError(proto.CodeBadRequest, fmt.Sprintf("no hello within %s: a panel must send hello first", timeout))
	case err != nil:
		return proto.Hello{}, err
	case m.Type != proto.TypeHello:
		return proto.Hello{}, proto.NewError(proto.CodeBadRequest, fmt.Sprintf("the first frame must be a hello, not %s", m.Type))
	case m.Hello.Protocol != proto.Version:
		// The panel words it from the reason and the versions.
		return proto.Hello{}, proto.Refusal(proto.CodeUnsupportedVersion, proto.ReasonVersion, fmt.Sprintf(
			"the panel speaks protocol version %d, this server speaks version %d: update the panel's firmware (or the server, if the panel is newer)",
			m.Hello.Protocol, proto.Version), "server", strconv.Itoa(proto.Version), "panel", strconv.Itoa(m.Hello.Protocol))
	}
	return *m.Hello, nil
}

// readMessage reads and decodes one frame. A frame the panel got wrong is
// a *proto.Error to send back; anything else means the connection is gone.
//
// The size limit is applied here rather than with SetReadLimit: gorilla
// answers an oversized frame with its own close frame, after which the
// panel could not be told why.
func (c *conn) readMessage() (proto.Message, error) {
	typ, r, err := c.ws.NextReader()
	if err != nil {
		return proto.Message{}, err
	}
	if typ != websocket.TextMessage {
		return proto.Message{}, proto.NewError(proto.CodeBadRequest, "frames must be JSON text frames, not binary")
	}
	limit := c.h.opts.MaxFrameBytes
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return proto.Message{}, err
	}
	if len(b) > limit {
		return proto.Message{}, proto.NewError(proto.CodeBadRequest, fmt.Sprintf("frame is over the %d byte limit", limit))
	}
	return proto.Decode(b)
}

// isClosing tells a connection that ended in the ordinary way (the panel
// closed it, or the hub did) from one that failed.
func isClosing(err error) bool {
	return websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) ||
		errors.Is(err, net.ErrClosed)
}

// handle acts on one frame from a panel that said hello.
func (c *conn) handle(m proto.Message) {
	switch m.Type {
	case proto.TypeRequest:
		if !c.paired {
			c.reply(m.ID, proto.Result{Error: proto.Refusal(proto.CodeUnauthorized, proto.ReasonNotPaired, "this panel is not paired yet")})
			return
		}
		req := *m.Request
		ok := c.async(func(ctx context.Context) {
			if refusal := c.stillValid(ctx); refusal != nil {
				c.reply(m.ID, proto.Result{Error: refusal})
				c.cutIfRefused(refusal)
				return
			}
			if c.h.opts.Handler == nil {
				c.reply(m.ID, proto.Result{Error: proto.NewError(proto.CodeUnavailable, "this server does not take requests")})
				return
			}
			c.reply(m.ID, c.h.opts.Handler.Request(ctx, c.device(), m.ID, req))
		})
		if !ok {
			c.reply(m.ID, proto.Result{Error: proto.NewError(proto.CodeRateLimited, fmt.Sprintf("more than %d requests at once: wait for the answers", maxInFlight))})
		}
	case proto.TypeReport:
		if !c.paired || c.h.opts.Handler == nil {
			return
		}
		rep := *m.Report
		if !c.async(func(ctx context.Context) {
			if refusal := c.stillValid(ctx); refusal != nil {
				c.cutIfRefused(refusal)
				return
			}
			c.h.opts.Handler.Report(ctx, c.device(), rep)
		}) {
			c.log().Warn("hub: too many reports at once: dropped one", "kind", rep.Kind)
		}
	case proto.TypeError:
		c.log().Warn("hub: panel reports an error", "code", m.Error.Code, "err", m.Error.Message)
	default:
		// Valid, but not something a panel sends (a second hello, a
		// state...). Say so without closing: the panel is still useful.
		e := proto.NewError(proto.CodeBadRequest, fmt.Sprintf("a panel does not send %s frames", m.Type))
		b, err := proto.Encode(proto.Message{Type: proto.TypeError, ID: m.ID, Error: e})
		if err == nil && !c.enqueue(b) {
			c.drop("its send queue is full")
		}
	}
}

// stillValid checks the panel's credential again before a request or a
// report is acted on: nil, or the refusal to answer with.
func (c *conn) stillValid(ctx context.Context) *proto.Error {
	return c.h.refusal(c.h.opts.Auth.Check(ctx, c.dev.ID), c.remote)
}

// cutIfRefused closes the connection of a panel whose credential is no
// longer valid, after what is queued (the answer to its request). A
// temporary failure to check leaves it connected.
func (c *conn) cutIfRefused(refusal *proto.Error) {
	if refusal.Code != proto.CodeRevoked && refusal.Code != proto.CodeUnauthorized {
		return
	}
	c.log().Info("hub: credential no longer valid: closing", "code", refusal.Code)
	c.h.mu.Lock()
	c.cut = true
	c.h.unsubscribe(c)
	c.h.mu.Unlock()
	c.closeWith(errorFrame(refusal), websocket.ClosePolicyViolation, string(refusal.Code), true)
	time.AfterFunc(cutDeadline, c.kill)
}

// async runs f in its own goroutine under the connection's context, if
// fewer than maxInFlight are running.
func (c *conn) async(f func(ctx context.Context)) bool {
	c.qmu.Lock()
	if c.inFlight >= maxInFlight {
		c.qmu.Unlock()
		return false
	}
	c.inFlight++
	c.qmu.Unlock()
	// The reader is itself counted in wg, so this Add never races with
	// Close's Wait reaching zero.
	c.h.wg.Add(1)
	go func() {
		defer c.h.wg.Done()
		defer func() {
			c.qmu.Lock()
			c.inFlight--
			c.qmu.Unlock()
		}()
		f(c.ctx)
	}()
	return true
}

// reply queues the result of request id.
func (c *conn) reply(id string, res proto.Result) {
	if !res.OK && res.Error == nil {
		res.Error = proto.NewError(proto.CodeInternal, "the request failed")
	}
	b, err := proto.Encode(proto.Message{Type: proto.TypeResult, ID: id, Result: &res})
	if err != nil {
		c.log().Error("hub: cannot encode a result", "id", id, "err", err)
		res = proto.Result{Error: proto.NewError(proto.CodeInternal, "the server could not encode the result")}
		b, _ = proto.Encode(proto.Message{Type: proto.TypeResult, ID: id, Result: &res})
	}
	if !c.enqueue(b) {
		c.drop("its send queue is full")
	}
}

// startPairing hands an unpaired panel to the Pairer. Its pairing codes go
// through the send queue; once approved, the panel gets its credential,
// then the connection closes so that the panel reconnects with it. The
// Pairer's context ends after UnpairedLifetime: the connection then closes
// normally, and the panel reconnects for a new code.
func (c *conn) startPairing() {
	ok := c.async(func(connCtx context.Context) {
		ctx, cancel := context.WithTimeout(connCtx, c.h.opts.UnpairedLifetime)
		defer cancel()
		send := func(m proto.Message) error {
			b, err := proto.Encode(m)
			if err != nil {
				return fmt.Errorf("hub: pairing: %w", err)
			}
			if !c.enqueue(b) {
				c.drop("its send queue is full")
				return errors.New("hub: pairing: panel too slow, dropped")
			}
			return nil
		}
		cred, err := c.h.opts.Pairer.Pair(ctx, c.remote, send)
		if connCtx.Err() != nil {
			return // the panel left or the hub is closing
		}
		if ctx.Err() != nil {
			c.log().Info("hub: unpaired connection reached its lifetime")
			c.closeWith(nil, websocket.CloseNormalClosure, "pairing code expired: reconnect for a new one", true)
			return
		}
		if err != nil {
			c.log().Warn("hub: pairing failed", "err", err)
			var pe *proto.Error
			if !errors.As(err, &pe) {
				pe = proto.NewError(proto.CodeUnavailable, "pairing failed: the panel will try again")
			}
			c.closeWith(errorFrame(pe), websocket.CloseInternalServerErr, string(pe.Code), false)
			return
		}
		b, err := proto.Encode(proto.Message{Type: proto.TypeCredential, Credential: &cred})
		if err != nil {
			c.log().Error("hub: pairer returned a bad credential", "err", err)
			c.closeWith(errorFrame(proto.NewError(proto.CodeInternal, "pairing failed: the server made a bad credential")), websocket.CloseInternalServerErr, "internal", false)
			return
		}
		c.log().Info("hub: panel paired", "device", cred.DeviceID)
		c.closeWith(b, websocket.CloseNormalClosure, "paired: reconnect with the credential", true)
	})
	if !ok {
		c.log().Error("hub: cannot start pairing")
	}
}
