package ratelimit

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLimiterBurstThenRate(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	l := New(Opts{Burst: 10, Every: 30 * time.Second, Now: func() time.Time { return now }})
	allowed := 0
	for range 1000 {
		now = now.Add(10 * time.Millisecond) // 100 a second for 10 s
		if l.Allow("d1") {
			allowed++
		}
	}
	if allowed != 10 {
		t.Errorf("%d allowed in 10 s, want the burst of 10", allowed)
	}
	now = now.Add(30 * time.Second)
	if !l.Allow("d1") || l.Allow("d1") {
		t.Error("after 30 s exactly one more is allowed")
	}
	if !l.Allow("d2") {
		t.Error("another key is not limited")
	}
	// Keys whose bucket is full again are forgotten.
	now = now.Add(time.Hour)
	l.Allow("d3")
	if n := l.Keys(); n != 1 {
		t.Errorf("%d keys tracked an hour later, want 1", n)
	}
}

func TestLimiterBoundsKeys(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	l := New(Opts{Burst: 1, Every: time.Minute, MaxKeys: 100, Now: func() time.Time { return now }})
	refused := 0
	for i := range 1000 {
		if !l.Allow(fmt.Sprint("key-", i)) {
			refused++
		}
	}
	if l.Keys() > 100 || refused != 900 {
		t.Errorf("%d keys, %d refused; want at most 100 keys and 900 refused", l.Keys(), refused)
	}
	now = now.Add(time.Minute)
	if !l.Allow("new") {
		t.Error("a new key is refused once the old ones are full again")
	}
}

// The review's finding: on a full disk every request logged an error line
// (32 MB in 25 s). Per cause, ten lines get through, then one a minute,
// saying how many were held back.
func TestLogIsLimitedPerCause(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(Log(slog.NewTextHandler(&out, nil), 10, time.Minute))
	store := log.With("component", "booking")
	full := errors.New("store: write /var/lib/lintel/lintel.db: no space left on device")
	for i := range 10000 {
		store.Error("cannot record request outcome; a retry may act again", "device", fmt.Sprint("d", i%50), "err", full)
	}
	log.Error("something else failed")
	store.Warn("panel request refused")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 12 {
		t.Fatalf("%d lines for 10,000 identical failures and two others, want 12:\n%s", len(lines), out.String())
	}
	if out.Len() > 4000 {
		t.Errorf("%d bytes logged", out.Len())
	}
	// Another component's same message is another cause.
	log.With("component", "admin").Error("cannot record request outcome; a retry may act again")
	if n := strings.Count(out.String(), "\n"); n != 13 {
		t.Errorf("another component's line was held back: %d lines", n)
	}
	// A logger per connection (with its remote address) is no new cause:
	// a flood of connections logs as little as one connection.
	hub := log.With("component", "hub")
	for i := range 1000 {
		hub.With("remote", fmt.Sprintf("10.0.%d.%d:4000", i/256, i%256)).Info("hub: connection closed")
	}
	if n := strings.Count(out.String(), "connection closed"); n != 10 {
		t.Errorf("%d lines for 1000 connections, want 10", n)
	}
}

func TestLogSaysHowManyWereSuppressed(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	h := Log(slog.NewTextHandler(&out, nil), 1, time.Minute).(*logHandler)
	h.shared.limiter.now = func() time.Time { return now }
	log := slog.New(h)
	for range 5 {
		log.Error("disk full")
	}
	now = now.Add(time.Minute)
	log.Error("disk full")
	if !strings.Contains(out.String(), "suppressed=4") {
		t.Errorf("no count of the suppressed lines:\n%s", out.String())
	}
	log.Debug("debug lines are not limited")
}
