package sync_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/builtin"
	"github.com/lintelhq/lintel/server/hub"
	"github.com/lintelhq/lintel/server/store"
	"github.com/lintelhq/lintel/server/sync"
)

// countingHub is the real hub (no panels connected: Publish still encodes
// the state and keeps it), counting what is published.
type countingHub struct {
	*hub.Hub
	published int
}

func (h *countingHub) Publish(room string, st proto.State) {
	h.published++ // SyncAll publishes from its own goroutine only
	h.Hub.Publish(room, st)
}

// renaming returns the built-in calendar's events with a pass number in
// their subjects, so that every pass changes every room's state.
type renaming struct {
	calendar.Provider
	pass int
}

func (r *renaming) Events(ctx context.Context, rooms []string, from, to time.Time) (map[string]calendar.RoomEvents, error) {
	got, err := r.Provider.Events(ctx, rooms, from, to)
	for _, re := range got {
		for i := range re.Events {
			re.Events[i].Subject += fmt.Sprint(" #", r.pass)
		}
	}
	return got, err
}

// BenchmarkSyncAll measures one full poll pass over 500 rooms on the
// built-in calendar (real bbolt), in four time zones, with a day of eight
// meetings in each room; rooms/s is rooms polled per second.
//
// unchanged is the steady state: nothing changed since the last pass, so
// nothing is stored or published. changed is the worst case: every
// meeting's title changes every pass, so every room's state is built,
// stored and published.
func BenchmarkSyncAll(b *testing.B) {
	for _, changed := range []bool{false, true} {
		name := "unchanged"
		if changed {
			name = "changed"
		}
		b.Run(name, func(b *testing.B) { benchmarkSyncAll(b, changed) })
	}
}

func benchmarkSyncAll(b *testing.B, changed bool) {
	const rooms = 500
	db, err := store.Open(filepath.Join(b.TempDir(), "lintel.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	day0 := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	zones := []string{"Europe/Zurich", "America/New_York", "Asia/Tokyo", "UTC"}
	for i := range rooms {
		id := fmt.Sprintf("room-%03d", i)
		r := store.Room{ID: id, Name: "Room " + id, Calendar: id, TimeZone: zones[i%len(zones)], Display: store.DisplayTitle,
			Booking: store.BookingSettings{Instant: true, CheckIn: true}}
		if err := db.PutRoom(r); err != nil {
			b.Fatal(err)
		}
		err := db.UpdateEvents(id, func([]store.Event) ([]store.Event, error) {
			var evs []store.Event
			for h := range 8 {
				start := day0.Add(time.Duration(9+h) * time.Hour)
				evs = append(evs, store.Event{ID: fmt.Sprintf("%s-%d", id, h), Subject: "Quarterly planning review",
					Organizer: "Anna Muster", Start: start, End: start.Add(45 * time.Minute)})
			}
			return evs, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	h := &countingHub{Hub: hub.New(hub.Opts{})}
	defer h.Close()
	prov := &renaming{Provider: builtin.New(db)}
	now := day0.Add(8 * time.Hour)
	s := sync.New(sync.Opts{Provider: prov, Store: db, Publisher: h, Now: func() time.Time { return now }})
	if err := s.SyncAll(b.Context()); err != nil {
		b.Fatal(err)
	}
	h.published = 0
	pass := 0
	for b.Loop() {
		pass++
		if changed {
			prov.pass = pass
		}
		if err := s.SyncAll(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	want := 0
	if changed {
		want = rooms * pass
	}
	if h.published != want {
		b.Fatalf("%d states published in %d passes, want %d", h.published, pass, want)
	}
	b.ReportMetric(float64(rooms*pass)/b.Elapsed().Seconds(), "rooms/s")
}
