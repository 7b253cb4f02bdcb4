package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "lintel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenCreatesPrivateFileAndPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "lintel.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	room := Room{ID: "r1", Name: "Matterhorn", Calendar: "r1", TimeZone: "Europe/Zurich", Display: DisplayTitle}
	if err := db.PutRoom(room); err != nil {
		t.Fatal(err)
	}
	db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode %o, want 600", perm)
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Room("r1")
	if err != nil || got.Name != "Matterhorn" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
}

func TestOpenLockedNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lintel.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = Open(path) // flock is per open file: a second open is refused like another process's
	if err == nil {
		t.Fatal("opened a locked file")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "locked by another process") {
		t.Errorf("error does not name the file and the lock: %v", err)
	}
}

func TestOpenCorruptNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lintel.db")
	junk := make([]byte, 64<<10)
	for i := range junk {
		junk[i] = byte(i * 7)
	}
	if err := os.WriteFile(path, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path)
	if err == nil {
		t.Fatal("opened a corrupt file")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a valid Lintel database") {
		t.Errorf("error does not name the file and the problem: %v", err)
	}
}

func TestMigrationsReachCurrentVersionAndRefuseNewer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lintel.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var version uint64
	db.view(func(tx txn) error {
		v := tx.Bucket(rootBucket).Bucket(metaBucket).Get([]byte("schema"))
		for _, b := range v {
			version = version<<8 | uint64(b)
		}
		return nil
	})
	if version != uint64(SchemaVersion()) {
		t.Errorf("schema version %d, want %d", version, SchemaVersion())
	}
	// A store written by a newer server must not be opened (and damaged).
	db.eng.(*boltEngine).db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(rootBucket).Bucket(metaBucket).Put([]byte("schema"), []byte{0, 0, 0, 0, 0, 0, 0, 99})
	})
	db.Close()
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "newer than this lintel-server") {
		t.Errorf("opening a newer schema: %v", err)
	}
}

