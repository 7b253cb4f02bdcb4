package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/store"
)

// TestPhoneRemote: a meeting booked at a panel reaches the room's panels
// with its phone page; on a phone (headless Chromium at 390 px) the page
// extends the meeting and ends it, and then says it is over. A link with
// its signature changed, or naming another room, opens nothing; a meeting
// booked elsewhere has no phone page.
func TestPhoneRemote(t *testing.T) {
	ctx := browser(t)
	ts := newTestServer(t)
	ts.addRoom(store.Room{ID: "pilatus", Name: "Pilatus", TimeZone: "UTC", Display: store.DisplayTitle,
		Booking: store.BookingSettings{Instant: true, ExtendEnd: true}})
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "UTC", Display: store.DisplayTitle})
	now := ts.minute()
	if code := ts.api("POST", "/api/v1/rooms/rigi/events", map[string]any{"subject": "Planning", "start": now.Add(-time.Minute), "end": now.Add(time.Hour)}, nil); code != http.StatusCreated {
		t.Fatalf("add event: %d", code)
	}
	p := dialRaw(t, ts.wsURL(), ts.addDevice("pilatus"))
	p.hello()
	p.next(isState)
	p.send(proto.Message{Type: proto.TypeRequest, ID: "walk-up", Request: ptr(bookReq(30))})
	res := p.next(func(m proto.Message) bool { return m.Type == proto.TypeResult && m.ID == "walk-up" }).Result
	if !res.OK || res.Meeting == nil {
		t.Fatalf("book at the panel: %+v", res)
	}
	booked := res.Meeting
	// The room's next state carries the phone page of the meeting.
	var url string
	p.next(func(m proto.Message) bool {
		if m.Type != proto.TypeState {
			return false
		}
		for _, mt := range m.State.Meetings {
			if mt.ID == booked.ID && mt.Booked {
				url = mt.Remote
			}
		}
		return url != ""
	})
	if !strings.HasPrefix(url, ts.http.URL+"/m/") {
		t.Fatalf("phone page %q, want one under %s/m/", url, ts.http.URL)
	}
	if st, _ := ts.app.sync.State("rigi"); len(st.Meetings) != 1 || st.Meetings[0].Remote != "" || st.Meetings[0].Booked {
		t.Errorf("a meeting not booked at a panel: %+v", st.Meetings)
	}

	// Links that open nothing.
	cap := strings.TrimPrefix(url, ts.http.URL+"/m/")
	enc, sig, _ := strings.Cut(cap, ".")
	flipped := sig[:len(sig)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(sig, "A")]
	for name, bad := range map[string]string{
		"a changed signature": enc + "." + flipped,
		"no signature":        enc,
		"garbage":             "%00%ff",
		"far too long":        strings.Repeat("A", 2000) + "." + sig,
	} {
		resp, err := http.Get(ts.http.URL + "/m/" + bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 404", name, resp.StatusCode)
		}
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `id="extend"`) || !strings.Contains(string(page), `id="end"`) {
		t.Fatalf("the page offers no extend and end:\n%s", page)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the page: %d, headers %v", resp.StatusCode, resp.Header)
	}

	// On a phone: extend, then end.
	run := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatal(err)
		}
	}
	run(viewport(390), chromedp.Navigate(url))
	run(chromedp.WaitVisible(`#extend`), shot("phone-remote"))
	if title := eval[string](t, ctx, `document.querySelector('.meeting').textContent`); !strings.Contains(title, "Booked at the panel") {
		t.Errorf("the page shows %q", title)
	}
	// notice waits for the page's notice after a tap (the POST's answer
	// is a new document).
	notice := func(what string) string {
		t.Helper()
		var text string
		waitFor(t, what, func() bool {
			v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('.notice') || {}).textContent || ""`))
			text = v
			return err == nil && v != ""
		})
		return text
	}
	run(chromedp.Click(`#extend`))
	if got := notice("the notice after extending"); !strings.Contains(nbsp(got), "Extended until") {
		t.Errorf("after extending: %q", got)
	}
	if times := eval[string](t, ctx, `document.querySelector('.times').textContent`); !strings.HasSuffix(nbsp(times), booked.End.Add(15*time.Minute).Format("3:04 PM")) {
		t.Errorf("the page shows %q after extending, want the new end", times)
	}
	evs, _ := ts.app.db.Events("pilatus")
	if len(evs) != 1 || !evs[0].End.Equal(booked.End.Add(15*time.Minute)) {
		t.Fatalf("after extending from the phone: %+v, want it to end at %v", evs, booked.End.Add(15*time.Minute))
	}
	run(chromedp.WaitVisible(`#end`), shot("phone-remote-extended"), chromedp.Click(`#end`))
	waitFor(t, "the page after ending", func() bool {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.querySelector('#end')`))
		return err == nil && v
	})
	run(shot("phone-remote-ended"))
	if got := notice("the notice after ending"); !strings.HasPrefix(got, "Meeting ended.") {
		t.Errorf("after ending: %q", got)
	}
	evs, _ = ts.app.db.Events("pilatus")
	if len(evs) != 1 || evs[0].End.After(ts.now().Add(time.Minute)) {
		t.Fatalf("after ending from the phone: %+v", evs)
	}
	// The free room's booking page, from its state: book it on the
	// phone, and land on the new meeting's page.
	ts.addRoom(store.Room{ID: "titlis", Name: "Titlis", TimeZone: "UTC", Display: store.DisplayTitle, Booking: store.BookingSettings{Instant: true, ExtendEnd: true}})
	if err := ts.app.sync.Refresh(t.Context(), "titlis"); err != nil {
		t.Fatal(err)
	}
	st, _ := ts.app.sync.State("titlis")
	if !strings.HasPrefix(st.Room.Book, ts.http.URL+"/m/b.") {
		t.Fatalf("the free room's booking page %q", st.Room.Book)
	}
	if st, _ := ts.app.sync.State("rigi"); st.Room.Book != "" {
		t.Errorf("a room without booking at the panel has a booking page: %q", st.Room.Book)
	}
	run(chromedp.Navigate(st.Room.Book), chromedp.WaitVisible(`#book-1`), shot("phone-book"))
	run(chromedp.Click(`#book-1`))
	waitFor(t, "the new meeting's page", func() bool {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('#end')`))
		return err == nil && v
	})
	evs, _ = ts.app.db.Events("titlis")
	if len(evs) != 1 || !strings.HasPrefix(evs[0].TransactionID, "lintel-") {
		t.Fatalf("booked from the phone: %+v", evs)
	}
	if title := eval[string](t, ctx, `document.querySelector('.meeting').textContent`); !strings.Contains(title, "Booked at the panel") {
		t.Errorf("the new meeting's page shows %q", title)
	}

	// What the phone did is in the activity log, as the phone's.
	outcomes, _ := ts.app.db.Outcomes(0)
	phone := 0
	for _, o := range outcomes {
		if o.Device == "phone" {
			phone++
		}
	}
	if phone != 3 {
		t.Errorf("%d requests from the phone in the activity log, want 3", phone)
	}
}

// nbsp reads no-break spaces (in "10:15\u00a0AM") as spaces.
func nbsp(s string) string { return strings.ReplaceAll(s, "\u00a0", " ") }
