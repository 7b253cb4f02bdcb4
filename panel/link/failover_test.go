package link

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
)

// TestRotation: the order in which the URLs are tried, step by step. The
// shuffle draws from randN; "first" (randN(n) = n-1) keeps the order
// given, "swap" (randN(n) = 0) puts the last URL first.
func TestRotation(t *testing.T) {
	fail, healthy := outcome{}, outcome{healthy: true}
	type step struct {
		out       outcome
		next      string // the URL tried after it
		cycleOver bool   // Run backs off before trying next
	}
	tests := []struct {
		name  string
		urls  []string
		randN func(int64) int64
		first string // the URL tried first
		steps []step
	}{
		{"failed dials move on at once; backoff after all failed", []string{"a", "b", "c"}, keep, "a", []step{
			{fail, "b", false},
			{fail, "c", false},
			{fail, "a", true},
			{fail, "b", false},
		}},
		{"the shuffle decides the order", []string{"a", "b", "c"}, swap, "b", []step{
			{fail, "c", false},
			{fail, "a", false},
			{fail, "b", true},
		}},
		{"a dropped connection: the others at once, then back off", []string{"a", "b", "c"}, keep, "a", []step{
			{healthy, "b", false},
			{fail, "c", false},
			{fail, "a", true}, // a is not tried again before backing off
			{fail, "b", false},
		}},
		{"a drop after a failover: the dropped URL goes last", []string{"a", "b", "c"}, keep, "a", []step{
			{fail, "b", false},
			{healthy, "a", false},
			{fail, "c", false},
			{fail, "a", true},
		}},
		{"a single URL backs off after a drop, as before", []string{"a"}, keep, "a", []step{
			{healthy, "a", true},
			{fail, "a", true},
		}},
		{"a new credential: the same URL at once", []string{"a", "b"}, keep, "a", []step{
			{outcome{again: true}, "a", false},
			{outcome{again: true, healthy: true}, "a", false},
			{fail, "b", false},
		}},
		{"an unsupported protocol: try another replica first", []string{"a", "b"}, keep, "a", []step{
			{outcome{updateFirmware: true}, "b", false},
			{fail, "a", true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &rotation{urls: tc.urls, randN: tc.randN}
			if got := r.next(); got != tc.first {
				t.Fatalf("first URL %s, want %s", got, tc.first)
			}
			for i, s := range tc.steps {
				over := r.after(s.out)
				if got := r.next(); got != s.next || over != s.cycleOver {
					t.Fatalf("step %d (%+v): next %s, cycle over %v; want %s, %v", i, s.out, got, over, s.next, s.cycleOver)
				}
			}
		})
	}
}

func keep(n int64) int64 { return n - 1 }
func swap(int64) int64   { return 0 }

// TestRotationShufflesOncePerCycle: the order is drawn when a cycle
// starts (n-1 draws for n URLs) and never between attempts; over many
// cycles every URL comes first about as often (a panel of a lost replica
// does not always land on the same other one).
func TestRotationShufflesOncePerCycle(t *testing.T) {
	var draws int
	seq := []int64{2, 0, 1, 1} // the draws of two cycles of three URLs
	r := &rotation{urls: []string{"a", "b", "c"}, randN: func(n int64) int64 {
		v := seq[draws%len(seq)] % n
		draws++
		return v
	}}
	var tried []string
	for i := range 6 {
		before := draws
		tried = append(tried, r.next())
		want := 0
		if i%3 == 0 {
			want = 2 // a cycle starts: Fisher-Yates draws n-1 times
		}
		if got := draws - before; got != want {
			t.Errorf("attempt %d: %d draws, want %d", i, got, want)
		}
		r.after(outcome{})
	}
	// Cycle 1: i=2 draws 2 (stay), i=1 draws 0 (swap a,b): b a c.
	// Cycle 2: i=2 draws 1 (swap b,c), i=1 draws 1 (stay): a c b.
	if want := []string{"b", "a", "c", "a", "c", "b"}; !slices.Equal(tried, want) {
		t.Errorf("tried %v, want %v", tried, want)
	}

	counts := map[string]int{}
	rr := &rotation{urls: []string{"a", "b", "c"}, randN: rand.New(rand.NewPCG(1, 2)).Int64N}
	for range 3000 {
		counts[rr.next()]++
		rr.order = nil // a new cycle every time
	}
	for u, n := range counts {
		if n < 800 || n > 1200 {
			t.Errorf("%s first in %d of 3000 cycles, want about 1000: %v", u, n, counts)
		}
	}
}

// trace records the attempts and waits of a link, in order, and signals
// each one.
type trace struct {
	mu    sync.Mutex
	steps []string
	added chan struct{}
}

func newTrace() *trace { return &trace{added: make(chan struct{}, 1024)} }

func (tr *trace) add(s string) {
	tr.mu.Lock()
	tr.steps = append(tr.steps, s)
	tr.mu.Unlock()
	tr.added <- struct{}{}
}

// waitFor returns the first n steps once there are n.
func (tr *trace) waitFor(t *testing.T, n int) []string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		tr.mu.Lock()
		if len(tr.steps) >= n {
			out := slices.Clone(tr.steps[:n])
			tr.mu.Unlock()
			return out
		}
		have := slices.Clone(tr.steps)
		tr.mu.Unlock()
		select {
		case <-tr.added:
		case <-timeout:
			t.Fatalf("the link stopped after %v; want %d steps", have, n)
		}
	}
}

