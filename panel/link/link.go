// Package link is the panel's end of the panel websocket: it connects to
// the server, says hello, keeps the room's last state on disk for when the
// network is down, pairs the panel, and reconnects with exponential backoff
// and full jitter whenever the connection drops.
//
// The server may run as several replicas sharing one store, each with a
// URL of its own. The link tries them in a random order, shuffled once per
// cycle so that the panels of a lost replica spread over the others, and
// moves to the next one at once when a dial fails or a connection drops;
// it backs off only after every URL of a cycle failed. A credential, the
// cached state and requests waiting for a result belong to the server, not
// to a replica: they carry over from one URL to the next.
//
// What the server says reaches the UI as Events. The UI may be slow (a
// framebuffer redraw on a Pi Zero takes a while), so events wait in a small
// queue of their own and a newer State replaces one the UI has not taken
// yet: the read loop never waits for the UI, and the server never sees a
// slow panel because of it.
//
// The credential (the device token) is a file of mode 0600 written
// atomically; it is never logged. Without one the panel is unpaired: it
// connects without a token and shows the pairing codes the server sends,
// until the server sends a credential. A server that says the credential is
// revoked makes the panel forget it and pair again; one that does not know
// it (a store restored from an old backup, or started empty by mistake)
// does not: the panel says so and keeps trying with the same credential,
// so that restoring the right store brings every panel back.
package link

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lintelhq/lintel/proto"
)

// Defaults for the zero fields of Opts.
const (
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 60 * time.Second
)

const (
	handshakeTimeout = 15 * time.Second
	// failoverDialTimeout bounds the TCP connect to one URL when there are
	// others to try: a replica whose host is gone (no RST, packets
	// dropped) must not hold the panel for the whole handshake timeout
	// before it tries the next one. 3 s leaves room for one lost SYN.
	// With a single URL there is nothing better to do than wait, and the
	// handshake timeout alone applies, as before.
	failoverDialTimeout = 3 * time.Second
	writeTimeout        = 10 * time.Second
	// readTimeout: the server pings every 30 s by default; three missed
	// pings mean the connection is dead even if TCP has not noticed.
	readTimeout = 90 * time.Second
	// maxQueuedEvents bounds the events waiting for a stuck UI; the oldest
	// go first.
	maxQueuedEvents = 64
)

// Kind says what an Event is about.
type Kind int

// The event kinds.
const (
	KindState          Kind = iota + 1 // State: the room's new state (already cached)
	KindPairing                        // Pairing: show this code (the panel is unpaired)
	KindCommand                        // Command: the admin asks for something
	KindConnected                      // online since Since
	KindDisconnected                   // offline since Since; Err says why
	KindRevoked                        // the credential was refused and deleted: pairing follows
	KindUpdateFirmware                 // the server does not speak this protocol; Err says more
	KindError                          // something went wrong that the UI may show; Err
	KindSettings                       // Settings: the panel's display settings from the server (already cached)
	KindFirmware                       // Firmware: install a build, or roll back
)

