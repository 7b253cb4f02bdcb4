package view

import (
	"bytes"
	"fmt"
	"go/build"
	"image"
	"image/color"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lintelhq/lintel/panel/i18n"
	"github.com/lintelhq/lintel/proto"
)

// all returns every fixture, in every locale drawn.
func all() []fixture { return append(fixtures("en"), localized()...) }

func fixtureNamed(t testing.TB, name string) Input {
	t.Helper()
	for _, f := range all() {
		if f.name == name {
			return f.in
		}
	}
	t.Fatalf("no fixture %q", name)
	return Input{}
}

// strs returns the texts of a role, in layout order.
func strs(f *frame, rl role) []string {
	var out []string
	for _, t := range f.texts {
		if t.role == rl {
			out = append(out, strings.ReplaceAll(t.s, "\u00a0", " "))
		}
	}
	return out
}

func allStrs(f *frame) string {
	var out []string
	for _, t := range f.texts {
		out = append(out, strings.ReplaceAll(t.s, "\u00a0", " "))
	}
	return strings.Join(out, " | ")
}

// forEach runs fn on every fixture at every size.
func forEach(t *testing.T, fn func(t *testing.T, f *frame, in Input, size image.Point)) {
	r := newRenderer(t)
	for _, fx := range all() {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s-%dx%d", fx.name, size.X, size.Y), func(t *testing.T) {
				fn(t, r.layout(fx.in, size), fx.in, size)
			})
		}
	}
}

func TestWords(t *testing.T) {
	r := newRenderer(t)
	size := image.Pt(800, 480)
	for _, tc := range []struct {
		fixture string
		role    role
		want    []string
	}{
		{"free", roleStatus, []string{"Free"}},
		{"free", roleUntil, []string{"until 11:00 AM"}},
		{"free", roleClock, []string{"10:05 AM"}},
		{"free", roleAgendaAt, []string{"11:00 AM – 12:00 PM", "1:30 – 2:00 PM", "3:00 – 4:30 PM"}},
		{"free-all-day", roleUntil, []string{"All day"}},
		{"free-all-day", roleBody, []string{"No more meetings today"}},
		{"soon", roleStatus, []string{"Starting", "soon"}},
		{"soon", roleUntil, []string{"at 10:10 AM"}},
		{"soon", roleTitle, []string{"Weekly sync"}},
		{"busy-title", roleStatus, []string{"Busy"}},
		{"busy-title", roleUntil, []string{"until 10:30 AM"}},
		{"busy-title", roleTitle, []string{"Product roadmap review"}},
		{"busy-title", roleSpan, []string{"9:30 – 10:30 AM"}},
		{"busy-reserved", roleTitle, []string{"Reserved"}},
		{"busy-reserved-de", roleTitle, []string{"Reserviert"}},
		{"busy-reserved-es", roleTitle, []string{"Reservada"}},
		{"busy-organizer", roleTitle, []string{"Anna Müller"}},
		{"busy-all-day", roleUntil, []string{"All day"}},
		{"busy-all-day", roleSpan, []string{"All day"}},
		{"busy-24h", roleUntil, []string{"until 10:30"}}, // the room's clock on an English panel
		{"busy-24h", roleClock, []string{"10:05"}},
		{"check-in", roleStatus, []string{"Check in"}},
		{"check-in", roleUntil, []string{"by 10:10 AM"}},
		{"check-in", roleTitle, []string{"Weekly sync"}},
		{"check-in", roleOrganizer, []string{"Organizer: Anna Müller"}},
		{"checked-in", roleStatus, []string{"Busy"}},
		{"checked-in", roleUntil, []string{"until 11:00 AM"}},
		{"checked-in", roleTitle, []string{"Weekly sync"}},
		{"offline", roleBadge, []string{"Offline since 9:52 AM"}},
		{"stale", roleNote, []string{"Calendar last read at", "9:40 AM"}},
		{"unknown-denied", roleStatus, []string{"Unknown"}},
		{"unknown-denied", roleReason, []string{"Lintel may not read this room’s", "calendar"}},
		{"unknown-denied", roleDetail, []string{"Not read yet"}},
		{"unknown-denied", roleUntil, nil},
		{"unknown-old", roleStatus, []string{"Unknown"}},
		{"unknown-old", roleDetail, []string{"Last read at 9:20 AM"}},
		{"unknown-old", roleHeading, []string{"Last known"}},
		{"offline-long", roleStatus, []string{"Unknown"}},
		{"offline-long", roleReason, []string{"No connection to the server"}},
		{"zone-unknown", roleClock, []string{"9:05 AM"}}, // shown in UTC, and said so
		{"busy-title-de", roleStatus, []string{"Besetzt"}},
		{"busy-title-de", roleUntil, []string{"bis 10:30"}},
		{"busy-title-de", roleClock, []string{"10:05"}},
		{"busy-title-fr", roleStatus, []string{"Occupé"}},
		{"busy-title-fr", roleSpan, []string{"09:30 – 10:30"}},
		{"busy-title-it", roleUntil, []string{"fino alle 10:30"}},
		{"busy-title-es", roleStatus, []string{"Ocupada"}},
		{"unknown-denied-it", roleStatus, []string{"Senza dati"}},
		{"update-firmware-de", roleNote, []string{"Der Server spricht Protokoll 2, dieses Panel Protokoll 1."}},
		{"pairing", roleCode, []string{"K7Q4-MX2P"}},
	} {
		t.Run(tc.fixture+"/"+string(tc.role), func(t *testing.T) {
			f := r.layout(fixtureNamed(t, tc.fixture), size)
			if got := strs(f, tc.role); !slices.Equal(got, tc.want) {
				t.Errorf("%s texts = %q, want %q\nall: %s", tc.role, got, tc.want, allStrs(f))
			}
		})
	}
}

