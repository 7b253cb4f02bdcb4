// Package builtin is Lintel's own calendar, the embedded default: rooms'
// meetings kept in the server's store, edited through the admin API, and
// seeded with demo rooms so a fresh server shows something real.
//
// A room's calendar address in the built-in calendar is its room id.
package builtin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/store"
)

// Store keeps each room's meetings; rooms are read to tell a removed
// room from an empty calendar. UpdateEvents changes a room's meetings in
// one transaction, so two bookings cannot both see the slot free.
// *store.DB is one.
type Store interface {
	Room(id string) (store.Room, error)
	Events(room string) ([]store.Event, error)
	UpdateEvents(room string, fn func([]store.Event) ([]store.Event, error)) error
}

// Calendar implements calendar.Provider on the store.
type Calendar struct {
	db Store
}

// New returns the built-in calendar kept in db.
func New(db Store) *Calendar { return &Calendar{db: db} }

var _ calendar.Provider = (*Calendar)(nil)

// Name implements calendar.Provider.
func (c *Calendar) Name() string { return "builtin" }

// Events implements calendar.Provider.
func (c *Calendar) Events(ctx context.Context, rooms []string, from, to time.Time) (map[string]calendar.RoomEvents, error) {
	out := make(map[string]calendar.RoomEvents, len(rooms))
	for _, room := range rooms {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("builtin: %w", err)
		}
		if _, err := c.db.Room(room); err != nil {
			out[room] = calendar.RoomEvents{Err: roomErr(room, err)}
			continue
		}
		stored, err := c.db.Events(room)
		if err != nil {
			out[room] = calendar.RoomEvents{Err: fmt.Errorf("builtin: %w", err)}
			continue
		}
		var evs []calendar.Event
		for _, e := range stored {
			if e.Declined || !e.End.After(from) || !e.Start.Before(to) {
				continue
			}
			evs = append(evs, toCalendar(e))
		}
		out[room] = calendar.RoomEvents{Events: evs}
	}
	return out, nil
}

func roomErr(room string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return &calendar.Error{Kind: calendar.ErrNotFound, Room: room, Msg: "no such room in the built-in calendar", Fix: "check the room's calendar address; in the built-in calendar it is the room's id"}
	}
	return fmt.Errorf("builtin: room %s: %w", room, err)
}

func toCalendar(e store.Event) calendar.Event {
	return calendar.Event{
		ID: e.ID, Subject: e.Subject, Organizer: e.Organizer, OrganizerAddress: e.OrganizerAddress,
		Start: e.Start.UTC(), End: e.End.UTC(), AllDay: e.AllDay,
		Private: e.Private, Online: e.Online, JoinURL: e.JoinURL, TransactionID: e.TransactionID,
	}
}

// Book implements calendar.Provider. The conflict check and the write are
// one transaction, so of two racing bookings exactly one wins.
func (c *Calendar) Book(ctx context.Context, room string, b calendar.Booking) (calendar.Event, error) {
	if !b.End.After(b.Start) {
		return calendar.Event{}, fmt.Errorf("builtin: booking ends before it starts")
	}
	if b.Teams {
		// The built-in calendar has no Teams tenant to create a meeting in.
		return calendar.Event{}, &calendar.Error{Kind: calendar.ErrNoOnlineMeeting, Room: room, Msg: "the built-in calendar cannot create Teams meetings"}
	}
	var booked store.Event
	err := c.db.UpdateEvents(room, func(evs []store.Event) ([]store.Event, error) {
		if b.TransactionID != "" {
			for _, e := range evs {
				if e.TransactionID == b.TransactionID {
					booked = e // a retry: the first call's event
					return evs, nil
				}
			}
		}
		for _, e := range evs {
			if !e.Declined && e.Start.Before(b.End) && b.Start.Before(e.End) {
				return nil, &calendar.Error{Kind: calendar.ErrConflict, Room: room, Msg: fmt.Sprintf("overlaps %s to %s", e.Start.Format(time.RFC3339), e.End.Format(time.RFC3339))}
			}
		}
		booked = store.Event{
			ID: newID(), Subject: b.Subject, Organizer: "Lintel panel",
			Start: b.Start.UTC(), End: b.End.UTC(), TransactionID: b.TransactionID,
		}
		return append(evs, booked), nil
	})
	if err != nil {
		return calendar.Event{}, wrap(room, err)
	}
	return toCalendar(booked), nil
}

// SetEnd implements calendar.Provider.
func (c *Calendar) SetEnd(ctx context.Context, room, eventID string, end time.Time) (calendar.Event, error) {
	var changed store.Event
	err := c.db.UpdateEvents(room, func(evs []store.Event) ([]store.Event, error) {
		i := find(evs, eventID)
		if i < 0 {
			return nil, &calendar.Error{Kind: calendar.ErrNotFound, Room: room, Msg: "no event " + eventID}
		}
		if !end.After(evs[i].Start) {
			return nil, fmt.Errorf("builtin: new end %s is not after the start", end.Format(time.RFC3339))
		}
		for j, e := range evs {
			if j != i && !e.Declined && e.Start.Before(end) && evs[i].Start.Before(e.End) {
				return nil, &calendar.Error{Kind: calendar.ErrConflict, Room: room, Msg: "the new end overlaps another meeting"}
			}
		}
		evs[i].End = end.UTC()
		changed = evs[i]
		return evs, nil
	})
	if err != nil {
		return calendar.Event{}, wrap(room, err)
	}
	return toCalendar(changed), nil
}

