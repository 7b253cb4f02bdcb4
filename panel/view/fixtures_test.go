package view

import (
	"strings"
	"time"

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

// fixtures returns every state the golden files cover.
func fixtures() []fixture {
	busy := meeting("b1", "Product roadmap review", 9, 30, 10, 30)
	withTitle := append([]proto.Meeting{busy}, later()...)

	reserved := meeting("b2", "Reserved", 9, 30, 10, 30)
	reserved.Private = true

	checkIn := meeting("c1", "Weekly sync", 10, 0, 11, 0)
	checkIn.CheckIn = true

	long := meeting("b3", strings.Repeat("Very long meeting title that goes on and on ", 7), 9, 30, 10, 30)

	allDay := proto.Meeting{ID: "a1", Title: "Offsite preparation", AllDay: true,
		Start: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)}

	offline := room(state(withTitle...))
	offline.Offline, offline.OfflineSince = true, at(9, 52)

	stale := room(state(later()...))
	stale.State.Stale, stale.State.LastSync = true, at(9, 40).UTC()

	buttonsFree := room(state(later()...))
	buttonsFree.Buttons = []Button{
		{Label: "Book 15 min", Action: "book:15"},
		{Label: "Book 30 min", Action: "book:30"},
		{Label: "Until 11:00", Action: "book:until"},
		{Label: "Book + Teams", Action: "book:teams", Disabled: true},
	}
	buttonsBusy := room(state(withTitle...))
	buttonsBusy.Message = "Booked until 10:30 with Teams"
	buttonsBusy.Buttons = []Button{{Label: "End now", Action: "end"}, {Label: "+15 min", Action: "extend:15"}}

	checkInIn := room(state(append([]proto.Meeting{checkIn}, later()[1:]...)...))
	checkInIn.Buttons = []Button{{Label: "Check in", Action: "checkin"}}

	unknownZone := room(state(later()...))
	unknownZone.State.Room.TimeZone = "Mars/Olympus_Mons"

	noClock := room(state(withTitle...))
	noClock.Now = time.Time{}

	offlineButtons := room(state(later()...))
	offlineButtons.Offline, offlineButtons.OfflineSince = true, at(9, 52)
	offlineButtons.Message = "Booking needs a connection to the server"
	offlineButtons.Buttons = []Button{{Label: "Book 15 min", Action: "book:15", Disabled: true}, {Label: "Book 30 min", Action: "book:30", Disabled: true}}

	pairing := Input{Screen: ScreenPairing, Now: fixNow, Pairing: &proto.Pairing{
		Code: "K7Q4-MX2P", URL: "https://lintel.example.com/admin/pair?code=K7Q4-MX2P", Expires: at(10, 20)}}

	return []fixture{
		{"free", room(state(later()...))},
		{"free-all-day", room(state())},
		{"soon", room(state(append([]proto.Meeting{meeting("s1", "Weekly sync", 10, 10, 11, 0)}, later()[1:]...)...))},
		{"busy-title", room(state(withTitle...))},
		{"busy-reserved", room(state(append([]proto.Meeting{reserved}, later()...)...))},
		{"busy-organizer", room(state(append([]proto.Meeting{meeting("b4", "Anna Müller", 9, 30, 10, 30)}, later()[2:]...)...))},
		{"busy-all-day", room(state(append([]proto.Meeting{allDay}, later()...)...))},
		{"check-in", checkInIn},
		{"long-title", room(state(long))},
		{"offline", offline},
		{"offline-buttons", offlineButtons},
		{"stale", stale},
		{"zone-unknown", unknownZone},
		{"no-clock", noClock},
		{"buttons-free", buttonsFree},
		{"buttons-notice", buttonsBusy},
		{"pairing", pairing},
		{"update-firmware", Input{Screen: ScreenUpdateFirmware, Message: "The server speaks protocol 2; this panel speaks protocol 1."}},
		{"error", Input{Screen: ScreenError, Message: "This panel was removed by an administrator. Ask facilities to pair it again."}},
		{"connecting", Input{Screen: ScreenConnecting, Message: "lintel.example.com"}},
	}
}

// localized returns the fixtures drawn again in German and French: the
// longest words (two-line status, offline badge, firmware text).
func localized() []fixture {
	var out []fixture
	keep := map[string]bool{"busy-title": true, "soon": true, "offline": true, "update-firmware": true}
	for _, lang := range []string{"de", "fr"} {
		for _, f := range fixtures() {
			if keep[f.name] {
				f.in.Locale = lang
				out = append(out, fixture{f.name + "-" + lang, f.in})
			}
		}
	}
	return out
}
