package main

import (
	"context"
	"fmt"
	"image"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/lintelhq/lintel/panel/input"
	"github.com/lintelhq/lintel/server/store"
)

// BenchmarkTapToBusy measures what someone at the door waits for: from
// the tap on a booking button of a real panel (app, link, LEDs on
// periph's test pins) to the room showing busy (the red LED), through
// the server on the built-in calendar over a loopback websocket.
//
//	go test -run '^$' -bench TapToBusy -benchtime 50x ./server/
//
// It reports the p50 and p99 in ms.
func BenchmarkTapToBusy(b *testing.B) {
	ts := newTestServer(b)
	// A panel may send requestBurst requests at once (then one every
	// requestEvery of the server's clock, which tests hold still): a new
	// panel in a new room every few bookings.
	var p *realPanel
	room := ""
	next := func(n int) {
		if p != nil {
			p.stop()
		}
		room = fmt.Sprint("door-", n)
		ts.addRoom(store.Room{ID: room, Name: "Door", TimeZone: "UTC", Display: store.DisplayTitle, Booking: store.BookingSettings{Instant: true}})
		p = startPanel(b, ts, ts.addDevice(room))
	}
	until := func(what string, cond func() bool) {
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				b.Fatalf("%s: not within 20 s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	target := func(prefix string) (image.Point, bool) {
		_, targets := p.app.Frame()
		for _, tg := range targets {
			if strings.HasPrefix(tg.Action, prefix) && !tg.Disabled {
				return tg.Rect.Min.Add(tg.Rect.Size().Div(2)), true
			}
		}
		return image.Point{}, false
	}
	tap := func(at image.Point) {
		p.app.Input(context.Background(), input.Event{Kind: input.Touch, X: at.X, Y: at.Y})
	}
	var took []time.Duration
	b.ResetTimer()
	for n := range b.N {
		b.StopTimer()
		if n%(requestBurst/2) == 0 {
			next(n)
		}
		// The room free again, the booking menu open.
		if err := ts.app.db.UpdateEvents(room, func([]store.Event) ([]store.Event, error) { return nil, nil }); err != nil {
			b.Fatal(err)
		}
		ts.app.sync.Refresh(context.Background(), room)
		until("the room free", func() bool { _, r := p.pins(); return r == gpio.Low })
		var menu, book image.Point
		until("the book button", func() (ok bool) { menu, ok = target("menu:book"); return ok })
		tap(menu)
		until("the booking menu", func() (ok bool) { book, ok = target("book:until:"); return ok })
		b.StartTimer()

		start := time.Now()
		tap(book)
		until("the room busy", func() bool { _, r := p.pins(); return r == gpio.High })
		took = append(took, time.Since(start))
		b.StopTimer()
		// The answer in: the panel takes taps again (its buttons are
		// enabled).
		until("the answer", func() bool { _, ok := target("menu:"); return ok })
		b.StartTimer()
	}
	b.StopTimer()
	reportLatencies(b, took)
}
