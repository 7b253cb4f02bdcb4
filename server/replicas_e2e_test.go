package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/store"
	"github.com/lintelhq/lintel/server/store/etcdtest"
)

// startReplicas runs n lintel-server replicas on one etcd cluster, in this
// process, each with its own listener, as serve --store etcd runs them.
func startReplicas(t testing.TB, cluster *etcdtest.Cluster, n int) []*testServer {
	t.Helper()
	reps := make([]*testServer, n)
	for i := range reps {
		reps[i] = newTestServerWith(t, func(c *config) {
			c.Etcd = &store.EtcdOpts{Endpoints: cluster.Endpoints(), Prefix: "/lintel-e2e"}
			c.ReplicaID = fmt.Sprint("replica-", i)
			c.Poll = time.Second
		})
	}
	return reps
}

// within waits up to limit for cond and says how long it took; the test
// fails past the limit (the promise: 10 s for a room's owner, 5 s
// for a panel's replica).
func within(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(start)
	t.Logf("%s: %v", what, took.Round(time.Millisecond))
	return took
}

// ownerOf is the live replica that owns room ("" while none does).
func ownerOf(reps []*testServer, alive map[int]bool, room string) int {
	for i, ts := range reps {
		if alive[i] && ts.app.replicas.Owns(room) {
			return i
		}
	}
	return -1
}

// servedBy is the live replica the device's panel is connected to (-1:
// none).
func servedBy(reps []*testServer, alive map[int]bool, device string) int {
	for i, ts := range reps {
		if !alive[i] {
			continue
		}
		for _, c := range ts.app.hub.Connections() {
			if c.DeviceID == device {
				return i
			}
		}
	}
	return -1
}

// TestReplicasSurviveLosses: three replicas on a three-member etcd cluster
// and a real panel that knows all three. A room's state keeps reaching the
// panel when the room's owner dies (another replica takes the room), when
// the panel's own replica dies (the panel moves to another), and when an
// etcd member stops.
func TestReplicasSurviveLosses(t *testing.T) {
	cluster := etcdtest.Start(t, 3)
	reps := startReplicas(t, cluster, 3)
	alive := map[int]bool{0: true, 1: true, 2: true}
	reps[0].addRoom(store.Room{ID: "blue", Name: "Blue", TimeZone: "UTC", Display: store.DisplayTitle, Booking: store.BookingSettings{Instant: true}})
	token := reps[1].addDevice("blue")
	var urls []string
	for _, ts := range reps[1:] {
		urls = append(urls, ts.wsURL())
	}
	p := startPanelOn(t, reps[0], token, urls)
	within(t, 10*time.Second, "the panel shows the free room", func() bool { return isGreen(p.statusColour()) })
	owner := ownerOf(reps, alive, "blue")
	if owner < 0 {
		t.Fatal("no replica owns the room")
	}
	var devs []store.Device
	if err := waitDevices(reps[0], &devs); err != nil {
		t.Fatal(err)
	}
	device := devs[0].ID

	// addEvent adds a meeting through a live replica's API: the owner,
	// whichever it is, reads it and the panel turns red (or green when
	// busy is false and the meeting is ended instead).
	meeting := 0
	busyNow := func(via int) {
		t.Helper()
		meeting++
		now := reps[via].now().UTC()
		if code := reps[via].api("POST", "/api/v1/rooms/blue/events", map[string]any{
			"subject": fmt.Sprint("Meeting ", meeting), "organizer": "Anna", "start": now.Add(-time.Minute), "end": now.Add(30 * time.Minute),
		}, nil); code != http.StatusCreated {
			t.Fatalf("add event through replica %d: %d", via, code)
		}
	}
	clearNow := func(via int) {
		t.Helper()
		if err := reps[via].app.db.UpdateEvents("blue", func([]store.Event) ([]store.Event, error) { return nil, nil }); err != nil {
			t.Fatal(err)
		}
		reps[via].app.sync.Refresh(t.Context(), "blue")
	}
	other := func(not ...int) int {
		for i := range reps {
			if alive[i] && !slices.Contains(not, i) {
				return i
			}
		}
		t.Fatal("no replica left")
		return -1
	}
	busyNow(other(owner))
	within(t, 10*time.Second, "a change through a replica that does not own the room reaches the panel", func() bool { return isRed(p.statusColour()) })

	// The owner dies: another replica takes the room and the panel sees
	// its next change.
	t.Logf("killing replica %d, the room's owner (the panel is on replica %d)", owner, servedBy(reps, alive, device))
	reps[owner].kill()
	alive[owner] = false
	killed := time.Now()
	clearNow(other())
	within(t, 10*time.Second, "the room's state after its owner died", func() bool { return isGreen(p.statusColour()) })
	if next := ownerOf(reps, alive, "blue"); next < 0 {
		t.Errorf("no live replica owns the room %v after its owner died", time.Since(killed))
	}

	// The panel's replica dies: the panel is back on the last one within
	// 5 s, and shows its changes.
	on := -1
	within(t, 10*time.Second, "the panel connected", func() bool { on = servedBy(reps, alive, device); return on >= 0 })
	reps[on].kill()
	alive[on] = false
	last := other()
	within(t, 5*time.Second, "the panel is served again by another replica", func() bool { return servedBy(reps, alive, device) == last })
	busyNow(last)
	within(t, 10*time.Second, "a change on the last replica", func() bool { return isRed(p.statusColour()) })

	// An etcd member stops: the service goes on.
	cluster.Members[0].Stop()
	clearNow(last)
	within(t, 15*time.Second, "a change with one etcd member down", func() bool { return isGreen(p.statusColour()) })
}

