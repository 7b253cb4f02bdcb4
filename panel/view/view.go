// Package view draws the door panel's screens: a pure function from what the
// panel knows (the room's state, the clock, the screen size, the locale) to
// an image and the touch targets on it. It does no I/O, keeps no state
// between frames except caches, and imports nothing of this module but
// proto and the panel's word catalog (plus the embedded Open Sans family, a
// grapheme segmenter and a QR encoder), so the same code renders on the
// panel, in tests (golden PNGs) and in the admin UI's previews.
//
// Rendering happens in two steps: layout decides every rectangle, string and
// colour (a frame), and paint turns the frame into pixels. The split keeps
// the decisions testable without looking at pixels: the strings a screen
// shows, that each fits its box, the contrast of each text colour on its
// background.
//
// The room's status comes from proto.At, the schedule logic the server uses
// too, so panel and server can never disagree about whether a room is free.
//
// Sizes are proportional to the shorter side of the screen, with 480 px (an
// 800x480 7" panel) as the unit: a panel turned to portrait keeps the same
// physical text size, and larger screens scale up.
//
// Text is drawn in one family, Open Sans (embedded; its figures are
// tabular, so times do not jitter as they change), by grapheme cluster:
// what the family lacks (CJK, emoji) comes from the fallback fonts the
// panel found on its system, and what no font has is drawn as a visible
// replacement mark, never an empty box.
package view

import (
	_ "embed"
	"fmt"
	"image"
	"sync"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/vector"

	"github.com/lintelhq/lintel/panel/i18n"
	"github.com/lintelhq/lintel/proto"
)

//go:embed fonts/OpenSans-Regular.ttf
var openSansRegular []byte

//go:embed fonts/OpenSans-Semibold.ttf
var openSansSemibold []byte

//go:embed fonts/OpenSans-Bold.ttf
var openSansBold []byte

// Screen selects what the panel shows.
type Screen int

const (
	// ScreenConnecting shows the Lintel name and "Connecting to <server>…"
	// while the panel has no state yet. It is the zero Screen: a panel's
	// first frame.
	ScreenConnecting Screen = iota
	// ScreenRoom shows the room: status, current meeting, agenda, buttons.
	ScreenRoom
	// ScreenPairing shows the pairing code, its QR code and URL.
	ScreenPairing
	// ScreenUpdateFirmware says the firmware is too old for the server.
	ScreenUpdateFirmware
	// ScreenError shows an error the panel cannot recover from by itself.
	ScreenError
)

// HourCycle picks a 12 or 24 hour clock; a room's own choice
// (proto.Room.Hours) wins over it.
type HourCycle = i18n.HourCycle

// The hour cycles (see package i18n).
const (
	HourCycleLocale = i18n.HourCycleLocale
	HourCycle12     = i18n.HourCycle12
	HourCycle24     = i18n.HourCycle24
)

// Input is everything a frame depends on. The zero value of each field is a
// sensible default.
type Input struct {
	Screen Screen

	// State is the room's state, for ScreenRoom. A ScreenRoom without a
	// state renders as ScreenConnecting.
	State *proto.State

	// Now is the panel's clock, already corrected by the server's offset.
	// The zero time means the clock is not plausible yet (a Raspberry Pi
	// boots in 1970): nothing time-based is drawn, not even the status,
	// since a wrong "Free" is worse than none.
	Now time.Time

	// Offline draws an "Offline since HH:MM" badge on the room screen;
	// OfflineSince zero draws just "Offline".
	Offline      bool
	OfflineSince time.Time

	// Seen is the last time the panel knew State to be current: the zero
	// time while it is connected (as in the admin's previews), when the
	// connection dropped while offline. A schedule not known to be
	// current for longer than the room's StaleAfter rule is shown as
	// unknown (proto.Known), never as free or busy.
	Seen time.Time

	// Pairing is the code to show on ScreenPairing.
	Pairing *proto.Pairing

	// Message is the detail text of ScreenError and ScreenUpdateFirmware,
	// the server's name or address on ScreenConnecting (drawn as
	// "Connecting to <Message>…"), and a notice above the buttons on
	// ScreenRoom (e.g. "Booked until 14:30 with Teams", at most two
	// lines). It is drawn as given.
	Message string

	// Buttons are the actions offered on ScreenRoom, in order. The caller
	// decides which make sense (booking needs the room free, booking is
	// disabled while offline, ...) and localizes their labels. Four short
	// labels ("Book 15 min") fit in one row at 800x480; more or longer
	// ones wrap into balanced rows, which take height from the status
	// panel.
	Buttons []Button

	// Locale picks the words (package i18n): "en" (default), "de", "fr",
	// "it" or "es", optionally with a region ("de-CH", "fr_FR").
	// Unknown locales fall back to English.
	Locale string

	// Hours picks the clock format when the room does not; the zero value
	// follows the locale.
	Hours HourCycle
}

