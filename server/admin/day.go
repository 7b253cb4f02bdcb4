package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/builtin"
	"github.com/lintelhq/lintel/server/store"
)

// The day view edits a room's meetings in the built-in calendar, one day
// at a time in the room's zone. It goes through the same calls as the
// API's /api/v1/rooms/{room}/events (the built-in calendar's Add, Change
// and Remove, which check every event the same way) and refreshes the
// room's panels after each change.

// dayMeeting is one meeting as the day view lists it. A private meeting's
// subject is not shown: the page says "Private meeting".
type dayMeeting struct {
	ID        string
	Subject   string
	Organizer string
	Start     string // "09:00" in the room's zone, or a date when not on this day
	End       string
	AllDay    bool
	Private   bool
	Online    bool
	Released  bool // declined by the room: no longer occupies it
	Now       bool // on at this moment
	// X and W place the meeting on the timeline (0 to 1000).
	X, W int
	// Form values of its move form.
	MoveDate, MoveStart, MoveEnd string
}

// dayForm is the add form, as typed.
type dayForm struct {
	Subject, Organizer, Start, End string
	AllDay, Private                bool
}

type dayData struct {
	Room      store.Room
	Date      string // 2006-01-02, the day shown
	DateLabel string // "Tuesday 10 March 2026"
	Prev      string
	Next      string
	Today     string
	IsToday   bool
	Editable  bool
	Why       string // why meetings cannot be edited here
	Meetings  []dayMeeting
	Hours     []dayHour
	NowX      int // the current time on the timeline, -1 when not today
	Add       dayForm
	// MoveError is the error of the move form of meeting MoveID.
	MoveID, MoveError string
}

type dayHour struct {
	X     int
	Label string
}

// timeline is the part of the day the timeline shows: office hours,
// widened to every meeting of the day.
func timeline(meetings []store.Event, dayStart time.Time, loc *time.Location) (from, to int) {
	from, to = 7, 20
	for _, e := range meetings {
		if e.AllDay {
			continue
		}
		s, en := e.Start.In(loc), e.End.In(loc)
		if s.Before(dayStart) {
			from = 0
		} else {
			from = min(from, s.Hour())
		}
		if !en.Before(dayStart.AddDate(0, 0, 1)) {
			to = 24
		} else {
			to = max(to, en.Hour()+min(1, en.Minute()))
		}
	}
	return from, to
}

// parseDay reads the date parameter in the room's zone; today when empty.
func parseDay(v string, now time.Time, loc *time.Location) (time.Time, error) {
	if v == "" {
		n := now.In(loc)
		return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc), nil
	}
	d, err := time.ParseInLocation("2006-01-02", v, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date like 2026-03-10", v)
	}
	return d, nil
}

func (s *Server) dayData(r *http.Request, room store.Room, day time.Time) (dayData, error) {
	loc := location(room.TimeZone)
	now := s.opts.Now()
	today, _ := parseDay("", now, loc)
	d := dayData{Room: room, Date: day.Format("2006-01-02"), DateLabel: day.Format("Monday 2 January 2006"),
		Prev: day.AddDate(0, 0, -1).Format("2006-01-02"), Next: day.AddDate(0, 0, 1).Format("2006-01-02"),
		Today: today.Format("2006-01-02"), IsToday: day.Equal(today), NowX: -1}
	cal, err := s.editor()
	if err != nil {
		d.Why = err.Error()
		return d, nil
	}
	d.Editable = true
	all, err := cal.List(r.Context(), room.ID)
	if err != nil {
		return d, err
	}
	end := day.AddDate(0, 0, 1)
	var events []store.Event
	for _, e := range all {
		start, stop := proto.Span(proto.Meeting{Start: e.Start, End: e.End, AllDay: e.AllDay}, loc)
		if start.Before(end) && stop.After(day) {
			events = append(events, e)
		}
	}
	from, to := timeline(events, day, loc)
	span := float64(to-from) * float64(time.Hour)
	x := func(t time.Time) int {
		off := t.Sub(day.Add(time.Duration(from) * time.Hour))
		return int(min(1000, max(0, 1000*float64(off)/span)))
	}
	for h := from; h <= to; h++ {
		d.Hours = append(d.Hours, dayHour{X: x(day.Add(time.Duration(h) * time.Hour)), Label: fmt.Sprintf("%02d", h%24)})
	}
	if d.IsToday {
		d.NowX = x(now)
	}
	clock := func(t time.Time) string {
		t = t.In(loc)
		if t.Equal(end) {
			return "24:00"
		}
		if t.Before(day) || !t.Before(end) {
			return t.Format("Mon 2 Jan 15:04")
		}
		return t.Format("15:04")
	}
	for _, e := range events {
		m := dayMeeting{ID: e.ID, Subject: e.Subject, Organizer: e.Organizer, AllDay: e.AllDay, Private: e.Private,
			Online: e.Online, Released: e.Declined}
		if m.Private {
			m.Subject = "" // the template says "Private meeting"
		}
		start, stop := proto.Span(proto.Meeting{Start: e.Start, End: e.End, AllDay: e.AllDay}, loc)
		m.Now = !now.Before(start) && now.Before(stop) && !e.Declined
		if e.AllDay {
			m.Start, m.End = "all day", ""
			m.X, m.W = 0, 1000
		} else {
			m.Start, m.End = clock(e.Start), clock(e.End)
			m.X = x(e.Start)
			m.W = max(4, x(e.End)-m.X)
		}
		ls, le := e.Start.In(loc), e.End.In(loc)
		m.MoveDate, m.MoveStart, m.MoveEnd = ls.Format("2006-01-02"), ls.Format("15:04"), le.Format("15:04")
		d.Meetings = append(d.Meetings, m)
	}
	return d, nil
}

