package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// The alerts bucket (schema 4) holds two sub-buckets, both of JSON that is
// opaque here (package alert owns it):
//
//	alerts/
//	  active/ <alert key> -> the active alert
//	  log/    <uint64 big-endian sequence> -> a sent message, oldest first
var (
	alertsBucket      = []byte("alerts")
	alertActiveBucket = []byte("active")
	alertLogBucket    = []byte("log")
)

func alertsSub(tx txn, name []byte) bucket { return root(tx, alertsBucket).Bucket(name) }

// ActiveAlerts returns every active alert by key.
func (db *DB) ActiveAlerts() (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	err := db.view(func(tx txn) error {
		return alertsSub(tx, alertActiveBucket).ForEach(func(k, v []byte) error {
			out[string(k)] = append(json.RawMessage(nil), v...)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: active alerts: %w", err)
	}
	return out, nil
}

// PutActiveAlert stores an active alert under its key.
func (db *DB) PutActiveAlert(key string, v any) error {
	if key == "" || len(key) > 512 {
		return fmt.Errorf("store: an alert key is 1 to 512 bytes")
	}
	return db.update(func(tx txn) error { return putJSON(alertsSub(tx, alertActiveBucket), key, v) })
}

// DeleteActiveAlert forgets an active alert; a missing one is no error.
func (db *DB) DeleteActiveAlert(key string) error {
	return db.update(func(tx txn) error { return alertsSub(tx, alertActiveBucket).Delete([]byte(key)) })
}

// AppendAlertLog adds an entry to the alert log and keeps only the newest
// keep entries.
func (db *DB) AppendAlertLog(v any, keep int) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode alert log entry: %w", err)
	}
	return db.update(func(tx txn) error {
		b := alertsSub(tx, alertLogBucket)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		if err := b.Put(binary.BigEndian.AppendUint64(nil, seq), data); err != nil {
			return err
		}
		// Drop the entries older than the newest keep: keys sort by
		// sequence.
		for {
			k, _ := b.Cursor().First()
			if k == nil || binary.BigEndian.Uint64(k)+uint64(keep) > seq {
				break
			}
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// AlertLog returns the newest n entries of the alert log, newest first.
func (db *DB) AlertLog(n int) ([]json.RawMessage, error) {
	var out []json.RawMessage
	err := db.view(func(tx txn) error {
		c := alertsSub(tx, alertLogBucket).Cursor()
		for k, v := c.Last(); k != nil && len(out) < n; k, v = c.Prev() {
			out = append(out, append(json.RawMessage(nil), v...))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: alert log: %w", err)
	}
	return out, nil
}
