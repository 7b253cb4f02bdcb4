package view

import (
	"image/color"
	"math"
	"strings"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
)

// fontID names one of the embedded Go fonts.
type fontID int

const (
	fontRegular fontID = iota
	fontMedium
	fontBold
	fontMono // bold monospace, for pairing codes and URLs: no 0/O, 1/l confusion
	numFonts
)

type faceKey struct {
	font fontID
	size int // pixels per em
}

// maxFaces bounds the face cache. A screen needs about a dozen; the admin
// UI's previews at many sizes must not grow the cache without end.
const maxFaces = 96

// face returns the face of f at size pixels, made once. Faces do no
// hinting, so advances scale linearly with the size and a measurement at one
// size predicts the others.
func (r *Renderer) face(f fontID, size int) font.Face {
	k := faceKey{f, size}
	if fc, ok := r.faces[k]; ok {
		return fc
	}
	if len(r.faces) >= maxFaces {
		clear(r.faces)
	}
	fc, err := opentype.NewFace(r.fonts[f], &opentype.FaceOptions{Size: float64(size), DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		// Only a size <= 0 or a broken font fails, and neither can
		// happen: sizes are clamped and the fonts are embedded.
		panic("view: " + err.Error())
	}
	r.faces[k] = fc
	return fc
}

// style is how a piece of text is drawn.
type style struct {
	font  fontID
	size  int
	color color.RGBA
}

// metrics are a face's vertical metrics in whole pixels.
type metrics struct {
	ascent, descent, capHeight int
}

func (r *Renderer) metrics(st style) metrics {
	m := r.face(st.font, st.size).Metrics()
	return metrics{ascent: m.Ascent.Ceil(), descent: m.Descent.Ceil(), capHeight: m.CapHeight.Round()}
}

// width is the advance of s in st, in whole pixels (rounded up, so text
// measured to fit does fit).
func (r *Renderer) width(st style, s string) int {
	return font.MeasureString(r.face(st.font, st.size), s).Ceil()
}

const ellipsis = "…"

// fit returns s if it fits in w pixels, else the longest prefix of s (cut
// between runes, trailing spaces dropped) followed by an ellipsis that does.
func (r *Renderer) fit(st style, s string, w int) string {
	if r.width(st, s) <= w {
		return s
	}
	// Binary search on the number of runes kept.
	runes := []rune(s)
	lo, hi := 0, len(runes)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if r.width(st, strings.TrimRight(string(runes[:mid]), " ")+ellipsis) <= w {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo == 0 && r.width(st, ellipsis) > w {
		return ""
	}
	return strings.TrimRight(string(runes[:lo]), " ") + ellipsis
}

// wrap breaks s into at most maxLines lines of at most w pixels, at spaces
// where it can, after a URL's "/", "?" or "&" next, and inside a word where
// it must. The last
// line ends with an ellipsis when text is left over.
func (r *Renderer) wrap(st style, s string, w, maxLines int) []string {
	var lines []string
	rest := strings.TrimSpace(s)
	for rest != "" && len(lines) < maxLines {
		if len(lines) == maxLines-1 {
			lines = append(lines, r.fit(st, rest, w))
			break
		}
		n := r.fitPrefix(st, rest, w)
		line := rest[:n]
		if n < len(rest) {
			// Break at the last space that keeps the line in width; a
			// no-break space (French typography) does not count.
			if i := strings.LastIndexByte(line, ' '); i > 0 && rest[n] != ' ' {
				line = rest[:i]
			} else if i := strings.LastIndexAny(line, "/?&"); rest[n] != ' ' && i >= len(line)/2 {
				// A URL breaks after a separator, where a reader
				// expects it, if that keeps most of the line.
				line = rest[:i+1]
			}
		}
		lines = append(lines, strings.TrimRight(line, " "))
		rest = strings.TrimLeft(rest[len(line):], " ")
	}
	return lines
}

// fitPrefix returns the byte length of the longest prefix of s (at least one
// rune) that fits in w pixels.
func (r *Renderer) fitPrefix(st style, s string, w int) int {
	fc := r.face(st.font, st.size)
	var adv float64
	prev := rune(-1)
	for i, c := range s {
		a, _ := fc.GlyphAdvance(c)
		if prev >= 0 {
			a += fc.Kern(prev, c)
		}
		adv += float64(a) / 64
		if math.Ceil(adv) > float64(w) && i > 0 {
			return i
		}
		prev = c
	}
	if s == "" {
		return 0
	}
	if adv > float64(w) {
		_, n := utf8.DecodeRuneInString(s)
		return n
	}
	return len(s)
}
