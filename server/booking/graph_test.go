package booking_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/proto/clock"
	"github.com/lintelhq/lintel/server/booking"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/graph"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
	"github.com/lintelhq/lintel/server/store"
)

type nopRefresher struct{}

func (nopRefresher) Refresh(context.Context, string) error { return nil }

// graphFixture is the booking service on the real Microsoft 365 connector
// against the Graph emulator.
func graphFixture(t *testing.T) (*booking.Service, *graphtest.Server, string, *time.Time) {
	t.Helper()
	return graphFixtureWith(t, nil)
}

// graphFixtureWith is graphFixture with the provider wrapped by wrap.
func graphFixtureWith(t *testing.T, wrap func(calendar.Provider) calendar.Provider) (*booking.Service, *graphtest.Server, string, *time.Time) {
	t.Helper()
	srv := graphtest.NewServer(graphtest.Options{})
	t.Cleanup(srv.Close)
	now := clock.TestStart(os.Getenv).UTC().Truncate(time.Minute)
	demo := srv.SeedDemo(now, time.UTC)
	room := demo.Rooms[0]
	srv.ClearEvents(room)
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte(demo.Secret), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := graph.New(context.Background(), graph.Config{
		TenantID: demo.TenantID, ClientID: demo.ClientID, ClientSecretFile: secret,
		Cloud: graph.CloudCustom, AuthorityHost: srv.AuthorityHost, GraphBaseURL: srv.GraphURL,
		HTTPClient: srv.Client(), Logger: slog.New(slog.NewTextHandler(t.Output(), nil)), RetryBase: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "lintel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.PutRoom(store.Room{ID: "r1", Name: "R1", Calendar: room, TimeZone: "UTC", Display: store.DisplayTitle,
		Booking: store.BookingSettings{Instant: true, Teams: true, ExtendEnd: true, CheckIn: true, AutoRelease: true}})
	var prov calendar.Provider = p
	if wrap != nil {
		prov = wrap(p)
	}
	s := booking.New(booking.Opts{Provider: prov, Store: db, Sync: nopRefresher{}, Now: func() time.Time { return now }})
	t.Cleanup(s.Close)
	return s, srv, room, &now
}

func live(evs []graphtest.Event) []graphtest.Event {
	var out []graphtest.Event
	for _, e := range evs {
		if !e.Declined && !e.Deleted && !e.Cancelled {
			out = append(out, e)
		}
	}
	return out
}

func TestGraphBookWithAndWithoutTeams(t *testing.T) {
	s, srv, room, now := graphFixture(t)
	ctx := context.Background()
	res := s.Request(ctx, "d1", "r1", "1", proto.Request{Action: proto.ActionBook, Minutes: 15, Teams: true})
	if !res.OK || res.JoinURL == "" {
		t.Fatalf("book with Teams: %+v %v", res, res.Error)
	}
	*now = res.Meeting.End // a booking's end is rounded up: it may last up to 29 minutes
	res = s.Request(ctx, "d1", "r1", "2", proto.Request{Action: proto.ActionBook, Minutes: 15})
	if !res.OK || res.JoinURL != "" {
		t.Fatalf("book without Teams: %+v %v", res, res.Error)
	}
	evs := live(srv.Events(room))
	if len(evs) != 2 || !evs[0].Online || evs[1].Online {
		t.Errorf("room calendar: %+v", evs)
	}
}

func TestGraphRaceAndRetry(t *testing.T) {
	s, srv, room, _ := graphFixture(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make([]proto.Result, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.Request(ctx, fmt.Sprintf("d%d", i), "r1", "x", proto.Request{Action: proto.ActionBook, Minutes: 30})
		}()
	}
	wg.Wait()
	wins := 0
	for _, r := range results {
		if r.OK {
			wins++
		} else if r.Error.Code != proto.CodeConflict {
			t.Errorf("loser: %+v", r.Error)
		}
	}
	// A retry of the winner's request (same device, same id) after a
	// dropped connection returns the first answer and books nothing.
	for i, r := range results {
		if r.OK {
			again := s.Request(ctx, fmt.Sprintf("d%d", i), "r1", "x", proto.Request{Action: proto.ActionBook, Minutes: 30})
			if !again.OK || again.Meeting.ID != r.Meeting.ID {
				t.Errorf("retry: %+v", again)
			}
		}
	}
	if n := len(live(srv.Events(room))); wins != 1 || n != 1 {
		t.Errorf("%d wins, %d events; want 1 and 1", wins, n)
	}
}

func TestGraphExtendEndAndRelease(t *testing.T) {
	s, srv, room, now := graphFixture(t)
	ctx := context.Background()
	id := srv.AddEvent(room, graphtest.Event{Subject: "Planning", Organizer: "Ada", OrganizerAddress: "ada@contoso.onmicrosoft.com", Start: now.Add(-10 * time.Minute), End: now.Add(20 * time.Minute)})
	if r := s.Request(ctx, "d", "r1", "1", proto.Request{Action: proto.ActionExtend, MeetingID: id, Minutes: 15}); !r.OK || !r.Meeting.End.Equal(now.Add(35*time.Minute)) {
		t.Fatalf("extend: %+v %v", r, r.Error)
	}
	if r := s.Request(ctx, "d", "r1", "2", proto.Request{Action: proto.ActionEnd, MeetingID: id}); !r.OK {
		t.Fatalf("end: %v", r.Error)
	}
	if e := live(srv.Events(room)); len(e) != 1 || !e[0].End.Equal(*now) {
		t.Errorf("after end: %+v", e)
	}
	// A no-show: nobody checks in within 10 minutes, so the room declines
	// it with a comment the organizer reads.
	noShow := srv.AddEvent(room, graphtest.Event{Subject: "Sync", Organizer: "Alan", OrganizerAddress: "alan@contoso.onmicrosoft.com", Start: now.Add(time.Minute), End: now.Add(time.Hour)})
	*now = now.Add(11 * time.Minute)
	if err := s.ReleaseNoShows(ctx); err != nil {
		t.Fatal(err)
	}
	for _, e := range srv.Events(room) {
		if e.ID == noShow && (!e.Declined || !strings.Contains(e.DeclineComment, "nobody checked in")) {
			t.Errorf("no-show: declined %v, comment %q", e.Declined, e.DeclineComment)
		}
	}
}

func TestGraphFailureMidBookingLeavesNothing(t *testing.T) {
	s, srv, room, _ := graphFixture(t)
	ctx := context.Background()
	srv.Inject(graphtest.Fault{Mailbox: room, Status: 503, Times: 100})
	r := s.Request(ctx, "d", "r1", "1", proto.Request{Action: proto.ActionBook, Minutes: 15})
	if r.OK || r.Error.Code != proto.CodeUnavailable {
		t.Fatalf("booking while Graph fails: %+v", r)
	}
	srv.Inject(graphtest.Fault{Mailbox: room, Status: 503, Times: 0})
	if n := len(live(srv.Events(room))); n != 0 {
		t.Errorf("%d events after a failed booking", n)
	}
}
