package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lintelhq/lintel/panel/i18n"
)

// config is the panel's configuration: a file of "key = value" lines
// (e.g. /etc/lintel/panel.conf; '#' starts a comment), then flags, which
// win. Every key is documented in keys below.
type config struct {
	Server       string
	CAFile       string
	PinSHA256    string // hex SHA-256 of the server's certificate, for self-signed trials
	Credential   string
	Cache        string
	Screen       string // "png:PATH", "web:ADDR" or "fb:/dev/fb0"
	PNG          string // an extra PNG copy of every frame
	Width        int
	Height       int
	Rotation     int
	Touch        string // evdev device, e.g. /dev/input/event0
	TouchSwapXY  bool
	TouchInvertX bool
	TouchInvertY bool
	Buttons      map[string]string // pin name -> action
	ButtonsHigh  bool
	LEDGreen     string
	LEDRed       string
	LEDActiveLow bool
	Locale       string
	Clock        string // "", "12" or "24"
	TimeZone     string // fallback when a state names an unknown zone
	OfficeHours  string // e.g. "mon-fri 07:00-19:00"
	Backlight    string // sysfs dir, or "auto"
	OfflineGrace time.Duration
	LogLevel     string
}

func defaults() config {
	return config{
		Credential:   "/var/lib/lintel-panel/credential",
		Cache:        "/var/lib/lintel-panel/cache.json",
		Screen:       "fb:/dev/fb0",
		Width:        800,
		Height:       480,
		Locale:       "en",
		OfflineGrace: time.Minute,
		LogLevel:     "info",
	}
}

// key describes one configuration key: its name in the file and the flag,
// its help, and how to set it from text.
type key struct {
	name, help string
	set        func(c *config, v string) error
}

func str(f func(*config) *string) func(*config, string) error {
	return func(c *config, v string) error { *f(c) = v; return nil }
}

func boolean(f func(*config) *bool) func(*config, string) error {
	return func(c *config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*f(c) = b
		return nil
	}
}

func integer(f func(*config) *int, min, max int) func(*config, string) error {
	return func(c *config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < min || n > max {
			return fmt.Errorf("%q is not a whole number from %d to %d", v, min, max)
		}
		*f(c) = n
		return nil
	}
}

var keys = []key{
	{"server", "the server's panel endpoint, wss://host/ws (ws:// only on a trusted network)", str(func(c *config) *string { return &c.Server })},
	{"ca-file", "PEM file of the CA that signed the server's certificate (default: system roots)", str(func(c *config) *string { return &c.CAFile })},
	{"pin-sha256", "trust the server's certificate by its SHA-256 fingerprint (hex, as lintel-server --dev-tls prints it) instead of a CA", func(c *config, v string) error {
		v = strings.ToLower(strings.ReplaceAll(v, ":", ""))
		if len(v) != 64 || strings.Trim(v, "0123456789abcdef") != "" {
			return fmt.Errorf("%q is not 64 hex digits", v)
		}
		c.PinSHA256 = v
		return nil
	}},
	{"credential", "file holding this panel's credential (written when paired, mode 0600)", str(func(c *config) *string { return &c.Credential })},
	{"cache", "file holding the last room state, for offline starts", str(func(c *config) *string { return &c.Cache })},
	{"screen", "where frames go: fb:/dev/fb0, web:127.0.0.1:9001 (a browser page) or png:/path/frame.png", str(func(c *config) *string { return &c.Screen })},
	{"png", "also write every frame to this PNG file", str(func(c *config) *string { return &c.PNG })},
	{"width", "frame width in pixels for png and web screens (fb uses the display's)", integer(func(c *config) *int { return &c.Width }, 64, 8192)},
	{"height", "frame height in pixels for png and web screens", integer(func(c *config) *int { return &c.Height }, 64, 8192)},
	{"rotation", "screen rotation in degrees clockwise: 0, 90, 180 or 270", func(c *config, v string) error {
		switch v {
		case "0", "90", "180", "270":
			c.Rotation, _ = strconv.Atoi(v)
			return nil
		}
		return fmt.Errorf("%q is not 0, 90, 180 or 270", v)
	}},
	{"touch", "evdev touchscreen device, e.g. /dev/input/event0", str(func(c *config) *string { return &c.Touch })},
	{"touch-swap-xy", "swap the touchscreen's axes", boolean(func(c *config) *bool { return &c.TouchSwapXY })},
	{"touch-invert-x", "invert the touchscreen's x axis", boolean(func(c *config) *bool { return &c.TouchInvertX })},
	{"touch-invert-y", "invert the touchscreen's y axis", boolean(func(c *config) *bool { return &c.TouchInvertY })},
	{"buttons", "GPIO push buttons as PIN=ACTION pairs, e.g. GPIO5=book,GPIO6=checkin (actions: book, checkin, extend, end)", func(c *config, v string) error {
		c.Buttons = map[string]string{}
		if v == "" {
			return nil
		}
		for _, pair := range strings.Split(v, ",") {
			pin, action, ok := strings.Cut(strings.TrimSpace(pair), "=")
			switch {
			case !ok || pin == "":
				return fmt.Errorf("%q is not PIN=ACTION", pair)
			case action != "book" && action != "checkin" && action != "extend" && action != "end":
				return fmt.Errorf("button %s: action %q is not book, checkin, extend or end", pin, action)
			}
			c.Buttons[pin] = action
		}
		return nil
	}},
	{"buttons-active-high", "buttons are wired to 3.3 V (default: to ground, with pull-ups)", boolean(func(c *config) *bool { return &c.ButtonsHigh })},
	{"led-green", "GPIO pin of the green LED, e.g. GPIO17 (empty: no LEDs)", str(func(c *config) *string { return &c.LEDGreen })},
	{"led-red", "GPIO pin of the red LED, e.g. GPIO27", str(func(c *config) *string { return &c.LEDRed })},
	{"led-active-low", "the LEDs light when their pin is low", boolean(func(c *config) *bool { return &c.LEDActiveLow })},
	{"locale", "language of the panel, with an optional region: en, de, fr, it, es (e.g. de-CH, fr_FR, en-GB)", func(c *config, v string) error {
		if !i18n.Speaks(v) {
			return fmt.Errorf("%q is not a language the panel speaks: %s", v, strings.Join(i18n.Languages(), ", "))
		}
		c.Locale = v
		return nil
	}},
	{"clock", "12 or 24 hour clock (default: the locale's)", func(c *config, v string) error {
		if v != "" && v != "12" && v != "24" {
			return fmt.Errorf("%q is not 12 or 24", v)
		}
		c.Clock = v
		return nil
	}},
	{"timezone", "time zone to use when the server names one this panel does not know", func(c *config, v string) error {
		if _, err := time.LoadLocation(v); err != nil {
			return fmt.Errorf("%q is not an IANA time zone", v)
		}
		c.TimeZone = v
		return nil
	}},
	{"office-hours", "when the screen stays on, e.g. 'mon-fri 07:00-19:00'; outside it dims and wakes on touch", func(c *config, v string) error {
		if _, err := parseOfficeHours(v); err != nil {
			return err
		}
		c.OfficeHours = v
		return nil
	}},
	{"backlight", "sysfs backlight directory, or auto (needed for office hours)", str(func(c *config) *string { return &c.Backlight })},
	{"offline-grace", "how long the connection may be down before the panel says it is offline", func(c *config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("%q is not a duration such as 60s", v)
		}
		c.OfflineGrace = d
		return nil
	}},
	{"log-level", "debug, info, warn or error", func(c *config, v string) error {
		switch v {
		case "debug", "info", "warn", "error":
			c.LogLevel = v
			return nil
		}
		return fmt.Errorf("%q is not debug, info, warn or error", v)
	}},
}

