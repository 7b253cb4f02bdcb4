package screen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the test must not depend on the machine's zoneinfo
)

func TestOfficeHoursDecide(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	hours := OfficeHours{
		Days:     Weekdays(7*time.Hour, 19*time.Hour),
		Location: berlin,
	}
	dimming := hours
	dimming.DimAfter = 10 * time.Minute
	nightDim := hours
	nightDim.Outside = PowerDim
	nightDim.WakeFor = 5 * time.Minute

	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	never := time.Time{}
	// 2026-03-02 is a Monday; 2026-03-07 a Saturday. 2026-03-29 is the day
	// Berlin moves to summer time.
	tests := []struct {
		name      string
		hours     OfficeHours
		now       string
		lastTouch time.Time
		want      Power
	}{
		{"monday morning", hours, "2026-03-02 09:00", never, PowerOn},
		{"at opening", hours, "2026-03-02 07:00", never, PowerOn},
		{"just before opening", hours, "2026-03-02 06:59", never, PowerOff},
		{"at closing", hours, "2026-03-02 19:00", never, PowerOff},
		{"saturday", hours, "2026-03-07 12:00", never, PowerOff},
		{"night, touched 30s ago", hours, "2026-03-02 23:00", at("2026-03-02 22:59").Add(30 * time.Second), PowerOn},
		{"night, touched 2 min ago", hours, "2026-03-02 23:00", at("2026-03-02 22:58"), PowerOff},
		{"night, touch in the future (clock jump)", hours, "2026-03-02 23:00", at("2026-03-03 01:00"), PowerOff},
		{"office hours, idle, dimming on", dimming, "2026-03-02 10:00", at("2026-03-02 09:45"), PowerDim},
		{"office hours, recent touch, dimming on", dimming, "2026-03-02 10:00", at("2026-03-02 09:55"), PowerOn},
		{"office hours, never touched, dimming on", dimming, "2026-03-02 10:00", never, PowerDim},
		{"night dim instead of off", nightDim, "2026-03-07 03:00", never, PowerDim},
		{"night dim, touched", nightDim, "2026-03-07 03:00", at("2026-03-07 02:56"), PowerOn},
		{"sunday of the clock change", hours, "2026-03-29 12:00", never, PowerOff}, // a Sunday
		{"monday after clock change", hours, "2026-03-30 07:30", never, PowerOn},
		// The same instant seen from UTC must not change the answer.
		{"instant given in UTC", hours, "2026-03-02 07:30", never, PowerOn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := at(tt.now)
			if strings.Contains(tt.name, "UTC") {
				now = now.UTC()
			}
			if got := tt.hours.Decide(now, tt.lastTouch); got != tt.want {
				t.Errorf("Decide(%s) = %s, want %s", tt.now, got, tt.want)
			}
		})
	}
}

func TestOfficeHoursDefaultZoneIsUTC(t *testing.T) {
	h := OfficeHours{Days: Weekdays(9*time.Hour, 17*time.Hour)}
	// 08:30 UTC on a Monday is 09:30 in Berlin, but the zone defaults to UTC.
	now := time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC)
	if h.Open(now) {
		t.Error("open at 08:30 UTC with 09:00-17:00 UTC hours")
	}
}

func TestOfficeHoursValidate(t *testing.T) {
	tests := []struct {
		h  Hours
		ok bool
	}{
		{Hours{}, true},
		{Hours{8 * time.Hour, 18 * time.Hour}, true},
		{Hours{0, 24 * time.Hour}, true},
		{Hours{18 * time.Hour, 8 * time.Hour}, false},
		{Hours{8 * time.Hour, 25 * time.Hour}, false},
		{Hours{-time.Hour, 8 * time.Hour}, false},
	}
	for _, tt := range tests {
		var o OfficeHours
		o.Days[time.Tuesday] = tt.h
		if err := o.Validate(); (err == nil) != tt.ok {
			t.Errorf("Validate(%v) = %v, want ok=%v", tt.h, err, tt.ok)
		}
	}
}

