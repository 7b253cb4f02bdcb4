package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lintelhq/lintel/server/store"
)

// TestFloorBoard: a browser opens the floor board, shows a pairing code
// like a panel, is approved with a room of the floor, and then shows
// every room of that building's floor with its status (not the other
// floor's), follows a change, and goes back to pairing when revoked.
func TestFloorBoard(t *testing.T) {
	ctx := browser(t)
	ts := newTestServerWith(t, func(c *config) { c.BoardRefresh = time.Second })
	for _, r := range []store.Room{
		{ID: "aurora", Name: "Aurora", Building: "HQ", Floor: "4", Capacity: 6},
		{ID: "borealis", Name: "Borealis", Building: "HQ", Floor: "4", Capacity: 8},
		{ID: "cirrus", Name: "Cirrus", Building: "HQ", Floor: "2"},
	} {
		r.TimeZone, r.Display = "UTC", store.DisplayTitle
		ts.addRoom(r)
	}
	now := ts.minute()
	if code := ts.api("POST", "/api/v1/rooms/aurora/events", map[string]any{"subject": "Board meeting", "start": now.Add(-time.Minute), "end": now.Add(time.Hour)}, nil); code != http.StatusCreated {
		t.Fatalf("add event: %d", code)
	}
	if err := ts.app.sync.SyncAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	run := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatal(err)
		}
	}
	text := func(js string) string {
		v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		return v
	}
	run(viewport(1280), chromedp.Navigate(ts.http.URL+"/board"))
	var code string
	waitFor(t, "the board's pairing code", func() bool {
		code = text(`(document.querySelector('#code') || {}).textContent || ""`)
		return len(code) == 9 && strings.Contains(code, "-")
	})
	var d struct{ ID string }
	if status := ts.api("POST", "/api/v1/pairing/"+code+"/approve", map[string]string{"room": "borealis", "name": "Lobby, 4th floor"}, &d); status != http.StatusCreated {
		t.Fatalf("approve the board: %d", status)
	}
	waitFor(t, "the floor on the board", func() bool {
		return text(`(document.querySelector('#room-aurora') || {}).className || ""`) == "room busy"
	})
	run(shot("floor-board"))
	if got := text(`document.querySelector('#room-aurora').textContent`); !strings.Contains(got, "Busy until") || !strings.Contains(got, "Board meeting") || !strings.Contains(got, "6 seats") {
		t.Errorf("aurora on the board: %q", got)
	}
	if got := text(`document.querySelector('#room-borealis').className`); got != "room free" {
		t.Errorf("borealis: %q", got)
	}
	if got := text(`document.querySelector('h1').textContent`); got != "HQ · Floor 4" {
		t.Errorf("heading %q", got)
	}
	if got := text(`document.querySelector('#room-cirrus') ? 'shown' : ''`); got != "" {
		t.Error("a room of another floor is on the board")
	}
	// A booking: the board follows.
	if code := ts.api("POST", "/api/v1/rooms/borealis/events", map[string]any{"subject": "Standup", "start": now.Add(-time.Minute), "end": now.Add(15 * time.Minute)}, nil); code != http.StatusCreated {
		t.Fatalf("add event: %d", code)
	}
	ts.app.sync.Refresh(context.Background(), "borealis")
	waitFor(t, "the board follows a change", func() bool {
		return text(`(document.querySelector('#room-borealis') || {}).className || ""`) == "room busy"
	})
	// Revoked: the board pairs again.
	if status := ts.api("POST", "/api/v1/devices/"+d.ID+"/revoke", nil, nil); status != http.StatusOK && status != http.StatusNoContent {
		t.Fatalf("revoke: %d", status)
	}
	waitFor(t, "the revoked board pairs again", func() bool {
		return len(text(`(document.querySelector('#code') || {}).textContent || ""`)) == 9
	})
	if got := text(`localStorage.getItem('lintel-board-credential') || ""`); got != "" {
		t.Error("the revoked credential stayed in the browser")
	}
	// Without its credential the floor is closed.
	resp, err := http.Get(ts.http.URL + "/board/floor")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the floor without a credential: %d", resp.StatusCode)
	}
}
