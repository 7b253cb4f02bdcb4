package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Display modes: what a panel may show of a meeting (DESIGN.md, privacy rule).
const (
	DisplayTitle     = "title"     // the subject; "Reserved" for a private meeting
	DisplayOrganizer = "organizer" // the organizer's name; "Reserved" if private
	DisplayReserved  = "reserved"  // always "Reserved"
)

// Room is a meeting room as the admin configured it.
type Room struct {
	ID       string          `json:"id"`       // Lintel's id, used in URLs and by panels
	Name     string          `json:"name"`     // shown on the panel
	Calendar string          `json:"calendar"` // the provider's address: mailbox, or built-in id
	TimeZone string          `json:"tz"`       // IANA name
	Display  string          `json:"display"`  // DisplayTitle, DisplayOrganizer or DisplayReserved
	Booking  BookingSettings `json:"booking"`
	// Language of the room ("de", "fr", ...): the subject of meetings
	// booked at its panels is in it. "" is English.
	Language string `json:"lang,omitempty"`
	// Hours is the clock its panels show, 12 or 24; 0 leaves it to each
	// panel's language. A Zurich room reads 24 hours on any panel.
	Hours int `json:"hours,omitempty"`
	// Where the room is and what it has, to find a room that fits
	// (optional): Building and Floor as people name them, Capacity in
	// seats, Equipment from Equipments.
	Building  string   `json:"building,omitempty"`
	Floor     string   `json:"floor,omitempty"`
	Capacity  int      `json:"capacity,omitempty"`
	Equipment []string `json:"equipment,omitempty"`
}

// Equipments are what a room may have, as Room.Equipment names them.
var Equipments = []string{"display", "video", "whiteboard"}

// Bounds of a room's description.
const (
	maxPlace    = 100    // characters of a building's or floor's name
	maxCapacity = 10_000 // seats
)

// BookingSettings are what a panel may do in a room. Zero values mean off,
// and for the durations the defaults in package proto.
type BookingSettings struct {
	Instant       bool `json:"instant,omitempty"`
	Teams         bool `json:"teams,omitempty"`
	ExtendEnd     bool `json:"extend_end,omitempty"`
	CheckIn       bool `json:"check_in,omitempty"`
	AutoRelease   bool `json:"auto_release,omitempty"`
	StepMinutes   int  `json:"step_min,omitempty"`
	SoonMinutes   int  `json:"soon_min,omitempty"`
	CheckInBefore int  `json:"checkin_before_min,omitempty"`
	CheckInAfter  int  `json:"checkin_after_min,omitempty"`
	// MaxMinutes bounds a booking made or extended at the panel. Default
	// and most: DefaultMaxBookingMinutes.
	MaxMinutes int `json:"max_min,omitempty"`
	// OfficeEnd, "HH:MM" in the room's time zone, is when office hours
	// end: a booking made or extended before it ends by then. Empty: no
	// office hours.
	OfficeEnd string `json:"office_end,omitempty"`
}

// DefaultMaxBookingMinutes bounds a booking at the panel when a room sets
// no MaxMinutes, and MaxMinutes: it is the longest booking the protocol
// takes from a panel (proto.MaxBooking; a test in package booking holds
// them equal).
const DefaultMaxBookingMinutes = 3 * 60

// Validate checks what a room needs before it is stored.
func (r Room) Validate() error {
	switch {
	case r.ID == "" || !validID(r.ID):
		return fmt.Errorf("room id %q must be 1 to 64 letters, digits, '-', '_' or '.'", r.ID)
	case r.Name == "":
		return fmt.Errorf("room %s has no name", r.ID)
	case r.Calendar == "":
		return fmt.Errorf("room %s has no calendar address", r.ID)
	case r.TimeZone == "":
		return fmt.Errorf("room %s has no time zone", r.ID)
	}
	switch r.Display {
	case DisplayTitle, DisplayOrganizer, DisplayReserved:
	default:
		return fmt.Errorf("room %s: display mode %q is not one of title, organizer, reserved", r.ID, r.Display)
	}
	if r.Hours != 0 && r.Hours != 12 && r.Hours != 24 {
		return fmt.Errorf("room %s: hours %d is not 12 or 24 (or 0: each panel's language decides)", r.ID, r.Hours)
	}
	if m := r.Booking.MaxMinutes; m < 0 || m > DefaultMaxBookingMinutes {
		return fmt.Errorf("room %s: the longest booking (%d minutes) must be from 1 to %d minutes, or 0 for %[3]d", r.ID, m, DefaultMaxBookingMinutes)
	}
	if e := r.Booking.OfficeEnd; e != "" {
		if _, err := time.Parse("15:04", e); err != nil {
			return fmt.Errorf("room %s: the end of office hours %q must be a time of day such as 18:00", r.ID, e)
		}
	}
	if utf8.RuneCountInString(r.Building) > maxPlace || utf8.RuneCountInString(r.Floor) > maxPlace {
		return fmt.Errorf("room %s: a building or floor name is at most %d characters", r.ID, maxPlace)
	}
	if r.Capacity < 0 || r.Capacity > maxCapacity {
		return fmt.Errorf("room %s: capacity %d must be from 0 (not said) to %d seats", r.ID, r.Capacity, maxCapacity)
	}
	for i, e := range r.Equipment {
		if !slices.Contains(Equipments, e) {
			return fmt.Errorf("room %s: equipment %q is not one of %s", r.ID, e, strings.Join(Equipments, ", "))
		}
		if slices.Contains(r.Equipment[:i], e) {
			return fmt.Errorf("room %s: equipment %q is listed twice", r.ID, e)
		}
	}
	return nil
}

