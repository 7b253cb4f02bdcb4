package main

import (
	"context"
	"image"
	"image/color"
	"image/draw"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	panelapp "github.com/lintelhq/lintel/panel/app"
	"github.com/lintelhq/lintel/panel/input"
	"github.com/lintelhq/lintel/panel/led"
	"github.com/lintelhq/lintel/panel/link"
	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/store"
)

// captureScreen is a display.Drawer that keeps the last frame and counts
// frames, safe to read while the panel draws.
type captureScreen struct {
	mu     sync.Mutex
	img    *image.RGBA
	frames int
}

func newCaptureScreen(w, h int) *captureScreen {
	return &captureScreen{img: image.NewRGBA(image.Rect(0, 0, w, h))}
}

func (c *captureScreen) String() string          { return "capture" }
func (c *captureScreen) Halt() error             { return nil }
func (c *captureScreen) ColorModel() color.Model { return color.RGBAModel }
func (c *captureScreen) Bounds() image.Rectangle { return c.img.Bounds() }
func (c *captureScreen) Draw(r image.Rectangle, src image.Image, sp image.Point) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	draw.Draw(c.img, r, src, sp, draw.Src)
	c.frames++
	return nil
}

func (c *captureScreen) at(x, y int) color.RGBA {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.img.RGBAAt(x, y)
}

// realPanel is the panel's own code (link, app, view, LEDs on periph test
// pins) connected to the test server.
type realPanel struct {
	app        *panelapp.App
	link       *link.Link
	screen     *captureScreen
	green, red *gpiotest.Pin
	leds       *led.LEDs
	dir        string
	cancel     context.CancelFunc
	done       chan struct{}
}

func startPanel(t testing.TB, ts *testServer, credential string) *realPanel {
	t.Helper()
	return startPanelOn(t, ts, credential, nil)
}

// startPanelOn starts a panel that also knows the servers at more
// (replicas of ts).
func startPanelOn(t testing.TB, ts *testServer, credential string, more []string) *realPanel {
	t.Helper()
	dir := t.TempDir()
	credFile := filepath.Join(dir, "credential")
	if credential != "" {
		writeTestFile(t, credFile, credential)
	}
	p := &realPanel{screen: newCaptureScreen(800, 480), green: &gpiotest.Pin{N: "GPIO17"}, red: &gpiotest.Pin{N: "GPIO27"}, dir: dir, done: make(chan struct{})}
	leds, err := led.New(led.Opts{Green: p.green, Red: p.red})
	if err != nil {
		t.Fatal(err)
	}
	p.leds = leds
	p.link, err = link.New(link.Opts{URL: ts.wsURL(), URLs: more, CredentialPath: credFile, CachePath: filepath.Join(dir, "cache.json"),
		Firmware: "e2e", Width: 800, Height: 480, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Now: ts.now})
	if err != nil {
		t.Fatal(err)
	}
	p.app, err = panelapp.New(panelapp.Opts{Link: p.link, Screen: p.screen, LEDs: leds, Server: "test", Now: ts.now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); p.app.Run(ctx) }()
	go func() { defer wg.Done(); p.link.Run(ctx) }()
	go func() { defer wg.Done(); p.app.Follow(ctx, p.link.Events(), leds) }()
	go func() { wg.Wait(); leds.Close(); close(p.done) }()
	t.Cleanup(p.stop)
	return p
}

func (p *realPanel) stop() {
	p.cancel()
	<-p.done
}

