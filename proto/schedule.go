package proto

import (
	"sort"
	"time"
)

// Status is what a room is doing at a given time: the one word a person
// walking by reads, and the colour of the panel and its LEDs.
type Status string

const (
	StatusFree    Status = "free"     // green: nothing now, nothing soon
	StatusSoon    Status = "soon"     // amber: free, but a meeting starts soon
	StatusBusy    Status = "busy"     // red: a meeting is on
	StatusCheckIn Status = "check_in" // amber blinking: a meeting awaits check-in
	// StatusUnknown: the schedule is not known (never read, or read too
	// long ago): neither free nor busy may be claimed. Known decides it;
	// At never returns it.
	StatusUnknown Status = "unknown"
)

// Default rules, used where Rules leaves a field zero.
const (
	DefaultSoonMinutes          = 10
	DefaultCheckInBeforeMinutes = 5
	DefaultCheckInAfterMinutes  = 10
	DefaultBookStepMinutes      = 15
	DefaultStaleAfterMinutes    = 30
)

func orDefault(v, def int) time.Duration {
	if v <= 0 {
		v = def
	}
	return time.Duration(v) * time.Minute
}

// Soon is how long before a meeting the room turns amber.
func (r Rules) Soon() time.Duration { return orDefault(r.SoonMinutes, DefaultSoonMinutes) }

// CheckInBefore is how early before a meeting's start check-in opens.
func (r Rules) CheckInBefore() time.Duration {
	return orDefault(r.CheckInBeforeMinutes, DefaultCheckInBeforeMinutes)
}

// CheckInAfter is how long after a meeting's start check-in stays open;
// after it, a meeting nobody checked in to may be released.
func (r Rules) CheckInAfter() time.Duration {
	return orDefault(r.CheckInAfterMinutes, DefaultCheckInAfterMinutes)
}

// BookStep is the step booked ends snap to.
func (r Rules) BookStep() time.Duration { return orDefault(r.BookStepMinutes, DefaultBookStepMinutes) }

// StaleAfter is how old the last good read of a schedule may be before the
// schedule counts as unknown.
func (r Rules) StaleAfter() time.Duration {
	return orDefault(r.StaleAfterMinutes, DefaultStaleAfterMinutes)
}

// Known says whether a panel may show a room's status from st at now: the
// schedule was read, and not longer ago than the room's StaleAfter rule.
// seen is the last time the panel knew st to be current: now while it is
// connected to the server (the zero time means that too), the moment the
// connection dropped while it is offline. Otherwise Known returns why the
// schedule is unknown and when it was last read (zero: never).
//
// The server marks a state Stale with the time of its last good read when
// a read fails; a panel that lost the server cannot be told, so it counts
// from when it last heard.
func Known(st *State, now, seen time.Time) (ok bool, why Reason, lastRead time.Time) {
	if seen.IsZero() || seen.After(now) {
		seen = now
	}
	lastRead = seen
	if st.Stale {
		lastRead = st.LastSync
	}
	if !lastRead.IsZero() && now.Sub(lastRead) <= st.Rules.StaleAfter() {
		return true, "", lastRead
	}
	switch {
	case st.Stale && st.Reason != "":
		why = st.Reason
	case st.Stale:
		why = ReasonUnreachable // a server that gave no reason
	default:
		why = ReasonNoConnection // fresh when last heard, but that was long ago
	}
	return false, why, lastRead
}

// Now is a room's situation at one instant.
type Now struct {
	Status Status
	// Current is the meeting in progress, or the one awaiting check-in.
	// When meetings overlap it is the one that started last, since that is
	// the one the people in the room are most likely in.
	Current *Meeting
	// Until is when the status changes: the end of the busy block
	// (back-to-back and overlapping meetings merged), or the start of the
	// next meeting when free. Zero when the room is free for the rest of
	// the known schedule.
	Until time.Time
	// Next lists the meetings that start after t, in order (the current
	// meeting is not among them).
	Next []Meeting
}

