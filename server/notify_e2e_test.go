package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
	"github.com/lintelhq/lintel/server/connector"
	"github.com/lintelhq/lintel/server/store"
	"github.com/lintelhq/lintel/server/sync"
)

// TestChangeNotificationEndToEnd: with a public URL, the server subscribes
// to every room mailbox in the Graph emulator (which validates the URL),
// and an event created in Outlook reaches the room's panel through a
// notification, with polling every hour, so no poll can have carried it.
// A forged notification is refused, a removed subscription is created
// again, and a removed room's subscription is deleted.
func TestChangeNotificationEndToEnd(t *testing.T) {
	ts := newTestServerWith(t, func(c *config) { c.M365Sim = true; c.Notifications = true })
	rooms, _ := ts.app.db.Rooms()
	waitFor(t, "the first poll through Graph", func() bool { _, ok := ts.app.sync.State(rooms[0].ID); return ok })
	ctx := context.Background()
	// A room outside the app's access policy gets no subscription.
	denied := store.Room{ID: "denied", Name: "Denied", Calendar: "denied@" + graphtest.DefaultTenantDomain, TimeZone: "UTC", Display: store.DisplayTitle}
	ts.app.graphSim().AddMailbox(graphtest.Mailbox{Address: denied.Calendar, Room: true})
	ts.app.graphSim().Deny(denied.Calendar)
	if err := ts.app.db.PutRoom(denied); err != nil {
		t.Fatal(err)
	}
	ts.app.subs.Reconcile(ctx)
	subs := ts.app.graphSim().Subscriptions()
	if len(subs) != len(rooms) {
		t.Fatalf("%d subscriptions for %d rooms, one denied", len(subs), len(rooms))
	}
	// Test all (and doctor) report the denied room, which is polled.
	var rep connector.Report
	ts.api("GET", "/api/v1/test", nil, &rep)
	var check connector.Check
	for _, ch := range rep.Tenant {
		if ch.Name == "change notifications" {
			check = ch
		}
	}
	if check.Level != "warn" || !strings.Contains(check.Detail, "fall back to polling") || !strings.Contains(check.Detail, denied.ID) ||
		!strings.Contains(check.Fix, "application access policy") {
		t.Errorf("Test all's change notifications check: %+v", check)
	}
	for _, s := range subs {
		if !strings.HasSuffix(s.NotificationURL, "/graph/notifications") || !strings.HasSuffix(s.LifecycleURL, "/graph/lifecycle") ||
			len(s.ClientState) < 32 || s.ExpirationDateTime.Sub(ts.now()) > graphtest.MaxSubscriptionMinutes*time.Minute {
			t.Errorf("subscription %+v", s)
		}
	}
	room := rooms[0]
	if !ts.app.subs.Subscribed(room.ID) {
		t.Fatal("room not subscribed")
	}
	// A second reconcile creates nothing more.
	ts.app.subs.Reconcile(ctx)
	if n := len(ts.app.graphSim().Subscriptions()); n != len(rooms) {
		t.Errorf("%d subscriptions after a second reconcile (the denied room waits for its retry)", n)
	}

	p := dialRaw(t, ts.wsURL(), ts.addDevice(room.ID))
	p.hello()
	p.next(isState)
	start := ts.now().Truncate(time.Minute).Add(2 * time.Hour)
	ts.app.graphSim().AddEvent(room.Calendar, graphtest.Event{Subject: "Notified", Organizer: "Ada", OrganizerAddress: "ada@contoso.onmicrosoft.com",
		Start: start, End: start.Add(30 * time.Minute)})
	p.next(func(m proto.Message) bool {
		if !isState(m) {
			return false
		}
		for _, mt := range m.State.Meetings {
			if mt.Title == "Notified" {
				return true
			}
		}
		return false
	})
	if received, _ := ts.app.subs.Counts(); received == 0 {
		t.Error("no notification counted")
	}

	waitFor(t, "the notification in the metrics", func() bool {
		_, metrics := get(t, ts.http.URL+"/metrics")
		for _, want := range []string{"lintel_notifications_received_total 1", `lintel_subscriptions{state="failing"} 1`,
			"lintel_notification_to_publish_seconds_count 1", "lintel_graph_concurrency "} {
			if !strings.Contains(metrics, want) {
				return false
			}
		}
		return true
	})

	// A forged notification (wrong clientState) is refused without acting.
	status, err := ts.app.graphSim().Notify(room.Calendar, "created", "forged", "not-the-client-state")
	if err != nil || status != http.StatusForbidden {
		t.Errorf("forged notification: %d %v, want 403", status, err)
	}
	if _, rejected := ts.app.subs.Counts(); rejected == 0 {
		t.Error("forged notification not counted as rejected")
	}

	// Graph removes a subscription: it is created again.
	var old string
	for _, s := range ts.app.graphSim().Subscriptions() {
		if s.Mailbox == strings.ToLower(room.Calendar) {
			old = s.ID
		}
	}
	if status, err := ts.app.graphSim().Lifecycle(old, "subscriptionRemoved"); err != nil || status != http.StatusAccepted {
		t.Fatalf("lifecycle: %d %v", status, err)
	}
	waitFor(t, "the removed subscription created again", func() bool {
		for _, s := range ts.app.graphSim().Subscriptions() {
			if s.Mailbox == strings.ToLower(room.Calendar) && s.ID != old {
				return true
			}
		}
		return false
	})

	// A removed room's subscription is deleted in Graph and in the store.
	if code := ts.api("DELETE", "/api/v1/rooms/"+rooms[1].ID, nil, nil); code >= 300 {
		t.Fatalf("delete room: %d", code)
	}
	ts.app.subs.Reconcile(ctx)
	for _, s := range ts.app.graphSim().Subscriptions() {
		if s.Mailbox == strings.ToLower(rooms[1].Calendar) {
			t.Errorf("removed room's subscription %s still in Graph", s.ID)
		}
	}
	stored, _ := ts.app.db.Subscriptions()
	if _, ok := stored[rooms[1].ID]; ok || len(stored) != len(rooms)-1 {
		t.Errorf("stored subscriptions %d, want %d (without the removed and the denied room)", len(stored), len(rooms)-1)
	}
}

