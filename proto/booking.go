package proto

import "time"

// MinBooking is the shortest booking a panel offers or the server accepts.
const MinBooking = 5 * time.Minute

// BookDurations are the lengths a panel offers, in minutes, when they fit.
var BookDurations = []int{15, 30, 60}

// BookEnd is when a booking of the given minutes made at t ends: t+minutes
// rounded to the nearest step in the room's zone (so a 30-minute booking
// at 10:07 ends at 10:30 with 15-minute steps), and never less than
// MinBooking after t.
func BookEnd(t time.Time, minutes int, step time.Duration, loc *time.Location) time.Time {
	end := roundLocal(t.Add(time.Duration(minutes)*time.Minute), step, loc)
	for end.Sub(t) < MinBooking {
		end = end.Add(step)
	}
	return end
}

// roundLocal rounds t to the nearest multiple of step past the local hour,
// so steps line up with the clock on the wall even in zones whose offset is
// not a whole hour.
func roundLocal(t time.Time, step time.Duration, loc *time.Location) time.Time {
	lt := t.In(loc)
	hour := time.Date(lt.Year(), lt.Month(), lt.Day(), lt.Hour(), 0, 0, 0, loc)
	return hour.Add(lt.Sub(hour).Round(step)).UTC()
}

// Choice is one booking a panel offers.
type Choice struct {
	Minutes int       // the length asked for, or 0 for "until the next meeting"
	End     time.Time // when the booking would end
}

// BookChoices lists the bookings a panel may offer at t: each of
// BookDurations whose end fits before the next meeting, then "until the
// next meeting" when that meeting starts within two hours and no listed
// choice already ends then. Nothing is offered while the room is busy.
func BookChoices(meetings []Meeting, t time.Time, rules Rules, loc *time.Location) []Choice {
	limit, free := FreeUntil(meetings, t, loc)
	if !free {
		return nil
	}
	var out []Choice
	for _, min := range BookDurations {
		end := BookEnd(t, min, rules.BookStep(), loc)
		if limit.IsZero() || !end.After(limit) {
			out = append(out, Choice{Minutes: min, End: end})
		}
	}
	if !limit.IsZero() && limit.Sub(t) >= MinBooking && limit.Sub(t) <= 2*time.Hour &&
		(len(out) == 0 || !out[len(out)-1].End.Equal(limit)) {
		out = append(out, Choice{End: limit})
	}
	return out
}
