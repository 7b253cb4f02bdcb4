package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Outcome is the recorded result of a panel's request, kept so a retry
// with the same id gets the same answer and never acts twice, and shown in
// the activity log.
type Outcome struct {
	Device  string          `json:"device"`
	ID      string          `json:"id"`
	Room    string          `json:"room"`
	Action  string          `json:"action"`
	At      time.Time       `json:"at"`
	Result  json.RawMessage `json:"result"` // the answer as sent
	Summary string          `json:"summary,omitempty"`
}

func outcomeKey(device, id string) []byte { return []byte(device + "/" + id) }

// timeKey is a key that sorts by time: the instant as 8 big-endian bytes of
// Unix nanoseconds, then rest to make it unique.
func timeKey(at time.Time, rest []byte) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(rest)), uint64(max(at.UnixNano(), 0)))
	return append(k, rest...)
}

// keyTime reads the instant back from a timeKey.
func keyTime(k []byte) time.Time {
	if len(k) < 8 {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))).UTC()
}

// Outcome returns the recorded outcome of a device's request, or
// ErrNotFound.
func (db *DB) Outcome(device, id string) (Outcome, error) {
	var o Outcome
	err := db.view(func(tx txn) error {
		v := root(tx, requestsBucket).Get(outcomeKey(device, id))
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &o)
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("store: request %s of device %s: %w", id, device, err)
	}
	return o, nil
}

// PutOutcome records a request's outcome: as the request's idempotency
// record, and in the activity log.
func (db *DB) PutOutcome(o Outcome) error {
	return db.batch(func(tx txn) error { return putOutcome(tx, o) })
}

// PutOutcomeCheckIn records a booking's outcome and the check-in that
// booking at the door counts as, in one transaction.
func (db *DB) PutOutcomeCheckIn(o Outcome, room, event string, at time.Time) error {
	return db.batch(func(tx txn) error {
		if err := putOutcome(tx, o); err != nil {
			return err
		}
		return putCheckIn(tx, room, event, at)
	})
}

func putOutcome(tx txn, o Outcome) error {
	data, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("store: encode outcome: %w", err)
	}
	key := outcomeKey(o.Device, o.ID)
	if err := root(tx, requestsBucket).Put(key, data); err != nil {
		return err
	}
	if err := root(tx, requestLogBucket).Put(timeKey(o.At, key), nil); err != nil {
		return err
	}
	return root(tx, activityBucket).Put(timeKey(o.At, key), data)
}

// PutActivity records something that is not a panel's request (a problem
// reported at a panel, a meeting released) in the activity log only.
func (db *DB) PutActivity(o Outcome) error {
	return db.batch(func(tx txn) error {
		data, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("store: encode activity: %w", err)
		}
		return root(tx, activityBucket).Put(timeKey(o.At, outcomeKey(o.Device, o.ID)), data)
	})
}

// The activity log is read a page at a time through a cursor, the time
// and key (device/id) of an entry: the index orders by both, so a page
// reads only its own entries, however long the log.

// ActivityOlder returns up to limit (default 100) entries older than the
// entry at (at, key), newest first; from the newest when at is zero and key empty.
// more reports whether older entries remain.
func (db *DB) ActivityOlder(at time.Time, key string, limit int) (page []Outcome, more bool, err error) {
	if limit <= 0 {
		limit = 100
	}
	err = db.view(func(tx txn) error {
		c := root(tx, activityBucket).Cursor()
		var k, v []byte
		if at.IsZero() && key == "" {
			k, v = c.Last()
		} else {
			from := timeKey(at, []byte(key))
			if k, v = c.Seek(from); k == nil {
				k, v = c.Last()
			}
			if k != nil && bytes.Compare(k, from) >= 0 {
				k, v = c.Prev()
			}
		}
		for ; k != nil; k, v = c.Prev() {
			if len(page) == limit {
				more = true
				break
			}
			o, err := decodeActivity(k, v)
			if err != nil {
				return err
			}
			page = append(page, o)
		}
		return nil
	})
	return page, more, err
}

