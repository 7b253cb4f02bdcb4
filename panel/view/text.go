package view

import (
	"image/color"
	"strings"
	"unicode"

	"github.com/rivo/uniseg"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// fontID names a font: one of the embedded family's weights, or a
// fallback's (numFonts + 2*i for fallback i's regular, +1 for its bold).
type fontID int

const (
	fontRegular fontID = iota
	fontMedium         // Open Sans Semibold
	fontBold
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
		// happen: sizes are clamped and fonts are checked when loaded.
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

// glyphRef is one glyph to draw: a rune of a font.
type glyphRef struct {
	font fontID
	r    rune
}

// replacement is drawn for a character no font has: a visible mark, never
// an empty box.
const replacement = '\uFFFD'

// substitutes are characters the family lacks that read the same as one
// it has.
var substitutes = map[rune]rune{
	'\u2010': '-', '\u2011': '-', '\u2012': '–', '\u2212': '-', '\u2007': ' ', '\u202f': '\u00a0',
}

// ignorable reports runes that draw nothing: joiners, variation selectors,
// tags, direction marks. An emoji modifier (skin tone) is ignorable after
// the first rune of a cluster, since a monochrome emoji font cannot apply
// it.
func ignorable(c rune, first bool) bool {
	switch {
	case c == '\u200b' || c == '\u200c' || c == '\u200d' || c == '\u200e' || c == '\u200f' || c == '\u2060' || c == '\ufeff' || c == '\u00ad':
		return true
	case c >= '\ufe00' && c <= '\ufe0f', c >= 0xe0000 && c <= 0xe01ef:
		return true
	case !first && c >= 0x1f3fb && c <= 0x1f3ff:
		return true
	}
	return false
}

// has reports whether font f draws c: it has a glyph for it, with an
// outline (a colour-bitmap emoji font has indices but nothing this
// renderer can draw).
func (r *Renderer) has(f fontID, c rune) bool {
	k := glyphRef{f, c}
	if v, ok := r.covers[k]; ok {
		return v
	}
	ok := false
	if idx, err := r.fonts[f].GlyphIndex(&r.buf, c); err == nil && idx != 0 {
		_, err := r.fonts[f].LoadGlyph(&r.buf, idx, fixed.I(16), nil)
		ok = err == nil
	}
	if len(r.covers) >= maxCovers {
		clear(r.covers)
	}
	r.covers[k] = ok
	return ok
}

// maxCovers bounds the coverage cache.
const maxCovers = 8192

// candidates are the fonts tried for text of font f: f itself, then each
// fallback in the same weight (bold for bold and semibold text).
func (r *Renderer) candidates(f fontID) []fontID {
	out := r.cands[f][:0]
	out = append(out, f)
	for i := range r.fallbacks {
		id := numFonts + fontID(2*i)
		if f != fontRegular && r.fonts[id+1] != nil {
			id++
		}
		out = append(out, id)
	}
	r.cands[f] = out
	return out
}

// shape splits s into grapheme clusters and calls fn with the byte offset
// where each ends and the glyphs that draw it: the whole cluster from the
// first font that has all of it, else one replacement mark. Control
// characters count as spaces.
func (r *Renderer) shape(f fontID, s string, fn func(end int, gs []glyphRef)) {
	var gs []glyphRef
	state := -1
	rest, off := s, 0
	cands := r.candidates(f)
	for len(rest) > 0 {
		var cluster string
		cluster, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		off += len(cluster)
		gs = gs[:0]
		chosen := fontID(-1)
		for _, cf := range cands {
			ok, first := true, true
			for _, c := range cluster {
				if unicode.IsControl(c) {
					c = ' '
				}
				if sub, found := substitutes[c]; found && !r.has(cf, c) {
					c = sub
				}
				if ignorable(c, first) {
					first = false
					continue
				}
				first = false
				if !r.has(cf, c) {
					ok = false
					break
				}
			}
			if ok {
				chosen = cf
				break
			}
		}
		if chosen < 0 {
			gs = append(gs, glyphRef{f, replacement})
		} else {
			first := true
			for _, c := range cluster {
				if unicode.IsControl(c) {
					c = ' '
				}
				if sub, found := substitutes[c]; found && !r.has(chosen, c) {
					c = sub
				}
				if !ignorable(c, first) {
					gs = append(gs, glyphRef{chosen, c})
				}
				first = false
			}
		}
		fn(off, gs)
	}
}

// advance walks the glyphs of s at size, calling fn (if not nil) with each
// glyph and the pen position before it, and returns the total advance.
// Kerning applies between glyphs of one font.
func (r *Renderer) advance(st style, s string, fn func(g glyphRef, x fixed.Int26_6)) fixed.Int26_6 {
	var x fixed.Int26_6
	prev := glyphRef{font: -1}
	r.shape(st.font, s, func(_ int, gs []glyphRef) {
		for _, g := range gs {
			fc := r.face(g.font, st.size)
			if prev.font == g.font {
				x += fc.Kern(prev.r, g.r)
			}
			if fn != nil {
				fn(g, x)
			}
			a, _ := fc.GlyphAdvance(g.r)
			x += a
			prev = g
		}
	})
	return x
}

// width is the advance of s in st, in whole pixels (rounded up, so text
// measured to fit does fit). Widths are kept: layout measures the same
// strings many times a frame, and the same frame every minute.
func (r *Renderer) width(st style, s string) int {
	k := widthKey{st.font, st.size, s}
	if w, ok := r.widths[k]; ok {
		return w
	}
	w := r.advance(st, s, nil).Ceil()
	if len(r.widths) >= maxWidths {
		clear(r.widths)
	}
	r.widths[k] = w
	return w
}

type widthKey struct {
	font fontID
	size int
	s    string
}

// maxWidths bounds the width cache.
const maxWidths = 4096

// clusterEnds returns the byte offsets where the grapheme clusters of s
// end, and their advances up to there.
func (r *Renderer) clusterEnds(st style, s string) (ends []int, widths []fixed.Int26_6) {
	var x fixed.Int26_6
	prev := glyphRef{font: -1}
	r.shape(st.font, s, func(end int, gs []glyphRef) {
		for _, g := range gs {
			fc := r.face(g.font, st.size)
			if prev.font == g.font {
				x += fc.Kern(prev.r, g.r)
			}
			a, _ := fc.GlyphAdvance(g.r)
			x += a
			prev = g
		}
		ends = append(ends, end)
		widths = append(widths, x)
	})
	return ends, widths
}

const ellipsis = "…"

// fit returns s if it fits in w pixels, else the longest prefix of s (cut
// between grapheme clusters, so no accent or emoji is split, trailing
// spaces dropped) followed by an ellipsis that does.
func (r *Renderer) fit(st style, s string, w int) string {
	if r.width(st, s) <= w {
		return s
	}
	ends, _ := r.clusterEnds(st, s)
	// Binary search on the number of clusters kept.
	lo, hi := 0, len(ends)
	cut := func(n int) string {
		if n == 0 {
			return ellipsis
		}
		return strings.TrimRight(s[:ends[n-1]], " ") + ellipsis
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if r.width(st, cut(mid)) <= w {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo == 0 && r.width(st, ellipsis) > w {
		return ""
	}
	return cut(lo)
}

// wrap breaks s into at most maxLines lines of at most w pixels, at spaces
// where it can, after a URL's "/", "?" or "&" next, and between grapheme
// clusters inside a word where it must (as CJK text, which has no spaces,
// always does). The last line ends with an ellipsis when text is left
// over.
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

// fitPrefix returns the byte length of the longest prefix of s (at least
// one grapheme cluster) that fits in w pixels.
func (r *Renderer) fitPrefix(st style, s string, w int) int {
	ends, widths := r.clusterEnds(st, s)
	if len(ends) == 0 {
		return 0
	}
	n := ends[0]
	for i := range ends {
		if widths[i].Ceil() > w {
			break
		}
		n = ends[i]
	}
	return n
}

// oneLine makes outside text (titles, names) one line: runs of spaces,
// tabs and line breaks become one space.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, func(c rune) bool { return c != ' ' && unicode.IsSpace(c) || unicode.IsControl(c) }) && !strings.Contains(s, "  ") {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(c rune) bool { return unicode.IsSpace(c) && c != '\u00a0' || unicode.IsControl(c) }), " ")
}

// parseFont parses an embedded font; they are known good, so a failure is
// a build bug.
func parseFont(ttf []byte) *sfnt.Font {
	f, err := opentype.Parse(ttf)
	if err != nil {
		panic("view: embedded font: " + err.Error())
	}
	return f
}
