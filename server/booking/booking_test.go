package booking

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/builtin"
	"github.com/lintelhq/lintel/server/store"
)

// refresher records the refreshes, which run after the answer: first
// waits for the first one.
type refresher struct {
	once gosync.Once
	done chan struct{} // closed at the first refresh
}

func newRefresher() *refresher { return &refresher{done: make(chan struct{})} }

func (r *refresher) Refresh(ctx context.Context, room string) error {
	r.once.Do(func() { close(r.done) })
	return nil
}

func (r *refresher) first() { <-r.done }

// broken fails writes, or everything, on demand.
type broken struct {
	calendar.Provider
	reads, writes bool
}

func (b *broken) Events(ctx context.Context, rooms []string, from, to time.Time) (map[string]calendar.RoomEvents, error) {
	if b.reads {
		return nil, &calendar.Error{Kind: calendar.ErrUnavailable, Msg: "connection reset"}
	}
	return b.Provider.Events(ctx, rooms, from, to)
}

func (b *broken) Book(ctx context.Context, room string, bk calendar.Booking) (calendar.Event, error) {
	if b.writes {
		return calendar.Event{}, &calendar.Error{Kind: calendar.ErrUnavailable, Msg: "503"}
	}
	return b.Provider.Book(ctx, room, bk)
}

type fixture struct {
	db   *store.DB
	cal  *builtin.Calendar
	prov *broken
	ref  *refresher
	s    *Service
	now  time.Time
}

func newFixture(t *testing.T, settings store.BookingSettings) *fixture {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "lintel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.PutRoom(store.Room{ID: "r1", Name: "R1", Calendar: "r1", TimeZone: "Europe/Zurich", Display: store.DisplayTitle, Booking: settings}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, cal: builtin.New(db), ref: newRefresher(), now: time.Date(2026, 3, 10, 9, 2, 0, 0, time.UTC)}
	f.prov = &broken{Provider: f.cal}
	f.s = New(Opts{Provider: f.prov, Store: db, Sync: f.ref, Now: func() time.Time { return f.now }, SettleDelay: time.Hour})
	t.Cleanup(f.s.Close)
	return f
}

func (f *fixture) events(t *testing.T) []store.Event {
	t.Helper()
	evs, err := f.db.Events("r1")
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

var all = store.BookingSettings{Instant: true, ExtendEnd: true, CheckIn: true, AutoRelease: true}

func TestBookAndRetry(t *testing.T) {
	f := newFixture(t, all)
	ctx := context.Background()
	req := proto.Request{Action: proto.ActionBook, Minutes: 30}
	res := f.s.Request(ctx, "d1", "r1", "req-1", req)
	if !res.OK || res.Meeting == nil {
		t.Fatalf("book: %+v", res.Error)
	}
	// 09:02 UTC is 10:02 in Zurich: 30 minutes round up to 10:45, never
	// down to a booking shorter than asked.
	if want := time.Date(2026, 3, 10, 9, 45, 0, 0, time.UTC); !res.Meeting.End.Equal(want) {
		t.Errorf("booked until %v, want %v", res.Meeting.End, want)
	}
	again := f.s.Request(ctx, "d1", "r1", "req-1", req)
	if !again.OK || again.Meeting.ID != res.Meeting.ID {
		t.Errorf("retry: %+v, want the first answer", again)
	}
	if n := len(f.events(t)); n != 1 {
		t.Errorf("%d events after a retry, want 1", n)
	}
	if !f.db.CheckedIn("r1", res.Meeting.ID) {
		t.Error("a booking at the door does not count as a check-in")
	}
	f.ref.first() // the room is refreshed after booking (or the test times out)
	// Another request for the now-busy room is refused.
	other := f.s.Request(ctx, "d2", "r1", "req-1", req)
	if other.OK || other.Error.Code != proto.CodeConflict {
		t.Errorf("second booking: %+v", other)
	}
	outcomes, _ := f.db.Outcomes(0)
	if len(outcomes) != 2 {
		t.Errorf("activity log has %d entries, want 2", len(outcomes))
	}
}

func TestConcurrentPanelsExactlyOneWins(t *testing.T) {
	f := newFixture(t, all)
	var wg gosync.WaitGroup
	results := make([]proto.Result, 10)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = f.s.Request(context.Background(), fmt.Sprintf("d%d", i), "r1", "x", proto.Request{Action: proto.ActionBook, Minutes: 15})
		}()
	}
	wg.Wait()
	wins := 0
	for _, r := range results {
		if r.OK {
			wins++
		} else if r.Error.Code != proto.CodeConflict {
			t.Errorf("loser got %+v, want conflict", r.Error)
		}
	}
	if wins != 1 || len(f.events(t)) != 1 {
		t.Errorf("%d wins, %d events; want 1 and 1", wins, len(f.events(t)))
	}
}

