package builtin

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/store"
)

func newCal(t *testing.T) (*Calendar, *store.DB) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "lintel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.PutRoom(store.Room{ID: "r1", Name: "R1", Calendar: "r1", TimeZone: "UTC", Display: store.DisplayTitle}); err != nil {
		t.Fatal(err)
	}
	return New(db), db
}

var t9 = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

func TestEventsWindowAndUnknownRoom(t *testing.T) {
	c, _ := newCal(t)
	ctx := context.Background()
	for _, in := range []Input{
		{Subject: "before", Start: t9.Add(-3 * time.Hour), End: t9.Add(-2 * time.Hour)},
		{Subject: "overlaps start", Start: t9.Add(-time.Hour), End: t9.Add(time.Minute)},
		{Subject: "inside", Start: t9.Add(time.Hour), End: t9.Add(2 * time.Hour)},
		{Subject: "after", Start: t9.Add(24 * time.Hour), End: t9.Add(25 * time.Hour)},
	} {
		if _, err := c.Add(ctx, "r1", in); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.Events(ctx, []string{"r1", "nope"}, t9, t9.Add(12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, e := range got["r1"].Events {
		subjects = append(subjects, e.Subject)
	}
	if len(subjects) != 2 || subjects[0] != "overlaps start" || subjects[1] != "inside" {
		t.Errorf("window [9:00, 21:00): %v", subjects)
	}
	if !errors.Is(got["nope"].Err, calendar.ErrNotFound) {
		t.Errorf("unknown room: %v", got["nope"].Err)
	}
}

func TestBookConflictsAndRetries(t *testing.T) {
	c, _ := newCal(t)
	ctx := context.Background()
	b := calendar.Booking{Subject: "Booked at the panel", Start: t9, End: t9.Add(30 * time.Minute), TransactionID: "tx-1"}
	first, err := c.Book(ctx, "r1", b)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Book(ctx, "r1", b)
	if err != nil || again.ID != first.ID {
		t.Errorf("retry with the same transaction id: %+v %v, want event %s", again, err, first.ID)
	}
	b.TransactionID = "tx-2"
	b.Start = t9.Add(29 * time.Minute)
	b.End = t9.Add(time.Hour)
	if _, err := c.Book(ctx, "r1", b); !errors.Is(err, calendar.ErrConflict) {
		t.Errorf("overlapping booking: %v, want ErrConflict", err)
	}
	b.Start = t9.Add(30 * time.Minute) // back to back is fine
	if _, err := c.Book(ctx, "r1", b); err != nil {
		t.Errorf("back-to-back booking: %v", err)
	}
	b.Teams, b.TransactionID = true, "tx-3"
	b.Start, b.End = t9.Add(2*time.Hour), t9.Add(3*time.Hour)
	if _, err := c.Book(ctx, "r1", b); !errors.Is(err, calendar.ErrNoOnlineMeeting) {
		t.Errorf("Teams booking: %v, want ErrNoOnlineMeeting", err)
	}
}

func TestConcurrentBookingsExactlyOneWins(t *testing.T) {
	c, db := newCal(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Book(context.Background(), "r1", calendar.Booking{
				Start: t9, End: t9.Add(15 * time.Minute), TransactionID: string(rune('a' + i)),
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, calendar.ErrConflict):
				conflicts++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	evs, _ := db.Events("r1")
	if wins != 1 || conflicts != 19 || len(evs) != 1 {
		t.Errorf("wins %d, conflicts %d, events %d; want 1, 19, 1", wins, conflicts, len(evs))
	}
}

func TestSetEndAndRelease(t *testing.T) {
	c, _ := newCal(t)
	ctx := context.Background()
	a, _ := c.Add(ctx, "r1", Input{Subject: "a", Start: t9, End: t9.Add(time.Hour)})
	c.Add(ctx, "r1", Input{Subject: "b", Start: t9.Add(90 * time.Minute), End: t9.Add(2 * time.Hour)})
	if e, err := c.SetEnd(ctx, "r1", a.ID, t9.Add(75*time.Minute)); err != nil || !e.End.Equal(t9.Add(75*time.Minute)) {
		t.Errorf("extend: %+v %v", e, err)
	}
	if _, err := c.SetEnd(ctx, "r1", a.ID, t9.Add(100*time.Minute)); !errors.Is(err, calendar.ErrConflict) {
		t.Errorf("extend into the next meeting: %v", err)
	}
	if _, err := c.SetEnd(ctx, "r1", a.ID, t9.Add(-time.Minute)); err == nil {
		t.Error("moved the end before the start")
	}
	if _, err := c.SetEnd(ctx, "r1", "nope", t9); !errors.Is(err, calendar.ErrNotFound) {
		t.Errorf("unknown event: %v", err)
	}
	if err := c.Release(ctx, "r1", a.ID, "Nobody checked in"); err != nil {
		t.Fatal(err)
	}
	got, _ := c.Events(ctx, []string{"r1"}, t9, t9.Add(3*time.Hour))
	if n := len(got["r1"].Events); n != 1 {
		t.Errorf("a released event still occupies the room: %d events", n)
	}
}

func TestAddValidates(t *testing.T) {
	c, _ := newCal(t)
	ctx := context.Background()
	for _, in := range []Input{
		{Subject: "no times"},
		{Subject: "inverted", Start: t9, End: t9.Add(-time.Hour)},
		{Subject: "all day at 9", Start: t9, End: t9.Add(24 * time.Hour), AllDay: true},
	} {
		if _, err := c.Add(ctx, "r1", in); err == nil {
			t.Errorf("added invalid event %q", in.Subject)
		}
	}
	if _, err := c.Add(ctx, "nope", Input{Start: t9, End: t9.Add(time.Hour)}); !errors.Is(err, calendar.ErrNotFound) {
		t.Errorf("unknown room: %v", err)
	}
}

func TestSeedIsRealisticAndRunsOnce(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "lintel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 3, 10, 10, 2, 0, 0, time.UTC)
	if seeded, err := Seed(db, now); err != nil || !seeded {
		t.Fatalf("first seed: %v %v", seeded, err)
	}
	if seeded, err := Seed(db, now); err != nil || seeded {
		t.Fatalf("second seed: %v %v, want no seeding", seeded, err)
	}
	rooms, _ := db.Rooms()
	var private, organizerSubject, soon, free, busy bool
	for _, r := range rooms {
		evs, _ := db.Events(r.ID)
		busyNow, soonNow := false, false
		for _, e := range evs {
			private = private || e.Private
			organizerSubject = organizerSubject || e.Subject == e.Organizer
			if !e.Start.After(now) && e.End.After(now) {
				busyNow = true
			}
			if d := e.Start.Sub(now); d > 0 && d <= 10*time.Minute {
				soonNow = true
			}
		}
		busy = busy || busyNow
		soon = soon || (soonNow && !busyNow)
		free = free || (!busyNow && !soonNow)
	}
	if len(rooms) < 5 || !private || !organizerSubject || !soon || !free || !busy {
		t.Errorf("demo lacks variety: rooms %d private %v organizer-subject %v soon %v free %v busy %v",
			len(rooms), private, organizerSubject, soon, free, busy)
	}
}

// TestSeedRefreshesAnOldDemoDay: a demo started again on a later day gets a
// fresh day of meetings (an empty building teaches nothing), keeps what the
// admin changed about the rooms, and leaves a day that is not over alone.
func TestSeedRefreshesAnOldDemoDay(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "lintel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	day1 := time.Date(2026, 3, 10, 10, 2, 0, 0, time.UTC)
	if _, err := Seed(db, day1); err != nil {
		t.Fatal(err)
	}
	r, _ := db.Room("eiger")
	r.Name = "Eiger (renamed)"
	if err := db.PutRoom(r); err != nil {
		t.Fatal(err)
	}
	if seeded, err := Seed(db, day1.Add(2*time.Hour)); err != nil || seeded {
		t.Fatalf("same day: seeded %v, %v; want the day kept", seeded, err)
	}

	day2 := day1.Add(30 * time.Hour)
	if seeded, err := Seed(db, day2); err != nil || !seeded {
		t.Fatalf("next day: seeded %v, %v; want a fresh day", seeded, err)
	}
	if r, _ := db.Room("eiger"); r.Name != "Eiger (renamed)" {
		t.Errorf("the admin's change was lost: %+v", r)
	}
	busy := false
	for _, room := range []string{"matterhorn", "eiger", "jungfrau", "saentis", "pilatus"} {
		evs, _ := db.Events(room)
		for _, e := range evs {
			if e.End.Before(day2.Add(-24 * time.Hour)) {
				t.Errorf("%s: yesterday's meeting %q is still there", room, e.Subject)
			}
			busy = busy || (!e.Start.After(day2) && e.End.After(day2))
		}
	}
	if !busy {
		t.Error("no demo room is in a meeting on the fresh day")
	}
}