// traced makes the link record its dials (through the proxy hook gorilla
// calls for each, with the URL being dialed) and its waits in tr. names
// maps host:port to a replica's name.
func traced(tr *trace, names map[string]string) (func(*http.Request) (*url.URL, error), func(*Link)) {
	proxy := func(r *http.Request) (*url.URL, error) {
		tr.add("dial " + names[r.URL.Host])
		return nil, nil
	}
	return proxy, func(l *Link) {
		l.randN = keep // the URLs in the order given; backoffs at their ceiling
		l.wait = func(ctx context.Context, d time.Duration) error {
			tr.add("wait " + d.String())
			return sleep(ctx, d)
		}
	}
}

// collect returns the events up to and including the next of kind.
func collect(t *testing.T, l *Link, kind Kind) []Kind {
	t.Helper()
	var kinds []Kind
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-l.Events():
			kinds = append(kinds, ev.Kind)
			if ev.Kind == kind {
				return kinds
			}
		case <-timeout:
			t.Fatalf("no %s event; got %v", kind, kinds)
		}
	}
}

// TestFailoverToAnotherReplica: two replicas of one server (a shared store,
// so one credential for both). The panel is on A; A dies; the panel is on
// B at once, with the same credential, its request of before sent again
// with the same id, and the new state; nothing on the way resets what the
// UI shows. When B dies too, the panel tries A before it waits, and backs
// off only after a whole cycle failed.
func TestFailoverToAnotherReplica(t *testing.T) {
	a, b := newTestServer(t), newTestServer(t)
	names := map[string]string{}
	for name, s := range map[string]*testServer{"A": a, "B": b} {
		u, _ := url.Parse(s.url)
		names[u.Host] = name
	}
	tr := newTrace()
	proxy, setup := traced(tr, names)
	cache := filepath.Join(t.TempDir(), "state.json")
	l, logs := start(t, Opts{URLs: []string{a.url, b.url}, Proxy: proxy, CredentialPath: writeToken(t, "tok-shared"), CachePath: cache,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}, setup)

	ca := a.accept(t)
	if ca.auth != "Bearer tok-shared" {
		t.Fatalf("A: Authorization %q", ca.auth)
	}
	collect(t, l, KindConnected)
	ca.send(t, proto.Message{Type: proto.TypeState, State: testState("on A")})
	collect(t, l, KindState)

	answer := make(chan proto.Result, 1)
	go func() {
		res, err := l.Request(context.Background(), "book-1", proto.Request{Action: proto.ActionBook, Minutes: 15})
		if err != nil {
			t.Errorf("Request: %v", err)
		}
		answer <- res
	}()
	if m := ca.read(t); m.ID != "book-1" {
		t.Fatalf("A got %s", m)
	}

	killed := time.Now()
	a.kill()
	cb := b.accept(t)
	t.Logf("on B %s after A died", time.Since(killed).Round(time.Microsecond)) // a figure, not a verdict
	if cb.auth != "Bearer tok-shared" {
		t.Errorf("B: Authorization %q, want the credential A knew", cb.auth)
	}
	if m := cb.read(t); m.Type != proto.TypeRequest || m.ID != "book-1" {
		t.Fatalf("B got %s, want book-1 again", m)
	}
	cb.send(t, proto.Message{Type: proto.TypeResult, ID: "book-1", Result: &proto.Result{OK: true}})
	if res := <-answer; !res.OK {
		t.Errorf("the request's result: %+v", res)
	}
	cb.send(t, proto.Message{Type: proto.TypeState, State: testState("on B")})
	// Between the two states: offline, online, and nothing that makes
	// the UI forget the room (revoked, pairing) or say something went
	// wrong.
	if got, want := collect(t, l, KindState), []Kind{KindDisconnected, KindConnected, KindState}; !slices.Equal(got, want) {
		t.Errorf("events across the switch %v, want %v", got, want)
	}
	if st, _ := l.Cached(); st == nil || st.Meetings[0].Title != "on B" {
		t.Errorf("cached state %+v", st)
	}
	// A was dialed, then B at once: no wait between them.
	if got, want := tr.waitFor(t, 2), []string{"dial A", "dial B"}; !slices.Equal(got, want) {
		t.Errorf("attempts %v, want %v", got, want)
	}

	// B dies too. Its drop starts a cycle in which B counts as failed:
	// A (dead) at once, then the first backoff (10ms: the jitter at its
	// ceiling); then whole cycles, A and B, each followed by a longer
	// backoff.
	b.kill()
	want := []string{"dial A", "dial B", "dial A", "wait 10ms", "dial A", "dial B", "wait 15ms", "dial A", "dial B", "wait 22.5ms"}
	if got := tr.waitFor(t, len(want)); !slices.Equal(got, want) {
		t.Errorf("attempts %v,\nwant %v", got, want)
	}
	if strings.Contains(logs.String(), "tok-shared") {
		t.Error("the log shows the token")
	}
}

