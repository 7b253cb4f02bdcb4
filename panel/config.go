package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lintelhq/lintel/panel/i18n"
	"github.com/lintelhq/lintel/proto"
)

// config is the panel's settings. Each comes from, highest priority
// first: a flag (--width 1024), a LINTEL_PANEL_* environment variable
// (LINTEL_PANEL_WIDTH=1024), a line of the configuration file
// (width = 1024, e.g. in /etc/lintel/panel.conf; '#' starts a comment),
// or the default. Every key is documented in keys below.
type config struct {
	Server        string // one URL, or several separated by commas (replicas); see servers
	CAFile        string
	PinSHA256     string // hex SHA-256 of the server's certificate, for self-signed trials; several separated by commas
	Credential    string
	Cache         string
	Screen        string // "png:PATH", "web:ADDR" or "fb:/dev/fb0"
	PNG           string // an extra PNG copy of every frame
	Width         int
	Height        int
	Rotation      int
	Touch         string // evdev device, e.g. /dev/input/event0
	TouchSwapXY   bool
	TouchInvertX  bool
	TouchInvertY  bool
	Buttons       map[string]string // pin name -> action; nil when there are none
	ButtonsHigh   bool
	LEDGreen      string
	LEDRed        string
	LEDActiveLow  bool
	Locale        string
	Clock         string // "", "12" or "24"
	TimeZone      string // fallback when a state names an unknown zone
	OfficeHours   string // e.g. "mon-fri 07:00-19:00"
	Backlight     string // sysfs dir, or "auto"
	OfflineGrace  time.Duration
	LogLevel      string
	FirmwareKey   string // PEM ed25519 public key builds are signed with; "" = no updates from the server
	FirmwareStage string // stage builds here for update.sh instead of swapping the binary
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

// kind is a key's type: it decides how its flag reads (a switch needs no
// value: --touch-swap-xy) and what -h shows.
type kind int

const (
	textKind kind = iota
	switchKind
	numberKind
	durationKind
)

// field reads a key's value from text into a config, and writes it back
// as text (for -h's defaults, and so a config survives a round trip
// through a file).
type field struct {
	kind kind
	set  func(c *config, v string) error
	get  func(c *config) string
}

// key describes one configuration key: its name in the file, the flag
// and (LINTEL_PANEL_ + upper case, '-' as '_') the environment, its help,
// and its field.
type key struct {
	name, help string
	field
}

// maxValue bounds one value: no setting needs more, and a formatted line
// stays within what parseConfig reads.
const maxValue = 4096

func str(f func(*config) *string) field {
	return checked(f, func(v string) (string, error) { return v, nil })
}

// checked is a text key whose value check accepts (and may normalise).
func checked(f func(*config) *string, check func(v string) (string, error)) field {
	return field{textKind,
		func(c *config, v string) error {
			v, err := check(v)
			if err != nil {
				return err
			}
			*f(c) = v
			return nil
		},
		func(c *config) string { return *f(c) }}
}

// oneOf is a text key with a fixed list of values.
func oneOf(f func(*config) *string, values ...string) field {
	return checked(f, func(v string) (string, error) {
		if !slices.Contains(values, v) {
			return "", fmt.Errorf("%q is not %s", v, orList(values))
		}
		return v, nil
	})
}

func boolean(f func(*config) *bool) field {
	return field{switchKind,
		func(c *config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q is not true or false", v)
			}
			*f(c) = b
			return nil
		},
		func(c *config) string { return strconv.FormatBool(*f(c)) }}
}

func integer(f func(*config) *int, min, max int) field {
	return field{numberKind,
		func(c *config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < min || n > max {
				return fmt.Errorf("%q is not a whole number from %d to %d", v, min, max)
			}
			*f(c) = n
			return nil
		},
		func(c *config) string { return strconv.Itoa(*f(c)) }}
}

func duration(f func(*config) *time.Duration) field {
	return field{durationKind,
		func(c *config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return fmt.Errorf("%q is not a duration such as 60s or 2m", v)
			}
			*f(c) = d
			return nil
		},
		func(c *config) string { return f(c).String() }}
}

