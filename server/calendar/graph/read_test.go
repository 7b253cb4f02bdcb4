package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
)

func TestEventsMapsFields(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	room := e.room("aurora")
	e.srv.AddEvent(room, meeting("Design review", at(9, 0), at(10, 0)))
	e.srv.AddEvent(room, graphtest.Event{Subject: "Salary review", Organizer: "Grace Hopper", OrganizerAddress: "grace@x",
		Start: at(10, 0), End: at(10, 30), Sensitivity: "private"})
	e.srv.AddEvent(room, graphtest.Event{Subject: "Board", Organizer: "Grace Hopper", Start: at(11, 0), End: at(12, 0), Sensitivity: "confidential"})
	e.srv.AddEvent(room, graphtest.Event{Subject: "Teams sync", Organizer: "Alan Turing", Start: at(13, 0), End: at(14, 0), Online: true})
	e.srv.AddEvent(room, graphtest.Event{Subject: "Cancelled: x", Organizer: "Alan Turing", Start: at(14, 0), End: at(15, 0), Cancelled: true})
	e.srv.AddEvent(room, graphtest.Event{Subject: "Tentative hold", Organizer: "Alan Turing", Start: at(15, 0), End: at(16, 0), ShowAs: "free"})
	e.srv.AddEvent(room, graphtest.Event{Subject: "Carpet cleaning", Organizer: "Facilities", Start: day, End: day.AddDate(0, 0, 1), AllDay: true})

	got, err := e.p.Events(context.Background(), []string{room}, day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	re := got[room]
	if re.Err != nil {
		t.Fatal(re.Err)
	}
	var lines []string
	for _, ev := range re.Events {
		if ev.ID == "" {
			t.Errorf("%q has no ID", ev.Subject)
		}
		lines = append(lines, fmt.Sprintf("%s-%s %s|%s <%s> private=%v allday=%v online=%v join=%v",
			ev.Start.Format("15:04"), ev.End.Format("15:04"), ev.Subject, ev.Organizer, ev.OrganizerAddress, ev.Private, ev.AllDay, ev.Online, ev.JoinURL != ""))
		if ev.Start.Location() != time.UTC || ev.End.Location() != time.UTC {
			t.Errorf("%q: times not in UTC", ev.Subject)
		}
	}
	want := []string{
		"00:00-00:00 Carpet cleaning|Facilities <> private=false allday=true online=false join=false",
		"09:00-10:00 Design review|Ada Lovelace <ada@" + graphtest.DefaultTenantDomain + "> private=false allday=false online=false join=false",
		"10:00-10:30 Salary review|Grace Hopper <grace@x> private=true allday=false online=false join=false",
		"11:00-12:00 Board|Grace Hopper <> private=true allday=false online=false join=false",
		"13:00-14:00 Teams sync|Alan Turing <> private=false allday=false online=true join=true",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestEventsRequestShape(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	room := e.room("aurora")
	e.srv.AddEvent(room, meeting("Design review", at(9, 0), at(10, 0)))
	if _, err := e.p.Events(context.Background(), []string{room}, day, day.Add(36*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var view *graphtest.Request
	for _, r := range e.srv.Requests() {
		if strings.HasSuffix(r.Path, "/calendarView") {
			view = &r
		}
	}
	if view == nil {
		t.Fatal("no calendarView request")
	}
	if !view.InBatch {
		t.Error("calendarView was not sent in a $batch")
	}
	if got := view.Query.Get("$top"); got != "50" {
		t.Errorf("$top = %q, want 50", got)
	}
	if got := view.Query.Get("$select"); got != strings.Join(viewFields, ",") {
		t.Errorf("$select = %q", got)
	}
	if got := view.Query.Get("startDateTime"); got != "2026-03-10T00:00:00Z" {
		t.Errorf("startDateTime = %q", got)
	}
	if got := view.Query.Get("endDateTime"); got != "2026-03-11T12:00:00Z" {
		t.Errorf("endDateTime = %q", got)
	}
	for _, want := range []string{`outlook.timezone="UTC"`, `IdType="ImmutableId"`} {
		if !strings.Contains(view.Prefer, want) {
			t.Errorf("Prefer %q lacks %s", view.Prefer, want)
		}
	}
}

// Graph's default page is 10 events and occurrences of series come after
// single events: a client must page with nextLink to the end and sort.
func TestEventsPagingPastOnePage(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	room := e.room("aurora")
	for i := range 120 {
		start := day.Add(time.Duration(i) * 10 * time.Minute)
		ev := meeting(fmt.Sprintf("m%03d", i), start, start.Add(10*time.Minute))
		ev.Recurring = i%3 == 0
		e.srv.AddEvent(room, ev)
	}
	got, err := e.p.Events(context.Background(), []string{room}, day, day.Add(36*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	evs := got[room].Events
	if got[room].Err != nil || len(evs) != 120 {
		t.Fatalf("got %d events, err %v; want 120", len(evs), got[room].Err)
	}
	for i, ev := range evs {
		if want := fmt.Sprintf("m%03d", i); ev.Subject != want {
			t.Fatalf("event %d is %s, want %s (not sorted by start?)", i, ev.Subject, want)
		}
	}
	pages := 0
	for _, r := range e.srv.Requests() {
		if strings.HasSuffix(r.Path, "/calendarView") {
			pages++
			if !strings.Contains(r.Prefer, `outlook.timezone="UTC"`) {
				t.Errorf("page %d lacks the Prefer header", pages)
			}
		}
	}
	if pages != 3 {
		t.Errorf("%d pages requested, want 3 (120 events at $top=50)", pages)
	}
}

func TestEventsBatchWithOneRoomDenied(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	var rooms []string
	for i := range 25 {
		r := e.room(fmt.Sprintf("room%02d", i))
		e.srv.AddEvent(r, meeting("Standup", at(9, 0), at(9, 15)))
		rooms = append(rooms, r)
	}
	denied := rooms[7]
	e.srv.Deny(denied)

	got, err := e.p.Events(context.Background(), rooms, day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rooms) {
		t.Fatalf("%d answers for %d rooms", len(got), len(rooms))
	}
	for _, r := range rooms {
		re := got[r]
		if r == denied {
			if !errors.Is(re.Err, calendar.ErrDenied) {
				t.Fatalf("denied room: err = %v, want ErrDenied", re.Err)
			}
			var ce *calendar.Error
			if !errors.As(re.Err, &ce) || ce.Room != denied || !strings.Contains(ce.Fix, "Test-ApplicationAccessPolicy") {
				t.Errorf("denied room: error %+v lacks the room or the fix", ce)
			}
			if !strings.HasPrefix(re.Err.Error(), "graph: ") {
				t.Errorf("error %q lacks the package prefix", re.Err)
			}
			continue
		}
		if re.Err != nil || len(re.Events) != 1 {
			t.Errorf("%s: %d events, err %v", r, len(re.Events), re.Err)
		}
	}
	st := e.srv.Stats()
	if st.Requests != 2 || st.BatchItems != 25 {
		t.Errorf("stats %+v: want 2 $batch requests carrying 25 items", st)
	}
}

func TestEventsTimeZones(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	room := e.room("tokyo")
	// The emulator stores the instant; without the Prefer header it would
	// answer in the mailbox's own Windows zone.
	e.srv.AddMailbox(graphtest.Mailbox{Address: room, Name: "Tokyo", Room: true, TimeZone: "Tokyo Standard Time"})
	berlin, _ := time.LoadLocation("Europe/Berlin")
	start := time.Date(2026, 3, 29, 1, 30, 0, 0, berlin) // the night the clocks change
	e.srv.AddEvent(room, meeting("Night shift", start, start.Add(2*time.Hour)))

	got, err := e.p.Events(context.Background(), []string{room}, start.Add(-time.Hour), start.Add(time.Hour))
	if err != nil || got[room].Err != nil {
		t.Fatal(err, got[room].Err)
	}
	ev := got[room].Events[0]
	if !ev.Start.Equal(start) || !ev.End.Equal(start.Add(2*time.Hour)) {
		t.Errorf("got %s-%s, want %s-%s", ev.Start, ev.End, start.UTC(), start.Add(2*time.Hour).UTC())
	}
}

func TestGraphTimeRejectsWindowsZone(t *testing.T) {
	// What the client would get if the Prefer header were lost: it must
	// fail loudly, not shift every meeting by hours.
	_, err := graphTime(dtz("2026-03-10T09:00:00.0000000", "Pacific Standard Time"))
	if err == nil {
		t.Fatal("a Windows zone name was accepted")
	}
	got, err := graphTime(dtz("2026-03-10T09:00:00.0000000", "America/New_York"))
	if err != nil || !got.Equal(time.Date(2026, 3, 10, 13, 0, 0, 0, time.UTC)) {
		t.Errorf("IANA zone: got %v, %v", got, err)
	}
}

func TestEventsUnknownAndOnPremisesMailbox(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	onprem := "legacy@" + graphtest.DefaultTenantDomain
	e.srv.AddMailbox(graphtest.Mailbox{Address: onprem, OnPremises: true})
	missing := "typo@" + graphtest.DefaultTenantDomain
	got, err := e.p.Events(context.Background(), []string{missing, onprem}, day, day.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{missing, onprem} {
		if !errors.Is(got[r].Err, calendar.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", r, got[r].Err)
		}
	}
	if !strings.Contains(got[onprem].Err.Error(), "on-premises") {
		t.Errorf("on-premises error %q does not say so", got[onprem].Err)
	}
}

func dtz(dt, tz string) models.DateTimeTimeZoneable {
	d := models.NewDateTimeTimeZone()
	d.SetDateTime(&dt)
	d.SetTimeZone(&tz)
	return d
}

// An occurrence of a recurring meeting carries its series (seriesMasterId),
// which tells the occurrences of one series apart for recurring no-shows;
// a single meeting has none.
func TestEventsCarryTheirSeries(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	room := e.room("aurora")
	e.srv.AddEvent(room, graphtest.Event{Subject: "Standup", Organizer: "Ada Lovelace", Start: at(9, 0), End: at(9, 15), Recurring: true, SeriesMasterID: "AAMkADseries1"})
	e.srv.AddEvent(room, meeting("Design review", at(10, 0), at(11, 0)))
	got, err := e.p.Events(context.Background(), []string{room}, day, day.Add(24*time.Hour))
	if err != nil || got[room].Err != nil {
		t.Fatal(err, got[room].Err)
	}
	series := map[string]string{}
	for _, ev := range got[room].Events {
		series[ev.Subject] = ev.SeriesID
	}
	if series["Standup"] != "AAMkADseries1" || series["Design review"] != "" {
		t.Errorf("series %q", series)
	}
}