// storeAt writes a store file as schema version v left it (migrations
// 0 to v-1 applied), with what fill puts in its root bucket, and returns
// its path.
func storeAt(t *testing.T, v int, fill func(r bucket) error) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lintel.db")
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		r, _ := tx.CreateBucket(rootBucket)
		meta, _ := r.CreateBucket(metaBucket)
		for i := range v {
			if err := migrations[i](boltTx{tx}); err != nil {
				return err
			}
		}
		if err := fill(boltBucket{r}); err != nil {
			return err
		}
		return meta.Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, uint64(v)))
	})
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// migrationTests holds a test of each migration i -> i+1 (i > 0; the
// initial buckets are TestMigrationZeroCreatesBuckets'): it starts from a
// store at version i with data in it, opens it, and checks what the
// migration adds and that the data is kept.
var migrationTests = map[int]func(t *testing.T){
	1: func(t *testing.T) {
		path := storeAt(t, 1, func(r bucket) error {
			return r.Bucket(roomsBucket).Put([]byte("r1"), []byte(`{"id":"r1","name":"Kept","calendar":"r1","tz":"UTC","display":"title"}`))
		})
		db := openPath(t, path)
		if r, err := db.Room("r1"); err != nil || r.Name != "Kept" {
			t.Errorf("room lost in migration: %+v %v", r, err)
		}
		if err := db.PutAdmin(Admin{Username: "a", PasswordHash: []byte("h")}); err != nil {
			t.Errorf("admins bucket missing after migration 1 -> 2: %v", err)
		}
	},
	2: func(t *testing.T) {
		path := storeAt(t, 2, func(r bucket) error {
			if r.Bucket(checkinsBucket) != nil {
				return errors.New("a version 2 store has check-ins already: the test builds the wrong version")
			}
			if err := r.Bucket(roomsBucket).Put([]byte("r1"), []byte(`{"id":"r1","name":"Kept","calendar":"r1","tz":"UTC","display":"title"}`)); err != nil {
				return err
			}
			return r.Bucket(adminsBucket).Put([]byte("ops"), []byte(`{"username":"ops","password_hash":"aGFzaA=="}`))
		})
		db := openPath(t, path)
		db.view(func(tx txn) error {
			if root(tx, checkinsBucket) == nil {
				t.Fatal("no check-ins bucket after migration 2 -> 3")
			}
			return nil
		})
		at := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
		if err := db.PutCheckIn("r1", "e1", at); err != nil || !db.CheckedIn("r1", "e1") || db.CheckedIn("r1", "e2") {
			t.Errorf("check-ins after migration 2 -> 3: %v", err)
		}
		if r, err := db.Room("r1"); err != nil || r.Name != "Kept" {
			t.Errorf("room lost in migration: %+v %v", r, err)
		}
		if a, err := db.Admin("ops"); err != nil || string(a.PasswordHash) != "hash" {
			t.Errorf("admin lost in migration: %+v %v", a, err)
		}
	},
	3: func(t *testing.T) {
		path := storeAt(t, 3, func(r bucket) error {
			if err := r.Bucket(devicesBucket).Put([]byte("d1"), []byte(`{"id":"d1","name":"Door","room":"r1"}`)); err != nil {
				return err
			}
			return r.Bucket(tokensBucket).Put([]byte("hash-1"), []byte("d1"))
		})
		db := openPath(t, path)
		if d, err := db.DeviceByToken("hash-1"); err != nil || d.Name != "Door" {
			t.Fatalf("device lost in migration: %+v %v", d, err)
		}
		if err := db.DeleteDevice("d1"); err != nil {
			t.Fatalf("delete after migration 3 -> 4: %v", err)
		}
		if d, err := db.DeviceByToken("hash-1"); err != nil || !d.Revoked {
			t.Errorf("deleted device's token: %+v %v", d, err)
		}
	},
	4: func(t *testing.T) {
		t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
		path := storeAt(t, 4, func(r bucket) error {
			for i := range 3 {
				o := Outcome{Device: "d1", ID: fmt.Sprint(i), Room: "r1", Action: "book", At: t0.Add(time.Duration(i) * time.Hour), Result: []byte(`{"ok":true}`)}
				if err := putJSON(r.Bucket(requestsBucket), "d1/"+o.ID, o); err != nil {
					return err
				}
			}
			return nil
		})
		db := openPath(t, path)
		page, err := db.Outcomes(10)
		if err != nil || len(page) != 3 || page[0].ID != "2" {
			t.Fatalf("activity after migration 4 -> 5: %+v %v", page, err)
		}
		if _, err := db.Outcome("d1", "0"); err != nil {
			t.Errorf("idempotency record lost: %v", err)
		}
		got, _ := db.Prune(t0.Add(30*24*time.Hour), Retention{Activity: 90 * 24 * time.Hour, Requests: 7 * 24 * time.Hour})
		if got.Requests != 3 {
			t.Errorf("migrated requests not pruned: %+v", got)
		}
	},
	5: func(t *testing.T) {
		path := storeAt(t, 5, func(r bucket) error {
			if r.Bucket(alertsBucket) != nil {
				return errors.New("a version 5 store has alerts already: the test builds the wrong version")
			}
			if err := r.Bucket(checkinsBucket).Put([]byte("r1/e1"), []byte("2026-03-10T09:00:00Z")); err != nil {
				return err
			}
			return r.Bucket(settingsBucket).Put([]byte("connector"), []byte(`{"kind":"builtin"}`))
		})
		db := openPath(t, path)
		if err := db.PutActiveAlert("panel_offline/d1", map[string]string{"subject": "x"}); err != nil {
			t.Fatalf("alerts bucket missing after migration 5 -> 6: %v", err)
		}
		if err := db.AppendAlertLog(map[string]int{"n": 1}, 10); err != nil {
			t.Fatalf("alert log missing after migration 5 -> 6: %v", err)
		}
		if active, err := db.ActiveAlerts(); err != nil || len(active) != 1 {
			t.Errorf("active alerts after migration: %v %v", active, err)
		}
		if !db.CheckedIn("r1", "e1") {
			t.Error("check-in lost in migration")
		}
		var c map[string]string
		if err := db.Setting("connector", &c); err != nil || c["kind"] != "builtin" {
			t.Errorf("setting lost in migration: %v %v", c, err)
		}
	},
	6: func(t *testing.T) {
		const hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		path := storeAt(t, 6, func(r bucket) error {
			if err := r.Bucket(adminsBucket).Put([]byte("ops"), []byte(`{"username":"ops","password_hash":"aGFzaA==","created":"2026-03-10T09:00:00Z"}`)); err != nil {
				return err
			}
			// The CLI's token file from before scopes.
			return r.Bucket(apiTokensBucket).Put([]byte(hash), []byte(`{"name":"demo cli","admin":"admin","created":"2026-03-10T09:00:00Z"}`))
		})
		db := openPath(t, path)
		if a, err := db.Admin("ops"); err != nil || a.Role != "admin" || string(a.PasswordHash) != "hash" {
			t.Errorf("admin after migration 6 -> 7: %+v %v", a, err)
		}
		tok, err := db.APIToken(hash)
		if err != nil || tok.Scope != "admin" || tok.ID != hash[:16] || tok.Name != "demo cli" || !tok.Revoked.IsZero() || !tok.Expires.IsZero() {
			t.Fatalf("API token after migration 6 -> 7: %+v %v", tok, err)
		}
		if _, err := db.RevokeAPIToken(hash[:16], time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC)); err != nil {
			t.Errorf("revoke a migrated token by its ID: %v", err)
		}
	},
	7: func(t *testing.T) {
		path := storeAt(t, 7, func(r bucket) error {
			if r.Bucket(subscriptionsBucket) != nil {
				return errors.New("a version 7 store has subscriptions already: the test builds the wrong version")
			}
			return r.Bucket(roomsBucket).Put([]byte("r1"), []byte(`{"id":"r1","name":"Kept","calendar":"r1@x","tz":"UTC","display":"title"}`))
		})
		db := openPath(t, path)
		exp := time.Date(2026, 3, 12, 9, 0, 0, 0, time.UTC)
		want := Subscription{Room: "r1", Calendar: "r1@x", ID: "sub-1", Expires: exp, ClientStateHash: "ab", URL: "https://l.example/graph/notifications"}
		if err := db.PutSubscription(want); err != nil {
			t.Fatalf("subscriptions bucket missing after migration 7 -> 8: %v", err)
		}
		got, err := db.Subscriptions()
		if err != nil || got["r1"] != want {
			t.Errorf("subscriptions after migration: %+v %v", got, err)
		}
		if err := db.DeleteSubscription("r1"); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.Subscriptions(); len(got) != 0 {
			t.Errorf("deleted subscription kept: %+v", got)
		}
		if r, err := db.Room("r1"); err != nil || r.Name != "Kept" {
			t.Errorf("room lost in migration: %+v %v", r, err)
		}
	},
	8: func(t *testing.T) {
		path := storeAt(t, 8, func(r bucket) error {
			if r.Bucket(firmwareBucket) != nil {
				return errors.New("a version 8 store has firmware already: the test builds the wrong version")
			}
			return r.Bucket(roomsBucket).Put([]byte("r1"), []byte(`{"id":"r1","name":"Kept","calendar":"r1","tz":"UTC","display":"title"}`))
		})
		db := openPath(t, path)
		b := FirmwareBuild{Version: "1.1.0", Arch: "linux/arm64", Size: 3, SHA256: "ab", File: "x", Uploaded: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}
		if err := db.PutFirmwareBuild(b); err != nil {
			t.Fatalf("firmware bucket missing after migration 8 -> 9: %v", err)
		}
		if got, err := db.FirmwareBuild("1.1.0", "linux/arm64"); err != nil || got.Size != 3 {
			t.Errorf("firmware build: %+v %v", got, err)
		}
		if err := db.PutRollout("1.1.0", map[string]string{"state": "running"}); err != nil {
			t.Fatalf("rollouts bucket missing after migration 8 -> 9: %v", err)
		}
		if rs, err := db.Rollouts(); err != nil || len(rs) != 1 {
			t.Errorf("rollouts %v %v", rs, err)
		}
		if r, err := db.Room("r1"); err != nil || r.Name != "Kept" {
			t.Errorf("room lost in migration: %+v %v", r, err)
		}
	},
	9: func(t *testing.T) {
		path := storeAt(t, 9, func(r bucket) error {
			if r.Bucket(meetingsBucket) != nil {
				return errors.New("a version 9 store has meetings already: the test builds the wrong version")
			}
			return r.Bucket(roomsBucket).Put([]byte("r1"), []byte(`{"id":"r1","name":"Kept","calendar":"r1","tz":"UTC","display":"title"}`))
		})
		db := openPath(t, path)
		start := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
		if err := db.PutMeeting(Meeting{Room: "r1", ID: "e1", Start: start, End: start.Add(time.Hour)}, time.Time{}); err != nil {
			t.Fatalf("meetings bucket missing after migration 9 -> 10: %v", err)
		}
		n := 0
		db.Meetings(start, start.Add(time.Hour), func(Meeting) error { n++; return nil })
		if n != 1 {
			t.Errorf("%d meetings read back, want 1", n)
		}
		if r, err := db.Room("r1"); err != nil || r.Name != "Kept" {
			t.Errorf("room lost in migration: %+v %v", r, err)
		}
	},
}

