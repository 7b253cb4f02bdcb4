package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/store"
)

// The admin UI as its users see it: every page in headless Chromium, at
// desktop width and on a 390 px phone.

// uiServer is a test server with a logged-in browser and data that shows
// every state: rooms free, busy, starting soon and awaiting check-in in
// two time zones, panels, and a long activity log.
type uiServer struct {
	*testServer
	ctx context.Context
	// devices by name
	devices map[string]string
}

// minute is the test clock's now, to the minute, in UTC.
func (ts *testServer) minute() time.Time { return ts.now().UTC().Truncate(time.Minute) }

func newUIServer(t *testing.T) *uiServer {
	t.Helper()
	ctx := browser(t)
	ts := newTestServer(t)
	if err := admin.CreateAdmin(ts.app.db, testAdmin, testPassword, ts.now()); err != nil {
		t.Fatal(err)
	}
	u := &uiServer{testServer: ts, ctx: ctx, devices: map[string]string{}}
	now := ts.minute()
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich", Booking: store.BookingSettings{Instant: true, ExtendEnd: true}})
	ts.addRoom(store.Room{ID: "hudson", Name: "Hudson", TimeZone: "America/New_York", Booking: store.BookingSettings{Instant: true, CheckIn: true, AutoRelease: true}})
	ts.addRoom(store.Room{ID: "titlis", Name: "Titlis", TimeZone: "Europe/Zurich", Booking: store.BookingSettings{Instant: true}})
	ts.addRoom(store.Room{ID: "saentis", Name: "Säntis — the long boardroom on the fourth floor, east wing", TimeZone: "Europe/Zurich"})
	ev := func(room, subject string, start, end time.Time) {
		t.Helper()
		if code := ts.api("POST", "/api/v1/rooms/"+room+"/events", map[string]any{"subject": subject, "organizer": "Anna Muster", "start": start, "end": end}, nil); code != 201 {
			t.Fatalf("add event to %s: %d", room, code)
		}
	}
	ev("rigi", "Budget review with a title long enough to be cut at the end of the line", now.Add(-20*time.Minute), now.Add(40*time.Minute))
	ev("hudson", "Design critique", now.Add(-2*time.Minute), now.Add(58*time.Minute))
	ev("titlis", "Standup", now.Add(5*time.Minute), now.Add(20*time.Minute))
	for _, id := range []string{"rigi", "hudson", "titlis", "saentis"} {
		if err := ts.app.sync.Refresh(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []struct{ name, room string }{{"Rigi door", "rigi"}, {"Hudson door", "hudson"}} {
		var res struct {
			Device store.Device `json:"device"`
		}
		if code := ts.api("POST", "/api/v1/devices", map[string]string{"room": d.room, "name": d.name}, &res); code != 201 {
			t.Fatalf("add device: %d", code)
		}
		u.devices[d.name] = res.Device.ID
	}
	// A long activity log: more than two pages.
	for i := range 120 {
		room, dev := "rigi", u.devices["Rigi door"]
		if i%3 == 0 {
			room, dev = "hudson", u.devices["Hudson door"]
		}
		res, _ := json.Marshal(proto.Result{OK: i%7 != 0, Error: map[bool]*proto.Error{true: proto.NewError(proto.CodeConflict, "the room was just booked by someone else")}[i%7 == 0]})
		o := store.Outcome{Device: dev, ID: fmt.Sprintf("req-%03d", i), Room: room, Action: "book",
			At: now.Add(-time.Duration(120-i) * 7 * time.Minute), Result: res, Summary: map[bool]string{true: "booked 09:00 to 09:30"}[i%7 != 0]}
		if err := ts.app.db.PutOutcome(o); err != nil {
			t.Fatal(err)
		}
	}
	rel, _ := json.Marshal(proto.Result{OK: true})
	ts.app.db.PutOutcome(store.Outcome{Device: "lintel", ID: "release-x", Room: "hudson", Action: "release", At: now.Add(-time.Minute), Result: rel,
		Summary: fmt.Sprintf("released the meeting at %s: nobody checked in", now.Add(-11*time.Minute).Format(time.RFC3339))})
	ts.app.admin.Report(context.Background(), u.devices["Rigi door"], "rigi", proto.Report{Kind: "problem", Problem: "The screen flickers and the projector's remote control is missing since Monday"})

	err := chromedp.Do(ctx,
		chromedp.Navigate(ts.http.URL+"/login"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, testAdmin),
		chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Submit(`input[name=password]`),
		chromedp.WaitVisible(`#test-all`),
	)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// run runs browser actions and fails the test on error.
func (u *uiServer) run(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(u.ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates JavaScript in the page.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// viewport sets the browser's size: a desktop window, or a phone (a
// mobile viewport that honours the page's viewport meta tag).
func viewport(width int64) chromedp.Action[chromedp.Void] {
	if width < 600 {
		return chromedp.EmulateViewport(width, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile)
	}
	return chromedp.EmulateViewport(width, 900)
}

// noSidewaysScroll fails when the page is wider than the viewport.
func noSidewaysScroll(t *testing.T, ctx context.Context, page string, width int64) {
	t.Helper()
	got := eval[[]int](t, ctx, `[document.documentElement.scrollWidth, window.innerWidth]`)
	if got[0] > got[1] {
		wide := eval[[]string](t, ctx, `[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5).map(e => e.tagName + "." + e.className + ": " + Math.round(e.getBoundingClientRect().right))`)
		t.Errorf("%s at %d px: the page is %d px wide, the viewport %d px: it scrolls sideways (too wide: %q)", page, width, got[0], got[1], wide)
	}
}

// textColours lists every visible element with its own text: its text
// colour and the background it is painted on (the nearest ancestor's
// that is not transparent).
const textColours = `(() => {
  const out = [];
  const bgOf = e => {
    for (; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (c && !/rgba\(.*, 0\)$/.test(c) && c !== "transparent") return c;
    }
    return "rgb(255, 255, 255)";
  };
  for (const e of document.querySelectorAll("body *")) {
    if (e.closest("svg, [disabled], .disabled, option")) continue;
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim() !== "");
    if (!own || e.getClientRects().length === 0 || getComputedStyle(e).visibility === "hidden") continue;
    out.push([e.tagName + (e.className ? "." + e.className : "") + ": " + e.textContent.trim().slice(0, 30), getComputedStyle(e).color, bgOf(e)]);
  }
  return out;
})()`

var rgbRE = regexp.MustCompile(`rgba?\((\d+), (\d+), (\d+)`)

func wcag(c string) float64 {
	m := rgbRE.FindStringSubmatch(c)
	if m == nil {
		return math.NaN()
	}
	var l [3]float64
	for i := range 3 {
		v, _ := strconv.Atoi(m[i+1])
		s := float64(v) / 255
		if s <= 0.03928 {
			l[i] = s / 12.92
		} else {
			l[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

// renderedContrast checks what the browser actually painted: every text
// at least 4.5:1 on its background, whatever the cascade decided.
func renderedContrast(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	for _, e := range eval[[][3]string](t, ctx, textColours) {
		a, b := wcag(e[1]), wcag(e[2])
		ratio := (max(a, b) + 0.05) / (min(a, b) + 0.05)
		if ratio < 4.5 {
			t.Errorf("%s: %q is %s on %s: %.2f:1, want at least 4.5:1", page, e[0], e[1], e[2], ratio)
		}
	}
}

// look opens a page at desktop and phone width: a screenshot of each in
// $LINTEL_SCREENSHOTS, no sideways scrolling, and the contrast the
// browser painted.
func (u *uiServer) look(t *testing.T, name, path, ready string) {
	t.Helper()
	for _, width := range []int64{1100, 390} {
		u.run(t, viewport(width), chromedp.Navigate(u.http.URL+path), chromedp.WaitVisible(ready), shot(fmt.Sprintf("%s-%d", name, width)))
		noSidewaysScroll(t, u.ctx, name, width)
		renderedContrast(t, u.ctx, fmt.Sprintf("%s at %d px", name, width))
	}
	u.run(t, viewport(1100))
}

// TestAdminPagesAtDesktopAndPhoneWidth visits every admin page at 1100 px
// and on a 390 px phone: nothing scrolls sideways and every text the
// browser paints has at least 4.5:1 contrast. With LINTEL_SCREENSHOTS set
// it saves each page for a person to look at.
func TestAdminPagesAtDesktopAndPhoneWidth(t *testing.T) {
	u := newUIServer(t)
	u.run(t, chromedp.Navigate(u.http.URL+"/rooms"), chromedp.Click(`#test-all`), chromedp.WaitVisible(`.flash`))
	for _, p := range []struct{ name, path, ready string }{
		{"rooms", "/rooms", `#room-rigi`},
		{"room", "/rooms/rigi", `#room-form`},
		{"room-new", "/rooms/new", `#room-form`},
		{"day", "/rooms/rigi/day", `#add-meeting`},
		{"devices", "/devices", `ul.devices`},
		{"pair", "/pair?code=K7Q4-MX2P", `.pairform`},
		{"activity", "/activity", `table.activity`},
		{"connector", "/connector", `#connector`},
	} {
		u.look(t, p.name, p.path, p.ready)
	}
	// The login page, logged out.
	u.run(t, chromedp.Click(`button.link`), chromedp.WaitVisible(`input[name=username]`))
	u.look(t, "login", "/login", `input[name=username]`)
}

// TestRoomsPageStatuses: each status cell says what matters next in the
// room's time, and while a meeting awaits check-in that is the deadline
// to check in (its start plus the check-in window), not the meeting's end.
func TestRoomsPageStatuses(t *testing.T) {
	u := newUIServer(t)
	now := u.minute()
	u.run(t, chromedp.Navigate(u.http.URL+"/rooms"), chromedp.WaitVisible(`#room-hudson`))
	ny, _ := time.LoadLocation("America/New_York")
	zh, _ := time.LoadLocation("Europe/Zurich")
	for id, want := range map[string]string{
		"hudson": "Awaiting check-in check in by " + now.Add(-2*time.Minute).Add(proto.DefaultCheckInAfterMinutes*time.Minute).In(ny).Format("15:04"),
		"rigi":   "Busy until " + now.Add(40*time.Minute).In(zh).Format("15:04"),
		"titlis": "Starting soon at " + now.Add(5*time.Minute).In(zh).Format("15:04"),
	} {
		got := strings.Join(strings.Fields(text(t, u.ctx, "#room-"+id+" .status")), " ")
		if got != want {
			t.Errorf("%s: status %q, want %q", id, got, want)
		}
	}
	if got := text(t, u.ctx, "#room-hudson .status"); strings.Contains(got, now.Add(58*time.Minute).In(ny).Format("15:04")) {
		t.Errorf("hudson shows the meeting's end %q as the check-in deadline", got)
	}
}

func TestMain(m *testing.M) {
	if dir := os.Getenv("LINTEL_SCREENSHOTS"); dir != "" {
		os.MkdirAll(filepath.Clean(dir), 0o755)
	}
	os.Exit(m.Run())
}
