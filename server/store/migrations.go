package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// migrations bring the store from one schema version to the next. Entry i
// moves version i to version i+1; the list only grows. Each runs in the same
// transaction as the version bump, so a crash leaves the old version whole.
var migrations = []func(tx txn) error{
	// 0 -> 1: the initial buckets.
	func(tx txn) error {
		r := tx.Bucket(rootBucket)
		for _, name := range [][]byte{roomsBucket, devicesBucket, tokensBucket, statesBucket, eventsBucket, requestsBucket, settingsBucket} {
			if _, err := r.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	},
	// 1 -> 2: administrators, their sessions and API tokens.
	func(tx txn) error {
		r := tx.Bucket(rootBucket)
		for _, name := range [][]byte{adminsBucket, sessionsBucket, apiTokensBucket} {
			if _, err := r.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	},
	// 2 -> 3: check-ins at the panel.
	func(tx txn) error {
		_, err := tx.Bucket(rootBucket).CreateBucketIfNotExists(checkinsBucket)
		return err
	},
	// 3 -> 4: the token hashes of deleted devices. (Revoking used to
	// delete a device's token hash; such panels are told their token is
	// unknown, which no longer makes them forget it: delete and pair
	// them again.)
	func(tx txn) error {
		_, err := tx.Bucket(rootBucket).CreateBucketIfNotExists(revokedBucket)
		return err
	},
	// 4 -> 5: the activity log and the requests indexed by time, so that
	// the log is read a page at a time and both are pruned oldest first.
	// The outcomes recorded so far are indexed.
	func(tx txn) error {
		r := tx.Bucket(rootBucket)
		activity, err := r.CreateBucketIfNotExists(activityBucket)
		if err != nil {
			return err
		}
		log, err := r.CreateBucketIfNotExists(requestLogBucket)
		if err != nil {
			return err
		}
		return r.Bucket(requestsBucket).ForEach(func(k, v []byte) error {
			var o Outcome
			if err := json.Unmarshal(v, &o); err != nil {
				return fmt.Errorf("decode outcome %s: %w", k, err)
			}
			if err := log.Put(timeKey(o.At, k), nil); err != nil {
				return err
			}
			return activity.Put(timeKey(o.At, k), v)
		})
	},
	// 5 -> 6: alerts (active ones and the log of sent messages).
	func(tx txn) error {
		a, err := tx.Bucket(rootBucket).CreateBucketIfNotExists(alertsBucket)
		if err != nil {
			return err
		}
		for _, name := range [][]byte{alertActiveBucket, alertLogBucket} {
			if _, err := a.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	},
	// 6 -> 7: roles and scoped API tokens. Every account so far is an
	// admin and every API token may do everything (the CLI's token file
	// keeps working); tokens get the ID they are listed and revoked by.
	func(tx txn) error {
		r := tx.Bucket(rootBucket)
		if err := rewriteJSON(r.Bucket(adminsBucket), func(_ []byte, a *Admin) {
			if a.Role == "" {
				a.Role = "admin"
			}
		}); err != nil {
			return err
		}
		return rewriteJSON(r.Bucket(apiTokensBucket), func(k []byte, t *APIToken) {
			t.ID = tokenID(string(k))
			if t.Scope == "" {
				t.Scope = "admin"
			}
		})
	},
	// 7 -> 8: Graph change-notification subscriptions by room.
	func(tx txn) error {
		_, err := tx.Bucket(rootBucket).CreateBucketIfNotExists(subscriptionsBucket)
		return err
	},
	// 8 -> 9: panel firmware builds and their rollouts.
	func(tx txn) error {
		f, err := tx.Bucket(rootBucket).CreateBucketIfNotExists(firmwareBucket)
		if err != nil {
			return err
		}
		for _, name := range [][]byte{fwBuildsBucket, fwRollBucket} {
			if _, err := f.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	},
	// 9 -> 10: the meetings that took place, for utilization figures.
	// Nothing earlier was recorded: the figures start with the upgrade.
	func(tx txn) error {
		_, err := tx.Bucket(rootBucket).CreateBucketIfNotExists(meetingsBucket)
		return err
	},
}

// rewriteJSON decodes every value of b as a T, changes it and writes it
// back.
func rewriteJSON[T any](b bucket, change func(k []byte, v *T)) error {
	out := map[string][]byte{}
	err := b.ForEach(func(k, v []byte) error {
		var t T
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("decode %s: %w", k, err)
		}
		change(k, &t)
		nv, err := json.Marshal(t)
		if err != nil {
			return err
		}
		out[string(k)] = nv
		return nil
	})
	if err != nil {
		return err
	}
	for k, v := range out {
		if err := b.Put([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
}

// SchemaVersion is the version a store has after Open.
func SchemaVersion() int { return len(migrations) }

func (db *DB) migrate() error {
	return db.update(func(tx txn) error {
		r, err := tx.CreateBucketIfNotExists(rootBucket)
		if err != nil {
			return fmt.Errorf("create root bucket: %w", err)
		}
		meta, err := r.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return fmt.Errorf("create meta bucket: %w", err)
		}
		var version uint64
		if v := meta.Get([]byte("schema")); v != nil {
			if len(v) != 8 {
				return fmt.Errorf("schema version is %d bytes, want 8: not a Lintel database?", len(v))
			}
			version = binary.BigEndian.Uint64(v)
		}
		if version > uint64(len(migrations)) {
			return fmt.Errorf("schema version %d is newer than this lintel-server knows (%d): upgrade lintel-server", version, len(migrations))
		}
		for ; version < uint64(len(migrations)); version++ {
			if err := migrations[version](tx); err != nil {
				return fmt.Errorf("migrate schema %d to %d: %w", version, version+1, err)
			}
		}
		return meta.Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, version))
	})
}