// orList writes "a, b or c".
func orList(values []string) string {
	if len(values) < 2 {
		return strings.Join(values, "")
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}

var keys = []key{
	{"server", "the server's panel endpoint, wss://host/ws (ws:// only on a trusted network); for a server of several replicas their endpoints separated by commas, e.g. wss://lintel-1.example.com/ws,wss://lintel-2.example.com/ws (tried in a random order; the panel moves to the next at once when one is lost)", str(func(c *config) *string { return &c.Server })},
	{"ca-file", "PEM file of the CA that signed the server's certificate (default: system roots)", str(func(c *config) *string { return &c.CAFile })},
	{"pin-sha256", "trust the server's certificate by its SHA-256 fingerprint (hex, as lintel-server --dev-tls prints it) instead of a CA; replicas with a certificate each: their fingerprints separated by commas", checked(func(c *config) *string { return &c.PinSHA256 }, checkPins)},
	{"credential", "file holding this panel's credential (written when paired, mode 0600)", str(func(c *config) *string { return &c.Credential })},
	{"cache", "file holding the last room state, for offline starts", str(func(c *config) *string { return &c.Cache })},
	{"screen", "where frames go: fb:/dev/fb0, web:127.0.0.1:9001 (a browser page) or png:/path/frame.png", str(func(c *config) *string { return &c.Screen })},
	{"png", "also write every frame to this PNG file", str(func(c *config) *string { return &c.PNG })},
	{"width", "frame width in pixels for png and web screens (fb uses the display's)", integer(func(c *config) *int { return &c.Width }, 64, 8192)},
	{"height", "frame height in pixels for png and web screens", integer(func(c *config) *int { return &c.Height }, 64, 8192)},
	{"rotation", "screen rotation in degrees clockwise: 0, 90, 180 or 270", field{numberKind,
		func(c *config, v string) error {
			switch v {
			case "0", "90", "180", "270":
				c.Rotation, _ = strconv.Atoi(v)
				return nil
			}
			return fmt.Errorf("%q is not 0, 90, 180 or 270", v)
		},
		func(c *config) string { return strconv.Itoa(c.Rotation) }}},
	{"touch", "evdev touchscreen device, e.g. /dev/input/event0", str(func(c *config) *string { return &c.Touch })},
	{"touch-swap-xy", "swap the touchscreen's axes", boolean(func(c *config) *bool { return &c.TouchSwapXY })},
	{"touch-invert-x", "invert the touchscreen's x axis", boolean(func(c *config) *bool { return &c.TouchInvertX })},
	{"touch-invert-y", "invert the touchscreen's y axis", boolean(func(c *config) *bool { return &c.TouchInvertY })},
	{"buttons", "GPIO push buttons as PIN=ACTION pairs, e.g. GPIO5=book,GPIO6=checkin (actions: book, checkin, extend, end)", field{textKind, setButtons, getButtons}},
	{"buttons-active-high", "buttons are wired to 3.3 V (default: to ground, with pull-ups)", boolean(func(c *config) *bool { return &c.ButtonsHigh })},
	{"led-green", "GPIO pin of the green LED, e.g. GPIO17 (empty: no LEDs)", str(func(c *config) *string { return &c.LEDGreen })},
	{"led-red", "GPIO pin of the red LED, e.g. GPIO27", str(func(c *config) *string { return &c.LEDRed })},
	{"led-active-low", "the LEDs light when their pin is low", boolean(func(c *config) *bool { return &c.LEDActiveLow })},
	{"locale", "language of the panel, with an optional region: en, de, fr, it, es (e.g. de-CH, fr_FR, en-GB)", checked(func(c *config) *string { return &c.Locale }, func(v string) (string, error) {
		if !i18n.Speaks(v) {
			return "", fmt.Errorf("%q is not a language the panel speaks: %s", v, strings.Join(i18n.Languages(), ", "))
		}
		return v, nil
	})},
	{"clock", "12 or 24 hour clock (default: the locale's)", checked(func(c *config) *string { return &c.Clock }, func(v string) (string, error) {
		if v != "" && v != "12" && v != "24" {
			return "", fmt.Errorf("%q is not 12 or 24", v)
		}
		return v, nil
	})},
	{"timezone", "time zone to use when the server names one this panel does not know", checked(func(c *config) *string { return &c.TimeZone }, func(v string) (string, error) {
		if _, err := time.LoadLocation(v); err != nil {
			return "", fmt.Errorf("%q is not an IANA time zone", v)
		}
		return v, nil
	})},
	{"office-hours", "when the screen stays on, e.g. 'mon-fri 07:00-19:00'; outside it dims and wakes on touch", checked(func(c *config) *string { return &c.OfficeHours }, func(v string) (string, error) {
		_, err := parseOfficeHours(v)
		return v, err
	})},
	{"backlight", "sysfs backlight directory, or auto (needed for office hours)", str(func(c *config) *string { return &c.Backlight })},
	{"offline-grace", "how long the connection may be down before the panel says it is offline", duration(func(c *config) *time.Duration { return &c.OfflineGrace })},
	{"firmware-key", "PEM file of the ed25519 public key firmware builds are signed with, e.g. /etc/lintel/update.pub (empty: no updates from the server)", str(func(c *config) *string { return &c.FirmwareKey })},
	{"firmware-stage", "stage firmware from the server in this directory for update.sh (e.g. /var/lib/lintel-panel/staged) instead of replacing the binary and restarting", str(func(c *config) *string { return &c.FirmwareStage })},
	{"log-level", "debug, info, warn or error", oneOf(func(c *config) *string { return &c.LogLevel }, "debug", "info", "warn", "error")},
}

// checkPins normalises one or more fingerprints (comma-separated; hex in
// either case, with or without colons) to lower-case hex joined by
// commas.
func checkPins(v string) (string, error) {
	if strings.TrimSpace(v) == "" {
		return "", nil // no pin: trust by CA
	}
	var pins []string
	for _, p := range strings.Split(v, ",") {
		p = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(p), ":", ""))
		if len(p) != 64 || strings.Trim(p, "0123456789abcdef") != "" {
			return "", fmt.Errorf("%q is not 64 hex digits", p)
		}
		if !slices.Contains(pins, p) {
			pins = append(pins, p)
		}
	}
	return strings.Join(pins, ","), nil
}

