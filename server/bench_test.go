package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/loadtest"
	"github.com/lintelhq/lintel/server/store"
)

// TestLoadSmall runs the load test against the whole server in-process:
// every panel connects, every change reaches every panel, every booking
// succeeds, and the run cleans up after itself.
func TestLoadSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("connects 200 panels")
	}
	ts := newTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := loadtest.Run(ctx, loadtest.Opts{
		Server: ts.http.URL, Token: ts.token, Panels: 200, Rooms: 20,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)), Now: ts.now,
	})
	t.Logf("\n%s", rep)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]struct {
		s    loadtest.Stats
		want int
	}{
		"connect": {rep.Connect, 200}, "one room": {rep.OneRoom, 10}, "one room after connect": {rep.OneRoomAfterConnect, 10},
		"every room": {rep.AllRooms, 200}, "book": {rep.Book, 20},
	} {
		if got.s.N != got.want || got.s.Failed != 0 {
			t.Errorf("%s: %d ok, %d failed; want %d ok", name, got.s.N, got.s.Failed, got.want)
		}
	}
	if rep.FailureCount != 0 {
		t.Errorf("failures: %q", rep.Failures)
	}
	var rooms []store.Room
	ts.api("GET", "/api/v1/rooms", nil, &rooms)
	for _, r := range rooms {
		if strings.HasPrefix(r.ID, rep.Prefix) {
			t.Errorf("room %s left behind", r.ID)
		}
	}
	if n := len(ts.app.hub.Connections()); n != 0 {
		t.Errorf("%d panels still connected after the run", n)
	}
}

// BenchmarkLoad runs the load test with 1,000 panels in 100 rooms against
// the whole server in-process (panels and server share the CPUs). The
// metrics are those of the last run: connect-all-s until every panel had
// its first state, change-* from an API change to the panels (right after
// the connect, on a quiet server, and in every room at once), book-* the
// booking round trips of one panel per room, all at once.
func BenchmarkLoad(b *testing.B) {
	url, token := startBenchServer(b)
	var rep loadtest.Report
	for b.Loop() {
		var err error
		rep, err = loadtest.Run(b.Context(), loadtest.Opts{Server: url, Token: token, Panels: 1000, Rooms: 100})
		if err != nil {
			b.Fatalf("%v\n%s", err, rep)
		}
		if rep.FailureCount > 0 {
			b.Fatalf("failures:\n%s", rep)
		}
	}
	b.Logf("\n%s", rep)
	msf := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(rep.ConnectAll.Seconds(), "connect-all-s")
	b.ReportMetric(msf(rep.OneRoomAfterConnect.Max), "change-after-connect-max-ms")
	b.ReportMetric(msf(rep.OneRoom.Max), "change-one-room-max-ms")
	b.ReportMetric(msf(rep.AllRooms.P50), "change-all-p50-ms")
	b.ReportMetric(msf(rep.AllRooms.P99), "change-all-p99-ms")
	b.ReportMetric(msf(rep.Book.P50), "book-p50-ms")
	b.ReportMetric(msf(rep.Book.P99), "book-p99-ms")
}

// startBenchServer is newTestServer for benchmarks, logging only warnings:
// debug logs of a thousand panels would be measured too.
func startBenchServer(b *testing.B) (url, token string) {
	b.Helper()
	dir := b.TempDir()
	log := slog.New(slog.NewTextHandler(b.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	var handler http.Handler = http.NotFoundHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, config{DataDir: dir, Init: true, Poll: time.Hour, PublicURL: srv.URL}, log)
	if err != nil {
		b.Fatal(err)
	}
	handler = a.handler
	a.start(ctx)
	b.Cleanup(func() {
		cancel()
		srv.CloseClientConnections()
		a.hub.Close()
		a.wait()
		srv.Close()
		a.Close()
	})
	token, err = admin.NewAPIToken(a.db, "bench", "", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	return srv.URL, token
}
