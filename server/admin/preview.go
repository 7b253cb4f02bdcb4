package admin

import (
	"bytes"
	"image"
	"image/png"
	"net/http"
	"strconv"

	"github.com/lintelhq/lintel/panel/view"
)

// previewPNG renders what the room's panels show now, with the panel's own
// view code, from the state the panels get (so the privacy rule holds here
// too: a private subject never reached that state).
func (s *Server) previewPNG(w http.ResponseWriter, r *http.Request) {
	st, ok := s.opts.Sync.State(r.PathValue("room"))
	if !ok {
		http.Error(w, "this room's calendar has not been read yet", http.StatusNotFound)
		return
	}
	size := image.Pt(800, 480)
	if r.URL.Query().Get("portrait") != "" {
		size = image.Pt(480, 800)
	}
	in := view.Input{Screen: view.ScreenRoom, State: &st, Now: s.opts.Now(), Locale: r.URL.Query().Get("locale")}
	img, _ := s.renderer.Render(in, size)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		http.Error(w, "cannot encode the preview", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}
