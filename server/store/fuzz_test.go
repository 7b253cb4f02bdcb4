package store

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzVerify: restore and Open read a file from outside (a backup, a disk
// that failed). Whatever its bytes, Verify must return (never crash the
// process, never hang), and a file it accepts must open.
func FuzzVerify(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "good.db")
	db, err := Open(good)
	if err != nil {
		f.Fatal(err)
	}
	db.PutRoom(Room{ID: "r1", Name: "R", Calendar: "r1", TimeZone: "UTC", Display: DisplayTitle})
	db.PutOutcome(Outcome{Device: "d1", ID: "1", At: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC), Result: []byte(`{"ok":true}`)})
	db.Close()
	data, err := os.ReadFile(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add(data[:8192])
	f.Add([]byte("not a database"))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "lintel.db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := Verify(path); err != nil {
			return
		}
		db, err := OpenExisting(path)
		if err != nil {
			t.Fatalf("verified, but does not open: %v", err)
		}
		db.Close()
	})
}

// FuzzActivityCursor: the activity API and page pass a cursor from a URL
// (a time and a key) here; any of them reads a bounded page.
func FuzzActivityCursor(f *testing.F) {
	db, err := Open(filepath.Join(f.TempDir(), "lintel.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	for i := range 5 {
		db.PutOutcome(Outcome{Device: "d1", ID: string(rune('a' + i)), At: t0.Add(time.Duration(i) * time.Minute), Result: []byte(`{}`)})
	}
	f.Add(t0.Add(2*time.Minute).UnixNano(), "d1/c", 2)
	f.Add(int64(0), "", 0)
	f.Add(int64(-1), "\xff\xff", 10)
	f.Fuzz(func(t *testing.T, ns int64, key string, limit int) {
		at := time.Unix(0, ns)
		for _, read := range []func(time.Time, string, int) ([]Outcome, bool, error){db.ActivityOlder, db.ActivityNewer} {
			page, _, err := read(at, key, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 5 || (limit > 0 && len(page) > limit) {
				t.Fatalf("%d items for limit %d", len(page), limit)
			}
		}
	})
}

// FuzzRoomJSON: the API decodes a room from a request body and validates
// it before it is stored.
func FuzzRoomJSON(f *testing.F) {
	f.Add([]byte(`{"id":"rigi","name":"Rigi","calendar":"rigi","tz":"Europe/Zurich","display":"title","booking":{"instant":true,"max_min":90,"office_end":"18:00"}}`))
	f.Add([]byte(`{"id":"x","booking":{"office_end":"25:61","max_min":-4}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Room
		if json.Unmarshal(b, &r) != nil {
			return
		}
		if err := r.Validate(); err != nil {
			return
		}
		if r.Booking.MaxMinutes < 0 || r.Booking.MaxMinutes > DefaultMaxBookingMinutes {
			t.Fatalf("accepted a longest booking of %d minutes", r.Booking.MaxMinutes)
		}
		if r.Booking.OfficeEnd != "" {
			if _, err := time.Parse("15:04", r.Booking.OfficeEnd); err != nil {
				t.Fatalf("accepted office hours ending %q", r.Booking.OfficeEnd)
			}
		}
		if !validID(r.ID) || errors.Is(r.Validate(), ErrNotFound) {
			t.Fatalf("accepted id %q", r.ID)
		}
	})
}
