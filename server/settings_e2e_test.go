package main

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	panelapp "github.com/lintelhq/lintel/panel/app"
	"github.com/lintelhq/lintel/panel/link"
	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/store"
)

// settingsPanel is the panel's code wired as lintel-panel wires it for
// settings: the link with its settings cache, the cached settings applied
// before the first frame, and the link's events followed.
type settingsPanel struct {
	app    *panelapp.App
	link   *link.Link
	screen *captureScreen
	cancel context.CancelFunc
	done   chan struct{}
}

func startSettingsPanel(t *testing.T, url, dir string, now func() time.Time) *settingsPanel {
	t.Helper()
	p := &settingsPanel{screen: newCaptureScreen(800, 480), done: make(chan struct{})}
	var err error
	p.link, err = link.New(link.Opts{URL: url, CredentialPath: filepath.Join(dir, "credential"), CachePath: filepath.Join(dir, "cache.json"),
		SettingsPath: filepath.Join(dir, "settings.json"), Firmware: "e2e", Width: 800, Height: 480,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	p.app, err = panelapp.New(panelapp.Opts{Link: p.link, Screen: p.screen, Server: "test", Locale: "en", Now: now, OfflineGrace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if s := p.link.CachedSettings(); s != nil {
		p.app.OnSettings(s)
	}
	if st, _ := p.link.Cached(); st != nil {
		p.app.OnState(st, false)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); p.app.Run(ctx) }()
	go func() { defer wg.Done(); p.link.Run(ctx) }()
	go func() { defer wg.Done(); p.app.Follow(ctx, p.link.Events(), nil) }()
	go func() { wg.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	return p
}

func (p *settingsPanel) stop() {
	p.cancel()
	<-p.done
}

// frame copies the last frame drawn.
func (c *captureScreen) frame() *image.RGBA {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := image.NewRGBA(c.img.Bounds())
	copy(out.Pix, c.img.Pix)
	return out
}

// differ counts the pixels of r that differ between a and b.
func differ(a, b *image.RGBA, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.RGBAAt(x, y) != b.RGBAAt(x, y) {
				n++
			}
		}
	}
	return n
}

// savePNG keeps a frame for a person to look at, in $LINTEL_SCREENSHOTS
// (else the test's temporary directory).
func savePNG(t *testing.T, name string, img image.Image) {
	t.Helper()
	dir := os.Getenv("LINTEL_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// TestSettingsReachThePanel: a setting changed through the API reaches a
// running panel, which redraws with it at once (German, a 24 h clock, its
// own booking menu); restarted with no server, the panel starts with the
// settings from its cache. A panel override wins over the room's.
func TestSettingsReachThePanel(t *testing.T) {
	ts := newTestServer(t)
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich", Display: store.DisplayTitle,
		Booking: store.BookingSettings{Instant: true}})
	now := ts.minute()
	ts.api("POST", "/api/v1/rooms/rigi/events", map[string]any{"subject": "Budget", "organizer": "Anna",
		"start": now.Add(-10 * time.Minute), "end": now.Add(50 * time.Minute)}, nil)
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "credential"), ts.addDevice("rigi"))
	p := startSettingsPanel(t, ts.wsURL(), dir, ts.now)
	waitFor(t, "the busy room", func() bool { return isRed(p.statusColour()) })
	var got struct {
		Settings  proto.Settings  `json:"settings"`
		Effective *proto.Settings `json:"effective"`
	}
	// The first settings (empty) arrive with the hello.
	waitFor(t, "the empty settings", func() bool { return p.app.Settings() != nil })
	time.Sleep(50 * time.Millisecond) // let the frame settle
	english := p.screen.frame()
	savePNG(t, "settings-before-en.png", english)

	if code := ts.api("PUT", "/api/v1/panel-settings", proto.Settings{Locale: "de", Hours: 24, BookMinutes: []int{20, 40}}, &got); code != 200 || got.Settings.Locale != "de" {
		t.Fatalf("PUT fleet settings: %d %+v", code, got)
	}
	waitFor(t, "the German settings on the panel", func() bool { s := p.app.Settings(); return s != nil && s.Locale == "de" })
	status := image.Rect(0, 0, 800, 300)
	waitFor(t, "a redrawn frame", func() bool { return differ(english, p.screen.frame(), status) > 500 })
	time.Sleep(50 * time.Millisecond)
	german := p.screen.frame()
	savePNG(t, "settings-after-de.png", german)

	// A room override and a panel override: the panel's wins.
	devs := []store.Device{}
	ts.api("GET", "/api/v1/devices", nil, &devs)
	if code := ts.api("PUT", "/api/v1/rooms/rigi/panel-settings", proto.Settings{Locale: "fr"}, &got); code != 200 || got.Effective.Locale != "fr" {
		t.Fatalf("PUT room settings: %d %+v", code, got)
	}
	waitFor(t, "French", func() bool { return p.app.Settings().Locale == "fr" })
	if code := ts.api("PUT", "/api/v1/devices/"+devs[0].ID+"/panel-settings", proto.Settings{Locale: "de"}, &got); code != 200 || got.Effective.Locale != "de" || got.Effective.Hours != 24 {
		t.Fatalf("PUT device settings: %d %+v", code, got)
	}
	waitFor(t, "German again", func() bool { return p.app.Settings().Locale == "de" })
	// A bad value is refused with the reason.
	if code := ts.api("PUT", "/api/v1/panel-settings", map[string]any{"hours": 13}, nil); code != 400 {
		t.Errorf("hours 13: %d, want 400", code)
	}
	waitFor(t, "the German frame", func() bool { return differ(german, p.screen.frame(), status) == 0 })
	p.stop()

	// Restarted with no server: German from the cache, first frame on.
	q := startSettingsPanel(t, "ws://127.0.0.1:1/ws", dir, ts.now)
	if s := q.app.Settings(); s == nil || s.Locale != "de" || s.Hours != 24 {
		t.Fatalf("settings after an offline restart: %+v", s)
	}
	waitFor(t, "the cached room", func() bool { return isRed(q.statusColour()) })
	time.Sleep(50 * time.Millisecond)
	offline := q.screen.frame()
	savePNG(t, "settings-offline-restart.png", offline)
	if n := differ(german, offline, status); n != 0 {
		t.Errorf("the offline restart's frame differs from the German one in %d pixels", n)
	}
}

