package app

import (
	"context"
	"image"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/display/displaytest"

	"github.com/lintelhq/lintel/panel/led"
	"github.com/lintelhq/lintel/panel/view"
	"github.com/lintelhq/lintel/proto"
)

type fakeLink struct {
	mu       sync.Mutex
	requests []proto.Request
	reports  []proto.Report
	result   proto.Result
	err      error
}

func (f *fakeLink) Request(ctx context.Context, id string, r proto.Request) (proto.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
	return f.result, f.err
}

func (f *fakeLink) Report(ctx context.Context, r proto.Report) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, r)
	return f.err
}

type fakeLEDs struct{ last led.Signal }

func (f *fakeLEDs) Set(s led.Signal) error { f.last = s; return nil }

var t0 = time.Date(2026, 3, 10, 9, 2, 0, 0, time.UTC) // 10:02 in Zurich

func newApp(t *testing.T, now *time.Time) (*App, *fakeLink, *fakeLEDs) {
	t.Helper()
	l, leds := &fakeLink{}, &fakeLEDs{}
	a, err := New(Opts{Link: l, LEDs: leds, Screen: &displaytest.Drawer{Img: image.NewNRGBA(image.Rect(0, 0, 800, 480))},
		Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	return a, l, leds
}

func state(features proto.Features, meetings ...proto.Meeting) *proto.State {
	return &proto.State{Room: proto.Room{ID: "r", Name: "Rigi", TimeZone: "Europe/Zurich"}, ServerTime: t0, Meetings: meetings, Features: features}
}

func meeting(id string, from, to time.Duration) proto.Meeting {
	return proto.Meeting{ID: id, Title: id, Start: t0.Add(from), End: t0.Add(to)}
}

func actions(a *App) []string {
	a.renderOnce()
	_, targets := a.Frame()
	var out []string
	for _, tg := range targets {
		s := tg.Action
		if tg.Disabled {
			s += " (disabled)"
		}
		out = append(out, s)
	}
	return out
}

func TestButtonsFollowTheRoom(t *testing.T) {
	all := proto.Features{Book: true, ExtendEnd: true, CheckIn: true}
	tests := []struct {
		name string
		st   *proto.State
		want string
		led  led.Signal
	}{
		{"free room offers booking now and later", state(all), "menu:book menu:later menu:problem", led.Green},
		{"free room without booking", state(proto.Features{}), "menu:problem", led.Green},
		{"busy for the rest of the day: nothing later", state(all, meeting("m", -time.Minute, 15*time.Hour)), "end:m extend:m:15 menu:problem", led.Red},
		{"soon but bookable until the meeting", state(all, meeting("m", 8*time.Minute, time.Hour)), "menu:book menu:later menu:problem", led.Amber},
		{"busy offers end and extend", state(all, meeting("m", -time.Minute, time.Hour)), "end:m extend:m:15 menu:later menu:problem", led.Red},
		{"busy back to back: no extend", state(all, meeting("m", -time.Minute, time.Hour), meeting("n", time.Hour, 2*time.Hour)), "end:m menu:later menu:problem", led.Red},
		{"awaiting check-in", state(all, func() proto.Meeting { m := meeting("m", 3*time.Minute, time.Hour); m.CheckIn = true; return m }()), "checkin:m menu:problem", led.BlinkAmber},
		{"checked in before the start: busy, nothing to end yet", state(all, func() proto.Meeting {
			m := meeting("m", 3*time.Minute, time.Hour)
			m.CheckIn, m.CheckedIn = true, true
			return m
		}()), "menu:later menu:problem", led.Red},
		{"never read: booking grey, no LED", func() *proto.State {
			st := state(all)
			st.Stale, st.Reason = true, proto.ReasonDenied
			return st
		}(), "menu:book (disabled) menu:problem", led.Off},
		{"last read 31 minutes ago: unknown", func() *proto.State {
			st := state(all, meeting("m", -time.Minute, time.Hour))
			st.Stale, st.LastSync = true, t0.Add(-31*time.Minute)
			return st
		}(), "menu:book (disabled) menu:problem", led.Off},
		{"last read 20 minutes ago: still known", func() *proto.State {
			st := state(all)
			st.Stale, st.LastSync = true, t0.Add(-20*time.Minute)
			return st
		}(), "menu:book menu:later menu:problem", led.Green},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := t0
			a, _, leds := newApp(t, &now)
			a.OnState(tc.st, true)
			if got := strings.Join(actions(a), " "); got != tc.want {
				t.Errorf("buttons %q, want %q", got, tc.want)
			}
			if leds.last != tc.led {
				t.Errorf("LEDs %v, want %v", leds.last, tc.led)
			}
		})
	}
}