// TestPairedThroughOneReplicaKeepsTokenForAll: a panel paired through
// one replica presents the credential to another after a switch.
func TestPairedThroughOneReplicaKeepsTokenForAll(t *testing.T) {
	a, b := newTestServer(t), newTestServer(t)
	cred := filepath.Join(t.TempDir(), "credential")
	l, _ := start(t, Opts{URLs: []string{a.url, b.url}, CredentialPath: cred}, func(l *Link) { l.randN = keep })
	ca := a.accept(t)
	if ca.auth != "" {
		t.Fatalf("unpaired, Authorization %q", ca.auth)
	}
	ca.send(t, proto.Message{Type: proto.TypeCredential, Credential: &proto.Credential{DeviceID: "d1", Token: "tok-from-a"}})
	// A new credential: the same replica again, at once, with it.
	if c := a.accept(t); c.auth != "Bearer tok-from-a" {
		t.Fatalf("after pairing A got Authorization %q", c.auth)
	}
	collect(t, l, KindConnected)
	a.kill()
	if c := b.accept(t); c.auth != "Bearer tok-from-a" {
		t.Errorf("B got Authorization %q, want the credential from A", c.auth)
	}
}

// TestDNSRoundRobinIsNotDefeated: a host name with several addresses.
// The first refuses; the panel gets through on the second. Then the name
// points elsewhere and the replica behind the old address dies: the
// panel resolves the name again (nothing cached) and is on the new one.
// The names are resolved by a fake DNS server through Opts.Resolver.
func TestDNSRoundRobinIsNotDefeated(t *testing.T) {
	// Two listeners with the same port on two loopback addresses.
	var ln1, ln2 net.Listener
	for range 20 {
		l1, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l1.Addr().(*net.TCPAddr).Port
		if l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.3:%d", port)); err == nil {
			ln1, ln2 = l1, l2
			break
		}
		l1.Close()
	}
	if ln1 == nil {
		t.Fatal("no port free on both 127.0.0.1 and 127.0.0.3")
	}
	port := ln1.Addr().(*net.TCPAddr).Port
	s1, s2 := newTestServerOn(t, ln1), newTestServerOn(t, ln2)

	dns := &fakeDNS{name: "replicas.lintel.test."}
	// 127.0.0.2 listens on nothing: it refuses. Go keeps the order of
	// IPv4 answers, so it is dialed first.
	dns.set("127.0.0.2", "127.0.0.1")
	resolver := &net.Resolver{PreferGo: true, Dial: dns.dial}
	noProxy := func(*http.Request) (*url.URL, error) { return nil, nil }
	l, _ := start(t, Opts{URL: fmt.Sprintf("ws://replicas.lintel.test:%d/ws", port), Resolver: resolver, Proxy: noProxy})

	s1.accept(t)
	collect(t, l, KindConnected)
	first := dns.queries()
	if first == 0 {
		t.Fatal("the fake DNS was not asked: Opts.Resolver is not used")
	}

	dns.set("127.0.0.3")
	s1.kill()
	s2.accept(t)
	if n := dns.queries(); n <= first {
		t.Errorf("%d queries for A records after the reconnect, %d before: the answer was cached", n, first)
	}
}

