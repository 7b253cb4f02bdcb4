package devices

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
)

// connectOnce is one unpaired panel connecting and leaving at once, as a
// flood does: it reports whether the panel got a code, and the refusal
// otherwise.
func connectOnce(p *Pairer, addr string) (bool, error) {
	ctx, cancel := context.WithCancel(context.Background())
	got := false
	_, err := p.Pair(ctx, addr, func(proto.Message) error {
		got = true
		cancel() // the panel leaves as soon as it has its code
		return nil
	})
	cancel()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return got, err
}

// The attack: one address connects and disconnects thousands of times.
// Each connect used to leave a code behind for good, and nothing limited
// how many codes one address got.
func TestPairingFloodFromOneAddressIsBounded(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	p, _ := newPairer(t, &now)
	issued, refused := 0, 0
	for i := range 5000 {
		now = now.Add(time.Millisecond) // 1,000 connects a second
		got, err := connectOnce(p, fmt.Sprintf("198.51.100.7:%d", 1024+i))
		switch {
		case got:
			issued++
		case err != nil:
			var pe *proto.Error
			if !errors.As(err, &pe) || pe.Code != proto.CodeRateLimited {
				t.Fatalf("refusal %d: %v, want a %s proto error", i, err, proto.CodeRateLimited)
			}
			refused++
		}
	}
	if issued > 20 {
		t.Errorf("one address got %d codes in 5 s, want at most 20", issued)
	}
	if issued == 0 || issued+refused != 5000 {
		t.Errorf("issued %d, refused %d", issued, refused)
	}
	// Another address is not affected.
	if got, err := connectOnce(p, "192.0.2.1:4000"); !got || err != nil {
		t.Errorf("another address: got=%v err=%v", got, err)
	}
	// The limit wears off: a minute later the address gets codes again.
	now = now.Add(time.Minute)
	if got, err := connectOnce(p, "198.51.100.7:9999"); !got || err != nil {
		t.Errorf("after a minute: got=%v err=%v", got, err)
	}
	// Codes left behind are removed on a timer: two hours later nothing of
	// the flood is held.
	now = now.Add(2 * time.Hour)
	p.Pending(context.Background())
	p.mu.Lock()
	left := len(p.past) + len(p.live)
	p.mu.Unlock()
	if left != 0 {
		t.Errorf("%d codes held two hours after the flood, want 0", left)
	}
}

// Many addresses (an IPv6 prefix each, or a botnet) cannot grow the list of
// panels waiting without bound: it is capped, and the admin's /pair page
// stays small.
func TestPairingWaitingListIsCapped(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	p, _ := newPairer(t, &now)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, 3000)
	sent := make(chan struct{}, 3000)
	for i := range 3000 {
		addr := fmt.Sprintf("10.%d.%d.1:5000", i/256, i%256)
		go func() {
			_, err := p.Pair(ctx, addr, func(proto.Message) error { sent <- struct{}{}; return nil })
			errs <- err
		}()
	}
	waiting, refused := 0, 0
	for waiting+refused < 3000 {
		select {
		case <-sent:
			waiting++
		case err := <-errs:
			var pe *proto.Error
			if !errors.As(err, &pe) || pe.Code != proto.CodeUnavailable {
				t.Fatalf("refusal: %v, want a %s proto error", err, proto.CodeUnavailable)
			}
			refused++
		case <-time.After(10 * time.Second):
			t.Fatalf("stuck at %d waiting, %d refused", waiting, refused)
		}
	}
	if n := len(p.Pending(context.Background())); n > 100 || n != waiting {
		t.Errorf("%d panels waiting (%d sent a code), want at most 100", n, waiting)
	}
}

// A code's expiry is never later than the connection's own deadline: the
// hub closes an unpaired connection when its lifetime ends.
func TestPairingCodeExpiresWithTheConnection(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	p, _ := newPairer(t, &now)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sent := make(chan proto.Pairing, 1)
	go p.Pair(ctx, "192.0.2.9:1", func(m proto.Message) error { sent <- *m.Pairing; return nil })
	pr := <-sent
	if want := now.Add(3 * time.Minute); pr.Expires.After(want) || pr.Expires.Before(want.Add(-5*time.Second)) {
		t.Errorf("code expires %v, want the connection's deadline %v", pr.Expires, want)
	}
}