// waitDevices lists the devices through a replica.
func waitDevices(ts *testServer, out *[]store.Device) error {
	devs, err := ts.app.db.Devices()
	*out = devs
	if err == nil && len(devs) == 0 {
		return fmt.Errorf("no device")
	}
	return err
}

// raceOneRoom adds the room "green" and 100 panels spread over servers,
// and has every panel book it at once; it returns each panel's answer,
// the answer times sorted, and the panels' credentials.
func raceOneRoom(t *testing.T, servers []*testServer) ([]proto.Result, []time.Duration, []string) {
	t.Helper()
	servers[0].addRoom(store.Room{ID: "green", Name: "Green", TimeZone: "UTC", Display: store.DisplayTitle, Booking: store.BookingSettings{Instant: true}})
	const panels = 100
	n := len(servers)
	tokens := make([]string, panels)
	for i := range tokens {
		tokens[i] = servers[i%n].addDevice("green")
	}
	conns := make([]*rawPanel, panels)
	for i, tok := range tokens {
		conns[i] = dialRaw(t, servers[i%n].wsURL(), tok)
		conns[i].hello()
		conns[i].next(isState)
	}
	results := make([]proto.Result, panels)
	took := make([]time.Duration, panels)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprint("book-", i)
			start := time.Now()
			c.send(proto.Message{Type: proto.TypeRequest, ID: id, Request: ptr(bookReq(15))})
			results[i] = *c.next(func(m proto.Message) bool { return m.Type == proto.TypeResult && m.ID == id }).Result
			took[i] = time.Since(start)
		}()
	}
	wg.Wait()
	slices.Sort(took)
	return results, took, tokens
}

// TestBookingRaceAcrossReplicas: 100 panels on three replicas all book the
// same free room at once: exactly one booking is made, every other panel
// is told the room was just taken, and a retry of the winner's request
// through another replica gets the winner's answer, not a second booking.
func TestBookingRaceAcrossReplicas(t *testing.T) {
	// The peer, in the same run: one server on bbolt.
	single := newTestServer(t)
	peer, took, _ := raceOneRoom(t, []*testServer{single})
	if ok := slices.IndexFunc(peer, func(r proto.Result) bool { return r.OK }); ok < 0 || slices.ContainsFunc(peer[ok+1:], func(r proto.Result) bool { return r.OK }) {
		t.Error("one server: not exactly one booking")
	}
	t.Logf("peer: 100 panels on one server (bbolt) booking one room at once: answers p50 %v, p99 %v",
		took[len(took)/2].Round(time.Millisecond), took[len(took)*99/100].Round(time.Millisecond))

	cluster := etcdtest.Start(t, 1)
	reps := startReplicas(t, cluster, 3)
	results, took, tokens := raceOneRoom(t, reps)
	const panels = 100
	t.Logf("100 panels on 3 replicas booking one room at once: answers p50 %v, p99 %v, max %v",
		took[panels/2].Round(time.Millisecond), took[panels*99/100].Round(time.Millisecond), took[panels-1].Round(time.Millisecond))
	winner := -1
	for i, r := range results {
		switch {
		case r.OK && winner >= 0:
			t.Errorf("panels %d and %d both booked the room", winner, i)
		case r.OK:
			winner = i
		case r.Error == nil || r.Error.Code != proto.CodeConflict:
			t.Errorf("panel %d: %+v, want a conflict", i, r.Error)
		}
	}
	if winner < 0 {
		t.Fatal("nobody booked the free room")
	}
	evs, err := reps[0].app.db.Events("green")
	if err != nil || len(evs) != 1 {
		t.Fatalf("%d events in the room after the race (%v), want 1", len(evs), err)
	}
	// The winner's panel retries its request through another replica.
	retry := dialRaw(t, reps[(winner+1)%3].wsURL(), tokens[winner])
	retry.hello()
	retry.next(isState)
	id := fmt.Sprint("book-", winner)
	retry.send(proto.Message{Type: proto.TypeRequest, ID: id, Request: ptr(bookReq(15))})
	again := retry.next(func(m proto.Message) bool { return m.Type == proto.TypeResult && m.ID == id }).Result
	if !again.OK || again.Meeting == nil || results[winner].Meeting == nil || again.Meeting.ID != results[winner].Meeting.ID {
		t.Errorf("retry through another replica: %+v, want the original answer %+v", again, results[winner])
	}
	if evs, _ := reps[0].app.db.Events("green"); len(evs) != 1 {
		t.Errorf("%d events after the retry, want 1", len(evs))
	}
}