func validID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// PutRoom adds or replaces a room.
func (db *DB) PutRoom(r Room) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return db.update(func(tx txn) error {
		return putJSON(root(tx, roomsBucket), r.ID, r)
	})
}

// Room returns one room, or ErrNotFound.
func (db *DB) Room(id string) (Room, error) {
	var r Room
	err := db.view(func(tx txn) error { return getJSON(root(tx, roomsBucket), id, &r) })
	if err != nil {
		return Room{}, fmt.Errorf("store: room %q: %w", id, err)
	}
	return r, nil
}

// Rooms returns every room, ordered by name.
func (db *DB) Rooms() ([]Room, error) {
	var rooms []Room
	err := db.view(func(tx txn) error {
		return root(tx, roomsBucket).ForEach(func(k, v []byte) error {
			var r Room
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("store: decode room %s: %w", k, err)
			}
			rooms = append(rooms, r)
			return nil
		})
	})
	sort.Slice(rooms, func(i, j int) bool { return rooms[i].Name < rooms[j].Name })
	return rooms, err
}

// DeleteRoom removes a room with its built-in events and last state.
// Devices of the room stay, unassigned to any existing room, so an admin
// can move them.
func (db *DB) DeleteRoom(id string) error {
	return db.update(func(tx txn) error {
		if root(tx, roomsBucket).Get([]byte(id)) == nil {
			return fmt.Errorf("store: room %q: %w", id, ErrNotFound)
		}
		if err := root(tx, roomsBucket).Delete([]byte(id)); err != nil {
			return err
		}
		if err := root(tx, statesBucket).Delete([]byte(id)); err != nil {
			return err
		}
		if root(tx, eventsBucket).Bucket([]byte(id)) != nil {
			return root(tx, eventsBucket).DeleteBucket([]byte(id))
		}
		return nil
	})
}

// PutState keeps a room's last published state (opaque JSON here), so a
// restarted server serves panels at once, and a failing calendar keeps its
// last good state. Its one writer (sync) writes room after room, so a
// write of its own is quicker than waiting for a batch to fill.
func (db *DB) PutState(room string, state []byte) error {
	return db.update(func(tx txn) error {
		return root(tx, statesBucket).Put([]byte(room), state)
	})
}

// State returns a room's last state, or ErrNotFound.
func (db *DB) State(room string) ([]byte, error) {
	var out []byte
	err := db.view(func(tx txn) error {
		v := root(tx, statesBucket).Get([]byte(room))
		if v == nil {
			return ErrNotFound
		}
		out = append([]byte(nil), v...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: state of room %q: %w", room, err)
	}
	return out, nil
}

// PutSetting stores a JSON-encodable value under key.
func (db *DB) PutSetting(key string, v any) error {
	return db.update(func(tx txn) error { return putJSON(root(tx, settingsBucket), key, v) })
}

// SettingOrPut decodes the value under key into v; when there is none it
// stores def there first, in the same transaction, so that two servers
// starting at once agree on one value.
func (db *DB) SettingOrPut(key string, v, def any) error {
	err := db.update(func(tx txn) error {
		b := root(tx, settingsBucket)
		if b.Get([]byte(key)) == nil {
			if err := putJSON(b, key, def); err != nil {
				return err
			}
		}
		return getJSON(b, key, v)
	})
	if err != nil {
		return fmt.Errorf("store: setting %q: %w", key, err)
	}
	return nil
}

// Setting decodes the value under key into v, or returns ErrNotFound.
func (db *DB) Setting(key string, v any) error {
	err := db.view(func(tx txn) error { return getJSON(root(tx, settingsBucket), key, v) })
	if err != nil {
		return fmt.Errorf("store: setting %q: %w", key, err)
	}
	return nil
}
