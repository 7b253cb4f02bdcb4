package main

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/lintelhq/lintel/server/fleet"
)

// TestFleetSettingsInTheBrowser: the admin sets the fleet default and a
// room's override in the browser; the room's page shows what it inherits,
// the fleet page lists the override; a bad value is shown back with the
// reason. The pages pass the desktop/phone checks (no sideways scroll,
// contrast), with screenshots in $LINTEL_SCREENSHOTS.
func TestFleetSettingsInTheBrowser(t *testing.T) {
	u := newUIServer(t)
	u.run(t, chromedp.Navigate(u.http.URL+"/fleet/settings"), chromedp.WaitVisible(`#panel-settings`),
		chromedp.SetValue(`select[name=locale]`, "de"), chromedp.SetValue(`select[name=hours]`, "24"),
		chromedp.SendKeys(`input[name=office_hours]`, "mon-fri 07:00-19:00"), chromedp.SetValue(`select[name=night]`, "dim"),
		chromedp.SendKeys(`input[name=book_minutes]`, "15, 30, 60"),
		chromedp.Click(`#save-settings`), chromedp.WaitVisible(`.flash.ok`))
	fleetLayer, err := u.app.settings.Layer(fleet.Scope{Kind: fleet.ScopeFleet})
	if err != nil || fleetLayer.Locale != "de" || fleetLayer.Hours != 24 || fleetLayer.Night != "dim" || len(fleetLayer.BookMinutes) != 3 {
		t.Fatalf("fleet layer after the form: %+v %v", fleetLayer, err)
	}

	// The room's page: the fleet's values as placeholders; an override.
	u.run(t, chromedp.Navigate(u.http.URL+"/rooms/rigi"), chromedp.Click(`a[href="/rooms/rigi/panel-settings"]`), chromedp.WaitVisible(`#panel-settings`))
	if ph := eval[string](t, u.ctx, `document.querySelector('input[name=office_hours]').placeholder`); ph != "mon-fri 07:00-19:00" {
		t.Errorf("the room's office hours placeholder is %q, want the fleet's", ph)
	}
	u.run(t, chromedp.SetValue(`select[name=locale]`, "fr"), chromedp.SendKeys(`input[name=brightness]`, "150"),
		chromedp.Click(`#save-settings`), chromedp.WaitVisible(`.flash.err`))
	if msg := text(t, u.ctx, ".flash.err"); !strings.Contains(msg, "brightness is 150") {
		t.Errorf("error for brightness 150: %q", msg)
	}
	u.run(t, chromedp.SetValue(`input[name=brightness]`, "60"), chromedp.Click(`#save-settings`), chromedp.WaitVisible(`.flash.ok`))
	room, _ := u.app.settings.Layer(fleet.Scope{Kind: fleet.ScopeRoom, ID: "rigi"})
	if room.Locale != "fr" || room.Brightness != 60 || room.Hours != 0 {
		t.Errorf("room layer %+v", room)
	}
	u.run(t, chromedp.Navigate(u.http.URL+"/fleet/settings"), chromedp.WaitVisible(`#overrides table`))
	if list := text(t, u.ctx, "#overrides"); !strings.Contains(list, "Rigi") || !strings.Contains(list, "language fr") {
		t.Errorf("overrides list: %q", list)
	}
	u.look(t, "fleet-settings", "/fleet/settings", `#panel-settings`)
	u.look(t, "room-panel-settings", "/rooms/rigi/panel-settings", `#panel-settings`)
	u.look(t, "device-panel-settings", "/devices/"+u.devices["Hudson door"]+"/panel-settings", `#panel-settings`)

	// Clearing the room's layer.
	u.run(t, chromedp.Navigate(u.http.URL+"/rooms/rigi/panel-settings"), chromedp.Click(`#clear-settings`), chromedp.WaitVisible(`.flash.ok`))
	if room, _ := u.app.settings.Layer(fleet.Scope{Kind: fleet.ScopeRoom, ID: "rigi"}); !room.IsZero() {
		t.Errorf("room layer after clearing: %+v", room)
	}
}

// TestFirmwarePageInTheBrowser: the firmware page lists builds and
// rollouts with each panel's progress and why a rollout halted; the
// admin starts a rollout from the form. Desktop and phone checks, with
// screenshots in $LINTEL_SCREENSHOTS.
func TestFirmwarePageInTheBrowser(t *testing.T) {
	u := newUIServer(t)
	for _, v := range []string{"1.3.0", "1.4.0"} {
		for _, arch := range []string{"linux/arm/v6", "linux/arm64"} {
			if _, err := u.app.firmware.Upload(v, arch, strings.NewReader("build "+v), make([]byte, 64), testAdmin); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := u.app.firmware.Start(context.Background(), fleet.RolloutRequest{Version: "1.3.0", Ring: fleet.RingAll}); err != nil {
		t.Fatal(err)
	}
	if err := u.app.firmware.Halt("1.3.0", "2 of 2 panels told to install 1.3.0 did not come back on it within 15m0s"); err != nil {
		t.Fatal(err)
	}
	u.run(t, chromedp.Navigate(u.http.URL+"/fleet/firmware"), chromedp.WaitVisible(`#rollout-form`),
		chromedp.SetValue(`select[name=version]`, "1.4.0"),
		chromedp.Click(`input[name=canary][value="`+u.devices["Hudson door"]+`"]`),
		chromedp.Click(`#start-rollout`), chromedp.WaitVisible(`#rollout-1\.4\.0`))
	if page := text(t, u.ctx, "main"); !strings.Contains(page, "Halted: 2 of 2 panels told to install 1.3.0 did not come back") ||
		!strings.Contains(page, "Hudson door") {
		t.Errorf("firmware page: %q", page)
	}
	u.look(t, "firmware", "/fleet/firmware", `#upload-form`)
}