// TestMigrateStoreCommand: an installation's bbolt file moves to etcd and
// back with migrate-store; a second copy into the same etcd is refused.
func TestMigrateStoreCommand(t *testing.T) {
	cluster := etcdtest.Start(t, 1)
	dir := t.TempDir()
	file := dir + "/lintel.db"
	db, err := store.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutRoom(store.Room{ID: "rigi", Name: "Rigi", Calendar: "rigi", TimeZone: "UTC", Display: store.DisplayTitle}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	run := func(args ...string) (string, error) {
		var out strings.Builder
		c := Context{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Args: append([]string{"migrate-store"}, args...), Getenv: func(string) string { return "" }}
		err := c.Execute(t.Context())
		return out.String(), err
	}
	etcdArgs := []string{"--etcd-endpoints", strings.Join(cluster.Endpoints(), ","), "--etcd-prefix", "/moved"}
	if out, err := run(append([]string{"--from", "bolt:" + file, "--to", "etcd"}, etcdArgs...)...); err != nil || !strings.Contains(out, "copied") {
		t.Fatalf("to etcd: %v\n%s", err, out)
	}
	if out, err := run(append([]string{"--from", "bolt:" + file, "--to", "etcd"}, etcdArgs...)...); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a second copy into the same prefix: %v\n%s", err, out)
	}
	back := dir + "/back.db"
	if out, err := run(append([]string{"--from", "etcd", "--to", "bolt:" + back}, etcdArgs...)...); err != nil {
		t.Fatalf("back to bbolt: %v\n%s", err, out)
	}
	db, err = store.OpenExisting(back)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if r, err := db.Room("rigi"); err != nil || r.Name != "Rigi" {
		t.Errorf("room after the round trip: %+v %v", r, err)
	}
}