func TestBookRefusals(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, store.BookingSettings{})
	if r := f.s.Request(ctx, "d", "r1", "1", proto.Request{Action: proto.ActionBook, Minutes: 15}); r.OK || r.Error.Code != proto.CodeNotAllowed {
		t.Errorf("booking off: %+v", r)
	}
	f = newFixture(t, store.BookingSettings{Instant: true})
	if r := f.s.Request(ctx, "d", "r1", "1", proto.Request{Action: proto.ActionBook, Minutes: 15, Teams: true}); r.OK || r.Error.Code != proto.CodeNotAllowed {
		t.Errorf("Teams off: %+v", r)
	}
	f = newFixture(t, store.BookingSettings{Instant: true, Teams: true})
	r := f.s.Request(ctx, "d", "r1", "2", proto.Request{Action: proto.ActionBook, Minutes: 15, Teams: true})
	if r.OK || r.Error.Code != proto.CodeNotAllowed || len(f.events(t)) != 0 {
		t.Errorf("Teams on a calendar that cannot create it: %+v, %d events", r, len(f.events(t)))
	}
	// A meeting in 20 minutes: 60 minutes does not fit.
	f.cal.Add(ctx, "r1", builtin.Input{Subject: "x", Start: f.now.Add(20 * time.Minute), End: f.now.Add(time.Hour)})
	if r := f.s.Request(ctx, "d", "r1", "3", proto.Request{Action: proto.ActionBook, Minutes: 60}); r.OK || r.Error.Code != proto.CodeConflict {
		t.Errorf("booking over the next meeting: %+v", r)
	}
	if r := f.s.Request(ctx, "d", "r1", "4", proto.Request{Action: proto.ActionBook, Until: f.now.Add(20 * time.Minute)}); !r.OK {
		t.Errorf("booking until the next meeting: %+v", r.Error)
	}
	if r := f.s.Request(ctx, "d", "nope", "5", proto.Request{Action: proto.ActionBook, Minutes: 15}); r.OK || r.Error.Code != proto.CodeNotFound {
		t.Errorf("unknown room: %+v", r)
	}
}

func TestProviderFailureLeavesNothingHalfDone(t *testing.T) {
	f := newFixture(t, all)
	ctx := context.Background()
	f.prov.writes = true
	r := f.s.Request(ctx, "d", "r1", "1", proto.Request{Action: proto.ActionBook, Minutes: 15})
	if r.OK || r.Error.Code != proto.CodeUnavailable {
		t.Fatalf("write failure: %+v", r)
	}
	if n := len(f.events(t)); n != 0 {
		t.Errorf("%d events after a failed booking", n)
	}
	if _, err := f.db.Outcome("d", "1"); !errors.Is(err, store.ErrNotFound) {
		t.Error("a failed booking was recorded: its retry would be refused")
	}
	f.prov.writes = false
	if r := f.s.Request(ctx, "d", "nope", "9", proto.Request{Action: proto.ActionBook, Minutes: 15}); r.OK {
		t.Error("booked in an unknown room")
	}
	if r := f.s.Request(ctx, "d", "r1", "1", proto.Request{Action: proto.ActionBook, Minutes: 15}); !r.OK {
		t.Errorf("retry after the calendar recovered: %+v", r.Error)
	}
	f.prov.reads = true
	if r := f.s.Request(ctx, "d", "r1", "2", proto.Request{Action: proto.ActionBook, Minutes: 15}); r.OK || r.Error.Code != proto.CodeUnavailable {
		t.Errorf("read failure: %+v", r)
	}
}