// fakeBacklight makes a sysfs backlight directory.
func fakeBacklight(t *testing.T, max string, blPower bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "10-0045")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"max_brightness": max + "\n", "brightness": max + "\n"}
	if blPower {
		files["bl_power"] = "0\n"
	}
	for name, v := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readAttr(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestBacklight(t *testing.T) {
	tests := []struct {
		name       string
		max        string
		blPower    bool
		opts       BacklightOpts
		power      Power
		brightness string
		blPowerVal string
	}{
		{"on", "255", true, BacklightOpts{}, PowerOn, "255", "0"},
		{"dim default 20%", "255", true, BacklightOpts{}, PowerDim, "51", "0"},
		{"dim 50%", "100", true, BacklightOpts{DimPercent: 50}, PowerDim, "50", "0"},
		{"dim never reaches 0", "1", true, BacklightOpts{}, PowerDim, "1", "0"},
		{"off powers down, keeps brightness", "255", true, BacklightOpts{}, PowerOff, "255", "4"},
		{"off without bl_power", "255", false, BacklightOpts{}, PowerOff, "0", ""},
		{"on at 80%", "200", true, BacklightOpts{OnPercent: 80}, PowerOn, "160", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := fakeBacklight(t, tt.max, tt.blPower)
			if tt.blPower {
				// Start blanked so that turning on must unblank.
				os.WriteFile(filepath.Join(dir, "bl_power"), []byte("4\n"), 0o644)
			}
			b, err := NewBacklight(dir, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Set(tt.power); err != nil {
				t.Fatal(err)
			}
			if got := readAttr(t, dir, "brightness"); got != tt.brightness {
				t.Errorf("brightness = %s, want %s", got, tt.brightness)
			}
			if tt.blPower {
				if got := readAttr(t, dir, "bl_power"); got != tt.blPowerVal {
					t.Errorf("bl_power = %s, want %s", got, tt.blPowerVal)
				}
			}
		})
	}
}

func TestBacklightWritesOnlyChanges(t *testing.T) {
	dir := fakeBacklight(t, "255", true)
	b, err := NewBacklight(dir, BacklightOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Set(PowerDim); err != nil {
		t.Fatal(err)
	}
	// Someone else changes the brightness; setting the same power again
	// must not write (the panel calls Set on every clock tick).
	os.WriteFile(filepath.Join(dir, "brightness"), []byte("7\n"), 0o644)
	if err := b.Set(PowerDim); err != nil {
		t.Fatal(err)
	}
	if got := readAttr(t, dir, "brightness"); got != "7" {
		t.Errorf("repeated Set wrote brightness %s", got)
	}
	if err := b.Set(PowerOn); err != nil {
		t.Fatal(err)
	}
	if got := readAttr(t, dir, "brightness"); got != "255" {
		t.Errorf("brightness after On = %s, want 255", got)
	}
}

func TestBacklightErrors(t *testing.T) {
	if _, err := NewBacklight(t.TempDir(), BacklightOpts{}); err == nil || !strings.HasPrefix(err.Error(), "screen: backlight") {
		t.Errorf("missing max_brightness: err = %v", err)
	}
	dir := fakeBacklight(t, "zero", true)
	if _, err := NewBacklight(dir, BacklightOpts{}); err == nil || !strings.Contains(err.Error(), "not a positive number") {
		t.Errorf("bad max_brightness: err = %v", err)
	}
	dir = fakeBacklight(t, "255", true)
	b, err := NewBacklight(dir, BacklightOpts{})
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)
	if err := b.Set(PowerOn); err == nil || !strings.Contains(err.Error(), "set on") {
		t.Errorf("write to a vanished device: err = %v", err)
	}
}

func TestFindBacklight(t *testing.T) {
	dir := fakeBacklight(t, "255", true)
	got, err := FindBacklight(filepath.Dir(dir))
	if err != nil || got != dir {
		t.Errorf("FindBacklight = %q, %v; want %q", got, err, dir)
	}
	if _, err := FindBacklight(t.TempDir()); err == nil {
		t.Error("FindBacklight found one in an empty directory")
	}
}
