package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
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
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
	"github.com/lintelhq/lintel/server/connector"
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
			Token  string       `json:"token"`
		}
		if code := ts.api("POST", "/api/v1/devices", map[string]string{"room": d.room, "name": d.name}, &res); code != 201 {
			t.Fatalf("add device: %d", code)
		}
		u.devices[d.name] = res.Device.ID
		if d.room == "hudson" { // one panel online
			p := dialRaw(t, ts.wsURL(), res.Token)
			p.hello()
			p.next(isState)
		}
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

	u.login(t)
	return u
}

// login logs the browser in as testAdmin.
func (u *uiServer) login(t *testing.T) {
	t.Helper()
	u.run(t,
		chromedp.Navigate(u.http.URL+"/login"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, testAdmin),
		chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Submit(`input[name=password]`),
		chromedp.WaitVisible(`#test-all`),
	)
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
		{"utilization", "/utilization", `#usage-rooms`},
		{"connector", "/connector", `#connector`},
		{"users", "/users", `#add-user`},
		{"tokens", "/tokens", `#create-token`},
		{"account", "/account", `#change-password`},
	} {
		u.look(t, p.name, p.path, p.ready)
	}
	// Durations read as people say them.
	u.run(t, chromedp.Navigate(u.http.URL+"/devices"), chromedp.WaitVisible(`li.device.online`))
	page := text(t, u.ctx, "main")
	if !strings.Contains(page, "A panel not seen for 10 min is flagged.") || !regexp.MustCompile(`up \d+ s`).MatchString(page) {
		t.Errorf("panels page durations: %q", page)
	}
	if d := regexp.MustCompile(`\d+(h\d+)?m\d+s|\d+\.\d+s`).FindString(page); d != "" {
		t.Errorf("the panels page shows a Go duration %q", d)
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

// rowsText returns the text of each row of the activity table.
func rowsText(t *testing.T, ctx context.Context) []string {
	t.Helper()
	return eval[[]string](t, ctx, `[...document.querySelectorAll("table.activity tbody tr")].map(r => r.innerText.replace(/\s+/g, " ").trim())`)
}

// TestActivityPageInTheBrowser: the activity shows each entry in its
// room's local time, with the room's and the panel's names (never their
// ids), reads on a 390 px phone without sideways scrolling, and pages
// through the whole time-ordered log, older and newer.
func TestActivityPageInTheBrowser(t *testing.T) {
	u := newUIServer(t)
	now := u.minute()
	u.run(t, chromedp.Navigate(u.http.URL+"/activity"), chromedp.WaitVisible(`table.activity`))
	page1 := rowsText(t, u.ctx)
	if len(page1) != 50 {
		t.Fatalf("first page: %d rows, want 50", len(page1))
	}
	if !strings.Contains(page1[0], "Problem reported") || !strings.Contains(page1[0], "Rigi door") || !strings.Contains(page1[0], "projector") {
		t.Errorf("newest entry %q: want the problem reported at Rigi door", page1[0])
	}
	ny, _ := time.LoadLocation("America/New_York")
	release := now.Add(-time.Minute).In(ny)
	want := release.Format("Mon 2 Jan 15:04") + " " + release.Format("MST") + " Hudson Lintel (automatic) Released (nobody checked in) released the meeting at " + now.Add(-11*time.Minute).In(ny).Format("15:04")
	if !strings.Contains(page1[1], want) {
		t.Errorf("release entry %q, want %q (New York time, names)", page1[1], want)
	}
	all := strings.Join(page1, "\n")
	for name, id := range u.devices {
		if strings.Contains(all, id) {
			t.Errorf("the activity shows the id of %s (%s) instead of its name", name, id)
		}
	}
	if !strings.Contains(all, "Refused: the room was just booked by someone else") {
		t.Error("refused requests are not marked")
	}

	// Page through: 122 entries make pages of 50, 50 and 22.
	u.run(t, chromedp.Click(`#older`), chromedp.WaitVisible(`#newer`))
	page2 := rowsText(t, u.ctx)
	u.run(t, chromedp.Click(`#older`), chromedp.WaitVisible(`#newer`))
	page3 := rowsText(t, u.ctx)
	if len(page2) != 50 || len(page3) != 22 {
		t.Fatalf("pages of %d, %d, %d rows; want 50, 50, 22", len(page1), len(page2), len(page3))
	}
	if n := eval[int](t, u.ctx, `document.querySelectorAll("#older").length`); n != 0 {
		t.Error("the last page offers older entries")
	}
	seen := map[string]bool{}
	for _, r := range append(append(append([]string{}, page1...), page2...), page3...) {
		seen[r] = true
	}
	if len(seen) < 110 {
		t.Errorf("%d distinct rows over three pages: pages overlap", len(seen))
	}
	u.run(t, chromedp.Click(`#newer`), chromedp.WaitVisible(`#older`))
	if back := rowsText(t, u.ctx); strings.Join(back, "\n") != strings.Join(page2, "\n") {
		t.Error("going back to newer entries does not show the second page again")
	}
	// A 390 px phone: every entry a card, nothing wider than the screen.
	u.run(t, viewport(390), chromedp.Navigate(u.http.URL+"/activity"), chromedp.WaitVisible(`table.activity`), shot("activity-phone"))
	noSidewaysScroll(t, u.ctx, "activity", 390)
	if d := eval[string](t, u.ctx, `getComputedStyle(document.querySelector("table.activity tr")).display`); d != "block" {
		t.Errorf("on a phone an entry is displayed as %q, want a block card", d)
	}
}

// TestDayViewInTheBrowser: the built-in calendar's day view adds, moves
// and removes meetings with the API's rules, keeps what was typed when a
// change is refused, hides private subjects, and every change reaches the
// room's panels at once.
func TestDayViewInTheBrowser(t *testing.T) {
	u := newUIServer(t)
	// Tomorrow morning, inside every state's window (from today's local
	// midnight, 36 hours), whatever the time of day.
	zh, _ := time.LoadLocation("Europe/Zurich")
	day := u.now().In(zh).AddDate(0, 0, 1)
	date := day.Format("2006-01-02")
	at := func(hhmm string) time.Time {
		tm, _ := time.Parse("15:04", hhmm)
		return time.Date(day.Year(), day.Month(), day.Day(), tm.Hour(), tm.Minute(), 0, 0, zh).UTC()
	}
	events := func() []store.Event {
		evs, err := u.app.db.Events("titlis")
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	find := func(subject string) *store.Event {
		for _, e := range events() {
			if e.Subject == subject {
				return &e
			}
		}
		return nil
	}
	onPanel := func(start time.Time) bool {
		st, _ := u.app.sync.State("titlis")
		for _, m := range st.Meetings {
			if m.Start.Equal(start) {
				return true
			}
		}
		return false
	}
	setTime := func(sel, v string) chromedp.Action[chromedp.Void] { return chromedp.SetValue(sel, v) }

	u.run(t, chromedp.Navigate(u.http.URL+"/rooms/titlis"), chromedp.WaitVisible(`#room-form`),
		chromedp.Click(`a[href="/rooms/titlis/day"]`), chromedp.WaitVisible(`#add-meeting`),
		chromedp.Click(`#next-day`), chromedp.WaitVisible(`#add-meeting`))
	if got := text(t, u.ctx, "h2.date"); !strings.Contains(got, day.Format("Monday 2 January 2006")) {
		t.Fatalf("next day shows %q", got)
	}

	// Add.
	u.run(t, chromedp.SendKeys(`#add-meeting input[name=subject]`, "Retro"), chromedp.SendKeys(`#add-meeting input[name=organizer]`, "Bea"),
		setTime(`#add-meeting input[name=start]`, "08:00"), setTime(`#add-meeting input[name=end]`, "09:00"),
		chromedp.Submit(`#add-meeting input[name=subject]`), chromedp.WaitVisible(`.flash.ok`), shot("day-added"))
	ev := find("Retro")
	if ev == nil || !ev.Start.Equal(at("08:00")) || !ev.End.Equal(at("09:00")) || ev.Organizer != "Bea" {
		t.Fatalf("added event %+v, want Retro 08:00-09:00 Zurich time", ev)
	}
	if !onPanel(at("08:00")) {
		t.Error("the new meeting did not reach the room's state")
	}
	if got := text(t, u.ctx, "#meeting-"+ev.ID); !strings.Contains(got, "08:00–09:00") || !strings.Contains(got, "Retro") {
		t.Errorf("listed as %q", got)
	}

	// Refused: the end before the start. The form keeps what was typed.
	u.run(t, chromedp.SendKeys(`#add-meeting input[name=subject]`, "Backwards"),
		setTime(`#add-meeting input[name=start]`, "11:00"), setTime(`#add-meeting input[name=end]`, "10:00"),
		chromedp.Submit(`#add-meeting input[name=subject]`), chromedp.WaitVisible(`.flash.err`))
	if got := text(t, u.ctx, ".flash.err"); !strings.Contains(got, "End must be after start") {
		t.Errorf("error %q", got)
	}
	if v := eval[string](t, u.ctx, `document.querySelector("#add-meeting input[name=subject]").value + "|" + document.querySelector("#add-meeting input[name=start]").value + "|" + document.querySelector("#add-meeting input[name=end]").value`); v != "Backwards|11:00|10:00" {
		t.Errorf("the add form after the error holds %q, want what was typed", v)
	}
	if find("Backwards") != nil {
		t.Error("a refused meeting was stored")
	}

	// Move, then a refused move that keeps its values, in its own form.
	sel := "#meeting-" + ev.ID
	u.run(t, chromedp.Navigate(u.http.URL+"/rooms/titlis/day?date="+date), chromedp.WaitVisible(sel),
		chromedp.Click(sel+" details.move summary"), chromedp.WaitVisible(sel+" details.move input[name=start]"),
		setTime(sel+" details.move input[name=start]", "10:00"), setTime(sel+" details.move input[name=end]", "10:30"),
		chromedp.Submit(sel+" details.move input[name=start]"), chromedp.WaitVisible(`.flash.ok`))
	if e := find("Retro"); e == nil || !e.Start.Equal(at("10:00")) || !e.End.Equal(at("10:30")) || e.Organizer != "Bea" {
		t.Errorf("moved event %+v, want 10:00-10:30 with the rest unchanged", e)
	}
	if !onPanel(at("10:00")) || onPanel(at("08:00")) {
		t.Error("the move did not reach the room's state")
	}
	u.run(t, chromedp.Click(sel+" details.move summary"), chromedp.WaitVisible(sel+" details.move input[name=start]"),
		setTime(sel+" details.move input[name=end]", "09:00"),
		chromedp.Submit(sel+" details.move input[name=start]"), chromedp.WaitVisible(sel+" .problem"))
	if got := text(t, u.ctx, sel+" .problem"); !strings.Contains(got, "End must be after start") {
		t.Errorf("move error %q", got)
	}
	if v := eval[string](t, u.ctx, `document.querySelector("`+sel+` details.move input[name=end]").value`); v != "09:00" {
		t.Errorf("the move form lost what was typed: %q", v)
	}

	// A private meeting's subject never reaches the page.
	if code := u.api("POST", "/api/v1/rooms/titlis/events", map[string]any{"subject": "Salary talks", "organizer": "HR", "private": true,
		"start": at("07:00"), "end": at("07:30")}, nil); code != 201 {
		t.Fatal(code)
	}
	u.run(t, chromedp.Navigate(u.http.URL+"/rooms/titlis/day?date="+date), chromedp.WaitVisible(`#add-meeting`), shot("day-private"))
	html, _ := chromedp.Run(u.ctx, chromedp.OuterHTML("html"))
	if strings.Contains(html, "Salary talks") || !strings.Contains(html, "Private meeting") {
		t.Error("the day view shows a private meeting's subject")
	}

	// Remove asks first.
	u.run(t, chromedp.Click(sel+" details.confirm summary"), chromedp.WaitVisible(sel+" details.confirm button"))
	if find("Retro") == nil {
		t.Fatal("opening the confirmation removed the meeting")
	}
	u.run(t, chromedp.Click(sel+" details.confirm button"), chromedp.WaitVisible(`.flash.ok`))
	if find("Retro") != nil || onPanel(at("10:00")) {
		t.Error("the meeting was not removed, or is still on the panels")
	}
	noSidewaysScroll(t, u.ctx, "day", 1100)
}

// TestFormsKeepWhatWasTyped: a form refused by the server comes back with
// the error and everything the admin typed (except secrets): the room
// form, the CSV import (every bad line listed at once), pairing and the
// connection.
func TestFormsKeepWhatWasTyped(t *testing.T) {
	u := newUIServer(t)
	value := func(sel string) string {
		return eval[string](t, u.ctx, `document.querySelector(`+strconv.Quote(sel)+`).value`)
	}

	// A new room with an id that exists, a time zone picked from the list
	// and a booking step out of range.
	u.run(t, chromedp.Navigate(u.http.URL+"/rooms/new"), chromedp.WaitVisible(`#room-form`),
		chromedp.SendKeys(`input[name=id]`, "rigi2"), chromedp.SendKeys(`input[name=name]`, "Jungfrau"),
		chromedp.SetValue(`select[name=tz]`, "Asia/Tokyo"), chromedp.SetValue(`input[name=step]`, "90"),
		chromedp.Click(`input[name=check_in]`),
		chromedp.Submit(`input[name=name]`), chromedp.WaitVisible(`.flash.err`))
	if got := text(t, u.ctx, ".flash.err"); !strings.Contains(got, "Booking step must be a whole number of minutes from 0 to 60") {
		t.Errorf("room form error %q", got)
	}
	if got := value("input[name=name]") + "|" + value("select[name=tz]") + "|" + value("input[name=step]") + "|" + value("input[name=id]"); got != "Jungfrau|Asia/Tokyo|90|rigi2" {
		t.Errorf("room form after the error: %q", got)
	}
	if !eval[bool](t, u.ctx, `document.querySelector("input[name=check_in]").checked`) {
		t.Error("room form after the error lost a ticked box")
	}
	if _, err := u.app.db.Room("rigi2"); err == nil {
		t.Error("a refused room was stored")
	}
	// The picker offers the zones of the embedded list, nothing typed.
	if n := eval[int](t, u.ctx, `document.querySelectorAll("select[name=tz] option").length`); n < 400 {
		t.Errorf("the time zone picker offers %d zones", n)
	}
	if n := eval[int](t, u.ctx, `document.querySelectorAll("input[name=tz]").length`); n != 0 {
		t.Error("the time zone is still a free text field")
	}

	// CSV: two bad lines and a good one: both problems at once, the text
	// kept, nothing imported.
	csv := "id,name,tz,display,instant\nok1,Ok One,Europe/Zurich,title,true\nbad,Bad,Mars/Base,title,true\nworse,Worse,UTC,everything,perhaps\n"
	u.run(t, chromedp.Navigate(u.http.URL+"/rooms"), chromedp.WaitVisible(`#import`),
		chromedp.Click(`#import summary`), chromedp.SetValue(`textarea[name=csv]`, csv),
		chromedp.Submit(`textarea[name=csv]`), chromedp.WaitVisible(`#import-errors`), shot("import-errors"))
	problems := eval[[]string](t, u.ctx, `[...document.querySelectorAll("#import-errors li")].map(l => l.textContent)`)
	if len(problems) != 2 || !strings.HasPrefix(problems[0], "line 3:") || !strings.HasPrefix(problems[1], "line 4:") ||
		!strings.Contains(problems[1], `instant is "perhaps"`) || !strings.Contains(problems[1], `display mode "everything"`) {
		t.Errorf("import problems %q: want lines 3 and 4 with every problem", problems)
	}
	if got := value("textarea[name=csv]"); got != csv {
		t.Errorf("the pasted CSV was not kept: %q", got)
	}
	if _, err := u.app.db.Room("ok1"); err == nil {
		t.Error("a CSV with bad lines imported its good ones")
	}

	// Pairing with a code no panel shows: room and name kept.
	u.run(t, chromedp.Navigate(u.http.URL+"/pair?code=ZZZZ-ZZZZ"), chromedp.WaitVisible(`.pairform`),
		chromedp.SetValue(`select[name=room]`, "hudson"), chromedp.SendKeys(`input[name=name]`, "Hudson side door"),
		chromedp.Submit(`input[name=name]`), chromedp.WaitVisible(`.flash.err`))
	if got := value("select[name=room]") + "|" + value("input[name=name]") + "|" + value("input[name=code]"); got != "hudson|Hudson side door|ZZZZ-ZZZZ" {
		t.Errorf("pairing form after the error: %q", got)
	}

	// The connection: a custom cloud without https; the tenant typed stays,
	// the error names the field.
	u.run(t, chromedp.Navigate(u.http.URL+"/connector"), chromedp.WaitVisible(`#connector`),
		chromedp.Click(`input[name=kind][value=m365]`), chromedp.SendKeys(`input[name=tenant_id]`, "contoso.onmicrosoft.com"),
		chromedp.SendKeys(`input[name=client_id]`, "0b9c8d7e-1111-4222-8333-444455556666"),
		chromedp.SetValue(`select[name=cloud]`, "custom"), chromedp.SendKeys(`input[name=authority_host]`, "http://login.example"),
		chromedp.SendKeys(`input[name=graph_base_url]`, "https://graph.example/v1.0"),
		chromedp.SendKeys(`input[name=secret]`, "a-secret-value-typed"),
		chromedp.Submit(`input[name=tenant_id]`), chromedp.WaitVisible(`.flash.err`))
	if got := text(t, u.ctx, ".flash.err"); !strings.Contains(got, "Authority host (authority_host) needs an https URL") {
		t.Errorf("connection error %q", got)
	}
	if got := value("input[name=tenant_id]") + "|" + value("input[name=authority_host]") + "|" + value("select[name=cloud]"); got != "contoso.onmicrosoft.com|http://login.example|custom" {
		t.Errorf("connection form after the error: %q", got)
	}
	if html, _ := chromedp.Run(u.ctx, chromedp.OuterHTML("html")); strings.Contains(html, "a-secret-value-typed") {
		t.Error("the secret was sent back to the page")
	}
	if u.app.provider.Name() != "builtin" {
		t.Error("a refused connection was switched to")
	}
}

// TestConfirmBeforeRevokeAndRemove: Revoke and Remove room first open a
// box that says what will happen; only its button acts, and a request
// without that confirmation changes nothing.
func TestConfirmBeforeRevokeAndRemove(t *testing.T) {
	u := newUIServer(t)
	id := u.devices["Rigi door"]
	revoked := func() bool { d, _ := u.app.db.Device(id); return d.Revoked }
	sel := "#device-" + id
	u.run(t, chromedp.Navigate(u.http.URL+"/devices"), chromedp.WaitVisible(sel),
		chromedp.Click(sel+" details.revoke summary"), chromedp.WaitVisible(sel+" details.revoke button"), shot("revoke-confirm"))
	if got := text(t, u.ctx, sel+" details.revoke p"); !strings.Contains(got, "Revoke Rigi door?") {
		t.Errorf("confirmation says %q", got)
	}
	if revoked() {
		t.Fatal("opening the confirmation revoked the panel")
	}
	// Posting the form without its confirm button (a stray submit).
	u.run(t, chromedp.Submit(sel+" details.revoke input[name=csrf]"), chromedp.WaitVisible(`.flash.err`))
	if revoked() {
		t.Fatal("a revoke without confirmation went through")
	}
	u.run(t, chromedp.Click(sel+" details.revoke summary"), chromedp.WaitVisible(sel+" details.revoke button"),
		chromedp.Click(sel+" details.revoke button"), chromedp.WaitVisible(`.flash.ok`))
	if !revoked() {
		t.Error("the confirmed revoke did not revoke the panel")
	}

	gone := func() bool { _, err := u.app.db.Room("saentis"); return err != nil }
	u.run(t, chromedp.Navigate(u.http.URL+"/rooms/saentis"), chromedp.WaitVisible(`#remove-room`),
		chromedp.Submit(`#remove-room input[name=csrf]`), chromedp.WaitVisible(`.flash.err`))
	if gone() {
		t.Fatal("a room was removed without confirmation")
	}
	u.run(t, chromedp.Click(`#remove-room summary`), chromedp.WaitVisible(`#remove-room button`), shot("remove-confirm"))
	if got := text(t, u.ctx, "#remove-room p"); !strings.Contains(got, "This cannot be undone") {
		t.Errorf("confirmation says %q", got)
	}
	u.run(t, chromedp.Click(`#remove-room button`), chromedp.WaitVisible(`.flash.ok`))
	if !gone() {
		t.Error("the confirmed removal did not remove the room")
	}
}

// visible reports whether the element selected is displayed.
func visible(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	return eval[bool](t, ctx, `(() => { const e = document.querySelector(`+strconv.Quote(sel)+`); return !!e && e.getClientRects().length > 0; })()`)
}

// TestConnectorFormInTheBrowser: the connection form shows the Microsoft
// 365 fields only for Microsoft 365, the custom endpoints only for a
// custom cloud and the fields of the chosen credential only; a
// certificate uploaded there is checked, kept 0600 in the data directory
// and signs in (the emulator checks the assertion), and a file that is
// not a certificate is refused with nothing changed.
func TestConnectorFormInTheBrowser(t *testing.T) {
	ts := newTestServerWith(t, func(c *config) { c.M365Sim = true })
	if err := admin.CreateAdmin(ts.app.db, testAdmin, testPassword, ts.now()); err != nil {
		t.Fatal(err)
	}
	u := &uiServer{testServer: ts, ctx: browser(t)}
	u.login(t)

	u.look(t, "connector-m365", "/connector", `#connector`)
	u.run(t, chromedp.Navigate(u.http.URL+"/connector"), chromedp.WaitVisible(`#connector`))
	if !visible(t, u.ctx, "#m365") || visible(t, u.ctx, ".builtin-only") || !visible(t, u.ctx, "input[name=authority_host]") {
		t.Error("Microsoft 365 with a custom cloud: its fields are not all shown")
	}
	u.run(t, chromedp.Click(`input[name=kind][value=builtin]`), shot("connector-builtin"))
	if visible(t, u.ctx, "#m365") || visible(t, u.ctx, "input[name=tenant_id]") || !visible(t, u.ctx, ".builtin-only") {
		t.Error("the built-in calendar chosen: the Microsoft 365 fields still show")
	}
	u.run(t, chromedp.Click(`input[name=kind][value=m365]`), chromedp.SetValue(`select[name=cloud]`, "global"))
	if visible(t, u.ctx, "input[name=authority_host]") {
		t.Error("the global cloud: the custom endpoints show")
	}
	u.run(t, chromedp.SetValue(`select[name=cloud]`, "custom"), chromedp.Click(`input[name=auth][value=certificate]`))
	if !visible(t, u.ctx, "input[name=certificate]") || visible(t, u.ctx, "input[name=secret]") {
		t.Error("certificate chosen: want the upload, not the secret")
	}
	u.run(t, chromedp.Click(`input[name=auth][value=secret]`))
	if visible(t, u.ctx, "input[name=certificate]") || !visible(t, u.ctx, "input[name=secret]") {
		t.Error("secret chosen: want the secret, not the upload")
	}

	// The emulator's app accepts this certificate.
	pemFile, _ := filepath.Abs(filepath.Join("calendar", "graph", "testdata", "lintel-test.pem"))
	data := []byte(readFile(t, pemFile))
	block, _ := pem.Decode(data)
	for block != nil && block.Type != "CERTIFICATE" {
		block, _ = pem.Decode(data[len(data)-len(block.Bytes):])
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ts.app.graphSim().AddApp(graphtest.App{ClientID: graphtest.DemoClientID, Certificate: cert})

	junk := filepath.Join(t.TempDir(), "junk.pem")
	writeTestFile(t, junk, "-----BEGIN NOTHING-----\nnot a certificate\n-----END NOTHING-----\n")
	u.run(t, chromedp.Navigate(u.http.URL+"/connector"), chromedp.WaitVisible(`#connector`),
		chromedp.Click(`input[name=auth][value=certificate]`), chromedp.SetUploadFiles(`input[name=certificate]`, []string{junk}),
		chromedp.Submit(`input[name=tenant_id]`), chromedp.WaitVisible(`.flash.err`))
	if got := text(t, u.ctx, ".flash.err"); !strings.Contains(got, "not a PEM file with the certificate and its private key") {
		t.Errorf("junk upload: %q", got)
	}
	if _, err := os.Stat(filepath.Join(ts.dir, "graph-certificate")); err == nil {
		t.Error("a refused upload was saved")
	}

	u.run(t, chromedp.Click(`input[name=auth][value=certificate]`), chromedp.SetUploadFiles(`input[name=certificate]`, []string{pemFile}),
		chromedp.Submit(`input[name=tenant_id]`), chromedp.WaitVisible(`.flash.ok`), shot("connector-certificate-saved"))
	saved := filepath.Join(ts.dir, "graph-certificate")
	fi, err := os.Stat(saved)
	if err != nil || fi.Mode().Perm() != 0o600 || readFile(t, saved) != string(data) {
		t.Fatalf("the uploaded certificate: %v %v, want it kept 0600 as uploaded", fi, err)
	}
	if set := ts.app.connector.Settings(); set.Auth != "certificate" || set.CertFile != saved {
		t.Errorf("settings after the upload: auth %q, file %q", set.Auth, set.CertFile)
	}
	var rep connector.Report
	ts.api("GET", "/api/v1/test", nil, &rep)
	if len(rep.Tenant) == 0 || rep.Tenant[0].Name != "sign-in" || rep.Tenant[0].Level != "ok" {
		t.Errorf("sign-in with the uploaded certificate: %+v", rep.Tenant)
	}
	if html, _ := chromedp.Run(u.ctx, chromedp.OuterHTML("html")); strings.Contains(html, "PRIVATE KEY") {
		t.Error("a page shows the private key")
	}
}
