package proto

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Capabilities a panel names in Hello.Accepts. A server sends a message
// type an older panel does not know only to panels that accept it: an old
// panel's strict decoder would refuse the frame (unknown type) and drop
// the connection. Append only.
const (
	// AcceptSettings: the panel applies a TypeSettings message.
	AcceptSettings = "settings"
	// AcceptFirmware: the panel applies a TypeFirmware message.
	AcceptFirmware = "firmware"
)

// Can reports whether the hello names capability c.
func (h Hello) Can(c string) bool { return slices.Contains(h.Accepts, c) }

// Settings are a panel's display settings as the server decides them
// (the fleet's default, the room's, the panel's own override). The zero
// value of each field means "not set": the panel keeps its own
// configuration's value for it, else its built-in default.
type Settings struct {
	// Locale is the panel's language, e.g. "de" or "fr-CH".
	Locale string `json:"locale,omitempty"`
	// Hours is the clock: 12 or 24.
	Hours int `json:"hours,omitempty"`
	// OfficeHours says when the screen is fully on, in the panel's
	// office-hours syntax ("mon-fri 07:00-19:00", several ranges
	// separated by ","), or "always" for a screen that never sleeps.
	OfficeHours string `json:"office_hours,omitempty"`
	// Night is the screen outside office hours: "off" or "dim".
	Night string `json:"night,omitempty"`
	// Brightness and DimBrightness are the backlight's levels when on and
	// dim, in percent (1-100).
	Brightness    int `json:"brightness,omitempty"`
	DimBrightness int `json:"dim_brightness,omitempty"`
	// LEDBrightness is the status LEDs' brightness in percent (1-100);
	// LEDNightBrightness theirs outside office hours.
	LEDBrightness      int `json:"led_brightness,omitempty"`
	LEDNightBrightness int `json:"led_night_brightness,omitempty"`
	// BookMinutes are the booking menu's lengths, in minutes (at most
	// MaxBookChoices, each 5-120, increasing).
	BookMinutes []int `json:"book_minutes,omitempty"`
	// OfflineGraceSeconds is how long the connection may be down before
	// the panel says it is offline (10-3600).
	OfflineGraceSeconds int `json:"offline_grace_s,omitempty"`
}

// MaxBookChoices bounds Settings.BookMinutes: more do not fit one row.
const MaxBookChoices = 4

// The values of Settings.Night.
const (
	NightOff = "off"
	NightDim = "dim"
)

// OfficeAlways is the Settings.OfficeHours of a screen that never sleeps.
const OfficeAlways = "always"

// Over returns s with every field s leaves unset taken from base: the
// layers of the fleet's settings are stacked with it (panel over room over
// fleet, and on the panel the server's over its configuration).
func (s Settings) Over(base Settings) Settings {
	str := func(a, b string) string {
		if a != "" {
			return a
		}
		return b
	}
	num := func(a, b int) int {
		if a != 0 {
			return a
		}
		return b
	}
	out := Settings{
		Locale:              str(s.Locale, base.Locale),
		Hours:               num(s.Hours, base.Hours),
		OfficeHours:         str(s.OfficeHours, base.OfficeHours),
		Night:               str(s.Night, base.Night),
		Brightness:          num(s.Brightness, base.Brightness),
		DimBrightness:       num(s.DimBrightness, base.DimBrightness),
		LEDBrightness:       num(s.LEDBrightness, base.LEDBrightness),
		LEDNightBrightness:  num(s.LEDNightBrightness, base.LEDNightBrightness),
		BookMinutes:         s.BookMinutes,
		OfflineGraceSeconds: num(s.OfflineGraceSeconds, base.OfflineGraceSeconds),
	}
	if len(out.BookMinutes) == 0 {
		out.BookMinutes = base.BookMinutes
	}
	out.BookMinutes = slices.Clone(out.BookMinutes)
	return out
}

// IsZero reports whether no field is set.
func (s Settings) IsZero() bool {
	return s.Over(Settings{}).equalZero()
}

func (s Settings) equalZero() bool {
	return s.Locale == "" && s.Hours == 0 && s.OfficeHours == "" && s.Night == "" && s.Brightness == 0 &&
		s.DimBrightness == 0 && s.LEDBrightness == 0 && s.LEDNightBrightness == 0 && len(s.BookMinutes) == 0 &&
		s.OfflineGraceSeconds == 0
}

