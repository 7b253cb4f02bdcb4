package app

import (
	"image"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/display/displaytest"

	"github.com/lintelhq/lintel/panel/screen"
	"github.com/lintelhq/lintel/proto"
)

type fakeBacklight struct {
	power   []screen.Power
	on, dim int
}

func (f *fakeBacklight) Set(p screen.Power) error {
	if len(f.power) == 0 || f.power[len(f.power)-1] != p {
		f.power = append(f.power, p)
	}
	return nil
}
func (f *fakeBacklight) SetLevels(on, dim int) { f.on, f.dim = on, dim }

type dimmableLEDs struct {
	fakeLEDs
	night         bool
	day, nightPct int
}

func (d *dimmableLEDs) SetNight(n bool) error { d.night = n; return nil }
func (d *dimmableLEDs) SetLevels(day, night int) error {
	d.day, d.nightPct = day, night
	return nil
}

// TestSettingsApplyAtOnce: the server's settings change the words, the
// clock, the booking menu, the offline grace, the backlight's schedule
// and levels and the LEDs' levels without a restart; without them the
// configuration's values hold.
func TestSettingsApplyAtOnce(t *testing.T) {
	now := t0 // Tuesday 10:02 in Zurich
	leds, bl := &dimmableLEDs{}, &fakeBacklight{}
	a, err := New(Opts{Link: &fakeLink{}, LEDs: leds, Backlight: bl, OfficeHours: "mon-fri 07:00-19:00",
		Screen: &displaytest.Drawer{Img: image.NewNRGBA(image.Rect(0, 0, 800, 480))}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	a.OnState(state(proto.Features{Book: true}), true)
	a.OnConnected()
	a.do(t.Context(), "menu:book")
	before := strings.Join(actions(a), " ")
	if strings.Count(before, "book:until:") != 3 || a.langNow().Tag != "en" {
		t.Fatalf("before the settings: %s (%s)", before, a.langNow().Tag)
	}
	if len(bl.power) != 1 || bl.power[0] != screen.PowerOn || leds.night {
		t.Errorf("in office hours: backlight %v, LEDs night %v", bl.power, leds.night)
	}

	a.OnSettings(&proto.Settings{Locale: "de", Hours: 24, BookMinutes: []int{45}, OfficeHours: "mon-fri 11:00-12:00", Night: proto.NightDim,
		Brightness: 70, DimBrightness: 5, LEDBrightness: 40, LEDNightBrightness: 3, OfflineGraceSeconds: 600})
	after := strings.Join(actions(a), " ")
	a.mu.Lock()
	h12 := a.hour12Locked()
	a.mu.Unlock()
	if strings.Count(after, "book:until:") != 1 || a.langNow().Tag != "de" || h12 {
		t.Errorf("after the settings: %s (%s)", after, a.langNow().Tag)
	}
	if bl.on != 70 || bl.dim != 5 || leds.day != 40 || leds.nightPct != 3 {
		t.Errorf("levels: backlight %d/%d, LEDs %d/%d", bl.on, bl.dim, leds.day, leds.nightPct)
	}
	if last := bl.power[len(bl.power)-1]; last != screen.PowerDim || !leds.night {
		t.Errorf("outside the server's office hours: backlight %v, LEDs night %v", bl.power, leds.night)
	}
	// Offline for five minutes: within the server's ten-minute grace.
	a.OnDisconnected()
	now = now.Add(5 * time.Minute)
	a.mu.Lock()
	in, _, _ := a.inputLocked()
	a.mu.Unlock()
	if in.Offline {
		t.Error("offline after 5 minutes with a 10 minute grace")
	}

	// Settings withdrawn: back to the configuration's.
	a.OnSettings(nil)
	a.mu.Lock()
	in, _, _ = a.inputLocked()
	a.mu.Unlock()
	if a.langNow().Tag != "en" || !in.Offline {
		t.Errorf("without settings: %s, offline %v", a.langNow().Tag, in.Offline)
	}
}
