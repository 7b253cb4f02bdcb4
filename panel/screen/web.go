package screen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// WebOpts configures the virtual panel.
type WebOpts struct {
	// Width and Height are the frame size. Default 800x480, the usual 7"
	// panel.
	Width, Height int
	// OnTouch receives a click on the frame as a tap at frame pixel (x, y),
	// like a touchscreen tap; the panel binary turns it into an input.Event.
	// It is called from the HTTP handler's goroutine. Default: clicks are
	// ignored.
	OnTouch func(x, y int)
	// Logger receives server errors. Default: discard.
	Logger *slog.Logger
}

// Web is a virtual panel for development: a browser shows the live frame
// and clicks on it become taps. It is a display.Drawer like the real screen.
//
// The page is plain HTML with a few lines of script and no build step. It
// listens on server-sent events (/events) for the number of each new frame
// and reloads /frame.png; a click POSTs x and y in frame pixels to /touch.
//
// There is no authentication: bind it to 127.0.0.1 (the default in the
// panel's config), not to the corridor's network. Cross-origin POSTs are
// refused, so another web page cannot tap on it.
type Web struct {
	opts    WebOpts
	handler http.Handler
	srv     *http.Server
	ln      net.Listener
	served  chan error

	mu      sync.Mutex
	frame   *image.RGBA
	seq     uint64        // number of the current frame; 0 before the first Draw
	changed chan struct{} // closed and replaced when a new frame arrives
	png     []byte        // encoded frame seq, nil until asked for
	pngSeq  uint64
	halted  chan struct{} // closed by Halt: ends event streams
}

// NewWeb returns a virtual panel and, when addr is not empty, serves it on
// addr (e.g. "127.0.0.1:8080"; port 0 picks a free one, see Addr) until
// Halt. With an empty addr it only provides Handler, for tests or for
// mounting in another server.
func NewWeb(addr string, opts WebOpts) (*Web, error) {
	if opts.Width == 0 && opts.Height == 0 {
		opts.Width, opts.Height = 800, 480
	}
	if opts.Width <= 0 || opts.Height <= 0 {
		return nil, fmt.Errorf("screen: web: size %dx%d must be positive", opts.Width, opts.Height)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w := &Web{
		opts:    opts,
		frame:   image.NewRGBA(image.Rect(0, 0, opts.Width, opts.Height)),
		changed: make(chan struct{}),
		halted:  make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", w.servePage)
	mux.HandleFunc("GET /frame.png", w.serveFrame)
	mux.HandleFunc("GET /events", w.serveEvents)
	mux.HandleFunc("POST /touch", w.serveTouch)
	w.handler = http.NewCrossOriginProtection().Handler(mux)
	if addr == "" {
		return w, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("screen: web: %w", err)
	}
	w.ln = ln
	w.srv = &http.Server{
		Handler:           w.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	w.served = make(chan error, 1)
	go func() { w.served <- w.srv.Serve(ln) }()
	opts.Logger.Info("screen: virtual panel", "url", "http://"+ln.Addr().String()+"/")
	return w, nil
}

// Addr is the address served on, or nil without a listener.
func (w *Web) Addr() net.Addr {
	if w.ln == nil {
		return nil
	}
	return w.ln.Addr()
}

// Handler serves the page, the frame, the event stream and the touches.
func (w *Web) Handler() http.Handler { return w.handler }

func (w *Web) String() string { return "screen: web virtual panel" }

// ColorModel implements display.Drawer.
func (w *Web) ColorModel() color.Model { return color.RGBAModel }

// Bounds implements display.Drawer.
func (w *Web) Bounds() image.Rectangle { return w.frame.Bounds() }

// Draw updates the frame and tells the open pages to reload it.
func (w *Web) Draw(r image.Rectangle, src image.Image, sp image.Point) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, sp = clip(w.frame.Bounds(), r, sp)
	draw.Draw(w.frame, r, src, sp, draw.Src)
	w.seq++
	close(w.changed)
	w.changed = make(chan struct{})
	return nil
}

// Halt ends the event streams and stops the server, if any.
func (w *Web) Halt() error {
	w.mu.Lock()
	select {
	case <-w.halted:
		w.mu.Unlock()
		return nil
	default:
		close(w.halted)
	}
	w.mu.Unlock()
	if w.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := w.srv.Shutdown(ctx)
	if serr := <-w.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("screen: web: %w", err)
	}
	return nil
}

// current returns the frame number and its PNG, encoding it at most once.
func (w *Web) current() (uint64, []byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.png == nil || w.pngSeq != w.seq {
		var b bytes.Buffer
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		if err := enc.Encode(&b, w.frame); err != nil {
			return 0, nil, err
		}
		w.png, w.pngSeq = b.Bytes(), w.seq
	}
	return w.seq, w.png, nil
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Lintel virtual panel</title>
<style>
body { margin: 0; background: #222; display: flex; align-items: center; justify-content: center; min-height: 100vh; }
img { max-width: 100vw; max-height: 100vh; cursor: pointer; image-rendering: pixelated; box-shadow: 0 0 0 12px #000; }
</style></head>
<body>
<img id="frame" src="/frame.png" width="{{.Width}}" height="{{.Height}}" alt="panel frame">
<script>
const img = document.getElementById("frame");
new EventSource("/events").onmessage = (e) => { img.src = "/frame.png?n=" + e.data; };
img.addEventListener("click", (e) => {
  const r = img.getBoundingClientRect();
  const x = Math.floor((e.clientX - r.left) * {{.Width}} / r.width);
  const y = Math.floor((e.clientY - r.top) * {{.Height}} / r.height);
  fetch("/touch", { method: "POST", body: new URLSearchParams({ x: x, y: y }) });
});
</script>
</body></html>
`))

func (w *Web) servePage(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(rw, w.opts); err != nil {
		w.opts.Logger.Warn("screen: web: page", "err", err)
	}
}

func (w *Web) serveFrame(rw http.ResponseWriter, r *http.Request) {
	seq, b, err := w.current()
	if err != nil {
		http.Error(rw, "encoding the frame failed", http.StatusInternalServerError)
		w.opts.Logger.Warn("screen: web: encode frame", "err", err)
		return
	}
	rw.Header().Set("Content-Type", "image/png")
	rw.Header().Set("Cache-Control", "no-store")
	rw.Header().Set("X-Frame-Number", strconv.FormatUint(seq, 10))
	rw.Write(b)
}

// serveEvents streams the number of each new frame as a server-sent event,
// starting with the current one.
func (w *Web) serveEvents(rw http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(rw)
	rw.Header().Set("Content-Type", "text/event-stream")
	rw.Header().Set("Cache-Control", "no-store")
	for {
		w.mu.Lock()
		seq, changed := w.seq, w.changed
		w.mu.Unlock()
		if _, err := fmt.Fprintf(rw, "data: %d\n\n", seq); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-changed:
		case <-r.Context().Done():
			return
		case <-w.halted:
			return
		}
	}
}

func (w *Web) serveTouch(rw http.ResponseWriter, r *http.Request) {
	x, errX := strconv.Atoi(r.FormValue("x"))
	y, errY := strconv.Atoi(r.FormValue("y"))
	if errX != nil || errY != nil || !image.Pt(x, y).In(w.frame.Bounds()) {
		http.Error(rw, "want x and y inside the frame", http.StatusBadRequest)
		return
	}
	if w.opts.OnTouch != nil {
		w.opts.OnTouch(x, y)
	}
	rw.WriteHeader(http.StatusNoContent)
}