func (k Kind) String() string {
	switch k {
	case KindState:
		return "state"
	case KindPairing:
		return "pairing"
	case KindCommand:
		return "command"
	case KindConnected:
		return "connected"
	case KindDisconnected:
		return "disconnected"
	case KindRevoked:
		return "revoked"
	case KindUpdateFirmware:
		return "update-firmware"
	case KindError:
		return "error"
	case KindSettings:
		return "settings"
	case KindFirmware:
		return "firmware"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Event is something the UI should know. Only the field its Kind names is
// set, besides Since.
type Event struct {
	Kind     Kind
	State    *proto.State
	Pairing  *proto.Pairing
	Command  *proto.Command
	Settings *proto.Settings
	Firmware *proto.Firmware
	Err      error
	Since    time.Time // when it happened
}

// Opts configures a Link.
type Opts struct {
	// URL is the server's panel endpoint, ws:// or wss://; an empty path
	// means /ws.
	URL string
	// URLs are more endpoints of the same server (replicas sharing its
	// store, so one credential is good for all), checked like URL. URL
	// and URLs together are tried in a random order; see the package
	// comment.
	URLs []string
	// Resolver looks up the servers' host names at every dial; nil is
	// net.DefaultResolver. Nothing is cached: a name with several
	// addresses (DNS round robin) is resolved again each time, and when
	// one address refuses the dialer tries the next (net.Dialer's own
	// behaviour, which the link keeps). Tests point it at a fake DNS.
	Resolver *net.Resolver
	// TLS configures wss://. Nil uses the system roots.
	TLS *tls.Config
	// Proxy picks the proxy for the websocket and downloads. Nil is
	// http.ProxyFromEnvironment (HTTPS_PROXY, NO_PROXY, ...).
	Proxy func(*http.Request) (*url.URL, error)
	// CredentialPath is the file holding the device token (mode 0600). An
	// empty path or a missing file means unpaired; with an empty path a
	// credential received while pairing lives in memory only.
	CredentialPath string
	// Token is the device token to start with when CredentialPath is
	// empty: a credential kept elsewhere (a tablet's browser).
	Token string
	// OnCredential, when set, is called with the token after pairing and
	// with "" when the server refused the token (revoked), so that a
	// credential kept elsewhere follows the link's.
	OnCredential func(token string)
	// Dial, when set, makes the connection to the server instead of the
	// network (a panel run inside the server, for a tablet).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// CachePath is the file holding the last state, so the panel shows its
	// room right after a reboot even when the server is unreachable. Empty
	// means no cache.
	CachePath string
	// SettingsPath is the file holding the last display settings the
	// server sent (proto.TypeSettings), so the panel starts with them
	// offline. Empty means no such cache.
	SettingsPath string
	// Firmware (required), Width, Height, Locale and Arch go into the
	// hello, with Accepts: the optional message types the panel handles
	// besides settings, which the link always accepts.
	Firmware      string
	Width, Height int
	Locale        string
	Arch          string
	Accepts       []string
	// Logger gets connection events. Nil discards them.
	Logger *slog.Logger
	// Reconnects wait a random time between 0 and a ceiling that starts
	// at MinBackoff (default 1 s) and grows by half with each failed
	// attempt up to MaxBackoff (default 60 s). "Full jitter" spreads the
	// panels of a building out after a server restart. With several
	// URLs an attempt is a cycle over all of them: the link waits only
	// once every URL failed.
	MinBackoff, MaxBackoff time.Duration
	// Now tells the time of events and the uptime in the hello. Nil means
	// time.Now.
	Now func() time.Time
}

// Link is one panel's connection to the server.
type Link struct {
	opts    Opts
	urls    []string // URL and URLs, checked, in the order given
	log     *slog.Logger
	started time.Time
	// randN returns a random number in [0, n): the backoff's jitter and
	// the order of the URLs; tests replace it.
	randN func(n int64) int64
	// wait pauses Run between attempts; tests replace it to see the
	// waits without spending them.
	wait func(ctx context.Context, d time.Duration) error

	events chan Event
	wake   chan struct{} // cap 1: the event queue has something
	qmu    sync.Mutex
	queue  []Event

	mu       sync.Mutex
	running  bool
	token    string           // "" = unpaired
	cached   *proto.State     // the last state, from the cache or the server
	cacheErr error            // why the cache could not be read at New
	settings *proto.Settings  // the last settings, from the cache or the server
	sess     *session         // the live connection; nil = offline
	lastURL  string           // the URL of the live or the last connection
	pending  map[string]*call // requests waiting for their result, by id
}

// session is one websocket connection. gorilla allows one writer at a time,
// and Request and Report are called from the UI's goroutines.
type session struct {
	ws  *websocket.Conn
	wmu sync.Mutex
}

func (s *session) write(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.ws.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	return s.ws.WriteMessage(websocket.TextMessage, b)
}

// call is a request waiting for its result. frame is kept to send it
// again, with the same id, after a reconnect.
type call struct {
	frame []byte
	done  chan proto.Result // cap 1
}

// New makes a Link and loads the credential and the cache. A missing cache
// is fine and a corrupt one is ignored (Cached reports it); an unreadable
// credential file is an error, since going on would mean pairing again.
func New(opts Opts) (*Link, error) {
	var urls []string
	for i, raw := range append([]string{opts.URL}, opts.URLs...) {
		if i == 0 && raw == "" && len(opts.URLs) > 0 {
			continue // URLs alone
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			return nil, fmt.Errorf("link: URL %q is not a ws:// or wss:// URL", raw)
		}
		if u.Path == "" {
			u.Path = "/ws"
		}
		if s := u.String(); !slices.Contains(urls, s) {
			urls = append(urls, s)
		}
	}
	if opts.Firmware == "" {
		return nil, errors.New("link: Opts.Firmware is required: the server needs it in the hello")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	l := &Link{
		opts:    opts,
		urls:    urls,
		log:     opts.Logger,
		started: opts.Now(),
		randN:   rand.Int64N,
		wait:    sleep,
		events:  make(chan Event),
		wake:    make(chan struct{}, 1),
		pending: make(map[string]*call),
	}
	l.token = opts.Token
	if opts.CredentialPath != "" {
		b, err := os.ReadFile(opts.CredentialPath)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("link: read credential: %w", err)
		default:
			l.token = strings.TrimSpace(string(b))
		}
	}
	l.cached, l.cacheErr = loadCache(opts.CachePath)
	if l.cacheErr != nil {
		l.log.Warn("link: ignoring the state cache", "err", l.cacheErr)
	}
	if m, err := loadFrame(opts.SettingsPath, proto.TypeSettings); err != nil {
		l.log.Warn("link: ignoring the settings cache", "err", err)
	} else if m != nil {
		l.settings = m.Settings
	}
	return l, nil
}

// loadFrame reads a frame of type want cached by a previous run, checked
// by the same strict decoder as a frame from the network. A missing file
// is nil, nil.
func loadFrame(path string, want proto.Type) (*proto.Message, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("link: read cache: %w", err)
	}
	m, err := proto.Decode(b)
	if err == nil && m.Type != want {
		err = fmt.Errorf("holds a %s message", m.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("link: cache %s is corrupt: %w", path, err)
	}
	return &m, nil
}

// CachedSettings returns the last display settings the server sent: from
// the cache at New, or received since; nil when there are none.
func (l *Link) CachedSettings() *proto.Settings {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.settings
}

// loadCache reads the last state saved by a previous run. The cache holds
// the state frame as the server sent it, so it is checked by the same
// strict decoder as a frame from the network.
func loadCache(path string) (*proto.State, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("link: read cache: %w", err)
	}
	m, err := proto.Decode(b)
	if err == nil && m.Type != proto.TypeState {
		err = fmt.Errorf("holds a %s message", m.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("link: cache %s is corrupt: %w", path, err)
	}
	return m.State, nil
}

// Events returns the channel of events. Read it all the time: it is closed
// when Run returns.
func (l *Link) Events() <-chan Event { return l.events }

// Cached returns the last state known: the one in the cache at New, or
// the last one received since. It is nil, with no error, when there is
// none; it is nil with an error when the cache was corrupt (and no state
// has arrived since).
func (l *Link) Cached() (*proto.State, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cached, l.cacheErr
}

// Run connects, and reconnects whenever the connection ends, until ctx
// ends; it then returns ctx's error. Call it once.
func (l *Link) Run(ctx context.Context) error {
	l.mu.Lock()
	if l.running {
		l.mu.Unlock()
		return errors.New("link: Run called twice")
	}
	l.running = true
	l.mu.Unlock()

	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		l.deliver(ctx)
	}()
	defer func() {
		<-delivered
		close(l.events)
	}()

	rot := &rotation{urls: l.urls, randN: l.randN}
	for {
		u := rot.next()
		out := l.session(ctx, u)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var delay time.Duration
		if rot.after(out) {
			switch {
			case rot.firmware:
				// Retrying soon cannot help; the server may be
				// updated (or rolled back) though, so try now and
				// then.
				delay = l.opts.MaxBackoff
			default:
				delay = l.backoff(rot.failures)
				rot.failures++
			}
			rot.firmware = false
		}
		l.log.Info("link: reconnecting", "in", delay.Round(time.Millisecond), "url", redacted(rot.next()), "err", out.err)
		if delay > 0 {
			if err := l.wait(ctx, delay); err != nil {
				return err
			}
		}
	}
}

// sleep waits d, or until ctx ends; no wait at all for d <= 0.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// rotation decides which URL the link tries next. A cycle tries each URL
// once, in an order shuffled when the cycle starts; a failed dial, or a
// connection that ends before the server said anything useful, moves on
// to the next URL at once. Only when every URL of the cycle failed does
// the link back off (Run decides how long), and a new cycle, shuffled
// again, begins.
//
// A connection that worked and then dropped (its replica stopped, or a
// load balancer cut it) starts a new cycle in which its own URL counts as
// already failed: the panel moves to another replica at once, and backs
// off only when none of the others answers either. With a single URL that
// is the plain reconnect with backoff of before.
type rotation struct {
	urls  []string
	randN func(n int64) int64
	// order is the rest of the current cycle; order[0] is the URL being
	// tried. Empty before the first cycle.
	order []string
	// failures counts the cycles in a row in which every URL failed;
	// Run sets it, and a connection that worked resets it.
	failures int
	// firmware: a URL of this cycle does not speak the panel's protocol.
	firmware bool
}

// next is the URL to try now.
func (r *rotation) next() string {
	if len(r.order) == 0 {
		r.order = r.shuffled("")
	}
	return r.order[0]
}

// after records how the attempt on next() ended. cycleOver says every URL
// of the cycle failed: Run then chooses the wait (the backoff), and the
// next call to next starts a new cycle. Otherwise the next attempt is at
// once.
func (r *rotation) after(out outcome) (cycleOver bool) {
	switch {
	case out.again:
		// A new credential, or none: the same URL again, at once.
		return false
	case out.updateFirmware:
		// Another replica may still speak the panel's protocol (a
		// rolling upgrade): try it before waiting.
		r.firmware = true
		r.order = r.order[1:]
	case out.healthy:
		r.failures, r.firmware = 0, false
		r.order = r.shuffled(r.order[0])
		// A single URL: back off before trying it again, as before.
		return len(r.order) == 0
	default:
		r.order = r.order[1:]
	}
	return len(r.order) == 0
}

// shuffled returns the URLs but skip in a random order (Fisher-Yates).
func (r *rotation) shuffled(skip string) []string {
	out := make([]string, 0, len(r.urls))
	for _, u := range r.urls {
		if u != skip {
			out = append(out, u)
		}
	}
	for i := len(out) - 1; i > 0; i-- {
		j := r.randN(int64(i + 1))
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// redacted is u for the log, without a password it might hold.
func redacted(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Redacted()
}

// backoff is the wait before the next attempt after failures failed ones:
// uniform in [0, min(MaxBackoff, MinBackoff·1.5^failures)].
//
// The ceiling grows by half, not double: when a server restarts with
// thousands of panels connected, all of them fail a few times while it is
// down; doubling would leave some of them waiting half a minute after it
// is back, while growing by half brings every panel back within seconds
// of a restart of a few seconds, and still reaches MaxBackoff within a few
// minutes of an outage (the jitter spreads the attempts either way).
func (l *Link) backoff(failures int) time.Duration {
	return time.Duration(l.randN(int64(backoffCeiling(l.opts.MinBackoff, l.opts.MaxBackoff, failures)) + 1))
}

// backoffCeiling is min(most, least·1.5^failures).
func backoffCeiling(least, most time.Duration, failures int) time.Duration {
	ceiling := least
	for range failures {
		if ceiling >= most {
			break
		}
		ceiling += ceiling / 2
	}
	return min(ceiling, most)
}

// outcome is how a session ended, which decides when to try again.
type outcome struct {
	healthy        bool // the server sent something besides an error
	again          bool // the credential changed: reconnect at once
	updateFirmware bool
	err            error
}

// session runs one connection to endpoint until it ends.
func (l *Link) session(ctx context.Context, endpoint string) (out outcome) {
	l.mu.Lock()
	token := l.token
	l.mu.Unlock()
	header := http.Header{}
	if token != "" {
		header.Set("Authorization", "Bearer "+token)
	}
	// gorilla dials the proxy (if any) or the server with NetDialContext,
	// then does TLS itself with the server's host name as ServerName, so
	// a pinned or CA-verified certificate is checked against the name
	// whichever of its addresses answered.
	dialer := websocket.Dialer{
		NetDialContext:   l.netDialer().DialContext,
		Proxy:            l.proxy,
		TLSClientConfig:  l.opts.TLS,
		HandshakeTimeout: handshakeTimeout,
	}
	if l.opts.Dial != nil {
		dialer.NetDialContext, dialer.Proxy = l.opts.Dial, nil
	}
	ws, _, err := dialer.DialContext(ctx, endpoint, header)
	if err != nil {
		out.err = fmt.Errorf("link: connect to %s: %w", redacted(endpoint), err)
		return out
	}
	defer ws.Close()
	stop := context.AfterFunc(ctx, func() { ws.Close() })
	defer stop()
	ws.SetReadLimit(proto.MaxFrameBytes)
	ws.SetPingHandler(func(data string) error {
		_ = ws.SetReadDeadline(time.Now().Add(readTimeout))
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
		var ne interface{ Timeout() bool }
		if errors.Is(err, websocket.ErrCloseSent) || errors.As(err, &ne) && ne.Timeout() {
			return nil // as gorilla's default handler: not worth ending the read for
		}
		return err
	})

	s := &session{ws: ws}
	hello, err := proto.Encode(proto.Message{Type: proto.TypeHello, Hello: &proto.Hello{
		Protocol: proto.Version,
		Firmware: l.opts.Firmware,
		Width:    l.opts.Width,
		Height:   l.opts.Height,
		Locale:   l.opts.Locale,
		Uptime:   int64(l.opts.Now().Sub(l.started) / time.Second),
		Arch:     l.opts.Arch,
		Accepts:  append([]string{proto.AcceptSettings}, l.opts.Accepts...),
	}})
	if err != nil {
		out.err = fmt.Errorf("link: hello: %w", err)
		return out
	}
	if err := s.write(hello); err != nil {
		out.err = fmt.Errorf("link: hello: %w", err)
		return out
	}
	l.online(s, endpoint)
	l.log.Info("link: connected", "url", redacted(endpoint), "paired", token != "")
	defer func() { l.offline(s, out.err) }()

	for {
		if err := ws.SetReadDeadline(time.Now().Add(readTimeout)); err != nil {
			out.err = fmt.Errorf("link: %w", err)
			return out
		}
		_, b, err := ws.ReadMessage()
		if err != nil {
			out.err = fmt.Errorf("link: read: %w", err)
			return out
		}
		m, err := proto.Decode(b)
		if err != nil {
			// A server this panel cannot understand: try again later
			// rather than act on half a message.
			out.err = fmt.Errorf("link: frame from server: %w", err)
			l.emit(Event{Kind: KindError, Err: out.err})
			return out
		}
		if done := l.handle(m, b, token, &out); done {
			return out
		}
	}
}

// online makes s the live connection and sends the requests still waiting
// for a result again, with their ids: the server answers a repeated id
// without doing the work twice.
func (l *Link) online(s *session, endpoint string) {
	l.mu.Lock()
	l.sess, l.lastURL = s, endpoint
	var again [][]byte
	for _, c := range l.pending {
		again = append(again, c.frame)
	}
	l.mu.Unlock()
	l.emit(Event{Kind: KindConnected})
	for _, b := range again {
		if err := s.write(b); err != nil {
			return // the read loop notices too; they go again next time
		}
	}
}

func (l *Link) offline(s *session, why error) {
	l.mu.Lock()
	if l.sess == s {
		l.sess = nil
	}
	l.mu.Unlock()
	l.emit(Event{Kind: KindDisconnected, Err: why})
}

// handle acts on one frame. raw is the frame as received; token the
// credential this session used. It reports whether the session is over.
func (l *Link) handle(m proto.Message, raw []byte, token string, out *outcome) (done bool) {
	if m.Type != proto.TypeError {
		out.healthy = true
	}
	switch m.Type {
	case proto.TypeState:
		if err := l.saveState(m.State, raw); err != nil {
			l.log.Warn("link: cannot cache the state", "err", err)
			l.emit(Event{Kind: KindError, Err: err})
		}
		l.emit(Event{Kind: KindState, State: m.State})
	case proto.TypeSettings:
		if err := l.saveSettings(m.Settings, raw); err != nil {
			l.log.Warn("link: cannot cache the settings", "err", err)
			l.emit(Event{Kind: KindError, Err: err})
		}
		l.emit(Event{Kind: KindSettings, Settings: m.Settings})
	case proto.TypeFirmware:
		l.emit(Event{Kind: KindFirmware, Firmware: m.Firmware})
	case proto.TypePairing:
		l.emit(Event{Kind: KindPairing, Pairing: m.Pairing})
	case proto.TypeCommand:
		l.emit(Event{Kind: KindCommand, Command: m.Command})
	case proto.TypeResult:
		l.resolve(m.ID, *m.Result)
	case proto.TypeCredential:
		l.log.Info("link: paired", "device", m.Credential.DeviceID)
		if err := l.saveCredential(m.Credential.Token); err != nil {
			l.log.Error("link: cannot save the credential: it lasts until the panel restarts", "err", err)
			l.emit(Event{Kind: KindError, Err: err})
		}
		out.again = true
		out.err = errors.New("link: paired: reconnecting with the credential")
		return true
	case proto.TypeError:
		return l.handleError(m.Error, token, out)
	default:
		l.log.Warn("link: unexpected frame from the server", "frame", m.String())
	}
	return false
}

func (l *Link) handleError(e *proto.Error, token string, out *outcome) (done bool) {
	err := fmt.Errorf("link: server says: %w", e)
	switch e.Code {
	case proto.CodeRevoked:
		if token == "" {
			break // refused while unpaired: nothing to forget
		}
		l.log.Warn("link: credential refused: pairing again", "code", e.Code)
		if rmErr := l.forgetCredential(); rmErr != nil {
			l.log.Error("link: cannot delete the credential", "err", rmErr)
		}
		l.emit(Event{Kind: KindRevoked, Err: err})
		out.again = true
		out.err = err
		return true
	case proto.CodeUnsupportedVersion:
		l.log.Error("link: the server does not speak this panel's protocol", "err", e.Message)
		l.emit(Event{Kind: KindUpdateFirmware, Err: err})
		out.updateFirmware = true
		out.err = err
		return true
	}
	l.log.Warn("link: error from the server", "code", e.Code, "err", e.Message)
	l.emit(Event{Kind: KindError, Err: err})
	out.err = err
	return false // the server closes the connection if it must
}

// Request sends a request and waits for its result, through reconnects:
// a request whose connection drops before the result comes is sent again,
// with the same id, once the link is back. It fails at once, with an error
// of code proto.CodeOffline, when the panel is offline: the UI says so
// rather than letting a person wait at the door. A refusal by the server
// is a Result with OK false, not an error.
func (l *Link) Request(ctx context.Context, id string, r proto.Request) (proto.Result, error) {
	b, err := proto.Encode(proto.Message{Type: proto.TypeRequest, ID: id, Request: &r})
	if err != nil {
		return proto.Result{}, fmt.Errorf("link: request %s: %w", id, err)
	}
	c := &call{frame: b, done: make(chan proto.Result, 1)}
	l.mu.Lock()
	s := l.sess
	_, dup := l.pending[id]
	if s != nil && !dup {
		l.pending[id] = c
	}
	l.mu.Unlock()
	switch {
	case s == nil:
		return proto.Result{}, fmt.Errorf("link: request %s: %w", id, offline())
	case dup:
		return proto.Result{}, fmt.Errorf("link: request %s: already waiting for a request with this id", id)
	}
	defer func() {
		l.mu.Lock()
		if l.pending[id] == c {
			delete(l.pending, id)
		}
		l.mu.Unlock()
	}()
	if err := s.write(b); err != nil {
		l.log.Info("link: request not sent: it goes again after reconnecting", "id", id, "err", err)
	}
	select {
	case res := <-c.done:
		return res, nil
	case <-ctx.Done():
		return proto.Result{}, fmt.Errorf("link: request %s: %w", id, ctx.Err())
	}
}

// resolve hands a result to the request waiting for it. A second result
// for the same id (the server answering a resent request again) finds no
// one waiting and is dropped.
func (l *Link) resolve(id string, res proto.Result) {
	l.mu.Lock()
	c := l.pending[id]
	delete(l.pending, id)
	l.mu.Unlock()
	if c != nil {
		c.done <- res
	}
}

// Report sends a report (a screenshot, a problem). Unlike a request it is
// not sent again after a reconnect. Offline, it fails with CodeOffline.
func (l *Link) Report(ctx context.Context, r proto.Report) error {
	b, err := proto.Encode(proto.Message{Type: proto.TypeReport, Report: &r})
	if err != nil {
		return fmt.Errorf("link: report %s: %w", r.Kind, err)
	}
	l.mu.Lock()
	s := l.sess
	l.mu.Unlock()
	if s == nil {
		return fmt.Errorf("link: report %s: %w", r.Kind, offline())
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("link: report %s: %w", r.Kind, err)
	}
	if err := s.write(b); err != nil {
		return fmt.Errorf("link: report %s: %w", r.Kind, err)
	}
	return nil
}

// netDialer is the dialer of every connection to the server or a proxy:
// net.Dialer resolves the name at each dial and tries each of its
// addresses in turn (RFC 6724 order; IPv4 answers keep the DNS server's
// order), so DNS round robin and a refusing address work as they should.
func (l *Link) netDialer() *net.Dialer {
	d := &net.Dialer{Resolver: l.opts.Resolver}
	if len(l.urls) > 1 {
		d.Timeout = failoverDialTimeout
	}
	return d
}

// Download fetches path (a firmware build the server offered) from the
// server's HTTPS address (the websocket URL's host, https for wss) with
// the panel's credential into w, at most max bytes. With several URLs it
// asks the replica of the live connection (or of the last one): the one
// that offered the build.
func (l *Link) Download(ctx context.Context, path string, w io.Writer, max int64) error {
	if !strings.HasPrefix(path, "/firmware/") || strings.Contains(path, "..") {
		return fmt.Errorf("link: download: %q is not a firmware path", path)
	}
	l.mu.Lock()
	from := l.lastURL
	l.mu.Unlock()
	if from == "" {
		from = l.urls[0]
	}
	u, err := url.Parse(from)
	if err != nil {
		return fmt.Errorf("link: download: %w", err)
	}
	u.Scheme = map[string]string{"ws": "http", "wss": "https"}[u.Scheme]
	u.Path, u.RawQuery = path, ""
	l.mu.Lock()
	token := l.token
	l.mu.Unlock()
	if token == "" {
		return errors.New("link: download: the panel is not paired")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("link: download: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := l.get(ctx, req)
	if err != nil {
		return fmt.Errorf("link: download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("link: download %s: the server answered %s", path, resp.Status)
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, max+1))
	if err != nil {
		return fmt.Errorf("link: download: %w", err)
	}
	if n > max {
		return fmt.Errorf("link: download %s: over %d bytes", path, max)
	}
	return nil
}

// get sends req over a connection of its own, through the proxy the
// environment names (with CONNECT), and returns the answer; closing its
// body closes the connection. It does what an http.Client would, without
// linking net/http's client transport (and HTTP/2) into the panel binary:
// the armv6 build has 12 MB.
func (l *Link) get(ctx context.Context, req *http.Request) (*http.Response, error) {
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), map[string]string{"http": "80", "https": "443"}[req.URL.Scheme])
	}
	proxy, err := l.proxy(req)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	dialTo := addr
	if proxy != nil {
		dialTo = proxy.Host
		if proxy.Port() == "" {
			dialTo = net.JoinHostPort(proxy.Hostname(), "80")
		}
	}
	conn, err := l.netDialer().DialContext(ctx, "tcp", dialTo)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(err error) (*http.Response, error) {
		stop()
		conn.Close()
		return nil, err
	}
	if proxy != nil {
		connect := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: addr, Header: http.Header{}}
		if err := connect.Write(conn); err != nil {
			return fail(fmt.Errorf("proxy %s: %w", proxy.Host, err))
		}
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, connect)
		if err != nil {
			return fail(fmt.Errorf("proxy %s: %w", proxy.Host, err))
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fail(fmt.Errorf("proxy %s answered %s", proxy.Host, resp.Status))
		}
	}
	if req.URL.Scheme == "https" {
		cfg := &tls.Config{}
		if l.opts.TLS != nil {
			cfg = l.opts.TLS.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = req.URL.Hostname()
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(err)
		}
		conn = tc
	}
	req.Header.Set("Connection", "close")
	if err := req.Write(conn); err != nil {
		return fail(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return fail(err)
	}
	resp.Body = closeBoth{resp.Body, func() { stop(); conn.Close() }}
	return resp, nil
}

// proxy is the proxy for req (Opts.Proxy), nil for none.
func (l *Link) proxy(req *http.Request) (*url.URL, error) {
	if l.opts.Proxy != nil {
		return l.opts.Proxy(req)
	}
	return http.ProxyFromEnvironment(req)
}

// closeBoth closes a response body and then the connection under it.
type closeBoth struct {
	io.ReadCloser
	after func()
}

func (c closeBoth) Close() error {
	err := c.ReadCloser.Close()
	c.after()
	return err
}

func offline() error { return proto.NewError(proto.CodeOffline, "the panel is offline") }

// emit queues an event for the UI without waiting for it. A State replaces
// one still queued: only the latest matters.
func (l *Link) emit(ev Event) {
	if ev.Since.IsZero() {
		ev.Since = l.opts.Now()
	}
	l.qmu.Lock()
	if ev.Kind == KindState || ev.Kind == KindSettings {
		kept := l.queue[:0]
		for _, q := range l.queue {
			if q.Kind != ev.Kind {
				kept = append(kept, q)
			}
		}
		clear(l.queue[len(kept):])
		l.queue = kept
	}
	l.queue = append(l.queue, ev)
	if len(l.queue) > maxQueuedEvents {
		l.queue = l.queue[len(l.queue)-maxQueuedEvents:]
	}
	l.qmu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// deliver hands queued events to the UI, one at a time, until ctx ends.
func (l *Link) deliver(ctx context.Context) {
	for {
		l.qmu.Lock()
		var ev Event
		ok := len(l.queue) > 0
		if ok {
			ev = l.queue[0]
			l.queue = l.queue[1:]
		}
		l.qmu.Unlock()
		if !ok {
			select {
			case <-l.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		select {
		case l.events <- ev:
		case <-ctx.Done():
			return
		}
	}
}

// saveState caches the state frame as the server sent it.
func (l *Link) saveState(st *proto.State, raw []byte) error {
	l.mu.Lock()
	l.cached, l.cacheErr = st, nil
	l.mu.Unlock()
	if l.opts.CachePath == "" {
		return nil
	}
	if err := writeFileAtomic(l.opts.CachePath, raw, 0o600); err != nil {
		return fmt.Errorf("link: cache: %w", err)
	}
	return nil
}

// saveSettings caches the settings frame as the server sent it.
func (l *Link) saveSettings(st *proto.Settings, raw []byte) error {
	l.mu.Lock()
	l.settings = st
	l.mu.Unlock()
	if l.opts.SettingsPath == "" {
		return nil
	}
	if err := writeFileAtomic(l.opts.SettingsPath, raw, 0o600); err != nil {
		return fmt.Errorf("link: settings cache: %w", err)
	}
	return nil
}

func (l *Link) saveCredential(token string) error {
	l.mu.Lock()
	l.token = token
	l.mu.Unlock()
	if l.opts.OnCredential != nil {
		l.opts.OnCredential(token)
	}
	if l.opts.CredentialPath == "" {
		return nil
	}
	if err := writeFileAtomic(l.opts.CredentialPath, []byte(token+"\n"), 0o600); err != nil {
		return fmt.Errorf("link: save credential: %w", err)
	}
	return nil
}

func (l *Link) forgetCredential() error {
	l.mu.Lock()
	l.token = ""
	l.mu.Unlock()
	if l.opts.OnCredential != nil {
		l.opts.OnCredential("")
	}
	if l.opts.CredentialPath == "" {
		return nil
	}
	if err := os.Remove(l.opts.CredentialPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("link: delete credential: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path with data so that a power cut leaves
// either the old file or the new one, never half of one: write a temporary
// file in the same directory, fsync it, rename it over path, and fsync the
// directory so the rename itself is durable.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
