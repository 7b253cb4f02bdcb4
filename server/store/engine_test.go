package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// walk lists a bucket's keys through a cursor, forwards or backwards.
func walkKeys(c cursor, backwards bool) []string {
	var out []string
	if backwards {
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			out = append(out, string(k))
		}
		return out
	}
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		out = append(out, string(k))
	}
	return out
}

// TestCursorsAcrossPages: cursors walk more keys than etcd returns in one
// page, in byte order both ways, see the transaction's own writes, and
// seek; binary keys (time-ordered buckets) sort as bytes.
func TestCursorsAcrossPages(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB) {
		var want []string
		for i := range 2*etcdPage + 17 {
			k := fmt.Sprintf("k%04d", i)
			want = append(want, k)
			if err := db.PutSetting(k, "v"); err != nil {
				t.Fatal(err)
			}
		}
		err := db.update(func(tx txn) error {
			b := root(tx, settingsBucket)
			// Writes of this transaction: one new key in the middle of
			// the second page, one deleted in the first, a whole page
			// deleted so that a cursor must skip an emptied page.
			b.Put([]byte("k0150x"), []byte("new"))
			b.Delete([]byte("k0003"))
			for i := 20; i < 20+etcdPage; i++ {
				b.Delete(fmt.Appendf(nil, "k%04d", i))
			}
			exp := slices.Clone(want)
			exp = slices.DeleteFunc(exp, func(k string) bool {
				var i int
				fmt.Sscanf(k, "k%04d", &i)
				return k == "k0003" || (i >= 20 && i < 20+etcdPage)
			})
			exp = append(exp, "k0150x")
			slices.Sort(exp)
			if got := walkKeys(b.Cursor(), false); !slices.Equal(got, exp) {
				t.Errorf("forwards in a write: %d keys %v...", len(got), got[:min(5, len(got))])
			}
			rev := slices.Clone(exp)
			slices.Reverse(rev)
			if got := walkKeys(b.Cursor(), true); !slices.Equal(got, rev) {
				t.Errorf("backwards in a write: %d keys, want %d", len(got), len(rev))
			}
			c := b.Cursor()
			if k, _ := c.Seek([]byte("k0150")); string(k) != "k0150" {
				t.Errorf("seek k0150: %q", k)
			} else if k, v := c.Next(); string(k) != "k0150x" || string(v) != "new" {
				t.Errorf("after k0150: %q %q", k, v)
			}
			if k, _ := c.Seek([]byte("k0120")); string(k) != "k0120" {
				t.Errorf("seek k0120: %q", k)
			} else if k, _ = c.Prev(); string(k) != "k0019" {
				t.Errorf("before k0120 (k0020..k0119 deleted): %q", k)
			}
			if k, _ := c.Seek([]byte("zzz")); k != nil {
				t.Errorf("seek past the end: %q", k)
			}
			return errors.New("roll back")
		})
		if err == nil || err.Error() != "roll back" {
			t.Fatal(err)
		}
		// Rolled back: nothing of it stayed.
		db.view(func(tx txn) error {
			if got := walkKeys(root(tx, settingsBucket).Cursor(), false); !slices.Equal(got, want) {
				t.Errorf("after a rolled back write: %d keys, want %d", len(got), len(want))
			}
			return nil
		})
		// Binary keys sort as bytes.
		db.update(func(tx txn) error {
			b := root(tx, activityBucket)
			for _, k := range [][]byte{{0x18, 0xff}, {0x00, 0x01}, {0x18, 0x2f, 'a'}, {0x7f}} {
				b.Put(k, []byte("{}"))
			}
			return nil
		})
		db.view(func(tx txn) error {
			got := walkKeys(root(tx, activityBucket).Cursor(), false)
			if want := []string{"\x00\x01", "\x18/a", "\x18\xff", "\x7f"}; !slices.Equal(got, want) {
				t.Errorf("binary keys in order %q, want %q", got, want)
			}
			return nil
		})
	})
}

