package store

import (
	"fmt"
	"testing"
	"time"
)

// Meetings are read back by start, a period at a time; a meeting whose
// start moved keeps one record; an unchanged one is not written again;
// and they are pruned with the activity log's retention.
func TestMeetingsByPeriodAndRetention(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB) {
		now := time.Date(2026, 6, 10, 9, 0, 0, 0, time.UTC)
		day := 24 * time.Hour
		for _, age := range []int{1, 5, 30, 89, 91} {
			start := now.Add(-time.Duration(age) * day)
			m := Meeting{Room: "r1", ID: fmt.Sprint("age-", age), Start: start, End: start.Add(time.Hour), Title: "Standup", CheckIn: true}
			if err := db.PutMeeting(m, time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
		// Moved by ten minutes after it was recorded: one record, the new start.
		m := Meeting{Room: "r2", ID: "moved", Start: now.Add(-2 * day), End: now.Add(-2*day + time.Hour)}
		db.PutMeeting(m, time.Time{})
		was := m.Start
		m.Start = m.Start.Add(10 * time.Minute)
		if err := db.PutMeeting(m, was); err != nil {
			t.Fatal(err)
		}
		if err := db.PutMeeting(Meeting{ID: "x", Start: now}, time.Time{}); err == nil {
			t.Error("a meeting without a room was recorded")
		}
		read := func(from, to time.Time) []Meeting {
			var out []Meeting
			if err := db.Meetings(from, to, func(m Meeting) error { out = append(out, m); return nil }); err != nil {
				t.Fatal(err)
			}
			return out
		}
		week := read(now.Add(-7*day), now)
		if len(week) != 3 || week[0].ID != "age-5" || week[1].ID != "moved" || !week[1].Start.Equal(was.Add(10*time.Minute)) || week[2].ID != "age-1" {
			t.Errorf("last week's meetings: %+v", week)
		}
		if !week[0].CheckIn || week[0].Title != "Standup" {
			t.Errorf("fields lost: %+v", week[0])
		}
		p, err := db.Prune(now, Retention{Activity: 90 * day, Requests: 7 * day})
		if err != nil {
			t.Fatal(err)
		}
		if p.Meetings != 1 {
			t.Errorf("pruned %d meetings, want 1 (the one of 91 days ago)", p.Meetings)
		}
		if all := read(time.Time{}, now.Add(day)); len(all) != 5 {
			t.Errorf("%d meetings kept, want 5", len(all))
		}
	})
}

// ActivityBetween reads a period of the activity log, oldest first.
func TestActivityBetween(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB) {
		t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
		for i := range 5 {
			db.PutOutcome(outcomeAt("d1", string(rune('a'+i)), t0.Add(time.Duration(i)*time.Hour)))
		}
		var ids string
		if err := db.ActivityBetween(t0.Add(time.Hour), t0.Add(4*time.Hour), func(o Outcome) error { ids += o.ID; return nil }); err != nil {
			t.Fatal(err)
		}
		if ids != "bcd" {
			t.Errorf("entries %q, want bcd", ids)
		}
	})
}
