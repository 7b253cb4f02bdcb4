package devices

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	gosync "sync"
	"time"

	"github.com/lintelhq/lintel/proto"
)

// Pairing errors, each with the sentence the admin sees.
var (
	ErrCodeUnknown  = errors.New("devices: no panel shows this pairing code; check it on the panel's screen")
	ErrCodeExpired  = errors.New("devices: this pairing code has expired; the panel shows a new one")
	ErrCodeUsed     = errors.New("devices: this pairing code was already used")
	ErrTooManyCodes = errors.New("devices: too many wrong pairing codes from this address; wait 10 minutes")
)

// Pairing defaults.
const (
	CodeLifetime   = 10 * time.Minute // a code is renewed before this
	wrongCodeLimit = 10               // wrong codes per address per window
	wrongCodeSpan  = 10 * time.Minute
	rememberCodes  = time.Hour // how long used and expired codes are told apart from unknown ones

	// MaxWaiting caps the panels waiting to be paired at once: the admin's
	// list stays short, and many addresses cannot grow it without bound.
	MaxWaiting = 100
	// CodeBurst and CodeEvery limit the codes handed to one address (an
	// IPv4 address or an IPv6 /64): CodeBurst at once, then one more every
	// CodeEvery. A panel needs one code per connection (one per
	// CodeLifetime while it waits), so twenty panels unboxed behind one
	// NAT all pair, while a client that reconnects in a loop gets nothing.
	CodeBurst = 20
	CodeEvery = 30 * time.Second

	// maxPastCodes bounds the used and expired codes remembered, and
	// maxAddresses the addresses whose code issuance is tracked; past
	// them, expired codes are simply forgotten sooner, and new addresses
	// get no code until old entries expire.
	maxPastCodes = 10_000
	maxAddresses = 50_000
	// sweepEvery is how often old entries are removed: at most once a
	// minute, by whichever call comes first.
	sweepEvery = time.Minute
)

// crockford is Crockford's base32 alphabet: no I, L, O or U, so a code read
// off a screen cannot be mistyped into another valid one.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewCode returns a pairing code of 40 random bits, as 8 Crockford base32
// characters.
func NewCode() string {
	b := make([]byte, 5)
	rand.Read(b)
	v := uint64(b[0])<<32 | uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(b[4])
	out := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		out[i] = crockford[v&31]
		v >>= 5
	}
	return string(out)
}

