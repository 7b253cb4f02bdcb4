package proto

import (
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestAt(t *testing.T) {
	zurich := mustLoc(t, "Europe/Zurich")
	newYork := mustLoc(t, "America/New_York")
	// at returns a time on 2026-03-10 in Zurich.
	day := func(loc *time.Location, y int, mo time.Month, d, h, mi int) time.Time {
		return time.Date(y, mo, d, h, mi, 0, 0, loc)
	}
	z := func(h, mi int) time.Time { return day(zurich, 2026, 3, 10, h, mi) }
	mt := func(id string, s, e time.Time) Meeting {
		return Meeting{ID: id, Title: id, Start: s.UTC(), End: e.UTC()}
	}
	allDay := func(id string, y int, mo time.Month, d, days int) Meeting {
		s := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
		return Meeting{ID: id, Title: id, Start: s, End: s.AddDate(0, 0, days), AllDay: true}
	}
	checkIn := func(m Meeting) Meeting { m.CheckIn = true; return m }

	tests := []struct {
		name     string
		meetings []Meeting
		at       time.Time
		loc      *time.Location
		status   Status
		current  string // id, "" for none
		until    time.Time
		next     []string
	}{
		{
			name: "empty day is free with no end",
			at:   z(9, 0), loc: zurich, status: StatusFree,
		},
		{
			name:     "free until the next meeting",
			meetings: []Meeting{mt("a", z(14, 0), z(15, 0))},
			at:       z(9, 0), loc: zurich, status: StatusFree, until: z(14, 0), next: []string{"a"},
		},
		{
			name:     "starting soon within ten minutes",
			meetings: []Meeting{mt("a", z(9, 10), z(10, 0))},
			at:       z(9, 0), loc: zurich, status: StatusSoon, until: z(9, 10), next: []string{"a"},
		},
		{
			name:     "eleven minutes ahead is not soon",
			meetings: []Meeting{mt("a", z(9, 11), z(10, 0))},
			at:       z(9, 0), loc: zurich, status: StatusFree, until: z(9, 11), next: []string{"a"},
		},
		{
			name:     "busy until the end",
			meetings: []Meeting{mt("a", z(9, 0), z(10, 0)), mt("b", z(11, 0), z(12, 0))},
			at:       z(9, 30), loc: zurich, status: StatusBusy, current: "a", until: z(10, 0), next: []string{"b"},
		},
		{
			name:     "checked in before the start: on from the check-in, busy until its end",
			meetings: []Meeting{func() Meeting { m := checkIn(mt("a", z(9, 4), z(10, 0))); m.CheckedIn = true; return m }(), mt("b", z(11, 0), z(12, 0))},
			at:       z(9, 0), loc: zurich, status: StatusBusy, current: "a", until: z(10, 0), next: []string{"b"},
		},
		{
			name:     "checked in, but before the check-in window: starting soon",
			meetings: []Meeting{func() Meeting { m := checkIn(mt("a", z(9, 8), z(10, 0))); m.CheckedIn = true; return m }()},
			at:       z(9, 0), loc: zurich, status: StatusSoon, until: z(9, 8), next: []string{"a"},
		},
		{
			name:     "meeting that starts exactly now is on",
			meetings: []Meeting{mt("a", z(9, 0), z(10, 0))},
			at:       z(9, 0), loc: zurich, status: StatusBusy, current: "a", until: z(10, 0),
		},
		{
			name:     "meeting that ends exactly now is over",
			meetings: []Meeting{mt("a", z(9, 0), z(10, 0)), mt("b", z(13, 0), z(14, 0))},
			at:       z(10, 0), loc: zurich, status: StatusFree, until: z(13, 0), next: []string{"b"},
		},
		{
			name: "back to back meetings merge into one busy block",
			meetings: []Meeting{
				mt("c", z(11, 0), z(12, 0)), mt("a", z(9, 0), z(10, 0)), mt("b", z(10, 0), z(11, 0)),
				mt("d", z(12, 30), z(13, 0)),
			},
			at: z(9, 30), loc: zurich, status: StatusBusy, current: "a", until: z(12, 0), next: []string{"b", "c", "d"},
		},
		{
			name:     "back to back: at the seam the second meeting is current",
			meetings: []Meeting{mt("a", z(9, 0), z(10, 0)), mt("b", z(10, 0), z(11, 0))},
			at:       z(10, 0), loc: zurich, status: StatusBusy, current: "b", until: z(11, 0),
		},
		{
			name:     "overlapping: the one that started last is current, busy until the later end",
			meetings: []Meeting{mt("a", z(9, 0), z(11, 0)), mt("b", z(9, 30), z(10, 0))},
			at:       z(9, 45), loc: zurich, status: StatusBusy, current: "b", until: z(11, 0),
		},
		{
			name:     "overlap chain extends the block",
			meetings: []Meeting{mt("a", z(9, 0), z(10, 0)), mt("b", z(9, 50), z(10, 30)), mt("c", z(10, 30), z(10, 45))},
			at:       z(9, 10), loc: zurich, status: StatusBusy, current: "a", until: z(10, 45), next: []string{"b", "c"},
		},
		{
			name:     "across midnight: busy until tomorrow",
			meetings: []Meeting{mt("night", z(23, 0), z(23, 0).Add(3*time.Hour))},
			at:       z(23, 30), loc: zurich, status: StatusBusy, current: "night", until: day(zurich, 2026, 3, 11, 2, 0),
		},
		{
			name:     "across midnight: free until tomorrow morning",
			meetings: []Meeting{mt("morning", day(zurich, 2026, 3, 11, 8, 0), day(zurich, 2026, 3, 11, 9, 0))},
			at:       z(23, 55), loc: zurich, status: StatusFree, until: day(zurich, 2026, 3, 11, 8, 0), next: []string{"morning"},
		},
		{
			name:     "all-day event covers the local day",
			meetings: []Meeting{allDay("offsite", 2026, 3, 10, 1)},
			at:       z(0, 0), loc: zurich, status: StatusBusy, current: "offsite", until: day(zurich, 2026, 3, 11, 0, 0),
		},
		{
			name:     "all-day event is over at local midnight, not UTC midnight",
			meetings: []Meeting{allDay("offsite", 2026, 3, 10, 1)},
			at:       day(zurich, 2026, 3, 11, 0, 30), loc: zurich, status: StatusFree,
		},
		{
			name:     "all-day event has not started before local midnight",
			meetings: []Meeting{allDay("offsite", 2026, 3, 11, 1)},
			at:       z(23, 55), loc: zurich, status: StatusSoon, until: day(zurich, 2026, 3, 11, 0, 0), next: []string{"offsite"},
		},
		{
			name:     "meeting inside an all-day event is current",
			meetings: []Meeting{allDay("offsite", 2026, 3, 10, 1), mt("a", z(9, 0), z(10, 0))},
			at:       z(9, 30), loc: zurich, status: StatusBusy, current: "a", until: day(zurich, 2026, 3, 11, 0, 0),
		},
		{
			// Zurich springs forward on 2026-03-29: 02:00 becomes 03:00.
			name:     "DST spring forward in Zurich: a 23 hour all-day event",
			meetings: []Meeting{allDay("fair", 2026, 3, 29, 1)},
			at:       day(zurich, 2026, 3, 29, 23, 59), loc: zurich, status: StatusBusy, current: "fair",
			until: day(zurich, 2026, 3, 30, 0, 0),
		},
		{
			name: "DST spring forward in Zurich: a meeting over the gap lasts one real hour",
			meetings: []Meeting{mt("early", time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC),
				time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC))}, // 01:30 CET to 03:30 CEST
			at: day(zurich, 2026, 3, 29, 3, 15), loc: zurich, status: StatusBusy, current: "early",
			until: day(zurich, 2026, 3, 29, 3, 30),
		},
		{
			// New York falls back on 2026-11-01: 02:00 EDT becomes 01:00 EST.
			name:     "DST fall back in New York: a 25 hour all-day event",
			meetings: []Meeting{allDay("holiday", 2026, 11, 1, 1)},
			at:       day(newYork, 2026, 11, 1, 23, 30), loc: newYork, status: StatusBusy, current: "holiday",
			until: day(newYork, 2026, 11, 2, 0, 0),
		},
		{
			name: "DST fall back in New York: the repeated hour",
			meetings: []Meeting{mt("b", time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC), // 01:00 EST, the second 01:00
				time.Date(2026, 11, 1, 7, 0, 0, 0, time.UTC))},
			at:  time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), // 01:30 EDT, the first 01:30
			loc: newYork, status: StatusFree, until: time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC), next: []string{"b"},
		},
		{
			name:     "awaiting check-in before the start",
			meetings: []Meeting{checkIn(mt("a", z(9, 0), z(10, 0)))},
			at:       z(8, 56), loc: zurich, status: StatusCheckIn, current: "a", until: z(9, 0), next: []string{"a"},
		},
		{
			name:     "awaiting check-in after the start",
			meetings: []Meeting{checkIn(mt("a", z(9, 0), z(10, 0)))},
			at:       z(9, 9), loc: zurich, status: StatusCheckIn, current: "a", until: z(10, 0),
		},
		{
			name:     "check-in window closed: plain busy",
			meetings: []Meeting{checkIn(mt("a", z(9, 0), z(10, 0)))},
			at:       z(9, 10), loc: zurich, status: StatusBusy, current: "a", until: z(10, 0),
		},
		{
			name: "checked in: plain busy",
			meetings: []Meeting{func() Meeting {
				m := checkIn(mt("a", z(9, 0), z(10, 0)))
				m.CheckedIn = true
				return m
			}()},
			at: z(9, 2), loc: zurich, status: StatusBusy, current: "a", until: z(10, 0),
		},
		{
			name:     "empty and inverted meetings are ignored",
			meetings: []Meeting{mt("zero", z(9, 0), z(9, 0)), mt("inverted", z(10, 0), z(9, 0))},
			at:       z(8, 0), loc: zurich, status: StatusFree,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := At(tc.meetings, tc.at, Rules{}, tc.loc)
			if got.Status != tc.status {
				t.Errorf("status = %s, want %s", got.Status, tc.status)
			}
			cur := ""
			if got.Current != nil {
				cur = got.Current.ID
			}
			if cur != tc.current {
				t.Errorf("current = %q, want %q", cur, tc.current)
			}
			if !got.Until.Equal(tc.until) {
				t.Errorf("until = %v, want %v", got.Until.In(tc.loc), tc.until.In(tc.loc))
			}
			var next []string
			for _, m := range got.Next {
				next = append(next, m.ID)
			}
			if len(next) != len(tc.next) {
				t.Fatalf("next = %v, want %v", next, tc.next)
			}
			for i := range next {
				if next[i] != tc.next[i] {
					t.Fatalf("next = %v, want %v", next, tc.next)
				}
			}
		})
	}
}