func findKey(name string) (key, bool) {
	for _, k := range keys {
		if k.name == name {
			return k, true
		}
	}
	return key{}, false
}

// parseConfig reads "key = value" lines into c. An error names the file,
// the line, the key and what is wrong with it.
func parseConfig(c *config, name string, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return fmt.Errorf("%s:%d: %q is not 'key = value'", name, n, line)
		}
		k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"`)
		spec, known := findKey(k)
		if !known {
			return fmt.Errorf("%s:%d: unknown key %q (see lintel-panel -h for the keys)", name, n, k)
		}
		if err := spec.set(c, v); err != nil {
			return fmt.Errorf("%s:%d: %s: %w", name, n, k, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// check validates the combination of keys once everything is read.
func (c config) check() error {
	switch {
	case c.Server == "":
		return fmt.Errorf("server: not set; give the server's panel endpoint, e.g. server = wss://lintel.example.com/ws")
	case !strings.HasPrefix(c.Server, "ws://") && !strings.HasPrefix(c.Server, "wss://"):
		return fmt.Errorf("server: %q must start with wss:// (or ws://)", c.Server)
	case c.PinSHA256 != "" && c.CAFile != "":
		return fmt.Errorf("pin-sha256 and ca-file: use one way to trust the server, not both")
	case (c.LEDGreen == "") != (c.LEDRed == ""):
		return fmt.Errorf("led-green and led-red: set both pins, or neither for a panel without LEDs")
	case c.OfficeHours != "" && c.Backlight == "":
		return fmt.Errorf("office-hours: needs backlight (a sysfs directory, or auto)")
	}
	kind, _, ok := strings.Cut(c.Screen, ":")
	if !ok || (kind != "fb" && kind != "web" && kind != "png") {
		return fmt.Errorf("screen: %q is not fb:DEVICE, web:ADDR or png:FILE", c.Screen)
	}
	return nil
}

func loadConfigFile(c *config, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	return parseConfig(c, path, f)
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// parseOfficeHours reads "mon-fri 07:00-19:00" or several such parts
// separated by commas ("mon-fri 07:00-19:00, sat 08:00-12:00").
func parseOfficeHours(s string) ([7]screenHours, error) {
	var out [7]screenHours
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		days, hours, ok := strings.Cut(strings.TrimSpace(part), " ")
		if !ok {
			return out, fmt.Errorf("%q is not 'DAYS HH:MM-HH:MM', e.g. 'mon-fri 07:00-19:00'", part)
		}
		first, last, isRange := strings.Cut(strings.ToLower(days), "-")
		if !isRange {
			last = first
		}
		d0, ok0 := weekdays[first]
		d1, ok1 := weekdays[last]
		if !ok0 || !ok1 {
			return out, fmt.Errorf("%q: days are mon, tue, wed, thu, fri, sat, sun or a range like mon-fri", days)
		}
		from, to, ok := strings.Cut(strings.TrimSpace(hours), "-")
		start, err1 := timeOfDay(from)
		end, err2 := timeOfDay(to)
		if !ok || err1 != nil || err2 != nil || start >= end {
			return out, fmt.Errorf("%q: hours are HH:MM-HH:MM with the start before the end", hours)
		}
		for d := d0; ; d = (d + 1) % 7 {
			out[d] = screenHours{Start: start, End: end}
			if d == d1 {
				break
			}
		}
	}
	return out, nil
}

func timeOfDay(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		if strings.TrimSpace(s) == "24:00" {
			return 24 * time.Hour, nil
		}
		return 0, err
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}
