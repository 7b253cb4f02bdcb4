package app

import (
	"context"
	"fmt"
	"image"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/display/displaytest"

	"github.com/lintelhq/lintel/panel/input"
	"github.com/lintelhq/lintel/panel/led"
	"github.com/lintelhq/lintel/proto"
)

func inputOf(a *App) (labels []string, msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	in, _, _ := a.inputLocked()
	for _, b := range in.Buttons {
		labels = append(labels, strings.ReplaceAll(b.Label, " ", " "))
	}
	return labels, strings.ReplaceAll(in.Message, " ", " ")
}

func requests(l *fakeLink) []proto.Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]proto.Request(nil), l.requests...)
}

// TestEndNeedsConfirmation checks that one tap on "End now" ends nothing:
// it asks for a second tap within a few seconds, and a late second tap
// only asks again.
func TestEndNeedsConfirmation(t *testing.T) {
	now := t0
	a, l, _ := newApp(t, &now)
	l.result = proto.Result{OK: true, Meeting: &proto.Meeting{ID: "m", End: t0}}
	a.OnState(state(proto.Features{ExtendEnd: true}, meeting("m", -10*time.Minute, time.Hour)), true)
	a.OnConnected()

	a.do(context.Background(), "end:m")
	if got := strings.Join(actions(a), " "); !strings.HasPrefix(got, "confirm-end:m ") {
		t.Fatalf("after one tap: %q, want the confirming button", got)
	}
	if labels, msg := inputOf(a); labels[0] != "Confirm end" || !strings.Contains(msg, "5 seconds") {
		t.Errorf("armed: buttons %q, notice %q", labels, msg)
	}
	if len(requests(l)) != 0 {
		t.Fatal("one tap sent a request")
	}
	// Too late: the button is back to "End now", and an old confirming
	// target does nothing.
	now = now.Add(6 * time.Second)
	if got := strings.Join(actions(a), " "); !strings.HasPrefix(got, "end:m ") {
		t.Errorf("after the window: %q", got)
	}
	a.do(context.Background(), "confirm-end:m")
	if len(requests(l)) != 0 {
		t.Fatal("a late confirmation ended the meeting")
	}
	// Two taps in time end it.
	a.do(context.Background(), "end:m")
	now = now.Add(2 * time.Second)
	a.do(context.Background(), "confirm-end:m")
	waitNotice(t, a, "Meeting ended. The room is free.")
	if rs := requests(l); len(rs) != 1 || rs[0].Action != proto.ActionEnd || rs[0].MeetingID != "m" {
		t.Errorf("requests %+v", rs)
	}
}

// TestEndButtonNeedsTwoPresses checks the same for a hardware button.
func TestEndButtonNeedsTwoPresses(t *testing.T) {
	now := t0
	a, l, _ := newApp(t, &now)
	l.result = proto.Result{OK: true, Meeting: &proto.Meeting{ID: "m", End: t0}}
	a.OnState(state(proto.Features{ExtendEnd: true}, meeting("m", -10*time.Minute, time.Hour)), true)
	a.OnConnected()
	a.Input(context.Background(), input.Event{Kind: input.Button, Action: "end"})
	if len(requests(l)) != 0 {
		t.Fatal("one press ended the meeting")
	}
	a.Input(context.Background(), input.Event{Kind: input.Button, Action: "end"})
	waitNotice(t, a, "Meeting ended. The room is free.")
}

// TestOfflineTooLongIsUnknown checks that a panel offline for longer than
// the room's limit stops claiming a status: LEDs off, booking grey.
func TestOfflineTooLongIsUnknown(t *testing.T) {
	now := t0
	a, _, leds := newApp(t, &now)
	st := state(proto.Features{Book: true})
	st.Rules.StaleAfterMinutes = 20
	a.OnState(st, true)
	a.OnConnected()
	a.OnDisconnected()
	now = now.Add(19 * time.Minute)
	a.renderOnce()
	if leds.last != led.Green {
		t.Errorf("offline 19 min: LEDs %v, want green", leds.last)
	}
	now = now.Add(2 * time.Minute)
	if got := strings.Join(actions(a), " "); got != "menu:book (disabled) menu:problem (disabled)" {
		t.Errorf("offline 21 min: %q", got)
	}
	if leds.last != led.Off {
		t.Errorf("offline 21 min: LEDs %v, want off", leds.last)
	}
	// A state from the cache is as fresh as when the server sent it.
	b, _, _ := newApp(t, &now)
	cached := state(proto.Features{Book: true})
	cached.ServerTime = now.Add(-2 * time.Hour)
	b.OnState(cached, false)
	if got := strings.Join(actions(b), " "); got != "menu:book (disabled) menu:problem" {
		t.Errorf("old cache: %q", got)
	}
}