func TestBookingMenuAndRequest(t *testing.T) {
	now := t0
	a, l, _ := newApp(t, &now)
	l.result = proto.Result{OK: true, Meeting: &proto.Meeting{ID: "b", Start: t0, End: t0.Add(28 * time.Minute)}}
	a.OnState(state(proto.Features{Book: true, Teams: true}, meeting("next", 40*time.Minute, time.Hour)), true)
	a.OnConnected()
	a.do(context.Background(), "menu:book")
	// 10:02: 15 minutes end at 10:30 (rounded up, never down to 10:15);
	// 30 would end at 10:45, after the meeting at 10:42; until 10:42.
	a.renderOnce()
	a.mu.Lock()
	in, _, _ := a.inputLocked()
	a.mu.Unlock()
	var labels []string
	for _, b := range in.Buttons {
		labels = append(labels, strings.ReplaceAll(b.Label, "\u00a0", " "))
	}
	if got := strings.Join(labels, " | "); got != "Until 10:30 AM | Until 10:42 AM | Teams: off | Cancel" {
		t.Fatalf("booking menu %q", got)
	}
	a.do(context.Background(), "teams:toggle")
	a.do(context.Background(), in.Buttons[0].Action)
	waitNotice(t, a, "Booked until 10:30\u00a0AM.")
	l.mu.Lock()
	req := l.requests[0]
	l.mu.Unlock()
	// The request asks for the end the button showed.
	if req.Action != proto.ActionBook || !req.Until.Equal(t0.Add(28*time.Minute)) || !req.Teams {
		t.Errorf("request %+v, want until %v", req, t0.Add(28*time.Minute))
	}
	// Two taps on a closed menu's button do nothing.
	if got := strings.Join(actions(a), " "); strings.Contains(got, "book:") {
		t.Errorf("the menu stayed open: %q", got)
	}
}

// A panel moved to another room drops what it said or opened about the
// old one: "Booked until ..." would read as this room's.
func TestMoveForgetsTheOldRoomsNotice(t *testing.T) {
	now := t0
	a, l, _ := newApp(t, &now)
	l.result = proto.Result{OK: true, Meeting: &proto.Meeting{ID: "b", Start: t0, End: t0.Add(28 * time.Minute)}}
	a.OnState(state(proto.Features{Book: true}), true)
	a.OnConnected()
	a.do(context.Background(), "menu:book")
	a.do(context.Background(), "book:15")
	waitNotice(t, a, "Booked until 10:30\u00a0AM.")
	a.do(context.Background(), "menu:problem")

	same := state(proto.Features{Book: true}, meeting("b", 0, 28*time.Minute))
	a.OnState(same, true) // the same room's next state keeps them
	a.mu.Lock()
	kept := a.notice != "" && a.menu == "problem"
	a.mu.Unlock()
	if !kept {
		t.Error("the same room's next state dropped the notice or the menu")
	}
	other := state(proto.Features{Book: true})
	other.Room.ID, other.Room.Name = "o", "Other"
	a.OnState(other, true)
	a.mu.Lock()
	in, _, _ := a.inputLocked()
	a.mu.Unlock()
	if in.Message != "" {
		t.Errorf("moved to another room, the panel still says %q", in.Message)
	}
	if got := strings.Join(actions(a), " "); got != "menu:book menu:later menu:problem" {
		t.Errorf("moved to another room, the buttons are %q", got)
	}
}

