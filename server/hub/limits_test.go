package hub_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/hub"
)

// codePairer sends one code and waits until the connection ends, as the
// real Pairer does while nobody approves.
type codePairer struct{}

func (codePairer) Pair(ctx context.Context, remote string, send func(proto.Message) error) (proto.Credential, error) {
	expires := time.Now().Add(time.Hour)
	if d, ok := ctx.Deadline(); ok {
		expires = d
	}
	if err := send(proto.Message{Type: proto.TypePairing, Pairing: &proto.Pairing{Code: "K7Q4-MX2P", Expires: expires.UTC()}}); err != nil {
		return proto.Credential{}, err
	}
	<-ctx.Done()
	return proto.Credential{}, ctx.Err()
}

// dialFrom dials from a loopback source address of its own (Linux answers
// on all of 127.0.0.0/8), as clients on other machines would. It returns
// the HTTP status of a refused upgrade.
func dialFrom(t *testing.T, url, ip, token string) (*websocket.Conn, int) {
	t.Helper()
	d := websocket.Dialer{NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext}
	header := http.Header{}
	if token != "" {
		header.Set("Authorization", "Bearer "+token)
	}
	c, resp, err := d.Dial(url, header)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial from %s: %v", ip, err)
		}
		return nil, resp.StatusCode
	}
	t.Cleanup(func() { c.Close() })
	return c, http.StatusSwitchingProtocols
}

// The attack: thousands of sockets without a credential, each an unpaired
// panel showing a code, from one address and from many. They are capped
// per address and in total, and paired panels keep a reserve.
func TestAnonymousConnectionsAreCapped(t *testing.T) {
	var devs []hub.Device
	for i := range 30 {
		devs = append(devs, hub.Device{ID: fmt.Sprint("d", i), Room: "a"})
	}
	h, url := startHub(t, hub.Opts{Auth: newFakeAuth(devs...), Pairer: codePairer{},
		MaxConns: 30, MaxUnpaired: 12, MaxUnpairedPerAddr: 4})
	h.Publish("a", state("a", "meeting"))

	// One address gets four unpaired connections, then 429.
	var anon []*websocket.Conn
	for i := range 6 {
		c, status := dialFrom(t, url, "127.0.0.1", "")
		if i < 4 {
			if c == nil {
				t.Fatalf("unpaired connection %d from one address refused with %d", i, status)
			}
			hello(t, c)
			if m := readMsg(t, c); m.Type != proto.TypePairing {
				t.Fatalf("got %s, want a pairing code", m)
			}
			anon = append(anon, c)
		} else if status != http.StatusTooManyRequests {
			t.Fatalf("unpaired connection %d from one address: status %d, want 429", i, status)
		}
	}
	// Many addresses: unpaired connections stop at 12 in all.
	refused := 0
	for i := 2; i < 40; i++ {
		c, status := dialFrom(t, url, fmt.Sprintf("127.0.0.%d", i), "")
		switch {
		case c != nil:
			anon = append(anon, c)
		case status == http.StatusServiceUnavailable:
			refused++
		default:
			t.Fatalf("status %d, want 503", status)
		}
	}
	if len(anon) != 12 || refused != 30 {
		t.Errorf("%d unpaired connections, %d refused; want 12 and 30", len(anon), refused)
	}
	// A wrong credential counts as anonymous.
	if c, status := dialFrom(t, url, "127.0.0.99", "tok-nobody"); c != nil || status != http.StatusServiceUnavailable {
		t.Errorf("wrong token while unpaired slots are full: status %d, want 503", status)
	}
	// Paired panels are served from the reserve, even from the flooded
	// address (dialFrom keeps them open until the test ends).
	for i := range 18 {
		c, status := dialFrom(t, url, "127.0.0.1", fmt.Sprint("tok-d", i))
		if c == nil {
			t.Fatalf("paired panel %d refused with %d", i, status)
		}
		hello(t, c)
		if got := title(readState(t, c)); got != "meeting" {
			t.Fatalf("paired panel got %q", got)
		}
	}
	// The total is capped too.
	if c, status := dialFrom(t, url, "127.0.0.1", "tok-d20"); c != nil || status != http.StatusServiceUnavailable {
		t.Errorf("connection 31 of 30: status %d, want 503", status)
	}
	// Slots come back when connections end.
	for _, c := range anon {
		c.Close()
	}
	waitConns(t, h, 18)
	if c, status := dialFrom(t, url, "127.0.0.1", ""); c == nil {
		t.Errorf("after the unpaired left: status %d, want a connection", status)
	}
}

