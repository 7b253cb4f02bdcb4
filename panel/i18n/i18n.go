// Package i18n is the one catalog of words a door panel shows, in every
// language it speaks, and the one resolver from a locale ("de-CH",
// "fr_FR", "en-GB") to those words and the clock people there read.
//
// The view's status words, the app's buttons and notices, the wording of
// the server's codes (refusals, why a calendar could not be read) and the
// subject of a meeting booked at the door all come from here, so a panel
// never mixes two languages. The server sends codes and parameters, never
// sentences to show (DESIGN.md).
package i18n

import (
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/lintelhq/lintel/proto"
)

// HourCycle picks a 12 or 24 hour clock.
type HourCycle int

const (
	// HourCycleLocale follows the locale: 12 hours for English in the
	// United States and a few other places, 24 hours elsewhere
	// (including "en-GB", "de", "fr"), which is what people there read
	// without thinking.
	HourCycleLocale HourCycle = iota
	HourCycle12               // "2:30 PM"
	HourCycle24               // "14:30"
)

// Lang is a resolved locale: the words of the best matching language, and
// the clock of the locale's region.
type Lang struct {
	Tag    string // the language matched: "en", "de", "fr", "it" or "es"
	W      *Words
	hour12 bool
}

// catalog lists the languages, the first being the fallback.
var catalog = []struct {
	tag   language.Tag
	words *Words
}{
	{language.English, &english},
	{language.German, &german},
	{language.French, &french},
	{language.Italian, &italian},
	{language.Spanish, &spanish},
}

var matcher = func() language.Matcher {
	tags := make([]language.Tag, len(catalog))
	for i, c := range catalog {
		tags[i] = c.tag
	}
	return language.NewMatcher(tags)
}()

// Languages lists the languages of the catalog ("en", "de", ...), for the
// admin's choice of a room's language.
func Languages() []string {
	out := make([]string, len(catalog))
	for i, c := range catalog {
		out[i] = c.tag.String()
	}
	return out
}

// hour12Regions are where English speakers read a 12 hour clock.
var hour12Regions = map[string]bool{"US": true, "CA": true, "AU": true, "NZ": true, "PH": true, "IN": true}

// Speaks reports whether a locale matches a language of the catalog (and
// does not merely fall back to English).
func Speaks(locale string) bool {
	want, err := language.Parse(strings.ReplaceAll(strings.TrimSpace(locale), "_", "-"))
	if err != nil {
		return false
	}
	_, _, conf := matcher.Match(want)
	return conf != language.No
}

// Resolve matches a locale ("de", "de-CH", "fr_FR", "en-GB", ...) to the
// catalog with golang.org/x/text/language: the closest language, English
// when none is close. An empty locale is "en" (United States).
func Resolve(locale string) Lang {
	locale = strings.ReplaceAll(strings.TrimSpace(locale), "_", "-")
	if locale == "" {
		locale = "en"
	}
	want, err := language.Parse(locale)
	if err != nil {
		want = language.English
	}
	_, i, conf := matcher.Match(want)
	if conf == language.No {
		i = 0
	}
	l := Lang{Tag: catalog[i].tag.String(), W: catalog[i].words}
	base, _ := want.Base()
	region, _ := want.Region() // "en" alone gives US
	l.hour12 = base.String() == "en" && hour12Regions[region.String()]
	return l
}

// Hour12 decides the clock: the room's (set by its admin, sent in the
// state: 12 or 24) wins, then the panel's own setting, then the locale's
// custom. So a Zurich room reads 24 hours on an English panel.
func (l Lang) Hour12(room int, panel HourCycle) bool {
	switch {
	case room == 12:
		return true
	case room == 24:
		return false
	case panel == HourCycle12:
		return true
	case panel == HourCycle24:
		return false
	}
	return l.hour12
}

// Clock formats a time of day in loc: "14:05" or "2:05 PM", with a
// no-break space before AM/PM so a line never breaks inside a time.
func Clock(t time.Time, loc *time.Location, hour12 bool) string {
	t = t.In(loc)
	if hour12 {
		return t.Format(time12)
	}
	return t.Format("15:04")
}

const time12 = "3:04\u00a0PM"

// Span formats a meeting's time range in the room's zone: "13:00 – 14:30",
// "1:00 – 2:30 PM" (one AM/PM when both ends share it), or "All day".
func (l Lang) Span(m proto.Meeting, loc *time.Location, hour12 bool) string {
	if m.AllDay {
		return l.W.AllDay
	}
	s, e := m.Start.In(loc), m.End.In(loc)
	if hour12 {
		if (s.Hour() < 12) == (e.Hour() < 12) {
			return s.Format("3:04") + " – " + e.Format(time12)
		}
		return s.Format(time12) + " – " + e.Format(time12)
	}
	return s.Format("15:04") + " – " + e.Format("15:04")
}

// Title is what to show for a meeting: the panel's word for its label, or
// the title the server sent.
func (l Lang) Title(m proto.Meeting) string {
	if m.Label == proto.LabelReserved {
		return l.W.Reserved
	}
	return m.Title
}

// Reason words why a calendar could not be read, or why a request was
// refused, with its parameters; "" for a reason this panel does not know.
func (l Lang) Reason(r proto.Reason, params map[string]string) string {
	s, ok := l.W.Reasons[r]
	if !ok {
		return ""
	}
	// The catalog's templates name parameters as {name}.
	for k, v := range params {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

// Error words a refusal or failure: its reason, else its code. The
// server's English message is never shown.
func (l Lang) Error(e *proto.Error) string {
	if e == nil {
		return l.W.Failed
	}
	if s := l.Reason(e.Reason, e.Params); s != "" {
		return s
	}
	if s, ok := l.W.Codes[e.Code]; ok {
		return s
	}
	return l.W.Failed
}
