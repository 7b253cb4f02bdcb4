package main

import (
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/image/font/gofont/goregular"

	"github.com/lintelhq/lintel/panel/view"
	"github.com/lintelhq/lintel/proto"
)

// TestLoadFonts checks the search for system fonts: files that exist are
// opened (a single font or a collection), missing ones skipped, broken
// ones skipped with a warning, and a found font draws what the embedded
// family cannot.
func TestLoadFonts(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "fallback.ttf")
	broken := filepath.Join(dir, "broken.ttf")
	if err := os.WriteFile(good, goregular.TTF, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken, []byte("not a font"), 0o644); err != nil {
		t.Fatal(err)
	}
	fonts, closeFonts := loadFonts([]fontPair{
		{filepath.Join(dir, "missing.ttc"), ""},
		{broken, ""},
		{good, filepath.Join(dir, "missing-bold.ttf")},
	}, slog.New(slog.DiscardHandler))
	defer closeFonts()
	if len(fonts) != 1 || fonts[0].Regular == nil || fonts[0].Bold != nil {
		t.Fatalf("fonts %+v, want the one good file", fonts)
	}

	// "♪" is in the test's fallback, not in Open Sans: with the fallback
	// the title draws more than the replacement mark's pixels.
	ink := func(fb []view.Fallback) int {
		r, err := view.New(view.Opts{Fallbacks: fb})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
		st := &proto.State{Room: proto.Room{Name: "♪", TimeZone: "UTC"}, Meetings: nil}
		img, _ := r.Render(view.Input{Screen: view.ScreenRoom, State: st, Now: now}, image.Pt(800, 480))
		n := 0
		for y := 0; y < 60; y++ {
			for x := 0; x < 100; x++ {
				if c := img.RGBAAt(x, y); c.R > 200 && c.G > 200 && c.B > 200 {
					n++
				}
			}
		}
		return n
	}
	without, with := ink(nil), ink(fonts)
	if without == 0 || with == 0 || with == without {
		t.Errorf("white pixels of the room name: %d without the fallback, %d with it; want both drawn, and differently", without, with)
	}
}