// Span returns the instants a meeting occupies. An all-day meeting covers
// whole days in the room's zone: its Start and End carry the dates (at UTC
// midnight, as calendars send them), and the day boundaries are local
// midnights, so a day of 23 or 25 hours around a DST change comes out right.
func Span(m Meeting, loc *time.Location) (start, end time.Time) {
	if !m.AllDay {
		return m.Start, m.End
	}
	day := func(t time.Time) time.Time {
		u := t.UTC()
		return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, loc)
	}
	return day(m.Start), day(m.End)
}

// At computes the room's situation at t from its meetings (in any order),
// its rules and its time zone (used for all-day meetings only).
//
// A meeting that ends exactly at t is over; one that starts exactly at t is
// on. A meeting awaiting check-in (CheckIn set, CheckedIn not) shows
// StatusCheckIn from CheckInBefore its start to CheckInAfter past it; once
// someone checked in, it is on (StatusBusy) from then, even before its
// start.
func At(meetings []Meeting, t time.Time, rules Rules, loc *time.Location) Now {
	type span struct {
		m          Meeting
		start, end time.Time
	}
	spans := make([]span, 0, len(meetings))
	for _, m := range meetings {
		s, e := Span(m, loc)
		if !e.After(s) || !e.After(t) {
			continue // empty, or over by t
		}
		spans = append(spans, span{m, s, e})
	}
	sort.SliceStable(spans, func(i, j int) bool {
		if !spans[i].start.Equal(spans[j].start) {
			return spans[i].start.Before(spans[j].start)
		}
		return spans[i].end.Before(spans[j].end)
	})

	var now Now
	cur := -1
	for i, s := range spans {
		if !s.start.After(t) {
			cur = i // started by t and not over: on; the last such started last
		}
	}
	// Someone checked in early to the next meeting: the room is theirs
	// from the check-in, not free until the meeting's start.
	if cur < 0 && len(spans) > 0 && spans[0].m.CheckIn && spans[0].m.CheckedIn &&
		!t.Before(spans[0].start.Add(-rules.CheckInBefore())) {
		cur = 0
		spans[0].start = t
	}
	for i, s := range spans {
		if s.start.After(t) && i != cur {
			now.Next = append(now.Next, s.m)
		}
	}

	awaiting := func(s span) bool {
		return s.m.CheckIn && !s.m.CheckedIn &&
			!t.Before(s.start.Add(-rules.CheckInBefore())) && t.Before(s.start.Add(rules.CheckInAfter()))
	}

	if cur >= 0 {
		m := spans[cur].m
		now.Current = &m
		now.Status = StatusBusy
		if awaiting(spans[cur]) {
			now.Status = StatusCheckIn
		}
		// Busy until the end of the block of meetings that touch or overlap.
		end := t
		for _, s := range spans {
			if s.start.After(end) {
				break
			}
			if s.end.After(end) {
				end = s.end
			}
		}
		now.Until = end
		return now
	}

	now.Status = StatusFree
	if len(spans) == 0 {
		return now
	}
	next := spans[0]
	now.Until = next.start
	switch {
	case awaiting(next):
		m := next.m
		now.Current = &m
		now.Status = StatusCheckIn
	case next.start.Sub(t) <= rules.Soon():
		now.Status = StatusSoon
	}
	return now
}

// FreeUntil is how long the room is free from t: the start of the next
// meeting, or the zero time when no meeting follows. ok is false when the
// room is not free at t.
func FreeUntil(meetings []Meeting, t time.Time, loc *time.Location) (until time.Time, ok bool) {
	n := At(meetings, t, Rules{}, loc)
	if n.Status == StatusBusy || (n.Status == StatusCheckIn && n.Current != nil && !n.Current.Start.After(t)) {
		return time.Time{}, false
	}
	return n.Until, true
}
