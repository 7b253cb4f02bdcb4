package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// getWith calls the API with a bearer token and returns the status.
func (ts *testServer) getWith(t *testing.T, token, path string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.http.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestTokensAndUsersInTheBrowser: an admin makes a read token on the API
// tokens page (shown once, works, not shown again), revokes it (refused
// from then on), adds a helpdesk user on the Users page; the helpdesk
// user then sees no settings, users, tokens or panel changes, is refused
// them by the server, and may identify a panel.
func TestTokensAndUsersInTheBrowser(t *testing.T) {
	u := newUIServer(t)
	u.run(t, chromedp.Navigate(u.http.URL+"/tokens"), chromedp.WaitVisible(`#create-token`),
		chromedp.SendKeys(`#create-token input[name=name]`, "occupancy board"),
		chromedp.SetValue(`#create-token select[name=scope]`, "read"),
		chromedp.SetValue(`#create-token select[name=expires]`, "30"),
		chromedp.Click(`#make-token`), chromedp.WaitVisible(`#new-token`), shot("tokens-new"))
	token, id := text(t, u.ctx, `#new-token-value`), text(t, u.ctx, `#new-token-id`)
	if !strings.HasPrefix(token, "lintel_api_") || len(id) != 16 {
		t.Fatalf("new token %q id %q", token, id)
	}
	if code := u.getWith(t, token, "/api/v1/rooms"); code != http.StatusOK {
		t.Errorf("the new read token: %d", code)
	}
	if code := u.getWith(t, token, "/api/v1/tokens"); code != http.StatusForbidden {
		t.Errorf("the new read token lists tokens: %d", code)
	}
	row := "#token-" + id
	u.run(t, chromedp.Navigate(u.http.URL+"/tokens"), chromedp.WaitVisible(row))
	if html, _ := chromedp.Run(u.ctx, chromedp.OuterHTML("html")); strings.Contains(html, token) {
		t.Error("the token is shown again")
	}
	if got := text(t, u.ctx, row); !strings.Contains(got, "occupancy board") || !strings.Contains(got, "read") || !strings.Contains(got, testAdmin) || !strings.Contains(got, "active") {
		t.Errorf("token row: %q", got)
	}
	u.run(t, chromedp.Click(row+" details.revoke summary"), chromedp.WaitVisible(row+" details.revoke button"),
		chromedp.Click(row+" details.revoke button"), chromedp.WaitVisible(`.flash.ok`), chromedp.WaitVisible(row), shot("tokens-revoked"))
	if got := text(t, u.ctx, row+" td.state"); got != "revoked" {
		t.Errorf("revoked token's state: %q", got)
	}
	if code := u.getWith(t, token, "/api/v1/rooms"); code != http.StatusUnauthorized {
		t.Errorf("the revoked token: %d", code)
	}

	// A helpdesk user, added in the browser.
	u.run(t, chromedp.Navigate(u.http.URL+"/users"), chromedp.WaitVisible(`#add-user`),
		chromedp.SendKeys(`#add-user input[name=username]`, "hal"),
		chromedp.SetValue(`#add-user select[name=role]`, "helpdesk"),
		chromedp.SendKeys(`#add-user input[name=password]`, testPassword),
		chromedp.Submit(`#add-user input[name=password]`), chromedp.WaitVisible(`.flash.ok`), chromedp.WaitVisible(`#user-hal`), shot("users"))
	if got := text(t, u.ctx, `#user-hal`); !strings.Contains(got, "helpdesk") {
		t.Errorf("hal's row: %q", got)
	}
	u.run(t, chromedp.Click(`form.logout button`), chromedp.WaitVisible(`form[action="/login"]`),
		chromedp.SendKeys(`form[action="/login"] input[name=username]`, "hal"), chromedp.SendKeys(`form[action="/login"] input[name=password]`, testPassword),
		chromedp.Submit(`form[action="/login"] input[name=password]`), chromedp.WaitVisible(`#room-rigi`), shot("rooms-helpdesk"))
	if nav := text(t, u.ctx, `nav`); strings.Contains(nav, "Connection") || strings.Contains(nav, "Users") || strings.Contains(nav, "API tokens") || strings.Contains(nav, "Pair") || !strings.Contains(nav, "Activity") {
		t.Errorf("helpdesk nav: %q", nav)
	}
	if who := text(t, u.ctx, `#who`); who != "hal (helpdesk)" {
		t.Errorf("header: %q", who)
	}
	hudson := "#device-" + u.devices["Hudson door"]
	u.run(t, chromedp.Navigate(u.http.URL+"/devices"), chromedp.WaitVisible(hudson), shot("devices-helpdesk"))
	for _, sel := range []string{hudson + " details.revoke", hudson + ` form[action$="/move"]`, hudson + ` form[action$="/rename"]`} {
		if visible(t, u.ctx, sel) {
			t.Errorf("helpdesk sees %s", sel)
		}
	}
	u.run(t, chromedp.Click(hudson+` form[action$="/identify"] button`), chromedp.WaitVisible(`.flash.ok`))
	if got := text(t, u.ctx, `.flash.ok`); !strings.Contains(got, "blink") {
		t.Errorf("identify as helpdesk: %q", got)
	}
	u.run(t, chromedp.Navigate(u.http.URL+"/rooms/rigi"), chromedp.WaitVisible(`#read-only`))
	if visible(t, u.ctx, `#remove-room`) || visible(t, u.ctx, `#room-form button.primary`) {
		t.Error("helpdesk may save or remove a room")
	}
	for _, path := range []string{"/connector", "/tokens", "/users", "/alerts"} {
		u.run(t, chromedp.Navigate(u.http.URL+path), chromedp.WaitVisible(`.flash.err`))
		if msg := text(t, u.ctx, `.flash.err`); !strings.Contains(msg, "This page is for admins") {
			t.Errorf("helpdesk on %s: %q", path, msg)
		}
	}
	// Hal's own password, on the account page.
	u.run(t, chromedp.Navigate(u.http.URL+"/account"), chromedp.WaitVisible(`#change-password`), shot("account"),
		chromedp.SendKeys(`#change-password input[name=current]`, testPassword),
		chromedp.SendKeys(`#change-password input[name=password]`, "hal's new long password"),
		chromedp.SendKeys(`#change-password input[name=again]`, "hal's new long password"),
		chromedp.Submit(`#change-password input[name=again]`), chromedp.WaitVisible(`.flash.ok`))
	if !strings.Contains(text(t, u.ctx, `.flash.ok`), "Password changed") {
		t.Errorf("password change: %q", text(t, u.ctx, `.flash.ok`))
	}
	u.run(t, chromedp.Navigate(u.http.URL+"/rooms"), chromedp.WaitVisible(`#room-rigi`)) // still logged in here
}
