package view

import (
	"fmt"
	"strings"
	"time"

	"github.com/lintelhq/lintel/panel/i18n"
	"github.com/lintelhq/lintel/proto"
)

// The fixtures' clock: Tuesday 10 March 2026, 10:05 in Zurich (09:05 UTC).
var (
	zurich, _ = time.LoadLocation("Europe/Zurich")
	fixNow    = time.Date(2026, 3, 10, 10, 5, 0, 0, zurich)
)

// at is a time on the fixtures' day in Zurich.
func at(h, m int) time.Time { return time.Date(2026, 3, 10, h, m, 0, 0, zurich) }

func meeting(id, title string, h0, m0, h1, m1 int) proto.Meeting {
	return proto.Meeting{ID: id, Title: title, Start: at(h0, m0).UTC(), End: at(h1, m1).UTC()}
}

// later are the day's meetings after 11:00.
func later() []proto.Meeting {
	return []proto.Meeting{
		meeting("l1", "Design review: panel layout", 11, 0, 12, 0),
		meeting("l2", "Anna Müller", 13, 30, 14, 0),
		meeting("l3", "Quarterly planning with the facilities team", 15, 0, 16, 30),
		meeting("l4", "Retro", 17, 0, 17, 30),
		// Tomorrow: never in today's agenda.
		{ID: "t1", Title: "Tomorrow's standup", Start: at(9, 0).Add(24 * time.Hour).UTC(), End: at(9, 15).Add(24 * time.Hour).UTC()},
	}
}

func state(meetings ...proto.Meeting) *proto.State {
	return &proto.State{
		Room:       proto.Room{ID: "r1", Name: "Matterhorn (4th floor)", TimeZone: "Europe/Zurich"},
		ServerTime: fixNow.UTC(),
		Meetings:   meetings,
		Features:   proto.Features{Book: true, ExtendEnd: true, CheckIn: true},
	}
}

func room(s *proto.State) Input { return Input{Screen: ScreenRoom, State: s, Now: fixNow} }

// fixture is one golden case.
type fixture struct {
	name string
	in   Input
}

