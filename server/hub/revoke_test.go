package hub_test

import (
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/hub"
)

// The race the review found: a panel connects with a valid token, an admin
// revokes it, then the panel says hello. It must be refused with
// CodeRevoked, within a second of the revocation, whatever state its
// connection is in.
func TestRevokedBeforeHelloIsCut(t *testing.T) {
	auth := newFakeAuth(hub.Device{ID: "d1", Room: "a"})
	h, url := startHub(t, hub.Opts{Auth: auth})
	h.Publish("a", state("a", "meeting"))
	c := dial(t, url, "tok-d1") // authenticated, no hello yet
	time.Sleep(50 * time.Millisecond)

	start := time.Now()
	auth.revoke("d1")
	h.Disconnect("d1", proto.CodeRevoked, "this panel was removed")
	expectRefused(t, c, proto.CodeRevoked, "removed")
	if d := time.Since(start); d > time.Second {
		t.Errorf("cut after %s, want within 1 s", d)
	}
	if n := len(h.Connections()); n != 0 {
		t.Errorf("%d connections after revocation", n)
	}
}

// Revoked in the store without the hub being told (another replica, a
// missed call): the hello is checked again and refused.
func TestCredentialCheckedAgainAtHello(t *testing.T) {
	auth := newFakeAuth(hub.Device{ID: "d1", Room: "a"})
	_, url := startHub(t, hub.Opts{Auth: auth})
	c := dial(t, url, "tok-d1")
	time.Sleep(50 * time.Millisecond)
	auth.revoke("d1")
	hello(t, c)
	expectRefused(t, c, proto.CodeRevoked, "pair it again")
}

// And before every request: a revoked panel never reaches the handler, and
// is cut.
func TestCredentialCheckedBeforeEveryRequest(t *testing.T) {
	auth := newFakeAuth(hub.Device{ID: "d1", Room: "a"})
	handler := newFakeHandler()
	h, url := startHub(t, hub.Opts{Auth: auth, Handler: handler})
	c := connect(t, url, "d1")
	waitConns(t, h, 1)
	writeMsg(t, c, proto.Message{Type: proto.TypeRequest, ID: "r1", Request: &proto.Request{Action: proto.ActionBook, Minutes: 15}})
	if m := readMsg(t, c); m.Type != proto.TypeResult || !m.Result.OK {
		t.Fatalf("before revocation: %s", m)
	}
	auth.revoke("d1")
	writeMsg(t, c, proto.Message{Type: proto.TypeRequest, ID: "r2", Request: &proto.Request{Action: proto.ActionBook, Minutes: 15}})
	writeMsg(t, c, proto.Message{Type: proto.TypeReport, Report: &proto.Report{Kind: "problem", Problem: "after revocation"}})
	// The request's answer and the goodbye, in either order (the report
	// may be checked first), then the close.
	var result, goodbye bool
	for !result || !goodbye {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := c.ReadMessage()
		if err != nil {
			if !goodbye {
				t.Fatalf("closed without the revoked error frame: %v", err)
			}
			break // the request's answer may be lost to the cut
		}
		m, err := proto.Decode(b)
		switch {
		case err != nil:
			t.Fatal(err)
		case m.Type == proto.TypeResult && !m.Result.OK && m.Result.Error.Code == proto.CodeRevoked:
			result = true
		case m.Type == proto.TypeError && m.Error.Code == proto.CodeRevoked:
			goodbye = true
		default:
			t.Fatalf("after revocation got %s, want a revoked answer", b)
		}
	}
	expectClosed(t, c)
	handler.mu.Lock()
	defer handler.mu.Unlock()
	if len(handler.reqs) != 1 || len(handler.reports) != 0 {
		t.Errorf("handler got %v and reports %v after revocation, want only r1", handler.reqs, handler.reports)
	}
}