// TestMigrations runs each migration's test, and fails for a migration
// that has none.
func TestMigrations(t *testing.T) {
	for i := 1; i < len(migrations); i++ {
		test, ok := migrationTests[i]
		if !ok {
			t.Errorf("migration %d -> %d has no test: add one to migrationTests", i, i+1)
			continue
		}
		t.Run(fmt.Sprintf("%d to %d", i, i+1), func(t *testing.T) {
			test(t)
			// Whatever the start, the store ends at the current version.
			var version uint64
			db := openPath(t, storeAt(t, i, func(bucket) error { return nil }))
			db.view(func(tx txn) error {
				version = binary.BigEndian.Uint64(tx.Bucket(rootBucket).Bucket(metaBucket).Get([]byte("schema")))
				return nil
			})
			if version != uint64(SchemaVersion()) {
				t.Errorf("schema version %d after opening, want %d", version, SchemaVersion())
			}
		})
	}
}

func openPath(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSessionsExpire(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB) {
		now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
		db.PutSession("h", Session{Admin: "a", Expires: now.Add(time.Hour)})
		if s, err := db.Session("h", now); err != nil || s.Admin != "a" {
			t.Errorf("live session: %+v %v", s, err)
		}
		if _, err := db.Session("h", now.Add(time.Hour)); !errors.Is(err, ErrNotFound) {
			t.Errorf("expired session: %v", err)
		}
		if _, err := db.Session("h", now); !errors.Is(err, ErrNotFound) {
			t.Errorf("an expired session was not deleted: %v", err)
		}
	})
}

