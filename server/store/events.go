package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Event is a meeting in the built-in calendar.
type Event struct {
	ID        string `json:"id"`
	Subject   string `json:"subject"`
	Organizer string `json:"organizer"`
	// OrganizerAddress is the organizer's e-mail address, if known.
	OrganizerAddress string    `json:"organizer_address,omitempty"`
	Start            time.Time `json:"start"`
	End              time.Time `json:"end"`
	AllDay           bool      `json:"all_day,omitempty"`
	Private          bool      `json:"private,omitempty"`
	Online           bool      `json:"online,omitempty"`
	JoinURL          string    `json:"join_url,omitempty"`
	TransactionID    string    `json:"transaction_id,omitempty"`
	Declined         bool      `json:"declined,omitempty"` // released by the room: no longer occupies it
	Comment          string    `json:"comment,omitempty"`  // the decline comment
}

// Events returns a room's built-in calendar, ordered by start.
func (db *DB) Events(room string) ([]Event, error) {
	var out []Event
	err := db.view(func(tx txn) error {
		var err error
		out, err = readEvents(tx, room)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: events of room %q: %w", room, err)
	}
	return out, nil
}

func readEvents(tx txn, room string) ([]Event, error) {
	b := root(tx, eventsBucket).Bucket([]byte(room))
	if b == nil {
		return nil, nil
	}
	var out []Event
	err := b.ForEach(func(k, v []byte) error {
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("decode event %s: %w", k, err)
		}
		out = append(out, e)
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	return out, err
}

// UpdateEvents is a read-modify-write of one room's calendar in a single
// transaction: fn gets the events ordered by start and returns the new set.
// Conflict checks belong inside fn, where no other writer can slip in
// between the check and the write (two panels booking the same slot). An
// error from fn aborts with nothing written.
//
// fn may run more than once (the write is batched with others, see
// batch); only the last run's result is written.
func (db *DB) UpdateEvents(room string, fn func([]Event) ([]Event, error)) error {
	return db.batch(func(tx txn) error {
		if root(tx, roomsBucket).Get([]byte(room)) == nil {
			return fmt.Errorf("store: room %q: %w", room, ErrNotFound)
		}
		old, err := readEvents(tx, room)
		if err != nil {
			return fmt.Errorf("store: events of room %q: %w", room, err)
		}
		events, err := fn(old)
		if err != nil {
			return err
		}
		// Only what changed is written: on etcd a transaction's writes
		// are bounded, and a booking changes one event of many.
		b, err := root(tx, eventsBucket).CreateBucketIfNotExists([]byte(room))
		if err != nil {
			return err
		}
		gone := make(map[string]bool, len(old))
		for _, e := range old {
			gone[e.ID] = true
		}
		for _, e := range events {
			if e.ID == "" {
				return fmt.Errorf("store: event without id in room %q", room)
			}
			delete(gone, e.ID)
			data, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("store: encode event %s: %w", e.ID, err)
			}
			if !bytes.Equal(b.Get([]byte(e.ID)), data) {
				if err := b.Put([]byte(e.ID), data); err != nil {
					return err
				}
			}
		}
		for id := range gone {
			if err := b.Delete([]byte(id)); err != nil {
				return err
			}
		}
		return nil
	})
}
