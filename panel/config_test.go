package main

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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
		{func(c *config) { c.Server = "wss://a/ws,https://x" }, `"https://x" must start with wss://`},
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

// TestServerURLs: server is one URL or several separated by commas, each
// checked as a single one is; the panel config file, the flag and the
// environment read them alike.
func TestServerURLs(t *testing.T) {
	tests := []struct {
		name, server string
		want         []string // nil: refused
		err          string
	}{
		{"one URL, as always", "wss://lintel.example.com/ws", []string{"wss://lintel.example.com/ws"}, ""},
		{"one ws:// URL, as always", "ws://10.0.0.5:8080/ws", []string{"ws://10.0.0.5:8080/ws"}, ""},
		{"two replicas", "wss://lintel-1.example.com/ws,wss://lintel-2.example.com/ws",
			[]string{"wss://lintel-1.example.com/ws", "wss://lintel-2.example.com/ws"}, ""},
		{"spaces around the commas", " wss://a/ws ,  wss://b:8443/ws , wss://c/ws",
			[]string{"wss://a/ws", "wss://b:8443/ws", "wss://c/ws"}, ""},
		{"ws:// and wss:// mixed", "wss://a/ws,ws://10.0.0.5/ws", []string{"wss://a/ws", "ws://10.0.0.5/ws"}, ""},
		{"the second is not a websocket URL", "wss://a/ws,https://b/ws", nil, `"https://b/ws" must start with wss://`},
		{"a host without a scheme", "wss://a/ws, b.example.com", nil, `"b.example.com" must start with wss://`},
		{"a trailing comma", "wss://a/ws,", nil, "has an empty URL between its commas"},
		{"two commas", "wss://a/ws,,wss://b/ws", nil, "has an empty URL between its commas"},
		{"commas only", ",", nil, "has an empty URL between its commas"},
		{"blank", "  ", nil, "server: not set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, how := range []struct {
				name string
				load func() (config, string, error)
			}{
				{"file", func() (config, string, error) {
					path := filepath.Join(t.TempDir(), "panel.conf")
					writeTestFile(t, path, "server = "+tc.server+"\n")
					return load(t, nil, "--config", path)
				}},
				{"flag", func() (config, string, error) { return load(t, nil, "--server", tc.server) }},
				{"environment", func() (config, string, error) { return load(t, []string{"LINTEL_PANEL_SERVER=" + tc.server}) }},
			} {
				c, _, err := how.load()
				switch {
				case tc.want == nil:
					if err == nil || !strings.Contains(err.Error(), tc.err) {
						t.Errorf("%s: %v, want it to say %q", how.name, err, tc.err)
					}
				case err != nil:
					t.Errorf("%s: %v", how.name, err)
				case !slices.Equal(c.servers(), tc.want):
					t.Errorf("%s: servers %q, want %q", how.name, c.servers(), tc.want)
				}
			}
		})
	}
}

func TestServerNames(t *testing.T) {
	for _, tc := range []struct {
		urls []string
		want string
	}{
		{[]string{"wss://lintel.example.com/ws"}, "lintel.example.com"},
		{[]string{"wss://a.example.com/ws", "ws://b.example.com:8080/ws"}, "a.example.com, b.example.com:8080"},
		{[]string{"wss://a/ws", "wss://a/panel"}, "a"},
	} {
		if got := serverNames(tc.urls); got != tc.want {
			t.Errorf("serverNames(%q) = %q, want %q", tc.urls, got, tc.want)
		}
	}
}

// load runs loadConfig as lintel-panel would with args and the
// environment env ("NAME=value" entries).
func load(t *testing.T, env []string, args ...string) (config, string, error) {
	t.Helper()
	var out strings.Builder
	c, _, err := loadConfig(args, env, &out)
	return c, out.String(), err
}

// TestSettingPrecedence: flag > environment > file > default, key by key.
func TestSettingPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "panel.conf")
	writeTestFile(t, path, "server = wss://file/ws\nlocale = fr\nwidth = 1024\ntouch-swap-xy = true\n")
	tests := []struct {
		name string
		env  []string
		args []string
		want func(c config) bool
	}{
		{"defaults", nil, []string{"--server", "ws://x/ws"},
			func(c config) bool {
				return c.Locale == "en" && c.Width == 800 && c.OfflineGrace == time.Minute && !c.TouchSwapXY
			}},
		{"the file over the defaults", nil, []string{"--config", path},
			func(c config) bool {
				return c.Server == "wss://file/ws" && c.Locale == "fr" && c.Width == 1024 && c.TouchSwapXY && c.Height == 480
			}},
		{"the environment over the file", []string{"LINTEL_PANEL_LOCALE=de", "LINTEL_PANEL_TOUCH_SWAP_XY=false", "LINTEL_PANEL_OFFLINE_GRACE=2m"}, []string{"--config", path},
			func(c config) bool {
				return c.Server == "wss://file/ws" && c.Locale == "de" && !c.TouchSwapXY && c.OfflineGrace == 2*time.Minute && c.Width == 1024
			}},
		{"flags over the environment", []string{"LINTEL_PANEL_LOCALE=de", "LINTEL_PANEL_WIDTH=640"}, []string{"--config", path, "--locale", "en", "--touch-swap-xy=false"},
			func(c config) bool {
				return c.Locale == "en" && c.Width == 640 && !c.TouchSwapXY && c.Server == "wss://file/ws"
			}},
		{"the config file from the environment", []string{"LINTEL_PANEL_CONFIG=" + path}, nil,
			func(c config) bool { return c.Server == "wss://file/ws" && c.Locale == "fr" }},
		{"an empty variable is unset", []string{"LINTEL_PANEL_LOCALE="}, []string{"--config", path},
			func(c config) bool { return c.Locale == "fr" }},
		{"the last of a repeated flag", nil, []string{"--server", "ws://a/ws", "--server", "ws://b/ws"},
			func(c config) bool { return c.Server == "ws://b/ws" }},
	}
	for _, tc := range tests {
		c, _, err := load(t, tc.env, tc.args...)
		if err != nil || !tc.want(c) {
			t.Errorf("%s: %v, %+v", tc.name, err, c)
		}
	}
}

