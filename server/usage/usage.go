// Package usage answers "were the rooms used?": per room over a period,
// the hours booked, the hours of meetings someone checked in to, the
// bookings made at a panel (walk-ups), the no-shows and the hours released
// for them, and when rooms are busiest; and it flags meeting series that
// keep not showing up.
//
// It works from what the server itself recorded, the same for the
// built-in calendar and Microsoft 365 (whose events are not in the store):
// the meetings the syncer wrote down once they started (store.Meeting)
// and the activity log (bookings at a panel, check-ins, releases). A
// Tally takes the activity first, then the meetings in order of start,
// and keeps only counters and ids: a 90-day period of many rooms is read
// once, never held in memory.
package usage

import (
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/store"
)

// NoShowStreak is how many occurrences of a series in a row nobody came to
// before the series is flagged: one no-show is chance and two can be a
// holiday or a sick day, but three in a row mostly means a series nobody
// attends any more while it keeps blocking the room.
const NoShowStreak = 3

// ActivityMargin is how far around the period the activity is read: a
// meeting near either end of it is checked in to up to the room's early
// check-in before its start and released after it, so the outcomes of
// every meeting of the period are found.
const ActivityMargin = 24 * time.Hour

// Figures are the counts of one room, or of all.
type Figures struct {
	Meetings int // meetings that started in the period
	// Booked is the meetings' time; CheckedIn that of the meetings
	// someone checked in to (or booked at the door, which counts as
	// checking in); Released the time given back by releasing no-shows
	// (from the release to the meeting's end).
	Booked, CheckedIn, Released time.Duration
	WalkUps                     int // bookings made at a panel
	// NoShows are meetings in rooms that ask for check-in that nobody
	// checked in to (released or not); Releases those released.
	NoShows, Releases int
}

func (f *Figures) add(g Figures) {
	f.Meetings += g.Meetings
	f.Booked += g.Booked
	f.CheckedIn += g.CheckedIn
	f.Released += g.Released
	f.WalkUps += g.WalkUps
	f.NoShows += g.NoShows
	f.Releases += g.Releases
}

// Room is one room's figures.
type Room struct {
	ID, Name string
	Removed  bool // the room is no longer configured
	Figures
}

// Series is a meeting series flagged for recurring no-shows.
type Series struct {
	Room, RoomName   string
	Key              string // store.Meeting.Series
	Title, Organizer string // as the room's panels show them
	TimeOfDay        string // "09:00", the room's local time of its latest occurrence
	Streak           int    // no-shows in a row up to its latest occurrence
	Last             time.Time
	Released         int // how many of the streak were released
}

// Report is what a Tally found.
type Report struct {
	From, To time.Time
	Rooms    []Room // by name
	Total    Figures
	// ByHour and ByWeekday are the time held (booked and not released),
	// by hour of day and day of week (time.Weekday) in each room's zone.
	ByHour                [24]time.Duration
	ByWeekday             [7]time.Duration
	PeakHour, PeakWeekday int // -1 when nothing was held
	Series                []Series
}

// Tally computes a Report. Give it the activity from From-ActivityMargin
// to To+ActivityMargin (AddActivity), then the meetings that start in
// [From, To) in order of start (AddMeeting), then ask for the Report.
type Tally struct {
	from, to, now time.Time
	rooms         map[string]*Room
	locs          map[string]*time.Location
	checkedIn     map[string]bool      // room/event
	released      map[string]time.Time // room/event -> when
	seen          map[string]bool      // room/event of meetings tallied
	series        map[string]*Series   // room/series key
	byHour        [24]time.Duration
	byWeekday     [7]time.Duration
}