func TestAgendaIsTodayOnlyAndAtMostThree(t *testing.T) {
	r := newRenderer(t)
	in := fixtureNamed(t, "free") // four meetings later today, one tomorrow
	for _, size := range sizes {
		f := r.layout(in, size)
		got := strs(f, roleAgendaAt)
		if len(got) > 3 {
			t.Errorf("%v: %d agenda entries, want at most 3: %q", size, len(got), got)
		}
		if s := allStrs(f); strings.Contains(s, "Tomorrow") {
			t.Errorf("%v: tomorrow's meeting shown: %s", size, s)
		}
	}
	// Only tomorrow's meeting left: nothing more today, and free all day.
	in = room(state(later()[4]))
	f := r.layout(in, image.Pt(800, 480))
	if got := strs(f, roleBody); !slices.Equal(got, []string{"No more meetings today"}) {
		t.Errorf("agenda = %q, want no more meetings", got)
	}
	if got := strs(f, roleUntil); !slices.Equal(got, []string{"All day"}) {
		t.Errorf("until = %q, want free all day", got)
	}
}

// TestTimeZone checks that times are drawn in the room's zone, not the
// panel's or UTC: a meeting at 09:00 UTC is at 10:00 in Zurich in winter.
func TestTimeZone(t *testing.T) {
	r := newRenderer(t)
	nine := time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)
	st := &proto.State{
		Room:     proto.Room{Name: "Eiger", TimeZone: "Europe/Zurich"},
		Meetings: []proto.Meeting{{ID: "m", Title: "Standup", Start: nine, End: nine.Add(time.Hour)}},
	}
	for _, tc := range []struct {
		zone, locale string
		hours        HourCycle
		until, span  string
	}{
		{"Europe/Zurich", "de", HourCycleLocale, "bis 10:00", "10:00 – 11:00"},
		{"Europe/Zurich", "en", HourCycleLocale, "until 10:00 AM", "10:00 – 11:00 AM"},
		{"Europe/Zurich", "en", HourCycle24, "until 10:00", "10:00 – 11:00"},
		{"America/New_York", "en-US", HourCycleLocale, "until 4:00 AM", "4:00 – 5:00 AM"},
		{"Asia/Kolkata", "fr", HourCycleLocale, "jusqu’à 14:30", "14:30 – 15:30"},
	} {
		st.Room.TimeZone = tc.zone
		// The panel's own zone must not matter: give Now in UTC.
		in := Input{Screen: ScreenRoom, State: st, Now: nine.Add(-90 * time.Minute), Locale: tc.locale, Hours: tc.hours}
		f := r.layout(in, image.Pt(800, 480))
		if got := strs(f, roleUntil); !slices.Equal(got, []string{tc.until}) {
			t.Errorf("%s %s: until = %q, want %q", tc.zone, tc.locale, got, tc.until)
		}
		if got := strs(f, roleAgendaAt); !slices.Equal(got, []string{tc.span}) {
			t.Errorf("%s %s: agenda = %q, want %q", tc.zone, tc.locale, got, tc.span)
		}
		if got := strs(f, roleNote); len(got) != 0 {
			t.Errorf("%s: notes %q for a known zone", tc.zone, got)
		}
	}
}

