package i18n

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
)

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		locale string
		lang   string
		hour12 bool
	}{
		{"", "en", true},
		{"en", "en", true},
		{"en-US", "en", true},
		{"en_US", "en", true},
		{"en-GB", "en", false},
		{"en_GB", "en", false},
		{"en-AU", "en", true},
		{"de", "de", false},
		{"de-CH", "de", false},
		{"de_AT", "de", false},
		{"gsw", "de", false}, // Swiss German reads German
		{"fr", "fr", false},
		{"fr-CH", "fr", false},
		{"fr_FR", "fr", false},
		{"fr-CA", "fr", false},
		{"it", "it", false},
		{"it-CH", "it", false},
		{"es", "es", false},
		{"es-ES", "es", false},
		{"es-419", "es", false},
		{"xx", "en", true}, // not a language: English as in the US
		{"ja", "en", false},
		{"not a locale", "en", true},
	} {
		l := Resolve(tc.locale)
		if l.Tag != tc.lang || l.Hour12(0, HourCycleLocale) != tc.hour12 {
			t.Errorf("Resolve(%q) = %s, 12h %v; want %s, 12h %v", tc.locale, l.Tag, l.Hour12(0, HourCycleLocale), tc.lang, tc.hour12)
		}
		if l.W != wordsOf(t, tc.lang) {
			t.Errorf("Resolve(%q): words of another language", tc.locale)
		}
	}
}

func wordsOf(t *testing.T, tag string) *Words {
	for _, c := range catalog {
		if c.tag.String() == tag {
			return c.words
		}
	}
	t.Fatalf("no language %s", tag)
	return nil
}

// TestHour12 checks the order: the room's clock, then the panel's, then
// the locale's.
func TestHour12(t *testing.T) {
	en, de := Resolve("en"), Resolve("de-CH")
	for _, tc := range []struct {
		l     Lang
		room  int
		panel HourCycle
		want  bool
	}{
		{en, 24, HourCycleLocale, false}, // a Zurich room on an English panel
		{en, 24, HourCycle12, false},
		{de, 12, HourCycle24, true},
		{en, 0, HourCycle24, false},
		{de, 0, HourCycle12, true},
		{en, 0, HourCycleLocale, true},
		{de, 0, HourCycleLocale, false},
		{en, 7, HourCycleLocale, true}, // nonsense from the wire: ignored
	} {
		if got := tc.l.Hour12(tc.room, tc.panel); got != tc.want {
			t.Errorf("%s.Hour12(%d, %d) = %v, want %v", tc.l.Tag, tc.room, tc.panel, got, tc.want)
		}
	}
}

// TestCatalogComplete checks that every language words everything: no
// empty text, every reason and every problem key, the same format verbs
// as English.
func TestCatalogComplete(t *testing.T) {
	reasons := []proto.Reason{
		proto.ReasonDenied, proto.ReasonNotFound, proto.ReasonSignIn, proto.ReasonThrottled, proto.ReasonUnreachable, proto.ReasonNoConnection,
		proto.ReasonBookingOff, proto.ReasonTeamsOff, proto.ReasonTeamsFailed, proto.ReasonTooShort, proto.ReasonTooLong, proto.ReasonTaken,
		proto.ReasonBookedNext, proto.ReasonExtendOff, proto.ReasonNotOn, proto.ReasonCheckInOff, proto.ReasonCheckInEarly, proto.ReasonNoMeeting,
		proto.ReasonNoRoom, proto.ReasonCalendarDown, proto.ReasonNotSaved, proto.ReasonNotPaired, proto.ReasonVersion, proto.ReasonLaterToday,
	}
	verbs := func(s string) string {
		var out []string
		for _, v := range []string{"%s", "%d", "{minutes}", "{server}", "{panel}"} {
			if n := strings.Count(s, v); n > 0 {
				out = append(out, strings.Repeat(v, n))
			}
		}
		return strings.Join(out, "")
	}
	en := reflect.ValueOf(english)
	for _, c := range catalog {
		v := reflect.ValueOf(*c.words)
		for i := range v.NumField() {
			name := v.Type().Field(i).Name
			if f := v.Field(i); f.Kind() == reflect.String {
				if f.String() == "" {
					t.Errorf("%s: %s is empty", c.tag, name)
				}
				if verbs(f.String()) != verbs(en.Field(i).String()) {
					t.Errorf("%s: %s = %q has other format verbs than English %q", c.tag, name, f.String(), en.Field(i).String())
				}
			}
		}
		for _, r := range reasons {
			s := c.words.Reasons[r]
			if s == "" {
				t.Errorf("%s: reason %s not worded", c.tag, r)
			}
			if verbs(s) != verbs(english.Reasons[r]) {
				t.Errorf("%s: reason %s = %q has other parameters than English", c.tag, r, s)
			}
		}
		for _, k := range []string{"projector", "dirty", "other"} {
			if c.words.Problems[k] == "" {
				t.Errorf("%s: problem %s not worded", c.tag, k)
			}
		}
		if len(c.words.Reasons) != len(reasons) || len(c.words.Codes) != len(english.Codes) {
			t.Errorf("%s: %d reasons, %d codes; want %d, %d", c.tag, len(c.words.Reasons), len(c.words.Codes), len(reasons), len(english.Codes))
		}
	}
}

