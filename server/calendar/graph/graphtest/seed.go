package graphtest

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// Demo is what SeedDemo created: the app's credentials and the mailboxes,
// everything a server needs to run against the emulator.
type Demo struct {
	TenantID string
	ClientID string
	// Secret is the app's client secret Value, random per run. Write it to a
	// file or an environment variable for the server; never to a flag.
	Secret string
	// Rooms are the room mailboxes. The last one has Exchange's default
	// processing, so doctor has "titles hidden" to show; the fourth
	// (Delta) has no Teams licence: its calendar allows no online
	// meetings, so its panels offer none.
	Rooms []string
	// Canary is a user mailbox outside the app's access policy: doctor's
	// least-privilege check passes with it.
	Canary string
}

// DemoClientID is the application (client) ID SeedDemo registers.
const DemoClientID = "4a1f0c3e-8b2d-4e6f-9a7b-1c2d3e4f5a6b"

// SeedDemo registers an app and a handful of rooms with a realistic day
// (see SeedDay) around now in loc, plus a canary user mailbox the app may
// not read.
func (s *Server) SeedDemo(now time.Time, loc *time.Location) Demo {
	secret := make([]byte, 30)
	if _, err := rand.Read(secret); err != nil {
		panic("graphtest: " + err.Error())
	}
	d := Demo{
		TenantID: s.TenantID,
		ClientID: DemoClientID,
		Secret:   "Lnt8Q~" + base64.RawURLEncoding.EncodeToString(secret),
		Canary:   "ceo@" + s.TenantDomain,
	}
	s.AddApp(App{ClientID: d.ClientID, Secret: d.Secret, SecretID: "9c8b7a65-4321-4fed-8cba-0987654321fe"})
	rooms := []struct {
		name     string
		capacity int
		floor    int
	}{{"Aurora", 8, 1}, {"Borealis", 12, 1}, {"Cirrus", 4, 2}, {"Delta", 20, 2}, {"Echo", 6, 3}}
	for _, r := range rooms {
		addr := strings.ToLower(r.name) + "@" + s.TenantDomain
		mb := Mailbox{Address: addr, Name: r.name, Room: true, Capacity: r.capacity, Building: "HQ", Floor: r.floor}
		if r.name == "Delta" {
			mb.OnlineMeetingProviders = []string{}
		}
		s.AddMailbox(mb)
		d.Rooms = append(d.Rooms, addr)
	}
	s.SetExchangeDefault(d.Rooms[len(d.Rooms)-1], true)
	s.AddMailbox(Mailbox{Address: d.Canary, Name: "Chief Executive"})
	s.Deny(d.Canary)
	s.SeedDay(now, loc, d.Rooms...)
	return d
}

// people organize the seeded meetings.
var people = []struct{ name, user string }{
	{"Ada Lovelace", "ada"}, {"Grace Hopper", "grace"}, {"Alan Turing", "alan"},
	{"Katherine Johnson", "katherine"}, {"Edsger Dijkstra", "edsger"}, {"Barbara Liskov", "barbara"},
}

var subjects = []string{
	"Sprint planning", "Design review", "1:1", "Customer call: Fabrikam", "Budget Q3",
	"Hiring debrief", "Architecture sync", "Retro", "Onboarding: new starters", "Vendor demo",
}

// SeedDay fills each room with a working day in loc around now, replacing
// its events: meetings from 08:00 to 18:00 today and tomorrow (the 36-hour
// window Lintel reads), with a daily stand-up (a recurring occurrence), a
// Teams meeting, a private meeting, a cancelled meeting and an all-day
// event tomorrow in some rooms. Rooms differ, and the first rooms are set
// up so that a demo shows every panel state right away: room 0 busy now,
// room 1 starting soon, room 2 free for a while, room 3 in a private
// meeting.
func (s *Server) SeedDay(now time.Time, loc *time.Location, rooms ...string) {
	if loc == nil {
		loc = time.Local
	}
	now = now.In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	at := func(day time.Time, hour, minute int) time.Time {
		return time.Date(day.Year(), day.Month(), day.Day(), hour, minute, 0, 0, loc)
	}
	roundDown := now.Truncate(15 * time.Minute)

	for i, room := range rooms {
		s.ClearEvents(room)
		domain := s.TenantDomain
		person := func(k int) (string, string) {
			p := people[(i+k)%len(people)]
			return p.name, p.user + "@" + domain
		}
		add := func(e Event) {
			if e.Organizer == "" {
				e.Organizer, e.OrganizerAddress = person(len(e.Subject))
			}
			s.AddEvent(room, e)
		}
		for d, day := range []time.Time{today, today.AddDate(0, 0, 1)} {
			// A daily stand-up, listed after the single events as Graph does.
			add(Event{Subject: "Daily stand-up", Start: at(day, 9, 30), End: at(day, 9, 45), Recurring: true})
			// Hour-long meetings, spaced differently per room.
			for h := 10 + i%2; h < 18; h += 2 + i%2 {
				k := i*7 + d*3 + h
				name, addr := person(k)
				e := Event{Subject: subjects[k%len(subjects)], Organizer: name, OrganizerAddress: addr,
					Start: at(day, h, 0), End: at(day, h, 50)}
				switch k % 5 {
				case 0:
					e.Online = true
				case 3:
					e.Sensitivity = "private"
				}
				add(e)
			}
		}
		add(Event{Subject: "Cancelled: Offsite prep", Start: at(today, 8, 0), End: at(today, 9, 0), Cancelled: true})
		if i%3 == 2 {
			tomorrow := today.AddDate(0, 0, 1)
			day := time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day(), 0, 0, 0, 0, time.UTC)
			add(Event{Subject: "Facilities: carpet cleaning", Start: day, End: day.AddDate(0, 0, 1), AllDay: true, ShowAs: "oof"})
		}
		// Make the demo states visible now, whatever the time of day.
		switch i {
		case 0:
			add(Event{Subject: "Incident review", Start: roundDown, End: roundDown.Add(45 * time.Minute), Online: true})
		case 1:
			add(Event{Subject: "Interview: backend engineer", Start: now.Add(10 * time.Minute).Truncate(time.Minute),
				End: now.Add(55 * time.Minute).Truncate(time.Minute)})
		case 2:
			s.clearBetween(room, now.Add(-30*time.Minute), now.Add(2*time.Hour))
		case 3:
			add(Event{Subject: "Salary review", Start: roundDown, End: roundDown.Add(30 * time.Minute), Sensitivity: "private"})
		}
	}
}

// clearBetween drops a room's events that overlap [from, to).
func (s *Server) clearBetween(room string, from, to time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxes[strings.ToLower(room)]
	if mb == nil {
		return
	}
	kept := mb.events[:0]
	for _, e := range mb.events {
		if e.Start.Before(to) && e.End.After(from) && !e.AllDay {
			continue
		}
		kept = append(kept, e)
	}
	mb.events = kept
}

// String describes the demo without its secret.
func (d Demo) String() string {
	return fmt.Sprintf("graphtest.Demo{tenant %s, client %s, %d rooms, canary %s}", d.TenantID, d.ClientID, len(d.Rooms), d.Canary)
}