// Validate checks every field that is set. The locale is checked only for
// its shape: which languages a panel speaks is the panel's business (an
// unknown one falls back to English).
func (s Settings) Validate() error {
	if s.Locale != "" && !localeShape(s.Locale) {
		return bad(fmt.Sprintf("settings: locale %q is not a language tag such as de or fr-CH", s.Locale))
	}
	if s.Hours != 0 && s.Hours != 12 && s.Hours != 24 {
		return bad(fmt.Sprintf("settings: hours is %d, not 12 or 24", s.Hours))
	}
	if s.OfficeHours != "" && s.OfficeHours != OfficeAlways {
		if _, err := ParseOfficeHours(s.OfficeHours); err != nil {
			return bad("settings: " + err.Error())
		}
	}
	if s.Night != "" && s.Night != NightOff && s.Night != NightDim {
		return bad(fmt.Sprintf("settings: night is %q, not %q or %q", s.Night, NightOff, NightDim))
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"brightness", s.Brightness}, {"dim_brightness", s.DimBrightness}, {"led_brightness", s.LEDBrightness}, {"led_night_brightness", s.LEDNightBrightness}} {
		if p.v < 0 || p.v > 100 {
			return bad(fmt.Sprintf("settings: %s is %d, not a percentage from 1 to 100", p.name, p.v))
		}
	}
	if len(s.BookMinutes) > MaxBookChoices {
		return bad(fmt.Sprintf("settings: %d booking choices, at most %d fit", len(s.BookMinutes), MaxBookChoices))
	}
	for i, m := range s.BookMinutes {
		if m < int(MinBooking/time.Minute) || m > 120 {
			return bad(fmt.Sprintf("settings: booking choice %d minutes is not between %d and 120", m, int(MinBooking/time.Minute)))
		}
		if i > 0 && m <= s.BookMinutes[i-1] {
			return bad("settings: booking choices must increase")
		}
	}
	if s.OfflineGraceSeconds != 0 && (s.OfflineGraceSeconds < 10 || s.OfflineGraceSeconds > 3600) {
		return bad(fmt.Sprintf("settings: offline_grace_s is %d, not between 10 and 3600", s.OfflineGraceSeconds))
	}
	return nil
}

// localeShape accepts "de", "de-CH", "fr_FR", "zh-Hant-TW": letters and
// digits in parts of 2-8, at most 35 bytes.
func localeShape(s string) bool {
	if len(s) > 35 {
		return false
	}
	for i, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' }) {
		if len(part) < 2 || len(part) > 8 || (i == 0 && len(part) > 3) {
			return false
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return s != "" && s[0] != '-' && s[0] != '_' && !strings.HasSuffix(s, "-") && !strings.HasSuffix(s, "_")
}

// DayHours is one day's office hours as times of day, Start inclusive, End
// exclusive; the zero value is closed all day.
type DayHours struct {
	Start, End time.Duration
}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseOfficeHours reads office hours such as "mon-fri 07:00-19:00" or
// "mon-fri 07:00-19:00, sat 09:00-13:00", indexed by time.Weekday.
func ParseOfficeHours(s string) ([7]DayHours, error) {
	var days [7]DayHours
	if len(s) > 200 {
		return days, fmt.Errorf("office hours %q are too long", s[:40]+"...")
	}
	for part := range strings.SplitSeq(s, ",") {
		fields := strings.Fields(part)
		if len(fields) != 2 {
			return days, fmt.Errorf("office hours %q: want DAYS HH:MM-HH:MM, e.g. mon-fri 07:00-19:00", strings.TrimSpace(part))
		}
		from, to, _ := strings.Cut(strings.ToLower(fields[0]), "-")
		if to == "" {
			to = from
		}
		first, last := slices.Index(dayNames, from), slices.Index(dayNames, to)
		if first < 0 || last < 0 {
			return days, fmt.Errorf("office hours %q: days are mon, tue, wed, thu, fri, sat, sun", fields[0])
		}
		startS, endS, _ := strings.Cut(fields[1], "-")
		start, err1 := timeOfDay(startS)
		end, err2 := timeOfDay(endS)
		if err1 != nil || err2 != nil || start >= end {
			return days, fmt.Errorf("office hours %q: want HH:MM-HH:MM with the start before the end", fields[1])
		}
		for d := first; ; d = (d + 1) % 7 {
			days[d] = DayHours{start, end}
			if d == last {
				break
			}
		}
	}
	return days, nil
}

func timeOfDay(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "24:00" {
		return 24 * time.Hour, nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, err
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}
