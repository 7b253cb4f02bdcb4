package proto

import (
	"slices"
	"testing"
	"time"
)

func TestBookEnd(t *testing.T) {
	zurich := mustLoc(t, "Europe/Zurich")
	kolkata := mustLoc(t, "Asia/Kolkata") // UTC+05:30
	at := func(loc *time.Location, h, m int) time.Time { return time.Date(2026, 3, 10, h, m, 0, 0, loc) }
	tests := []struct {
		name    string
		t       time.Time
		minutes int
		step    time.Duration
		loc     *time.Location
		want    time.Time
	}{
		{"30 min at 8:52 end at 9:30, never 9:15", at(zurich, 8, 52), 30, 15 * time.Minute, zurich, at(zurich, 9, 30)},
		{"15 min at 8:52 end at 9:15, never 9:00", at(zurich, 8, 52), 15, 15 * time.Minute, zurich, at(zurich, 9, 15)},
		{"15 min at 8:53 are at least 15", at(zurich, 8, 53), 15, 15 * time.Minute, zurich, at(zurich, 9, 15)},
		{"an end on a step stays", at(zurich, 10, 0), 30, 15 * time.Minute, zurich, at(zurich, 10, 30)},
		{"rounds up from a minute past", at(zurich, 10, 1), 30, 15 * time.Minute, zurich, at(zurich, 10, 45)},
		{"seconds do not count", at(zurich, 10, 0).Add(59 * time.Second), 15, 15 * time.Minute, zurich, at(zurich, 10, 15)},
		{"five-minute steps", at(zurich, 10, 7), 15, 5 * time.Minute, zurich, at(zurich, 10, 25)},
		{"hour steps", at(zurich, 10, 7), 15, time.Hour, zurich, at(zurich, 11, 0)},
		{"no step given: the default", at(zurich, 10, 7), 15, 0, zurich, at(zurich, 10, 30)},
		{"never shorter than five minutes", at(zurich, 10, 14), 1, 15 * time.Minute, zurich, at(zurich, 10, 30)},
		{"steps follow the local clock in a half-hour zone", at(kolkata, 10, 7), 30, 15 * time.Minute, kolkata, at(kolkata, 10, 45)},
		{"across midnight", at(zurich, 23, 50), 30, 15 * time.Minute, zurich, time.Date(2026, 3, 11, 0, 30, 0, 0, zurich)},
	}
	for _, tc := range tests {
		got := BookEnd(tc.t, tc.minutes, tc.step, tc.loc)
		if !got.Equal(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got.In(tc.loc), tc.want)
		}
		if asked := time.Duration(tc.minutes) * time.Minute; got.Sub(tc.t.Truncate(time.Minute)) < max(asked, MinBooking) {
			t.Errorf("%s: %v is shorter than the %v asked for", tc.name, got.Sub(tc.t), asked)
		}
	}
}

