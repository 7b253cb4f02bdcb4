package proto

import (
	"slices"
	"time"
)

// MinBooking is the shortest booking a panel offers or the server accepts.
const MinBooking = 5 * time.Minute

// MaxBooking is the longest booking the server accepts from a panel. The
// panel offers at most two hours (BookChoices); the rest is room for a
// panel clock a few minutes off the server's.
const MaxBooking = 3 * time.Hour

// BookDurations are the lengths a panel offers, in minutes, when they fit.
var BookDurations = []int{15, 30, 60}

// BookEnd is when a booking of at least the given minutes made at t ends:
// t (to the minute) plus minutes, rounded up to the next step in the
// room's zone. So a booking is never shorter than asked (30 minutes at
// 8:52 end at 9:30 with 15-minute steps), and ends on the clock's quarter
// hours; a panel labels each choice by this end ("Until 9:30"), so what it
// says is what is booked.
func BookEnd(t time.Time, minutes int, step time.Duration, loc *time.Location) time.Time {
	if step <= 0 {
		step = time.Duration(DefaultBookStepMinutes) * time.Minute
	}
	t = t.Truncate(time.Minute)
	end := ceilLocal(t.Add(time.Duration(minutes)*time.Minute), step, loc)
	for end.Sub(t) < MinBooking {
		end = end.Add(step)
	}
	return end
}

// ceilLocal rounds t up to a multiple of step past the local hour, so steps
// line up with the clock on the wall even in zones whose offset is not a
// whole hour.
func ceilLocal(t time.Time, step time.Duration, loc *time.Location) time.Time {
	lt := t.In(loc)
	hour := time.Date(lt.Year(), lt.Month(), lt.Day(), lt.Hour(), 0, 0, 0, loc)
	d := lt.Sub(hour)
	if r := d % step; r != 0 {
		d += step - r
	}
	return hour.Add(d).UTC()
}

// Choice is one booking a panel offers.
type Choice struct {
	Minutes int       // the length asked for (the booking may be longer), or 0 for "until the next meeting"
	End     time.Time // when the booking ends: what the panel shows, and sends as Request.Until
}

// BookChoices lists the bookings a panel may offer at t, by increasing end:
// each of BookDurations whose end (BookEnd) fits before the next meeting
// and differs from the one before, then "until the next meeting" when that
// meeting starts within two hours and no listed choice already ends then.
// Nothing is offered while the room is busy.
func BookChoices(meetings []Meeting, t time.Time, rules Rules, loc *time.Location) []Choice {
	return BookChoicesOf(BookDurations, meetings, t, rules, loc)
}

// BookChoicesOf is BookChoices with the lengths the panel's settings give
// (Settings.BookMinutes) instead of BookDurations; none means those.
func BookChoicesOf(durations []int, meetings []Meeting, t time.Time, rules Rules, loc *time.Location) []Choice {
	if len(durations) == 0 {
		durations = BookDurations
	}
	limit, free := FreeUntil(meetings, t, loc)
	if !free {
		return nil
	}
	var out []Choice
	for _, min := range durations {
		end := BookEnd(t, min, rules.BookStep(), loc)
		if !limit.IsZero() && end.After(limit) {
			continue
		}
		if len(out) > 0 && !end.After(out[len(out)-1].End) {
			continue // with long steps, 15 and 30 minutes may end alike
		}
		out = append(out, Choice{Minutes: min, End: end})
	}
	start := t.Truncate(time.Minute)
	if !limit.IsZero() && limit.Sub(start) >= MinBooking && limit.Sub(t) <= 2*time.Hour &&
		(len(out) == 0 || !out[len(out)-1].End.Equal(limit)) {
		out = append(out, Choice{End: limit})
	}
	return out
}

// LaterSlotMin is the shortest free gap a panel offers for booking later.
const LaterSlotMin = 15 * time.Minute

// Slot is a free gap in the rest of a room's day, offered for booking
// later: from Start to End (the next meeting, or the end of the day).
type Slot struct {
	Start, End time.Time
}

// LaterSlots lists the free gaps of the rest of t's day in the room's
// zone, by start: each from the next step of the clock (Rules.BookStep)
// after t, or from a meeting's end, to the next meeting's start or
// midnight; gaps shorter than LaterSlotMin are left out. The gap the room
// is free in now (if any) is listed from the next step: booking it later
// is booking from then.
func LaterSlots(meetings []Meeting, t time.Time, rules Rules, loc *time.Location) []Slot {
	lt := t.In(loc)
	dayEnd := time.Date(lt.Year(), lt.Month(), lt.Day()+1, 0, 0, 0, 0, loc).UTC()
	cursor := ceilLocal(t.Truncate(time.Minute).Add(time.Minute), rules.BookStep(), loc)
	type span struct{ start, end time.Time }
	busy := make([]span, 0, len(meetings))
	for _, m := range meetings {
		s, e := Span(m, loc)
		if e.After(cursor) && s.Before(dayEnd) {
			busy = append(busy, span{s, e})
		}
	}
	slices.SortFunc(busy, func(a, b span) int { return a.start.Compare(b.start) })
	var out []Slot
	add := func(from, to time.Time) {
		if to.Sub(from) >= LaterSlotMin {
			out = append(out, Slot{Start: from.UTC(), End: to.UTC()})
		}
	}
	for _, b := range busy {
		if b.start.After(cursor) {
			add(cursor, b.start)
		}
		if b.end.After(cursor) {
			cursor = b.end
		}
	}
	if cursor.Before(dayEnd) {
		add(cursor, dayEnd)
	}
	return out
}

// SlotChoices lists the bookings a panel offers in slot: each of the
// lengths (BookDurations when none) from its start whose end (BookEnd)
// fits in the slot, then the whole slot when it is at most two hours
// long; by increasing end, at most three (the two shortest and the
// longest).
func SlotChoices(durations []int, slot Slot, rules Rules, loc *time.Location) []Choice {
	if len(durations) == 0 {
		durations = BookDurations
	}
	var out []Choice
	for _, min := range durations {
		end := BookEnd(slot.Start, min, rules.BookStep(), loc)
		if end.After(slot.End) || len(out) > 0 && !end.After(out[len(out)-1].End) {
			continue
		}
		out = append(out, Choice{Minutes: min, End: end})
	}
	if d := slot.End.Sub(slot.Start); d >= MinBooking && d <= 2*time.Hour && (len(out) == 0 || !out[len(out)-1].End.Equal(slot.End)) {
		out = append(out, Choice{End: slot.End})
	}
	if len(out) > maxSlotChoices {
		// The shortest ones and the whole slot: a portrait screen
		// keeps room for the agenda.
		out = append(out[:maxSlotChoices-1], out[len(out)-1])
	}
	return out
}

// maxSlotChoices is the most SlotChoices offers.
const maxSlotChoices = 3
