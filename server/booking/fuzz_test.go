package booking

import (
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/store"
)

// FuzzBookingLimit: a room's booking bounds come from the admin API (any
// JSON that validates) and its time zone; the limit a panel's booking is
// cut to is always after now and at most the room's longest booking away.
func FuzzBookingLimit(f *testing.F) {
	f.Add(90, "18:00", "Europe/Zurich", int64(1773133320))
	f.Add(0, "", "UTC", int64(0))
	f.Add(1440, "00:00", "Pacific/Kiritimati", int64(-1))
	f.Fuzz(func(t *testing.T, maxMin int, officeEnd, tz string, unix int64) {
		room := store.Room{ID: "r", Name: "R", Calendar: "r", TimeZone: tz, Display: store.DisplayTitle,
			Booking: store.BookingSettings{MaxMinutes: maxMin, OfficeEnd: officeEnd}}
		if room.Validate() != nil {
			return
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return
		}
		now := time.Unix(unix%(1<<40), 0).UTC()
		limit := bookingLimit(room, loc, now)
		longest := maxMin
		if longest == 0 {
			longest = store.DefaultMaxBookingMinutes
		}
		if !limit.After(now) {
			t.Fatalf("limit %v is not after now %v", limit, now)
		}
		if limit.Sub(now) > time.Duration(longest)*time.Minute {
			t.Fatalf("limit %v is more than %d minutes after %v", limit, longest, now)
		}
	})
}