func TestExtendAndEnd(t *testing.T) {
	f := newFixture(t, all)
	ctx := context.Background()
	cur, _ := f.cal.Add(ctx, "r1", builtin.Input{Subject: "cur", Start: f.now.Add(-30 * time.Minute), End: f.now.Add(28 * time.Minute)})
	f.cal.Add(ctx, "r1", builtin.Input{Subject: "next", Start: f.now.Add(58 * time.Minute), End: f.now.Add(2 * time.Hour)})
	if r := f.s.Request(ctx, "d", "r1", "1", proto.Request{Action: proto.ActionExtend, MeetingID: cur.ID, Minutes: 30}); !r.OK || !r.Meeting.End.Equal(f.now.Add(58*time.Minute)) {
		t.Fatalf("extend by 30: %+v", r)
	}
	if r := f.s.Request(ctx, "d", "r1", "2", proto.Request{Action: proto.ActionExtend, MeetingID: cur.ID, Minutes: 15}); r.OK || r.Error.Code != proto.CodeConflict {
		t.Errorf("extend into the next meeting: %+v", r)
	}
	if r := f.s.Request(ctx, "d", "r1", "3", proto.Request{Action: proto.ActionEnd, MeetingID: cur.ID}); !r.OK || !r.Meeting.End.Equal(f.now) {
		t.Fatalf("end now: %+v", r)
	}
	if r := f.s.Request(ctx, "d", "r1", "4", proto.Request{Action: proto.ActionEnd, MeetingID: cur.ID}); r.OK || r.Error.Code != proto.CodeNotFound {
		t.Errorf("ending a meeting that is over: %+v", r)
	}
}

func TestCheckInAndAutoRelease(t *testing.T) {
	f := newFixture(t, all)
	ctx := context.Background()
	kept, _ := f.cal.Add(ctx, "r1", builtin.Input{Subject: "kept", Start: f.now.Add(3 * time.Minute), End: f.now.Add(time.Hour)})
	if r := f.s.Request(ctx, "d", "r1", "1", proto.Request{Action: proto.ActionCheckIn, MeetingID: kept.ID}); !r.OK {
		t.Fatalf("check in 3 minutes early: %+v", r.Error)
	}
	other := newFixture(t, all) // a second room's worth: a no-show
	noShow, _ := other.cal.Add(ctx, "r1", builtin.Input{Subject: "no-show", Start: other.now, End: other.now.Add(time.Hour)})
	if r := other.s.Request(ctx, "d", "r1", "1", proto.Request{Action: proto.ActionCheckIn, MeetingID: "nope"}); r.OK {
		t.Error("checked in to an unknown meeting")
	}

	// Nine minutes in: nothing released yet.
	other.now = other.now.Add(9 * time.Minute)
	other.s.ReleaseNoShows(ctx)
	if evs := other.events(t); evs[0].Declined {
		t.Fatal("released before the check-in window closed")
	}
	// Ten minutes in: the no-show is declined with a comment.
	other.now = other.now.Add(time.Minute)
	other.s.ReleaseNoShows(ctx)
	evs := other.events(t)
	if !evs[0].Declined || evs[0].ID != noShow.ID || evs[0].Comment != ReleaseComment {
		t.Fatalf("no-show after the window: %+v", evs[0])
	}
	// The checked-in meeting survives its deadline.
	f.now = f.now.Add(15 * time.Minute)
	f.s.ReleaseNoShows(ctx)
	if evs := f.events(t); evs[0].Declined {
		t.Error("a checked-in meeting was released")
	}
	// Auto-release off: nothing released.
	off := newFixture(t, store.BookingSettings{Instant: true, CheckIn: true})
	off.cal.Add(ctx, "r1", builtin.Input{Subject: "x", Start: off.now.Add(-20 * time.Minute), End: off.now.Add(time.Hour)})
	off.s.ReleaseNoShows(ctx)
	if evs := off.events(t); evs[0].Declined {
		t.Error("released with auto-release off")
	}
}