func TestMigrationZeroCreatesBuckets(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB) {
		db.view(func(tx txn) error {
			for _, name := range [][]byte{roomsBucket, devicesBucket, tokensBucket, statesBucket, eventsBucket, requestsBucket, settingsBucket} {
				if root(tx, name) == nil {
					t.Errorf("bucket %s missing after migration 0", name)
				}
			}
			return nil
		})
	})
}

func TestRoomValidation(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB) {
		bad := []Room{
			{ID: "", Name: "x", Calendar: "x", TimeZone: "UTC", Display: DisplayTitle},
			{ID: "a/b", Name: "x", Calendar: "x", TimeZone: "UTC", Display: DisplayTitle},
			{ID: "a", Calendar: "x", TimeZone: "UTC", Display: DisplayTitle},
			{ID: "a", Name: "x", Calendar: "x", TimeZone: "UTC", Display: "everything"},
		}
		for _, r := range bad {
			if err := db.PutRoom(r); err == nil {
				t.Errorf("stored invalid room %+v", r)
			}
		}
		if rooms, _ := db.Rooms(); len(rooms) != 0 {
			t.Errorf("invalid rooms were stored: %+v", rooms)
		}
	})
}

func TestDeviceTokensAndRevocation(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB) {
		d := Device{ID: "d1", Name: "Door 1", Room: "r1", Created: time.Now()}
		if err := db.AddDevice(d, "hash-1"); err != nil {
			t.Fatal(err)
		}
		if err := db.AddDevice(d, "hash-2"); !errors.Is(err, ErrExists) {
			t.Errorf("adding a device twice: %v, want ErrExists", err)
		}
		got, err := db.DeviceByToken("hash-1")
		if err != nil || got.ID != "d1" {
			t.Fatalf("by token: %+v %v", got, err)
		}
		if _, err := db.DeviceByToken("hash-2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a refused add left its token behind: %v", err)
		}
		if err := db.RevokeDevice("d1"); err != nil {
			t.Fatal(err)
		}
		// A revoked token is still recognized, as revoked: the panel is told
		// "revoked" (and forgets it), not "unknown".
		if got, err := db.DeviceByToken("hash-1"); err != nil || got.ID != "d1" || !got.Revoked {
			t.Errorf("revoked token: %+v %v, want device d1 marked revoked", got, err)
		}
		got, _ = db.Device("d1")
		if !got.Revoked {
			t.Error("device not marked revoked")
		}
		// Deleted: the device is gone from the list, its token still says
		// revoked.
		if err := db.DeleteDevice("d1"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Device("d1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted device: %v", err)
		}
		if got, err := db.DeviceByToken("hash-1"); err != nil || got.ID != "d1" || !got.Revoked {
			t.Errorf("deleted device's token: %+v %v, want d1 marked revoked", got, err)
		}
		if devs, _ := db.Devices(); len(devs) != 0 {
			t.Errorf("devices after delete: %+v", devs)
		}
	})
}

