package main

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lintelhq/lintel/panel/i18n"
	"github.com/lintelhq/lintel/server/store"
)

// TestTabletAsPanel: a tablet's browser opens /tablet and is a door
// panel. It shows a pairing code drawn by the panel's own view, is
// approved like a panel, keeps its credential in the browser, shows its
// room at its size, books it with two taps, follows a move to another
// room, turns to portrait, pairs again when revoked, and says it is
// offline when the server goes away.
func TestTabletAsPanel(t *testing.T) {
	ctx := browser(t)
	ts := newTestServerWith(t, func(c *config) { c.TabletOfflineGrace = time.Second })
	ts.addRoom(store.Room{ID: "borealis", Name: "Borealis", TimeZone: "UTC", Display: store.DisplayTitle,
		Booking: store.BookingSettings{Instant: true, ExtendEnd: true}})
	ts.addRoom(store.Room{ID: "aurora", Name: "Aurora", TimeZone: "UTC", Display: store.DisplayTitle,
		Booking: store.BookingSettings{Instant: true}})
	if err := ts.app.sync.SyncAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	run := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatal(err)
		}
	}
	js := func(expr string) string {
		v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		return v
	}
	// frameSize is the size of the frame the page shows.
	frameSize := func() string {
		return js(`(function(){var i=document.getElementById('frame');return i.complete&&i.naturalWidth?i.naturalWidth+'x'+i.naturalHeight:''})()`)
	}
	// saveFrame keeps the frame the page shows, to look at.
	saveFrame := func(name string) {
		dir := os.Getenv("LINTEL_SCREENSHOTS")
		if dir == "" {
			return
		}
		data := js(`(function(){var i=document.getElementById('frame'),c=document.createElement('canvas');c.width=i.naturalWidth;c.height=i.naturalHeight;c.getContext('2d').drawImage(i,0,0);return c.toDataURL('image/png').split(',')[1]})()`)
		b, err := base64.StdEncoding.DecodeString(data)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644)
		}
		if err != nil {
			t.Logf("save %s: %v", name, err)
		}
	}
	landscape := chromedp.EmulateViewport(1280, 800)
	run(landscape, chromedp.Navigate(ts.http.URL+"/tablet"))

	// Unpaired: a pairing code, listed for the admin like a panel's.
	var code string
	waitFor(t, "the tablet's pairing code", func() bool {
		var pend []struct {
			Code string `json:"code"`
		}
		if ts.api("GET", "/api/v1/pairing", nil, &pend) == http.StatusOK && len(pend) == 1 {
			code = pend[0].Code
		}
		return code != ""
	})
	waitFor(t, "the pairing screen at the tablet's size", func() bool {
		return frameSize() == "1280x800" && js(`document.body.dataset.frames || ""`) >= "2"
	})
	saveFrame("tablet-pairing")
	var d struct{ ID string }
	if status := ts.api("POST", "/api/v1/pairing/"+code+"/approve", map[string]string{"room": "borealis", "name": "Borealis tablet"}, &d); status != http.StatusCreated {
		t.Fatalf("approve the tablet: %d", status)
	}
	waitFor(t, "the credential kept in the browser", func() bool {
		return js(`localStorage.getItem('lintel-tablet-credential') || ""`) != ""
	})
	waitFor(t, "the free room with its buttons", func() bool {
		return js(`(document.querySelector('#targets button[data-action="menu:book"]') || {}).ariaLabel || ""`) == "Book now"
	})
	run(shot("tablet-landscape"))
	saveFrame("tablet-landscape")

	// Two taps book the room, as on a panel.
	run(chromedp.Click(`#targets button[data-action="menu:book"]`))
	waitFor(t, "the booking menu", func() bool {
		return js(`document.querySelector('#targets button[data-action^="book:until:"]') ? "yes" : ""`) == "yes"
	})
	saveFrame("tablet-book-menu")
	run(chromedp.Click(`#targets button[data-action^="book:until:"]`))
	waitFor(t, "the room booked from the tablet", func() bool {
		st, ok := ts.app.sync.State("borealis")
		return ok && len(st.Meetings) == 1 && st.Meetings[0].Start.Before(ts.now().Add(time.Minute))
	})
	waitFor(t, "the tablet shows the meeting it booked", func() bool {
		return js(`document.querySelector('#targets button[data-action^="end:"]') ? "yes" : ""`) == "yes"
	})
	saveFrame("tablet-booked")

	// The device is a panel like any other, seen from the tablet's address.
	var devs []struct {
		ID, Firmware, Room string
		Online             bool `json:"online"`
	}
	if ts.api("GET", "/api/v1/devices", nil, &devs) != http.StatusOK || len(devs) != 1 || devs[0].Room != "borealis" || !strings.HasPrefix(devs[0].Firmware, "tablet ") {
		t.Errorf("devices: %+v", devs)
	}

	// Moved to another room by an admin (as the devices page does), and
	// back: the tablet follows at once.
	move := func(room string) {
		t.Helper()
		if _, err := ts.app.db.UpdateDevice(d.ID, func(dev *store.Device) error { dev.Room = room; return nil }); err != nil {
			t.Fatal(err)
		}
		ts.app.hub.Move(d.ID, room)
	}
	move("aurora")
	waitFor(t, "the free room it was moved to", func() bool {
		return js(`document.querySelector('#targets button[data-action="menu:book"]') && !document.querySelector('#targets button[data-action^="end:"]') ? "yes" : ""`) == "yes"
	})
	saveFrame("tablet-moved")
	move("borealis")
	waitFor(t, "the room it was moved back to", func() bool {
		return js(`document.querySelector('#targets button[data-action^="end:"]') ? "yes" : ""`) == "yes"
	})

	// Turned to portrait: the page asks for a frame of the new size.
	run(chromedp.EmulateViewport(800, 1280, chromedp.EmulatePortrait))
	waitFor(t, "a portrait frame", func() bool { return frameSize() == "800x1280" })
	waitFor(t, "the booked room in portrait", func() bool {
		return js(`document.querySelector('#targets button[data-action^="end:"]') ? "yes" : ""`) == "yes"
	})
	run(shot("tablet-portrait"))
	saveFrame("tablet-portrait")

	// Revoked: the browser forgets its credential and shows a new code.
	if status := ts.api("POST", "/api/v1/devices/"+d.ID+"/revoke", nil, nil); status != http.StatusOK && status != http.StatusNoContent {
		t.Fatalf("revoke: %d", status)
	}
	waitFor(t, "the revoked tablet forgets its credential", func() bool {
		return js(`localStorage.getItem('lintel-tablet-credential') === null ? "gone" : ""`) == "gone"
	})
	var again string
	waitFor(t, "the revoked tablet pairs again", func() bool {
		var pend []struct {
			Code string `json:"code"`
		}
		if ts.api("GET", "/api/v1/pairing", nil, &pend) == http.StatusOK && len(pend) == 1 && pend[0].Code != code {
			again = pend[0].Code
		}
		return again != ""
	})
	waitFor(t, "the pairing screen again", func() bool {
		return js(`document.querySelector('#targets button') ? "" : "none"`) == "none"
	})
	saveFrame("tablet-pairing-again")
	if status := ts.api("POST", "/api/v1/pairing/"+again+"/approve", map[string]string{"room": "borealis"}, nil); status != http.StatusCreated {
		t.Fatalf("approve the tablet again: %d", status)
	}
	waitFor(t, "the room again", func() bool {
		return js(`document.querySelector('#targets button[data-action^="end:"]') ? "yes" : ""`) == "yes"
	})

	// The server goes away: after the grace the page says so, over the
	// last frame, dimmed, and takes no taps.
	if got := js(`document.getElementById('offline').hidden ? "hidden" : "shown"`); got != "hidden" {
		t.Fatalf("offline banner while connected: %s", got)
	}
	ts.app.tablets.Close()
	waitFor(t, "the offline banner", func() bool {
		return js(`document.getElementById('offline').hidden ? "" : document.getElementById('offline').textContent`) != ""
	})
	// Since the server's time when last heard, as the panel tells time
	// (not the browser's clock).
	now := ts.now()
	got := js(`document.getElementById('offline').textContent`)
	if !strings.Contains(got, "Offline since "+i18n.Clock(now, time.UTC, true)) && !strings.Contains(got, "Offline since "+i18n.Clock(now.Add(-time.Minute), time.UTC, true)) ||
		!strings.Contains(got, "booking and reporting are unavailable") {
		t.Errorf("offline banner at %s: %q", now.Format(time.Kitchen), got)
	}
	if got := js(`document.getElementById('panel').className`); got != "offline" {
		t.Errorf("panel class while offline: %q", got)
	}
	run(shot("tablet-offline"))
}