func TestErrorWording(t *testing.T) {
	de := Resolve("de-CH")
	for _, tc := range []struct {
		e    *proto.Error
		want string
	}{
		{proto.Refusal(proto.CodeNotAllowed, proto.ReasonCheckInEarly, "check-in opens 5 minutes before the meeting", "minutes", "5"), "Check-in ist ab 5 Min. vor Beginn möglich."},
		{proto.Refusal(proto.CodeUnsupportedVersion, proto.ReasonVersion, "...", "server", "2", "panel", "1"), "Der Server spricht Protokoll 2, dieses Panel Protokoll 1."},
		{proto.Refusal(proto.CodeConflict, "a reason from a newer server", "the room was just booked"), "Der Raum wurde gerade von jemand anderem gebucht."},
		{proto.NewError(proto.CodeInternal, "boom"), "Das hat nicht geklappt. Bitte nochmals versuchen."},
		{nil, "Das hat nicht geklappt. Bitte nochmals versuchen."},
	} {
		if got := de.Error(tc.e); got != tc.want {
			t.Errorf("Error(%+v) = %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestClockAndSpan(t *testing.T) {
	zurich, _ := time.LoadLocation("Europe/Zurich")
	m := proto.Meeting{Start: time.Date(2026, 3, 10, 8, 30, 0, 0, time.UTC), End: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	en := Resolve("en")
	if got := Clock(m.Start, zurich, true); got != "9:30\u00a0AM" {
		t.Errorf("12h clock %q", got)
	}
	if got := Clock(m.Start, zurich, false); got != "09:30" {
		t.Errorf("24h clock %q", got)
	}
	if got := en.Span(m, zurich, true); got != "9:30\u00a0AM – 1:00\u00a0PM" {
		t.Errorf("12h span %q", got)
	}
	m.End = m.Start.Add(time.Hour)
	if got := en.Span(m, zurich, true); got != "9:30 – 10:30\u00a0AM" {
		t.Errorf("12h span in one morning %q", got)
	}
	if got := Resolve("it").Span(proto.Meeting{AllDay: true}, zurich, false); got != "Tutto il giorno" {
		t.Errorf("all day %q", got)
	}
	if got := Resolve("es").Title(proto.Meeting{Title: "Reserved", Label: proto.LabelReserved}); got != "Reservada" {
		t.Errorf("reserved label %q", got)
	}
}

func TestLanguages(t *testing.T) {
	if got := strings.Join(Languages(), " "); got != "en de fr it es" {
		t.Errorf("Languages() = %q", got)
	}
}

func TestSpeaks(t *testing.T) {
	for locale, want := range map[string]bool{"de-CH": true, "fr_FR": true, "en-GB": true, "it": true, "es-419": true, "ja": false, "xx": false, "": false} {
		if got := Speaks(locale); got != want {
			t.Errorf("Speaks(%q) = %v, want %v", locale, got, want)
		}
	}
}
