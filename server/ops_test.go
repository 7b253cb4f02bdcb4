package main

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/store"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthReadyAndMetrics(t *testing.T) {
	ts := newTestServer(t)
	if code, _ := get(t, ts.http.URL+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich", Booking: store.BookingSettings{Instant: true}})
	// Ready as soon as the store is open and the hub serves.
	if code, body := get(t, ts.http.URL+"/readyz"); code != 200 {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	p := dialRaw(t, ts.wsURL(), ts.addDevice("rigi"))
	p.hello()
	p.next(isState)
	res := ts.app.booking.Request(context.Background(), "d", "rigi", "1", bookReq(15))
	if !res.OK {
		t.Fatalf("book: %+v", res.Error)
	}
	// The room's state is read again after the answer (booking's
	// refresh runs on its own): wait for it, then check every figure.
	var body string
	waitFor(t, "the booked room counted busy", func() bool {
		_, body = get(t, ts.http.URL+"/metrics")
		return strings.Contains(body, `lintel_rooms{status="busy"} 1`)
	})
	for _, want := range []string{
		`lintel_panels_connected{paired="true"} 1`,
		`lintel_rooms{status="busy"} 1`,
		`lintel_panel_requests_total{action="book",outcome="ok"} 1`,
		`lintel_sync_duration_seconds_count{connector="builtin"}`,
		`lintel_panels_offline 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestBackupAndRestore(t *testing.T) {
	ts := newTestServer(t)
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich"})
	file := filepath.Join(t.TempDir(), "backup.db")
	if out, err := ts.cli("backup", file); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	// Restoring into the running server's directory is refused.
	if out, err := ts.cli("restore", "--data", ts.dir, file); err == nil || !strings.Contains(err.Error(), "stop the server") {
		t.Errorf("restore while running: %v\n%s", err, out)
	}
	// Into a stopped server's directory it works, and the room is there.
	dir := t.TempDir()
	db, _ := store.Open(filepath.Join(dir, "lintel.db"))
	db.Close()
	if out, err := ts.cli("restore", "--data", dir, file); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	db, err := store.Open(filepath.Join(dir, "lintel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if r, err := db.Room("rigi"); err != nil || r.Name != "Rigi" {
		t.Errorf("restored store: %+v %v", r, err)
	}
	// A file that is not a store is refused before anything is touched.
	junk := filepath.Join(t.TempDir(), "junk.db")
	writeTestFile(t, junk, strings.Repeat("junk", 5000))
	if _, err := ts.cli("restore", "--data", dir, junk); err == nil || !strings.Contains(err.Error(), "not a usable backup") {
		t.Errorf("restore junk: %v", err)
	}
}

func TestDevTLSServesWSS(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		c := Context{Stdout: out, Stderr: io.Discard, Args: []string{"serve", "--init", "--dev-tls", "--data", dir, "--listen", "127.0.0.1:0"}, Getenv: func(string) string { return "" }}
		done <- c.Execute(ctx)
	}()
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, after, ok := strings.Cut(out.String(), "admin at "); ok {
			url, _, _ = strings.Cut(after, "/ ")
		}
	}
	if !strings.HasPrefix(url, "https://") || !strings.Contains(out.String(), "fingerprint") {
		t.Fatalf("serve --dev-tls printed: %s", out.String())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Errorf("healthz over TLS: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}