// countingProvider counts calendar reads.
type countingProvider struct {
	calendar.Provider
	mu    gosync.Mutex
	reads int
}

func (c *countingProvider) Events(ctx context.Context, rooms []string, from, to time.Time) (map[string]calendar.RoomEvents, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.Provider.Events(ctx, rooms, from, to)
}

type fixedStates map[string]proto.State

func (f fixedStates) State(room string) (proto.State, bool) { st, ok := f[room]; return st, ok }

// TestAutoReleaseReadsTheCalendarOnlyWhenDue: with the last states at
// hand, a pass with no overdue meeting costs no calendar read.
func TestAutoReleaseReadsTheCalendarOnlyWhenDue(t *testing.T) {
	f := newFixture(t, all)
	ctx := context.Background()
	ev, _ := f.cal.Add(ctx, "r1", builtin.Input{Subject: "x", Start: f.now.Add(time.Minute), End: f.now.Add(time.Hour)})
	counter := &countingProvider{Provider: f.cal}
	states := fixedStates{"r1": {Meetings: []proto.Meeting{{ID: ev.ID, Start: ev.Start, End: ev.End, CheckIn: true}}}}
	s := New(Opts{Provider: counter, Store: f.db, Sync: f.ref, States: states, Now: func() time.Time { return f.now }, SettleDelay: time.Hour})
	defer s.Close()
	s.ReleaseNoShows(ctx)
	if counter.reads != 0 {
		t.Errorf("%d calendar reads with nothing due", counter.reads)
	}
	f.now = f.now.Add(12 * time.Minute)
	s.ReleaseNoShows(ctx)
	if evs := f.events(t); counter.reads != 1 || !evs[0].Declined {
		t.Errorf("overdue: %d reads, declined %v", counter.reads, evs[0].Declined)
	}
}

// TestBookUntilTheChoiceShown checks that a panel's choice (sent as the
// end its button showed) is booked exactly, that the booking is bounded,
// that refusals carry a reason the panel words, and that the subject is in
// the room's language.
func TestBookUntilTheChoiceShown(t *testing.T) {
	f := newFixture(t, store.BookingSettings{Instant: true})
	r, _ := f.db.Room("r1")
	r.Language = "de"
	f.db.PutRoom(r)
	ctx := context.Background()
	// At 10:02 the panel offers "Until 10:30" for 15 minutes.
	zurich, _ := time.LoadLocation("Europe/Zurich")
	choices := proto.BookChoices(nil, f.now, proto.Rules{}, zurich)
	res := f.s.Request(ctx, "d", "r1", "1", proto.Request{Action: proto.ActionBook, Until: choices[0].End})
	if !res.OK || !res.Meeting.End.Equal(choices[0].End) || !choices[0].End.Equal(time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)) {
		t.Fatalf("booked %+v, want until %v", res, choices[0].End)
	}
	if evs := f.events(t); len(evs) != 1 || evs[0].Subject != "Am Panel gebucht" || res.Meeting.Title != "Am Panel gebucht" {
		t.Errorf("subject %+v, want the German walk-up subject", evs)
	}
	f.now = f.now.Add(time.Hour)
	for _, tc := range []struct {
		until  time.Time
		reason proto.Reason
		param  string
	}{
		{f.now.Add(4 * time.Hour), proto.ReasonTooLong, "180"},
		{f.now.Add(2 * time.Minute), proto.ReasonTooShort, "5"},
	} {
		res := f.s.Request(ctx, "d", "r1", tc.until.String(), proto.Request{Action: proto.ActionBook, Until: tc.until})
		if res.OK || res.Error.Reason != tc.reason || res.Error.Params["minutes"] != tc.param {
			t.Errorf("until %v: %+v, want refused with %s (%s min)", tc.until, res.Error, tc.reason, tc.param)
		}
	}
	f.cal.Add(ctx, "r1", builtin.Input{Subject: "x", Start: f.now.Add(20 * time.Minute), End: f.now.Add(time.Hour)})
	if res := f.s.Request(ctx, "d", "r1", "over", proto.Request{Action: proto.ActionBook, Until: f.now.Add(30 * time.Minute)}); res.OK || res.Error.Reason != proto.ReasonTaken {
		t.Errorf("over the next meeting: %+v", res.Error)
	}
	off := newFixture(t, store.BookingSettings{})
	if res := off.s.Request(ctx, "d", "r1", "1", proto.Request{Action: proto.ActionBook, Minutes: 15}); res.OK || res.Error.Reason != proto.ReasonBookingOff {
		t.Errorf("booking off: %+v", res.Error)
	}
}

