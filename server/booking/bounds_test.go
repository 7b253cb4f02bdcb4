package booking

import (
	"context"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/builtin"
	"github.com/lintelhq/lintel/server/store"
)

// lostAnswer books, then loses the answer the first time (a timeout, or
// the server killed before it recorded the outcome): the event exists, the
// panel was never told.
type lostAnswer struct {
	calendar.Provider
	lost bool
}

func (l *lostAnswer) Book(ctx context.Context, room string, b calendar.Booking) (calendar.Event, error) {
	ev, err := l.Provider.Book(ctx, room, b)
	if err == nil && !l.lost {
		l.lost = true
		return calendar.Event{}, &calendar.Error{Kind: calendar.ErrUnavailable, Msg: "context deadline exceeded"}
	}
	return ev, err
}

// The review's phantom refusal: a panel resends its request id after the
// server lost the answer (147 times in a kill -9 run) and was told "the
// room was just booked by someone else" although the booking is its own.
// The retry gets its booking.
func TestRetryAfterLostAnswerGetsItsOwnBooking(t *testing.T) {
	f := newFixture(t, all)
	ctx := context.Background()
	prov := &lostAnswer{Provider: f.cal}
	s := New(Opts{Provider: prov, Store: f.db, Sync: f.ref, Now: func() time.Time { return f.now }, SettleDelay: time.Hour})
	defer s.Close()
	req := proto.Request{Action: proto.ActionBook, Minutes: 30}
	if r := s.Request(ctx, "d1", "r1", "req-1", req); r.OK || r.Error.Code != proto.CodeUnavailable {
		t.Fatalf("the lost answer: %+v", r)
	}
	// The server restarts; the panel resends a minute later.
	s.Close()
	f.now = f.now.Add(time.Minute)
	s = New(Opts{Provider: prov, Store: f.db, Sync: f.ref, Now: func() time.Time { return f.now }, SettleDelay: time.Hour})
	r := s.Request(ctx, "d1", "r1", "req-1", req)
	evs := f.events(t)
	if !r.OK || len(evs) != 1 || r.Meeting.ID != evs[0].ID {
		t.Fatalf("retry: %+v (error %v), events %+v; want its own booking", r, r.Error, evs)
	}
	// Another panel's request is still refused.
	if r := s.Request(ctx, "d2", "r1", "req-1", req); r.OK || r.Error.Code != proto.CodeConflict {
		t.Errorf("another panel: %+v", r)
	}
}

func overlapping(evs []store.Event) bool {
	for i := range evs {
		for j := i + 1; j < len(evs); j++ {
			if !evs[i].Declined && !evs[j].Declined && evs[i].Start.Before(evs[j].End) && evs[j].Start.Before(evs[i].End) {
				return true
			}
		}
	}
	return false
}

// The review's far-future booking: until 4.6 days ahead, over a meeting the
// conflict check (36 h ahead) never saw. Every booking is bounded (the
// protocol's longest, 3 h, refused beyond; a per-room maximum, the same
// by default, and today's end of office hours, cut to), and never
// overlaps a meeting.
func TestBookingsAreBounded(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, all)
	f.cal.Add(ctx, "r1", builtin.Input{Subject: "Board", Start: f.now.Add(40 * time.Hour), End: f.now.Add(41 * time.Hour)})
	r := f.s.Request(ctx, "rogue", "r1", "1", proto.Request{Action: proto.ActionBook, Until: f.now.Add(110 * time.Hour)})
	if r.OK && r.Meeting.End.After(f.now.Add(3*time.Hour)) {
		t.Errorf("booked until %v, more than 3 h", r.Meeting.End)
	}
	if evs := f.events(t); overlapping(evs) {
		t.Errorf("a booking overlaps a meeting: %+v", evs)
	}
	// Past the protocol's longest booking: refused, nothing booked.
	f = newFixture(t, all)
	r = f.s.Request(ctx, "d", "r1", "2", proto.Request{Action: proto.ActionBook, Minutes: 600})
	if r.OK || r.Error.Reason != proto.ReasonTooLong || len(f.events(t)) != 0 {
		t.Errorf("600 minutes: %+v %v, want refused as too long", r.Meeting, r.Error)
	}
	// The default room maximum is that longest booking.
	if store.DefaultMaxBookingMinutes != int(proto.MaxBooking/time.Minute) {
		t.Errorf("store.DefaultMaxBookingMinutes %d, proto.MaxBooking %s", store.DefaultMaxBookingMinutes, proto.MaxBooking)
	}

	// A room's own maximum, and its office hours: 10:02 in Zurich now.
	settings := all
	settings.MaxMinutes = 90
	settings.OfficeEnd = "11:00"
	f = newFixture(t, settings)
	r = f.s.Request(ctx, "d", "r1", "3", proto.Request{Action: proto.ActionBook, Minutes: 120})
	if want := time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC); !r.OK || !r.Meeting.End.Equal(want) {
		t.Errorf("past office hours: %+v %v, want until 11:00 Zurich", r.Meeting, r.Error)
	}
	// Extending is bounded the same way.
	r = f.s.Request(ctx, "d", "r1", "4", proto.Request{Action: proto.ActionExtend, MeetingID: r.Meeting.ID, Minutes: 600})
	if r.OK {
		t.Errorf("extended past the end of office hours: %+v", r.Meeting)
	}
	// After office hours, the room's maximum alone applies.
	f.now = time.Date(2026, 3, 10, 17, 0, 0, 0, time.UTC) // 18:00 in Zurich
	r = f.s.Request(ctx, "d", "r1", "5", proto.Request{Action: proto.ActionBook, Until: f.now.Add(2 * time.Hour)})
	if !r.OK || !r.Meeting.End.Equal(f.now.Add(90*time.Minute)) {
		t.Errorf("after office hours: %+v %v, want 90 minutes", r.Meeting, r.Error)
	}
}

func TestBookingSettingsAreValidated(t *testing.T) {
	for _, b := range []store.BookingSettings{{MaxMinutes: 181}, {MaxMinutes: -1}, {OfficeEnd: "25:00"}, {OfficeEnd: "6pm"}} {
		room := store.Room{ID: "r", Name: "R", Calendar: "r", TimeZone: "UTC", Display: store.DisplayTitle, Booking: b}
		if err := room.Validate(); err == nil {
			t.Errorf("%+v accepted", b)
		}
	}
}