// waitNotice waits for the notice of a request's answer (no-break spaces
// read as spaces).
func waitNotice(t *testing.T, a *App, want string) {
	t.Helper()
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		a.mu.Lock()
		in, _, _ := a.inputLocked()
		a.mu.Unlock()
		if nbsp(in.Message) == nbsp(want) {
			return
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	t.Fatalf("notice %q, want %q", a.notice, want)
}

func TestOfflineDisablesBookingAfterGrace(t *testing.T) {
	now := t0
	a, l, _ := newApp(t, &now)
	a.OnState(state(proto.Features{Book: true}), true)
	a.OnConnected()
	a.OnDisconnected()
	if got := actions(a); got[0] != "menu:book" {
		t.Errorf("within the grace period: %v", got)
	}
	now = now.Add(61 * time.Second)
	a.mu.Lock()
	in, _, _ := a.inputLocked()
	a.mu.Unlock()
	if !in.Offline || !in.OfflineSince.Equal(t0) {
		t.Errorf("offline badge: %v since %v", in.Offline, in.OfflineSince)
	}
	// Every button that needs the server is grey, "Report a problem" too.
	if got := strings.Join(actions(a), " "); got != "menu:book (disabled) menu:later (disabled) menu:problem (disabled)" {
		t.Errorf("offline: %v", got)
	}
	a.mu.Lock()
	in, _, _ = a.inputLocked()
	a.mu.Unlock()
	if in.Message != "Offline: booking and reporting are unavailable." {
		t.Errorf("offline notice %q", in.Message)
	}
	l.err = proto.NewError(proto.CodeOffline, "offline")
	a.do(context.Background(), "book:15")
	waitNotice(t, a, "Offline: booking and reporting are unavailable.")
}

// TestSwitchOfReplicaWithinGrace: when the panel's replica is lost, the
// link says disconnected, then connected (to another replica), then
// sends its state. A switch shorter than the grace period never shows
// "offline", keeps the room on the screen all along, and a later drop is
// timed from its own start, not from the switch's.
func TestSwitchOfReplicaWithinGrace(t *testing.T) {
	now := t0
	a, _, _ := newApp(t, &now)
	check := func(when string, wantOffline bool, wantTitle string) {
		t.Helper()
		a.mu.Lock()
		in, _, _ := a.inputLocked()
		a.mu.Unlock()
		if in.Screen != view.ScreenRoom || in.State == nil || in.State.Meetings[0].Title != wantTitle {
			t.Fatalf("%s: screen %v with state %+v, want the room with %q", when, in.Screen, in.State, wantTitle)
		}
		if in.Offline != wantOffline {
			t.Errorf("%s: offline %v, want %v", when, in.Offline, wantOffline)
		}
	}
	all := proto.Features{Book: true}
	a.OnConnected()
	a.OnState(state(all, meeting("on A", time.Hour, 2*time.Hour)), true)
	a.OnDisconnected() // replica A lost
	now = now.Add(3 * time.Second)
	check("3 s after A was lost", false, "on A")
	a.OnConnected() // on replica B
	check("on B, before its state", false, "on A")
	a.OnState(state(all, meeting("on B", time.Hour, 2*time.Hour)), true)
	check("on B", false, "on B")

	now = t0.Add(50 * time.Second)
	a.OnDisconnected() // B lost too: 47 s after the switch
	now = t0.Add(70 * time.Second)
	check("20 s after B was lost, 70 s after A was", false, "on B")
	now = t0.Add(111 * time.Second)
	check("61 s after B was lost", true, "on B")
}

func TestClockCorrection(t *testing.T) {
	now := time.Unix(60, 0) // a Pi booted without a real-time clock
	a, _, leds := newApp(t, &now)
	st := state(proto.Features{}, meeting("m", -time.Minute, time.Hour))
	a.OnState(st, false) // from the cache: no server time to trust
	a.renderOnce()
	a.mu.Lock()
	in, _, _ := a.inputLocked()
	a.mu.Unlock()
	if !in.Now.IsZero() || leds.last != led.Off {
		t.Fatalf("implausible clock: now %v, LEDs %v; want nothing time-based", in.Now, leds.last)
	}
	a.OnState(st, true) // from the server: its time corrects ours
	a.renderOnce()
	a.mu.Lock()
	in, _, _ = a.inputLocked()
	a.mu.Unlock()
	if d := in.Now.Sub(t0); d < 0 || d > time.Second || leds.last != led.Red {
		t.Errorf("corrected clock %v (want %v), LEDs %v", in.Now, t0, leds.last)
	}
}

func TestScreens(t *testing.T) {
	now := t0
	a, _, _ := newApp(t, &now)
	screen := func() view.Screen {
		a.mu.Lock()
		defer a.mu.Unlock()
		in, _, _ := a.inputLocked()
		return in.Screen
	}
	if s := screen(); s != view.ScreenConnecting {
		t.Errorf("at start: %v", s)
	}
	a.OnPairing(&proto.Pairing{Code: "K7Q4-MX2P", Expires: t0.Add(10 * time.Minute)})
	if s := screen(); s != view.ScreenPairing {
		t.Errorf("pairing: %v", s)
	}
	a.OnState(state(proto.Features{}), true)
	if s := screen(); s != view.ScreenRoom {
		t.Errorf("paired: %v", s)
	}
	a.OnUpdateFirmware(proto.Refusal(proto.CodeUnsupportedVersion, proto.ReasonVersion, "...", "server", "2", "panel", "1"))
	if s := screen(); s != view.ScreenUpdateFirmware {
		t.Errorf("update: %v", s)
	}
}

func TestScreenshotCommandSendsTheFrame(t *testing.T) {
	now := t0
	a, l, _ := newApp(t, &now)
	a.OnState(state(proto.Features{}), true)
	a.renderOnce()
	a.OnCommand(context.Background(), proto.Command{Name: "screenshot"}, nil)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.reports) != 1 || l.reports[0].Kind != "screenshot" || len(l.reports[0].PNG) < 1000 || len(l.reports[0].PNG) > proto.MaxFrameBytes*3/4 {
		t.Errorf("screenshot report: %d reports", len(l.reports))
	}
}
