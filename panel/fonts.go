package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"golang.org/x/image/font/sfnt"

	"github.com/lintelhq/lintel/panel/view"
)

// systemFonts are fonts Debian's packages install that draw what the
// panel's embedded family (Open Sans: Latin, Greek, Cyrillic) lacks, in
// the order they are tried. deploy/panel/install.sh installs the first
// (CJK) and the emoji font; the others serve when present.
var systemFonts = []struct{ regular, bold string }{
	{"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"}, // fonts-noto-cjk
	{"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", ""},                                                            // fonts-wqy-microhei
	{"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", ""},                                                 // fonts-droid-fallback
	{"/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf", ""},                                                // fonts-symbola: monochrome emoji
	{"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"},       // fonts-dejavu-core: symbols
}

// fontPair names a fallback's files.
type fontPair struct{ regular, bold string }

// loadFonts opens the fallback fonts that exist, lazily: a CJK collection
// is 20 MB, so its tables are read from the file as glyphs are needed
// rather than into memory. The returned function closes the files. A
// missing file is skipped; an unreadable one is logged and skipped (the
// text it would draw shows replacement marks).
func loadFonts(pairs []fontPair, log *slog.Logger) ([]view.Fallback, func()) {
	var files []*os.File
	open := func(path string) *sfnt.Font {
		if path == "" {
			return nil
		}
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err == nil {
			var font *sfnt.Font
			if font, err = parseFirst(f); err == nil {
				files = append(files, f)
				return font
			}
			f.Close()
		}
		log.Warn("ignoring a system font", "file", path, "err", err)
		return nil
	}
	var out []view.Fallback
	for _, p := range pairs {
		if reg := open(p.regular); reg != nil {
			out = append(out, view.Fallback{Regular: reg, Bold: open(p.bold)})
		}
	}
	return out, func() {
		for _, f := range files {
			f.Close()
		}
	}
}

// parseFirst parses a font file or the first font of a collection.
func parseFirst(f *os.File) (*sfnt.Font, error) {
	c, err := sfnt.ParseCollectionReaderAt(f)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", f.Name(), err)
	}
	font, err := c.Font(0)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", f.Name(), err)
	}
	return font, nil
}

// defaultFonts are systemFonts as pairs.
func defaultFonts() []fontPair {
	out := make([]fontPair, len(systemFonts))
	for i, f := range systemFonts {
		out[i] = fontPair(f)
	}
	return out
}