// TestPairThroughAnotherReplica: a panel waiting on one replica is listed
// by every replica and paired through another one; the credential goes to
// the panel over the connection it waits on, and a wrong code through
// either replica is still a wrong code.
func TestPairThroughAnotherReplica(t *testing.T) {
	cluster := etcdtest.Start(t, 1)
	reps := startReplicas(t, cluster, 2)
	reps[0].addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "UTC", Display: store.DisplayTitle})
	p := startPanel(t, reps[0], "") // unpaired, on replica 0 only

	var code string
	within(t, 10*time.Second, "replica 1 lists the code of the panel waiting on replica 0", func() bool {
		var pend []struct {
			Code string `json:"code"`
		}
		if reps[1].api("GET", "/api/v1/pairing", nil, &pend) == http.StatusOK && len(pend) == 1 {
			code = pend[0].Code
		}
		return code != ""
	})
	if pend := reps[1].app.pairer.Pending(t.Context()); len(pend) != 1 || pend[0].Addr == "" {
		t.Errorf("replica 1's pending list: %+v", pend)
	}
	if code := reps[1].api("POST", "/api/v1/pairing/ZZZZ-ZZZZ/approve", map[string]string{"room": "rigi"}, nil); code != http.StatusNotFound {
		t.Errorf("a wrong code through replica 1: %d, want 404", code)
	}
	if code := reps[1].api("POST", "/api/v1/pairing/"+code+"/approve", map[string]string{"room": "nowhere"}, nil); code != http.StatusBadRequest {
		t.Errorf("an unknown room through replica 1: %d, want 400", code)
	}
	var d struct {
		ID, Name, Room string
	}
	if status := reps[1].api("POST", "/api/v1/pairing/"+strings.ToLower(code)+"/approve", map[string]string{"room": "rigi", "name": "Rigi door"}, &d); status != http.StatusCreated {
		t.Fatalf("approve through replica 1: %d", status)
	}
	if d.Room != "rigi" || d.Name != "Rigi door" || d.ID == "" {
		t.Errorf("paired device %+v", d)
	}
	within(t, 10*time.Second, "the panel paired through replica 1 shows its room", func() bool { return isGreen(p.statusColour()) })
	if servedBy(reps, map[int]bool{0: true, 1: true}, d.ID) != 0 {
		t.Error("the paired panel is not on replica 0, where it waited")
	}
	within(t, 10*time.Second, "the code is gone from every list", func() bool {
		return len(reps[0].app.pairer.Pending(t.Context())) == 0 && len(reps[1].app.pairer.Pending(t.Context())) == 0
	})
	if status := reps[1].api("POST", "/api/v1/pairing/"+code+"/approve", map[string]string{"room": "rigi"}, nil); status != http.StatusNotFound && status != http.StatusGone {
		t.Errorf("the used code again through replica 1: %d, want 404 or 410", status)
	}

	// Revoked through replica 1: the panel on replica 0 is cut within
	// 1 s and stays out.
	if status := reps[1].api("POST", "/api/v1/devices/"+d.ID+"/revoke", nil, nil); status != http.StatusOK && status != http.StatusNoContent {
		t.Fatalf("revoke through replica 1: %d", status)
	}
	within(t, time.Second, "the panel revoked through replica 1 is cut from replica 0", func() bool {
		return servedBy(reps, map[int]bool{0: true, 1: true}, d.ID) < 0
	})

	// Calendar settings saved through replica 1 are followed by replica
	// 0; a typed secret is refused (each replica gets it as a file).
	put := map[string]any{"kind": "builtin", "public_url": "https://lintel.example.com"}
	if status := reps[1].api("PUT", "/api/v1/connector", put, nil); status != http.StatusOK {
		t.Fatalf("save the public URL through replica 1: %d", status)
	}
	within(t, 10*time.Second, "replica 0 follows the settings saved through replica 1", func() bool {
		return reps[0].app.connector.Settings().PublicURL == "https://lintel.example.com"
	})
	put = map[string]any{"kind": "m365", "tenant_id": "t", "client_id": "c", "secret": "s3cr3t"}
	if status := reps[1].api("PUT", "/api/v1/connector", put, nil); status != http.StatusBadRequest {
		t.Errorf("a typed secret through a replica: %d, want 400", status)
	}

	// So are the alert and the single sign-on settings.
	alerts := map[string]any{"webhooks": []map[string]any{{"name": "ops", "format": "json", "url": "https://hooks.example.com/lintel"}}, "max_per_hour": 7}
	if status := reps[1].api("PUT", "/api/v1/alerts/settings", alerts, nil); status != http.StatusOK {
		t.Fatalf("save the alert settings through replica 1: %d", status)
	}
	within(t, 10*time.Second, "replica 0 follows the alert settings saved through replica 1", func() bool {
		s := reps[0].app.alerts.Settings()
		return s.MaxPerHour == 7 && len(s.Webhooks) == 1
	})
	signin := map[string]any{"tenant_id": "contoso.onmicrosoft.com", "client_id": "6731de76-14a6-49ae-97bc-6eba6914391e", "secret": "s",
		"roles": map[string][]string{"admin": {"Lintel.Admin"}}}
	if status := reps[1].api("PUT", "/api/v1/signin", signin, nil); status != http.StatusOK {
		t.Fatalf("save the sign-in settings through replica 1: %d", status)
	}
	within(t, 10*time.Second, "replica 0 follows the sign-in settings saved through replica 1", func() bool {
		return reps[0].app.admin.OIDCSettings().ClientID == "6731de76-14a6-49ae-97bc-6eba6914391e"
	})
}

