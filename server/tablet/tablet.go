// Package tablet lets a tablet's browser be a room's door panel: the
// Joan, Robin or iPad on the wall, in kiosk mode, instead of a Pi.
//
// The tablet runs no door software of its own. For each tablet the
// server runs the panel's own software (panel/app drawing with panel/view,
// connected by panel/link) and the browser shows its frames and sends
// back its taps, so what the door shows has one source: the same code,
// layout and words as on a Pi, at the tablet's size and in its language.
// That panel connects to the hub inside the process (no port, no TLS),
// seen by the hub as coming from the tablet's address, so it is a device
// like any other: it shows a pairing code, is approved and moved by an
// admin, is limited like a panel, is listed with its last-seen time, and
// is cut when revoked.
//
// The credential lives in the browser's storage, never on the server: the
// page sends it when it connects (in a websocket message, not the URL),
// receives a new one when paired and forgets it when revoked.
//
// Protocol between the page and the server, over one websocket at
// Path+"/ws": the page's first message is a hello (JSON: token, width,
// height, locale); then the server sends each new frame as a JSON text
// message (size and touch targets) followed by the PNG as a binary
// message, and {"credential": "..."} or {"forget": true}; the page sends
// {"tap": [x, y]} in frame pixels.
//
// When the server cannot be reached the page says so, on top of the last
// frame, dimmed, and stops taking taps; it connects again with backoff.
package tablet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/lintelhq/lintel/panel/app"
	"github.com/lintelhq/lintel/panel/input"
	"github.com/lintelhq/lintel/panel/link"
	"github.com/lintelhq/lintel/server/clientaddr"
	"github.com/lintelhq/lintel/server/ratelimit"
)

// Path is where the tablet page lives.
const Path = "/tablet"

// Limits of what a page may ask for.
const (
	// MinSide and MaxSide bound each side of a frame, in pixels (the page
	// asks for its size in CSS pixels: 1366x1024 on the largest iPad).
	MinSide, MaxSide = 240, 2048
	// MaxPixels bounds a frame's area (1920x1200): each tablet holds a
	// frame or two of 4 bytes a pixel.
	MaxPixels = 1920 * 1200
	// budgetPerTablet is the pixels a tablet is counted for in
	// Opts.MaxTablets' pixel budget: a 1280x800 frame.
	budgetPerTablet = 1280 * 800
	// helloTimeout is how long a page has to say hello.
	helloTimeout = 10 * time.Second
	// maxMessage bounds a message from the page (a hello with its token,
	// a tap).
	maxMessage = 4096
	// tapBurst taps at once, then one every tapEvery: a person taps a
	// few times a second at most; every tap redraws the frame.
	tapBurst, tapEvery = 4, 250 * time.Millisecond
	// minFrameGap spaces the frames sent to a page: frames drawn
	// meanwhile are coalesced into the latest.
	minFrameGap = 100 * time.Millisecond
	// writeTimeout bounds every write to the page.
	writeTimeout = 10 * time.Second
	// heartbeat is how often the server tells a quiet page the time (and
	// pings it): the page knows when it last heard from the server, and
	// notices silence; a page that vanished is dropped after two missed
	// pongs.
	heartbeat = 15 * time.Second
)

// Default limits.
const (
	DefaultMaxTablets = 100
	DefaultMaxPerAddr = 4
)

// Opts configure Tablets.
type Opts struct {
	// Panels is the panel endpoint (the hub); required. Each tablet's
	// panel connects to it inside the process.
	Panels http.Handler
	// ClientAddr tells a page's address (behind trusted proxies). Default
	// the request's remote host.
	ClientAddr func(*http.Request) string
	// Firmware is what a tablet's panel says it runs (the server's
	// version). Default "tablet".
	Firmware string
	// MaxTablets bounds the tablets served at once, MaxPerAddr those from
	// one address (an IPv6 /64; a page reloaded leaves its old connection
	// for a moment). Defaults DefaultMaxTablets and DefaultMaxPerAddr. The
	// frames' pixels are bounded too, to MaxTablets 1280x800 frames: so
	// many large tablets count for more than one each.
	MaxTablets, MaxPerAddr int
	// OfflineGrace is how long a page may be cut from the server before
	// it says so. Default DefaultOfflineGrace.
	OfflineGrace time.Duration
	Logger       *slog.Logger
	// Now is the tablets' clock (the panel app's). Default time.Now.
	Now func() time.Time
}