func TestRulesOverrideDefaults(t *testing.T) {
	start := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	ms := []Meeting{{ID: "a", Start: start, End: start.Add(time.Hour), CheckIn: true}}
	rules := Rules{SoonMinutes: 30, CheckInBeforeMinutes: 2, CheckInAfterMinutes: 3}
	if got := At(ms, start.Add(-20*time.Minute), rules, time.UTC).Status; got != StatusSoon {
		t.Errorf("20 min before with soon=30: %s, want soon", got)
	}
	if got := At(ms, start.Add(-3*time.Minute), rules, time.UTC).Status; got != StatusSoon {
		t.Errorf("3 min before with check-in before=2: %s, want soon", got)
	}
	if got := At(ms, start.Add(3*time.Minute), rules, time.UTC).Status; got != StatusBusy {
		t.Errorf("3 min after with check-in after=3: %s, want busy", got)
	}
}

func TestFreeUntil(t *testing.T) {
	start := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	ms := []Meeting{{ID: "a", Start: start, End: start.Add(time.Hour), CheckIn: true}}
	if u, ok := FreeUntil(ms, start.Add(-time.Hour), time.UTC); !ok || !u.Equal(start) {
		t.Errorf("an hour before: %v %v, want free until start", u, ok)
	}
	if u, ok := FreeUntil(ms, start.Add(-2*time.Minute), time.UTC); !ok || !u.Equal(start) {
		t.Errorf("in the check-in window before start: %v %v, want free until start", u, ok)
	}
	if _, ok := FreeUntil(ms, start.Add(2*time.Minute), time.UTC); ok {
		t.Error("during the meeting: free, want busy")
	}
	if u, ok := FreeUntil(ms, start.Add(time.Hour), time.UTC); !ok || !u.IsZero() {
		t.Errorf("after the last meeting: %v %v, want free with no end", u, ok)
	}
}