func (s *Server) dayRoom(w http.ResponseWriter, r *http.Request) (store.Room, bool) {
	room, err := s.opts.Store.Room(r.PathValue("room"))
	if err != nil {
		http.Error(w, "no such room", http.StatusNotFound)
		return room, false
	}
	return room, true
}

func (s *Server) dayPage(w http.ResponseWriter, r *http.Request) {
	room, ok := s.dayRoom(w, r)
	if !ok {
		return
	}
	loc := location(room.TimeZone)
	day, err := parseDay(r.URL.Query().Get("date"), s.opts.Now(), loc)
	if err != nil {
		back(w, r, "/rooms/"+room.ID+"/day", "err", err.Error())
		return
	}
	data, err := s.dayData(r, room, day)
	if err != nil {
		s.log.Error("day view", "room", room.ID, "err", err)
		http.Error(w, "cannot read the room's calendar", http.StatusInternalServerError)
		return
	}
	data.Add = dayForm{Start: defaultStart(s.opts.Now(), day, loc)}
	data.Add.End = addMinutes(data.Add.Start, 30)
	s.render(w, r, "day", room.Name+": day", data)
}

// defaultStart proposes the add form's start: the next quarter hour
// today, 09:00 on other days.
func defaultStart(now, day time.Time, loc *time.Location) string {
	n := now.In(loc)
	if y, m, dd := n.Date(); y != day.Year() || m != day.Month() || dd != day.Day() || n.Hour() >= 23 {
		return "09:00"
	}
	return n.Truncate(15 * time.Minute).Add(15 * time.Minute).Format("15:04")
}

func addMinutes(hhmm string, minutes int) string {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		return ""
	}
	return t.Add(time.Duration(minutes) * time.Minute).Format("15:04")
}

// dayTimes turns a date and two times of day typed in the room's zone into
// instants. An end of 00:00 (or 24:00) is the midnight that ends the day.
func dayTimes(date, start, end string, loc *time.Location) (time.Time, time.Time, error) {
	day, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(date), loc)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("the date %q is not like 2026-03-10", date)
	}
	at := func(what, v string) (time.Time, error) {
		v = strings.TrimSpace(v)
		if v == "24:00" {
			return day.AddDate(0, 0, 1), nil
		}
		t, err := time.Parse("15:04", v)
		if err != nil {
			return time.Time{}, fmt.Errorf("the %s time %q is not a time like 09:30", what, v)
		}
		return time.Date(day.Year(), day.Month(), day.Day(), t.Hour(), t.Minute(), 0, 0, loc), nil
	}
	s, err := at("start", start)
	if err != nil {
		return s, s, err
	}
	e, err := at("end", end)
	if err != nil {
		return s, e, err
	}
	if e.Equal(day) && !s.Equal(day) {
		e = day.AddDate(0, 0, 1) // 00:00 as the end: midnight tonight
	}
	return s, e, nil
}

// eventProblem words an error of the built-in calendar for the page.
func eventProblem(err error) string {
	var ce *calendar.Error
	if errors.As(err, &ce) {
		return title(ce.Msg) + "."
	}
	return title(strings.TrimPrefix(strings.TrimPrefix(err.Error(), "builtin: "), "invalid event: ")) + "."
}

// dayBack returns to the day view of date with a message.
func dayBack(w http.ResponseWriter, r *http.Request, room, date, msg string) {
	back(w, r, "/rooms/"+room+"/day?date="+url.QueryEscape(date), "msg", msg)
}

