package hub_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lintelhq/lintel/panel/link"
	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/hub"
)

// TestRoundTripWithPanelLink runs the panel's real link against the real
// hub: pairing, the credential, the room's state, a booking, a new state,
// then revocation back to pairing.
func TestRoundTripWithPanelLink(t *testing.T) {
	auth := newFakeAuth()
	handler := newFakeHandler()
	pairer := &fakePairer{approve: make(chan proto.Credential), remotes: make(chan string, 4)}
	h, url := startHub(t, hub.Opts{Auth: auth, Pairer: pairer, Handler: handler})
	h.Publish("a", state("a", "Budget"))

	dir := t.TempDir()
	l, err := link.New(link.Opts{
		URL:            url,
		CredentialPath: filepath.Join(dir, "token"),
		CachePath:      filepath.Join(dir, "state.json"),
		Firmware:       "1.0.0",
		Logger:         slog.New(slog.NewTextHandler(t.Output(), nil)),
		MinBackoff:     10 * time.Millisecond,
		MaxBackoff:     50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() {
		cancel()
		for range l.Events() {
		}
		<-done
	}()
	next := func(kind link.Kind) link.Event {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for {
			select {
			case ev := <-l.Events():
				if ev.Kind == kind {
					return ev
				}
			case <-timeout:
				t.Fatalf("no %s event", kind)
			}
		}
	}

	if ev := next(link.KindPairing); ev.Pairing.Code != "K7Q4-MX2P" {
		t.Fatalf("pairing = %+v", ev.Pairing)
	}
	auth.add(hub.Device{ID: "d1", Room: "a"})
	pairer.approve <- proto.Credential{DeviceID: "d1", Token: "tok-d1"}

	if ev := next(link.KindState); title(ev.State) != "Budget" {
		t.Fatalf("state = %q", title(ev.State))
	}
	if b, err := os.ReadFile(filepath.Join(dir, "token")); err != nil || string(b) != "tok-d1\n" {
		t.Fatalf("credential file = %q, %v", b, err)
	}
	if st, err := l.Cached(); err != nil || st == nil || title(st) != "Budget" {
		t.Fatalf("Cached() = %v, %v", st, err)
	}

	res, err := l.Request(ctx, "req-1", proto.Request{Action: proto.ActionBook, Minutes: 15})
	if err != nil || !res.OK || res.Meeting.ID != "m-req-1" {
		t.Fatalf("Request = %+v, %v", res, err)
	}

	h.Publish("a", state("a", "Budget (moved)"))
	if ev := next(link.KindState); title(ev.State) != "Budget (moved)" {
		t.Fatalf("state = %q", title(ev.State))
	}

	h.Disconnect("d1", proto.CodeRevoked, "this panel was removed")
	if ev := next(link.KindRevoked); proto.CodeOf(ev.Err) != proto.CodeRevoked {
		t.Fatalf("revoked err = %v", ev.Err)
	}
	next(link.KindPairing)
	if _, err := os.Stat(filepath.Join(dir, "token")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("credential not deleted: %v", err)
	}
}
