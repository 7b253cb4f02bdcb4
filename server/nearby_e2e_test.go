package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/store"
)

// TestNearbyFreeRooms: a busy room's panels are told the free rooms of
// its building that they may book (its floor first), not those of
// another building, without booking at the panel, or busy; a panel books
// one of them (not a check-in: the people are not at that door yet), and
// not a room of another building.
func TestNearbyFreeRooms(t *testing.T) {
	ts := newTestServer(t)
	instant := store.BookingSettings{Instant: true}
	for _, r := range []store.Room{
		{ID: "aurora", Name: "Aurora", Building: "HQ", Floor: "4", Booking: instant},
		{ID: "borealis", Name: "Borealis", Building: "HQ", Floor: "4", Capacity: 8, Booking: instant},
		{ID: "cirrus", Name: "Cirrus", Building: "HQ", Floor: "2", Capacity: 4, Booking: instant},
		{ID: "delta", Name: "Delta", Building: "Annex", Floor: "4", Booking: instant},
		{ID: "echo", Name: "Echo", Building: "HQ", Floor: "4"},
		{ID: "fjord", Name: "Fjord", Building: "HQ", Floor: "4", Booking: instant},
	} {
		r.TimeZone, r.Display = "UTC", store.DisplayTitle
		ts.addRoom(r)
	}
	now := ts.minute()
	for _, room := range []string{"aurora", "fjord"} {
		if code := ts.api("POST", "/api/v1/rooms/"+room+"/events", map[string]any{"subject": "Busy", "start": now.Add(-time.Minute), "end": now.Add(time.Hour)}, nil); code != http.StatusCreated {
			t.Fatalf("add event: %d", code)
		}
	}
	if err := ts.app.sync.SyncAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts.app.sync.Refresh(context.Background(), "aurora") // with every other room's state known

	p := dialRaw(t, ts.wsURL(), ts.addDevice("aurora"))
	p.hello()
	st := p.next(isState).State
	var ids []string
	for _, n := range st.Nearby {
		ids = append(ids, n.ID)
	}
	if len(ids) != 2 || ids[0] != "borealis" || ids[1] != "cirrus" {
		t.Fatalf("nearby %v, want borealis (same floor) then cirrus", ids)
	}
	if b := st.Nearby[0]; b.Capacity != 8 || b.Floor != "4" || b.Name != "Borealis" {
		t.Errorf("borealis as told: %+v", b)
	}

	p.send(proto.Message{Type: proto.TypeRequest, ID: "there", Request: &proto.Request{Action: proto.ActionBook, Minutes: 30, Room: "borealis"}})
	res := p.next(func(m proto.Message) bool { return m.Type == proto.TypeResult && m.ID == "there" }).Result
	if !res.OK || res.Meeting == nil {
		t.Fatalf("book borealis from aurora's panel: %+v", res)
	}
	evs, _ := ts.app.db.Events("borealis")
	if len(evs) != 1 || evs[0].ID != res.Meeting.ID {
		t.Fatalf("borealis's events %+v", evs)
	}
	if ts.app.db.CheckedIn("borealis", res.Meeting.ID) {
		t.Error("a booking of a nearby room counts as a check-in")
	}
	if evs, _ := ts.app.db.Events("aurora"); len(evs) != 1 {
		t.Errorf("aurora's own calendar changed: %+v", evs)
	}
	p.send(proto.Message{Type: proto.TypeRequest, ID: "annex", Request: &proto.Request{Action: proto.ActionBook, Minutes: 30, Room: "delta"}})
	if res := p.next(func(m proto.Message) bool { return m.Type == proto.TypeResult && m.ID == "annex" }).Result; res.OK || res.Error == nil || res.Error.Reason != proto.ReasonBookingOff {
		t.Errorf("book a room of another building: %+v", res)
	}
	if evs, _ := ts.app.db.Events("delta"); len(evs) != 0 {
		t.Errorf("delta booked from another building: %+v", evs)
	}
}