func TestNothingTimeBasedWithoutClock(t *testing.T) {
	r := newRenderer(t)
	in := fixtureNamed(t, "busy-title")
	in.Now = time.Time{}
	in.Offline, in.OfflineSince = true, at(9, 0)
	for _, size := range sizes {
		f := r.layout(in, size)
		for _, rl := range []role{roleStatus, roleClock, roleAgendaAt, roleAgenda, roleTitle, roleSpan} {
			if got := strs(f, rl); len(got) != 0 {
				t.Errorf("%v: %s drawn without a clock: %q", size, rl, got)
			}
		}
		if got := strs(f, roleBadge); !slices.Equal(got, []string{"Offline"}) {
			t.Errorf("%v: badge = %q, want just Offline", size, got)
		}
		if f.boxes[0].color != colNoClock {
			t.Errorf("%v: status colour %v without a clock, want neutral %v", size, f.boxes[0].color, colNoClock)
		}
	}
}

// TestStatusCapHeight checks the design rule that the status word is
// readable across a corridor: its capitals are at least an eighth of the
// screen's height (of its short side, so a panel turned to portrait keeps
// the same physical size).
func TestStatusCapHeight(t *testing.T) {
	r := newRenderer(t)
	forEach(t, func(t *testing.T, f *frame, in Input, size image.Point) {
		want := int(math.Ceil(float64(min(size.X, size.Y)) / 8))
		for _, tx := range f.texts {
			if tx.role != roleStatus {
				continue
			}
			capH := r.metrics(tx.st).capHeight
			// The font's cap height must be what its capitals really are.
			b, _, _ := r.face(tx.st.font, tx.st.size).GlyphBounds('H')
			if got := (-b.Min.Y).Round(); abs(got-capH) > 1 {
				t.Errorf("metrics say cap height %d, glyph H is %d high", capH, got)
			}
			if capH < want {
				t.Errorf("status %q cap height %d px, want >= %d (1/8 of %d)", tx.s, capH, want, min(size.X, size.Y))
			}
		}
	})
}

// TestStatusWordsFit checks that no status word in any language is cut:
// each is whole on one line, or on two broken at a space.
func TestStatusWordsFit(t *testing.T) {
	r := newRenderer(t)
	for _, tag := range i18n.Languages() {
		ws := i18n.Resolve(tag).W
		for _, word := range []string{ws.Free, ws.Busy, ws.Soon, ws.CheckIn, ws.Unknown} {
			for _, size := range sizes {
				l := &layouter{r: r, f: &frame{size: size}, scale: float64(min(size.X, size.Y)) / 480, lang: i18n.Resolve(tag)}
				l.statusPanel(image.Rect(0, 0, size.X, size.Y), roomView{word: word}, false)
				if got := strings.Join(strs(l.f, roleStatus), " "); got != word {
					t.Errorf("%s %v: status %q drawn as %q", tag, size, word, got)
				}
			}
		}
	}
}

// TestTextStaysInside checks every text of every screen: inside the image,
// measured to fit its box, and at least 18 px on an 800x480 screen.
func TestTextStaysInside(t *testing.T) {
	r := newRenderer(t)
	forEach(t, func(t *testing.T, f *frame, in Input, size image.Point) {
		bounds := image.Rectangle{Max: size}
		for _, tx := range f.texts {
			if !tx.rect.In(bounds) {
				t.Errorf("%q: box %v outside the image %v", tx.s, tx.rect, bounds)
			}
			if end := tx.dot.X + r.width(tx.st, tx.s); tx.dot.X < tx.rect.Min.X || end > tx.rect.Max.X {
				t.Errorf("%q: drawn from x=%d to %d, outside its box %v", tx.s, tx.dot.X, end, tx.rect)
			}
			if size == image.Pt(800, 480) && tx.st.size < 18 {
				t.Errorf("%q: %d px, want >= 18 px on 800x480", tx.s, tx.st.size)
			}
			if !utf8.ValidString(tx.s) {
				t.Errorf("%q: invalid UTF-8 (cut inside a rune)", tx.s)
			}
		}
	})
}

