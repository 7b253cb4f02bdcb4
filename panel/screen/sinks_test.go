package screen

import (
	"bufio"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDiffHelpers(t *testing.T) {
	for n := 1; n <= 20; n++ {
		for d := range n {
			a := make([]byte, n)
			b := make([]byte, n)
			b[d] = 1
			if got := firstDiff(a, b); got != d {
				t.Errorf("len %d diff at %d: firstDiff = %d", n, d, got)
			}
			if got := lastDiff(a, b); got != d {
				t.Errorf("len %d diff at %d: lastDiff = %d", n, d, got)
			}
		}
	}
}

func TestPNGFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "frame.png")
	p, err := NewPNGFile(path, 8, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []color.RGBA{{255, 0, 0, 255}, {0, 0, 255, 255}} {
		if err := p.Draw(p.Bounds(), uniform(8, 4, c), image.Point{}); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds() != image.Rect(0, 0, 8, 4) {
			t.Errorf("bounds %v", img.Bounds())
		}
		if got := color.RGBAModel.Convert(img.At(7, 3)); got != c {
			t.Errorf("pixel = %v, want %v", got, c)
		}
	}
	// The temporary files are renamed, not left behind.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want only frame.png", len(entries))
	}
}

func TestPNGFileUnwritable(t *testing.T) {
	p, err := NewPNGFile(filepath.Join(t.TempDir(), "missing", "frame.png"), 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Draw(p.Bounds(), uniform(2, 2, color.RGBA{}), image.Point{}); err == nil || !strings.HasPrefix(err.Error(), "screen: png") {
		t.Errorf("err = %v, want a screen: png error", err)
	}
}

func getFrame(t *testing.T, srv *httptest.Server) image.Image {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + "/frame.png")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET /frame.png: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	img, err := png.Decode(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestWeb(t *testing.T) {
	touches := make(chan image.Point, 1)
	w, err := NewWeb("", WebOpts{Width: 16, Height: 8, OnTouch: func(x, y int) { touches <- image.Pt(x, y) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	defer w.Halt()

	// The page shows the frame and needs nothing but itself.
	resp, err := srv.Client().Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	var page strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		page.WriteString(sc.Text() + "\n")
	}
	resp.Body.Close()
	for _, want := range []string{`src="/frame.png"`, `EventSource("/events")`, `fetch("/touch"`} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("page lacks %s", want)
		}
	}

	// Open the event stream before drawing: it announces each new frame.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events", nil)
	events, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Body.Close()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(events.Body)
		for sc.Scan() {
			if l := sc.Text(); l != "" {
				lines <- l
			}
		}
	}()
	next := func() string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("event stream ended")
			}
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("no event within 10s")
		}
		return ""
	}
	if got := next(); got != "data: 0" {
		t.Errorf("first event %q, want the current frame 0", got)
	}

	frame := uniform(16, 8, color.RGBA{0, 128, 0, 255})
	frame.SetRGBA(3, 2, color.RGBA{255, 255, 255, 255})
	if err := w.Draw(w.Bounds(), frame, image.Point{}); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "data: 1" {
		t.Errorf("event after Draw %q, want data: 1", got)
	}
	img := getFrame(t, srv)
	if got := color.RGBAModel.Convert(img.At(3, 2)); got != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("frame pixel (3,2) = %v, want white", got)
	}
	if got := color.RGBAModel.Convert(img.At(0, 0)); got != (color.RGBA{0, 128, 0, 255}) {
		t.Errorf("frame pixel (0,0) = %v, want green", got)
	}

	// A click becomes a touch in frame pixels.
	resp, err = srv.Client().PostForm(srv.URL+"/touch", url.Values{"x": {"15"}, "y": {"7"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("POST /touch: %s", resp.Status)
	}
	select {
	case p := <-touches:
		if p != image.Pt(15, 7) {
			t.Errorf("touch at %v, want (15,7)", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no touch delivered")
	}

	// Halt ends the event stream, so a server can shut down.
	w.Halt()
	for range lines {
	}
}

func TestWebTouchRejected(t *testing.T) {
	w, err := NewWeb("", WebOpts{Width: 16, Height: 8, OnTouch: func(x, y int) { t.Errorf("touch (%d,%d) delivered", x, y) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	tests := []struct {
		name   string
		form   url.Values
		header http.Header
		want   int
	}{
		{"outside the frame", url.Values{"x": {"16"}, "y": {"0"}}, nil, http.StatusBadRequest},
		{"negative", url.Values{"x": {"-1"}, "y": {"0"}}, nil, http.StatusBadRequest},
		{"not a number", url.Values{"x": {"a"}, "y": {"0"}}, nil, http.StatusBadRequest},
		{"missing y", url.Values{"x": {"1"}}, nil, http.StatusBadRequest},
		{"from another web site", url.Values{"x": {"1"}, "y": {"1"}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", srv.URL+"/touch", strings.NewReader(tt.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

func TestWebListens(t *testing.T) {
	w, err := NewWeb("127.0.0.1:0", WebOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if w.Bounds() != image.Rect(0, 0, 800, 480) {
		t.Errorf("default bounds %v, want 800x480", w.Bounds())
	}
	// An open event stream must not keep Halt waiting.
	resp, err := http.Get("http://" + w.Addr().String() + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	done := make(chan error, 1)
	go func() { done <- w.Halt() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Halt: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Halt blocked by an open event stream")
	}
	if _, err := http.Get("http://" + w.Addr().String() + "/"); err == nil {
		t.Error("still serving after Halt")
	}
}
