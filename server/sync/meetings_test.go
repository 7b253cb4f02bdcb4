package sync

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/store"
)

// countingMeetings counts the writes of recorded meetings.
type countingMeetings struct {
	db     *store.DB
	writes int
}

func (c *countingMeetings) PutMeeting(m store.Meeting, was time.Time) error {
	c.writes++
	return c.db.PutMeeting(m, was)
}

// The syncer records a meeting once it has started, once (a poll that
// changes nothing writes nothing), again when its end moves, and a
// meeting released before any read saw it started as last read; a private
// meeting's subject is never in the record.
func TestRecordsMeetingsThatStarted(t *testing.T) {
	f := newFixture(t)
	rec := &countingMeetings{db: f.db}
	f.s.opts.Meetings = rec
	ctx := context.Background()
	sync := func(at time.Time) {
		t.Helper()
		f.now = at
		if err := f.s.SyncAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	all := func() []store.Meeting {
		var out []store.Meeting
		f.db.Meetings(time.Time{}, f.now.Add(24*time.Hour), func(m store.Meeting) error { out = append(out, m); return nil })
		return out
	}
	t0 := f.now // Budget 09:00-10:00 UTC, the private one 11:00-12:00, in each of 3 rooms
	sync(t0.Add(-time.Minute))
	if n := len(all()); n != 0 {
		t.Fatalf("%d meetings recorded before any started", n)
	}
	sync(t0.Add(5 * time.Minute))
	got := all()
	if len(got) != 3 || rec.writes != 3 {
		t.Fatalf("after Budget started: %d meetings in %d writes, want 3 in 3: %+v", len(got), rec.writes, got)
	}
	sync(t0.Add(6 * time.Minute))
	if rec.writes != 3 {
		t.Errorf("a poll that changed nothing wrote %d meetings", rec.writes-3)
	}
	// Ended early in one room: its record follows.
	budget := got[0]
	for _, m := range got {
		if m.Room == "title" {
			budget = m
		}
	}
	if budget.Title != "Budget" || budget.Organizer != "Anna" || !strings.HasPrefix(budget.Series, "same:") {
		t.Errorf("recorded %+v", budget)
	}
	if _, err := f.cal.SetEnd(ctx, "title", budget.ID, t0.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	sync(t0.Add(40 * time.Minute))
	if rec.writes != 4 {
		t.Errorf("ending a meeting early wrote %d records, want 1", rec.writes-3)
	}
	for _, m := range all() {
		if m.ID == budget.ID && !m.End.Equal(t0.Add(30*time.Minute)) {
			t.Errorf("the record of the meeting ended early ends at %s", m.End)
		}
	}
	// The private meeting is read before it starts, then released (it
	// leaves the calendar) before the next read: still recorded.
	sync(t0.Add(115 * time.Minute))
	evs, _ := f.cal.List(ctx, "title")
	var private store.Event
	for _, e := range evs {
		if e.Private {
			private = e
		}
	}
	if err := f.cal.Release(ctx, "title", private.ID, "no-show"); err != nil {
		t.Fatal(err)
	}
	sync(t0.Add(135 * time.Minute))
	found := false
	for _, m := range all() {
		if m.ID == private.ID {
			found = true
			if m.Title != Reserved || !m.End.Equal(private.End) {
				t.Errorf("released private meeting recorded as %+v", m)
			}
		}
		if strings.Contains(m.Title+m.Organizer, "Layoffs") {
			t.Errorf("a private subject in a record: %+v", m)
		}
	}
	if !found {
		t.Error("a meeting released before a read saw it started was not recorded")
	}
}

// Occurrences of a series share a key: Graph's series id, or else the same
// subject, organizer and local time of day.
func TestSeriesKey(t *testing.T) {
	zurich, _ := time.LoadLocation("Europe/Zurich")
	mon := time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC) // 09:00 in Zurich
	ev := func(subject, organizer string, start time.Time) calendar.Event {
		return calendar.Event{Subject: subject, Organizer: organizer, Start: start, End: start.Add(time.Hour)}
	}
	a := SeriesKey(ev("Standup", "Anna", mon), zurich)
	if b := SeriesKey(ev("standup ", "Anna", mon.Add(7*24*time.Hour)), zurich); a != b {
		t.Errorf("next week's standup has key %s, this week's %s", b, a)
	}
	// After the change to summer time 09:00 local is 07:00 UTC: the same series.
	if b := SeriesKey(ev("Standup", "Anna", time.Date(2026, 4, 6, 7, 0, 0, 0, time.UTC)), zurich); a != b {
		t.Error("the series changed key with daylight saving time")
	}
	for _, other := range []calendar.Event{ev("Standup", "Bert", mon), ev("Standup", "Anna", mon.Add(time.Hour)), ev("Retro", "Anna", mon)} {
		if SeriesKey(other, zurich) == a {
			t.Errorf("%+v has the standup's key", other)
		}
	}
	g := ev("Standup", "Anna", mon)
	g.SeriesID = "AAMkAD"
	if k := SeriesKey(g, zurich); k != "series:AAMkAD" {
		t.Errorf("Graph occurrence key %q", k)
	}
	p := ev("Layoffs", "Anna", mon)
	p.Private = true
	p2 := ev("Other secret", "Anna", mon)
	p2.Private = true
	if SeriesKey(p, zurich) != SeriesKey(p2, zurich) {
		t.Error("a private meeting's subject went into its key")
	}
}
