package store

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func outcomeAt(device, id string, at time.Time) Outcome {
	return Outcome{Device: device, ID: id, Room: "r1", Action: "book", At: at, Result: []byte(`{"ok":true}`), Summary: "booked"}
}

// The activity log is read page by page, newest first, without decoding
// the rest of it.
func TestActivityPagesNewestFirst(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB) {
		t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
		for i := range 250 {
			// Inserted out of order: the index orders by time, not by insertion.
			at := t0.Add(time.Duration((i*37)%250) * time.Minute)
			if err := db.PutOutcome(outcomeAt("d1", fmt.Sprint("req-", i), at)); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.PutActivity(Outcome{Device: "d2", ID: "problem-1", Action: "problem", At: t0.Add(300 * time.Minute), Result: []byte(`{"ok":true}`)}); err != nil {
			t.Fatal(err)
		}
		var all []Outcome
		var at time.Time
		key := ""
		for pages := 0; ; pages++ {
			page, more, err := db.ActivityOlder(at, key, 100)
			if err != nil {
				t.Fatal(err)
			}
			if pages > 3 || len(page) > 100 {
				t.Fatalf("page %d: %d items", pages, len(page))
			}
			all = append(all, page...)
			if !more {
				break
			}
			last := page[len(page)-1]
			at, key = last.At, last.Device+"/"+last.ID
		}
		if len(all) != 251 {
			t.Fatalf("%d items over all pages, want 251", len(all))
		}
		if all[0].ID != "problem-1" {
			t.Errorf("newest first: got %s", all[0].ID)
		}
		for i := 1; i < len(all); i++ {
			if all[i].At.After(all[i-1].At) {
				t.Fatalf("item %d is newer than item %d", i, i-1)
			}
		}
		// And back: the entries newer than the third page's first are the
		// second page.
		newer, more, err := db.ActivityNewer(all[200].At, all[200].Device+"/"+all[200].ID, 100)
		if err != nil || !more || len(newer) != 100 || newer[0].ID != all[100].ID || newer[99].ID != all[199].ID {
			t.Errorf("newer than the third page: %d items (more %v, %v), from %s to %s; want the second page", len(newer), more, err, newer[0].ID, newer[len(newer)-1].ID)
		}
		first, _ := db.Outcomes(5)
		if len(first) != 5 || first[0].ID != "problem-1" {
			t.Errorf("Outcomes(5): %+v", first)
		}
		// A problem report is activity, not an idempotency record.
		if _, err := db.Outcome("d2", "problem-1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a problem report kept as a request: %v", err)
		}
	})
}

// Retention: activity older than 90 days, idempotency records and
// check-ins older than 7 days, and built-in events that ended more than 90
// days ago are removed; newer ones stay.
func TestPruneKeepsOnlyTheRetention(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB) {
		now := time.Date(2026, 6, 10, 9, 0, 0, 0, time.UTC)
		db.PutRoom(Room{ID: "r1", Name: "R", Calendar: "r1", TimeZone: "UTC", Display: DisplayTitle})
		for _, age := range []int{1, 6, 8, 30, 89, 91, 200} {
			at := now.Add(-time.Duration(age) * 24 * time.Hour)
			id := fmt.Sprint("age-", age)
			db.PutOutcome(outcomeAt("d1", id, at))
			db.PutCheckIn("r1", id, at)
		}
		db.UpdateEvents("r1", func([]Event) ([]Event, error) {
			return []Event{
				{ID: "old", Start: now.Add(-100 * 24 * time.Hour), End: now.Add(-100*24*time.Hour + time.Hour)},
				{ID: "recent", Start: now.Add(-10 * 24 * time.Hour), End: now.Add(-10*24*time.Hour + time.Hour)},
				{ID: "next", Start: now.Add(time.Hour), End: now.Add(2 * time.Hour)},
			}, nil
		})
		got, err := db.Prune(now, Retention{Activity: 90 * 24 * time.Hour, Requests: 7 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if got.Activity != 2 || got.Requests != 5 || got.CheckIns != 5 || got.Events != 1 {
			t.Errorf("pruned %+v, want 2 activity, 5 requests, 5 check-ins, 1 event", got)
		}
		if page, _ := db.Outcomes(100); len(page) != 5 {
			t.Errorf("%d activity records kept, want 5", len(page))
		}
		for _, age := range []int{1, 6} {
			if _, err := db.Outcome("d1", fmt.Sprint("age-", age)); err != nil {
				t.Errorf("request of %d days ago pruned: %v", age, err)
			}
			if !db.CheckedIn("r1", fmt.Sprint("age-", age)) {
				t.Errorf("check-in of %d days ago pruned", age)
			}
		}
		if _, err := db.Outcome("d1", "age-8"); !errors.Is(err, ErrNotFound) {
			t.Errorf("request of 8 days ago kept: %v", err)
		}
		if db.CheckedIn("r1", "age-8") {
			t.Error("check-in of 8 days ago kept")
		}
		if evs, _ := db.Events("r1"); len(evs) != 2 || evs[0].ID != "recent" {
			t.Errorf("events after pruning: %+v", evs)
		}
		if path := db.Path(); path != "" {
			// The file still verifies (the request log's keys have no values).
			db.Close()
			if err := Verify(path); err != nil {
				t.Fatal(err)
			}
			var err error
			if db, err = Open(path); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
		}
		// Nothing more to do on a second pass.
		if again, _ := db.Prune(now, Retention{Activity: 90 * 24 * time.Hour, Requests: 7 * 24 * time.Hour}); again != (Pruned{}) {
			t.Errorf("second pass pruned %+v", again)
		}
	})
}
