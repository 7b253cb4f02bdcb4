package hub_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/hub"
)

// The heartbeat tests run in a synctest bubble, so the hub's real
// defaults (a 10 s hello timeout, 30 s pings) play out in fake time. A
// bubble cannot wait on real sockets, so panels reach the hub through
// net.Pipe and a minimal hijackable ResponseWriter.

// pipeDialer returns a websocket dialer whose connections are served by h
// in memory.
func pipeDialer(h http.Handler) *websocket.Dialer {
	return &websocket.Dialer{
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			client, server := net.Pipe()
			go serveOne(h, server)
			return client, nil
		},
	}
}

// serveOne reads one HTTP request from c and hands it to h.
func serveOne(h http.Handler, c net.Conn) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		c.Close()
		return
	}
	req.RemoteAddr = "pipe:1"
	w := &pipeResponse{conn: c, br: br, header: http.Header{}}
	h.ServeHTTP(w, req)
	if !w.hijacked {
		c.Close()
	}
}

type pipeResponse struct {
	conn     net.Conn
	br       *bufio.Reader
	header   http.Header
	hijacked bool
}

func (w *pipeResponse) Header() http.Header         { return w.header }
func (w *pipeResponse) Write(b []byte) (int, error) { return len(b), nil }
func (w *pipeResponse) WriteHeader(int)             {}
func (w *pipeResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.hijacked = true
	return w.conn, bufio.NewReadWriter(w.br, bufio.NewWriter(w.conn)), nil
}

func pipeConnect(t *testing.T, d *websocket.Dialer, token string) *websocket.Conn {
	t.Helper()
	header := http.Header{}
	if token != "" {
		header.Set("Authorization", "Bearer "+token)
	}
	c, _, err := d.Dial("ws://pipe/ws", header)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

func TestHelloTimeoutInFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hub.New(hub.Opts{Auth: newFakeAuth(hub.Device{ID: "d1", Room: "a"}), Logger: testLogger(t)})
		defer h.Close()
		c := pipeConnect(t, pipeDialer(h), "tok-d1")
		defer c.Close()
		start := time.Now()
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited != hub.DefaultHelloTimeout {
			t.Errorf("error came after %s, want %s", waited, hub.DefaultHelloTimeout)
		}
		m, err := proto.Decode(b)
		if err != nil || m.Type != proto.TypeError || m.Error.Code != proto.CodeBadRequest {
			t.Fatalf("got %s (%v), want a bad_request error", b, err)
		}
	})
}

// TestSilentPanelIsDropped: a panel that reads but never answers pings (its
// network died one way, or it hangs) is dropped after two ping intervals;
// one that answers stays.
func TestSilentPanelIsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		auth := newFakeAuth(hub.Device{ID: "silent", Room: "a"}, hub.Device{ID: "alive", Room: "a"})
		h := hub.New(hub.Opts{Auth: auth, Logger: testLogger(t)})
		defer h.Close()
		d := pipeDialer(h)

		silent := pipeConnect(t, d, "tok-silent")
		defer silent.Close()
		silent.SetPingHandler(func(string) error { return nil }) // no pong
		hello(t, silent)
		alive := pipeConnect(t, d, "tok-alive")
		defer alive.Close()
		hello(t, alive)

		start := time.Now()
		silentGone := make(chan time.Duration)
		go func() {
			for {
				if _, _, err := silent.ReadMessage(); err != nil {
					silentGone <- time.Since(start)
					return
				}
			}
		}()
		aliveGone := make(chan error, 1)
		go func() {
			for {
				if _, _, err := alive.ReadMessage(); err != nil {
					aliveGone <- err
					return
				}
			}
		}()

		after := <-silentGone
		if want := 2 * hub.DefaultPingInterval; after < want || after > want+time.Second {
			t.Errorf("silent panel dropped after %s, want %s", after, want)
		}
		time.Sleep(10 * time.Minute)
		select {
		case err := <-aliveGone:
			t.Fatalf("a panel that answers pings was dropped: %v", err)
		default:
		}
		if n := len(h.Connections()); n != 1 {
			t.Errorf("%d connections, want 1", n)
		}
		h.Close()
		<-aliveGone
	})
}
