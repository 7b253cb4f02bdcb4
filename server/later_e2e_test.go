package main

import (
	"context"
	"fmt"
	"image"
	"net/http"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/lintelhq/lintel/panel/input"
	"github.com/lintelhq/lintel/server/store"
)

// midday returns a fixed-offset zone in which t is between 11:00 and
// 12:00, so that a test of the rest of the day reads the same at any
// LINTEL_TEST_NOW (Etc/GMT-3 is three hours east of UTC).
func midday(t *testing.T, now time.Time) *time.Location {
	t.Helper()
	off := 11 - now.UTC().Hour() // -12 .. +11
	name := "Etc/GMT"
	if off != 0 {
		name = fmt.Sprintf("Etc/GMT%+d", -off)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestBookLaterFromThePanel: at a real panel, "Later today" lists the
// rest of the day's free slots around the room's meeting, a slot offers
// the lengths that fit, and a tap books it: the event starts at the slot,
// the room stays free now, and the booking is not a check-in.
func TestBookLaterFromThePanel(t *testing.T) {
	ts := newTestServer(t)
	loc := midday(t, ts.now())
	lt := ts.now().In(loc)
	local := func(h, m int) time.Time { return time.Date(lt.Year(), lt.Month(), lt.Day(), h, m, 0, 0, loc) }
	ts.addRoom(store.Room{ID: "eiger", Name: "Eiger", TimeZone: loc.String(), Display: store.DisplayTitle, Booking: store.BookingSettings{Instant: true}})
	if code := ts.api("POST", "/api/v1/rooms/eiger/events", map[string]any{"subject": "Board", "start": local(13, 0), "end": local(14, 0)}, nil); code != http.StatusCreated {
		t.Fatalf("add the meeting: %d", code)
	}
	p := startPanel(t, ts, ts.addDevice("eiger"))

	targets := func(prefix string) (out []string, at map[string]image.Point) {
		_, tgs := p.app.Frame()
		at = map[string]image.Point{}
		for _, tg := range tgs {
			if strings.HasPrefix(tg.Action, prefix) && !tg.Disabled {
				out = append(out, tg.Action)
				at[tg.Action] = tg.Rect.Min.Add(tg.Rect.Size().Div(2))
			}
		}
		return out, at
	}
	tap := func(prefix string, pick func([]string) string) string {
		t.Helper()
		var action string
		var at map[string]image.Point
		waitFor(t, "a button "+prefix, func() bool {
			var list []string
			list, at = targets(prefix)
			if len(list) == 0 {
				return false
			}
			action = pick(list)
			return action != ""
		})
		c := at[action]
		p.app.Input(context.Background(), input.Event{Kind: input.Touch, X: c.X, Y: c.Y})
		return action
	}
	first := func(l []string) string { return l[0] }

	tap("menu:later", first)
	// The slots: from the next quarter to 13:00, from 14:00 to midnight.
	want := []string{
		fmt.Sprintf("menu:later:%d:%d", local(lt.Hour(), lt.Minute()).Truncate(15*time.Minute).Add(15*time.Minute).Unix(), local(13, 0).Unix()),
		fmt.Sprintf("menu:later:%d:%d", local(14, 0).Unix(), local(24, 0).Unix()),
	}
	var slots []string
	waitFor(t, "the day's free slots", func() bool { slots, _ = targets("menu:later:"); return len(slots) == 2 })
	if slots[0] != want[0] || slots[1] != want[1] {
		t.Fatalf("slots %v, want %v", slots, want)
	}
	tap("menu:later:", func(l []string) string { return l[1] })
	booked := tap("book:at:", first)
	if w := fmt.Sprintf("book:at:%d:until:%d", local(14, 0).Unix(), local(14, 15).Unix()); booked != w {
		t.Errorf("first length %q, want %q", booked, w)
	}

	var ev store.Event
	waitFor(t, "the later booking in the calendar", func() bool {
		evs, _ := ts.app.db.Events("eiger")
		for _, e := range evs {
			if e.Start.Equal(local(14, 0)) {
				ev = e
				return true
			}
		}
		return false
	})
	if !ev.End.Equal(local(14, 15)) {
		t.Errorf("booked %v to %v, want 14:00 to 14:15", ev.Start.In(loc), ev.End.In(loc))
	}
	if ts.app.db.CheckedIn("eiger", ev.ID) {
		t.Error("a booking for later counts as a check-in")
	}
	if _, red := p.pins(); red != gpio.Low {
		t.Error("the room shows busy now after a booking for later")
	}
	// The slot is taken: "Later today" now lists 14:15 onwards.
	tap("menu:later", first)
	waitFor(t, "the slots after the booking", func() bool {
		slots, _ = targets("menu:later:")
		return len(slots) == 2 && slots[1] == fmt.Sprintf("menu:later:%d:%d", local(14, 15).Unix(), local(24, 0).Unix())
	})
}