// fixtures returns every state the golden files cover, with the buttons
// and notices the app shows, worded in lang as a panel in that language
// words them.
func fixtures(lang string) []fixture {
	w := i18n.Resolve(lang).W
	h12 := i18n.Resolve(lang).Hour12(0, HourCycleLocale)
	clock := func(h, m int) string { return i18n.Clock(at(h, m), zurich, h12) }
	problem := Button{Label: w.Problem, Action: "menu:problem"}

	busy := meeting("b1", "Product roadmap review", 9, 30, 10, 30)
	withTitle := append([]proto.Meeting{busy}, later()...)

	reserved := meeting("b2", "Reserved", 9, 30, 10, 30)
	reserved.Private, reserved.Label = true, proto.LabelReserved

	checkIn := meeting("c1", "Weekly sync", 10, 0, 11, 0)
	checkIn.CheckIn, checkIn.Organizer = true, "Anna Müller"

	long := meeting("b3", strings.Repeat("Very long meeting title that goes on and on ", 7), 9, 30, 10, 30)

	allDay := proto.Meeting{ID: "a1", Title: "Offsite preparation", AllDay: true,
		Start: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)}

	offline := room(state(withTitle...))
	offline.Offline, offline.OfflineSince, offline.Seen = true, at(9, 52), at(9, 52)

	stale := room(state(later()...))
	stale.State.Stale, stale.State.LastSync, stale.State.Reason = true, at(9, 40).UTC(), proto.ReasonThrottled

	soon := func() *proto.State {
		return state(append([]proto.Meeting{meeting("s1", "Weekly sync", 10, 10, 11, 0)}, later()[1:]...)...)
	}
	soonButtons := room(soon())
	soonButtons.Buttons = []Button{{Label: w.BookNow, Action: "menu:book"}, problem}

	// The booking menu: two rows of buttons take height from the status
	// panel, which gives the meeting to the agenda.
	soonMenu := room(soon())
	soonMenu.Buttons = []Button{{Label: fmt.Sprintf(w.BookUntil, clock(10, 10)), Action: "book:until"},
		{Label: w.TeamsOff, Action: "teams:toggle"}, {Label: w.Cancel, Action: "menu:close"}}

	buttonsFree := room(state(later()...))
	buttonsFree.Buttons = []Button{
		{Label: fmt.Sprintf(w.BookUntil, clock(10, 30)), Action: "book:until:1"},
		{Label: fmt.Sprintf(w.BookUntil, clock(10, 45)), Action: "book:until:2"},
		{Label: fmt.Sprintf(w.BookUntil, clock(11, 0)), Action: "book:until:3"},
		{Label: w.TeamsOff, Action: "teams:toggle", Disabled: true},
		{Label: w.Cancel, Action: "menu:close"},
	}
	buttonsBusy := room(state(withTitle...))
	buttonsBusy.Message = fmt.Sprintf(w.Booked, clock(10, 30)) + " " + w.WithTeams
	buttonsBusy.Buttons = []Button{{Label: w.EndNow, Action: "end"}, {Label: w.Extend15, Action: "extend:15"}, problem}

	// Booking later today: the button beside "Book now", the rest of the
	// day's free slots (as many as the app lists, then Cancel), the
	// lengths that fit in one, and the notice of a later booking while
	// the room is busy now.
	laterButtons := room(state(later()...))
	laterButtons.Buttons = []Button{{Label: w.BookNow, Action: "menu:book"}, {Label: w.BookLater, Action: "menu:later"}, problem}
	laterMenu := room(state(later()...))
	for i, sl := range proto.LaterSlots(later(), fixNow, proto.Rules{}, zurich) {
		if i == 4 {
			break
		}
		// As the app words them (app.Span: a shared AM or PM once).
		from, to := i18n.Clock(sl.Start, zurich, h12), i18n.Clock(sl.End, zurich, h12)
		if i, j := strings.LastIndexAny(from, " \u00a0\u202f"), strings.LastIndexAny(to, " \u00a0\u202f"); i > 0 && j > 0 && from[i:] == to[j:] {
			from = from[:i]
		}
		label := from + "–" + to
		if end := sl.End.In(zurich); end.Hour() == 0 && end.Minute() == 0 {
			label = fmt.Sprintf(w.From, i18n.Clock(sl.Start, zurich, h12))
		}
		laterMenu.Buttons = append(laterMenu.Buttons, Button{Label: label, Action: fmt.Sprint("menu:later:", i)})
	}
	laterMenu.Buttons = append(laterMenu.Buttons, Button{Label: w.Cancel, Action: "menu:close"})
	laterSlot := room(state(later()...))
	for _, c := range proto.SlotChoices(nil, proto.Slot{Start: at(12, 0).UTC(), End: at(13, 30).UTC()}, proto.Rules{}, zurich) {
		laterSlot.Buttons = append(laterSlot.Buttons, Button{Label: fmt.Sprintf(w.BookUntil, i18n.Clock(c.End, zurich, h12)), Action: "book:at"})
	}
	laterSlot.Message = fmt.Sprintf(w.From, clock(12, 0))
	laterSlot.Buttons = append(laterSlot.Buttons, Button{Label: w.Cancel, Action: "menu:close"})
	busyLater := room(state(withTitle...))
	busyLater.Message = fmt.Sprintf(w.BookedLater, clock(12, 0), clock(13, 0))
	busyLater.Buttons = []Button{{Label: w.EndNow, Action: "end"}, {Label: w.Extend15, Action: "extend:15"}, {Label: w.BookLater, Action: "menu:later"}, problem}

	// A meeting booked at this panel: the QR code of its phone page.
	walkUp := meeting("w1", w.WalkUp, 9, 45, 10, 30)
	walkUp.Booked, walkUp.Remote = true, "https://lintel.example.com/m/ci1tYXR0ZXJob3JuCjdmM2E5YzFlNGIyZA.nQ4dW9kZ0b8rXh1y2Zs3AQ"
	busyRemote := room(state(append([]proto.Meeting{walkUp}, later()...)...))
	busyRemote.Buttons = []Button{{Label: w.EndNow, Action: "end"}, {Label: w.Extend15, Action: "extend:15"}, {Label: w.BookLater, Action: "menu:later"}, problem}

	// A free room that books from a phone: the QR code of its page,
	// where the agenda has room for it (the next meeting comes first).
	freePhone := room(state())
	freePhone.State.Room.Book = "https://lintel.example.com/m/b.cmlnaQoyMDI2LTAzLTEw.Xq2f0T9aB3kLmN8pQrStUw"
	freePhone.Buttons = []Button{{Label: w.BookNow, Action: "menu:book"}, {Label: w.BookLater, Action: "menu:later"}, problem}

	// Find a room: the button while busy, and the free rooms nearby (as
	// the app words them: name, seats, until when).
	findButton := room(state(withTitle...))
	findButton.Buttons = []Button{{Label: w.EndNow, Action: "end"}, {Label: w.Extend15, Action: "extend:15"}, {Label: w.FindRoom, Action: "menu:nearby"}, problem}
	findMenu := room(state(withTitle...))
	for _, n := range []struct {
		name  string
		seats int
		until string
	}{{"Borealis", 8, fmt.Sprintf(w.Until, clock(12, 0))}, {"Cirrus", 4, fmt.Sprintf(w.Until, clock(11, 30))}, {"Delta", 0, w.AllDay}} {
		label := n.name
		if n.seats > 0 {
			label += fmt.Sprintf(" (%d)", n.seats)
		}
		findMenu.Buttons = append(findMenu.Buttons, Button{Label: label + " · " + n.until, Action: "menu:nearby:" + n.name})
	}
	findMenu.Buttons = append(findMenu.Buttons, Button{Label: w.Cancel, Action: "menu:close"})

	endConfirm := room(state(withTitle...))
	endConfirm.Message = w.EndArmed
	endConfirm.Buttons = []Button{{Label: w.EndConfirm, Action: "end", Warn: true}, {Label: w.Extend15, Action: "extend:15"}, problem}

	checkInIn := room(state(append([]proto.Meeting{checkIn}, later()[1:]...)...))
	checkInIn.Buttons = []Button{{Label: w.CheckInButton, Action: "checkin"}, problem}

	// Right after a check-in five minutes before the start: the room is
	// taken, and the notice agrees.
	checked := meeting("c2", "Weekly sync", 10, 8, 11, 0)
	checked.CheckIn, checked.CheckedIn, checked.Organizer = true, true, "Anna Müller"
	checkedIn := room(state(append([]proto.Meeting{checked}, later()[1:]...)...))
	checkedIn.Message = w.CheckedIn
	checkedIn.Buttons = []Button{problem}

	unknownZone := room(state(later()...))
	unknownZone.State.Room.TimeZone = "Mars/Olympus_Mons"

	noClock := room(state(withTitle...))
	noClock.Now = time.Time{}

	offlineButtons := room(state(later()...))
	offlineButtons.Offline, offlineButtons.OfflineSince, offlineButtons.Seen = true, at(9, 52), at(9, 52)
	offlineButtons.Message = w.OfflineNotice
	offlineButtons.Buttons = []Button{{Label: w.BookNow, Action: "menu:book", Disabled: true}, {Label: w.Problem, Action: "menu:problem", Disabled: true}}

	// Never read: access denied while a meeting is on. Free must not show.
	denied := room(state())
	denied.State.Stale, denied.State.Reason = true, proto.ReasonDenied
	denied.Message = w.UnknownNotice
	denied.Buttons = []Button{{Label: w.BookNow, Action: "menu:book", Disabled: true}, problem}

	// Last read 45 minutes ago: the meetings last known are listed as such.
	old := room(state(withTitle...))
	old.State.Stale, old.State.LastSync, old.State.Reason = true, at(9, 20).UTC(), proto.ReasonSignIn

	// Offline for 40 minutes: the panel cannot know the schedule now.
	offlineLong := room(state(later()...))
	offlineLong.Offline, offlineLong.OfflineSince, offlineLong.Seen = true, at(9, 25), at(9, 25)
	offlineLong.Message = w.OfflineNotice
	offlineLong.Buttons = []Button{{Label: w.BookNow, Action: "menu:book", Disabled: true}, {Label: w.Problem, Action: "menu:problem", Disabled: true}}

	// A Zurich room keeps 24 hours on any panel.
	hours24 := room(state(withTitle...))
	hours24.State.Room.Hours = 24

	// Scripts the family does not have, with no fallback font: visible
	// replacement marks, never empty boxes.
	scripts := room(state(append([]proto.Meeting{meeting("x1", "会議 🙂 Αίθουσα Переговорная", 9, 30, 10, 30)}, later()...)...))
	scripts.State.Room.Name = "Ελβετία · Цюрих"

	pairing := Input{Screen: ScreenPairing, Now: fixNow, Pairing: &proto.Pairing{
		Code: "K7Q4-MX2P", URL: "https://lintel.example.com/admin/pair?code=K7Q4-MX2P", Expires: at(10, 20)}}

	version := i18n.Resolve(lang).Error(proto.Refusal(proto.CodeUnsupportedVersion, proto.ReasonVersion, "", "server", "2", "panel", "1"))

	return []fixture{
		{"free", room(state(later()...))},
		{"free-all-day", room(state())},
		{"soon", room(soon())},
		{"soon-buttons", soonButtons},
		{"soon-menu", soonMenu},
		{"busy-title", room(state(withTitle...))},
		{"busy-reserved", room(state(append([]proto.Meeting{reserved}, later()...)...))},
		{"busy-organizer", room(state(append([]proto.Meeting{meeting("b4", "Anna Müller", 9, 30, 10, 30)}, later()[2:]...)...))},
		{"busy-all-day", room(state(append([]proto.Meeting{allDay}, later()...)...))},
		{"busy-24h", hours24},
		{"check-in", checkInIn},
		{"checked-in", checkedIn},
		{"long-title", room(state(long))},
		{"scripts", scripts},
		{"offline", offline},
		{"offline-buttons", offlineButtons},
		{"offline-long", offlineLong},
		{"stale", stale},
		{"unknown-denied", denied},
		{"unknown-old", old},
		{"zone-unknown", unknownZone},
		{"no-clock", noClock},
		{"buttons-free", buttonsFree},
		{"buttons-notice", buttonsBusy},
		{"end-confirm", endConfirm},
		{"later-buttons", laterButtons},
		{"later-menu", laterMenu},
		{"later-slot", laterSlot},
		{"busy-later", busyLater},
		{"busy-remote", busyRemote},
		{"free-phone", freePhone},
		{"find-button", findButton},
		{"find-menu", findMenu},
		{"pairing", pairing},
		{"update-firmware", Input{Screen: ScreenUpdateFirmware, Message: version}},
		{"error", Input{Screen: ScreenError, Message: "This panel was removed by an administrator. Ask facilities to pair it again."}},
		{"connecting", Input{Screen: ScreenConnecting, Message: "lintel.example.com"}},
	}
}

// localizedLangs are drawn besides English.
var localizedLangs = []string{"de", "fr", "it", "es"}

// localized returns the fixtures drawn again in every other language: the
// longest words (two-line status, offline badge, firmware text), the
// unknown schedule, the notices and buttons.
func localized() []fixture {
	var out []fixture
	keep := map[string]bool{"busy-title": true, "soon-buttons": true, "offline-buttons": true, "update-firmware": true,
		"check-in": true, "checked-in": true, "unknown-denied": true, "buttons-free": true, "end-confirm": true, "busy-reserved": true,
		"later-buttons": true, "later-menu": true, "later-slot": true, "busy-later": true, "busy-remote": true, "free-phone": true, "find-button": true, "find-menu": true}
	for _, lang := range localizedLangs {
		for _, f := range fixtures(lang) {
			if keep[f.name] {
				f.in.Locale = lang
				out = append(out, fixture{f.name + "-" + lang, f.in})
			}
		}
	}
	return out
}
