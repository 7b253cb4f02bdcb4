package devices

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/store"
)

func newPairer(t *testing.T, now *time.Time) (*Pairer, *Service) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "lintel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.PutRoom(store.Room{ID: "r1", Name: "R1", Calendar: "r1", TimeZone: "UTC", Display: store.DisplayTitle})
	svc := New(db, Opts{Now: func() time.Time { return *now }})
	return NewPairer(svc, "https://lintel.example/"), svc
}

func TestCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := NewCode()
		if len(c) != 8 || strings.Trim(c, crockford) != "" {
			t.Fatalf("code %q is not 8 Crockford characters", c)
		}
		seen[c] = true
	}
	if len(seen) < 999 {
		t.Errorf("%d distinct codes in 1000: not random enough", len(seen))
	}
	if got := FormatCode("K7Q4MX2P"); got != "K7Q4-MX2P" {
		t.Errorf("FormatCode = %s", got)
	}
	if got := NormalizeCode(" k7q4-mx2p "); got != "K7Q4MX2P" {
		t.Errorf("NormalizeCode = %s", got)
	}
	if got := NormalizeCode("ol1i"); got != "0111" {
		t.Errorf("look-alikes: %s", got)
	}
}

// panelWaiting starts a Pair call like the hub does and returns the first
// code it sends and a channel with Pair's outcome.
func panelWaiting(t *testing.T, ctx context.Context, p *Pairer) (proto.Pairing, chan proto.Credential, chan error) {
	t.Helper()
	sent := make(chan proto.Pairing, 10)
	creds, errs := make(chan proto.Credential, 1), make(chan error, 1)
	go func() {
		c, err := p.Pair(ctx, "10.0.0.7:5000", func(m proto.Message) error { sent <- *m.Pairing; return nil })
		if err != nil {
			errs <- err
			return
		}
		creds <- c
	}()
	select {
	case pr := <-sent:
		return pr, creds, errs
	case <-time.After(5 * time.Second):
		t.Fatal("no pairing code sent")
	}
	return proto.Pairing{}, nil, nil
}

func TestPairApproveDeliversCredential(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	p, svc := newPairer(t, &now)
	ctx := context.Background()
	pr, creds, _ := panelWaiting(t, ctx, p)
	if !strings.HasPrefix(pr.URL, "https://lintel.example/pair?code=") || len(pr.Code) != 9 || pr.Code[4] != '-' {
		t.Errorf("pairing message: %+v", pr)
	}
	if !pr.Expires.Equal(now.Add(CodeLifetime)) {
		t.Errorf("expires %v, want 10 minutes from now", pr.Expires)
	}
	if pend := p.Pending(context.Background()); len(pend) != 1 || pend[0].Code != pr.Code || pend[0].Addr != "10.0.0.7:5000" {
		t.Errorf("pending: %+v", pend)
	}
	if _, err := p.Approve(ctx, "admin", pr.Code, "nope", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("approve into an unknown room: %v", err)
	}
	d, err := p.Approve(ctx, "admin", strings.ToLower(pr.Code), "r1", "Door")
	if err != nil {
		t.Fatalf("approve (after a failed one, and typed in lower case): %v", err)
	}
	cred := <-creds
	if cred.DeviceID != d.ID {
		t.Errorf("credential for %s, device %s", cred.DeviceID, d.ID)
	}
	if got, err := svc.Authenticate(ctx, cred.Token); err != nil || got.Room != "r1" {
		t.Errorf("the delivered credential does not authenticate: %+v %v", got, err)
	}
	if _, err := p.Approve(ctx, "admin", pr.Code, "r1", ""); !errors.Is(err, ErrCodeUsed) {
		t.Errorf("approving twice: %v", err)
	}
	if len(p.Pending(context.Background())) != 0 {
		t.Error("a paired panel is still pending")
	}
}

func TestPairCodesExpireAndRenew(t *testing.T) {
	now := time.Now()
	p, _ := newPairer(t, &now)
	p.svc.now = time.Now
	p.lifetime = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	sent := make(chan proto.Pairing, 10)
	done := make(chan error, 1)
	go func() {
		_, err := p.Pair(ctx, "a", func(m proto.Message) error { sent <- *m.Pairing; return nil })
		done <- err
	}()
	first := <-sent
	second := <-sent
	if second.Code == first.Code || !second.Expires.After(first.Expires) {
		t.Errorf("renewal: %+v after %+v", second, first)
	}
	if _, err := p.Approve(ctx, "admin", first.Code, "r1", ""); !errors.Is(err, ErrCodeExpired) {
		t.Errorf("approving an expired code: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Pair after the panel left: %v", err)
	}
	if n := len(p.Pending(context.Background())); n != 0 {
		t.Errorf("%d codes pending after the panel left", n)
	}
}

func TestWrongCodesAreRateLimited(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	p, _ := newPairer(t, &now)
	ctx := context.Background()
	pr, _, _ := panelWaiting(t, ctx, p)
	for i := range wrongCodeLimit {
		if _, err := p.Approve(ctx, "attacker", "AAAA-AAAA", "r1", ""); !errors.Is(err, ErrCodeUnknown) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	if _, err := p.Approve(ctx, "attacker", pr.Code, "r1", ""); !errors.Is(err, ErrTooManyCodes) {
		t.Errorf("after %d wrong codes, even the right one must wait: %v", wrongCodeLimit, err)
	}
	if _, err := p.Approve(ctx, "admin", pr.Code, "r1", ""); err != nil {
		t.Errorf("another address is not limited: %v", err)
	}
	now = now.Add(wrongCodeSpan)
	if _, err := p.Approve(ctx, "attacker", "AAAA-AAAA", "r1", ""); !errors.Is(err, ErrCodeUnknown) {
		t.Errorf("the limit does not wear off: %v", err)
	}
}
