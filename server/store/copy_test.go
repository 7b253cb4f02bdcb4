package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// dump lists every key of a store (bucket path, key, value) but the schema
// version, with each bucket's sequence.
func dump(t *testing.T, db *DB) []string {
	t.Helper()
	var out []string
	var walk func(b bucket, path string) error
	walk = func(b bucket, path string) error {
		out = append(out, fmt.Sprintf("%s seq=%d", path, b.Sequence()))
		b.ForEach(func(k, v []byte) error {
			out = append(out, fmt.Sprintf("%s/%q=%q", path, k, v))
			return nil
		})
		return b.ForEachBucket(func(name []byte) error { return walk(b.Bucket(name), path+"/"+string(name)) })
	}
	if err := db.view(func(tx txn) error { return walk(tx.Bucket(rootBucket), "") }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCopyBetweenEngines: a bbolt store copied to etcd and back holds
// every record it had, byte for byte; a target with data is refused.
func TestCopyBetweenEngines(t *testing.T) {
	src := openTemp(t)
	now := time.Date(2026, 6, 10, 9, 0, 0, 0, time.UTC)
	for i := range 40 {
		room := fmt.Sprint("room-", i)
		src.PutRoom(Room{ID: room, Name: "R", Calendar: room, TimeZone: "UTC", Display: DisplayTitle})
		src.UpdateEvents(room, func([]Event) ([]Event, error) {
			return []Event{{ID: "e1", Subject: "S", Start: now, End: now.Add(time.Hour)}}, nil
		})
		src.PutOutcome(outcomeAt("d1", fmt.Sprint("req-", i), now.Add(time.Duration(i)*time.Minute)))
		src.PutState(room, []byte(`{"room":"`+room+`"}`))
	}
	src.AddDevice(Device{ID: "d1", Name: "Door", Room: "room-1"}, "hash-1")
	for i := range 3 {
		src.AppendAlertLog(map[string]int{"n": i}, 10)
	}
	want := dump(t, src)

	mid := openEtcdTemp(t)
	n, err := Copy(mid, src)
	if err != nil {
		t.Fatal(err)
	}
	if n < 40*4 {
		t.Errorf("copied %d keys", n)
	}
	back := openTemp(t)
	if _, err := Copy(back, mid); err != nil {
		t.Fatal(err)
	}
	for name, db := range map[string]*DB{"etcd": mid, "bbolt again": back} {
		if got := dump(t, db); !slices.Equal(got, want) {
			t.Errorf("%s differs from the source: %d keys, want %d", name, len(got), len(want))
		}
	}
	// The alert log goes on from where it was, not over old entries.
	mid.AppendAlertLog(map[string]int{"n": 3}, 10)
	if log, _ := mid.AlertLog(10); len(log) != 4 {
		t.Errorf("%d alert log entries after one more on the copy, want 4", len(log))
	}
	if _, err := Copy(mid, src); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("copy into a store with data: %v", err)
	}
}