// bookThrough books room now through the server at url as the panel with
// token, with request id (so a retry is the same booking), and returns the
// answer; any failure of the connection is an error to retry on.
func bookThrough(url, token, id string) (proto.Result, error) {
	d := websocket.Dialer{HandshakeTimeout: 2 * time.Second}
	conn, _, err := d.Dial(url, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		return proto.Result{}, err
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	send := func(m proto.Message) error {
		b, err := proto.Encode(m)
		if err != nil {
			return err
		}
		return conn.WriteMessage(websocket.TextMessage, b)
	}
	if err := send(proto.Message{Type: proto.TypeHello, Hello: &proto.Hello{Protocol: proto.Version, Firmware: "test"}}); err != nil {
		return proto.Result{}, err
	}
	sent := false
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return proto.Result{}, err
		}
		m, err := proto.Decode(data)
		if err != nil {
			return proto.Result{}, err
		}
		switch {
		case m.Type == proto.TypeState && !sent:
			sent = true
			if err := send(proto.Message{Type: proto.TypeRequest, ID: id, Request: ptr(bookReq(15))}); err != nil {
				return proto.Result{}, err
			}
		case m.Type == proto.TypeResult && m.ID == id:
			return *m.Result, nil
		}
	}
}

// TestNoBookingLostWhileReplicasDie: waves of panels book their rooms
// through one replica, which is killed while their bookings are in flight
// (and a new replica started in its place), three times. A panel whose
// replica dies before it hears the answer retries the same request through
// another. Every room ends with exactly the one booking its panel was told
// about: none acknowledged and lost, none made twice.
func TestNoBookingLostWhileReplicasDie(t *testing.T) {
	cluster := etcdtest.Start(t, 1)
	var mu sync.Mutex
	reps := startReplicas(t, cluster, 3)
	alive := map[int]bool{0: true, 1: true, 2: true}
	const waves, perWave = 3, 15
	const rooms = waves * perWave
	tokens := make([]string, rooms)
	for i := range rooms {
		id := fmt.Sprint("room-", i)
		reps[0].addRoom(store.Room{ID: id, Name: id, TimeZone: "UTC", Display: store.DisplayTitle, Booking: store.BookingSettings{Instant: true}})
		tokens[i] = reps[0].addDevice(id)
	}
	liveURL := func(n int) string {
		mu.Lock()
		defer mu.Unlock()
		var urls []string
		for i, ts := range reps {
			if alive[i] {
				urls = append(urls, ts.wsURL())
			}
		}
		return urls[n%len(urls)]
	}

	answers := make([]proto.Result, rooms)
	tries := make([]int, rooms)
	var wg sync.WaitGroup
	for w := range waves {
		mu.Lock()
		victim := -1
		for i := range reps {
			if alive[i] {
				victim = i
				break
			}
		}
		first := reps[victim].wsURL()
		mu.Unlock()
		for i := w * perWave; i < (w+1)*perWave; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// The wave goes to the replica about to die, spread
				// over 300 ms, which it dies in the middle of.
				time.Sleep(time.Duration(i%perWave) * 20 * time.Millisecond)
				url := first
				for attempt := 0; attempt < 20; attempt++ {
					tries[i]++
					res, err := bookThrough(url, tokens[i], fmt.Sprint("book-", i))
					if err == nil {
						answers[i] = res
						return
					}
					time.Sleep(100 * time.Millisecond)
					url = liveURL(i + attempt)
				}
			}()
		}
		time.Sleep(150 * time.Millisecond) // some answered, some in flight, some not sent
		reps[victim].kill()
		mu.Lock()
		alive[victim] = false
		mu.Unlock()
		fresh := newTestServerWith(t, func(c *config) {
			c.Etcd = &store.EtcdOpts{Endpoints: cluster.Endpoints(), Prefix: "/lintel-e2e"}
			c.ReplicaID = fmt.Sprint("replica-new-", w)
			c.Poll = time.Second
		})
		mu.Lock()
		reps = append(reps, fresh)
		alive[len(reps)-1] = true
		mu.Unlock()
		t.Logf("wave %d: killed replica %d, started %s", w, victim, fresh.app.replicas.ID())
	}
	wg.Wait()

	retried := 0
	for i := range rooms {
		if tries[i] > 1 {
			retried++
		}
		room := fmt.Sprint("room-", i)
		a := answers[i]
		if !a.OK || a.Meeting == nil {
			t.Errorf("%s: the panel never heard its booking confirmed (%d tries): %+v", room, tries[i], a)
			continue
		}
		evs, err := reps[len(reps)-1].app.db.Events(room)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].ID != a.Meeting.ID {
			t.Errorf("%s: %d events stored, want exactly the acknowledged %s", room, len(evs), a.Meeting.ID)
		}
	}
	t.Logf("%d bookings in %d waves: %d answered by the replica then killed, %d retried through another; every acknowledged booking stored once", rooms, waves, rooms-retried, retried)
	if retried == 0 {
		t.Error("no booking was caught by a kill: the test did not test anything")
	}
}
