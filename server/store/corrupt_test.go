package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// filledStore writes a store of a few hundred kilobytes: rooms, events,
// devices, outcomes.
func filledStore(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lintel.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	for r := range 10 {
		id := fmt.Sprint("room-", r)
		if err := db.PutRoom(Room{ID: id, Name: "Room " + id, Calendar: id, TimeZone: "UTC", Display: DisplayTitle}); err != nil {
			t.Fatal(err)
		}
		err := db.UpdateEvents(id, func(evs []Event) ([]Event, error) {
			for i := range 100 {
				evs = append(evs, Event{ID: fmt.Sprint("e", i), Subject: strings.Repeat("Planning ", 20), Start: start.Add(time.Duration(i) * time.Hour), End: start.Add(time.Duration(i)*time.Hour + 30*time.Minute)})
			}
			return evs, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.AddDevice(Device{ID: fmt.Sprint("d", r), Name: "Door", Room: id}, fmt.Sprint("hash-", r)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// wantCorrupt checks that err names the file and the restore command.
func wantCorrupt(t *testing.T, path string, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("a damaged store was accepted")
	}
	t.Log(err)
	for _, want := range []string{path, "lintel-server restore"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
}

// The review's finding: a half-truncated lintel.db crashed the server.
// Open now refuses it with an error naming the file and the way back.
func TestOpenTruncatedStore(t *testing.T) {
	path := filledStore(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err == nil {
		db.Close()
	}
	wantCorrupt(t, path, err)
	wantCorrupt(t, path, Verify(path))
}

// Pages overwritten in the middle of the file (a bad disk, a stray write).
func TestOpenPageCorruptedStore(t *testing.T) {
	path := filledStore(t)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	junk := make([]byte, 4096)
	for i := range junk {
		junk[i] = byte(i*7 + 3)
	}
	for page := int64(2); page*4096 < fi.Size(); page += 3 {
		if _, err := f.WriteAt(junk, page*4096); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	db, err := Open(path)
	if err == nil {
		db.Close()
	}
	wantCorrupt(t, path, err)
	wantCorrupt(t, path, Verify(path))
}

// A missing or empty (0 byte) store is not silently replaced by a new one:
// the server says how to start afresh or restore.
func TestOpenExistingRefusesMissingAndEmpty(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing", "lintel.db")
	_, err := OpenExisting(missing)
	if !errors.Is(err, ErrNoStore) || !strings.Contains(err.Error(), "--init") || !strings.Contains(err.Error(), "restore") {
		t.Errorf("missing store: %v", err)
	}
	if _, serr := os.Stat(missing); !os.IsNotExist(serr) {
		t.Error("OpenExisting created the store")
	}
	empty := filepath.Join(dir, "lintel.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = OpenExisting(empty)
	if !errors.Is(err, ErrNoStore) || !strings.Contains(err.Error(), "empty") || !strings.Contains(err.Error(), "restore") {
		t.Errorf("empty store: %v", err)
	}
	if err := Verify(empty); err == nil {
		t.Error("Verify accepted an empty file")
	}
	if err := Verify(missing); err == nil {
		t.Error("Verify accepted a missing file")
	}
	// Open is the explicit way to make a new store, over an empty file too.
	db, err := Open(empty)
	if err != nil {
		t.Fatalf("Open over an empty file: %v", err)
	}
	db.Close()
	if err := Verify(empty); err != nil {
		t.Errorf("a new store does not verify: %v", err)
	}
	db, err = OpenExisting(empty)
	if err != nil {
		t.Fatalf("OpenExisting of a good store: %v", err)
	}
	db.Close()
}
