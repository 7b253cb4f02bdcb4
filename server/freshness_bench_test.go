package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/graph"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
	"github.com/lintelhq/lintel/server/store"
	"github.com/lintelhq/lintel/server/sync"
)

// BenchmarkFreshness measures how long a change made in Outlook takes to
// reach a room's published state, against the Graph emulator with 150 ms
// per operation, 4 operations in flight per mailbox and $batch running 4
// items at a time, through the real SDK: with change notifications (and
// the 15 min safety poll) and with polling alone (every 15 s). It also
// counts Graph requests while nothing changes. It runs in real time (a
// minute or two per case): it is a measurement, not a unit test.
//
//	go test -run '^$' -bench 'Freshness/notify/2000' -benchtime 1x ./server/
//	make bench-freshness   # all cases, 2,000 and 5,000 rooms
//
// With -short each case uses 100 rooms and a few seconds.
func BenchmarkFreshness(b *testing.B) {
	for _, rooms := range []int{2000, 5000} {
		for _, mode := range []string{"notify", "poll"} {
			b.Run(fmt.Sprintf("%s/%d", mode, rooms), func(b *testing.B) {
				n := rooms
				if testing.Short() {
					n = 100
				}
				for range b.N {
					freshness(b, n, mode == "notify")
				}
			})
		}
	}
}

// publishRecorder notes when each change (a meeting titled "chg-...")
// first appears in a published state.
type publishRecorder struct {
	mu   gosync.Mutex
	seen map[string]time.Time
}

func (p *publishRecorder) Publish(room string, st proto.State) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range st.Meetings {
		if strings.HasPrefix(m.Title, "chg-") {
			if _, ok := p.seen[m.Title]; !ok {
				p.seen[m.Title] = now
			}
		}
	}
}