func TestKnown(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	ago := func(m int) time.Time { return now.Add(-time.Duration(m) * time.Minute) }
	tests := []struct {
		name     string
		st       State
		seen     time.Time
		ok       bool
		why      Reason
		lastRead time.Time
	}{
		{"fresh and connected", State{}, time.Time{}, true, "", now},
		{"fresh, offline for 10 min", State{}, ago(10), true, "", ago(10)},
		{"fresh, offline for 31 min", State{}, ago(31), false, ReasonNoConnection, ago(31)},
		{"offline limit from the rules", State{Rules: Rules{StaleAfterMinutes: 60}}, ago(31), true, "", ago(31)},
		{"never read: access denied", State{Stale: true, Reason: ReasonDenied}, time.Time{}, false, ReasonDenied, time.Time{}},
		{"never read, no reason given", State{Stale: true}, time.Time{}, false, ReasonUnreachable, time.Time{}},
		{"stale, read 20 min ago", State{Stale: true, LastSync: ago(20), Reason: ReasonThrottled}, time.Time{}, true, "", ago(20)},
		{"stale, read 30 min ago: the limit itself is still known", State{Stale: true, LastSync: ago(30)}, time.Time{}, true, "", ago(30)},
		{"stale, read 45 min ago", State{Stale: true, LastSync: ago(45), Reason: ReasonSignIn}, time.Time{}, false, ReasonSignIn, ago(45)},
		{"stale and offline: the server's read counts", State{Stale: true, LastSync: ago(45), Reason: ReasonDenied}, ago(5), false, ReasonDenied, ago(45)},
		{"a seen time in the future is now", State{}, now.Add(time.Hour), true, "", now},
	}
	for _, tc := range tests {
		ok, why, last := Known(&tc.st, now, tc.seen)
		if ok != tc.ok || why != tc.why || !last.Equal(tc.lastRead) {
			t.Errorf("%s: Known = %v, %q, %v; want %v, %q, %v", tc.name, ok, why, last, tc.ok, tc.why, tc.lastRead)
		}
	}
}
