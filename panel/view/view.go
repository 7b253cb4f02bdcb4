// Package view draws the door panel's screens: a pure function from what the
// panel knows (the room's state, the clock, the screen size, the locale) to
// an image and the touch targets on it. It does no I/O, keeps no state
// between frames except caches, and imports nothing of this module but
// proto (plus the Go fonts and a QR encoder), so the same code renders on
// the panel, in tests (golden PNGs) and in the admin UI's previews.
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
package view

import (
	"image"
	"sync"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/vector"

	"github.com/lintelhq/lintel/proto"
)

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

// HourCycle picks a 12 or 24 hour clock.
type HourCycle int

const (
	// HourCycleLocale follows the locale: 12 hours for "en" and "en-US",
	// 24 hours for every other locale (including "en-GB", "de", "fr"),
	// which is what people in those places read without thinking.
	HourCycleLocale HourCycle = iota
	HourCycle12               // "2:30 PM"
	HourCycle24               // "14:30"
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

	// Locale picks the view's own words: "en" (default), "de" or "fr",
	// optionally with a region ("de-CH"). Unknown locales fall back to "en".
	Locale string

	// Hours picks the clock format; the zero value follows the locale.
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
}

// Target is a touch target: a tap inside Rect means Action.
type Target struct {
	Rect     image.Rectangle
	Action   string
	Disabled bool
}

// Renderer draws frames. It keeps the parsed fonts, the faces made from
// them at each size and the glyphs rasterized from those, since parsing and
// rasterizing would otherwise dominate the time of a frame on a Raspberry
// Pi. It is safe for concurrent use (the
// admin UI renders previews from many requests); frames are drawn one at a
// time.
type Renderer struct {
	mu       sync.Mutex
	fonts    [numFonts]*opentype.Font
	faces    map[faceKey]font.Face
	zones    map[string]zoneEntry
	glyphs   map[glyphKey]glyph
	capRatio float64 // bold cap height per pixel of font size
	raster   vector.Rasterizer
}

// NewRenderer parses the embedded Go fonts.
func NewRenderer() (*Renderer, error) {
	r := &Renderer{
		faces:  make(map[faceKey]font.Face),
		zones:  make(map[string]zoneEntry),
		glyphs: make(map[glyphKey]glyph),
	}
	for id, ttf := range [numFonts][]byte{
		fontRegular: goregular.TTF,
		fontMedium:  gomedium.TTF,
		fontBold:    gobold.TTF,
		fontMono:    gomonobold.TTF,
	} {
		f, err := opentype.Parse(ttf)
		if err != nil {
			return nil, errorf("parsing font %d: %v", id, err)
		}
		r.fonts[id] = f
	}
	m := r.face(fontBold, 100).Metrics()
	r.capRatio = float64(m.CapHeight) / 64 / 100
	return r, nil
}

// Render draws one frame of the given size and returns it with its touch
// targets. A size smaller than 64x64 is raised to it.
func (r *Renderer) Render(in Input, size image.Point) (*image.RGBA, []Target) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.layout(in, size)
	return r.paint(f), f.targets
}