// FormatCode groups a code for reading: K7Q4MX2P -> K7Q4-MX2P.
func FormatCode(code string) string {
	if len(code) != 8 {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// NormalizeCode accepts what a person types: any case, spaces or dashes,
// and the letters Crockford maps to digits (O->0, I and L->1).
func NormalizeCode(s string) string {
	s = strings.ToUpper(s)
	s = strings.NewReplacer("-", "", " ", "", "O", "0", "I", "1", "L", "1").Replace(s)
	return s
}

// Pending is a panel waiting to be paired, as the admin sees it.
type Pending struct {
	Code    string    `json:"code"` // formatted, e.g. K7Q4-MX2P
	Addr    string    `json:"addr"`
	Since   time.Time `json:"since"`
	Expires time.Time `json:"expires"`
}

type waiting struct {
	code    string
	addr    string
	since   time.Time
	expires time.Time
	done    chan proto.Credential // receives the credential on approval
}

type pastCode struct {
	used bool
	at   time.Time
}

// bucket is a token bucket of codes for one address.
type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

// Pairer hands out pairing codes to unpaired panels and pairs them when an
// admin approves a code. Codes live in memory: after a restart a panel
// simply gets a new one.
type Pairer struct {
	svc      *Service
	adminURL string
	replicas Replicas      // the other replicas, or nil (Share)
	lifetime time.Duration // of a code; CodeLifetime except in tests

	mu        gosync.Mutex
	live      map[string]*waiting // by code
	past      map[string]pastCode // used or expired codes
	wrong     map[string][]time.Time
	issued    map[string]*bucket // codes handed out, by address key
	lastSweep time.Time
	changed   chan struct{} // closed and replaced whenever the pending list changes
}

// NewPairer returns a Pairer whose QR codes point at adminURL (the admin
// UI's base URL, e.g. https://lintel.example.com).
func NewPairer(svc *Service, adminURL string) *Pairer {
	return &Pairer{svc: svc, adminURL: strings.TrimRight(adminURL, "/"), lifetime: CodeLifetime, live: map[string]*waiting{},
		past: map[string]pastCode{}, wrong: map[string][]time.Time{}, issued: map[string]*bucket{}, changed: make(chan struct{})}
}

// Pair runs while an unpaired panel at addr is connected: it sends the
// panel a code, renews it before it expires, and returns the credential
// once an admin approves the code. It implements hub.Pairer.
//
// A code never outlives ctx's deadline (the hub gives an unpaired
// connection a lifetime; the panel reconnects for a new code). An address
// that asked for too many codes gets a CodeRateLimited *proto.Error, and
// CodeUnavailable when MaxWaiting panels wait already.
func (p *Pairer) Pair(ctx context.Context, addr string, send func(proto.Message) error) (proto.Credential, error) {
	for {
		if err := ctx.Err(); err != nil {
			return proto.Credential{}, err // the code expired with the connection
		}
		w, err := p.newWaiting(ctx, addr)
		if err != nil {
			return proto.Credential{}, err
		}
		// The wait is measured before the code goes out: once it has, the
		// panel (or an admin) may act at once.
		wait := w.expires.Sub(p.svc.now())
		withdraw := p.show(w) // before the panel shows it, the others know it
		err = send(proto.Message{Type: proto.TypePairing, Pairing: &proto.Pairing{
			Code: FormatCode(w.code), URL: p.adminURL + "/pair?code=" + w.code, Expires: w.expires,
		}})
		if err != nil {
			withdraw()
			p.retire(w.code, false)
			return proto.Credential{}, fmt.Errorf("devices: send pairing code: %w", err)
		}
		timer := time.NewTimer(wait)
		select {
		case cred := <-w.done:
			timer.Stop()
			withdraw()
			return cred, nil
		case <-ctx.Done():
			timer.Stop()
			withdraw()
			p.retire(w.code, false)
			return proto.Credential{}, ctx.Err()
		case <-timer.C:
			withdraw()
			p.retire(w.code, false) // and loop: a fresh code
		}
	}
}

// newWaiting issues a code to addr, within the address's rate and the cap
// on waiting panels.
func (p *Pairer) newWaiting(ctx context.Context, addr string) (*waiting, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.svc.now()
	p.sweepLocked(now)
	if len(p.live) >= MaxWaiting {
		return nil, proto.NewError(proto.CodeUnavailable, fmt.Sprintf("%d panels are waiting to be paired already: pair or switch off some of them; this panel tries again", MaxWaiting))
	}
	if !p.takeCodeLocked(addrKey(addr), now) {
		return nil, proto.NewError(proto.CodeRateLimited, fmt.Sprintf("too many pairing codes for this network address (at most %d, then one every %s): this panel tries again", CodeBurst, CodeEvery))
	}
	code := NewCode()
	for p.live[code] != nil || p.past[code] != (pastCode{}) {
		code = NewCode()
	}
	expires := now.Add(p.lifetime)
	if deadline, ok := ctx.Deadline(); ok {
		// The deadline is on the wall clock, p.svc.now may be moved:
		// compare what remains.
		if left := time.Until(deadline); left < p.lifetime {
			expires = now.Add(left)
		}
	}
	w := &waiting{code: code, addr: addr, since: now, expires: expires, done: make(chan proto.Credential, 1)}
	p.live[code] = w
	p.notifyLocked()
	return w, nil
}

// takeCodeLocked takes one code from the address's bucket.
func (p *Pairer) takeCodeLocked(key string, now time.Time) bool {
	b := p.issued[key]
	if b == nil {
		if len(p.issued) >= maxAddresses {
			return false
		}
		b = &bucket{tokens: CodeBurst, at: now}
		p.issued[key] = b
	}
	b.refill(now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (b *bucket) refill(now time.Time) {
	if now.After(b.at) {
		b.tokens = min(CodeBurst, b.tokens+float64(now.Sub(b.at))/float64(CodeEvery))
		b.at = now
	}
}

// addrKey is what code issuance is limited by: the IP address without its
// port, and for IPv6 its /64, which one client usually has whole.
func addrKey(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}

// retire moves a live code to the past, as used or expired.
func (p *Pairer) retire(code string, used bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.live, code)
	if len(p.past) < maxPastCodes {
		p.past[code] = pastCode{used: used, at: p.svc.now()}
	}
	p.notifyLocked()
}

func (p *Pairer) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Changed returns a channel closed at the next change of the pending list,
// for a UI that updates live.
func (p *Pairer) Changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.changed
}

// Pending lists the panels waiting for approval, oldest first: those
// connected here and, with several replicas, to the others.
func (p *Pairer) Pending(ctx context.Context) []Pending {
	p.mu.Lock()
	p.sweepLocked(p.svc.now())
	out := make([]Pending, 0, len(p.live))
	for _, w := range p.live {
		out = append(out, Pending{Code: FormatCode(w.code), Addr: w.addr, Since: w.since, Expires: w.expires})
	}
	p.mu.Unlock()
	out = append(out, p.pendingElsewhere(ctx)...)
	sort.Slice(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out
}

// Approve pairs the panel showing code with room: it creates the device
// and hands the panel its credential. from is the approving admin's
// address, for rate limiting wrong codes. With several replicas (Share), a
// code shown by a panel on another replica is approved there.
func (p *Pairer) Approve(ctx context.Context, from, code, room, name string) (Device, error) {
	return p.approve(ctx, from, code, room, name, p.replicas != nil)
}

// approve is Approve, of codes waiting on this replica only unless
// elsewhere.
func (p *Pairer) approve(ctx context.Context, from, code, room, name string, elsewhere bool) (Device, error) {
	code = NormalizeCode(code)
	p.mu.Lock()
	now := p.svc.now()
	p.sweepLocked(now)
	if len(p.wrong[from]) >= wrongCodeLimit {
		p.mu.Unlock()
		return Device{}, ErrTooManyCodes
	}
	w, ok := p.live[code]
	if !ok {
		past, known := p.past[code]
		if !known && elsewhere {
			p.mu.Unlock()
			if d, found, err := p.approveElsewhere(ctx, from, code, room, name); found {
				return d, err
			}
			p.mu.Lock()
		}
		p.wrong[from] = append(p.wrong[from], now)
		p.mu.Unlock()
		switch {
		case known && past.used:
			return Device{}, ErrCodeUsed
		case known:
			return Device{}, ErrCodeExpired
		}
		return Device{}, ErrCodeUnknown
	}
	delete(p.live, code) // single use: nobody else can approve it meanwhile
	p.mu.Unlock()

	d, token, err := p.svc.Add(ctx, room, name)
	if err != nil {
		p.mu.Lock()
		p.live[code] = w // still pairable: the admin may pick another room
		p.mu.Unlock()
		return Device{}, err
	}
	if err := p.svc.Seen(ctx, d.ID, w.addr, "", 0); err != nil {
		p.svc.log.Warn("cannot record the new device's address", "device", d.ID, "err", err)
	}
	p.retire(code, true)
	w.done <- proto.Credential{DeviceID: d.ID, Token: token}
	p.svc.log.Info("panel paired", "device", d.ID, "room", room, "addr", w.addr)
	return Device{ID: d.ID, Name: d.Name, Room: d.Room}, nil
}

// Device is a newly paired device, as Approve reports it.
type Device struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Room string `json:"room"`
}

// sweepLocked forgets old wrong attempts, past codes and the issuance of
// addresses whose bucket is full again. It does the work at most once
// every sweepEvery, so that calling it on every request costs nothing.
func (p *Pairer) sweepLocked(now time.Time) {
	if now.Sub(p.lastSweep) < sweepEvery && now.After(p.lastSweep) {
		return
	}
	p.lastSweep = now
	for key, b := range p.issued {
		if b.refill(now); b.tokens >= CodeBurst {
			delete(p.issued, key)
		}
	}
	for addr, ts := range p.wrong {
		kept := ts[:0]
		for _, t := range ts {
			if now.Sub(t) < wrongCodeSpan {
				kept = append(kept, t)
			}
		}
		if len(kept) == 0 {
			delete(p.wrong, addr)
		} else {
			p.wrong[addr] = kept
		}
	}
	for code, pc := range p.past {
		if now.Sub(pc.at) > rememberCodes {
			delete(p.past, code)
		}
	}
}
