package main

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	c := defaults()
	file := `# Lintel door panel
server = wss://lintel.example.com/ws
screen = "fb:/dev/fb1"
rotation = 90
buttons = GPIO5=book, GPIO6=checkin
led-green = GPIO17
led-red = GPIO27
led-active-low = true
locale = de-CH
office-hours = mon-fri 07:00-19:00, sat 08:00-12:00
backlight = auto
offline-grace = 90s
`
	if err := parseConfig(&c, "panel.conf", strings.NewReader(file)); err != nil {
		t.Fatal(err)
	}
	if err := c.check(); err != nil {
		t.Fatal(err)
	}
	if c.Server != "wss://lintel.example.com/ws" || c.Screen != "fb:/dev/fb1" || c.Rotation != 90 ||
		c.Buttons["GPIO5"] != "book" || c.Buttons["GPIO6"] != "checkin" || !c.LEDActiveLow ||
		c.Locale != "de-CH" || c.OfflineGrace != 90*time.Second {
		t.Errorf("parsed %+v", c)
	}
	days, _ := parseOfficeHours(c.OfficeHours)
	if days[time.Monday] != (screenHours{Start: 7 * time.Hour, End: 19 * time.Hour}) || days[time.Saturday] != (screenHours{Start: 8 * time.Hour, End: 12 * time.Hour}) || days[time.Sunday] != (screenHours{}) {
		t.Errorf("office hours %+v", days)
	}
}

func TestConfigErrorsNameKeyAndProblem(t *testing.T) {
	tests := []struct{ file, want string }{
		{"server wss://x/ws", `panel.conf:1: "server wss://x/ws" is not 'key = value'`},
		{"colour = red", `panel.conf:1: unknown key "colour"`},
		{"\nrotation = 45", "panel.conf:2: rotation: \"45\" is not 0, 90, 180 or 270"},
		{"led-active-low = maybe", `led-active-low: "maybe" is not true or false`},
		{"buttons = GPIO5=launch", `button GPIO5: action "launch"`},
		{"buttons = GPIO5", `"GPIO5" is not PIN=ACTION`},
		{"locale = ja", `locale: "ja" is not a language the panel speaks: en, de, fr, it, es`},
		{"timezone = Mars/Olympus", `timezone: "Mars/Olympus" is not an IANA time zone`},
		{"office-hours = weekdays 9-5", `days are mon, tue`},
		{"office-hours = mon-fri 19:00-07:00", "start before the end"},
		{"offline-grace = soon", `offline-grace: "soon" is not a duration`},
		{"width = 10", `width: "10" is not a whole number from 64 to 8192`},
	}
	for _, tc := range tests {
		c := defaults()
		err := parseConfig(&c, "panel.conf", strings.NewReader(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want it to say %q", tc.file, err, tc.want)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	tests := []struct {
		change func(*config)
		want   string
	}{
		{func(c *config) { c.Server = "" }, "server: not set"},
		{func(c *config) { c.Server = "https://x" }, "must start with wss://"},
		{func(c *config) { c.LEDGreen = "GPIO17" }, "set both pins"},
		{func(c *config) { c.Screen = "hdmi" }, `"hdmi" is not fb:DEVICE`},
		{func(c *config) { c.OfficeHours = "mon 08:00-17:00" }, "needs backlight"},
	}
	for _, tc := range tests {
		c := defaults()
		c.Server = "wss://lintel/ws"
		tc.change(&c)
		if err := c.check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("check: %v, want %q", err, tc.want)
		}
	}
}

func TestFlagsWinOverTheFile(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/panel.conf"
	if err := writeFile(path, "server = wss://from-file/ws\nlocale = fr\n"); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	// An unknown screen kind fails at check time, after both sources are
	// read: the error shows the flag's server won.
	err := run(t.Context(), []string{"--config", path, "--server", "ws://from-flag/ws", "--screen", "tv:1"}, &out)
	if err == nil || !strings.Contains(err.Error(), `"tv:1"`) {
		t.Fatalf("run: %v", err)
	}
}

// FuzzParseConfig: the config file is outside input; parsing must never
// panic, and what it accepts must pass through again unchanged.
func FuzzParseConfig(f *testing.F) {
	f.Add("server = wss://x/ws\nbuttons = GPIO5=book\n")
	f.Add("office-hours = mon-fri 07:00-19:00\n# comment\n")
	f.Add("rotation = 270\nlocale = de\nclock = 24")
	f.Fuzz(func(t *testing.T, s string) {
		c := defaults()
		if err := parseConfig(&c, "fuzz", strings.NewReader(s)); err != nil {
			return
		}
		c.check()
	})
}

func writeFile(path, data string) error { return os.WriteFile(path, []byte(data), 0o600) }

func TestPinnedTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	sum := sha256.Sum256(srv.Certificate().Raw)
	pin := hex.EncodeToString(sum[:])
	addr := strings.TrimPrefix(srv.URL, "https://")
	conn, err := tls.Dial("tcp", addr, pinnedTLS(pin))
	if err != nil {
		t.Fatalf("the pinned certificate was refused: %v", err)
	}
	conn.Close()
	wrong := strings.Repeat("0", 64)
	if _, err := tls.Dial("tcp", addr, pinnedTLS(wrong)); err == nil || !strings.Contains(err.Error(), "not the pinned") {
		t.Errorf("another certificate: %v", err)
	}
	c := defaults()
	if err := parseConfig(&c, "x", strings.NewReader("pin-sha256 = AB:CD")); err == nil {
		t.Error("a short pin was accepted")
	}
	if err := parseConfig(&c, "x", strings.NewReader("pin-sha256 = "+strings.ToUpper(pin))); err != nil || c.PinSHA256 != pin {
		t.Errorf("pin in upper case: %v %q", err, c.PinSHA256)
	}
}