// The notification endpoints echo Graph's validation token as text/plain,
// bound their bodies, take POST only and lead nowhere else.
func TestNotificationEndpointBounds(t *testing.T) {
	ts := newTestServerWith(t, func(c *config) { c.Notifications = true })
	post := func(path, body string) *http.Response {
		resp, err := http.Post(ts.http.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp, err := http.Post(ts.http.URL+"/graph/notifications?validationToken=abc%3C", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, _ := resp.Body.Read(buf)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(buf[:n]) != "abc<" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("validation: %d %q %s", resp.StatusCode, buf[:n], resp.Header.Get("Content-Type"))
	}
	big := `{"value":[` + strings.Repeat(`{"subscriptionId":"x","clientState":"y"},`, sync.MaxNotificationBody/40) + `{}]}`
	if r := post("/graph/notifications", big); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d, want 413", r.StatusCode)
	}
	if r := post("/graph/lifecycle", `{"value":[{"subscriptionId":"nope","clientState":"x","lifecycleEvent":"subscriptionRemoved"}]}`); r.StatusCode != http.StatusForbidden {
		t.Errorf("unknown subscription: %d, want 403", r.StatusCode)
	}
	r, _ := http.Get(ts.http.URL + "/graph/notifications")
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", r.StatusCode)
	}
	// Nothing under it is served without a session.
	for _, path := range []string{"/graph/notifications/../../api/rooms", "/graph/notifications/x", "/graph/"} {
		req, _ := http.NewRequest("GET", ts.http.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("%s: %d without a session", path, resp.StatusCode)
		}
	}
}

// Without --public-url, the public URL saved on the Connection page turns
// change notifications on (and clearing it turns them off, deleting the
// subscriptions); a URL that is not a base URL is refused.
func TestPublicURLFromConnectionPage(t *testing.T) {
	ts := newTestServerWith(t, func(c *config) { c.M365Sim = true })
	ctx := context.Background()
	if ts.app.subs.Enabled() {
		t.Fatal("notifications on without a public URL")
	}
	set := ts.app.connector.Settings()
	set.PublicURL = "ftp://lintel.example.com"
	if err := ts.app.connector.Apply(ctx, set, connector.Credentials{}); err == nil || !strings.Contains(err.Error(), "public URL") {
		t.Errorf("ftp public URL: %v", err)
	}
	set.PublicURL = ts.http.URL
	if err := ts.app.connector.Apply(ctx, set, connector.Credentials{}); err != nil {
		t.Fatal(err)
	}
	if !ts.app.subs.Enabled() || ts.app.connector.Settings().PublicURL != ts.http.URL {
		t.Fatal("the saved public URL did not turn notifications on")
	}
	ts.app.subs.Reconcile(ctx)
	rooms, _ := ts.app.db.Rooms()
	if n := len(ts.app.graphSim().Subscriptions()); n != len(rooms) {
		t.Errorf("%d subscriptions for %d rooms", n, len(rooms))
	}
	set.PublicURL = ""
	if err := ts.app.connector.Apply(ctx, set, connector.Credentials{}); err != nil {
		t.Fatal(err)
	}
	ts.app.subs.Reconcile(ctx)
	if n := len(ts.app.graphSim().Subscriptions()); n != 0 || ts.app.subs.Subscribed(rooms[0].ID) {
		t.Errorf("%d subscriptions left after the public URL was cleared", n)
	}
}