// TestTypedFlags: a switch takes no value, so it cannot swallow the next
// flag; numbers and durations are checked as the flags are read.
func TestTypedFlags(t *testing.T) {
	c, _, err := load(t, nil, "--touch-swap-xy", "--server", "ws://x/ws", "--led-active-low", "--width", "1024", "--offline-grace", "90s")
	if err != nil || !c.TouchSwapXY || !c.LEDActiveLow || c.Server != "ws://x/ws" || c.Width != 1024 || c.OfflineGrace != 90*time.Second {
		t.Errorf("%v %+v", err, c)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--touch-swap-xy", "true", "--server", "ws://x/ws"}, `unexpected argument "true"`},
		{[]string{"--width", "wide"}, `invalid value "wide" for flag -width: "wide" is not a whole number`},
		{[]string{"--offline-grace", "soon"}, `"soon" is not a duration`},
		{[]string{"--touch-swap-xy=maybe"}, `"maybe" is not true or false`},
		{[]string{"--colour", "red"}, "flag provided but not defined: -colour (lintel-panel -h lists the settings)"},
		{[]string{"--server"}, "flag needs an argument: -server"},
		{[]string{"--server", "ws://x/ws", "--png", strings.Repeat("x", maxValue+1)}, "more than the 4096"},
	}
	for _, tc := range tests {
		if _, out, err := load(t, nil, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) || out != "" {
			t.Errorf("%q: %v (printed %q), want it to say %q", tc.args, err, out, tc.want)
		}
	}
}

// TestEnvironmentErrorsNameTheVariable: a bad value says which variable
// holds it, and a LINTEL_PANEL_ variable that names no setting is found.
func TestEnvironmentErrorsNameTheVariable(t *testing.T) {
	_, _, err := load(t, []string{"LINTEL_PANEL_ROTATION=45"}, "--server", "ws://x/ws")
	if err == nil || err.Error() != `LINTEL_PANEL_ROTATION: "45" is not 0, 90, 180 or 270` {
		t.Errorf("rotation from the environment: %v", err)
	}
	env := []string{"LINTEL_PANEL_SEVRER=ws://x/ws", "LINTEL_PANEL_SERVER=ws://x/ws", "LINTEL_PANEL_BIN=/usr/local/bin/lintel-panel", "PATH=/bin"}
	if got := unknownEnv(env); !slices.Equal(got, []string{"LINTEL_PANEL_SEVRER"}) {
		t.Errorf("unknown variables: %q", got)
	}
}

// TestHelpShowsEverySetting: -h succeeds and shows every key with its
// type, its default and its variable, on standard output.
func TestHelpShowsEverySetting(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		var stdout, stderr strings.Builder
		if err := run(t.Context(), []string{arg}, nil, &stdout, &stderr); err != nil || stderr.Len() > 0 {
			t.Fatalf("%s: %v %s", arg, err, stderr.String())
		}
		help := stdout.String()
		for _, want := range []string{
			"usage: lintel-panel [flags]",
			"flag (--width 1024), its environment\nvariable (LINTEL_PANEL_WIDTH=1024), a line of the --config file",
			"  --width number  (default 800; env LINTEL_PANEL_WIDTH)\n      frame width",
			"  --touch-swap-xy  (default false; env LINTEL_PANEL_TOUCH_SWAP_XY)\n",
			"  --offline-grace duration  (default 1m0s; env LINTEL_PANEL_OFFLINE_GRACE)",
			"  --server text  (env LINTEL_PANEL_SERVER)\n",
			"  --config text  (env LINTEL_PANEL_CONFIG)",
		} {
			if !strings.Contains(help, want) {
				t.Errorf("%s lacks %q:\n%s", arg, want, help)
			}
		}
		for _, k := range keys {
			if !strings.Contains(help, "\n  --"+k.name+" ") || !strings.Contains(help, k.help) {
				t.Errorf("%s does not show --%s", arg, k.name)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	old := Version
	Version = "v1.2.3-test"
	t.Cleanup(func() { Version = old })
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		var stdout, stderr strings.Builder
		if err := run(t.Context(), args, nil, &stdout, &stderr); err != nil || stdout.String() != "v1.2.3-test\n" || stderr.Len() > 0 {
			t.Errorf("%q: %v %q %q", args, err, stdout.String(), stderr.String())
		}
	}
}

// formatConfig writes c as a configuration file, every key quoted.
func formatConfig(c config) string {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = \"%s\"\n", k.name, k.get(&c))
	}
	return b.String()
}