func TestUpdateEventsIsAllOrNothing(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB) {
		db.PutRoom(Room{ID: "r1", Name: "R", Calendar: "r1", TimeZone: "UTC", Display: DisplayTitle})
		start := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
		err := db.UpdateEvents("r1", func(ev []Event) ([]Event, error) {
			return append(ev, Event{ID: "b", Start: start.Add(time.Hour)}, Event{ID: "a", Start: start}), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		boom := errors.New("conflict")
		err = db.UpdateEvents("r1", func(ev []Event) ([]Event, error) { return nil, boom })
		if !errors.Is(err, boom) {
			t.Errorf("fn's error: %v", err)
		}
		evs, _ := db.Events("r1")
		if len(evs) != 2 || evs[0].ID != "a" || evs[1].ID != "b" {
			t.Errorf("events after an aborted update: %+v", evs)
		}
		if err := db.UpdateEvents("nope", func(ev []Event) ([]Event, error) { return ev, nil }); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown room: %v", err)
		}
		if err := db.DeleteRoom("r1"); err != nil {
			t.Fatal(err)
		}
		if evs, _ := db.Events("r1"); len(evs) != 0 {
			t.Errorf("events outlived their room: %+v", evs)
		}
	})
}

func TestSnapshotIsAnOpenableCopy(t *testing.T) {
	db := openTemp(t)
	db.PutRoom(Room{ID: "r1", Name: "R", Calendar: "r1", TimeZone: "UTC", Display: DisplayTitle})
	path := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Snapshot(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	copy, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer copy.Close()
	if r, err := copy.Room("r1"); err != nil || r.Name != "R" {
		t.Errorf("snapshot lacks the room: %+v %v", r, err)
	}
}

func TestOutcomes(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB) {
		t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
		db.PutOutcome(Outcome{Device: "d1", ID: "1", At: t0, Result: []byte(`{"ok":true}`)})
		db.PutOutcome(Outcome{Device: "d1", ID: "2", At: t0.Add(time.Minute), Result: []byte(`{"ok":false}`)})
		if o, err := db.Outcome("d1", "1"); err != nil || string(o.Result) != `{"ok":true}` {
			t.Errorf("outcome: %+v %v", o, err)
		}
		if _, err := db.Outcome("d2", "1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("another device's request id: %v", err)
		}
		all, _ := db.Outcomes(1)
		if len(all) != 1 || all[0].ID != "2" {
			t.Errorf("newest first: %+v", all)
		}
	})
}