// TestLongTextDoesNotOverflow renders absurdly long texts everywhere and
// checks the pixels: the margins right of the text columns keep their
// background colour.
func TestLongTextDoesNotOverflow(t *testing.T) {
	r := newRenderer(t)
	long := strings.Repeat("Wwwwww ", 43) // 301 wide characters
	m := meeting("x", long, 9, 30, 10, 30)
	st := state(m, meeting("y", long, 11, 0, 12, 0))
	st.Room.Name = long
	in := room(st)
	in.Message = long
	in.Buttons = []Button{{Label: long, Action: "a"}, {Label: long, Action: "b"}}
	in.Offline, in.OfflineSince = true, at(9, 0)

	for _, size := range sizes {
		img, _ := r.Render(in, size)
		f := r.layout(in, size)
		pad := int(math.Round(24 * float64(min(size.X, size.Y)) / 480))
		status, agenda := f.boxes[0].rect, f.boxes[1].rect
		checkPlain := func(name string, area image.Rectangle, want [4]uint8) {
			t.Helper()
			for y := area.Min.Y; y < area.Max.Y; y++ {
				for x := area.Min.X; x < area.Max.X; x++ {
					c := img.RGBAAt(x, y)
					if [4]uint8{c.R, c.G, c.B, c.A} != want {
						t.Fatalf("%v: %s margin at (%d,%d) is %v, want background %v: text overflows", size, name, x, y, c, want)
					}
				}
			}
		}
		b := colBusy
		checkPlain("status panel", image.Rect(status.Max.X-pad+1, status.Min.Y, status.Max.X, status.Max.Y), [4]uint8{b.R, b.G, b.B, 255})
		checkPlain("agenda", image.Rect(agenda.Max.X-pad+1, agenda.Min.Y, agenda.Max.X, agenda.Max.Y), [4]uint8{255, 255, 255, 255})

		// What is drawn is cut; what is always drawn is there. (The
		// title and agenda may give way to the notice and buttons.)
		for _, rl := range []role{roleRoom, roleTitle, roleAgenda, roleNote, roleButton} {
			got := strs(f, rl)
			if len(got) == 0 && (rl == roleRoom || rl == roleNote || rl == roleButton) {
				t.Errorf("%v: no %s drawn", size, rl)
			}
			if len(got) > 0 && !strings.HasSuffix(got[len(got)-1], ellipsis) {
				t.Errorf("%v: %s = %q, want cut with an ellipsis", size, rl, got)
			}
		}
	}
}

// TestTargets checks the touch targets: one per button, in order, at least
// 60 px (about 9 mm on a 7" 800x480 panel, scaled on other screens), inside
// the image and apart.
func TestTargets(t *testing.T) {
	r := newRenderer(t)
	for _, name := range []string{"buttons-free", "buttons-notice", "check-in", "offline-buttons", "soon-buttons", "soon-menu", "end-confirm", "unknown-denied"} {
		in := fixtureNamed(t, name)
		for _, size := range sizes {
			_, targets := r.Render(in, size)
			if len(targets) != len(in.Buttons) {
				t.Fatalf("%s %v: %d targets for %d buttons", name, size, len(targets), len(in.Buttons))
			}
			minSide := int(math.Floor(60 * float64(min(size.X, size.Y)) / 480))
			for i, tg := range targets {
				if tg.Action != in.Buttons[i].Action || tg.Disabled != in.Buttons[i].Disabled {
					t.Errorf("%s %v: target %d = %+v, want button %+v", name, size, i, tg, in.Buttons[i])
				}
				if tg.Rect.Dx() < minSide || tg.Rect.Dy() < minSide {
					t.Errorf("%s %v: target %q is %dx%d, want >= %d", name, size, tg.Action, tg.Rect.Dx(), tg.Rect.Dy(), minSide)
				}
				if !tg.Rect.In(image.Rectangle{Max: size}) {
					t.Errorf("%s %v: target %q at %v outside the image", name, size, tg.Action, tg.Rect)
				}
				for _, o := range targets[i+1:] {
					if tg.Rect.Overlaps(o.Rect) {
						t.Errorf("%s %v: targets %q %v and %q %v overlap", name, size, tg.Action, tg.Rect, o.Action, o.Rect)
					}
				}
			}
		}
	}
	// Four short labels share one row at 800x480, as Input.Buttons says.
	in := fixtureNamed(t, "free")
	in.Buttons = []Button{{Label: "Book 15 min"}, {Label: "Book 30 min"}, {Label: "Book 60 min"}, {Label: "Until 11:00"}}
	_, targets := r.Render(in, image.Pt(800, 480))
	for _, tg := range targets {
		if tg.Rect.Min.Y != targets[0].Rect.Min.Y {
			t.Errorf("four short buttons in more than one row: %v", targets)
			break
		}
	}
	_, targets = r.Render(fixtureNamed(t, "pairing"), image.Pt(800, 480))
	if len(targets) != 0 {
		t.Errorf("pairing screen has targets %v", targets)
	}
}

