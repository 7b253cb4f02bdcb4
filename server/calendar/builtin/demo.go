package builtin

import (
	"fmt"
	"time"

	"github.com/lintelhq/lintel/server/store"
)

// DemoTimeZone is the zone of the demo rooms.
const DemoTimeZone = "Europe/Zurich"

// Seed fills an empty store with demo rooms and a realistic day of meetings
// around now: a room in a meeting with more back to back, one whose next
// meeting starts in a few minutes, a private meeting, a meeting whose
// subject is only the organizer's name (what Exchange does to room
// calendars by default), a room awaiting check-in, and a free room. It does
// nothing when the store already has rooms, so a restart keeps the admin's
// changes. It reports whether it seeded.
func Seed(db *store.DB, now time.Time) (bool, error) {
	rooms, err := db.Rooms()
	if err != nil {
		return false, fmt.Errorf("builtin: seed: %w", err)
	}
	if len(rooms) > 0 {
		return false, nil
	}
	loc, err := time.LoadLocation(DemoTimeZone)
	if err != nil {
		return false, fmt.Errorf("builtin: seed: %w", err)
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

	demo := []struct {
		room   store.Room
		events []store.Event
	}{
		{
			room: store.Room{ID: "matterhorn", Name: "Matterhorn", Display: store.DisplayTitle, Booking: booking},
			events: []store.Event{
				online(ev("Quarterly planning", "Anna Keller", -25, 35)),
				ev("Design review", "Luca Rossi", 35, 95),
				ev("1:1 Anna / Marc", "Anna Keller", 95, 125),
				ev("Vendor call", "Marc Weber", 240, 300),
			},
		},
		{
			room: store.Room{ID: "eiger", Name: "Eiger", Display: store.DisplayTitle, Booking: booking},
			events: []store.Event{
				ev("Sprint retro", "Sofia Meier", 5, 60),
				private(ev("Salary review: M. Weber", "Petra Frei", 120, 180)),
				ev("Team lunch", "Sofia Meier", 210, 270),
			},
		},
		{
			room: store.Room{ID: "jungfrau", Name: "Jungfrau", Display: store.DisplayOrganizer, Booking: booking},
			events: []store.Event{
				// Exchange's default for room mailboxes replaces the subject
				// with the organizer's name.
				ev("Luca Rossi", "Luca Rossi", -10, 50),
				ev("Board prep", "Petra Frei", 90, 150),
			},
		},
		{
			room: store.Room{ID: "saentis", Name: "Säntis", Display: store.DisplayTitle, Booking: checkIn},
			events: []store.Event{
				ev("Customer workshop", "Marc Weber", -3, 57),
				ev("Interview", "Sofia Meier", 120, 180),
			},
		},
		{
			room:   store.Room{ID: "pilatus", Name: "Pilatus", Display: store.DisplayReserved, Booking: booking},
			events: []store.Event{ev("Offsite prep", "Anna Keller", 480, 540)},
		},
	}
	for _, d := range demo {
		d.room.Calendar, d.room.TimeZone = d.room.ID, DemoTimeZone
		if err := db.PutRoom(d.room); err != nil {
			return false, fmt.Errorf("builtin: seed: %w", err)
		}
		events := d.events
		if err := db.UpdateEvents(d.room.ID, func([]store.Event) ([]store.Event, error) { return events, nil }); err != nil {
			return false, fmt.Errorf("builtin: seed: %w", err)
		}
	}
	return true, nil
}
