// Package input turns what people do at the door panel into events: taps on
// a touchscreen (Linux evdev) and presses of GPIO push buttons (periph).
//
// Both sources produce the same Event and deliver it to a callback, so the
// panel binary can merge them into one channel, and the virtual panel in
// panel/screen can produce the same taps from a browser.
package input

import (
	"fmt"
	"time"
)

// Kind tells which source an Event comes from.
type Kind int

const (
	// Touch is a tap on the touchscreen; X and Y are set.
	Touch Kind = iota + 1
	// Button is a press of a push button; Action is set.
	Button
)

func (k Kind) String() string {
	switch k {
	case Touch:
		return "touch"
	case Button:
		return "button"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Event is one thing a person did.
type Event struct {
	Kind Kind
	// X and Y are the tapped pixel in frame coordinates (after rotation), for
	// Kind Touch.
	X, Y int
	// Action is the configured action of the pressed button ("book",
	// "checkin", "end", ...), for Kind Button.
	Action string
	// Time is when it happened: the kernel's timestamp for a touch, the
	// moment the edge was seen for a button.
	Time time.Time
}
