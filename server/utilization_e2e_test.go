package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/store"
)

// TestUtilizationFromWhatTheServerRecorded runs a known sequence through
// the real server on the moved test clock: a daily 30-minute standup
// checked in to on the first day and released for a no-show on the next
// three, a walk-up booking at the panel, and a private meeting released
// too. The figures of the API, the CSV export and the page follow from
// it; the third no-show in a row alerts by e-mail; no private subject
// appears anywhere.
func TestUtilizationFromWhatTheServerRecorded(t *testing.T) {
	rig := newAlertRig(t)
	ts := rig.ts
	rig.configure(t)
	rig.tellOrganizers(t)
	ctx := context.Background()
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich",
		Booking: store.BookingSettings{Instant: true, CheckIn: true, AutoRelease: true, CheckInAfter: 10}})
	t0 := rig.clock.now().UTC().Truncate(time.Hour).Add(time.Hour)
	day := 24 * time.Hour
	add := func(subject string, start time.Time, length time.Duration, private bool) string {
		t.Helper()
		var ev store.Event
		in := map[string]any{"subject": subject, "organizer": "Anna Muster", "organizer_address": "anna.muster@contoso.test",
			"start": start, "end": start.Add(length), "private": private}
		if code := ts.api("POST", "/api/v1/rooms/rigi/events", in, &ev); code != http.StatusCreated {
			t.Fatalf("add %s: %d", subject, code)
		}
		return ev.ID
	}
	var standups []string
	for d := range 5 { // the fifth is next week's: the organizer's address is read from it
		standups = append(standups, add("Standup", t0.Add(time.Duration(d)*day), 30*time.Minute, false))
	}
	add("Layoffs", t0.Add(2*day+3*time.Hour), time.Hour, true)
	at := func(when time.Time) {
		t.Helper()
		rig.clock.advance(when.Sub(rig.clock.now()))
		if err := ts.app.sync.SyncAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	release := func() {
		t.Helper()
		if err := ts.app.booking.ReleaseNoShows(ctx); err != nil {
			t.Fatal(err)
		}
		ts.app.sync.SyncAll(ctx)
	}
	// Day 0: someone checks in at the door.
	at(t0.Add(time.Minute))
	if res := ts.app.booking.Request(ctx, "pnl-1", "rigi", "c-0", proto.Request{Action: proto.ActionCheckIn, MeetingID: standups[0]}); !res.OK {
		t.Fatalf("check-in: %+v", res.Error)
	}
	at(t0.Add(12 * time.Minute))
	release()
	// Days 1 to 3: nobody comes; the room is given back after 10 minutes
	// (the pass runs at 12). Day 1 also has a walk-up booking; day 2 the
	// private meeting nobody came to.
	var walkUp proto.Meeting
	for d := 1; d <= 3; d++ {
		start := t0.Add(time.Duration(d) * day)
		at(start.Add(time.Minute))
		at(start.Add(12 * time.Minute))
		release()
		switch d {
		case 1:
			at(start.Add(2 * time.Hour))
			res := ts.app.booking.Request(ctx, "pnl-1", "rigi", "b-1", proto.Request{Action: proto.ActionBook, Minutes: 30})
			if !res.OK || res.Meeting == nil {
				t.Fatalf("walk-up booking: %+v", res.Error)
			}
			walkUp = *res.Meeting
			at(start.Add(2*time.Hour + 5*time.Minute))
		case 2:
			at(start.Add(3*time.Hour + time.Minute))
			at(start.Add(3*time.Hour + 12*time.Minute))
			release()
		}
	}
	if walkUp.End.Sub(walkUp.Start) != 30*time.Minute {
		t.Fatalf("walk-up %s to %s: the test expects 30 minutes", walkUp.Start, walkUp.End)
	}

	// The API: 4 standups, the walk-up and the private meeting.
	var got struct {
		From, To string
		Days     int
		Rooms    []map[string]any
		Total    map[string]any
		ByHour   []float64        `json:"held_hours_by_hour"`
		Peak     *int             `json:"peak_hour"`
		Series   []map[string]any `json:"recurring_no_shows"`
	}
	if code := ts.api("GET", "/api/v1/utilization", nil, &got); code != http.StatusOK {
		t.Fatalf("GET /api/v1/utilization: %d", code)
	}
	want := map[string]any{"meetings": 6.0, "booked_hours": 3.5, "checked_in_hours": 1.0, "walk_ups": 1.0, "no_shows": 4.0, "releases": 4.0,
		"released_hours": 1.7} // 3 x 18 min of the standups and 48 of the hour
	if len(got.Rooms) != 1 || got.Days != 30 {
		t.Fatalf("%d rooms over %d days: %+v", len(got.Rooms), got.Days, got)
	}
	for k, v := range want {
		if got.Rooms[0][k] != v || got.Total[k] != v {
			t.Errorf("%s: room %v, total %v, want %v", k, got.Rooms[0][k], got.Total[k], v)
		}
	}
	zurich, _ := time.LoadLocation("Europe/Zurich")
	standupHour := t0.In(zurich).Hour()
	if got.Peak == nil || *got.Peak != standupHour {
		t.Errorf("peak hour %v, want the standup's %d (held by hour %v)", got.Peak, standupHour, got.ByHour)
	}
	if len(got.Series) != 1 || got.Series[0]["title"] != "Standup" || got.Series[0]["no_shows_in_a_row"] != 3.0 || got.Series[0]["time_of_day"] != t0.In(zurich).Format("15:04") {
		t.Errorf("recurring no-shows %+v, want the standup, 3 in a row", got.Series)
	}

	// The CSV export: the same figures.
	req, _ := http.NewRequest("GET", ts.http.URL+"/api/v1/utilization.csv?from="+got.From+"&to="+got.To, nil)
	req.Header.Set("Authorization", "Bearer "+ts.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("CSV: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	lines, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantCSV := [][]string{
		{"room", "name", "from", "to", "meetings", "booked_hours", "checked_in_hours", "walk_ups", "no_shows", "releases", "released_hours"},
		{"rigi", "Rigi", got.From, got.To, "6", "3.50", "1.00", "1", "4", "4", "1.70"},
		{"", "All rooms", got.From, got.To, "6", "3.50", "1.00", "1", "4", "4", "1.70"},
	}
	if fmt.Sprint(lines) != fmt.Sprint(wantCSV) {
		t.Errorf("CSV\n%q\nwant\n%q", lines, wantCSV)
	}

	// Periods outside what is kept, or backwards, are refused.
	for _, q := range []string{"from=2020-01-01", "from=" + got.To + "&to=" + got.From, "to=2999-01-01", "from=yesterday"} {
		if code := ts.api("GET", "/api/v1/utilization?"+q, nil, nil); code != http.StatusBadRequest {
			t.Errorf("?%s: %d, want 400", q, code)
		}
	}

	// The page: figures, the charts drawn on the server, the series.
	c, _ := adminSession(t, ts)
	page := getPage(t, c, ts.http.URL+"/utilization")
	for _, w := range []string{`<svg viewBox="0 0 480 160"`, `class="u-bar u-peak"`, "Standup", "3 no-shows in a row", `<td data-label="Booked"><span>3.5 h</span></td>`, "/api/v1/utilization.csv?from="} {
		if !strings.Contains(page, w) {
			t.Errorf("the utilization page lacks %q", w)
		}
	}
	if strings.Contains(page, "<script") {
		t.Error("the utilization page has a script")
	}

	// The third no-show in a row alerted once, by e-mail, and its
	// organizer got a note of their own.
	rig.check(t)
	rig.check(t)
	wantSubject := "[Lintel] Alert: Nobody came to “Standup” by Anna Muster at " + t0.In(zurich).Format("15:04") + " in Rigi 3 times in a row"
	wantNote := "[Lintel] Is your meeting “Standup” at " + t0.In(zurich).Format("15:04") + " in Rigi still needed?"
	subjects := rig.subjects()
	slices.Sort(subjects)
	if len(subjects) != 2 || subjects[0] != wantSubject || subjects[1] != wantNote {
		t.Errorf("mails %q, want [%s] and [%s]", subjects, wantSubject, wantNote)
	}
	for _, m := range rig.smtp.Mails() {
		subject, body := parseMail(m.Data)
		switch subject {
		case wantSubject:
			if fmt.Sprint(m.To) != "[facilities@contoso.test]" {
				t.Errorf("the alert went to %v", m.To)
			}
		case wantNote:
			if fmt.Sprint(m.To) != "[anna.muster@contoso.test]" || !strings.Contains(m.Data, "Reply-To: <facilities@contoso.test>") {
				t.Errorf("the organizer's note went to %v:\n%s", m.To, m.Data)
			}
			for _, w := range []string{"at its last 3 occurrences", "3 times the room was given back", "please cancel it"} {
				if !strings.Contains(body, w) {
					t.Errorf("the organizer's note lacks %q:\n%s", w, body)
				}
			}
		}
	}
	// The organizer's address went to the organizer only: not to a
	// webhook, not into the alerts the API shows.
	var alerts json.RawMessage
	ts.api("GET", "/api/v1/alerts", nil, &alerts)
	for what, text := range map[string]string{"the JSON webhook": fmt.Sprint(rig.hooks.bodies("/ops/s3cr3t")), "the alerts API": string(alerts)} {
		if !strings.Contains(text, "Standup") {
			t.Errorf("%s does not show the alert: %s", what, text)
		}
		if strings.Contains(text, "anna.muster@contoso.test") {
			t.Errorf("%s shows the organizer's address: %s", what, text)
		}
	}
	for what, text := range map[string]string{"API": fmt.Sprint(got), "CSV": string(body), "page": page, "mail": strings.Join(subjects, " ")} {
		if strings.Contains(text, "Layoffs") {
			t.Errorf("the %s shows a private meeting's subject", what)
		}
	}
}