// pins returns the levels of the green and red pins.
func (p *realPanel) pins() (green, red gpio.Level) {
	return p.green.Read(), p.red.Read()
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// statusColour is a pixel inside the status area of an 800x480 frame.
func (p *realPanel) statusColour() color.RGBA { return p.screen.at(10, 240) }

func isRed(c color.RGBA) bool   { return c.R > 150 && c.G < 80 && c.B < 80 }
func isGreen(c color.RGBA) bool { return c.G > 90 && c.R < 80 && c.B < 100 }

// TestPanelEndToEnd runs the real panel code against the real server: a
// change through the API changes the panel's frame and its LED pins, and a
// private meeting's subject is nowhere on the panel.
func TestPanelEndToEnd(t *testing.T) {
	ts := newTestServer(t)
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich", Display: store.DisplayTitle,
		Booking: store.BookingSettings{Instant: true, ExtendEnd: true}})
	now := ts.now().UTC().Truncate(time.Minute)
	var ev store.Event
	ts.api("POST", "/api/v1/rooms/rigi/events", map[string]any{"subject": "Budget", "organizer": "Anna",
		"start": now.Add(-10 * time.Minute), "end": now.Add(50 * time.Minute)}, &ev)
	secret := "Layoff planning"
	ts.api("POST", "/api/v1/rooms/rigi/events", map[string]any{"subject": secret, "organizer": "Petra",
		"start": now.Add(3 * time.Hour), "end": now.Add(4 * time.Hour), "private": true}, nil)

	p := startPanel(t, ts, ts.addDevice("rigi"))
	waitFor(t, "busy: red LED and a red frame", func() bool {
		g, r := p.pins()
		return g == gpio.Low && r == gpio.High && isRed(p.statusColour())
	})

	// End the meeting through the API: the room is free.
	ts.api("PUT", "/api/v1/rooms/rigi/events/"+ev.ID, map[string]any{"subject": "Budget", "organizer": "Anna",
		"start": now.Add(-10 * time.Minute), "end": now.Add(-time.Minute)}, nil)
	waitFor(t, "free: green LED and a green frame", func() bool {
		g, r := p.pins()
		return g == gpio.High && r == gpio.Low && isGreen(p.statusColour())
	})

	// Book the room at the panel with two taps: "Book now", then the
	// first choice ("Until ...").
	tap := func(action string) {
		t.Helper()
		var target image.Rectangle
		waitFor(t, "a button for "+action, func() bool {
			_, targets := p.app.Frame()
			for _, tg := range targets {
				if strings.HasPrefix(tg.Action, action) && !tg.Disabled {
					target = tg.Rect
					return true
				}
			}
			return false
		})
		c := target.Min.Add(target.Size().Div(2))
		p.app.Input(context.Background(), input.Event{Kind: input.Touch, X: c.X, Y: c.Y})
	}
	tap("menu:book")
	tap("book:until:")
	waitFor(t, "the booking: busy again", func() bool {
		_, r := p.pins()
		return r == gpio.High && isRed(p.statusColour())
	})
	evs, _ := ts.app.db.Events("rigi")
	booked := 0
	for _, e := range evs {
		if e.Subject == "Booked at the panel" {
			booked++
		}
	}
	if booked != 1 {
		t.Errorf("%d bookings in the calendar, want 1", booked)
	}

	// The private subject is not in the panel's cache, nor in any text the
	// panel drew (its state holds every string it can draw).
	cache, err := os.ReadFile(filepath.Join(p.dir, "cache.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cache), "Reserved") || strings.Contains(string(cache), secret) {
		t.Errorf("panel cache: Reserved %v, secret %v", strings.Contains(string(cache), "Reserved"), strings.Contains(string(cache), secret))
	}
	st, _ := p.link.Cached()
	for _, m := range st.Meetings {
		if strings.Contains(m.Title, "Layoff") {
			t.Errorf("the panel holds the private subject: %+v", m)
		}
	}
}

