package proto

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSettingsOver(t *testing.T) {
	fleet := Settings{Locale: "en", Hours: 24, Brightness: 90, BookMinutes: []int{15, 30, 60}, OfflineGraceSeconds: 60}
	room := Settings{Locale: "de", OfficeHours: "mon-fri 07:00-19:00"}
	panel := Settings{Brightness: 40, BookMinutes: []int{10, 20}}
	got := panel.Over(room.Over(fleet))
	want := Settings{Locale: "de", Hours: 24, OfficeHours: "mon-fri 07:00-19:00", Brightness: 40, BookMinutes: []int{10, 20}, OfflineGraceSeconds: 60}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stacked settings\n got %+v\nwant %+v", got, want)
	}
	if !(Settings{}).IsZero() || want.IsZero() {
		t.Error("IsZero is wrong")
	}
	// The result does not share the base's slice.
	got = Settings{}.Over(fleet)
	got.BookMinutes[0] = 99
	if fleet.BookMinutes[0] != 15 {
		t.Error("Over shares the base's booking choices")
	}
}

func TestSettingsValidate(t *testing.T) {
	good := []Settings{
		{},
		{Locale: "fr_FR", Hours: 12, OfficeHours: OfficeAlways, Night: NightOff, Brightness: 100, BookMinutes: []int{5, 120}, OfflineGraceSeconds: 10},
		{OfficeHours: "mon-fri 07:00-19:00, sat 08:00-12:00"},
	}
	for _, s := range good {
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	bad := []struct {
		s    Settings
		want string
	}{
		{Settings{Locale: "<script>"}, "locale"},
		{Settings{Hours: 13}, "hours"},
		{Settings{OfficeHours: "weekdays 9-5"}, "days are"},
		{Settings{OfficeHours: "mon 19:00-07:00"}, "start before the end"},
		{Settings{Night: "blink"}, "night"},
		{Settings{Brightness: 101}, "brightness"},
		{Settings{LEDNightBrightness: -1}, "led_night_brightness"},
		{Settings{BookMinutes: []int{15, 30, 45, 60, 90}}, "at most 4"},
		{Settings{BookMinutes: []int{30, 15}}, "increase"},
		{Settings{BookMinutes: []int{1}}, "between 5 and 120"},
		{Settings{OfflineGraceSeconds: 5}, "offline_grace_s"},
	}
	for _, tc := range bad {
		err := tc.s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one saying %q", tc.s, err, tc.want)
		}
	}
}

func TestParseOfficeHours(t *testing.T) {
	days, err := ParseOfficeHours("fri-mon 07:00-19:00, wed 09:30-24:00")
	if err != nil {
		t.Fatal(err)
	}
	open := DayHours{7 * time.Hour, 19 * time.Hour}
	want := [7]DayHours{time.Sunday: open, time.Monday: open, time.Friday: open, time.Saturday: open,
		time.Wednesday: {9*time.Hour + 30*time.Minute, 24 * time.Hour}}
	if days != want {
		t.Errorf("got %v, want %v", days, want)
	}
}

// TestOldPanelNeverSeesSettings documents why settings are negotiated: a
// panel of protocol version 1 built before TypeSettings decodes strictly,
// and a settings frame (or a settings field in a state) would be a bad
// frame to it. The old decoder is simulated by decoding into the old
// Message shape with unknown fields refused.
func TestOldPanelNeverSeesSettings(t *testing.T) {
	type oldMessage struct {
		Type  Type   `json:"type"`
		ID    string `json:"id,omitempty"`
		State *State `json:"state,omitempty"`
	}
	b, err := Encode(Message{Type: TypeSettings, Settings: &Settings{Locale: "de"}})
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var m oldMessage
	if dec.Decode(&m) == nil {
		t.Fatal("an old panel's strict decoder takes a settings frame: the negotiation would not be needed")
	}
	if (Hello{Protocol: 1, Firmware: "old"}).Can(AcceptSettings) {
		t.Error("a hello without accepts accepts settings")
	}
	if !(Hello{Accepts: []string{AcceptSettings}}).Can(AcceptSettings) {
		t.Error("a hello with accepts does not accept settings")
	}
}