// TestNestedBuckets: nested buckets are listed, deleted with what they
// hold, and their names may hold any byte.
func TestNestedBuckets(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB) {
		names := []string{"room/1", "a=b", "#x", "plain"}
		db.update(func(tx txn) error {
			for _, n := range names {
				b, err := root(tx, eventsBucket).CreateBucketIfNotExists([]byte(n))
				if err != nil {
					return err
				}
				b.Put([]byte("e1"), []byte(n))
			}
			return nil
		})
		var listed []string
		db.view(func(tx txn) error {
			return root(tx, eventsBucket).ForEachBucket(func(name []byte) error {
				listed = append(listed, string(name))
				if got := root(tx, eventsBucket).Bucket(name).Get([]byte("e1")); string(got) != string(name) {
					t.Errorf("bucket %q holds %q", name, got)
				}
				return nil
			})
		})
		want := slices.Clone(names)
		slices.Sort(want)
		if !slices.Equal(listed, want) {
			t.Errorf("nested buckets %q, want %q", listed, want)
		}
		if err := db.update(func(tx txn) error { return root(tx, eventsBucket).DeleteBucket([]byte("room/1")) }); err != nil {
			t.Fatal(err)
		}
		db.view(func(tx txn) error {
			if root(tx, eventsBucket).Bucket([]byte("room/1")) != nil {
				t.Error("deleted bucket still there")
			}
			if root(tx, eventsBucket).Bucket([]byte("plain")) == nil {
				t.Error("a sibling went with it")
			}
			return nil
		})
	})
}

// TestConcurrentWritesLoseNothing: writers racing on one record each get
// their change in (none overwrites another's), and of writers racing for
// one slot exactly one wins. On etcd the writers are two stores on the
// same prefix: two replicas.
func TestConcurrentWritesLoseNothing(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB) {
		other := db
		if db.Path() == "" {
			other = openEtcdAt(t, strings.TrimSuffix(db.eng.(*etcdEngine).prefix, "/"), 0)
		}
		if err := db.PutRoom(Room{ID: "r1", Name: "R", Calendar: "r1", TimeZone: "UTC", Display: DisplayTitle}); err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 6, 10, 9, 0, 0, 0, time.UTC)
		const writers = 24
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := db
				if i%2 == 1 {
					s = other
				}
				// Each adds its own event: all must stay.
				err := s.UpdateEvents("r1", func(evs []Event) ([]Event, error) {
					at := start.Add(time.Duration(i+1) * 24 * time.Hour)
					return append(evs, Event{ID: fmt.Sprint("own-", i), Start: at, End: at.Add(time.Hour)}), nil
				})
				if err != nil {
					t.Error(err)
				}
				// All want the same slot: one gets it.
				err = s.UpdateEvents("r1", func(evs []Event) ([]Event, error) {
					for _, e := range evs {
						if e.Start.Equal(start) {
							return nil, ErrExists
						}
					}
					return append(evs, Event{ID: fmt.Sprint("slot-", i), Start: start, End: start.Add(time.Hour)}), nil
				})
				if err == nil {
					mu.Lock()
					won++
					mu.Unlock()
				} else if !errors.Is(err, ErrExists) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		evs, err := db.Events("r1")
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != writers+1 || won != 1 {
			t.Errorf("%d events and %d winners of the slot, want %d and 1", len(evs), won, writers+1)
		}
	})
}