// TestBookLaterToday: a panel books a slot later today: from the slot's
// start, not checked in (the people are not there yet; a no-show is
// released as any), refused when it overlaps a meeting or is not today,
// retried with the same answer; a slot whose start passed while someone
// chose is booked from now.
func TestBookLaterToday(t *testing.T) {
	f := newFixture(t, all)
	ctx := context.Background()
	// 09:02 UTC is 10:02 in Zurich; a meeting from 13:00 to 14:00 there.
	if _, err := f.cal.Add(ctx, "r1", builtin.Input{Subject: "busy", Start: at(12, 0), End: at(13, 0)}); err != nil {
		t.Fatal(err)
	}
	req := proto.Request{Action: proto.ActionBook, Start: at(10, 30), Until: at(11, 30)}
	res := f.s.Request(ctx, "d1", "r1", "later-1", req)
	if !res.OK || res.Meeting == nil || !res.Meeting.Start.Equal(at(10, 30)) || !res.Meeting.End.Equal(at(11, 30)) {
		t.Fatalf("book later: %+v %+v", res.Meeting, res.Error)
	}
	if f.db.CheckedIn("r1", res.Meeting.ID) {
		t.Error("a booking for later counts as checked in")
	}
	if again := f.s.Request(ctx, "d1", "r1", "later-1", req); !again.OK || again.Meeting.ID != res.Meeting.ID {
		t.Errorf("retry: %+v", again)
	}
	if n := len(f.events(t)); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
	// The room is free now: the slot booked later leaves now bookable.
	if now := f.s.Request(ctx, "d2", "r1", "now-1", proto.Request{Action: proto.ActionBook, Minutes: 15}); !now.OK {
		t.Errorf("book now before the later booking: %+v", now.Error)
	}

	for name, tc := range map[string]struct {
		req    proto.Request
		reason proto.Reason
	}{
		"overlapping the meeting":       {proto.Request{Action: proto.ActionBook, Start: at(12, 30), Until: at(13, 30)}, proto.ReasonTaken},
		"overlapping the later booking": {proto.Request{Action: proto.ActionBook, Start: at(11, 0), Minutes: 30}, proto.ReasonTaken},
		"tomorrow":                      {proto.Request{Action: proto.ActionBook, Start: at(10, 30).Add(24 * time.Hour), Minutes: 30}, proto.ReasonLaterToday},
		"too long":                      {proto.Request{Action: proto.ActionBook, Start: at(14, 0), Until: at(18, 0)}, proto.ReasonTooLong},
	} {
		r := f.s.Request(ctx, "d3", "r1", "x-"+name, tc.req)
		if r.OK || r.Error == nil || r.Error.Reason != tc.reason {
			t.Errorf("%s: %+v, want refused with %q", name, r, tc.reason)
		}
	}

	// The slot from 16:30 (Zurich) chosen, sent at 16:31: booked from
	// now, and checked in like any booking for now.
	f.now = at(15, 31)
	late := f.s.Request(ctx, "d4", "r1", "late-1", proto.Request{Action: proto.ActionBook, Start: at(15, 30), Until: at(16, 0)})
	if !late.OK || !late.Meeting.Start.Equal(at(15, 31)) || !f.db.CheckedIn("r1", late.Meeting.ID) {
		t.Errorf("a slot whose start passed: %+v %+v, want booked from now and checked in", late.Meeting, late.Error)
	}
}

// at is 2026-03-10 h:m UTC (an hour before Zurich's clock).
func at(h, m int) time.Time { return time.Date(2026, 3, 10, h, m, 0, 0, time.UTC) }
