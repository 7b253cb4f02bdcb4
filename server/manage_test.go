package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/panel/led"
	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/store"
)

// adminSession logs in over HTTP and returns the client and its CSRF token.
func adminSession(t *testing.T, ts *testServer) (*http.Client, string) {
	t.Helper()
	if err := admin.CreateAdmin(ts.app.db, "ops", testPassword, ts.now()); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(ts.http.URL+"/login", url.Values{"username": {"ops"}, "password": {testPassword}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, after, ok := strings.Cut(string(body), `name="csrf" value="`)
	if !ok {
		t.Fatal("no CSRF token after logging in")
	}
	token, _, _ := strings.Cut(after, `"`)
	return c, token
}

// TestAdminManagesAPanel: move a panel to another room (it switches at
// once), identify it (its LEDs blink), take its screenshot (exactly its
// frame), and see a problem reported at the door in the activity log.
func TestAdminManagesAPanel(t *testing.T) {
	ts := newTestServer(t)
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich"})
	ts.addRoom(store.Room{ID: "pilatus", Name: "Pilatus", TimeZone: "Europe/Zurich"})
	now := ts.now().UTC()
	ts.api("POST", "/api/v1/rooms/pilatus/events", map[string]any{"subject": "Busy", "start": now.Add(-time.Minute), "end": now.Add(time.Hour)}, nil)
	p := startPanel(t, ts, ts.addDevice("rigi"))
	waitFor(t, "rigi (free)", func() bool { return isGreen(p.statusColour()) })
	devs, _ := ts.app.db.Devices()
	id := devs[0].ID
	client, csrf := adminSession(t, ts)
	post := func(path string, form url.Values) {
		t.Helper()
		form.Set("csrf", csrf)
		resp, err := client.PostForm(ts.http.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK { // after the redirect
			t.Fatalf("POST %s: %d", path, resp.StatusCode)
		}
	}

	post("/devices/"+id+"/move", url.Values{"room": {"pilatus"}})
	waitFor(t, "the panel to show pilatus (busy) at once", func() bool { return isRed(p.statusColour()) })
	if d, _ := ts.app.db.Device(id); d.Room != "pilatus" {
		t.Errorf("device room %s after the move", d.Room)
	}

	post("/devices/"+id+"/identify", url.Values{})
	waitFor(t, "the LEDs to identify", func() bool { return p.leds.Signal() == led.Identify })
	alternated := false
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end) && !alternated; time.Sleep(5 * time.Millisecond) {
		g, r := p.pins()
		alternated = g != r
	}
	if !alternated {
		t.Error("identify did not blink the LEDs")
	}

	resp, err := client.Get(ts.http.URL + "/devices/" + id + "/screenshot.png")
	if err != nil {
		t.Fatal(err)
	}
	shotPNG, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	img, err := png.Decode(bytes.NewReader(shotPNG))
	if err != nil {
		t.Fatalf("screenshot: %v (%d %s)", err, resp.StatusCode, shotPNG[:min(len(shotPNG), 80)])
	}
	if img.Bounds().Dx() != 800 || img.Bounds().Dy() != 480 {
		t.Errorf("screenshot size %v", img.Bounds())
	}
	if r, g, b, _ := img.At(10, 240).RGBA(); !(r>>8 > 150 && g>>8 < 80 && b>>8 < 80) {
		t.Errorf("the screenshot is not the panel's busy frame")
	}

	// Report a problem at the door: two taps.
	for _, action := range []string{"menu:problem", "problem:projector"} {
		waitFor(t, "the "+action+" button", func() bool {
			_, targets := p.app.Frame()
			for _, tg := range targets {
				if tg.Action == action {
					c := tg.Rect.Min.Add(tg.Rect.Size().Div(2))
					p.app.Input(t.Context(), inputTap(c.X, c.Y))
					return true
				}
			}
			return false
		})
	}
	waitFor(t, "the problem in the activity log", func() bool {
		resp, err := client.Get(ts.http.URL + "/activity")
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.Contains(string(body), "Projector or screen broken")
	})
}

// TestPairWithTheCLI: 'devices pending' lists the code a real panel shows,
// 'devices approve' pairs it, and a wrong or used code says so.
func TestPairWithTheCLI(t *testing.T) {
	ts := newTestServer(t)
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich"})
	p := startPanel(t, ts, "")
	var code string
	waitFor(t, "a pairing code", func() bool {
		if pend := ts.app.pairer.Pending(context.Background()); len(pend) == 1 {
			code = pend[0].Code
		}
		return code != ""
	})
	out, err := ts.cli("devices", "pending")
	if err != nil || !strings.Contains(out, code) {
		t.Fatalf("devices pending: %v\n%s", err, out)
	}
	if out, err := ts.cli("devices", "approve", "ZZZZ-ZZZZ", "--room", "rigi"); err == nil || !strings.Contains(err.Error(), "no panel shows this pairing code") {
		t.Errorf("wrong code: %v\n%s", err, out)
	}
	if out, err := ts.cli("devices", "approve", strings.ToLower(code), "--room", "rigi", "--name", "Rigi door"); err != nil || !strings.Contains(out, "Rigi door") {
		t.Fatalf("approve: %v\n%s", err, out)
	}
	if out, err := ts.cli("devices", "approve", code, "--room", "rigi"); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Errorf("used code: %v\n%s", err, out)
	}
	waitFor(t, "the paired panel to show its room", func() bool { return isGreen(p.statusColour()) })
}

// TestRoomsCLI: rooms add and rooms set go through the API; set changes
// only the flags given; flag errors name the flag; remove asks for --yes.
func TestRoomsCLI(t *testing.T) {
	ts := newTestServer(t)
	out, err := ts.cli("rooms", "add", "jungfrau", "--name", "Jungfrau", "--tz", "Europe/Zurich", "--instant", "--check-in", "--checkin-after", "15", "--display", "organizer")
	if err != nil {
		t.Fatalf("rooms add: %v\n%s", err, out)
	}
	r, err := ts.app.db.Room("jungfrau")
	if err != nil || r.Name != "Jungfrau" || r.Calendar != "jungfrau" || r.Display != store.DisplayOrganizer ||
		!r.Booking.Instant || !r.Booking.CheckIn || r.Booking.CheckInAfter != 15 || r.Booking.Teams {
		t.Fatalf("added room %+v, %v", r, err)
	}
	if out, err := ts.cli("rooms", "set", "jungfrau", "--instant=false", "--teams", "--step", "30", "--name", "Jungfrau (3rd floor)", "--lang", "de-CH", "--hours", "24"); err != nil {
		t.Fatalf("rooms set: %v\n%s", err, out)
	}
	r, _ = ts.app.db.Room("jungfrau")
	if r.Name != "Jungfrau (3rd floor)" || r.Booking.Instant || !r.Booking.Teams || r.Booking.StepMinutes != 30 ||
		!r.Booking.CheckIn || r.Booking.CheckInAfter != 15 || r.Display != store.DisplayOrganizer || r.TimeZone != "Europe/Zurich" ||
		r.Language != "de" || r.Hours != 24 {
		t.Errorf("after rooms set: %+v (flags not given must stay)", r)
	}
	if out, _ := ts.cli("rooms", "list"); !strings.Contains(out, "Jungfrau (3rd floor)") {
		t.Errorf("rooms list: %s", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rooms", "add", "eiger", "--name", "Eiger", "--tz", "Mars/Base"}, `--tz "Mars/Base" is not an IANA time zone, e.g. Europe/Zurich`},
		{[]string{"rooms", "add", "eiger", "--tz", "UTC"}, "--name is required"},
		{[]string{"rooms", "add", "eiger", "--name", "Eiger"}, "--tz is required"},
		{[]string{"rooms", "add", "eiger", "--name", "Eiger", "--tz", "UTC", "--display", "everything"}, `--display "everything" is not one of title, organizer, reserved`},
		{[]string{"rooms", "set", "jungfrau", "--checkin-before", "90"}, "--checkin-before must be 0 to 60 minutes, not 90"},
		{[]string{"rooms", "add", "jungfrau", "--name", "Again", "--tz", "UTC"}, `room "jungfrau" exists already`},
		{[]string{"rooms", "set", "nosuch", "--teams"}, "not found"},
		{[]string{"rooms", "set", "jungfrau", "--hours", "13"}, "--hours must be 12 or 24"},
		{[]string{"rooms", "set", "jungfrau", "--lang", "pt"}, "not one the panels speak"},
		{[]string{"rooms", "remove", "jungfrau"}, "add --yes"},
	} {
		out, err := ts.cli(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q\n%s", tc.args, err, tc.want, out)
		}
	}
	if _, err := ts.app.db.Room("eiger"); err == nil {
		t.Error("a refused rooms add created the room")
	}
	if out, err := ts.cli("rooms", "remove", "jungfrau", "--yes"); err != nil {
		t.Fatalf("rooms remove: %v\n%s", err, out)
	}
	if _, err := ts.app.db.Room("jungfrau"); err == nil {
		t.Error("rooms remove --yes did not remove the room")
	}
}

// TestActivityAPIPages: GET /api/v1/activity gives 200 entries, newest
// first, and a Link header to the older ones, until there are none.
func TestActivityAPIPages(t *testing.T) {
	ts := newTestServer(t)
	now := ts.now().UTC()
	for i := range 250 {
		o := store.Outcome{Device: "pnl-a", ID: fmt.Sprintf("r%03d", i), Room: "rigi", Action: "book", At: now.Add(-time.Duration(i) * time.Minute), Result: []byte(`{"ok":true}`)}
		if err := ts.app.db.PutOutcome(o); err != nil {
			t.Fatal(err)
		}
	}
	var all []store.Outcome
	next := "/api/v1/activity"
	for pages := 0; next != "" && pages < 5; pages++ {
		req, _ := http.NewRequest("GET", ts.http.URL+next, nil)
		req.Header.Set("Authorization", "Bearer "+ts.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page []store.Outcome
		json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", next, resp.StatusCode)
		}
		all = append(all, page...)
		next = ""
		if m := regexp.MustCompile(`^<([^>]+)>; rel="next"$`).FindStringSubmatch(resp.Header.Get("Link")); m != nil {
			next = m[1]
		}
	}
	if len(all) != 250 || all[0].ID != "r000" || all[249].ID != "r249" {
		t.Errorf("%d entries over the pages, first %s", len(all), all[0].ID)
	}
}