func (p *settingsPanel) statusColour() color.RGBA { return p.screen.at(10, 240) }

// TestSettingsCLI: lintel-server settings set and get, on the fleet and a
// room, through the API.
func TestSettingsCLI(t *testing.T) {
	ts := newTestServer(t)
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich"})
	if out, err := ts.cli("settings", "set", "--locale", "de", "--hours", "24", "--book-minutes", "15,45"); err != nil || !strings.Contains(out, "book-minutes") {
		t.Fatalf("settings set: %v\n%s", err, out)
	}
	if out, err := ts.cli("settings", "set", "--room", "rigi", "--locale", "fr"); err != nil {
		t.Fatalf("settings set --room: %v\n%s", err, out)
	}
	out, err := ts.cli("settings", "get", "--room", "rigi")
	if err != nil || !regexp.MustCompile(`locale\s+fr\s+fr`).MatchString(out) || !regexp.MustCompile(`hours\s+-\s+24`).MatchString(out) ||
		!regexp.MustCompile(`book-minutes\s+-\s+15,45`).MatchString(out) {
		t.Errorf("settings get --room: %v\n%s", err, out)
	}
	if out, err := ts.cli("settings", "set", "--brightness", "300"); err == nil || !strings.Contains(out+err.Error(), "brightness") {
		t.Errorf("brightness 300: %v\n%s", err, out)
	}
	if out, err := ts.cli("settings", "set", "--room", "rigi", "--clear"); err != nil || strings.Contains(out, " fr ") {
		t.Errorf("settings set --clear: %v\n%s", err, out)
	}
}
