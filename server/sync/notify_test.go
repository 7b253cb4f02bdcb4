package sync

import (
	"context"
	gosync "sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/store"
)

// counting counts the rooms each Events call reads.
type counting struct {
	calendar.Provider
	mu    gosync.Mutex
	reads map[string]int
	calls int
}

func (c *counting) Events(ctx context.Context, rooms []string, from, to time.Time) (map[string]calendar.RoomEvents, error) {
	c.mu.Lock()
	c.calls++
	for _, r := range rooms {
		c.reads[r]++
	}
	c.mu.Unlock()
	return c.Provider.Events(ctx, rooms, from, to)
}

func (c *counting) count(room string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads[room]
}

// A notification re-reads its room at once; a burst within Coalesce of
// that read becomes one more read when Coalesce has passed; rooms
// notified together are read in one call; the time from notification to
// publish is reported.
func TestNotifyCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		prov := &counting{Provider: f.prov, reads: map[string]int{}}
		var observed []time.Duration
		s := New(Opts{Provider: prov, Store: f.db, Publisher: f.pub, Coalesce: time.Second,
			ObserveNotify: func(d time.Duration) { observed = append(observed, d) }})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go s.RunNotified(ctx)

		s.Notify("title")
		synctest.Wait()
		if n := prov.count("title"); n != 1 {
			t.Fatalf("%d reads after a notification, want 1", n)
		}
		for range 5 {
			s.Notify("title")
		}
		synctest.Wait()
		if n := prov.count("title"); n != 1 {
			t.Errorf("%d reads right after a burst, want still 1 (coalesced)", n)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n := prov.count("title"); n != 2 {
			t.Errorf("%d reads a second after the burst, want 2", n)
		}
		time.Sleep(time.Second)
		calls := prov.calls
		s.Notify("org") // both rooms are in Europe/Zurich: one window, one call
		s.Notify("title")
		synctest.Wait()
		if prov.calls != calls+1 || prov.count("org") != 1 || prov.count("title") != 3 {
			t.Errorf("two rooms notified together: %d calls, reads %v; want one call", prov.calls-calls, prov.reads)
		}
		if len(observed) != 4 || observed[0] != 0 {
			t.Errorf("observed latencies %v", observed)
		}
		if len(f.pub.get("title")) == 0 {
			t.Error("notified room not published")
		}
	})
}

// With change notifications, subscribed rooms are read once per safety
// period, spread evenly over its polls; rooms without a subscription
// are read at every poll.
func TestSafetyPollSpread(t *testing.T) {
	f := newFixture(t)
	for i := range 8 {
		id := string(rune('a' + i))
		if err := f.db.PutRoom(store.Room{ID: id, Name: id, Calendar: id, TimeZone: "UTC", Display: store.DisplayTitle}); err != nil {
			t.Fatal(err)
		}
	}
	s := New(Opts{Provider: f.prov, Store: f.db, Publisher: f.pub, Interval: time.Minute, SafetyPoll: 4 * time.Minute,
		Subscribed: func(id string) bool { return id != "org" }})
	rooms, _ := f.db.Rooms()
	seen := map[string]int{}
	for poll := range 4 {
		due := s.due(rooms)
		subscribed := 0
		for _, r := range due {
			seen[r.ID]++
			if r.ID != "org" {
				subscribed++
			}
		}
		// 10 subscribed rooms over 4 polls: 2 or 3 each.
		if subscribed < 2 || subscribed > 3 {
			t.Errorf("poll %d read %d subscribed rooms, want 2 or 3", poll, subscribed)
		}
	}
	for _, r := range rooms {
		want := 1
		if r.ID == "org" {
			want = 4
		}
		if seen[r.ID] != want {
			t.Errorf("room %s read %d times in a safety period, want %d", r.ID, seen[r.ID], want)
		}
	}
}
