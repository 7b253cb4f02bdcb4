package admin

import (
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lintelhq/lintel/server/store"
	"github.com/lintelhq/lintel/server/usage"
)

// "Were the rooms used?": the utilization figures as a page (with its
// charts drawn here, as SVG), as JSON and as CSV, all from one
// usage.Report over a period of whole days.

// UsageStore is what the utilization figures are computed from: the
// meetings the syncer recorded once they started, and the activity log.
type UsageStore interface {
	Meetings(from, to time.Time, fn func(store.Meeting) error) error
	ActivityBetween(from, to time.Time, fn func(store.Outcome) error) error
}

// defaultUsageDays is the period shown when none is asked for.
const defaultUsageDays = 30

// maxUsageRows bounds a CSV export: one line per room.
const maxUsageRows = 10000

// period is a span of whole UTC days: [From, To).
type period struct {
	From, To time.Time
}

// Days counts the period's days.
func (p period) Days() int { return int(p.To.Sub(p.From) / (24 * time.Hour)) }

// lastDay is the period's last day, as the form shows it.
func (p period) lastDay() time.Time { return p.To.Add(-24 * time.Hour) }

// retention is how long the figures' sources are kept.
func (s *Server) retention() time.Duration {
	if s.opts.Retention > 0 {
		return s.opts.Retention
	}
	return store.DefaultActivityRetention
}

// usagePeriod reads from and to (dates, YYYY-MM-DD, UTC, both included)
// from the query: by default the last 30 days up to today. The period
// starts at the earliest on the first day still within the retention, and
// ends at the latest today.
func (s *Server) usagePeriod(r *http.Request) (period, error) {
	today := s.opts.Now().UTC().Truncate(24 * time.Hour)
	earliest := s.opts.Now().UTC().Add(-s.retention()).Truncate(24 * time.Hour).Add(24 * time.Hour)
	p := period{From: today.Add(-(defaultUsageDays - 1) * 24 * time.Hour), To: today.Add(24 * time.Hour)}
	if p.From.Before(earliest) {
		p.From = earliest
	}
	q := r.URL.Query()
	day := func(name string) (time.Time, bool, error) {
		v := q.Get(name)
		if v == "" {
			return time.Time{}, false, nil
		}
		if len(v) > 10 {
			return time.Time{}, false, httpError(http.StatusBadRequest, "%s is a date like 2026-03-10", name)
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return time.Time{}, false, httpError(http.StatusBadRequest, "%s is a date like 2026-03-10, not %q", name, v)
		}
		return t, true, nil
	}
	from, hasFrom, err := day("from")
	if err != nil {
		return p, err
	}
	to, hasTo, err := day("to")
	if err != nil {
		return p, err
	}
	if hasTo {
		if to.After(today) {
			return p, httpError(http.StatusBadRequest, "to is in the future: the figures reach today (%s) at the latest", today.Format(time.DateOnly))
		}
		p.To = to.Add(24 * time.Hour)
		if !hasFrom {
			if p.From = p.To.Add(-defaultUsageDays * 24 * time.Hour); p.From.Before(earliest) {
				p.From = earliest
			}
		}
	}
	if hasFrom {
		if from.Before(earliest) {
			return p, httpError(http.StatusBadRequest, "from is before %s: the figures are kept %d days (--retention-activity)", earliest.Format(time.DateOnly), int(s.retention()/(24*time.Hour)))
		}
		p.From = from
	}
	if !p.From.Before(p.To) {
		return p, httpError(http.StatusBadRequest, "from is after to")
	}
	return p, nil
}

// usageReport computes the figures of a period.
func (s *Server) usageReport(p period) (usage.Report, error) {
	rooms, err := s.opts.Store.Rooms()
	if err != nil {
		return usage.Report{}, fmt.Errorf("utilization: %w", err)
	}
	t := usage.NewTally(p.From, p.To, s.opts.Now(), rooms)
	if err := s.opts.Store.ActivityBetween(p.From.Add(-usage.ActivityMargin), p.To.Add(usage.ActivityMargin), t.AddActivity); err != nil {
		return usage.Report{}, fmt.Errorf("utilization: %w", err)
	}
	if err := s.opts.Store.Meetings(p.From, p.To, t.AddMeeting); err != nil {
		return usage.Report{}, fmt.Errorf("utilization: %w", err)
	}
	return t.Report(), nil
}