// TestStatusColour samples the status panel: the colour a person sees from
// afar must match the status.
func TestStatusColour(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct {
		fixture string
		want    [3]uint8
	}{
		{"free", [3]uint8{0x15, 0x80, 0x3d}},
		{"free-all-day", [3]uint8{0x15, 0x80, 0x3d}},
		{"soon", [3]uint8{0xf5, 0x9e, 0x0b}},
		{"check-in", [3]uint8{0xf5, 0x9e, 0x0b}},
		{"busy-title", [3]uint8{0xb9, 0x1c, 0x1c}},
		{"busy-all-day", [3]uint8{0xb9, 0x1c, 0x1c}},
	} {
		for _, size := range sizes {
			in := fixtureNamed(t, tc.fixture)
			img, _ := r.Render(in, size)
			panel := r.layout(in, size).boxes[0].rect
			// Points in the panel's margins: top left, bottom left, top right.
			for _, p := range []image.Point{{2, 2}, {2, panel.Max.Y - 3}, {panel.Max.X - 3, 2}} {
				c := img.RGBAAt(p.X, p.Y)
				if [3]uint8{c.R, c.G, c.B} != tc.want {
					t.Errorf("%s %v: pixel %v is %v, want %x", tc.fixture, size, p, c, tc.want)
				}
			}
		}
	}
}

// TestContrast checks WCAG AA for every text: 4.5:1 on its background, or
// 3:1 for large text (24 px, or 18.66 px bold). It also checks that the
// background the layout claims is the box the text is really drawn on.
func TestContrast(t *testing.T) {
	forEach(t, func(t *testing.T, f *frame, in Input, size image.Point) {
		scale := float64(min(size.X, size.Y)) / 480
		for _, tx := range f.texts {
			need := 4.5
			px := float64(tx.st.size) / scale // as on an 800x480 screen
			if px >= 24 || (px >= 18.66 && tx.st.font == fontBold) {
				need = 3
			}
			if c := contrast(tx.st.color, tx.bg); c < need {
				t.Errorf("%q: contrast %.2f:1 of %v on %v, want >= %.1f", tx.s, c, tx.st.color, tx.bg, need)
			}
			// The last box drawn under the start of the text's baseline.
			mid := image.Pt(tx.dot.X+1, tx.dot.Y-1)
			var under *box
			for i := range f.boxes {
				if mid.In(f.boxes[i].rect) {
					under = &f.boxes[i]
				}
			}
			if under == nil || under.color != tx.bg {
				t.Errorf("%q: layout says it is on %v, but it is drawn on %+v", tx.s, tx.bg, under)
			}
		}
	})
}

func TestPalette(t *testing.T) {
	// The status panel's ink on each status colour, checked directly so a
	// palette change fails here with a clear name.
	for name, pair := range map[string][2]color.RGBA{
		"free": {colWhite, colFree}, "busy": {colWhite, colBusy}, "soon": {colInk, colSoon},
		"no clock": {colWhite, colNoClock}, "disabled button": {colTextX, colButtonX},
	} {
		if c := contrast(pair[0], pair[1]); c < 4.5 {
			t.Errorf("%s: contrast %.2f:1, want >= 4.5", name, c)
		}
	}
	if c := contrast(hex(0x000000), hex(0xffffff)); math.Abs(c-21) > 0.01 {
		t.Errorf("contrast(black, white) = %v, want 21", c)
	}
}