// TestAlertLogKeepsTheNewest: the log is bounded and read newest first.
func TestAlertLogKeepsTheNewest(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB) {
		for i := range 12 {
			if err := db.AppendAlertLog(map[string]int{"n": i}, 5); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.AlertLog(100)
		if err != nil {
			t.Fatal(err)
		}
		var ns []string
		for _, raw := range got {
			ns = append(ns, string(raw))
		}
		want := []string{`{"n":11}`, `{"n":10}`, `{"n":9}`, `{"n":8}`, `{"n":7}`}
		if strings.Join(ns, " ") != strings.Join(want, " ") {
			t.Errorf("log %v, want %v", ns, want)
		}
		if got, _ := db.AlertLog(2); len(got) != 2 {
			t.Errorf("AlertLog(2) returned %d entries", len(got))
		}
		db.PutActiveAlert("k", map[string]int{"a": 1})
		db.DeleteActiveAlert("k")
		db.DeleteActiveAlert("never there")
		if active, _ := db.ActiveAlerts(); len(active) != 0 {
			t.Errorf("active after delete: %v", active)
		}
		if err := db.PutActiveAlert("", 1); err == nil {
			t.Error("an empty alert key was stored")
		}
	})
}

func TestAdminsRolesAndTheLastAdmin(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB) {
		now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
		for _, a := range []Admin{{Username: "ann", Role: "admin"}, {Username: "hal", Role: "helpdesk"}} {
			a.PasswordHash = []byte("h")
			if err := db.PutAdmin(a); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.DeleteAdmin("ann", now); !errors.Is(err, ErrLastAdmin) {
			t.Errorf("deleting the last admin: %v, want ErrLastAdmin", err)
		}
		if _, err := db.UpdateAdmin("ann", func(a *Admin) error { a.Role = "helpdesk"; return nil }); !errors.Is(err, ErrLastAdmin) {
			t.Errorf("demoting the last admin: %v, want ErrLastAdmin", err)
		}
		if _, err := db.UpdateAdmin("hal", func(a *Admin) error { a.Role = "admin"; return nil }); err != nil {
			t.Fatal(err)
		}
		// hal's sessions and tokens go with hal; ann's stay.
		db.PutSession("s-hal-1", Session{Admin: "hal", Expires: now.Add(time.Hour)})
		db.PutSession("s-hal-2", Session{Admin: "hal", Expires: now.Add(time.Hour)})
		db.PutSession("s-ann", Session{Admin: "ann", Expires: now.Add(time.Hour)})
		db.PutAPIToken("aaaaaaaaaaaaaaaa-hal", APIToken{Name: "hal's", Admin: "hal", Scope: "read"})
		db.PutAPIToken("bbbbbbbbbbbbbbbb-ann", APIToken{Name: "ann's", Admin: "ann", Scope: "read"})
		if n, err := db.DeleteSessionsOf("hal", "s-hal-1"); err != nil || n != 1 {
			t.Errorf("DeleteSessionsOf kept the current one? %d %v", n, err)
		}
		if _, err := db.Session("s-hal-1", now); err != nil {
			t.Errorf("the kept session is gone: %v", err)
		}
		if err := db.DeleteAdmin("hal", now); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Session("s-hal-1", now); !errors.Is(err, ErrNotFound) {
			t.Errorf("a removed admin's session lives on: %v", err)
		}
		if tok, _ := db.APIToken("aaaaaaaaaaaaaaaa-hal"); tok.Revoked.IsZero() {
			t.Error("a removed admin's token was not revoked")
		}
		if tok, _ := db.APIToken("bbbbbbbbbbbbbbbb-ann"); !tok.Revoked.IsZero() {
			t.Error("another admin's token was revoked")
		}
		if _, err := db.Session("s-ann", now); err != nil {
			t.Errorf("another admin's session ended: %v", err)
		}
		if _, err := db.RevokeAPIToken("cccccccccccccccc", now); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoking an unknown ID: %v", err)
		}
	})
}

func TestTouchAPITokenWritesAtMostOncePerMinute(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB) {
		now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
		db.PutAPIToken("dddddddddddddddd", APIToken{Name: "x", Scope: "read"})
		db.TouchAPIToken("dddddddddddddddd", now)
		db.TouchAPIToken("dddddddddddddddd", now.Add(30*time.Second))
		if tok, _ := db.APIToken("dddddddddddddddd"); !tok.LastUsed.Equal(now) {
			t.Errorf("last used %v, want %v", tok.LastUsed, now)
		}
		db.TouchAPIToken("dddddddddddddddd", now.Add(2*time.Minute))
		if tok, _ := db.APIToken("dddddddddddddddd"); !tok.LastUsed.Equal(now.Add(2 * time.Minute)) {
			t.Errorf("last used %v after two minutes", tok.LastUsed)
		}
	})
}