// hours is a duration in hours, to the hundredth.
func hours(d time.Duration) float64 { return math.Round(d.Hours()*100) / 100 }

// figuresJSON is a room's (or all rooms') figures in the API.
type figuresJSON struct {
	Meetings       int     `json:"meetings"`
	BookedHours    float64 `json:"booked_hours"`
	CheckedInHours float64 `json:"checked_in_hours"`
	WalkUps        int     `json:"walk_ups"`
	NoShows        int     `json:"no_shows"`
	Releases       int     `json:"releases"`
	ReleasedHours  float64 `json:"released_hours"`
}

func figuresOf(f usage.Figures) figuresJSON {
	return figuresJSON{Meetings: f.Meetings, BookedHours: hours(f.Booked), CheckedInHours: hours(f.CheckedIn),
		WalkUps: f.WalkUps, NoShows: f.NoShows, Releases: f.Releases, ReleasedHours: hours(f.Released)}
}

type roomUsageJSON struct {
	Room    string `json:"room"`
	Name    string `json:"name"`
	Removed bool   `json:"removed,omitempty"`
	figuresJSON
}

type seriesJSON struct {
	Room      string    `json:"room"`
	Title     string    `json:"title"`
	Organizer string    `json:"organizer,omitempty"`
	TimeOfDay string    `json:"time_of_day"`
	NoShows   int       `json:"no_shows_in_a_row"`
	Released  int       `json:"released"`
	Last      time.Time `json:"last"`
}

// utilizationJSON is GET /api/v1/utilization's answer.
type utilizationJSON struct {
	From  string          `json:"from"` // first day, UTC
	To    string          `json:"to"`   // last day, UTC, included
	Days  int             `json:"days"`
	Rooms []roomUsageJSON `json:"rooms"`
	Total figuresJSON     `json:"total"`
	// HeldHoursByHour: hours booked and not released, by hour of day
	// (0-23) in each room's time zone; HeldHoursByWeekday by day,
	// Monday first.
	HeldHoursByHour    []float64 `json:"held_hours_by_hour"`
	HeldHoursByWeekday []float64 `json:"held_hours_by_weekday"`
	PeakHour           *int      `json:"peak_hour"`
	PeakWeekday        string    `json:"peak_weekday,omitempty"`
	// RecurringNoShows are the series nobody came to NoShowStreak
	// times or more in a row, up to their latest occurrence.
	RecurringNoShows []seriesJSON `json:"recurring_no_shows"`
	NoShowStreak     int          `json:"no_show_streak"`
}

// mondayFirst orders the days of the week as people here list them.
var mondayFirst = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

func usageJSON(p period, rep usage.Report) utilizationJSON {
	out := utilizationJSON{From: p.From.Format(time.DateOnly), To: p.lastDay().Format(time.DateOnly), Days: p.Days(),
		Rooms: []roomUsageJSON{}, Total: figuresOf(rep.Total), RecurringNoShows: []seriesJSON{}, NoShowStreak: usage.NoShowStreak}
	for _, r := range rep.Rooms {
		out.Rooms = append(out.Rooms, roomUsageJSON{Room: r.ID, Name: r.Name, Removed: r.Removed, figuresJSON: figuresOf(r.Figures)})
	}
	for _, d := range rep.ByHour {
		out.HeldHoursByHour = append(out.HeldHoursByHour, hours(d))
	}
	for _, wd := range mondayFirst {
		out.HeldHoursByWeekday = append(out.HeldHoursByWeekday, hours(rep.ByWeekday[wd]))
	}
	if rep.PeakHour >= 0 {
		h := rep.PeakHour
		out.PeakHour = &h
		out.PeakWeekday = time.Weekday(rep.PeakWeekday).String()
	}
	for _, s := range rep.Series {
		out.RecurringNoShows = append(out.RecurringNoShows, seriesJSON{Room: s.Room, Title: s.Title, Organizer: s.Organizer,
			TimeOfDay: s.TimeOfDay, NoShows: s.Streak, Released: s.Released, Last: s.Last.UTC()})
	}
	return out
}