// TestOneLanguage checks that a locale resolves to one language for the
// whole screen: the view's words and the clock come from one catalog entry,
// whatever the form of the tag.
func TestOneLanguage(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct {
		locale, status, clock string
	}{
		{"de-CH", "Besetzt", "10:05"},
		{"de_DE", "Besetzt", "10:05"},
		{"fr-CH", "Occupé", "10:05"},
		{"fr_FR", "Occupé", "10:05"},
		{"en-GB", "Busy", "10:05"},
		{"en-US", "Busy", "10:05 AM"},
		{"it", "Occupata", "10:05"},
		{"es-ES", "Ocupada", "10:05"},
		{"xx", "Busy", "10:05 AM"},
	} {
		in := fixtureNamed(t, "busy-title")
		in.Locale = tc.locale
		f := r.layout(in, image.Pt(800, 480))
		if got := strs(f, roleStatus); !slices.Equal(got, []string{tc.status}) {
			t.Errorf("%s: status %q, want %q", tc.locale, got, tc.status)
		}
		if got := strs(f, roleClock); !slices.Equal(got, []string{tc.clock}) {
			t.Errorf("%s: clock %q, want %q", tc.locale, got, tc.clock)
		}
	}
}

func TestFitAndWrap(t *testing.T) {
	r := newRenderer(t)
	st := style{font: fontRegular, size: 20}
	for _, s := range []string{"", "a", "Zürich Größe Ærø", strings.Repeat("é", 200), "https://example.com/a/very/long/path?with=query&and=more"} {
		for _, w := range []int{1, 8, 30, 120, 5000} {
			got := r.fit(st, s, w)
			if r.width(st, got) > w {
				t.Errorf("fit(%q, %d) = %q, %d px wide", s, w, got, r.width(st, got))
			}
			if !utf8.ValidString(got) {
				t.Errorf("fit(%q, %d) = %q: cut inside a rune", s, w, got)
			}
			if w == 5000 && got != s {
				t.Errorf("fit(%q, 5000) = %q, want it whole", s, got)
			}
			lines := r.wrap(st, s, w, 3)
			if len(lines) > 3 {
				t.Errorf("wrap(%q, %d, 3) = %d lines", s, w, len(lines))
			}
			for _, ln := range lines {
				if r.width(st, ln) > w && utf8.RuneCountInString(ln) > 1 {
					t.Errorf("wrap(%q, %d): line %q is %d px wide", s, w, ln, r.width(st, ln))
				}
			}
		}
	}
	if got := r.wrap(st, "one two three", r.width(st, "one two"), 2); !slices.Equal(got, []string{"one two", "three"}) {
		t.Errorf("wrap at a space = %q", got)
	}
	// A French no-break space holds its words together.
	s := "Fuseau X inconnu\u00a0: heures en UTC"
	for _, ln := range r.wrap(st, s, r.width(st, "Fuseau X inconnu"), 3) {
		if strings.HasPrefix(ln, "\u00a0") || strings.HasPrefix(ln, ":") {
			t.Errorf("wrap(%q) broke at a no-break space: line %q", s, ln)
		}
	}
}

func TestOddInputs(t *testing.T) {
	r := newRenderer(t)
	for _, in := range []Input{
		{},
		{Screen: ScreenRoom}, // no state yet: the connecting screen
		{Screen: ScreenPairing},
		{Screen: ScreenPairing, Pairing: &proto.Pairing{Code: "ABCD"}},
		{Screen: ScreenRoom, State: &proto.State{}, Now: fixNow},
		{Screen: Screen(99)},
	} {
		for _, size := range []image.Point{{0, 0}, {10, 300}, {800, 480}} {
			img, _ := r.Render(in, size)
			if b := img.Bounds(); b.Dx() < 64 || b.Dy() < 64 {
				t.Errorf("%+v at %v: %v, want at least 64x64", in, size, b)
			}
		}
	}
	f := r.layout(Input{Screen: ScreenRoom}, image.Pt(800, 480))
	if got := strs(f, roleBody); !slices.Equal(got, []string{"Connecting…"}) {
		t.Errorf("room without state shows %q, want the connecting screen", got)
	}
}