// fakeDNS answers A queries for name with its addresses, over the stream
// transport the Go resolver uses when its Dial returns a plain net.Conn.
type fakeDNS struct {
	name  string
	mu    sync.Mutex
	addrs []net.IP
	asked int // A queries for name
}

func (d *fakeDNS) set(addrs ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addrs = nil
	for _, a := range addrs {
		d.addrs = append(d.addrs, net.ParseIP(a).To4())
	}
}

func (d *fakeDNS) queries() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.asked
}

func (d *fakeDNS) dial(ctx context.Context, network, address string) (net.Conn, error) {
	client, server := net.Pipe()
	go d.serve(server)
	return client, nil
}

// serve answers length-prefixed DNS messages on c until it is closed.
func (d *fakeDNS) serve(c net.Conn) {
	defer c.Close()
	for {
		var n uint16
		if err := binary.Read(c, binary.BigEndian, &n); err != nil {
			return
		}
		q := make([]byte, n)
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		resp := d.answer(q)
		if resp == nil {
			return
		}
		out := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
		if _, err := c.Write(append(out, resp...)); err != nil {
			return
		}
	}
}

// answer builds the response to query q: the header, the question as
// asked, and an A record per address (name compressed to the question's).
func (d *fakeDNS) answer(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	// The question: labels up to the root, then type and class.
	i := 12
	var labels []string
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > len(q) {
		return nil
	}
	question := q[12 : i+5]
	qtype := binary.BigEndian.Uint16(q[i+1:])
	name := strings.ToLower(strings.Join(labels, ".")) + "."

	d.mu.Lock()
	var addrs []net.IP
	rcode := uint16(3) // NXDOMAIN
	if name == d.name {
		rcode = 0
		if qtype == 1 { // A; AAAA gets no answers
			addrs = slices.Clone(d.addrs)
			d.asked++
		}
	}
	d.mu.Unlock()

	resp := binary.BigEndian.AppendUint16(nil, binary.BigEndian.Uint16(q)) // id
	resp = binary.BigEndian.AppendUint16(resp, 0x8180|rcode)               // response, recursion desired and available
	resp = binary.BigEndian.AppendUint16(resp, 1)                          // questions
	resp = binary.BigEndian.AppendUint16(resp, uint16(len(addrs)))         // answers
	resp = binary.BigEndian.AppendUint16(resp, 0)                          // authority
	resp = binary.BigEndian.AppendUint16(resp, 0)                          // additional
	resp = append(resp, question...)
	for _, a := range addrs {
		resp = append(resp, 0xc0, 12)   // the name: a pointer to the question's
		resp = append(resp, 0, 1, 0, 1) // A, IN
		resp = append(resp, 0, 0, 0, 0) // TTL 0
		resp = append(resp, 0, 4)       // 4 bytes
		resp = append(resp, a.To4()...)
	}
	return resp
}

// TestFailoverDialTimeout: with other URLs to try, a connect that hangs
// (a host gone without a trace) gives up after failoverDialTimeout; with
// one URL only the handshake timeout applies, as before. The resolver of
// Opts is the dialer's.
func TestFailoverDialTimeout(t *testing.T) {
	r := &net.Resolver{PreferGo: true}
	for _, tc := range []struct {
		urls []string
		want time.Duration
	}{
		{[]string{"ws://a/ws"}, 0},
		{[]string{"ws://a/ws", "ws://b/ws"}, failoverDialTimeout},
		{[]string{"ws://a/ws", "ws://a"}, 0}, // the same URL twice is one
	} {
		l, err := New(Opts{URLs: tc.urls, Firmware: "1.0.0", Resolver: r})
		if err != nil {
			t.Fatal(err)
		}
		if d := l.netDialer(); d.Timeout != tc.want || d.Resolver != r {
			t.Errorf("%v: dial timeout %s, resolver %p; want %s, %p", tc.urls, d.Timeout, d.Resolver, tc.want, r)
		}
	}
	if failoverDialTimeout >= 5*time.Second {
		t.Errorf("failoverDialTimeout %s: one hung replica would keep a panel away longer than 5 s", failoverDialTimeout)
	}
	for _, bad := range [][]string{{"ws://a/ws", "https://b/ws"}, {"ws://a/ws", ""}} {
		if _, err := New(Opts{URLs: bad, Firmware: "1.0.0"}); err == nil {
			t.Errorf("New accepted URLs %q", bad)
		}
	}
}
