package view

import (
	"image"
	"image/color"
	"math"

	"rsc.io/qr"
)

// frame is a laid-out screen: what paint draws, in order (boxes, then the QR
// code, then texts), and the touch targets.
type frame struct {
	size    image.Point
	boxes   []box
	texts   []textItem
	qr      *qrItem
	targets []Target
}

// box is a filled rectangle, with rounded corners when radius > 0.
type box struct {
	rect   image.Rectangle
	color  color.RGBA
	radius int
}

// textItem is one line of text. Paint clips it to rect, so even a
// measurement bug cannot draw it outside its box.
type textItem struct {
	rect image.Rectangle // the line's box: ascent to descent, and the column's width
	dot  image.Point     // where the baseline starts
	s    string
	st   style
	bg   color.RGBA // what the text is drawn on, for the contrast test
	role role
}

// role tags the texts tests look for.
type role string

const (
	roleRoom      role = "room"
	roleStatus    role = "status"
	roleUntil     role = "until"
	roleTitle     role = "title"
	roleSpan      role = "span"
	roleOrganizer role = "organizer"
	roleReason    role = "reason" // why the schedule is unknown, or that the clock is
	roleDetail    role = "detail" // when an unknown schedule was last read
	roleClock     role = "clock"
	roleAgenda    role = "agenda" // an upcoming meeting's title
	roleAgendaAt  role = "agenda-time"
	roleBadge     role = "badge"
	roleNote      role = "note"
	roleButton    role = "button"
	roleHeading   role = "heading"
	roleBody      role = "body"
	roleCode      role = "code"
)

// qrItem is a QR code drawn black on white in rect, whole pixels per module.
type qrItem struct {
	rect image.Rectangle
	code *qr.Code
}

// The palette. Every text colour passes WCAG AA (4.5:1) on the background it
// is drawn on (TestContrast): status text is white on dark green and dark
// red, and near-black on amber, which white could not reach.
var (
	colFree    = hex(0x15803d) // green; white on it: 5.0:1
	colBusy    = hex(0xb91c1c) // red; white on it: 6.5:1
	colSoon    = hex(0xf59e0b) // amber; ink on it: 9:1
	colNoClock = hex(0x334155) // slate: no status known yet
	colWhite   = hex(0xffffff)
	colInk     = hex(0x0f172a) // near-black text
	colInkSoft = hex(0x475569) // secondary text on white or light grey
	colLine    = hex(0xe2e8f0) // separators; never text
	colFooter  = hex(0xf1f5f9)
	colButton  = hex(0x0f172a)
	colButtonX = hex(0xcbd5e1) // a disabled button
	colTextX   = hex(0x334155) // a disabled button's label
	colDark    = hex(0x0f172a) // background of the full-screen messages
	colDarkInk = hex(0xcbd5e1) // body text on colDark
	colAlert   = hex(0xb91c1c)
	colWarn    = hex(0xf59e0b)
)

func hex(v uint32) color.RGBA {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

// luminance is WCAG 2's relative luminance of an opaque colour.
func luminance(c color.RGBA) float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

// contrast is WCAG 2's contrast ratio of two opaque colours, 1 to 21.
func contrast(a, b color.RGBA) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}
