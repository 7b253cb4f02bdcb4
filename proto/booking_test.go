package proto

import (
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
		{"rounds to the nearest quarter", at(zurich, 10, 7), 30, 15 * time.Minute, zurich, at(zurich, 10, 30)},
		{"rounds up past the half", at(zurich, 10, 8), 30, 15 * time.Minute, zurich, at(zurich, 10, 45)},
		{"five-minute steps", at(zurich, 10, 7), 15, 5 * time.Minute, zurich, at(zurich, 10, 20)},
		{"never shorter than five minutes", at(zurich, 10, 14), 1, 15 * time.Minute, zurich, at(zurich, 10, 30)},
		{"steps follow the local clock in a half-hour zone", at(kolkata, 10, 7), 30, 15 * time.Minute, kolkata, at(kolkata, 10, 30)},
		{"across midnight", at(zurich, 23, 50), 30, 15 * time.Minute, zurich, time.Date(2026, 3, 11, 0, 15, 0, 0, zurich)},
	}
	for _, tc := range tests {
		if got := BookEnd(tc.t, tc.minutes, tc.step, tc.loc); !got.Equal(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got.In(tc.loc), tc.want)
		}
	}
}

func TestBookChoices(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)
	meeting := func(startMin, endMin int) Meeting {
		return Meeting{ID: "m", Start: t0.Add(time.Duration(startMin) * time.Minute), End: t0.Add(time.Duration(endMin) * time.Minute)}
	}
	minutes := func(cs []Choice) []int {
		var out []int
		for _, c := range cs {
			out = append(out, c.Minutes)
		}
		return out
	}
	tests := []struct {
		name     string
		meetings []Meeting
		want     []int // 0 = until the next meeting
	}{
		{"empty day: every duration", nil, []int{15, 30, 60}},
		{"meeting in 40 min: 15, 30 and until it", []Meeting{meeting(40, 60)}, []int{15, 30, 0}},
		{"meeting in 30 min: 15 and 30, which ends at it", []Meeting{meeting(30, 60)}, []int{15, 30}},
		{"meeting in 10 min: only until it", []Meeting{meeting(10, 60)}, []int{0}},
		{"meeting in 3 min: nothing", []Meeting{meeting(3, 60)}, nil},
		{"busy: nothing", []Meeting{meeting(-10, 60)}, nil},
		{"meeting in three hours: durations only", []Meeting{meeting(180, 240)}, []int{15, 30, 60}},
	}
	for _, tc := range tests {
		got := minutes(BookChoices(tc.meetings, t0, Rules{}, time.UTC))
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}
