package main

import (
	"context"
	"encoding/binary"
	"image"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/panel/input"
	"github.com/lintelhq/lintel/server/store"
)

// evdevTap encodes a finger going down at (x, y) and lifting, as the
// kernel writes it for a 64-bit process (struct input_event, 24 bytes).
func evdevTap(x, y int32) []byte {
	type rec struct {
		typ, code uint16
		value     int32
	}
	evs := []rec{
		{0x01, 0x14a, 1}, // EV_KEY BTN_TOUCH down
		{0x03, 0x35, x},  // EV_ABS ABS_MT_POSITION_X
		{0x03, 0x36, y},  // EV_ABS ABS_MT_POSITION_Y
		{0x00, 0, 0},     // EV_SYN SYN_REPORT
		{0x01, 0x14a, 0}, // BTN_TOUCH up
		{0x00, 0, 0},     // SYN_REPORT
	}
	var out []byte
	now := time.Now()
	for _, e := range evs {
		b := make([]byte, 24)
		binary.LittleEndian.PutUint64(b[0:], uint64(now.Unix()))
		binary.LittleEndian.PutUint64(b[8:], uint64(now.Nanosecond()/1000))
		binary.LittleEndian.PutUint16(b[16:], e.typ)
		binary.LittleEndian.PutUint16(b[18:], e.code)
		binary.LittleEndian.PutUint32(b[20:], uint32(e.value))
		out = append(out, b...)
	}
	return out
}

// TestTouchscreenBooksTheRoom: taps fed to the evdev reader as raw kernel
// events turn into a booking request on the wire, which the server carries
// out.
func TestTouchscreenBooksTheRoom(t *testing.T) {
	ts := newTestServer(t)
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich", Booking: store.BookingSettings{Instant: true}})
	p := startPanel(t, ts, ts.addDevice("rigi"))
	waitFor(t, "the room's frame", func() bool { return isGreen(p.statusColour()) })

	r, w := io.Pipe()
	touch, err := input.NewTouchscreen(r, input.TouchOpts{Width: 800, Height: 480, Layout: input.Layout64,
		Calibration: input.Calibration{X: input.AbsRange{Min: 0, Max: 799}, Y: input.AbsRange{Min: 0, Max: 479}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go touch.Run(ctx, func(ev input.Event) { p.app.Input(ctx, ev) })
	defer touch.Close()

	tapOn := func(prefix string) {
		t.Helper()
		var target image.Rectangle
		waitFor(t, "a button "+prefix, func() bool {
			_, targets := p.app.Frame()
			for _, tg := range targets {
				if strings.HasPrefix(tg.Action, prefix) {
					target = tg.Rect
					return true
				}
			}
			return false
		})
		c := target.Min.Add(target.Size().Div(2))
		if _, err := w.Write(evdevTap(int32(c.X), int32(c.Y))); err != nil {
			t.Fatal(err)
		}
	}
	tapOn("menu:book")
	tapOn("book:until:") // the first choice, labelled by its end
	waitFor(t, "the booking request to reach the server", func() bool {
		out, _ := ts.app.db.Outcomes(10)
		for _, o := range out {
			if o.Action == "book" && o.Room == "rigi" && strings.Contains(string(o.Result), `"ok":true`) {
				return true
			}
		}
		return false
	})
	waitFor(t, "the panel to show the room busy", func() bool { return isRed(p.statusColour()) })
}

func inputTap(x, y int) input.Event { return input.Event{Kind: input.Touch, X: x, Y: y} }
