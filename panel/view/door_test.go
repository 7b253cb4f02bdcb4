package view

import (
	"image"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"

	"github.com/lintelhq/lintel/proto"
)

// TestMeetingAlwaysShown checks that every room state shows the meeting it
// is about (on now, awaiting check-in, starting soon) or, when free, the
// next one today: in the status panel, or in the agenda when buttons leave
// the status panel no room for it.
func TestMeetingAlwaysShown(t *testing.T) {
	forEach(t, func(t *testing.T, f *frame, in Input, size image.Point) {
		if in.Screen != ScreenRoom || in.Now.IsZero() {
			return
		}
		if ok, _, _ := proto.Known(in.State, in.Now, in.Seen); !ok {
			return
		}
		zone, _ := time.LoadLocation(in.State.Room.TimeZone)
		if zone == nil {
			zone = time.UTC
		}
		now := proto.At(in.State.Meetings, in.Now, in.State.Rules, zone)
		var want *proto.Meeting
		switch {
		case now.Current != nil:
			want = now.Current
		case len(now.Next) > 0 && now.Next[0].Start.Before(in.Now.Add(12*time.Hour)) && now.Next[0].Start.In(zone).Day() == in.Now.In(zone).Day():
			want = &now.Next[0]
		}
		if want == nil {
			return
		}
		shown := strings.Join(append(strs(f, roleTitle), strs(f, roleAgenda)...), " ")
		first := strings.Fields(want.Title)[0]
		if want.Label == proto.LabelReserved {
			first = strings.Fields(r0.lang(in.Locale).Title(*want))[0]
		}
		if !strings.Contains(shown, first) {
			t.Errorf("the meeting %q appears nowhere: %s", want.Title, allStrs(f))
		}
	})
}

var r0, _ = NewRenderer()

// TestStatusLineSize checks the hierarchy on an 800x480 panel: the status
// word's capitals at least an eighth of the height, the line with the time
// it changes twice the 30 px it had, above the meeting's lines, and no text
// under 18 px.
func TestStatusLineSize(t *testing.T) {
	r := newRenderer(t)
	for _, name := range []string{"free", "soon", "busy-title", "check-in", "buttons-notice", "busy-title-de", "busy-title-fr", "busy-title-it", "busy-title-es", "checked-in"} {
		f := r.layout(fixtureNamed(t, name), image.Pt(800, 480))
		var status, until, title int
		for _, tx := range f.texts {
			switch tx.role {
			case roleStatus:
				status = r.metrics(tx.st).capHeight
			case roleUntil:
				until = tx.st.size
			case roleTitle:
				title = tx.st.size
			}
			if tx.st.size < 18 {
				t.Errorf("%s: %q is %d px", name, tx.s, tx.st.size)
			}
		}
		if status < 60 || until < 60 || (title != 0 && title >= until) {
			t.Errorf("%s: status caps %d px (want >= 60), until line %d px (want >= 60), title %d px (want less): %s", name, status, until, title, allStrs(f))
		}
	}
}

// TestUnknownNeverFree checks that a schedule never read, read too long
// ago, or not heard of for too long offline, shows neither free nor busy:
// no green, no red, no "Free", and says why.
func TestUnknownNeverFree(t *testing.T) {
	r := newRenderer(t)
	for _, name := range []string{"unknown-denied", "unknown-old", "offline-long", "unknown-denied-de"} {
		in := fixtureNamed(t, name)
		for _, size := range sizes {
			f := r.layout(in, size)
			if c := f.boxes[0].color; c == colFree || c == colBusy || c == colSoon {
				t.Errorf("%s %v: status colour %v", name, size, c)
			}
			all := allStrs(f)
			for _, word := range []string{"Free", "Frei", "Busy", "Besetzt", "until", "bis "} {
				if slices.Contains(strs(f, roleStatus), word) || strings.Contains(strings.Join(strs(f, roleUntil), " "), word) {
					t.Errorf("%s %v: says %q: %s", name, size, word, all)
				}
			}
			if len(strs(f, roleReason)) == 0 || len(strs(f, roleDetail)) == 0 {
				t.Errorf("%s %v: no reason or last read: %s", name, size, all)
			}
		}
	}
	// A stale schedule within the limit still shows its status, with a note.
	f := r.layout(fixtureNamed(t, "stale"), image.Pt(800, 480))
	if got := strs(f, roleStatus); !slices.Equal(got, []string{"Free"}) {
		t.Errorf("stale within the limit: status %q", got)
	}
}