// Tablets serves tablet pages and runs a panel for each.
type Tablets struct {
	opts     Opts
	log      *slog.Logger
	ln       *pipeListener
	srv      *http.Server
	upgrader websocket.Upgrader

	mu     sync.Mutex
	closed bool
	open   int
	pixels int // of the frames of the tablets served
	byAddr map[string]int

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns Tablets serving opts.Panels to the tablets' panels. Close
// it to end every tablet.
func New(opts Opts) (*Tablets, error) {
	if opts.Panels == nil {
		return nil, errors.New("tablet: Opts.Panels (the panel endpoint) is required")
	}
	if opts.ClientAddr == nil {
		opts.ClientAddr = func(r *http.Request) string {
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				return r.RemoteAddr
			}
			return host
		}
	}
	if opts.Firmware == "" {
		opts.Firmware = "tablet"
	}
	if opts.MaxTablets <= 0 {
		opts.MaxTablets = DefaultMaxTablets
	}
	if opts.MaxPerAddr <= 0 {
		opts.MaxPerAddr = DefaultMaxPerAddr
	}
	if opts.OfflineGrace <= 0 {
		opts.OfflineGrace = DefaultOfflineGrace
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Tablets{
		opts:     opts,
		log:      opts.Logger,
		ln:       newPipeListener(),
		upgrader: websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 4096},
		byAddr:   make(map[string]int),
		ctx:      ctx,
		cancel:   cancel,
	}
	t.srv = &http.Server{Handler: opts.Panels, ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug)}
	t.wg.Go(func() { t.srv.Serve(t.ln) })
	return t, nil
}

// Close ends every tablet's connection and panel, and waits for them.
func (t *Tablets) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.cancel()
	t.ln.Close()
	err := t.srv.Close()
	t.wg.Wait()
	return err
}

// Handler serves the page, its script and its websocket.
func (t *Tablets) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Path, t.page)
	mux.HandleFunc("GET "+Path+"/tablet.js", t.script)
	mux.HandleFunc("GET "+Path+"/ws", t.serveWS)
	return mux
}

func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src blob:; connect-src 'self'; frame-ancestors 'none'")
}