// TestConcurrentRender: one Renderer drawing different frames from many
// goroutines at once (as the admin UI's previews do) gives each caller
// exactly the frame and targets a lone render gives: no frame shares
// pixels with another, no cache is corrupted. Under the race detector
// (make race) it also catches unsynchronized access to the caches.
func TestConcurrentRender(t *testing.T) {
	type job struct {
		in   Input
		size image.Point
	}
	var jobs []job
	for i, f := range fixtures("en") {
		jobs = append(jobs, job{f.in, sizes[i%len(sizes)]})
	}
	type frame struct {
		img     *image.RGBA
		targets []Target
	}
	// What each job draws on a renderer of its own, one at a time (a
	// copy: nothing later may change it).
	want := make([]frame, len(jobs))
	for i, j := range jobs {
		img, targets := newRenderer(t).Render(j.in, j.size)
		want[i] = frame{&image.RGBA{Pix: slices.Clone(img.Pix), Stride: img.Stride, Rect: img.Rect}, targets}
	}
	r := newRenderer(t)
	const rounds = 3
	got := make([][rounds]frame, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		for n := range rounds {
			wg.Go(func() {
				img, targets := r.Render(j.in, j.size)
				got[i][n] = frame{img, targets}
			})
		}
	}
	wg.Wait()
	for i := range jobs {
		for n := range rounds {
			g := got[i][n]
			if !bytes.Equal(g.img.Pix, want[i].img.Pix) || g.img.Rect != want[i].img.Rect {
				t.Errorf("%s, concurrent render %d: the frame differs from a lone render of it", fixtures("en")[i].name, n)
			}
			if !slices.Equal(g.targets, want[i].targets) {
				t.Errorf("%s, concurrent render %d: targets %v, want %v", fixtures("en")[i].name, n, g.targets, want[i].targets)
			}
		}
	}
}

// TestImports keeps the package pure: it may import the standard library,
// proto, the font and QR packages, never the server or hardware.
func TestImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		first, _, _ := strings.Cut(imp, "/")
		switch {
		case !strings.Contains(first, "."): // the standard library
		case strings.Contains(imp, "gofont"):
			t.Errorf("panel/view imports %s: the panel draws in one family, Open Sans", imp)
		case imp == "github.com/lintelhq/lintel/proto", imp == "github.com/lintelhq/lintel/panel/i18n":
		case strings.HasPrefix(imp, "golang.org/x/image/"), imp == "rsc.io/qr", imp == "github.com/rivo/uniseg":
		default:
			t.Errorf("panel/view imports %s; it may import only proto, panel/i18n, x/image, uniseg and rsc.io/qr", imp)
		}
	}
}

func BenchmarkRender800x480(b *testing.B) {
	r := newRenderer(b)
	in := fixtureNamed(b, "buttons-notice")
	r.Render(in, image.Pt(800, 480)) // warm the face cache, as a running panel has
	b.ReportAllocs()
	for b.Loop() {
		r.Render(in, image.Pt(800, 480))
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// TestPairing checks what an installer needs: the code whole, a QR code big
// enough to scan and clear of text, the URL in full, how long the code lasts.
func TestPairing(t *testing.T) {
	r := newRenderer(t)
	in := fixtureNamed(t, "pairing")
	for _, size := range sizes {
		f := r.layout(in, size)
		if got := strs(f, roleCode); !slices.Equal(got, []string{in.Pairing.Code}) {
			t.Errorf("%v: code = %q", size, got)
		}
		body := strings.Join(strs(f, roleBody), "")
		if !strings.Contains(body, in.Pairing.URL) {
			t.Errorf("%v: URL %q not drawn in full: %q", size, in.Pairing.URL, body)
		}
		if !strings.Contains(body, "Code valid for 15 min") {
			t.Errorf("%v: no expiry in %q", size, body)
		}
		if f.qr == nil {
			t.Fatalf("%v: no QR code", size)
		}
		if module := f.qr.rect.Dx() / (f.qr.code.Size + 8); module < 4 {
			t.Errorf("%v: QR modules of %d px, want >= 4 to scan from a phone", size, module)
		}
		if !f.qr.rect.In(image.Rectangle{Max: size}) {
			t.Errorf("%v: QR code %v outside the image", size, f.qr.rect)
		}
		for _, tx := range f.texts {
			if tx.rect.Overlaps(f.qr.rect) {
				t.Errorf("%v: text %q %v overlaps the QR code %v", size, tx.s, tx.rect, f.qr.rect)
			}
		}
	}
}
