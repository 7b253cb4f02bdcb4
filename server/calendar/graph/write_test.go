package graph

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
)

func booking(teams bool) calendar.Booking {
	return calendar.Booking{Subject: "Walk-up", Start: at(9, 0), End: at(9, 30), Teams: teams, TransactionID: "lintel-7f3a"}
}

// live returns the room's events that are neither declined nor deleted.
func (e *env) live(room string) []graphtest.Event {
	var out []graphtest.Event
	for _, ev := range e.srv.Events(room) {
		if !ev.Declined && !ev.Deleted {
			out = append(out, ev)
		}
	}
	return out
}

func TestBookIsIdempotent(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	room := e.room("aurora")
	// The first POST fails with 503 and the transport retries it; then the
	// caller retries the whole booking, as after a dropped connection.
	e.srv.Inject(graphtest.Fault{Mailbox: room, Status: 503})
	first, err := e.p.Book(context.Background(), room, booking(false))
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.p.Book(context.Background(), room, booking(false))
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == "" || again.ID != first.ID {
		t.Errorf("retry returned event %q, first %q", again.ID, first.ID)
	}
	evs := e.live(room)
	if len(evs) != 1 || evs[0].TransactionID != "lintel-7f3a" || evs[0].Subject != "Walk-up" {
		t.Fatalf("room holds %+v, want one event with the transaction ID", evs)
	}
	if !first.Start.Equal(at(9, 0)) || !first.End.Equal(at(9, 30)) || first.Online {
		t.Errorf("booked %+v", first)
	}

	// Reusing the ID for something else is a conflict, not a silent success.
	other := booking(false)
	other.End = at(10, 0)
	if _, err := e.p.Book(context.Background(), room, other); !errors.Is(err, calendar.ErrConflict) {
		t.Errorf("reused transaction ID: err = %v, want ErrConflict", err)
	}
	if _, err := e.p.Book(context.Background(), room, calendar.Booking{Subject: "x", Start: at(9, 0), End: at(10, 0)}); err == nil {
		t.Error("a booking without transaction ID was accepted")
	}
}

func TestBookTeams(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	room := e.room("aurora")
	ev, err := e.p.Book(context.Background(), room, booking(true))
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Online || !strings.HasPrefix(ev.JoinURL, "https://teams.microsoft.com/l/meetup-join/") {
		t.Errorf("booked %+v, want a Teams join URL", ev)
	}
}

func TestBookTeamsNotAllowed(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	room := "skype-only@" + graphtest.DefaultTenantDomain
	e.srv.AddMailbox(graphtest.Mailbox{Address: room, Room: true, OnlineMeetingProviders: []string{}})
	_, err := e.p.Book(context.Background(), room, booking(true))
	if !errors.Is(err, calendar.ErrNoOnlineMeeting) || !strings.Contains(err.Error(), "does not allow Teams") {
		t.Errorf("err = %v, want ErrNoOnlineMeeting from the provider check", err)
	}
	if n := len(e.live(room)); n != 0 {
		t.Errorf("%d events created although Teams is not allowed", n)
	}
}

// Graph answers 201 without a join URL: the room is booked, and Book says
// that no Teams meeting was created rather than pretending.
func TestBookTeamsWithoutJoinURL(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	room := "unlicensed@" + graphtest.DefaultTenantDomain
	e.srv.AddMailbox(graphtest.Mailbox{Address: room, Room: true, NoJoinURL: true})
	ev, err := e.p.Book(context.Background(), room, booking(true))
	if !errors.Is(err, calendar.ErrNoOnlineMeeting) {
		t.Fatalf("err = %v, want ErrNoOnlineMeeting", err)
	}
	if !strings.Contains(err.Error(), "no Teams meeting was created") {
		t.Errorf("err %q does not say no Teams meeting was created", err)
	}
	if ev.ID == "" || ev.JoinURL != "" || len(e.live(room)) != 1 {
		t.Errorf("event %+v: want the booked event, without join URL", ev)
	}
}

func TestSetEnd(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	room := e.room("aurora")
	ev, err := e.p.Book(context.Background(), room, booking(false))
	if err != nil {
		t.Fatal(err)
	}
	for _, end := range []time.Time{at(10, 0), at(9, 10)} { // extend, then end early
		got, err := e.p.SetEnd(context.Background(), room, ev.ID, end)
		if err != nil {
			t.Fatal(err)
		}
		if !got.End.Equal(end) || !got.Start.Equal(at(9, 0)) || got.ID != ev.ID {
			t.Errorf("SetEnd(%s) = %+v", end.Format("15:04"), got)
		}
		if stored := e.live(room)[0]; !stored.End.Equal(end) {
			t.Errorf("the calendar holds end %s, want %s", stored.End, end)
		}
	}
	if _, err := e.p.SetEnd(context.Background(), room, ev.ID, at(8, 0)); err == nil {
		t.Error("an end before the start was accepted")
	}
	if _, err := e.p.SetEnd(context.Background(), room, "AAMk-no-such-event", at(10, 0)); !errors.Is(err, calendar.ErrNotFound) {
		t.Errorf("unknown event: err = %v, want ErrNotFound", err)
	}
}

func TestReleaseDeclinesWithComment(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	room := e.room("aurora")
	id := e.srv.AddEvent(room, meeting("Design review", at(9, 0), at(10, 0)))
	const comment = "Released by the room panel: nobody checked in within 10 minutes."
	if err := e.p.Release(context.Background(), room, id, comment); err != nil {
		t.Fatal(err)
	}
	ev := e.srv.Events(room)[0]
	if !ev.Declined || ev.DeclineComment != comment {
		t.Errorf("event %+v: want declined with the comment", ev)
	}
	got, err := e.p.Events(context.Background(), []string{room}, day, day.Add(24*time.Hour))
	if err != nil || len(got[room].Events) != 0 {
		t.Errorf("after release the room still shows %+v (%v)", got[room].Events, err)
	}
}

func TestReleaseOwnBookingDeletes(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	room := e.room("aurora")
	ev, err := e.p.Book(context.Background(), room, booking(false))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.p.Release(context.Background(), room, ev.ID, "nobody came"); err != nil {
		t.Fatal(err)
	}
	if got := e.srv.Events(room)[0]; !got.Deleted {
		t.Errorf("own booking %+v not deleted", got)
	}
}

func TestWritesNeedReadWrite(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	e.srv.AddApp(graphtest.App{ClientID: testClientID, Secret: testSecret, Roles: []string{"Calendars.Read"}})
	room := e.room("aurora")
	_, err := e.p.Book(context.Background(), room, booking(false))
	var ce *calendar.Error
	if !errors.As(err, &ce) || ce.Kind != calendar.ErrDenied || !strings.Contains(ce.Fix, "Calendars.ReadWrite") {
		t.Errorf("err = %v (%+v), want ErrDenied with the permission fix", err, ce)
	}
}