func freshness(b *testing.B, rooms int, notify bool) {
	const secret = "bench-secret-value"
	const clientID = "0b9c8d7e-1111-4222-8333-444455556666"
	short := testing.Short()
	notifyTransport := &http.Transport{MaxIdleConnsPerHost: 256}
	sim := graphtest.NewServer(graphtest.Options{OpLatency: 150 * time.Millisecond,
		NotifyClient: &http.Client{Timeout: 10 * time.Second, Transport: notifyTransport}})
	defer sim.Close()
	sim.AddApp(graphtest.App{ClientID: clientID, Secret: secret})
	dir := b.TempDir()
	db, err := store.Open(filepath.Join(dir, "lintel.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	addrs := make([]string, rooms)
	for i := range rooms {
		addrs[i] = fmt.Sprintf("room%05d@%s", i, graphtest.DefaultTenantDomain)
		sim.AddMailbox(graphtest.Mailbox{Address: addrs[i], Room: true})
		if err := db.PutRoom(store.Room{ID: fmt.Sprintf("r%05d", i), Name: fmt.Sprintf("Room %05d", i), Calendar: addrs[i], TimeZone: "UTC", Display: store.DisplayTitle}); err != nil {
			b.Fatal(err)
		}
	}
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte(secret), 0o600); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(b.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prov, err := graph.New(ctx, graph.Config{TenantID: sim.TenantID, ClientID: clientID, ClientSecretFile: secretFile,
		Cloud: graph.CloudCustom, AuthorityHost: sim.AuthorityHost, GraphBaseURL: sim.GraphURL, HTTPClient: sim.Client(), Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	rec := &publishRecorder{seen: map[string]time.Time{}}
	var subs *sync.Subscriptions
	polled := make(chan time.Duration, 1)
	syncer := sync.New(sync.Opts{Provider: prov, Store: db, Publisher: rec, Logger: log,
		Subscribed: func(id string) bool { return subs.Subscribed(id) },
		Observe: func(_ string, took time.Duration, _ error) {
			select {
			case polled <- took:
			default:
			}
		}})
	mux := http.NewServeMux()
	endpoint := httptest.NewServer(mux)
	defer endpoint.Close()
	publicURL := ""
	if notify {
		publicURL = endpoint.URL
	}
	subs, err = sync.NewSubscriptions(sync.SubscriptionOpts{Subscriber: func() calendar.Subscriber { return prov },
		Store: db, Syncer: syncer, PublicURL: publicURL, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	mux.HandleFunc(sync.NotificationsPath, subs.ServeNotifications)
	mux.HandleFunc(sync.LifecyclePath, subs.ServeLifecycle)

	var wg gosync.WaitGroup
	defer wg.Wait()
	defer cancel()
	start := time.Now()
	if notify {
		subs.Reconcile(ctx)
		created := 0
		for _, st := range subs.Status() {
			if st.State == "active" {
				created++
			}
		}
		b.Logf("%d rooms: %d subscriptions created in %s, %d 429s", rooms, created, time.Since(start).Round(time.Millisecond), sim.Stats().Throttled)
	}
	// The server's start: a full read of every room (each state stored
	// for the first time), then the schedule. Changes are measured once
	// it is done.
	sim.ResetStats()
	wg.Go(func() { syncer.Run(ctx) })
	took := <-polled
	b.Logf("%d rooms: first full read in %s (%d requests, %d 429s, concurrency now %d)", rooms,
		took.Round(time.Millisecond), sim.Stats().Requests, sim.Stats().Throttled, prov.Concurrency())
	sim.ResetStats()

	// Changes at random rooms, evenly spread over the window.
	changes, window := 200, 45*time.Second
	if short {
		changes, window = 20, 5*time.Second
	}
	made := map[string]time.Time{}
	t0 := time.Now()
	for i := range changes {
		time.Sleep(time.Until(t0.Add(window * time.Duration(i) / time.Duration(changes))))
		title := fmt.Sprintf("chg-%04d", i)
		at := time.Now().UTC().Truncate(time.Minute).Add(time.Hour)
		made[title] = time.Now()
		sim.AddEvent(addrs[rand.N(rooms)], graphtest.Event{Subject: title, Organizer: "Ada", OrganizerAddress: "ada@" + graphtest.DefaultTenantDomain, Start: at, End: at.Add(30 * time.Minute)})
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		rec.mu.Lock()
		n := len(rec.seen)
		rec.mu.Unlock()
		if n == changes {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	st := sim.Stats()
	var lat []time.Duration
	rec.mu.Lock()
	for title, at := range made {
		if seen, ok := rec.seen[title]; ok {
			lat = append(lat, seen.Sub(at))
		}
	}
	rec.mu.Unlock()
	slices.Sort(lat)
	if len(lat) < changes {
		b.Errorf("%d of %d changes published within 2 minutes", len(lat), changes)
	}
	if len(lat) == 0 {
		return
	}
	p50, p99 := lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]

	// Nothing changes: count Graph requests.
	idle := time.Minute
	if short {
		idle = 5 * time.Second
	}
	sim.ResetStats()
	time.Sleep(idle)
	idleReq := sim.Stats().Requests
	perRoomHour := float64(idleReq) / float64(rooms) / idle.Hours()
	mode := "polling"
	if notify {
		mode = "notifications"
	}
	b.Logf("%s, %d rooms: change -> published p50 %s p99 %s max %s (%d changes; %d Graph requests, %d 429s during them); idle: %d requests in %s = %.1f/min, %.3f per room-hour",
		mode, rooms, p50.Round(time.Millisecond), p99.Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), len(lat), st.Requests, st.Throttled,
		idleReq, idle, float64(idleReq)/idle.Minutes(), perRoomHour)
	b.ReportMetric(p50.Seconds(), "p50-s")
	b.ReportMetric(p99.Seconds(), "p99-s")
	b.ReportMetric(float64(idleReq)/idle.Minutes(), "idle-req/min")
	b.ReportMetric(perRoomHour, "idle-req/room-h")
	b.ReportMetric(float64(st.Throttled), "429s")
}