// Button is an action button on the room screen.
type Button struct {
	Label  string // drawn as given, cut with an ellipsis if too long
	Action string // returned in the button's Target
	// Disabled buttons are drawn greyed. They still get a Target, so the
	// caller can explain why nothing happens (e.g. "Booking needs a
	// connection").
	Disabled bool
	// Warn draws the button red: a tap does something hard to undo (the
	// second tap that ends a meeting).
	Warn bool
}

// Target is a touch target: a tap inside Rect means Action.
type Target struct {
	Rect     image.Rectangle
	Action   string
	Label    string // the words on the button, for a screen reader
	Disabled bool
}

// Renderer draws frames. It keeps the parsed fonts, the faces made from
// them at each size and the glyphs rasterized from those, since parsing and
// rasterizing would otherwise dominate the time of a frame on a Raspberry
// Pi. It is safe for concurrent use (the
// admin UI renders previews from many requests); frames are drawn one at a
// time.
type Renderer struct {
	mu        sync.Mutex
	fonts     []*sfnt.Font // the family's weights, then each fallback's regular and bold (nil when it has none)
	fallbacks []Fallback
	faces     map[faceKey]font.Face
	zones     map[string]zoneEntry
	glyphs    map[glyphKey]glyph
	covers    map[glyphRef]bool
	widths    map[widthKey]int
	cands     [numFonts][]fontID
	langs     map[string]i18n.Lang
	buf       sfnt.Buffer
	capRatio  float64 // bold cap height per pixel of font size
	raster    vector.Rasterizer
}

// Fallback is a font for what the embedded family cannot draw, such as a
// system's CJK or emoji font. Bold may be nil.
type Fallback struct {
	Regular, Bold *sfnt.Font
}

// Opts configures a Renderer.
type Opts struct {
	// Fallbacks are tried in order for a grapheme cluster the embedded
	// family lacks. The panel passes the system fonts it finds; without
	// any, such text draws as replacement marks.
	Fallbacks []Fallback
}

// NewRenderer returns a Renderer with the embedded fonts only.
func NewRenderer() (*Renderer, error) { return New(Opts{}) }

// New returns a Renderer with fallback fonts.
func New(opts Opts) (*Renderer, error) {
	r := &Renderer{
		faces:  make(map[faceKey]font.Face),
		zones:  make(map[string]zoneEntry),
		glyphs: make(map[glyphKey]glyph),
		covers: make(map[glyphRef]bool),
		widths: make(map[widthKey]int),
		langs:  make(map[string]i18n.Lang),
	}
	r.fonts = []*sfnt.Font{parseFont(openSansRegular), parseFont(openSansSemibold), parseFont(openSansBold)}
	for i, fb := range opts.Fallbacks {
		if fb.Regular == nil {
			return nil, errorf("fallback font %d has no regular face", i)
		}
		r.fonts = append(r.fonts, fb.Regular, fb.Bold)
		r.fallbacks = append(r.fallbacks, fb)
	}
	m := r.face(fontBold, 100).Metrics()
	r.capRatio = float64(m.CapHeight) / 64 / 100
	return r, nil
}

// lang resolves a locale once.
func (r *Renderer) lang(locale string) i18n.Lang {
	if l, ok := r.langs[locale]; ok {
		return l
	}
	l := i18n.Resolve(locale)
	if len(r.langs) >= 64 {
		clear(r.langs) // bound the cache for the admin UI's previews
	}
	r.langs[locale] = l
	return l
}

// Render draws one frame of the given size and returns it with its touch
// targets. A size smaller than 64x64 is raised to it.
func (r *Renderer) Render(in Input, size image.Point) (*image.RGBA, []Target) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.layout(in, size)
	return r.paint(f), f.targets
}

func errorf(format string, a ...any) error { return fmt.Errorf("view: "+format, a...) }