// TestEtcdBoundsTransactions: a write larger than etcd's --max-txn-ops is
// refused with a clear error and writes nothing; pruning a backlog larger
// than that goes in steps and removes all of it.
func TestEtcdBoundsTransactions(t *testing.T) {
	db := openEtcdAt(t, etcdPrefix(t), 32)
	err := db.update(func(tx txn) error {
		for i := range 40 {
			root(tx, settingsBucket).Put(fmt.Appendf(nil, "k%d", i), []byte("1"))
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "--max-txn-ops 32") {
		t.Fatalf("a 40-key write with --max-txn-ops 32: %v", err)
	}
	if keys, _ := db.SettingKeys("k"); len(keys) != 0 {
		t.Errorf("%d keys written by a refused write", len(keys))
	}
	now := time.Date(2026, 6, 10, 9, 0, 0, 0, time.UTC)
	db.PutRoom(Room{ID: "r1", Name: "R", Calendar: "r1", TimeZone: "UTC", Display: DisplayTitle})
	for i := range 50 {
		at := now.Add(-30 * 24 * time.Hour).Add(time.Duration(i) * time.Minute)
		if err := db.PutOutcome(outcomeAt("d1", fmt.Sprint("old-", i), at)); err != nil {
			t.Fatal(err)
		}
		if err := db.PutCheckIn("r1", fmt.Sprint("old-", i), at); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Prune(now, Retention{Activity: 7 * 24 * time.Hour, Requests: 7 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if got.Activity != 50 || got.Requests != 50 || got.CheckIns != 50 {
		t.Errorf("pruned %+v, want 50 of each", got)
	}
}

// TestEtcdUnreachable: no etcd at the address is said plainly, quickly.
func TestEtcdUnreachable(t *testing.T) {
	_, err := OpenEtcd(context.Background(), EtcdOpts{Endpoints: []string{"http://127.0.0.1:1"}, Timeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "--etcd-endpoints") {
		t.Errorf("open with no etcd: %v", err)
	}
}

// TestEtcdMigratesFromEveryVersion: a store on etcd left at any schema
// version opens at the current one, as a bbolt file does (TestMigrations).
func TestEtcdMigratesFromEveryVersion(t *testing.T) {
	for v := range len(migrations) {
		prefix := etcdPrefix(t)
		e := &etcdEngine{cli: testClient, prefix: prefix, timeout: 5 * time.Second, maxOps: defaultMaxTxnOps, where: prefix}
		err := e.update(func(tx txn) error {
			r, _ := tx.CreateBucketIfNotExists(rootBucket)
			meta, _ := r.CreateBucketIfNotExists(metaBucket)
			for i := range v {
				if err := migrations[i](tx); err != nil {
					return err
				}
			}
			return meta.Put([]byte("schema"), []byte{0, 0, 0, 0, 0, 0, 0, byte(v)})
		})
		if err != nil {
			t.Fatal(err)
		}
		db := openEtcdAt(t, prefix, 0)
		db.view(func(tx txn) error {
			if got := tx.Bucket(rootBucket).Bucket(metaBucket).Get([]byte("schema")); got[7] != byte(SchemaVersion()) {
				t.Errorf("from %d: schema %d after open, want %d", v, got[7], SchemaVersion())
			}
			return nil
		})
		if _, err := db.Rooms(); err != nil {
			t.Errorf("from %d: %v", v, err)
		}
	}
}

// TestEtcdLostMidway: when etcd goes away under an open store, reads and
// writes fail with ErrUnavailable (nothing half written, no crash).
func TestEtcdLostMidway(t *testing.T) {
	db, cli := replicaStore(t, etcdPrefix(t))
	if err := db.PutRoom(Room{ID: "r1", Name: "R", Calendar: "r1", TimeZone: "UTC", Display: DisplayTitle}); err != nil {
		t.Fatal(err)
	}
	cli.Close()
	if _, err := db.Rooms(); !errors.Is(err, ErrUnavailable) {
		t.Errorf("rooms without etcd: %v", err)
	}
	if _, err := db.Room("r1"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("room without etcd: %v", err)
	}
	if err := db.UpdateEvents("r1", func(e []Event) ([]Event, error) { return e, nil }); !errors.Is(err, ErrUnavailable) {
		t.Errorf("write without etcd: %v", err)
	}
}

// TestSchemaBucketsOpenedOnce: a bucket of the schema's level, once seen,
// opens without a read (etcd), and is gone once deleted; the engines
// agree.
func TestSchemaBucketsOpenedOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB) {
		name := []byte("scratch")
		exists := func() (ok bool) {
			if err := db.view(func(tx txn) error { ok = tx.Bucket(rootBucket).Bucket(name) != nil; return nil }); err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if exists() {
			t.Fatal("scratch exists before it was made")
		}
		if err := db.update(func(tx txn) error { _, err := tx.Bucket(rootBucket).CreateBucket(name); return err }); err != nil {
			t.Fatal(err)
		}
		if !exists() {
			t.Fatal("scratch not found after it was made")
		}
		if !exists() {
			t.Fatal("scratch not found the second time (opened without a read)")
		}
		if err := db.update(func(tx txn) error { return tx.Bucket(rootBucket).DeleteBucket(name) }); err != nil {
			t.Fatal(err)
		}
		if exists() {
			t.Error("scratch still opens after it was deleted")
		}
	})
}