// hello is a page's first message.
type hello struct {
	Token  string `json:"token"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Locale string `json:"locale"`
}

func (h hello) check() error {
	switch {
	case h.Width < MinSide || h.Height < MinSide || h.Width > MaxSide || h.Height > MaxSide:
		return fmt.Errorf("a frame of %dx%d pixels: each side must be %d to %d", h.Width, h.Height, MinSide, MaxSide)
	case h.Width*h.Height > MaxPixels:
		return fmt.Errorf("a frame of %dx%d pixels is larger than %d pixels", h.Width, h.Height, MaxPixels)
	case len(h.Locale) > 35:
		return errors.New("the locale is longer than 35 characters")
	case len(h.Token) > 256:
		return errors.New("the credential is longer than 256 characters")
	}
	return nil
}

// toPage is a message to the page.
type toPage struct {
	// Clock is the time now as the panel shows it, sent with every frame
	// and heartbeat: the page says "offline since" that time.
	Clock      string     `json:"clock,omitempty"`
	Frame      *frameInfo `json:"frame,omitempty"`
	Credential string     `json:"credential,omitempty"`
	Forget     bool       `json:"forget,omitempty"`
	Error      string     `json:"error,omitempty"`
}

// frameInfo describes the PNG that follows: its size and touch targets.
type frameInfo struct {
	Width   int      `json:"width"`
	Height  int      `json:"height"`
	Targets []target `json:"targets"`
}

type target struct {
	X        int    `json:"x"`
	Y        int    `json:"y"`
	W        int    `json:"w"`
	H        int    `json:"h"`
	Action   string `json:"action"`
	Label    string `json:"label"`
	Disabled bool   `json:"disabled,omitempty"`
}

// fromPage is a message from the page after its hello.
type fromPage struct {
	Tap []int `json:"tap"`
}

// admit counts a tablet in, or says why not.
func (t *Tablets) admit(addr string) (release func(), status int, why string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return nil, http.StatusServiceUnavailable, "the server is stopping: try again in a moment"
	case t.open >= t.opts.MaxTablets:
		return nil, http.StatusServiceUnavailable, "this server serves as many tablets as it may: try again later"
	case t.byAddr[addr] >= t.opts.MaxPerAddr:
		return nil, http.StatusTooManyRequests, "too many tablets from this address: try again later"
	}
	t.open++
	t.byAddr[addr]++
	t.wg.Add(1) // Close waits for the tablet
	return func() {
		defer t.wg.Done()
		t.mu.Lock()
		defer t.mu.Unlock()
		t.open--
		if t.byAddr[addr]--; t.byAddr[addr] <= 0 {
			delete(t.byAddr, addr)
		}
	}, 0, ""
}

// reserve counts n more pixels of frames (n < 0 gives them back), and
// reports false, counting nothing, when that is over the budget.
func (t *Tablets) reserve(n int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n > 0 && t.pixels+n > t.opts.MaxTablets*budgetPerTablet {
		return false
	}
	t.pixels += n
	return true
}

// serveWS runs one tablet: its panel, inside the server, for as long as
// the page stays connected.
func (t *Tablets) serveWS(w http.ResponseWriter, r *http.Request) {
	addr := t.opts.ClientAddr(r)
	release, status, why := t.admit(clientaddr.Key(addr))
	if release == nil {
		http.Error(w, why, status)
		return
	}
	defer release()
	ws, err := t.upgrader.Upgrade(w, r, nil) // same origin only (gorilla's check)
	if err != nil {
		return // Upgrade has answered
	}
	defer ws.Close()
	ws.SetReadLimit(maxMessage)

	ws.SetReadDeadline(time.Now().Add(helloTimeout)) // a network deadline: the real clock
	var h hello
	if err := ws.ReadJSON(&h); err != nil {
		t.refuse(ws, "the page's first message must be its hello")
		return
	}
	if err := h.check(); err != nil {
		t.refuse(ws, err.Error())
		return
	}
	if !t.reserve(h.Width * h.Height) {
		t.refuse(ws, "this server draws as many tablet pixels as it may: try again later, or raise --max-tablets")
		return
	}
	defer t.reserve(-h.Width * h.Height)
	ctx, cancel := context.WithCancel(t.ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ws.Close() }) // ends the reader
	defer stop()
	s := &session{t: t, ws: ws, addr: addr, log: t.log.With("remote", addr), changed: make(chan struct{}, 1)}
	if err := s.run(ctx, cancel, h); err != nil {
		s.log.Warn("tablet: cannot run the panel", "err", err)
		t.refuse(ws, "the server cannot run this tablet's panel: "+err.Error())
	}
}

func (t *Tablets) refuse(ws *websocket.Conn, why string) {
	ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	ws.WriteJSON(toPage{Error: why})
	ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, ""))
}

// session is one tablet: the page's connection and the panel run for it.
type session struct {
	t    *Tablets
	ws   *websocket.Conn
	addr string
	log  *slog.Logger
	app  *app.App

	// wmu serializes writes to the page (frames, credentials, pings).
	wmu sync.Mutex
	// changed says a new frame was drawn; the writer sends the latest
	// only, however many were drawn meanwhile.
	changed chan struct{}
}

func (s *session) run(ctx context.Context, cancel context.CancelFunc, h hello) error {
	remote := s.addr
	if _, _, err := net.SplitHostPort(remote); err != nil {
		remote = net.JoinHostPort(remote, "0")
	}
	l, err := link.New(link.Opts{
		URL:      "ws://tablet/ws",
		Dial:     func(ctx context.Context, _, _ string) (net.Conn, error) { return s.t.ln.dial(ctx, remote) },
		Token:    h.Token,
		Firmware: s.t.opts.Firmware, Width: h.Width, Height: h.Height, Locale: h.Locale, Arch: "browser",
		OnCredential: func(token string) {
			if token == "" {
				s.send(toPage{Forget: true})
			} else {
				s.send(toPage{Credential: token})
			}
		},
		Logger: s.log.With("component", "tablet link"), Now: s.t.opts.Now,
	})
	if err != nil {
		return err
	}
	s.app, err = app.New(app.Opts{
		Link: l, Screen: &screen{size: image.Pt(h.Width, h.Height), changed: s.changed},
		Logger: s.log.With("component", "tablet app"), Server: "Lintel", Locale: h.Locale,
		Now: s.t.opts.Now,
	})
	if err != nil {
		return err
	}
	s.log.Info("tablet: connected", "size", fmt.Sprintf("%dx%d", h.Width, h.Height), "paired", h.Token != "")
	var wg sync.WaitGroup
	wg.Go(func() { l.Run(ctx) })
	wg.Go(func() { s.app.Run(ctx) })
	wg.Go(func() { s.app.Follow(ctx, l.Events(), nil) })
	wg.Go(func() { s.writeFrames(ctx); cancel() })
	s.readTaps(ctx)
	cancel()
	wg.Wait()
	s.log.Info("tablet: disconnected")
	return nil
}

// readTaps turns the page's taps into the panel's touches until the page
// leaves. A page tapping faster than a person can is slowed down: the
// taps beyond the limit are dropped.
func (s *session) readTaps(ctx context.Context) {
	taps := ratelimit.New(ratelimit.Opts{Burst: tapBurst, Every: tapEvery, MaxKeys: 1})
	pongWait := 2 * heartbeat
	s.ws.SetReadDeadline(time.Now().Add(pongWait))
	s.ws.SetPongHandler(func(string) error { return s.ws.SetReadDeadline(time.Now().Add(pongWait)) })
	for ctx.Err() == nil {
		var m fromPage
		if err := s.ws.ReadJSON(&m); err != nil {
			var syntax *json.SyntaxError
			var typ *json.UnmarshalTypeError
			if errors.As(err, &syntax) || errors.As(err, &typ) {
				s.send(toPage{Error: "a message the server cannot read: " + err.Error()})
			}
			return
		}
		s.ws.SetReadDeadline(time.Now().Add(pongWait))
		if len(m.Tap) != 2 || !taps.Allow("") {
			continue
		}
		s.app.Input(ctx, input.Event{Kind: input.Touch, X: m.Tap[0], Y: m.Tap[1], Time: s.t.opts.Now()})
	}
}

// writeFrames sends each new frame (the latest, when several were drawn
// since the last was sent) and pings, until ctx ends or a write fails.
func (s *session) writeFrames(ctx context.Context) {
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			s.wmu.Lock()
			err := s.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout))
			if err == nil {
				s.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
				err = s.ws.WriteJSON(toPage{Clock: s.app.Clock(s.t.opts.Now())})
			}
			s.wmu.Unlock()
			if err != nil {
				return
			}
		case <-s.changed:
			if err := s.sendFrame(); err != nil {
				s.log.Info("tablet: cannot send a frame", "err", err)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(minFrameGap):
			}
		}
	}
}

func (s *session) sendFrame() error {
	img, targets := s.app.Frame()
	if img == nil {
		return nil
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return fmt.Errorf("encode the frame: %w", err)
	}
	info := &frameInfo{Width: img.Bounds().Dx(), Height: img.Bounds().Dy(), Targets: make([]target, 0, len(targets))}
	for _, tg := range targets {
		r := tg.Rect
		info.Targets = append(info.Targets, target{X: r.Min.X, Y: r.Min.Y, W: r.Dx(), H: r.Dy(), Action: tg.Action, Label: tg.Label, Disabled: tg.Disabled})
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := s.ws.WriteJSON(toPage{Frame: info, Clock: s.app.Clock(s.t.opts.Now())}); err != nil {
		return err
	}
	return s.ws.WriteMessage(websocket.BinaryMessage, buf.Bytes())
}

// send writes a message to the page; a failure ends the session through
// the reader.
func (s *session) send(m toPage) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := s.ws.WriteJSON(m); err != nil {
		s.log.Info("tablet: cannot write to the page", "err", err)
		s.ws.Close()
	}
}

// screen is the panel app's display: it only says that a frame was drawn;
// the writer takes the frame and its targets from the app together.
type screen struct {
	size    image.Point
	changed chan struct{}
}

func (s *screen) String() string          { return "tablet" }
func (s *screen) Halt() error             { return nil }
func (s *screen) ColorModel() color.Model { return color.RGBAModel }
func (s *screen) Bounds() image.Rectangle { return image.Rectangle{Max: s.size} }
func (s *screen) Draw(image.Rectangle, image.Image, image.Point) error {
	select {
	case s.changed <- struct{}{}:
	default: // one is pending: the writer sends the latest frame
	}
	return nil
}

// locale picks the page's language: ?lang=, else the browser's first.
func locale(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l != "" && len(l) <= 35 {
		return l
	}
	first, _, _ := strings.Cut(r.Header.Get("Accept-Language"), ",")
	first, _, _ = strings.Cut(first, ";")
	if len(first) > 35 {
		return ""
	}
	return strings.TrimSpace(first)
}