// servers is the list of the server's panel endpoints: server split at
// its commas, each trimmed. One URL is the usual case; several are the
// replicas of one server (one store behind them all).
func (c config) servers() []string {
	var out []string
	for _, u := range strings.Split(c.Server, ",") {
		out = append(out, strings.TrimSpace(u))
	}
	return out
}

func setButtons(c *config, v string) error {
	c.Buttons = nil
	if strings.TrimSpace(v) == "" {
		return nil
	}
	buttons := map[string]string{}
	for _, pair := range strings.Split(v, ",") {
		pin, action, ok := strings.Cut(pair, "=")
		pin, action = strings.TrimSpace(pin), strings.TrimSpace(action)
		switch {
		case !ok || pin == "":
			return fmt.Errorf("%q is not PIN=ACTION", strings.TrimSpace(pair))
		case action != "book" && action != "checkin" && action != "extend" && action != "end":
			return fmt.Errorf("button %s: action %q is not book, checkin, extend or end", pin, action)
		}
		buttons[pin] = action
	}
	c.Buttons = buttons
	return nil
}

func getButtons(c *config) string {
	var pairs []string
	for _, pin := range slices.Sorted(maps.Keys(c.Buttons)) {
		pairs = append(pairs, pin+"="+c.Buttons[pin])
	}
	return strings.Join(pairs, ",")
}

func findKey(name string) (key, bool) {
	for _, k := range keys {
		if k.name == name {
			return k, true
		}
	}
	return key{}, false
}

