package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Outcome is the recorded result of a panel's request, kept so a retry
// with the same id gets the same answer and never acts twice.
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

// Outcome returns the recorded outcome of a device's request, or
// ErrNotFound.
func (db *DB) Outcome(device, id string) (Outcome, error) {
	var o Outcome
	err := db.view(func(tx *bolt.Tx) error {
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

// PutOutcome records a request's outcome.
func (db *DB) PutOutcome(o Outcome) error {
	return db.update(func(tx *bolt.Tx) error {
		data, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("store: encode outcome: %w", err)
		}
		return root(tx, requestsBucket).Put(outcomeKey(o.Device, o.ID), data)
	})
}

// Outcomes returns recorded outcomes, newest first, at most limit.
func (db *DB) Outcomes(limit int) ([]Outcome, error) {
	var out []Outcome
	err := db.view(func(tx *bolt.Tx) error {
		return root(tx, requestsBucket).ForEach(func(k, v []byte) error {
			var o Outcome
			if err := json.Unmarshal(v, &o); err != nil {
				return fmt.Errorf("store: decode outcome %s: %w", k, err)
			}
			out = append(out, o)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, err
}

func checkinKey(room, event string) []byte { return []byte(room + "/" + event) }

// PutCheckIn records that someone checked in to a meeting at a panel.
func (db *DB) PutCheckIn(room, event string, at time.Time) error {
	return db.update(func(tx *bolt.Tx) error {
		return root(tx, checkinsBucket).Put(checkinKey(room, event), []byte(at.UTC().Format(time.RFC3339)))
	})
}

// CheckedIn reports whether someone checked in to a meeting.
func (db *DB) CheckedIn(room, event string) bool {
	found := false
	db.view(func(tx *bolt.Tx) error {
		found = root(tx, checkinsBucket).Get(checkinKey(room, event)) != nil
		return nil
	})
	return found
}
