package tablet

import (
	"bytes"
	"encoding/json"
	"image/png"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// start serves Tablets whose panels find no panel endpoint (they show
// "connecting"), with opts' limits.
func start(t *testing.T, opts Opts) (*Tablets, string) {
	t.Helper()
	opts.Panels = http.NotFoundHandler()
	tb, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tb.Handler())
	t.Cleanup(func() {
		srv.Close()
		tb.Close()
	})
	return tb, "ws" + strings.TrimPrefix(srv.URL, "http") + Path + "/ws"
}

func dial(t *testing.T, url string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	origin := "http" + strings.TrimPrefix(strings.TrimSuffix(url, Path+"/ws"), "ws")
	c, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {origin}})
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, resp, err
}

// next reads the next text message from the server.
func next(t *testing.T, c *websocket.Conn) toPage {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		typ, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if typ != websocket.TextMessage {
			continue
		}
		var m toPage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		return m
	}
}

// A page gets its panel's frames at the size it asked for.
func TestFrameAtThePagesSize(t *testing.T) {
	_, url := start(t, Opts{})
	c, _, err := dial(t, url)
	if err != nil {
		t.Fatal(err)
	}
	c.WriteJSON(hello{Width: 600, Height: 960, Locale: "de-CH"})
	m := next(t, c)
	if m.Frame == nil || m.Frame.Width != 600 || m.Frame.Height != 960 || m.Clock == "" {
		t.Fatalf("first message %+v, want a 600x960 frame with the clock", m)
	}
	typ, b, err := c.ReadMessage()
	if err != nil || typ != websocket.BinaryMessage {
		t.Fatalf("then %d, %v: want the PNG", typ, err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got.X != 600 || got.Y != 960 {
		t.Errorf("PNG of %v", got)
	}
}

// What a page may ask for is bounded, and a page that says nothing
// sensible is told why and closed.
func TestBadHellos(t *testing.T) {
	_, url := start(t, Opts{})
	for _, tc := range []struct {
		name string
		send string
		want string
	}{
		{"not JSON", `hello?`, "first message must be its hello"},
		{"too small", `{"width":100,"height":100}`, "each side must be 240 to 2048"},
		{"too wide", `{"width":2560,"height":800}`, "each side must be 240 to 2048"},
		{"too large", `{"width":2000,"height":2000}`, "larger than 2304000 pixels"},
		{"long token", `{"width":800,"height":480,"token":"` + strings.Repeat("x", 300) + `"}`, "credential is longer than 256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := dial(t, url)
			if err != nil {
				t.Fatal(err)
			}
			c.WriteMessage(websocket.TextMessage, []byte(tc.send))
			if m := next(t, c); !strings.Contains(m.Error, tc.want) {
				t.Errorf("error %q, want %q", m.Error, tc.want)
			}
			if _, _, err := c.ReadMessage(); err == nil {
				t.Error("the connection stayed open")
			}
		})
	}
}

// A message over the limit closes the connection as too big.
func TestMessageTooBig(t *testing.T) {
	_, url := start(t, Opts{})
	c, _, err := dial(t, url)
	if err != nil {
		t.Fatal(err)
	}
	c.WriteMessage(websocket.TextMessage, []byte(`{"width":800,"height":480,"token":"`+strings.Repeat("x", maxMessage)+`"}`))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Errorf("got %v, want a close 1009 (message too big)", err)
	}
}

// Tablets are counted per address and in all; one more is refused before
// the upgrade, and a place is free again when a tablet leaves.
func TestTabletLimits(t *testing.T) {
	tb, url := start(t, Opts{MaxTablets: 3, MaxPerAddr: 2})
	open := func() *websocket.Conn {
		c, _, err := dial(t, url)
		if err != nil {
			t.Fatal(err)
		}
		c.WriteJSON(hello{Width: 800, Height: 480})
		next(t, c) // running
		return c
	}
	first := open()
	open()
	if _, resp, err := dial(t, url); err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a third tablet from one address: %v %v, want 429", resp, err)
	}
	first.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		tb.mu.Lock()
		n := tb.open
		tb.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d tablets counted after one left, want 1", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	open()
	tb.mu.Lock()
	tb.byAddr["203.0.113.9"] = 1 // another address's tablet
	tb.open++
	tb.mu.Unlock()
	if _, resp, err := dial(t, url); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a tablet over the total: %v %v, want 503", resp, err)
	}
}

// The frames' pixels are bounded as well as the tablets: large frames
// count for more than one tablet.
func TestPixelBudget(t *testing.T) {
	_, url := start(t, Opts{MaxTablets: 3, MaxPerAddr: 10})
	open := func(w, h int) toPage {
		c, _, err := dial(t, url)
		if err != nil {
			t.Fatal(err)
		}
		c.WriteJSON(hello{Width: w, Height: h})
		return next(t, c)
	}
	if m := open(1920, 1200); m.Frame == nil { // 2.25 of the 3 tablets' pixels
		t.Fatalf("a 1920x1200 tablet: %+v", m)
	}
	if m := open(1280, 800); !strings.Contains(m.Error, "as many tablet pixels as it may") {
		t.Fatalf("over the pixel budget: %+v", m)
	}
	if m := open(800, 480); m.Frame == nil {
		t.Fatalf("a small tablet within the budget: %+v", m)
	}
}

// Another site's page cannot open a tablet (the credential is in the
// tablet's own storage; a cross-site socket would drive its panel).
func TestCrossOriginRefused(t *testing.T) {
	_, url := start(t, Opts{})
	_, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin: %v %v, want 403", resp, err)
	}
}

// BenchmarkTablets measures what a tablet costs the server: the heap a
// connected 1280x800 tablet holds, and from its hello to its first frame
// (the panel started, a frame drawn, encoded and sent).
//
//	go test -run '^$' -bench Tablets -benchtime 20x ./server/tablet/
func BenchmarkTablets(b *testing.B) {
	tb, err := New(Opts{Panels: http.NotFoundHandler(), MaxTablets: 10_000, MaxPerAddr: 10_000})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(tb.Handler())
	defer tb.Close()
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + Path + "/ws"
	origin := http.Header{"Origin": {srv.URL}}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var firsts []time.Duration
	var frameBytes int
	conns := make([]*websocket.Conn, 0, b.N)
	for b.Loop() {
		c, _, err := websocket.DefaultDialer.Dial(url, origin)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		start := time.Now()
		c.WriteJSON(hello{Width: 1280, Height: 800})
		for {
			typ, data, err := c.ReadMessage()
			if err != nil {
				b.Fatal(err)
			}
			if typ == websocket.BinaryMessage {
				frameBytes = len(data)
				break
			}
		}
		firsts = append(firsts, time.Since(start))
	}
	b.StopTimer()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	slices.Sort(firsts)
	b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/float64(len(conns))/1024, "heap-KB/tablet")
	b.ReportMetric(float64(firsts[len(firsts)/2].Microseconds())/1000, "first-frame-p50-ms")
	b.ReportMetric(float64(firsts[len(firsts)*99/100].Microseconds())/1000, "first-frame-p99-ms")
	b.ReportMetric(float64(frameBytes)/1024, "frame-KB")
	for _, c := range conns {
		c.Close()
	}
}