func TestBookChoices(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 8, 52, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return time.Date(2026, 3, 10, h, m, 0, 0, time.UTC) }
	meeting := func(h0, m0, h1, m1 int) Meeting { return Meeting{ID: "m", Start: at(h0, m0), End: at(h1, m1)} }
	type choice struct {
		min int
		end string
	}
	tests := []struct {
		name     string
		now      time.Time
		meetings []Meeting
		step     int
		want     []choice // min 0 = until the next meeting
	}{
		{"empty day at 8:52", t0, nil, 0, []choice{{15, "09:15"}, {30, "09:30"}, {60, "10:00"}}},
		{"empty day at 9:00", at(9, 0), nil, 0, []choice{{15, "09:15"}, {30, "09:30"}, {60, "10:00"}}},
		{"meeting at 9:40: 15, 30 and until it", t0, []Meeting{meeting(9, 40, 10, 0)}, 0, []choice{{15, "09:15"}, {30, "09:30"}, {0, "09:40"}}},
		{"meeting at 9:30: 15 and 30, which ends at it", t0, []Meeting{meeting(9, 30, 10, 0)}, 0, []choice{{15, "09:15"}, {30, "09:30"}}},
		{"meeting at 9:25: 15 and until it", t0, []Meeting{meeting(9, 25, 10, 0)}, 0, []choice{{15, "09:15"}, {0, "09:25"}}},
		{"meeting at 9:05: only until it", t0, []Meeting{meeting(9, 5, 10, 0)}, 0, []choice{{0, "09:05"}}},
		{"meeting in 3 min: nothing", t0, []Meeting{meeting(8, 55, 10, 0)}, 0, nil},
		{"busy: nothing", t0, []Meeting{meeting(8, 30, 10, 0)}, 0, nil},
		{"meeting in three hours: durations only", t0, []Meeting{meeting(12, 0, 13, 0)}, 0, []choice{{15, "09:15"}, {30, "09:30"}, {60, "10:00"}}},
		{"hour steps: 15, 30 and 60 all end at 10:00, listed once", t0, nil, 60, []choice{{15, "10:00"}}},
		{"hour steps at 9:00", at(9, 0), nil, 60, []choice{{15, "10:00"}}},
		{"hour steps at 9:50", at(9, 50), nil, 60, []choice{{15, "11:00"}}},
	}
	for _, tc := range tests {
		cs := BookChoices(tc.meetings, tc.now, Rules{BookStepMinutes: tc.step}, time.UTC)
		var got []choice
		for _, c := range cs {
			got = append(got, choice{c.Minutes, c.End.Format("15:04")})
			// A choice is never shorter than its length, nor than the minimum.
			if d := c.End.Sub(tc.now.Truncate(time.Minute)); d < time.Duration(c.Minutes)*time.Minute || d < MinBooking {
				t.Errorf("%s: choice %+v lasts only %v", tc.name, c, d)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLaterSlots(t *testing.T) {
	zurich := mustLoc(t, "Europe/Zurich")
	at := func(h, m int) time.Time { return time.Date(2026, 3, 10, h, m, 0, 0, zurich) }
	meeting := func(h0, m0, h1, m1 int) Meeting { return Meeting{ID: "m", Start: at(h0, m0), End: at(h1, m1)} }
	allDay := Meeting{ID: "a", AllDay: true, Start: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)}
	type slot struct{ from, to string }
	tests := []struct {
		name     string
		now      time.Time
		meetings []Meeting
		want     []slot
	}{
		{"empty day: from the next quarter to midnight", at(9, 41), nil, []slot{{"09:45", "00:00"}}},
		{"on a step: from the next one", at(9, 45), nil, []slot{{"10:00", "00:00"}}},
		{"busy now: from its end", at(9, 41), []Meeting{meeting(9, 0, 10, 0), meeting(11, 0, 12, 30), meeting(14, 0, 15, 0)},
			[]slot{{"10:00", "11:00"}, {"12:30", "14:00"}, {"15:00", "00:00"}}},
		{"gaps under 15 minutes are left out", at(9, 41), []Meeting{meeting(9, 0, 10, 0), meeting(10, 10, 17, 0)}, []slot{{"17:00", "00:00"}}},
		{"overlapping meetings make one busy span", at(8, 0), []Meeting{meeting(9, 0, 11, 0), meeting(10, 0, 10, 30), meeting(10, 45, 12, 0)},
			[]slot{{"08:15", "09:00"}, {"12:00", "00:00"}}},
		{"past meetings do not count", at(16, 0), []Meeting{meeting(9, 0, 10, 0)}, []slot{{"16:15", "00:00"}}},
		{"tomorrow's meetings do not count", at(22, 0), []Meeting{{ID: "t", Start: at(23, 0).Add(24 * time.Hour), End: at(23, 30).Add(24 * time.Hour)}}, []slot{{"22:15", "00:00"}}},
		{"an all-day meeting leaves nothing", at(9, 41), []Meeting{allDay}, nil},
		{"the day's last quarter: nothing", at(23, 50), nil, nil},
	}
	for _, tc := range tests {
		var got []slot
		for _, s := range LaterSlots(tc.meetings, tc.now, Rules{}, zurich) {
			got = append(got, slot{s.Start.In(zurich).Format("15:04"), s.End.In(zurich).Format("15:04")})
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSlotChoices(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 3, 10, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name string
		slot Slot
		want []string // ends
	}{
		{"a long gap: the lengths", Slot{at(14, 0), at(18, 0)}, []string{"14:15", "14:30", "15:00"}},
		{"a gap of 45 minutes: what fits, then all of it", Slot{at(14, 0), at(14, 45)}, []string{"14:15", "14:30", "14:45"}},
		{"a gap of exactly an hour: no repeat", Slot{at(14, 0), at(15, 0)}, []string{"14:15", "14:30", "15:00"}},
		{"a gap of 20 minutes", Slot{at(14, 0), at(14, 20)}, []string{"14:15", "14:20"}},
		{"a gap of 90 minutes: the two shortest and all of it", Slot{at(14, 0), at(15, 30)}, []string{"14:15", "14:30", "15:30"}},
	}
	for _, tc := range tests {
		var got []string
		for _, c := range SlotChoices(nil, tc.slot, Rules{}, time.UTC) {
			got = append(got, c.End.Format("15:04"))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