// NewTally starts a tally of [from, to) as of now, for the configured rooms.
func NewTally(from, to, now time.Time, rooms []store.Room) *Tally {
	t := &Tally{from: from, to: to, now: now, rooms: map[string]*Room{}, locs: map[string]*time.Location{},
		checkedIn: map[string]bool{}, released: map[string]time.Time{}, seen: map[string]bool{}, series: map[string]*Series{}}
	for _, r := range rooms {
		t.rooms[r.ID] = &Room{ID: r.ID, Name: r.Name}
		loc, err := time.LoadLocation(r.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		t.locs[r.ID] = loc
	}
	return t
}

func (t *Tally) room(id string) *Room {
	r, ok := t.rooms[id]
	if !ok {
		r = &Room{ID: id, Name: id, Removed: true}
		t.rooms[id] = r
	}
	return r
}

func (t *Tally) loc(room string) *time.Location {
	if l, ok := t.locs[room]; ok {
		return l
	}
	return time.UTC
}

func (t *Tally) inPeriod(at time.Time) bool { return !at.Before(t.from) && at.Before(t.to) }

// AddActivity takes one activity entry. It always returns nil: it has the
// signature of store.DB.ActivityBetween's callback.
func (t *Tally) AddActivity(o store.Outcome) error {
	switch o.Action {
	case string(proto.ActionBook), string(proto.ActionCheckIn):
		var res proto.Result
		if json.Unmarshal(o.Result, &res) != nil || !res.OK || res.Meeting == nil {
			return nil
		}
		// Whoever books at the door is in the room: that counts as
		// checking in (as the booking service records it).
		t.checkedIn[o.Room+"/"+res.Meeting.ID] = true
		if o.Action == string(proto.ActionBook) && t.inPeriod(o.At) {
			t.room(o.Room).WalkUps++
		}
	case "release":
		// Released by the auto-release: its id is "release-<event id>".
		if ev, ok := strings.CutPrefix(o.ID, "release-"); ok {
			t.released[o.Room+"/"+ev] = o.At
		}
	}
	return nil
}

// AddMeeting takes one meeting; meetings come in order of start. It
// always returns nil, for store.DB.Meetings' callback.
func (t *Tally) AddMeeting(m store.Meeting) error {
	if !t.inPeriod(m.Start) || !m.End.After(m.Start) {
		return nil
	}
	key := m.Room + "/" + m.ID
	t.seen[key] = true
	r := t.room(m.Room)
	r.Meetings++
	r.Booked += m.End.Sub(m.Start)
	checkedIn := t.checkedIn[key]
	if checkedIn {
		r.CheckedIn += m.End.Sub(m.Start)
	}
	held := m.End
	releasedAt, released := t.released[key]
	if released {
		r.Releases++
		if releasedAt.Before(m.End) {
			r.Released += m.End.Sub(releasedAt)
			held = releasedAt
		}
	}
	// A no-show: nobody checked in to a meeting of a room that asks for
	// it, once it was released or ended.
	noShow := !checkedIn && (released || (m.CheckIn && !m.End.After(t.now)))
	if noShow {
		r.NoShows++
	}
	t.spread(m.Room, m.Start, held)
	if m.Series != "" && (noShow || checkedIn || !m.End.After(t.now)) {
		t.streak(m, noShow, released)
	}
	return nil
}

// streak follows a series' latest run of no-shows; an occurrence somebody
// came to (or one in a room without check-in that ended) ends the run.
func (t *Tally) streak(m store.Meeting, noShow, released bool) {
	key := m.Room + "/" + m.Series
	s, ok := t.series[key]
	if !ok {
		s = &Series{Room: m.Room, Key: m.Series}
		t.series[key] = s
	}
	if !noShow {
		s.Streak, s.Released = 0, 0
		return
	}
	s.Streak++
	if released {
		s.Released++
	}
	s.Title, s.Organizer, s.Last = m.Title, m.Organizer, m.Start
	s.TimeOfDay = m.Start.In(t.loc(m.Room)).Format("15:04")
}

// spread adds [start, end) to the hours of day and days of week it covers,
// in the room's zone.
func (t *Tally) spread(room string, start, end time.Time) {
	loc := t.loc(room)
	for at := start; at.Before(end); {
		local := at.In(loc)
		next := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), 0, 0, 0, loc).Add(time.Hour)
		if next.After(end) {
			next = end
		}
		t.byHour[local.Hour()] += next.Sub(at)
		t.byWeekday[local.Weekday()] += next.Sub(at)
		at = next
	}
}

// Report returns the figures. Releases of meetings the syncer never saw
// start (they were released before a read saw them) still count as
// no-shows and releases, without hours.
func (t *Tally) Report() Report {
	for key, at := range t.released {
		if t.seen[key] || !t.inPeriod(at) {
			continue
		}
		room, _, _ := strings.Cut(key, "/")
		r := t.room(room)
		r.Releases++
		r.NoShows++
	}
	rep := Report{From: t.from, To: t.to, ByHour: t.byHour, ByWeekday: t.byWeekday, PeakHour: peak(t.byHour[:]), PeakWeekday: peak(t.byWeekday[:])}
	for _, r := range t.rooms {
		rep.Rooms = append(rep.Rooms, *r)
		rep.Total.add(r.Figures)
	}
	sort.Slice(rep.Rooms, func(i, j int) bool {
		a, b := rep.Rooms[i], rep.Rooms[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.ID < b.ID
	})
	for _, s := range t.series {
		if s.Streak >= NoShowStreak {
			s.RoomName = t.room(s.Room).Name
			rep.Series = append(rep.Series, *s)
		}
	}
	sort.Slice(rep.Series, func(i, j int) bool {
		a, b := rep.Series[i], rep.Series[j]
		if a.Streak != b.Streak {
			return a.Streak > b.Streak
		}
		return a.Last.After(b.Last)
	})
	return rep
}

// peak is the index of the largest value, the first of equals; -1 when all
// are zero.
func peak(v []time.Duration) int {
	best := -1
	for i, d := range v {
		if d > 0 && (best < 0 || d > v[best]) {
			best = i
		}
	}
	return best
}