// TestPanelKeepsWorkingOffline: the server goes away, the panel keeps its
// room from the cache and disables booking; a panel restarted with no
// server starts from the cache.
func TestPanelKeepsWorkingOffline(t *testing.T) {
	ts := newTestServer(t)
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich", Booking: store.BookingSettings{Instant: true}})
	now := ts.now().UTC().Truncate(time.Minute)
	ts.api("POST", "/api/v1/rooms/rigi/events", map[string]any{"subject": "Standup", "start": now.Add(-5 * time.Minute), "end": now.Add(time.Hour)}, nil)
	cred := ts.addDevice("rigi")
	p := startPanel(t, ts, cred)
	waitFor(t, "busy", func() bool { _, r := p.pins(); return r == gpio.High })
	dir := p.dir
	p.stop()

	// Restart the panel against a dead address: it shows the cached room.
	l, err := link.New(link.Opts{URL: "ws://127.0.0.1:1/ws", CredentialPath: filepath.Join(dir, "credential"), CachePath: filepath.Join(dir, "cache.json"), Firmware: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := l.Cached()
	if err != nil || st == nil || st.Room.Name != "Rigi" || len(st.Meetings) != 1 {
		t.Fatalf("cache after restart: %+v %v", st, err)
	}
	screen := newCaptureScreen(800, 480)
	a, _ := panelapp.New(panelapp.Opts{Link: l, Screen: screen, OfflineGrace: time.Millisecond, Now: ts.now})
	a.OnState(st, false)
	a.OnDisconnected()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Run(ctx)
	go l.Run(ctx)
	waitFor(t, "a red frame from the cache", func() bool { return isRed(screen.at(10, 240)) })
	res, err := l.Request(ctx, "x", proto.Request{Action: proto.ActionBook, Minutes: 15})
	if proto.CodeOf(err) != proto.CodeOffline || res.OK {
		t.Errorf("booking offline: %+v %v, want CodeOffline", res, err)
	}
}

// TestPanelDoorNeverLies runs the real panel against the real server for
// what a person at the door must be able to trust: a room whose calendar
// cannot be read shows no status and no green; a room's language and clock
// reach the calendar and the screen; and an end of meeting needs two taps.
func TestPanelDoorNeverLies(t *testing.T) {
	ts := newTestServer(t)
	// A room whose calendar does not exist: never read.
	ts.addRoom(store.Room{ID: "ghost", Name: "Ghost", Calendar: "no-such-calendar", TimeZone: "Europe/Zurich", Display: store.DisplayTitle,
		Booking: store.BookingSettings{Instant: true}})
	ghost := startPanel(t, ts, ts.addDevice("ghost"))
	waitFor(t, "an unknown schedule: no LED, booking grey", func() bool {
		_, targets := ghost.app.Frame()
		g, r := ghost.pins()
		c := ghost.statusColour()
		return len(targets) > 0 && targets[0].Action == "menu:book" && targets[0].Disabled && g == gpio.Low && r == gpio.Low && !isGreen(c) && !isRed(c)
	})
	ghost.stop()

	// A French room with a 24-hour clock, on an English panel.
	var saved store.Room
	if code := ts.api("POST", "/api/v1/rooms", store.Room{ID: "leman", Name: "Léman", TimeZone: "Europe/Zurich", Display: store.DisplayTitle,
		Language: "fr-CH", Hours: 24, Booking: store.BookingSettings{Instant: true, ExtendEnd: true}}, &saved); code != http.StatusCreated {
		t.Fatalf("create room: %d", code)
	}
	if saved.Language != "fr" || saved.Hours != 24 {
		t.Errorf("saved room language %q hours %d", saved.Language, saved.Hours)
	}
	for _, bad := range []store.Room{
		{ID: "x", Name: "X", TimeZone: "UTC", Display: store.DisplayTitle, Hours: 13},
		{ID: "y", Name: "Y", TimeZone: "UTC", Display: store.DisplayTitle, Language: "ja"},
	} {
		if code := ts.api("POST", "/api/v1/rooms", bad, nil); code != http.StatusBadRequest {
			t.Errorf("room with hours %d language %q: %d, want 400", bad.Hours, bad.Language, code)
		}
	}
	p := startPanel(t, ts, ts.addDevice("leman"))
	tap := func(action string) {
		t.Helper()
		var target image.Rectangle
		waitFor(t, "a button for "+action, func() bool {
			_, targets := p.app.Frame()
			for _, tg := range targets {
				if strings.HasPrefix(tg.Action, action) && !tg.Disabled {
					target = tg.Rect
					return true
				}
			}
			return false
		})
		c := target.Min.Add(target.Size().Div(2))
		p.app.Input(context.Background(), input.Event{Kind: input.Touch, X: c.X, Y: c.Y})
	}
	tap("menu:book")
	var until time.Time
	waitFor(t, "the booking menu", func() bool {
		_, targets := p.app.Frame()
		for _, tg := range targets {
			if sec, ok := strings.CutPrefix(tg.Action, "book:until:"); ok {
				n, _ := strconv.ParseInt(sec, 10, 64)
				until = time.Unix(n, 0)
				return true
			}
		}
		return false
	})
	tap("book:until:")
	waitFor(t, "the booking: busy", func() bool { _, r := p.pins(); return r == gpio.High })
	evs, _ := ts.app.db.Events("leman")
	if len(evs) != 1 || evs[0].Subject != "Réservé au panneau" || !evs[0].End.Equal(until) {
		t.Fatalf("events %+v, want one French walk-up booking until %v (the button's end)", evs, until)
	}
	// Ending takes two taps: the first only asks to confirm.
	tap("end:")
	time.Sleep(100 * time.Millisecond)
	if evs, _ := ts.app.db.Events("leman"); !evs[0].End.Equal(until) {
		t.Fatalf("one tap ended the meeting")
	}
	tap("confirm-end:")
	waitFor(t, "the meeting ended after the confirming tap", func() bool {
		evs, _ := ts.app.db.Events("leman")
		return len(evs) == 1 && evs[0].End.Before(until)
	})
}
