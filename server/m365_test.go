package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lintelhq/lintel/proto"
)

// TestMicrosoft365EndToEnd runs the whole server on the real Microsoft 365
// connector against the Graph emulator (as make run-m365-sim does): panels
// get their rooms from Graph, a booking with Teams comes back with a join
// URL, doctor explains the room whose titles Exchange hides, and
// tenant-script fills in the tenant's rooms.
func TestMicrosoft365EndToEnd(t *testing.T) {
	ts := newTestServerWith(t, func(c *config) { c.M365Sim = true })
	if ts.app.provider.Name() != "graph" {
		t.Fatalf("provider %s, want graph", ts.app.provider.Name())
	}
	rooms, _ := ts.app.db.Rooms()
	if len(rooms) < 3 {
		t.Fatalf("%d rooms from the emulator's tenant", len(rooms))
	}
	waitFor(t, "the first poll through Graph", func() bool { _, ok := ts.app.sync.State(rooms[0].ID); return ok })

	// A room made free (its seeded meetings removed in the emulator, as
	// if cancelled in Outlook) to book with Teams, whatever the hour.
	free := rooms[0].ID
	ts.app.graphSim().ClearEvents(rooms[0].Calendar)
	if err := ts.app.sync.Refresh(context.Background(), free); err != nil {
		t.Fatal(err)
	}
	if st, _ := ts.app.sync.State(free); len(st.Meetings) != 0 {
		t.Fatalf("room %s still has %d meetings after they were cancelled", free, len(st.Meetings))
	}
	p := dialRaw(t, ts.wsURL(), ts.addDevice(free))
	p.hello()
	st := p.next(isState).State
	if !st.Features.Teams {
		t.Errorf("room %s does not offer Teams", free)
	}
	p.send(proto.Message{Type: proto.TypeRequest, ID: "teams-1", Request: &proto.Request{Action: proto.ActionBook, Minutes: 15, Teams: true}})
	// The answer, and the room's new state with the Teams meeting (the
	// server refreshes the room before it answers), in either order.
	var res *proto.Result
	var shown bool
	p.next(func(m proto.Message) bool {
		if m.Type == proto.TypeResult && m.ID == "teams-1" {
			res = m.Result
		}
		if isState(m) {
			for _, mt := range m.State.Meetings {
				shown = shown || (mt.Online && !mt.Start.After(ts.now()) && mt.End.After(ts.now()))
			}
		}
		return res != nil && shown
	})
	if !res.OK || res.JoinURL == "" {
		t.Fatalf("book with Teams: %+v %+v", res, res.Error)
	}
	evs := ts.app.graphSim().Events(roomAddr(t, ts, free))
	online := 0
	for _, e := range evs {
		if e.Online && e.JoinURL != "" && e.TransactionID != "" {
			online++
		}
	}
	if online != 1 {
		t.Errorf("%d online meetings in the room's calendar, want 1", online)
	}
	out, err := ts.cli("doctor")
	if err == nil {
		t.Errorf("doctor passed with a room whose titles are hidden:\n%s", out)
	}
	for _, want := range []string{"titles hidden", "Set-CalendarProcessing", "-DeleteSubject $false", "Calendars.ReadWrite"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	out, err = ts.cli("tenant-script", "--service-principal", "00000000-0000-0000-0000-000000000001")
	if err != nil {
		t.Fatalf("tenant-script: %v\n%s", err, out)
	}
	for _, want := range []string{"New-ManagementRoleAssignment", "Application Calendars.ReadWrite", rooms[0].Calendar, "Set-CalendarProcessing"} {
		if !strings.Contains(out, want) {
			t.Errorf("tenant-script lacks %q", want)
		}
	}
	// Importing rooms from Places needs a permission the demo app lacks:
	// the error says which.
	if out, err := ts.cli("rooms", "import-places", "--tz", "Europe/Zurich"); err == nil || !strings.Contains(err.Error(), "Place.Read.All") {
		t.Errorf("import-places without Place.Read.All: %v\n%s", err, out)
	}
	secret, _ := os.ReadFile(filepath.Join(ts.dir, "m365-sim-secret"))
	if s := strings.TrimSpace(string(secret)); s == "" || strings.Contains(ts.logs.String(), s) {
		t.Error("the client secret is in the server's logs (or was not written)")
	}
}

func roomAddr(t *testing.T, ts *testServer, id string) string {
	t.Helper()
	r, err := ts.app.db.Room(id)
	if err != nil {
		t.Fatal(err)
	}
	return r.Calendar
}

// TestTeamsOfferedPerRoomFromGraph: the demo tenant's Delta has no Teams
// licence (its calendar's allowedOnlineMeetingProviders is empty): its
// panel offers booking but not Teams, while Aurora's offers both, and
// the admin's room page says why Delta's does not.
func TestTeamsOfferedPerRoomFromGraph(t *testing.T) {
	ts := newTestServerWith(t, func(c *config) { c.M365Sim = true })
	for _, id := range []string{"aurora", "delta"} {
		if err := ts.app.sync.Refresh(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	offers := map[string]bool{}
	for _, id := range []string{"aurora", "delta"} {
		p := dialRaw(t, ts.wsURL(), ts.addDevice(id))
		p.hello()
		st := p.next(isState).State
		if !st.Features.Book {
			t.Errorf("%s: booking not offered", id)
		}
		offers[id] = st.Features.Teams
	}
	if !offers["aurora"] || offers["delta"] {
		t.Errorf("Teams offered: %v, want in aurora only", offers)
	}
	c := ts.adminClient(t)
	// Meetings in Microsoft 365 are not edited in Lintel's day view.
	if _, page := c.get(t, "/rooms/aurora/day"); !strings.Contains(page, "edit them there") || strings.Contains(page, "add-meeting") {
		t.Error("the day view of a Microsoft 365 room does not send the admin to Outlook")
	}
	for id, want := range map[string]bool{"aurora": false, "delta": true} {
		_, page := c.get(t, "/rooms/"+id)
		if got := strings.Contains(page, "allows no Teams meetings"); got != want {
			t.Errorf("room page of %s says the calendar allows no Teams meetings: %v, want %v", id, got, want)
		}
	}
}

// adminHTTP is a logged-in admin's browser session, without a browser.
type adminHTTP struct {
	ts *testServer
	c  *http.Client
}

// adminClient logs an admin in over HTTP.
func (ts *testServer) adminClient(t *testing.T) adminHTTP {
	t.Helper()
	c, _ := adminSession(t, ts)
	return adminHTTP{ts: ts, c: c}
}

func (a adminHTTP) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := a.c.Get(a.ts.http.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