// TestGraphemes checks that text is cut between grapheme clusters: an
// accent written as a combining mark, a flag or a family emoji is never
// split, and the cut text still fits.
func TestGraphemes(t *testing.T) {
	r := newRenderer(t)
	st := style{font: fontRegular, size: 20}
	for _, s := range []string{
		strings.Repeat("e\u0301", 40),          // é as e + combining acute
		strings.Repeat("👨\u200d👩\u200d👧 ", 20), // a family: one cluster of five runes
		strings.Repeat("🇨🇭", 30),               // flags: pairs of regional indicators
		strings.Repeat("Zürich 会議 ", 12),
	} {
		for _, w := range []int{30, 75, 140} {
			got := r.fit(st, s, w)
			if r.width(st, got) > w {
				t.Errorf("fit(%q, %d) = %q is %d px", s, w, got, r.width(st, got))
			}
			body := strings.TrimSuffix(got, ellipsis)
			if !strings.HasPrefix(s, body) || !utf8.ValidString(got) {
				t.Errorf("fit(%q, %d) = %q: not a prefix", s, w, got)
			}
			rest := s[len(body):]
			if strings.HasPrefix(rest, "\u0301") || strings.HasPrefix(rest, "\u200d") || (strings.HasSuffix(body, "\U0001F1E8") && strings.HasPrefix(rest, "\U0001F1ED")) {
				t.Errorf("fit(%q, %d) = %q: cut inside a grapheme", s, w, got)
			}
			for _, ln := range r.wrap(st, s, w, 3) {
				if strings.HasPrefix(ln, "\u0301") || strings.HasPrefix(ln, "\u200d") {
					t.Errorf("wrap(%q, %d): line %q starts inside a grapheme", s, w, ln)
				}
			}
		}
	}
}

// TestFallbackFonts checks that what the family lacks comes from a
// fallback font, and without one is a visible replacement mark: never the
// font's empty .notdef box, never nothing.
func TestFallbackFonts(t *testing.T) {
	const missing = "♪" // in the Go fonts, not in Open Sans
	plain := newRenderer(t)
	var got []glyphRef
	plain.shape(fontRegular, missing, func(_ int, gs []glyphRef) { got = append(got, gs...) })
	if len(got) != 1 || got[0] != (glyphRef{fontRegular, replacement}) {
		t.Fatalf("without a fallback %q shapes as %v, want one replacement mark", missing, got)
	}
	goFont, err := opentype.Parse(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Opts{Fallbacks: []Fallback{{Regular: goFont}}})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	r.shape(fontBold, "a"+missing, func(_ int, gs []glyphRef) { got = append(got, gs...) })
	if len(got) != 2 || got[0].font != fontBold || got[1] != (glyphRef{numFonts, '♪'}) {
		t.Errorf("with a fallback: %v, want a from the family and ♪ from the fallback", got)
	}
	// The replacement mark draws pixels; so does the fallback's glyph.
	for _, rd := range []*Renderer{plain, r} {
		in := room(state(meeting("m", missing+missing+missing, 9, 30, 10, 30)))
		img, _ := rd.Render(in, image.Pt(800, 480))
		f := rd.layout(in, image.Pt(800, 480))
		var title textItem
		for _, tx := range f.texts {
			if tx.role == roleTitle {
				title = tx
			}
		}
		if title.s == "" {
			t.Fatalf("no title: %s", allStrs(f))
		}
		ink := 0
		for y := title.rect.Min.Y; y < title.rect.Max.Y; y++ {
			for x := title.rect.Min.X; x < title.rect.Max.X; x++ {
				if c := img.RGBAAt(x, y); c.R > 200 && c.G > 200 {
					ink++
				}
			}
		}
		if ink < 100 {
			t.Errorf("the title %q drew %d white pixels", title.s, ink)
		}
	}
	// Ignorable code points draw nothing, not a mark.
	got = nil
	plain.shape(fontRegular, "a\u200d\ufe0fb", func(_ int, gs []glyphRef) { got = append(got, gs...) })
	if len(got) != 2 {
		t.Errorf("joiner and variation selector shaped as %v", got)
	}
}

// TestTabularFigures checks that every weight's digits have one advance,
// so times do not jitter as they change, and that all text is in the one
// family (no monospace digits beside it).
func TestTabularFigures(t *testing.T) {
	r := newRenderer(t)
	for f := fontRegular; f < numFonts; f++ {
		fc := r.face(f, 100)
		a0, _ := fc.GlyphAdvance('0')
		for c := '1'; c <= '9'; c++ {
			if a, _ := fc.GlyphAdvance(c); a != a0 {
				t.Errorf("font %d: %q advances %v, '0' %v", f, c, a, a0)
			}
		}
	}
	forEach(t, func(t *testing.T, f *frame, in Input, size image.Point) {
		for _, tx := range f.texts {
			if tx.st.font >= numFonts {
				t.Errorf("%q drawn in font %d, not the family", tx.s, tx.st.font)
			}
		}
	})
}

// TestCatalogRendersInTheFamily checks that every text of every language
// renders from the embedded family alone: Latin, Greek and Cyrillic never
// fall back, and nothing becomes a replacement mark.
func TestCatalogRendersInTheFamily(t *testing.T) {
	r := newRenderer(t)
	texts := []string{"Ελληνικά Αίθουσα συσκέψεων", "Переговорная комната Ёё Її Єє Ґґ", "Zürich Ærø Œuvre Łódź Ș ț"}
	forEach(t, func(t *testing.T, f *frame, in Input, size image.Point) {
		for _, tx := range f.texts {
			texts = append(texts, tx.s)
		}
	})
	for _, s := range texts {
		if strings.ContainsAny(s, "会🙂") {
			continue // the fixture of scripts the family lacks
		}
		r.shape(fontRegular, s, func(_ int, gs []glyphRef) {
			for _, g := range gs {
				if g.r == replacement || g.font >= numFonts {
					t.Errorf("%q: %q does not render in the family", s, g.r)
				}
			}
		})
	}
}