// envName is the environment variable of a key: server is
// LINTEL_PANEL_SERVER, touch-swap-xy is LINTEL_PANEL_TOUCH_SWAP_XY.
func envName(key string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

const envPrefix = "LINTEL_PANEL_"

// apply sets one value in c, refusing what is too long to be a setting.
func (k key) apply(c *config, v string) error {
	if len(v) > maxValue {
		return fmt.Errorf("the value is %d bytes long, more than the %d a setting may have", len(v), maxValue)
	}
	return k.set(c, v)
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
		if err := spec.apply(c, v); err != nil {
			return fmt.Errorf("%s:%d: %s: %w", name, n, k, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// about is what lintel-panel is, for -h.
const about = `lintel-panel is the door panel's firmware: it shows a meeting room's state on the screen
and LEDs beside the door and sends bookings back to the Lintel server.

Each setting comes from, highest priority first: its flag (--width 1024), its environment
variable (LINTEL_PANEL_WIDTH=1024), a line of the --config file (width = 1024), or the
default shown. A switch is on by its flag alone (--touch-swap-xy); --touch-swap-xy=false
turns it off.`

// loadConfig reads the settings from the defaults, the configuration
// file, the environment (environ, as os.Environ gives it) and the command
// line, in that order, each overriding the one before; then checks them.
// For -h and "version" it prints to stdout and returns done.
func loadConfig(args, environ []string, stdout io.Writer) (cfg config, done bool, err error) {
	cfg = defaults()
	fs := flag.NewFlagSet("lintel-panel", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; -h prints usage below
	fs.Usage = func() {}
	configPath := fs.String("config", "", "")
	version := fs.Bool("version", false, "")
	// Flags are applied last (below), in the order given; here each is
	// only checked, so a mistyped value fails before anything runs.
	var given []flagValue
	for _, k := range keys {
		fs.Var(&flagArg{key: k, given: &given}, k.name, k.help)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return cfg, true, nil
		}
		return cfg, false, fmt.Errorf("%w (lintel-panel -h lists the settings)", err)
	}
	switch {
	case *version || fs.Arg(0) == "version" && fs.NArg() == 1:
		fmt.Fprintln(stdout, Version)
		return cfg, true, nil
	case fs.NArg() > 0:
		return cfg, false, fmt.Errorf("unexpected argument %q: settings are flags (--server URL), and a switch takes its value with = (--touch-swap-xy=false)", fs.Arg(0))
	}

	env := map[string]string{}
	for _, kv := range environ {
		if name, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, envPrefix) && v != "" {
			env[name] = v
		}
	}
	if *configPath == "" {
		*configPath = env[envPrefix+"CONFIG"]
	}
	if *configPath != "" {
		if err := loadConfigFile(&cfg, *configPath); err != nil {
			return cfg, false, err
		}
	}
	for _, k := range keys {
		if v, ok := env[envName(k.name)]; ok {
			if err := k.apply(&cfg, v); err != nil {
				return cfg, false, fmt.Errorf("%s: %w", envName(k.name), err)
			}
		}
	}
	for _, g := range given {
		if err := g.key.apply(&cfg, g.value); err != nil {
			return cfg, false, fmt.Errorf("--%s: %w", g.key.name, err)
		}
	}
	if err := cfg.check(); err != nil {
		return cfg, false, fmt.Errorf("config: %w", err)
	}
	return cfg, false, nil
}

// unknownEnv lists the LINTEL_PANEL_* variables in environ that name no
// setting: most likely a typing mistake, worth a warning. The deploy
// scripts' own variables are known.
func unknownEnv(environ []string) []string {
	known := map[string]bool{envPrefix + "CONFIG": true, envPrefix + "BIN": true, envPrefix + "STATE": true, envPrefix + "UNIT": true}
	for _, k := range keys {
		known[envName(k.name)] = true
	}
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, envPrefix) && !known[name] {
			out = append(out, name)
		}
	}
	return out
}

// flagValue is a flag as given on the command line.
type flagValue struct {
	key   key
	value string
}

// flagArg is a key's flag: it checks the value against a scratch config
// when the flag is parsed and records it for loadConfig to apply.
type flagArg struct {
	key   key
	given *[]flagValue
}

func (f *flagArg) String() string { return "" }

func (f *flagArg) Set(v string) error {
	scratch := defaults()
	if err := f.key.apply(&scratch, v); err != nil {
		return err
	}
	*f.given = append(*f.given, flagValue{f.key, v})
	return nil
}

// IsBoolFlag makes a switch's flag need no value, so that
// "--touch-swap-xy --server X" reads --server as the next flag.
func (f *flagArg) IsBoolFlag() bool { return f.key.kind == switchKind }

// usage writes -h: what lintel-panel is, then every setting with its
// type, default and environment variable.
func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: lintel-panel [flags]\n       lintel-panel version\n\n%s\n\nsettings:\n", about)
	fmt.Fprintf(w, "  --config text  (env %sCONFIG)\n      a file of 'key = value' lines (keys: the flags' names), e.g. /etc/lintel/panel.conf\n", envPrefix)
	def := defaults()
	for _, k := range keys {
		typ := map[kind]string{textKind: " text", switchKind: "", numberKind: " number", durationKind: " duration"}[k.kind]
		var extra []string
		if v := k.get(&def); v != "" {
			extra = append(extra, "default "+v)
		}
		extra = append(extra, "env "+envName(k.name))
		fmt.Fprintf(w, "  --%s%s  (%s)\n      %s\n", k.name, typ, strings.Join(extra, "; "), k.help)
	}
	fmt.Fprintln(w, "  --version\n      print the version and exit (also: lintel-panel version)")
}

// check validates the combination of keys once everything is read.
func (c config) check() error {
	if strings.TrimSpace(c.Server) == "" {
		return fmt.Errorf("server: not set; give the server's panel endpoint, e.g. server = wss://lintel.example.com/ws")
	}
	for _, u := range c.servers() {
		switch {
		case u == "":
			return fmt.Errorf("server: %q has an empty URL between its commas", c.Server)
		case !strings.HasPrefix(u, "ws://") && !strings.HasPrefix(u, "wss://"):
			return fmt.Errorf("server: %q must start with wss:// (or ws://)", u)
		}
	}
	switch {
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

// parseOfficeHours reads "mon-fri 07:00-19:00" or several such parts
// separated by commas ("mon-fri 07:00-19:00, sat 08:00-12:00"), with the
// parser the server checks its settings with.
func parseOfficeHours(s string) ([7]screenHours, error) {
	var out [7]screenHours
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	days, err := proto.ParseOfficeHours(s)
	if err != nil {
		return out, err
	}
	for d, h := range days {
		out[d] = screenHours{Start: h.Start, End: h.End}
	}
	return out, nil
}
