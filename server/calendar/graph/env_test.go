package graph

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
)

// testSecret is long and unusual so that a leak cannot hide.
const (
	testClientID = "0b9c8d7e-1111-4222-8333-444455556666"
	testSecret   = "Xq8~t3stS3cr3t.Value-that-must-never-leak_42"
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is an emulator plus a Provider built on the real SDK, talking to it
// over TLS. Every test checks at cleanup that the secret is in no log.
type env struct {
	srv  *graphtest.Server
	p    *Provider
	cfg  Config
	logs *syncBuffer
}

func newEnv(t testing.TB, opts graphtest.Options, edit func(*Config)) *env {
	t.Helper()
	srv := graphtest.NewServer(opts)
	t.Cleanup(srv.Close)
	srv.AddApp(graphtest.App{ClientID: testClientID, Secret: testSecret, SecretID: "5e4d3c2b-aaaa-4bbb-8ccc-ddddeeeeffff"})

	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cfg := Config{
		TenantID:         srv.TenantID,
		ClientID:         testClientID,
		ClientSecretFile: secretFile,
		Cloud:            CloudCustom,
		AuthorityHost:    srv.AuthorityHost,
		GraphBaseURL:     srv.GraphURL,
		HTTPClient:       srv.Client(),
		Logger:           slog.New(slog.NewTextHandler(io.MultiWriter(logs, t.Output()), &slog.HandlerOptions{Level: slog.LevelDebug})),
		RetryBase:        20 * time.Millisecond,
	}
	if edit != nil {
		edit(&cfg)
	}
	p, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if strings.Contains(logs.String(), testSecret) {
			t.Errorf("the client secret appears in the logs")
		}
		if strings.Contains(logs.String(), "eyJ") {
			t.Errorf("an access token appears in the logs")
		}
	})
	return &env{srv: srv, p: p, cfg: cfg, logs: logs}
}

// room adds a room mailbox to the emulator and returns its address.
func (e *env) room(name string) string {
	addr := name + "@" + graphtest.DefaultTenantDomain
	e.srv.AddMailbox(graphtest.Mailbox{Address: addr, Name: name, Room: true})
	return addr
}

// day is a fixed morning, far from DST changes, for events.
var day = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

func at(h, m int) time.Time {
	return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// meeting is an event organized by a person.
func meeting(subject string, start, end time.Time) graphtest.Event {
	return graphtest.Event{Subject: subject, Organizer: "Ada Lovelace", OrganizerAddress: "ada@" + graphtest.DefaultTenantDomain, Start: start, End: end}
}