// TestOneLanguage checks that a regional locale words everything in one
// language: buttons, notices, refusals (from their reason, not the
// server's English), and the firmware screen.
func TestOneLanguage(t *testing.T) {
	now := t0
	l, leds := &fakeLink{}, &fakeLEDs{}
	a, err := New(Opts{Link: l, LEDs: leds, Locale: "de-CH", Screen: &displaytest.Drawer{Img: image.NewNRGBA(image.Rect(0, 0, 800, 480))},
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	a.OnState(state(proto.Features{Book: true}, meeting("next", 40*time.Minute, time.Hour)), true)
	a.OnConnected()
	if labels, _ := inputOf(a); strings.Join(labels, " | ") != "Jetzt buchen | Später heute | Problem melden" {
		t.Errorf("buttons %q", labels)
	}
	a.do(context.Background(), "menu:book")
	if labels, _ := inputOf(a); strings.Join(labels, " | ") != "Bis 10:30 | Bis 10:42 | Abbrechen" {
		t.Errorf("menu %q", labels)
	}
	l.result = proto.Result{Error: proto.Refusal(proto.CodeConflict, proto.ReasonTaken, "the room was just booked by someone else")}
	a.do(context.Background(), "book:until:1")
	waitNotice(t, a, "Der Raum wurde gerade von jemand anderem gebucht.")
	l.result = proto.Result{Error: proto.Refusal(proto.CodeNotAllowed, proto.ReasonCheckInEarly, "check-in opens 5 minutes before the meeting", "minutes", "5")}
	a.do(context.Background(), "checkin:next")
	waitNotice(t, a, "Check-in ist ab 5 Min. vor Beginn möglich.")

	a.OnUpdateFirmware(proto.Refusal(proto.CodeUnsupportedVersion, proto.ReasonVersion, "the panel speaks protocol version 1, this server speaks version 2", "server", "2", "panel", "1"))
	if _, msg := inputOf(a); msg != "Der Server spricht Protokoll 2, dieses Panel Protokoll 1." {
		t.Errorf("firmware screen says %q", msg)
	}
}

// TestRoomHours checks that the room's clock wins over the locale's: a
// Zurich room reads 24 hours on an English panel.
func TestRoomHours(t *testing.T) {
	now := t0
	a, _, _ := newApp(t, &now)
	st := state(proto.Features{Book: true}, meeting("next", 40*time.Minute, time.Hour))
	st.Room.Hours = 24
	a.OnState(st, true)
	a.OnConnected()
	a.do(context.Background(), "menu:book")
	if labels, _ := inputOf(a); strings.Join(labels, " | ") != "Until 10:30 | Until 10:42 | Cancel" {
		t.Errorf("menu %q", labels)
	}
}

// TestBookLater walks "Later today" at 10:02 in Zurich with a meeting
// from 11:00 to 12:00: the free slots, then the lengths of one, then the
// request (from the slot's start, until the length's end) and the notice
// of the answer; Cancel closes the menu without a request.
func TestBookLater(t *testing.T) {
	now := t0
	a, l, _ := newApp(t, &now)
	a.OnState(state(proto.Features{Book: true}, meeting("m", 58*time.Minute, 118*time.Minute)), true)
	a.OnConnected()
	zurich, _ := time.LoadLocation("Europe/Zurich")
	at := func(h, m int) time.Time { return time.Date(2026, 3, 10, h, m, 0, 0, zurich) }

	a.do(context.Background(), "menu:later")
	if labels, _ := inputOf(a); nbsp(strings.Join(labels, " | ")) != "10:15–11:00 AM | From 12:00 PM | Cancel" {
		t.Fatalf("slots %q", labels)
	}
	want := fmt.Sprintf("menu:later:%d:%d", at(12, 0).Unix(), at(24, 0).Unix())
	if got := actions(a); len(got) != 3 || got[1] != want {
		t.Fatalf("slot actions %v, want %s second", got, want)
	}
	a.do(context.Background(), want)
	if labels, _ := inputOf(a); nbsp(strings.Join(labels, " | ")) != "Until 12:15 PM | Until 12:30 PM | Until 1:00 PM | Cancel" {
		t.Fatalf("lengths %q", labels)
	}
	a.do(context.Background(), "menu:close")
	if got := actions(a); strings.Join(got, " ") != "menu:book menu:later menu:problem" {
		t.Fatalf("after Cancel: %v", got)
	}
	if len(l.requests) != 0 {
		t.Fatalf("requests after Cancel: %+v", l.requests)
	}

	a.do(context.Background(), want)
	l.mu.Lock()
	l.result = proto.Result{OK: true, Meeting: &proto.Meeting{ID: "b", Start: at(12, 0).UTC(), End: at(12, 30).UTC(), Booked: true}}
	l.mu.Unlock()
	a.do(context.Background(), fmt.Sprintf("book:at:%d:until:%d", at(12, 0).Unix(), at(12, 30).Unix()))
	waitNotice(t, a, "Booked 12:00 PM–12:30 PM.")
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.requests) != 1 || l.requests[0].Action != proto.ActionBook || !l.requests[0].Start.Equal(at(12, 0)) || !l.requests[0].Until.Equal(at(12, 30)) {
		t.Errorf("request %+v, want a booking from 12:00 until 12:30", l.requests)
	}
}

// nbsp reads no-break spaces (in "10:15\u00a0AM") as spaces.
func nbsp(s string) string { return strings.ReplaceAll(s, "\u00a0", " ") }

// TestFindARoom: a busy room's panel offers the free rooms nearby, then
// the bookings that fit in one, and books it from this door.
func TestFindARoom(t *testing.T) {
	now := t0
	a, l, _ := newApp(t, &now)
	st := state(proto.Features{Book: true}, meeting("m", -time.Minute, time.Hour))
	st.Nearby = []proto.Nearby{{ID: "borealis", Name: "Borealis", Capacity: 8, FreeUntil: t0.Add(58 * time.Minute)}, {ID: "cirrus", Name: "Cirrus"}}
	a.OnState(st, true)
	a.OnConnected()
	if got := strings.Join(actions(a), " "); !strings.Contains(got, "menu:nearby") {
		t.Fatalf("busy room's buttons %q: no free room nearby", got)
	}
	a.do(context.Background(), "menu:nearby")
	if labels, _ := inputOf(a); nbsp(strings.Join(labels, " | ")) != "Borealis (8) · until 11:00 AM | Cirrus · All day | Cancel" {
		t.Fatalf("nearby %q", labels)
	}
	a.do(context.Background(), "menu:nearby:borealis")
	if labels, _ := inputOf(a); nbsp(strings.Join(labels, " | ")) != "Until 10:30 AM | Until 10:45 AM | Until 11:00 AM | Cancel" {
		t.Fatalf("borealis's bookings %q", labels)
	}
	l.mu.Lock()
	l.result = proto.Result{OK: true, Meeting: &proto.Meeting{ID: "b", Start: t0, End: t0.Add(28 * time.Minute), Booked: true}}
	l.mu.Unlock()
	a.do(context.Background(), fmt.Sprintf("book:room:borealis:until:%d", t0.Add(28*time.Minute).Unix()))
	waitNotice(t, a, "Borealis booked until 10:30 AM.")
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.requests) != 1 || l.requests[0].Room != "borealis" || !l.requests[0].Until.Equal(t0.Add(28*time.Minute)) {
		t.Errorf("request %+v", l.requests)
	}
	// A free room does not send people elsewhere.
	free := state(proto.Features{Book: true})
	free.Nearby = st.Nearby
	a.OnState(free, true)
	if got := strings.Join(actions(a), " "); strings.Contains(got, "menu:nearby") {
		t.Errorf("a free room's buttons %q offer other rooms", got)
	}
}