// TestConfigRoundTrip: a config written out and read back is the same.
func TestConfigRoundTrip(t *testing.T) {
	c := defaults()
	file := "server = wss://x/ws\nbuttons = GPIO6 = checkin, GPIO5=book\npin-sha256 = " + strings.Repeat("AB:", 31) + "AB\n" +
		"offline-grace = 90s\nrotation = 180\ntouch-invert-y = 1\npng = \" spaces kept \"\nclock = 24\n"
	if err := parseConfig(&c, "x", strings.NewReader(file)); err != nil {
		t.Fatal(err)
	}
	text := formatConfig(c)
	for _, want := range []string{`buttons = "GPIO5=book,GPIO6=checkin"`, `offline-grace = "1m30s"`, `touch-invert-y = "true"`, `png = " spaces kept "`, `pin-sha256 = "abab`} {
		if !strings.Contains(text, want) {
			t.Errorf("formatted config lacks %s:\n%s", want, text)
		}
	}
	back := defaults()
	if err := parseConfig(&back, "formatted", strings.NewReader(text)); err != nil || !reflect.DeepEqual(back, c) {
		t.Errorf("read back: %v\n%+v\nwant %+v", err, back, c)
	}
}

// FuzzParseConfig: the config file is outside input; parsing must never
// panic, and what it accepts must read back unchanged when written out.
func FuzzParseConfig(f *testing.F) {
	f.Add("server = wss://x/ws\nbuttons = GPIO5=book\n")
	f.Add("office-hours = mon-fri 07:00-19:00\n# comment\n")
	f.Add("rotation = 270\nlocale = de\nclock = 24")
	f.Add("png = \" x \"\ntouch-swap-xy = 1\noffline-grace = 1h2m3.5s\nbuttons = GPIO6 =end , GPIO5= book\nbuttons =\n")
	f.Add("pin-sha256 = " + strings.Repeat("0F:", 31) + "0F\nwidth = +0800\n")
	f.Fuzz(func(t *testing.T, s string) {
		c := defaults()
		if err := parseConfig(&c, "fuzz", strings.NewReader(s)); err != nil {
			return
		}
		c.check() // must not panic, whatever it says
		text := formatConfig(c)
		back := defaults()
		if err := parseConfig(&back, "formatted", strings.NewReader(text)); err != nil {
			t.Fatalf("the formatted config does not read back: %v\n%s", err, text)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("read back differently:\n%+v\nwant %+v\nfile:\n%s", back, c, text)
		}
	})
}

func writeTestFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

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
	// Replicas with a certificate each: any of the pins will do, no other.
	other := strings.Repeat("1", 64)
	if conn, err := tls.Dial("tcp", addr, pinnedTLS(other, pin)); err != nil {
		t.Errorf("the second of two pins was refused: %v", err)
	} else {
		conn.Close()
	}
	if _, err := tls.Dial("tcp", addr, pinnedTLS(other, wrong)); err == nil || !strings.Contains(err.Error(), "not the pinned "+other+" or "+wrong) {
		t.Errorf("a certificate pinned by neither: %v", err)
	}

	c := defaults()
	if err := parseConfig(&c, "x", strings.NewReader("pin-sha256 = AB:CD")); err == nil {
		t.Error("a short pin was accepted")
	}
	if err := parseConfig(&c, "x", strings.NewReader("pin-sha256 = "+strings.ToUpper(pin))); err != nil || c.PinSHA256 != pin {
		t.Errorf("pin in upper case: %v %q", err, c.PinSHA256)
	}
	for _, tc := range []struct{ value, want, err string }{
		{strings.ToUpper(pin) + " , " + other, pin + "," + other, ""},
		{pin + "," + pin, pin, ""}, // the same pin twice is one
		{pin + ",", "", `"" is not 64 hex digits`},
		{pin + ",AB:CD", "", `"abcd" is not 64 hex digits`},
	} {
		c := defaults()
		err := parseConfig(&c, "x", strings.NewReader("pin-sha256 = "+tc.value))
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("pins %q: %v, want %q", tc.value, err, tc.err)
		case tc.err == "" && (err != nil || c.PinSHA256 != tc.want):
			t.Errorf("pins %q: %v %q, want %q", tc.value, err, c.PinSHA256, tc.want)
		}
	}
}