// A device holds at most two connections: a rogue panel that opens many
// with one valid token (and never says hello) only ever keeps the newest
// two.
func TestOneDeviceHoldsAtMostTwoConnections(t *testing.T) {
	h, url := startHub(t, hub.Opts{Auth: newFakeAuth(hub.Device{ID: "d1", Room: "a"})})
	var conns []*websocket.Conn
	for range 5 {
		conns = append(conns, dial(t, url, "tok-d1"))
	}
	for i, c := range conns[:3] {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := c.ReadMessage(); err == nil {
			t.Errorf("old connection %d got a frame, want it closed", i)
		}
	}
	for _, c := range conns[3:] {
		hello(t, c)
	}
	waitConns(t, h, 1) // the newest replaced the other at hello
}

// An unpaired connection ends with its code: the panel reconnects for a
// new one, so an idle anonymous socket cannot stay for good.
func TestUnpairedConnectionHasALifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hub.New(hub.Opts{Pairer: codePairer{}, Logger: testLogger(t)})
		defer h.Close()
		c := pipeConnect(t, pipeDialer(h), "")
		defer c.Close()
		hello(t, c)
		start := time.Now()
		guard := time.AfterFunc(hub.DefaultUnpairedLifetime+time.Minute, func() { c.Close() })
		defer guard.Stop()
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		m, err := proto.Decode(b)
		if err != nil || m.Type != proto.TypePairing {
			t.Fatalf("got %s, want a pairing code", b)
		}
		if want := start.Add(hub.DefaultUnpairedLifetime); !m.Pairing.Expires.Equal(want) {
			t.Errorf("code expires %v, want %v", m.Pairing.Expires, want)
		}
		_, _, err = c.ReadMessage()
		if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			t.Errorf("after the lifetime: %v, want a normal close", err)
		}
		if waited := time.Since(start); waited != hub.DefaultUnpairedLifetime {
			t.Errorf("closed after %s, want %s", waited, hub.DefaultUnpairedLifetime)
		}
	})
}

// blockingAuth holds every token check until release is closed.
type blockingAuth struct {
	entered chan struct{}
	release chan struct{}
}

func (a blockingAuth) Authenticate(ctx context.Context, token string) (hub.Device, error) {
	a.entered <- struct{}{}
	<-a.release
	return hub.Device{ID: token, Room: "a"}, nil
}

func (blockingAuth) Check(context.Context, string) error { return nil }

// A reconnect storm: more connections being set up than MaxHandshakes
// wait for their turn, and past HandshakeWait are refused with 503 and a
// Retry-After, so the server works through them at its own pace.
func TestHandshakesAreBounded(t *testing.T) {
	auth := blockingAuth{entered: make(chan struct{}, 8), release: make(chan struct{})}
	h := hub.New(hub.Opts{Auth: auth, Logger: testLogger(t), MaxHandshakes: 1, HandshakeWait: 50 * time.Millisecond})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	// Without the bound the second token check would block like the
	// first: the dial would then time out instead of being refused.
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	first := make(chan error, 1)
	go func() {
		c, _, err := d.Dial(url, http.Header{"Authorization": {"Bearer one"}})
		if err == nil {
			c.Close()
		}
		first <- err
	}()
	<-auth.entered // the first holds the only turn

	_, resp, err := d.Dial(url, http.Header{"Authorization": {"Bearer two"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second connection while the first is set up: %v, %v; want 503", resp, err)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After on the 503")
	}
	select {
	case <-auth.entered:
		t.Fatal("the second token was checked while the first connection held the only turn")
	default:
	}

	// Once the first is through, the next takes its turn.
	close(auth.release)
	if err := <-first; err != nil {
		t.Fatalf("first connection: %v", err)
	}
	c, _, err := d.Dial(url, http.Header{"Authorization": {"Bearer three"}})
	if err != nil {
		t.Fatalf("a connection after the first was set up: %v", err)
	}
	c.Close()
}
