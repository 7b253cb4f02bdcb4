package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// The meetings bucket (schema 10) is the record of meetings that took
// place (or were to), for the utilization figures: with Microsoft 365 the
// events are not in the store, so the syncer writes down each meeting of
// a room once it has started, and again when its end moves (extended,
// ended early):
//
//	meetings/ <time of its start><room id>/<event id> -> Meeting (JSON)
//
// Keys sort by start, so a period is one cursor walk and pruning (with
// the activity log's retention) removes the oldest first.
var meetingsBucket = []byte("meetings")

// Meeting is a meeting of a room as the syncer saw it once it started.
// It holds nothing a panel could not show: Title and Organizer are the
// room's display mode's (a private meeting is "Reserved").
type Meeting struct {
	Room      string    `json:"room"`
	ID        string    `json:"id"` // the calendar's event id
	Title     string    `json:"title,omitempty"`
	Organizer string    `json:"organizer,omitempty"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	// Series tells the occurrences of one recurring meeting (see
	// sync.SeriesKey).
	Series string `json:"series,omitempty"`
	// CheckIn: the room asked for check-in at the door for it.
	CheckIn bool `json:"check_in,omitempty"`
}

func meetingKey(m Meeting) []byte { return timeKey(m.Start, []byte(m.Room+"/"+m.ID)) }

// PutMeeting records a meeting, replacing its record; was is the start it
// was recorded with before (zero: none), whose record goes when the start
// moved.
func (db *DB) PutMeeting(m Meeting, was time.Time) error {
	if m.Room == "" || m.ID == "" {
		return fmt.Errorf("store: a meeting needs a room and an id")
	}
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("store: encode meeting %s: %w", m.ID, err)
	}
	err = db.batch(func(tx txn) error {
		b := root(tx, meetingsBucket)
		if !was.IsZero() && !was.Equal(m.Start) {
			old := m
			old.Start = was
			if err := b.Delete(meetingKey(old)); err != nil {
				return err
			}
		}
		key := meetingKey(m)
		if bytes.Equal(b.Get(key), data) {
			return nil
		}
		return b.Put(key, data)
	})
	if err != nil {
		return fmt.Errorf("store: record meeting %s of room %s: %w", m.ID, m.Room, err)
	}
	return nil
}

// Meetings calls fn for every meeting recorded that starts in [from, to),
// in order of start.
func (db *DB) Meetings(from, to time.Time, fn func(Meeting) error) error {
	err := db.view(func(tx txn) error {
		c := root(tx, meetingsBucket).Cursor()
		end := timeKey(to, nil)
		for k, v := c.Seek(timeKey(from, nil)); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
			var m Meeting
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("decode meeting %x: %w", k, err)
			}
			if err := fn(m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: meetings: %w", err)
	}
	return nil
}

// ActivityBetween calls fn for every activity entry in [from, to), oldest
// first.
func (db *DB) ActivityBetween(from, to time.Time, fn func(Outcome) error) error {
	err := db.view(func(tx txn) error {
		c := root(tx, activityBucket).Cursor()
		end := timeKey(to, nil)
		for k, v := c.Seek(timeKey(from, nil)); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
			o, err := decodeActivity(k, v)
			if err != nil {
				return err
			}
			if err := fn(o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: activity: %w", err)
	}
	return nil
}