// ActivityNewer returns up to limit entries newer than the entry at (at,
// key), the nearest ones, newest first. more reports whether newer
// entries remain.
func (db *DB) ActivityNewer(at time.Time, key string, limit int) (page []Outcome, more bool, err error) {
	if limit <= 0 {
		limit = 100
	}
	err = db.view(func(tx txn) error {
		c := root(tx, activityBucket).Cursor()
		from := timeKey(at, []byte(key))
		k, v := c.Seek(from)
		if k != nil && bytes.Equal(k, from) {
			k, v = c.Next()
		}
		for ; k != nil; k, v = c.Next() {
			if len(page) == limit {
				more = true
				break
			}
			o, err := decodeActivity(k, v)
			if err != nil {
				return err
			}
			page = append(page, o)
		}
		slices.Reverse(page)
		return nil
	})
	return page, more, err
}

func decodeActivity(k, v []byte) (Outcome, error) {
	var o Outcome
	if err := json.Unmarshal(v, &o); err != nil {
		return Outcome{}, fmt.Errorf("store: decode activity %x: %w", k, err)
	}
	return o, nil
}

// Outcomes returns the newest activity entries, at most limit (0: 100).
func (db *DB) Outcomes(limit int) ([]Outcome, error) {
	if limit <= 0 {
		limit = 100
	}
	page, _, err := db.ActivityOlder(time.Time{}, "", limit)
	return page, err
}

func checkinKey(room, event string) []byte { return []byte(room + "/" + event) }

// PutCheckIn records that someone checked in to a meeting at a panel.
func (db *DB) PutCheckIn(room, event string, at time.Time) error {
	return db.batch(func(tx txn) error { return putCheckIn(tx, room, event, at) })
}

func putCheckIn(tx txn, room, event string, at time.Time) error {
	return root(tx, checkinsBucket).Put(checkinKey(room, event), []byte(at.UTC().Format(time.RFC3339)))
}

// CheckedIn reports whether someone checked in to a meeting.
func (db *DB) CheckedIn(room, event string) bool {
	found := false
	db.view(func(tx txn) error {
		found = root(tx, checkinsBucket).Get(checkinKey(room, event)) != nil
		return nil
	})
	return found
}

// Retention is how long Prune keeps what grows with use.
type Retention struct {
	// Activity: the activity log, the meetings recorded for the
	// utilization figures, and built-in calendar events that ended this
	// long ago. Default 90 days.
	Activity time.Duration
	// Requests: the idempotency records of panel requests (a panel
	// retries within minutes) and check-ins (a meeting is checked in to
	// while it runs). Default 7 days.
	Requests time.Duration
}

// Default retentions.
const (
	DefaultActivityRetention = 90 * 24 * time.Hour
	DefaultRequestRetention  = 7 * 24 * time.Hour
)

// Pruned counts what a Prune removed.
type Pruned struct {
	Activity, Requests, CheckIns, Events, Meetings int
}