// utilization is GET /api/v1/utilization.
func (s *Server) utilization(w http.ResponseWriter, r *http.Request) error {
	p, err := s.usagePeriod(r)
	if err != nil {
		return err
	}
	rep, err := s.usageReport(p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, usageJSON(p, rep))
	return nil
}

// csvCell keeps a spreadsheet from reading a name as a formula.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// utilizationCSV is GET /api/v1/utilization.csv: one line per room, then
// the total, in the columns of the JSON answer.
func (s *Server) utilizationCSV(w http.ResponseWriter, r *http.Request) error {
	p, err := s.usagePeriod(r)
	if err != nil {
		return err
	}
	rep, err := s.usageReport(p)
	if err != nil {
		return err
	}
	if len(rep.Rooms) > maxUsageRows {
		return httpError(http.StatusRequestEntityTooLarge, "%d rooms: a CSV export has at most %d lines; use the JSON API", len(rep.Rooms), maxUsageRows)
	}
	j := usageJSON(p, rep)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="lintel-utilization-%s-to-%s.csv"`, j.From, j.To))
	cw := csv.NewWriter(w)
	cw.Write([]string{"room", "name", "from", "to", "meetings", "booked_hours", "checked_in_hours", "walk_ups", "no_shows", "releases", "released_hours"})
	line := func(id, name string, f figuresJSON) {
		num := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
		cw.Write([]string{csvCell(id), csvCell(name), j.From, j.To, strconv.Itoa(f.Meetings), num(f.BookedHours), num(f.CheckedInHours),
			strconv.Itoa(f.WalkUps), strconv.Itoa(f.NoShows), strconv.Itoa(f.Releases), num(f.ReleasedHours)})
	}
	for _, rm := range j.Rooms {
		line(rm.Room, rm.Name, rm.figuresJSON)
	}
	line("", "All rooms", j.Total)
	cw.Flush()
	return cw.Error()
}

// chartBar is one bar of a server-drawn chart.
type chartBar struct {
	X, Y, W, H float64
	Label      string // under the bar
	Title      string // the tooltip: the label and the value
	Peak       bool
}

// chart is a bar chart drawn as SVG in a viewBox of Width x Height: bars
// scaled to the largest value, a label under each.
type chart struct {
	Width, Height float64
	LabelY        float64
	Bars          []chartBar
	Summary       string // the chart in words, for screen readers
}

// labelEvery labels one bar in so many, so that labels stay readable on
// a phone.
func barChart(values []time.Duration, labels []string, peak int, what string, labelEvery int) chart {
	const width, height, top, bottom = 480.0, 160.0, 6.0, 22.0
	c := chart{Width: width, Height: height, LabelY: height - 6}
	var most time.Duration
	for _, v := range values {
		most = max(most, v)
	}
	slot := width / float64(len(values))
	for i, v := range values {
		h := 0.0
		if most > 0 {
			h = (height - top - bottom) * float64(v) / float64(most)
		}
		label := ""
		if i%labelEvery == 0 {
			label = labels[i]
		}
		c.Bars = append(c.Bars, chartBar{X: float64(i)*slot + slot*0.15, W: slot * 0.7, Y: height - bottom - h, H: h,
			Label: label, Title: fmt.Sprintf("%s: %s h", labels[i], strconv.FormatFloat(hours(v), 'f', -1, 64)), Peak: i == peak})
	}
	if peak >= 0 {
		c.Summary = fmt.Sprintf("%s; the busiest is %s with %s hours", what, labels[peak], strconv.FormatFloat(hours(values[peak]), 'f', -1, 64))
	} else {
		c.Summary = what + ": nothing booked"
	}
	return c
}

// usageRow is one line of the page's table.
type usageRow struct {
	ID, Name          string
	Removed           bool
	Meetings          int
	Booked, CheckedIn string
	WalkUps           int
	NoShows, Releases int
	Released          string
	CheckedInPct      string // checked-in share of the booked time
}

func hoursText(d time.Duration) string {
	return strconv.FormatFloat(hours(d), 'f', 1, 64)
}

func rowOf(id, name string, removed bool, f usage.Figures) usageRow {
	row := usageRow{ID: id, Name: name, Removed: removed, Meetings: f.Meetings, Booked: hoursText(f.Booked), CheckedIn: hoursText(f.CheckedIn),
		WalkUps: f.WalkUps, NoShows: f.NoShows, Releases: f.Releases, Released: hoursText(f.Released), CheckedInPct: "–"}
	if f.Booked > 0 {
		row.CheckedInPct = fmt.Sprintf("%d %%", int(math.Round(100*float64(f.CheckedIn)/float64(f.Booked))))
	}
	return row
}

// seriesRow is a flagged series as the page shows it.
type seriesRow struct {
	Room, RoomName   string
	Title, Organizer string
	TimeOfDay        string
	Streak, Released int
	Last             string
}

// usagePage is GET /utilization.
func (s *Server) usagePage(w http.ResponseWriter, r *http.Request) {
	p, err := s.usagePeriod(r)
	errText := ""
	if err != nil {
		errText = err.Error() + "; showing the last 30 days."
		r.URL.RawQuery = ""
		p, _ = s.usagePeriod(r)
	}
	rep, err := s.usageReport(p)
	if err != nil {
		s.log.Error("utilization page", "err", err)
		http.Error(w, "cannot read the store", http.StatusInternalServerError)
		return
	}
	var rows []usageRow
	for _, rm := range rep.Rooms {
		rows = append(rows, rowOf(rm.ID, rm.Name, rm.Removed, rm.Figures))
	}
	hourLabels := make([]string, 24)
	for h := range hourLabels {
		hourLabels[h] = fmt.Sprintf("%02d", h)
	}
	var byDay []time.Duration
	var dayLabels []string
	peakDay := -1
	for i, wd := range mondayFirst {
		byDay = append(byDay, rep.ByWeekday[wd])
		dayLabels = append(dayLabels, wd.String()[:3])
		if int(wd) == rep.PeakWeekday {
			peakDay = i
		}
	}
	var series []seriesRow
	for _, sr := range rep.Series {
		loc := time.UTC
		if rm, err := s.opts.Store.Room(sr.Room); err == nil {
			loc = location(rm.TimeZone)
		}
		series = append(series, seriesRow{Room: sr.Room, RoomName: sr.RoomName, Title: sr.Title, Organizer: sr.Organizer, TimeOfDay: sr.TimeOfDay,
			Streak: sr.Streak, Released: sr.Released, Last: sr.Last.In(loc).Format("Mon 2 Jan")})
	}
	data := map[string]any{
		"From": p.From.Format(time.DateOnly), "To": p.lastDay().Format(time.DateOnly), "Days": p.Days(),
		"Min":   s.opts.Now().UTC().Add(-s.retention()).Truncate(24 * time.Hour).Add(24 * time.Hour).Format(time.DateOnly),
		"Today": s.opts.Now().UTC().Format(time.DateOnly), "Retention": int(s.retention() / (24 * time.Hour)),
		"Rows": rows, "Total": rowOf("", "All rooms", false, rep.Total),
		"ByHour":    barChart(rep.ByHour[:], hourLabels, rep.PeakHour, "Hours held by hour of day", 3),
		"ByWeekday": barChart(byDay, dayLabels, peakDay, "Hours held by day of week", 1),
		"Series":    series, "Streak": usage.NoShowStreak,
		"CSV": "/api/v1/utilization.csv?from=" + p.From.Format(time.DateOnly) + "&to=" + p.lastDay().Format(time.DateOnly),
	}
	s.renderPage(w, r, http.StatusOK, "utilization", "Utilization", errText, data)
}