// Release implements calendar.Provider: the event stays, declined, so the
// record of what happened survives.
func (c *Calendar) Release(ctx context.Context, room, eventID, comment string) error {
	err := c.db.UpdateEvents(room, func(evs []store.Event) ([]store.Event, error) {
		i := find(evs, eventID)
		if i < 0 {
			return nil, &calendar.Error{Kind: calendar.ErrNotFound, Room: room, Msg: "no event " + eventID}
		}
		evs[i].Declined = true
		evs[i].Comment = comment
		return evs, nil
	})
	return wrap(room, err)
}

// Check implements calendar.Provider.
func (c *Calendar) Check(ctx context.Context, room string) calendar.Diagnosis {
	d := calendar.Diagnosis{Room: room, Status: calendar.StatusOK, Detail: "built-in calendar"}
	if _, err := c.db.Room(room); err != nil {
		d.Status, d.Detail = calendar.StatusNotFound, "no such room in the built-in calendar"
		d.Fix = "check the room's calendar address; in the built-in calendar it is the room's id"
		return d
	}
	if _, err := c.db.Events(room); err != nil {
		d.Status, d.Detail, d.Fix = calendar.StatusError, err.Error(), "the store may be damaged: restore it from a backup"
	}
	return d
}

func find(evs []store.Event, id string) int {
	for i, e := range evs {
		if e.ID == id {
			return i
		}
	}
	return -1
}

func wrap(room string, err error) error {
	var ce *calendar.Error
	switch {
	case err == nil, errors.As(err, &ce):
		return err
	case errors.Is(err, store.ErrNotFound):
		return roomErr(room, err)
	}
	return fmt.Errorf("builtin: %w", err)
}

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Input is an event as the admin API creates or changes it.
type Input struct {
	Subject   string `json:"subject"`
	Organizer string `json:"organizer"`
	// OrganizerAddress is the organizer's e-mail address (optional).
	OrganizerAddress string    `json:"organizer_address,omitempty"`
	Start            time.Time `json:"start"`
	End              time.Time `json:"end"`
	AllDay           bool      `json:"all_day"`
	Private          bool      `json:"private"`
	Online           bool      `json:"online"`
}

func (in Input) validate() error {
	var problems []string
	if in.Start.IsZero() || in.End.IsZero() {
		problems = append(problems, "start and end are required (RFC 3339, e.g. 2026-03-10T09:00:00Z)")
	} else if !in.End.After(in.Start) {
		problems = append(problems, "end must be after start")
	}
	if in.AllDay && (!isMidnight(in.Start) || !isMidnight(in.End)) {
		problems = append(problems, "an all-day event starts and ends at midnight UTC of its dates")
	}
	if len(in.Subject) > 255 {
		problems = append(problems, "subject is longer than 255 bytes")
	}
	if in.OrganizerAddress != "" {
		if a, err := mail.ParseAddress(in.OrganizerAddress); err != nil || a.Address != in.OrganizerAddress || len(in.OrganizerAddress) > 254 {
			problems = append(problems, fmt.Sprintf("organizer_address %q is not an e-mail address (name@example.com)", in.OrganizerAddress))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("builtin: invalid event: %s", strings.Join(problems, "; "))
	}
	return nil
}

func isMidnight(t time.Time) bool {
	u := t.UTC()
	return u.Hour() == 0 && u.Minute() == 0 && u.Second() == 0 && u.Nanosecond() == 0
}

// Add adds an event to a room's calendar. Unlike Book it allows overlaps:
// an admin may enter whatever the real calendar holds.
func (c *Calendar) Add(ctx context.Context, room string, in Input) (store.Event, error) {
	if err := in.validate(); err != nil {
		return store.Event{}, err
	}
	e := store.Event{ID: newID()}
	apply(&e, in)
	err := c.db.UpdateEvents(room, func(evs []store.Event) ([]store.Event, error) { return append(evs, e), nil })
	return e, wrap(room, err)
}

// Change replaces an event's fields.
func (c *Calendar) Change(ctx context.Context, room, id string, in Input) (store.Event, error) {
	if err := in.validate(); err != nil {
		return store.Event{}, err
	}
	var changed store.Event
	err := c.db.UpdateEvents(room, func(evs []store.Event) ([]store.Event, error) {
		i := find(evs, id)
		if i < 0 {
			return nil, &calendar.Error{Kind: calendar.ErrNotFound, Room: room, Msg: "no event " + id}
		}
		apply(&evs[i], in)
		changed = evs[i]
		return evs, nil
	})
	return changed, wrap(room, err)
}

// Remove deletes an event.
func (c *Calendar) Remove(ctx context.Context, room, id string) error {
	err := c.db.UpdateEvents(room, func(evs []store.Event) ([]store.Event, error) {
		i := find(evs, id)
		if i < 0 {
			return nil, &calendar.Error{Kind: calendar.ErrNotFound, Room: room, Msg: "no event " + id}
		}
		return append(evs[:i], evs[i+1:]...), nil
	})
	return wrap(room, err)
}

// List returns a room's events as stored, for the admin.
func (c *Calendar) List(ctx context.Context, room string) ([]store.Event, error) {
	if _, err := c.db.Room(room); err != nil {
		return nil, roomErr(room, err)
	}
	evs, err := c.db.Events(room)
	return evs, wrap(room, err)
}

func apply(e *store.Event, in Input) {
	e.Subject, e.Organizer, e.OrganizerAddress = in.Subject, in.Organizer, in.OrganizerAddress
	e.Start, e.End = in.Start.UTC(), in.End.UTC()
	e.AllDay, e.Private, e.Online = in.AllDay, in.Private, in.Online
}
