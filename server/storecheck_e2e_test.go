package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/store"
)

// runServe runs `lintel-server serve` in-process until it fails or ctx
// times out, and returns its error and output.
func runServe(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	c := Context{Stdout: &out, Stderr: &out, Args: append([]string{"serve", "--listen", "127.0.0.1:0", "--log-level", "error"}, args...), Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := c.Execute(ctx)
	return out.String(), err
}

// A missing or empty store never silently starts fresh: panels would be
// told their credentials are unknown. serve --init (or the demo) makes a
// new one.
func TestServeNeverStartsFreshSilently(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lintel.db")
	out, err := runServe(t, "--data", dir)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "serve --init") || !strings.Contains(err.Error(), "restore") {
		t.Errorf("serve without a store: %v\n%s", err, out)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("serve created a store without --init: %v", err)
	}
	writeTestFile(t, path, "")
	if out, err := runServe(t, "--data", dir); err == nil || !strings.Contains(err.Error(), "empty") || !strings.Contains(err.Error(), "restore") {
		t.Errorf("serve with an empty store: %v\n%s", err, out)
	}
	// --init creates it, and serves until stopped.
	if out, err := runServe(t, "--data", dir, "--init"); err != nil {
		t.Fatalf("serve --init: %v\n%s", err, out)
	}
	if err := store.Verify(path); err != nil {
		t.Errorf("after serve --init: %v", err)
	}
	// From then on, no --init is needed.
	if out, err := runServe(t, "--data", dir); err != nil {
		t.Errorf("serve on the new store: %v\n%s", err, out)
	}
}

// restore verifies the backup before it replaces anything, and can
// replace a damaged store (which it cannot open) once the server is
// stopped.
func TestRestoreVerifiesBeforeReplacing(t *testing.T) {
	ts := newTestServer(t)
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich"})
	good := filepath.Join(t.TempDir(), "backup.db")
	if out, err := ts.cli("backup", good); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	// A stopped server's data directory with a good store.
	dir := t.TempDir()
	current := filepath.Join(dir, "lintel.db")
	db, err := store.Open(current)
	if err != nil {
		t.Fatal(err)
	}
	db.PutRoom(store.Room{ID: "pilatus", Name: "Pilatus", Calendar: "pilatus", TimeZone: "UTC", Display: store.DisplayTitle})
	db.Close()
	before, _ := os.ReadFile(current)

	// A backup cut in half is refused, and the store is untouched.
	data, _ := os.ReadFile(good)
	half := filepath.Join(t.TempDir(), "half.db")
	writeTestFile(t, half, string(data[:len(data)/2]))
	if out, err := ts.cli("restore", "--data", dir, half); err == nil || !strings.Contains(err.Error(), "not a usable backup") {
		t.Errorf("restore of a truncated backup: %v\n%s", err, out)
	}
	if after, _ := os.ReadFile(current); !bytes.Equal(before, after) {
		t.Error("a refused restore changed the store")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("a refused restore left files behind: %v", entries)
	}

	// The store gets damaged; restore puts the good backup back.
	if err := os.Truncate(current, 3*4096); err != nil { // its meta pages and the freelist only
		t.Fatal(err)
	}
	if _, err := store.OpenExisting(current); err == nil || !strings.Contains(err.Error(), "lintel-server restore") {
		t.Fatalf("damaged store: %v", err)
	}
	if out, err := ts.cli("restore", "--data", dir, good); err != nil {
		t.Fatalf("restore over a damaged store: %v\n%s", err, out)
	}
	db, err = store.OpenExisting(current)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if r, err := db.Room("rigi"); err != nil || r.Name != "Rigi" {
		t.Errorf("restored store: %+v %v", r, err)
	}
}
