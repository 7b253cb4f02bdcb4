package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"periph.io/x/conn/v3/gpio"

	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/store"
)

const (
	testAdmin    = "facilities"
	testPassword = "correct horse battery staple"
)

// browser starts headless Chromium from Debian's package. Without it the
// test is skipped locally and fails in CI, where make test installs it.
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed; make test installs it (deploy/dev/test-deps.sh)")
		}
		t.Skip("chromium is not installed; run make test-deps")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1100, 900),
	}
	opts = append(opts, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	return ctx
}

// shot saves a full-page screenshot to $LINTEL_SCREENSHOTS when set, for
// a person to look at.
func shot(name string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		dir := os.Getenv("LINTEL_SCREENSHOTS")
		if dir == "" {
			return chromedp.Void{}, nil
		}
		png, err := chromedp.FullScreenshot(100)(ctx, tg)
		if err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.Void{}, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
}

// text reads the text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// TestAdminPairsAndRevokesInTheBrowser: log in, a real panel shows a code,
// the admin approves it in the browser, the panel comes online and shows
// its room, the admin revokes it, the panel returns to pairing.
func TestAdminPairsAndRevokesInTheBrowser(t *testing.T) {
	ctx := browser(t)
	ts := newTestServer(t)
	if err := admin.CreateAdmin(ts.app.db, testAdmin, testPassword, ts.now()); err != nil {
		t.Fatal(err)
	}
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich", Booking: store.BookingSettings{Instant: true}})
	ts.addRoom(store.Room{ID: "pilatus", Name: "Pilatus", TimeZone: "Europe/Zurich"})

	p := startPanel(t, ts, "")
	var code string
	waitFor(t, "the panel to show a pairing code", func() bool {
		pending := ts.app.pairer.Pending(context.Background())
		if len(pending) == 1 {
			code = pending[0].Code
		}
		return code != ""
	})
	if g, r := p.pins(); g != gpio.Low || r != gpio.Low {
		t.Errorf("an unpaired panel's LEDs are on: %v %v", g, r)
	}

	err := chromedp.Do(ctx,
		chromedp.Navigate(ts.http.URL+"/rooms"),
		chromedp.WaitVisible(`input[name=username]`),
		shot("login"),
		chromedp.SendKeys(`input[name=username]`, testAdmin),
		chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Submit(`input[name=password]`),
		chromedp.WaitVisible(`#test-all`),
		chromedp.Click(`#test-all`),
		chromedp.WaitVisible(`.flash`),
		shot("rooms"),
	)
	if err != nil {
		t.Fatal(err)
	}
	roomsText := text(t, ctx, `main`)
	err = chromedp.Do(ctx,
		chromedp.Navigate(ts.http.URL+"/pair?code="+url.QueryEscape(code)),
		chromedp.WaitVisible(`select[name=room]`),
		chromedp.SetValue(`select[name=room]`, "rigi"),
		chromedp.SendKeys(`input[name=name]`, "Rigi door"),
		shot("pair"),
		chromedp.Submit(`input[name=name]`),
		chromedp.WaitVisible(`.flash.ok`),
	)
	if err != nil {
		t.Fatal(err)
	}
	flash := text(t, ctx, `.flash.ok`)
	if !strings.Contains(roomsText, "All 2 rooms passed") || !strings.Contains(roomsText, "Rigi") {
		t.Errorf("rooms page after test all: %q", roomsText)
	}
	if !strings.Contains(flash, "Rigi door now shows room rigi") {
		t.Errorf("pairing flash: %q", flash)
	}
	credFile := filepath.Join(p.dir, "credential")
	waitFor(t, "the panel to save its credential and show its room (green)", func() bool {
		fi, err := os.Stat(credFile)
		g, _ := p.pins()
		return err == nil && fi.Mode().Perm() == 0o600 && g == gpio.High && isGreen(p.statusColour())
	})

	err = chromedp.Do(ctx,
		chromedp.Navigate(ts.http.URL+"/devices"),
		chromedp.WaitVisible(`li.device.online`),
		shot("devices"),
	)
	if err != nil {
		t.Fatal(err)
	}
	devicesText := text(t, ctx, `ul.devices`)
	err = chromedp.Do(ctx,
		chromedp.Navigate(ts.http.URL+"/rooms/rigi"),
		chromedp.WaitVisible(`.preview img`),
		shot("room"),
		chromedp.Navigate(ts.http.URL+"/devices"),
		chromedp.WaitVisible(`li.device.online`),
		chromedp.Click(`li.device details.revoke summary`),
		chromedp.Click(`li.device form[action$="/revoke"] button`),
		chromedp.WaitVisible(`.flash.ok`),
	)
	if err != nil {
		t.Fatal(err)
	}
	flash = text(t, ctx, `.flash.ok`)
	if !strings.Contains(devicesText, "Rigi door") || !strings.Contains(devicesText, "online") {
		t.Errorf("devices page: %q", devicesText)
	}
	if !strings.Contains(flash, "revoked") {
		t.Errorf("revoke flash: %q", flash)
	}
	waitFor(t, "the revoked panel to return to pairing", func() bool {
		_, err := os.Stat(credFile)
		g, r := p.pins()
		return os.IsNotExist(err) && len(ts.app.pairer.Pending(context.Background())) == 1 && g == gpio.Low && r == gpio.Low
	})
	// The revoked panel stays listed, greyed, until it is deleted.
	err = chromedp.Do(ctx,
		chromedp.Navigate(ts.http.URL+"/devices"),
		chromedp.WaitVisible(`li.device.revoked`),
		shot("devices-revoked"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `li.device.revoked`); !strings.Contains(got, "Rigi door") || !strings.Contains(got, "revoked") {
		t.Errorf("revoked device: %q", got)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(`li.device.revoked form[action$="/delete"] button`),
		chromedp.WaitVisible(`.flash.ok`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `main`); !strings.Contains(got, "Rigi door was deleted") || !strings.Contains(got, "No panels yet") {
		t.Errorf("after delete: %q", got)
	}
}

// TestAPIRefusesWithoutRightsAndChangesNothing: no session, a wrong token,
// a session without its CSRF token, and another admin's CSRF token are
// refused with 401/403, and the store is unchanged.
func TestAPIRefusesWithoutRightsAndChangesNothing(t *testing.T) {
	ts := newTestServer(t)
	admin.CreateAdmin(ts.app.db, "a", testPassword, ts.now())
	admin.CreateAdmin(ts.app.db, "b", testPassword, ts.now())
	login := func(user string) (*http.Client, string) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		resp, err := c.PostForm(ts.http.URL+"/login", url.Values{"username": {user}, "password": {testPassword}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// The CSRF token is in every form of the UI.
		resp, err = c.Get(ts.http.URL + "/rooms")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 64<<10)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		_, after, ok := strings.Cut(b.String(), `name="csrf" value="`)
		if !ok {
			t.Fatalf("no CSRF token on the rooms page of %s", user)
		}
		token, _, _ := strings.Cut(after, `"`)
		return c, token
	}
	clientA, csrfA := login("a")
	_, csrfB := login("b")

	body := `{"id":"evil","name":"Evil","tz":"UTC"}`
	try := func(name string, c *http.Client, header map[string]string, want int) {
		t.Helper()
		req, _ := http.NewRequest("POST", ts.http.URL+"/api/v1/rooms", strings.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", name, resp.StatusCode, want)
		}
	}
	try("no session", http.DefaultClient, nil, http.StatusUnauthorized)
	try("wrong token", http.DefaultClient, map[string]string{"Authorization": "Bearer lintel_api_wrong"}, http.StatusUnauthorized)
	try("session without CSRF", clientA, nil, http.StatusForbidden)
	try("session with another admin's CSRF", clientA, map[string]string{"X-CSRF-Token": csrfB}, http.StatusForbidden)
	// A form post without the token is refused too.
	resp, _ := clientA.PostForm(ts.http.URL+"/rooms/new", url.Values{"id": {"evil"}, "name": {"Evil"}, "tz": {"UTC"}, "display": {"title"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("form without CSRF: %d", resp.StatusCode)
	}
	if _, err := ts.app.db.Room("evil"); err == nil {
		t.Fatal("a refused request created a room")
	}
	try("session with its CSRF", clientA, map[string]string{"X-CSRF-Token": csrfA}, http.StatusCreated)
}

func TestLoginRateLimit(t *testing.T) {
	ts := newTestServer(t)
	admin.CreateAdmin(ts.app.db, "a", testPassword, ts.now())
	codes := []int{}
	for range 6 {
		resp, err := http.PostForm(ts.http.URL+"/login", url.Values{"username": {"a"}, "password": {"wrong password!!"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != http.StatusUnauthorized || codes[5] != http.StatusTooManyRequests {
		t.Errorf("login codes %v: want 401 first and 429 after 5 failures", codes)
	}
	// Even the right password waits out the limit.
	resp, _ := http.PostForm(ts.http.URL+"/login", url.Values{"username": {"a"}, "password": {testPassword}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right password during the limit: %d", resp.StatusCode)
	}
}

// TestConnectorPageInTheBrowser: the connection page shows the Microsoft
// 365 settings without the secret, and switching to the built-in calendar
// takes effect at once and tests every room.
func TestConnectorPageInTheBrowser(t *testing.T) {
	ctx := browser(t)
	ts := newTestServerWith(t, func(c *config) { c.M365Sim = true })
	if err := admin.CreateAdmin(ts.app.db, testAdmin, testPassword, ts.now()); err != nil {
		t.Fatal(err)
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(ts.http.URL+"/login"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, testAdmin),
		chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Submit(`input[name=password]`),
		chromedp.WaitVisible(`#test-all`),
		chromedp.Click(`#test-all`),
		chromedp.WaitVisible(`ul.checks`),
		shot("rooms-m365"),
		chromedp.Navigate(ts.http.URL+"/connector"),
		chromedp.WaitVisible(`#connector`),
		shot("connector"),
	)
	if err != nil {
		t.Fatal(err)
	}
	html, err := chromedp.Run(ctx, chromedp.OuterHTML("html"))
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := os.ReadFile(filepath.Join(ts.dir, "m365-sim-secret"))
	if s := strings.TrimSpace(string(secret)); s == "" || strings.Contains(html, s) {
		t.Error("the connection page shows the client secret")
	}
	if !strings.Contains(html, ts.app.connector.Settings().TenantID) {
		t.Error("the connection page does not show the tenant")
	}
	err = chromedp.Do(ctx,
		chromedp.Click(`input[name=kind][value=builtin]`),
		chromedp.Submit(`input[name=tenant_id]`),
		chromedp.WaitVisible(`.flash.ok`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if name := ts.app.provider.Name(); name != "builtin" {
		t.Errorf("provider after switching: %s", name)
	}
}
