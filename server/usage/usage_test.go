package usage

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/store"
)

// A known week, checked figure by figure. Rigi (Zurich, UTC+1 in March)
// asks for check-in: a daily standup at 09:00 local (30 min) checked in
// to on Monday and released 10 minutes in from Tuesday to Friday, a
// walk-up booking on Wednesday, a checked-in retro on Friday, and a
// release of a meeting no read saw start on Saturday. Titlis (UTC) does
// not ask for check-in: one 2-hour meeting on Thursday.
func TestTallyKnownWeek(t *testing.T) {
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday
	to := from.Add(7 * 24 * time.Hour)
	now := to.Add(12 * time.Hour)
	day := func(d int, hh, mm int) time.Time {
		return from.Add(time.Duration(d)*24*time.Hour + time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
	}
	rooms := []store.Room{{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich"}, {ID: "titlis", Name: "Titlis", TimeZone: "UTC"}}
	ok := func(id string) json.RawMessage {
		b, _ := json.Marshal(proto.Result{OK: true, Meeting: &proto.Meeting{ID: id}})
		return b
	}
	refused, _ := json.Marshal(proto.Result{Error: proto.NewError(proto.CodeConflict, "taken")})
	var activity []store.Outcome
	var meetings []store.Meeting
	for d := range 5 {
		id := "standup-" + string(rune('1'+d))
		meetings = append(meetings, store.Meeting{Room: "rigi", ID: id, Title: "Standup", Organizer: "Anna", Start: day(d, 8, 0), End: day(d, 8, 30), Series: "same:standup", CheckIn: true})
		if d == 0 {
			activity = append(activity, store.Outcome{Device: "p1", ID: "c1", Room: "rigi", Action: "checkin", At: day(d, 7, 58), Result: ok(id)})
		} else {
			activity = append(activity, store.Outcome{Device: "lintel", ID: "release-" + id, Room: "rigi", Action: "release", At: day(d, 8, 10), Result: ok("")})
		}
	}
	meetings = append(meetings,
		store.Meeting{Room: "rigi", ID: "walk1", Start: day(2, 13, 0), End: day(2, 13, 45), Series: "same:walk", CheckIn: true},
		store.Meeting{Room: "titlis", ID: "board", Start: day(3, 10, 0), End: day(3, 12, 0), Series: "same:board"},
		store.Meeting{Room: "rigi", ID: "retro", Start: day(4, 14, 0), End: day(4, 15, 0), Series: "same:retro", CheckIn: true},
		store.Meeting{Room: "rigi", ID: "before", Start: day(-1, 9, 0), End: day(-1, 10, 0), CheckIn: true}, // outside the period
	)
	activity = append(activity,
		store.Outcome{Device: "p1", ID: "b1", Room: "rigi", Action: "book", At: day(2, 13, 0), Result: ok("walk1")},
		store.Outcome{Device: "p1", ID: "b2", Room: "rigi", Action: "book", At: day(2, 13, 1), Result: refused},
		store.Outcome{Device: "p1", ID: "c2", Room: "rigi", Action: "checkin", At: day(4, 14, 2), Result: ok("retro")},
		store.Outcome{Device: "lintel", ID: "release-unseen", Room: "rigi", Action: "release", At: day(5, 10, 15), Result: ok("")},
	)
	// Meetings come in order of start, as the store reads them.
	tl := NewTally(from, to, now, rooms)
	for _, o := range activity {
		tl.AddActivity(o)
	}
	ordered := []int{8, 0, 1, 2, 5, 3, 6, 4, 7}
	for _, i := range ordered {
		tl.AddMeeting(meetings[i])
	}
	rep := tl.Report()

	min := func(n int) time.Duration { return time.Duration(n) * time.Minute }
	want := map[string]Figures{
		"rigi":   {Meetings: 7, Booked: min(255), CheckedIn: min(135), Released: min(80), WalkUps: 1, NoShows: 5, Releases: 5},
		"titlis": {Meetings: 1, Booked: min(120)},
	}
	if len(rep.Rooms) != 2 || rep.Rooms[0].ID != "rigi" || rep.Rooms[1].ID != "titlis" {
		t.Fatalf("rooms %+v", rep.Rooms)
	}
	for _, r := range rep.Rooms {
		if r.Figures != want[r.ID] {
			t.Errorf("%s: %+v\nwant %+v", r.ID, r.Figures, want[r.ID])
		}
	}
	total := Figures{Meetings: 8, Booked: min(375), CheckedIn: min(135), Released: min(80), WalkUps: 1, NoShows: 5, Releases: 5}
	if rep.Total != total {
		t.Errorf("total %+v\nwant %+v", rep.Total, total)
	}
	// Held time by local hour: 09 (Zurich) 30 + 4x10 min, 10 and 11
	// (Titlis, UTC) 60 each, 14 (walk-up) 45, 15 (retro) 60.
	for h, m := range map[int]int{9: 70, 10: 60, 11: 60, 14: 45, 15: 60} {
		if rep.ByHour[h] != min(m) {
			t.Errorf("hour %d: %s held, want %d min", h, rep.ByHour[h], m)
		}
	}
	if rep.PeakHour != 9 || rep.PeakWeekday != int(time.Thursday) {
		t.Errorf("peak hour %d, weekday %d; want 9 and Thursday", rep.PeakHour, rep.PeakWeekday)
	}
	if rep.ByWeekday[time.Thursday] != min(130) || rep.ByWeekday[time.Monday] != min(30) {
		t.Errorf("by weekday %v", rep.ByWeekday)
	}
	if len(rep.Series) != 1 {
		t.Fatalf("flagged series %+v, want the standup", rep.Series)
	}
	s := rep.Series[0]
	if s.Room != "rigi" || s.RoomName != "Rigi" || s.Key != "same:standup" || s.Streak != 4 || s.Released != 4 || s.TimeOfDay != "09:00" || s.Title != "Standup" || !s.Last.Equal(day(4, 8, 0)) {
		t.Errorf("flagged %+v", s)
	}
}

// A series is flagged from NoShowStreak no-shows in a row, and an
// occurrence someone came to ends the run; a meeting still on and not
// released decides nothing.
func TestNoShowStreak(t *testing.T) {
	from := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	rooms := []store.Room{{ID: "r", Name: "R", TimeZone: "UTC"}}
	for _, tc := range []struct {
		name    string
		pattern string // per weekly occurrence: n no-show (released), c checked in, o on now
		flagged int    // the streak flagged, 0 for none
	}{
		{"two", "nn", 0},
		{"three", "nnn", 3},
		{"broken", "nncn", 0},
		{"after a visit", "cnnn", 3},
		{"on now", "nnno", 3},
		{"long", "nnnnnn", 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			week := 7 * 24 * time.Hour
			now := from.Add(time.Duration(len(tc.pattern)-1)*week + 5*time.Minute)
			tl := NewTally(from, now.Add(time.Hour), now, rooms)
			var ms []store.Meeting
			for i, c := range tc.pattern {
				start := from.Add(time.Duration(i) * week)
				id := string(rune('a' + i))
				ms = append(ms, store.Meeting{Room: "r", ID: id, Start: start, End: start.Add(time.Hour), Series: "s", CheckIn: true})
				res, _ := json.Marshal(proto.Result{OK: true, Meeting: &proto.Meeting{ID: id}})
				switch c {
				case 'n':
					tl.AddActivity(store.Outcome{ID: "release-" + id, Room: "r", Action: "release", At: start.Add(10 * time.Minute)})
				case 'c':
					tl.AddActivity(store.Outcome{ID: "c" + id, Room: "r", Action: "checkin", At: start, Result: res})
				}
			}
			for _, m := range ms {
				tl.AddMeeting(m)
			}
			rep := tl.Report()
			switch {
			case tc.flagged == 0 && len(rep.Series) != 0:
				t.Errorf("flagged %+v", rep.Series)
			case tc.flagged > 0 && (len(rep.Series) != 1 || rep.Series[0].Streak != tc.flagged):
				t.Errorf("flagged %+v, want a streak of %d", rep.Series, tc.flagged)
			}
		})
	}
}
