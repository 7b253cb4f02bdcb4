package graph

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
)

// The polling budget: sync polls every room every 15 s (its default) over
// the window from the start of the room's local day to +36 h.
const (
	pollInterval = 15 * time.Second
	fleetSize    = 500
)

// fakeClock drives the emulator's throttling windows, so that an hour of
// polling runs in seconds and still meets Graph's rate limits as it
// would in real time.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
func newFakeClock(t time.Time) *fakeClock    { c := &fakeClock{}; c.ns.Store(t.UnixNano()); return c }
func localDay(t time.Time) (time.Time, time.Time) {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	return d, d.Add(36 * time.Hour)
}

// fleet is 500 rooms with a realistic day each, behind an emulator with
// Graph's throttling model (4 in flight per app, 10000 requests per
// mailbox per 10 minutes) and 20 ms of latency per request.
func fleet(tb testing.TB) (*env, []string, *fakeClock) {
	now := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	clock := newFakeClock(now)
	e := newEnv(tb, graphtest.Options{Now: clock.Now, Latency: 20 * time.Millisecond}, nil)
	var rooms []string
	for i := range fleetSize {
		rooms = append(rooms, e.room(fmt.Sprintf("room%03d", i)))
	}
	e.srv.SeedDay(now, time.UTC, rooms...)
	return e, rooms, clock
}

// poll reads the whole fleet once, as sync does, and fails on any error.
func poll(tb testing.TB, e *env, rooms []string, clock *fakeClock) {
	from, to := localDay(clock.Now())
	got, err := e.p.Events(context.Background(), rooms, from, to)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range rooms {
		if got[r].Err != nil || len(got[r].Events) == 0 {
			tb.Fatalf("%s: %d events, err %v", r, len(got[r].Events), got[r].Err)
		}
	}
}

// TestPollingBudget keeps the budget from regressing: a few polls of 500
// rooms cost 25 $batch requests each, none throttled, and no mailbox sees
// more than Graph's 4 concurrent requests (the app-wide number adapts).
func TestPollingBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("polls 500 rooms")
	}
	e, rooms, clock := fleet(t)
	const polls = 4
	for range polls {
		clock.Advance(pollInterval)
		poll(t, e, rooms, clock)
	}
	st := e.srv.Stats()
	perRoomHour := float64(st.Requests) / polls * float64(time.Hour/pollInterval) / fleetSize
	if perRoomHour > 12 || st.Throttled != 0 || st.MaxMailboxInFlight > 4 {
		t.Errorf("stats %+v: %.1f requests per room-hour (want <= 12), %d throttled (want 0), %d at once on one mailbox (want <= 4)", st, perRoomHour, st.Throttled, st.MaxMailboxInFlight)
	}
}

// BenchmarkPolling500Rooms measures Graph HTTP requests per room-hour at
// the default 15 s interval. One iteration is one poll of 500 rooms, 15 s
// of simulated time later than the previous; run 240 iterations for one
// simulated hour:
//
//	go test -run XXX -bench Polling500 -benchtime 240x ./server/calendar/graph/
func BenchmarkPolling500Rooms(b *testing.B) {
	e, rooms, clock := fleet(b)
	polls := 0
	for b.Loop() {
		clock.Advance(pollInterval)
		poll(b, e, rooms, clock)
		polls++
	}
	st := e.srv.Stats()
	hours := float64(polls) * pollInterval.Hours()
	b.ReportMetric(float64(st.Requests)/hours/fleetSize, "http-req/room-hour")
	b.ReportMetric(float64(st.BatchItems)/hours/fleetSize, "graph-req/room-hour")
	b.ReportMetric(float64(st.Throttled), "429s")
	b.ReportMetric(float64(st.MaxInFlight), "max-in-flight")
}
