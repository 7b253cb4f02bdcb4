package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/store"
)

// The race of the review, end to end: a panel connects with its valid
// credential, an admin revokes the device, then the panel says hello. It is
// refused as revoked within a second, comes back as revoked (not
// "unknown"), and the Panels page shows it greyed until it is deleted.
func TestRevokedPanelIsOutAtOnce(t *testing.T) {
	ts := newTestServer(t)
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich", Booking: store.BookingSettings{Instant: true}})
	token := ts.addDevice("rigi")
	var devs []store.Device
	ts.api("GET", "/api/v1/devices", nil, &devs)
	if len(devs) != 1 {
		t.Fatalf("devices: %+v", devs)
	}
	id := devs[0].ID

	p := dialRaw(t, ts.wsURL(), token) // authenticated, no hello yet
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if code := ts.api("POST", "/api/v1/devices/"+id+"/revoke", nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke: %d", code)
	}
	// The hello, and at once a booking, which must not be made. (The
	// server may have closed the connection already.)
	for _, m := range []proto.Message{
		{Type: proto.TypeHello, Hello: &proto.Hello{Protocol: proto.Version, Firmware: "test"}},
		{Type: proto.TypeRequest, ID: "r1", Request: ptr(bookReq(30))},
	} {
		if b, err := proto.Encode(m); err == nil {
			p.conn.WriteMessage(websocket.TextMessage, b)
		}
	}
	m := p.next(func(m proto.Message) bool {
		return m.Type == proto.TypeError || m.Type == proto.TypeResult || isState(m)
	})
	if m.Type != proto.TypeError || m.Error.Code != proto.CodeRevoked {
		t.Fatalf("after revocation got %s, want a revoked error", m)
	}
	waitClosed(t, p)
	if d := time.Since(start); d > time.Second {
		t.Errorf("cut %s after the revocation, want within 1 s", d)
	}
	var events []store.Event
	ts.api("GET", "/api/v1/rooms/rigi/events", nil, &events)
	if len(events) != 0 {
		t.Errorf("the revoked panel booked: %+v", events)
	}

	// It comes back: revoked, not unknown.
	again := dialRaw(t, ts.wsURL(), token)
	if m := again.next(func(m proto.Message) bool { return m.Type == proto.TypeError }); m.Error.Code != proto.CodeRevoked {
		t.Errorf("reconnecting after revocation: %s %q, want %s", m.Error.Code, m.Error.Message, proto.CodeRevoked)
	}

	// Listed, greyed, until deleted.
	c, csrf := adminSession(t, ts)
	page := getPage(t, c, ts.http.URL+"/devices")
	if !strings.Contains(page, `class="device revoked"`) || !strings.Contains(page, `id="device-`+id+`"`) {
		t.Errorf("the Panels page does not show the revoked device greyed:\n%s", page)
	}
	resp, err := c.PostForm(ts.http.URL+"/devices/"+id+"/delete", map[string][]string{"csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if page := getPage(t, c, ts.http.URL+"/devices"); strings.Contains(page, `id="device-`+id+`"`) {
		t.Errorf("a deleted device is still listed")
	}
	// Deleted: still revoked for the panel, which forgets its credential
	// only on that answer.
	third := dialRaw(t, ts.wsURL(), token)
	if m := third.next(func(m proto.Message) bool { return m.Type == proto.TypeError }); m.Error.Code != proto.CodeRevoked {
		t.Errorf("reconnecting after deletion: %s, want %s", m.Error.Code, proto.CodeRevoked)
	}
	// The API deletes too.
	token2 := ts.addDevice("rigi")
	ts.api("GET", "/api/v1/devices", nil, &devs)
	for _, d := range devs {
		if d.ID == id {
			t.Errorf("deleted device %s listed by the API", id)
		}
	}
	if code := ts.api("DELETE", "/api/v1/devices/"+devs[0].ID, nil, nil); code != http.StatusNoContent {
		t.Errorf("API delete: %d", code)
	}
	fourth := dialRaw(t, ts.wsURL(), token2)
	if m := fourth.next(func(m proto.Message) bool { return m.Type == proto.TypeError }); m.Error.Code != proto.CodeRevoked {
		t.Errorf("a device deleted through the API: %s, want %s", m.Error.Code, proto.CodeRevoked)
	}
}

func ptr[T any](v T) *T { return &v }

// waitClosed waits until the server closed the raw panel's connection.
func waitClosed(t *testing.T, p *rawPanel) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-p.frames:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("the connection is still open")
		}
	}
}

func getPage(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
