package admin

import (
	"testing"
	"time"
)

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                               "0 s",
		45 * time.Second:                "45 s",
		10 * time.Minute:                "10 min",
		10*time.Minute + 20*time.Second: "10 min",
		59*time.Minute + 50*time.Second: "1 h",
		2*time.Hour + 5*time.Minute:     "2 h 5 min",
		3 * time.Hour:                   "3 h",
		26*time.Hour + 10*time.Minute:   "1 d 2 h",
		72 * time.Hour:                  "3 d",
		-(5 * time.Minute):              "5 min",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for at, want := range map[time.Time]string{
		{}:                         "never",
		now.Add(-30 * time.Second): "just now",
		now.Add(-10 * time.Minute): "10 min ago",
		now.Add(-26 * time.Hour):   "1 d 2 h ago",
		now.AddDate(0, 0, -5):      "2026-03-05",
	} {
		if got := ago(now, at); got != want {
			t.Errorf("ago(%v) = %q, want %q", at, got, want)
		}
	}
}

func TestLocalizeTimes(t *testing.T) {
	zh, _ := time.LoadLocation("Europe/Zurich")
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, zh)
	got := localizeTimes("released the meeting at 2026-03-10T08:30:00Z: nobody checked in; next 2026-03-11T08:00:00Z", zh, day)
	if want := "released the meeting at 09:30: nobody checked in; next Wed 11 Mar 09:00"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