// Prune removes what is older than the retention, in small transactions.
func (db *DB) Prune(now time.Time, r Retention) (Pruned, error) {
	if r.Activity <= 0 {
		r.Activity = DefaultActivityRetention
	}
	if r.Requests <= 0 {
		r.Requests = DefaultRequestRetention
	}
	var p Pruned
	activityCutoff, requestCutoff := now.Add(-r.Activity), now.Add(-r.Requests)
	for {
		n, err := db.pruneOldest(activityBucket, activityCutoff, nil)
		p.Activity += n
		if err != nil {
			return p, fmt.Errorf("store: prune activity: %w", err)
		}
		if n < db.eng.maxWrites()/2 {
			break
		}
	}
	for {
		n, err := db.pruneOldest(meetingsBucket, activityCutoff, nil)
		p.Meetings += n
		if err != nil {
			return p, fmt.Errorf("store: prune meetings: %w", err)
		}
		if n < db.eng.maxWrites()/2 {
			break
		}
	}
	for {
		n, err := db.pruneOldest(requestLogBucket, requestCutoff, requestsBucket)
		p.Requests += n
		if err != nil {
			return p, fmt.Errorf("store: prune requests: %w", err)
		}
		if n < db.eng.maxWrites()/2 {
			break
		}
	}
	n, err := db.pruneCheckIns(requestCutoff)
	p.CheckIns = n
	if err != nil {
		return p, fmt.Errorf("store: prune check-ins: %w", err)
	}
	n, err = db.pruneEvents(activityCutoff)
	p.Events = n
	if err != nil {
		return p, fmt.Errorf("store: prune events: %w", err)
	}
	return p, nil
}

// pruneOldest removes up to half the engine's maxWrites entries of a time-keyed bucket older
// than cutoff, and, when also is set, the entry of that bucket their key
// names after the time.
func (db *DB) pruneOldest(bucket []byte, cutoff time.Time, also []byte) (int, error) {
	n := 0
	err := db.update(func(tx txn) error {
		n = 0 // fn may run again (see engine)
		c := root(tx, bucket).Cursor()
		for k, _ := c.First(); k != nil && n < db.eng.maxWrites()/2 && keyTime(k).Before(cutoff); k, _ = c.First() {
			if also != nil {
				if err := root(tx, also).Delete(k[8:]); err != nil {
					return err
				}
			}
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// pruneCheckIns removes check-ins recorded before cutoff.
func (db *DB) pruneCheckIns(cutoff time.Time) (int, error) {
	total := 0
	for {
		n, err := db.pruneKeys(func(tx txn) bucket { return root(tx, checkinsBucket) }, func(_, v []byte) (bool, error) {
			at, err := time.Parse(time.RFC3339, string(v))
			return err != nil || at.Before(cutoff), nil
		})
		total += n
		if err != nil || n < db.eng.maxWrites() {
			return total, err
		}
	}
}

// pruneEvents removes built-in calendar events that ended before cutoff.
func (db *DB) pruneEvents(cutoff time.Time) (int, error) {
	var rooms [][]byte
	err := db.view(func(tx txn) error {
		rooms = nil
		return root(tx, eventsBucket).ForEachBucket(func(room []byte) error {
			rooms = append(rooms, append([]byte(nil), room...))
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	total := 0
	for _, room := range rooms {
		for {
			n, err := db.pruneKeys(func(tx txn) bucket { return root(tx, eventsBucket).Bucket(room) }, func(k, v []byte) (bool, error) {
				var e Event
				if err := json.Unmarshal(v, &e); err != nil {
					return false, fmt.Errorf("decode event %s/%s: %w", room, k, err)
				}
				return e.End.Before(cutoff), nil
			})
			total += n
			if err != nil {
				return total, err
			}
			if n < db.eng.maxWrites() {
				break
			}
		}
	}
	return total, nil
}

// pruneKeys deletes, in one transaction, up to the engine's maxWrites keys
// of the bucket for which old says so. The bucket may be gone (nil).
func (db *DB) pruneKeys(in func(tx txn) bucket, old func(k, v []byte) (bool, error)) (int, error) {
	n := 0
	err := db.update(func(tx txn) error {
		n = 0 // fn may run again (see engine)
		b := in(tx)
		if b == nil {
			return nil
		}
		var doomed [][]byte
		err := b.ForEach(func(k, v []byte) error {
			if len(doomed) == db.eng.maxWrites() {
				return nil
			}
			isOld, err := old(k, v)
			if isOld {
				doomed = append(doomed, append([]byte(nil), k...))
			}
			return err
		})
		if err != nil {
			return err
		}
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(doomed)
		return nil
	})
	return n, err
}
