package builtin

import (
	"fmt"
	"time"

	"github.com/lintelhq/lintel/server/store"
)

// DemoTimeZone is the zone of the demo rooms.
const DemoTimeZone = "Europe/Zurich"

// SeedStore is what Seed writes: rooms and their meetings. *store.DB is
// one.
type SeedStore interface {
	Rooms() ([]store.Room, error)
	PutRoom(r store.Room) error
	Events(room string) ([]store.Event, error)
	UpdateEvents(room string, fn func([]store.Event) ([]store.Event, error)) error
}

// Seed fills an empty store with demo rooms and a realistic day of meetings
// around now: a room in a meeting with more back to back, one whose next
// meeting starts in a few minutes, a private meeting, a meeting whose
// subject is only the organizer's name (what Exchange does to room
// calendars by default), a room awaiting check-in, and a free room.
//
// On a store that has rooms it keeps the admin's changes, with one
// exception: when every demo room still there has no meeting left that
// ends after now (the demo was started on an earlier day), their meetings
// are replaced by a fresh day, so a demo started again tomorrow is not an
// empty building. It reports whether it seeded or refreshed.
func Seed(db SeedStore, now time.Time) (bool, error) {
	rooms, err := db.Rooms()
	if err != nil {
		return false, fmt.Errorf("builtin: seed: %w", err)
	}
	demo, err := demoDay(now)
	if err != nil {
		return false, fmt.Errorf("builtin: seed: %w", err)
	}
	if len(rooms) == 0 {
		for _, d := range demo {
			if err := db.PutRoom(d.room); err != nil {
				return false, fmt.Errorf("builtin: seed: %w", err)
			}
			if err := putEvents(db, d.room.ID, d.events); err != nil {
				return false, err
			}
		}
		return true, nil
	}
	present := map[string]bool{}
	for _, r := range rooms {
		present[r.ID] = true
	}
	var stale []demoRoom
	for _, d := range demo {
		if !present[d.room.ID] {
			continue
		}
		evs, err := db.Events(d.room.ID)
		if err != nil {
			return false, fmt.Errorf("builtin: seed: %w", err)
		}
		for _, e := range evs {
			if e.End.After(now) {
				return false, nil // the demo's day is not over: keep it
			}
		}
		stale = append(stale, d)
	}
	for _, d := range stale {
		if err := putEvents(db, d.room.ID, d.events); err != nil {
			return false, err
		}
	}
	return len(stale) > 0, nil
}

func putEvents(db SeedStore, room string, events []store.Event) error {
	if err := db.UpdateEvents(room, func([]store.Event) ([]store.Event, error) { return events, nil }); err != nil {
		return fmt.Errorf("builtin: seed: %w", err)
	}
	return nil
}

// demoRoom is a demo room with its meetings.
type demoRoom struct {
	room   store.Room
	events []store.Event
}

// demoDay makes the demo rooms and their meetings around now.
func demoDay(now time.Time) ([]demoRoom, error) {
	loc, err := time.LoadLocation(DemoTimeZone)
	if err != nil {
		return nil, err
	}
	// Meetings sit on a 5-minute grid, like real ones.
	base := now.In(loc).Truncate(5 * time.Minute)
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute).UTC() }
	ev := func(subject, organizer string, from, to int) store.Event {
		return store.Event{ID: newID(), Subject: subject, Organizer: organizer, Start: at(from), End: at(to)}
	}
	private := func(e store.Event) store.Event { e.Private = true; return e }
	online := func(e store.Event) store.Event {
		e.Online, e.JoinURL = true, "https://teams.example/l/meetup-join/"+e.ID
		return e
	}
	booking := store.BookingSettings{Instant: true, ExtendEnd: true}
	checkIn := booking
	checkIn.CheckIn, checkIn.AutoRelease = true, true

	demo := []demoRoom{
		{
			room: store.Room{ID: "matterhorn", Name: "Matterhorn", Display: store.DisplayTitle, Booking: booking, Building: "HQ", Floor: "4", Capacity: 10, Equipment: []string{"display", "video"}},
			events: []store.Event{
				online(ev("Quarterly planning", "Anna Keller", -25, 35)),
				ev("Design review", "Luca Rossi", 35, 95),
				ev("1:1 Anna / Marc", "Anna Keller", 95, 125),
				ev("Vendor call", "Marc Weber", 240, 300),
			},
		},
		{
			room: store.Room{ID: "eiger", Name: "Eiger", Display: store.DisplayTitle, Booking: booking, Building: "HQ", Floor: "4", Capacity: 6, Equipment: []string{"display"}},
			events: []store.Event{
				ev("Sprint retro", "Sofia Meier", 5, 60),
				private(ev("Salary review: M. Weber", "Petra Frei", 120, 180)),
				ev("Team lunch", "Sofia Meier", 210, 270),
			},
		},
		{
			room: store.Room{ID: "jungfrau", Name: "Jungfrau", Display: store.DisplayOrganizer, Booking: booking, Building: "HQ", Floor: "3", Capacity: 12, Equipment: []string{"video", "whiteboard"}},
			events: []store.Event{
				// Exchange's default for room mailboxes replaces the subject
				// with the organizer's name.
				ev("Luca Rossi", "Luca Rossi", -10, 50),
				ev("Board prep", "Petra Frei", 90, 150),
			},
		},
		{
			room: store.Room{ID: "saentis", Name: "Säntis", Display: store.DisplayTitle, Booking: checkIn, Building: "HQ", Floor: "3", Capacity: 4},
			events: []store.Event{
				ev("Customer workshop", "Marc Weber", -3, 57),
				ev("Interview", "Sofia Meier", 120, 180),
			},
		},
		{
			room:   store.Room{ID: "pilatus", Name: "Pilatus", Display: store.DisplayReserved, Booking: booking, Building: "HQ", Floor: "4", Capacity: 8, Equipment: []string{"whiteboard"}},
			events: []store.Event{ev("Offsite prep", "Anna Keller", 480, 540)},
		},
	}
	for i := range demo {
		demo[i].room.Calendar, demo[i].room.TimeZone = demo[i].room.ID, DemoTimeZone
	}
	return demo, nil
}
