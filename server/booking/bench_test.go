package booking_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/booking"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/builtin"
	"github.com/lintelhq/lintel/server/store"
	"github.com/lintelhq/lintel/server/sync"
)

// timedProvider records the time spent inside the provider per room
// calendar, so a benchmark can take it out of a request's latency. Each
// benchmark panel books its own room, so a room's time is its request's.
type timedProvider struct {
	calendar.Provider
	spent map[string]*atomic.Int64 // nanoseconds, by calendar address; fixed before use
}

func (p *timedProvider) record(rooms []string, start time.Time) {
	if len(rooms) == 1 {
		p.spent[rooms[0]].Add(int64(time.Since(start)))
	}
}

func (p *timedProvider) Events(ctx context.Context, rooms []string, from, to time.Time) (map[string]calendar.RoomEvents, error) {
	defer p.record(rooms, time.Now())
	return p.Provider.Events(ctx, rooms, from, to)
}

func (p *timedProvider) Book(ctx context.Context, room string, b calendar.Booking) (calendar.Event, error) {
	defer p.record([]string{room}, time.Now())
	return p.Provider.Book(ctx, room, b)
}

// nopPublisher stands in for the hub: the syncer builds, stores and
// "publishes" each state as in the server.
type nopPublisher struct{}

func (nopPublisher) Publish(string, proto.State) {}

// BenchmarkBooking measures the server's own share of an instant booking:
// 100 panels book a free room each, all at once, through the real Service
// on a real bbolt store, with the room refreshed through a real syncer as
// in the server. The time spent inside the calendar provider (reading and
// booking, here the built-in calendar) is taken out of each request's
// latency: server-p50-ms and server-p99-ms are what is left (the goal is a
// p99 of at most 100 ms with 100 panels); total-p99-ms includes the
// provider. One op is one round of bookings, one per panel; the rooms are
// freed between rounds. panels=1 is the same without contention.
func BenchmarkBooking(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("panels=%d", n), func(b *testing.B) { benchmarkBooking(b, n) })
	}
}

func benchmarkBooking(b *testing.B, panels int) {
	db, err := store.Open(filepath.Join(b.TempDir(), "lintel.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cal := builtin.New(db)
	prov := &timedProvider{Provider: cal, spent: map[string]*atomic.Int64{}}
	rooms := make([]string, panels)
	for i := range rooms {
		rooms[i] = fmt.Sprintf("room-%03d", i)
		prov.spent[rooms[i]] = &atomic.Int64{}
		r := store.Room{ID: rooms[i], Name: rooms[i], Calendar: rooms[i], TimeZone: "Europe/Zurich", Display: store.DisplayTitle,
			Booking: store.BookingSettings{Instant: true, ExtendEnd: true, CheckIn: true}}
		if err := db.PutRoom(r); err != nil {
			b.Fatal(err)
		}
	}
	syncer := sync.New(sync.Opts{Provider: prov, Store: db, Publisher: nopPublisher{}})
	if err := syncer.SyncAll(b.Context()); err != nil {
		b.Fatal(err)
	}
	// SettleDelay is long so no delayed refresh runs during a round: its
	// provider time would count against a request.
	svc := booking.New(booking.Opts{Provider: prov, Store: db, Sync: syncer, States: syncer, SettleDelay: time.Hour})
	defer svc.Close()
	syncer.SetCheckIns(svc)

	var server, total []time.Duration
	var mu gosync.Mutex
	round := 0
	for b.Loop() {
		round++
		var wg gosync.WaitGroup
		start := make(chan struct{})
		booked := make([]string, len(rooms))
		for i, room := range rooms {
			wg.Go(func() {
				id := fmt.Sprintf("req-%d-%d", round, i)
				<-start
				before := prov.spent[room].Load()
				t0 := time.Now()
				res := svc.Request(b.Context(), "dev-"+room, room, id, proto.Request{Action: proto.ActionBook, Minutes: 15})
				took := time.Since(t0)
				inProvider := time.Duration(prov.spent[room].Load() - before)
				if !res.OK {
					b.Errorf("round %d, %s: %v", round, room, res.Error)
					return
				}
				booked[i] = res.Meeting.ID
				mu.Lock()
				server = append(server, took-inProvider)
				total = append(total, took)
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		// Free the rooms for the next round, after the burst so that these
		// writes do not delay its requests.
		for i, id := range booked {
			if id != "" {
				if err := cal.Remove(b.Context(), rooms[i], id); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric(pct(server, 50), "server-p50-ms")
	b.ReportMetric(pct(server, 99), "server-p99-ms")
	b.ReportMetric(pct(total, 99), "total-p99-ms")
}

// pct is the nearest-rank percentile of d in milliseconds.
func pct(d []time.Duration, p int) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(d))
	rank := max((p*len(s)+99)/100, 1)
	return float64(s[rank-1].Microseconds()) / 1000
}
