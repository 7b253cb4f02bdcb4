package main

import (
	"net/url"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/store"
)

// A room's longest booking, set in the admin's room form, bounds what a
// panel books, however long it asks for.
func TestRoomFormBoundsPanelBookings(t *testing.T) {
	ts := newTestServer(t)
	c, csrf := adminSession(t, ts)
	zurich, _ := time.LoadLocation("Europe/Zurich")
	// Office hours end three hours from now: later than the 45 minutes
	// (or, past midnight, over for today), whatever the test's clock.
	officeEnd := ts.now().Add(3 * time.Hour).In(zurich).Format("15:04")
	resp, err := c.PostForm(ts.http.URL+"/rooms/new", url.Values{
		"csrf": {csrf}, "id": {"rigi"}, "name": {"Rigi"}, "tz": {"Europe/Zurich"}, "display": {"title"},
		"instant": {"on"}, "max_min": {"45"}, "office_end": {officeEnd},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	room, err := ts.app.db.Room("rigi")
	if err != nil || room.Booking.MaxMinutes != 45 || room.Booking.OfficeEnd != officeEnd {
		t.Fatalf("room saved from the form: %+v %v", room.Booking, err)
	}
	p := dialRaw(t, ts.wsURL(), ts.addDevice("rigi"))
	p.hello()
	p.next(isState)
	p.send(proto.Message{Type: proto.TypeRequest, ID: "long", Request: &proto.Request{Action: proto.ActionBook, Until: ts.now().Add(2 * time.Hour)}})
	m := p.next(func(m proto.Message) bool { return m.Type == proto.TypeResult })
	if !m.Result.OK {
		t.Fatalf("booking: %v", m.Result.Error)
	}
	if got := m.Result.Meeting.End.Sub(m.Result.Meeting.Start); got > 45*time.Minute {
		t.Errorf("booked for %s, want at most 45 minutes", got)
	}
	var events []store.Event
	ts.api("GET", "/api/v1/rooms/rigi/events", nil, &events)
	if len(events) != 1 || events[0].End.Sub(events[0].Start) > 45*time.Minute {
		t.Errorf("calendar: %+v", events)
	}
}