func (s *Server) dayAdd(w http.ResponseWriter, r *http.Request) {
	room, ok := s.dayRoom(w, r)
	if !ok {
		return
	}
	loc := location(room.TimeZone)
	date := r.PostFormValue("date")
	form := dayForm{Subject: strings.TrimSpace(r.PostFormValue("subject")), Organizer: strings.TrimSpace(r.PostFormValue("organizer")),
		Start: r.PostFormValue("start"), End: r.PostFormValue("end"), AllDay: r.PostFormValue("all_day") == "on", Private: r.PostFormValue("private") == "on"}
	again := func(msg string) {
		day, err := parseDay(date, s.opts.Now(), loc)
		if err != nil {
			day, _ = parseDay("", s.opts.Now(), loc)
		}
		data, err := s.dayData(r, room, day)
		if err != nil {
			http.Error(w, "cannot read the room's calendar", http.StatusInternalServerError)
			return
		}
		data.Add = form
		s.renderError(w, r, "day", room.Name+": day", msg, data)
	}
	cal, err := s.editor()
	if err != nil {
		again(err.Error())
		return
	}
	in := builtin.Input{Subject: form.Subject, Organizer: form.Organizer, Private: form.Private, AllDay: form.AllDay}
	if form.AllDay {
		day, err := time.Parse("2006-01-02", date)
		if err != nil {
			again(fmt.Sprintf("The date %q is not like 2026-03-10.", date))
			return
		}
		in.Start, in.End = day, day.AddDate(0, 0, 1) // all-day events are dates at UTC midnight
	} else if in.Start, in.End, err = dayTimes(date, form.Start, form.End, loc); err != nil {
		again(title(err.Error()) + ".")
		return
	}
	if in.Subject == "" {
		again("Give the meeting a subject.")
		return
	}
	if _, err := cal.Add(r.Context(), room.ID, in); err != nil {
		again(eventProblem(err))
		return
	}
	s.refresh(r.Context(), room.ID)
	s.log.Info("meeting added in the built-in calendar", "room", room.ID, "admin", sessionOf(r).Admin)
	dayBack(w, r, room.ID, date, "Added "+form.Subject+".")
}

// dayChange moves a meeting: new date, start and end; everything else
// stays as it is (a private meeting's subject never reaches the page).
func (s *Server) dayChange(w http.ResponseWriter, r *http.Request) {
	room, ok := s.dayRoom(w, r)
	if !ok {
		return
	}
	loc := location(room.TimeZone)
	id := r.PathValue("event")
	shown := r.PostFormValue("shown") // the day the form was on
	again := func(msg string) {
		day, err := parseDay(shown, s.opts.Now(), loc)
		if err != nil {
			day, _ = parseDay("", s.opts.Now(), loc)
		}
		data, err := s.dayData(r, room, day)
		if err != nil {
			http.Error(w, "cannot read the room's calendar", http.StatusInternalServerError)
			return
		}
		for i := range data.Meetings {
			if m := &data.Meetings[i]; m.ID == id {
				m.MoveDate, m.MoveStart, m.MoveEnd = r.PostFormValue("date"), r.PostFormValue("start"), r.PostFormValue("end")
			}
		}
		data.MoveID, data.MoveError = id, msg
		data.Add = dayForm{Start: defaultStart(s.opts.Now(), day, loc)}
		data.Add.End = addMinutes(data.Add.Start, 30)
		s.renderError(w, r, "day", room.Name+": day", msg, data)
	}
	cal, err := s.editor()
	if err != nil {
		again(err.Error())
		return
	}
	evs, err := cal.List(r.Context(), room.ID)
	if err != nil {
		again(eventProblem(err))
		return
	}
	var ev *store.Event
	for i := range evs {
		if evs[i].ID == id {
			ev = &evs[i]
		}
	}
	if ev == nil {
		again("That meeting no longer exists.")
		return
	}
	in := builtin.Input{Subject: ev.Subject, Organizer: ev.Organizer, AllDay: ev.AllDay, Private: ev.Private, Online: ev.Online}
	if ev.AllDay {
		day, err := time.Parse("2006-01-02", r.PostFormValue("date"))
		if err != nil {
			again(fmt.Sprintf("The date %q is not like 2026-03-10.", r.PostFormValue("date")))
			return
		}
		in.Start, in.End = day, day.Add(ev.End.Sub(ev.Start))
	} else if in.Start, in.End, err = dayTimes(r.PostFormValue("date"), r.PostFormValue("start"), r.PostFormValue("end"), loc); err != nil {
		again(title(err.Error()) + ".")
		return
	}
	if _, err := cal.Change(r.Context(), room.ID, id, in); err != nil {
		again(eventProblem(err))
		return
	}
	s.refresh(r.Context(), room.ID)
	dayBack(w, r, room.ID, in.Start.In(loc).Format("2006-01-02"), "Moved the meeting to "+in.Start.In(loc).Format("Mon 2 Jan 15:04")+".")
}

func (s *Server) dayRemove(w http.ResponseWriter, r *http.Request) {
	room, ok := s.dayRoom(w, r)
	if !ok {
		return
	}
	shown := r.PostFormValue("shown")
	if r.PostFormValue("confirm") != "yes" {
		back(w, r, "/rooms/"+room.ID+"/day?date="+url.QueryEscape(shown), "err", "Nothing removed: confirm with the button in the box.")
		return
	}
	cal, err := s.editor()
	if err != nil {
		back(w, r, "/rooms/"+room.ID+"/day?date="+url.QueryEscape(shown), "err", err.Error())
		return
	}
	if err := cal.Remove(r.Context(), room.ID, r.PathValue("event")); err != nil {
		back(w, r, "/rooms/"+room.ID+"/day?date="+url.QueryEscape(shown), "err", eventProblem(err))
		return
	}
	s.refresh(r.Context(), room.ID)
	dayBack(w, r, room.ID, shown, "Removed the meeting.")
}
