package admin

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// humanDuration says a duration the way a person would: "45 s", "10 min",
// "2 h 5 min", "3 d 4 h". Seconds show only under a minute, minutes only
// under a day.
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Second)
	if d < time.Minute {
		return fmt.Sprintf("%d s", int(d.Seconds()))
	}
	d = d.Round(time.Minute)
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 24*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	d = d.Round(time.Hour)
	days, h := int(d.Hours())/24, int(d.Hours())%24
	if h == 0 {
		return fmt.Sprintf("%d d", days)
	}
	return fmt.Sprintf("%d d %d h", days, h)
}

// ago says how long before now t was, or the date for older times.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < 48*time.Hour:
		return humanDuration(d) + " ago"
	}
	return t.Format("2006-01-02")
}

// location loads a room's zone; UTC when the name is unknown (which
// checkRoom does not let in).
func location(tz string) *time.Location {
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" {
		return time.UTC
	}
	return loc
}

// rfc3339Times finds the timestamps other parts of the server put in
// activity summaries.
var rfc3339Times = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)`)

// localizeTimes rewrites RFC 3339 timestamps in text as the room's local
// time of day ("09:30"), or date and time when not on day.
func localizeTimes(text string, loc *time.Location, day time.Time) string {
	return rfc3339Times.ReplaceAllStringFunc(text, func(s string) string {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return s
		}
		t = t.In(loc)
		if y, m, d := t.Date(); y == day.Year() && m == day.Month() && d == day.Day() {
			return t.Format("15:04")
		}
		return t.Format("Mon 2 Jan 15:04")
	})
}

// title capitalizes the first letter, for labels made from words.
func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
