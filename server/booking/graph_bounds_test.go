package booking_test

import (
	"context"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
)

// The review's far-future booking, on Microsoft 365 (which takes an
// overlapping event without a word): a rogue panel books until 4.6 days
// ahead over a meeting 40 hours away. The booking is bounded and never
// overlaps it.
func TestGraphFarFutureBookingIsBounded(t *testing.T) {
	s, srv, room, now := graphFixture(t)
	ctx := context.Background()
	srv.AddEvent(room, graphtest.Event{Subject: "Board", Organizer: "Ada", OrganizerAddress: "ada@contoso.onmicrosoft.com", Start: now.Add(40 * time.Hour), End: now.Add(41 * time.Hour)})
	r := s.Request(ctx, "rogue", "r1", "far", proto.Request{Action: proto.ActionBook, Until: now.Add(110 * time.Hour)})
	if r.OK && r.Meeting.End.After(now.Add(3*time.Hour)) {
		t.Errorf("booked until %v, more than 3 h", r.Meeting.End)
	}
	evs := live(srv.Events(room))
	for i := range evs {
		for j := i + 1; j < len(evs); j++ {
			if evs[i].Start.Before(evs[j].End) && evs[j].Start.Before(evs[i].End) {
				t.Errorf("%s (%v to %v) overlaps %s", evs[i].Subject, evs[i].Start, evs[i].End, evs[j].Subject)
			}
		}
	}
}

// lostGraphAnswer books through Graph, then loses the answer once.
type lostGraphAnswer struct {
	calendar.Provider
	lost bool
}

func (l *lostGraphAnswer) Book(ctx context.Context, room string, b calendar.Booking) (calendar.Event, error) {
	ev, err := l.Provider.Book(ctx, room, b)
	if err == nil && !l.lost {
		l.lost = true
		return calendar.Event{}, &calendar.Error{Kind: calendar.ErrUnavailable, Msg: "context deadline exceeded"}
	}
	return ev, err
}

// A retry after a lost answer finds its own event by the transactionId in
// the room's calendar, before the free-room check: it gets its booking,
// not "booked by someone else", and nothing is booked twice.
func TestGraphRetryAfterLostAnswerGetsItsOwnBooking(t *testing.T) {
	s, srv, room, now := graphFixtureWith(t, func(p calendar.Provider) calendar.Provider { return &lostGraphAnswer{Provider: p} })
	ctx := context.Background()
	req := proto.Request{Action: proto.ActionBook, Minutes: 30}
	if r := s.Request(ctx, "d1", "r1", "req-1", req); r.OK || r.Error.Code != proto.CodeUnavailable {
		t.Fatalf("the lost answer: %+v", r)
	}
	*now = now.Add(time.Minute)
	r := s.Request(ctx, "d1", "r1", "req-1", req)
	evs := live(srv.Events(room))
	if !r.OK || len(evs) != 1 || r.Meeting.ID != evs[0].ID {
		t.Fatalf("retry: %+v (error %v), events %d; want its own booking", r, r.Error, len(evs))
	}
}
