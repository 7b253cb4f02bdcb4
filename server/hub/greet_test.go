package hub_test

import (
	"sync"
	"testing"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/hub"
)

// TestGreetComesBeforeTheState: a paired panel gets the greeting frames
// (its display settings) right after its hello and before its room's
// state, so that its first room frame is drawn with them; what its hello
// accepts reaches the greeter and the connection list.
func TestGreetComesBeforeTheState(t *testing.T) {
	var mu sync.Mutex
	var greeted []proto.Hello
	h, url := startHub(t, hub.Opts{
		Auth: newFakeAuth(hub.Device{ID: "d1", Room: "r1"}),
		Greet: func(d hub.Device, hello proto.Hello) []proto.Message {
			mu.Lock()
			greeted = append(greeted, hello)
			mu.Unlock()
			if !hello.Can(proto.AcceptSettings) {
				return nil
			}
			return []proto.Message{{Type: proto.TypeSettings, Settings: &proto.Settings{Locale: "de", Hours: 24}}}
		},
	})
	h.Publish("r1", state("r1", "Budget"))

	c := dial(t, url, "tok-d1")
	writeMsg(t, c, proto.Message{Type: proto.TypeHello, Hello: &proto.Hello{Protocol: proto.Version, Firmware: "2.0.0",
		Arch: "linux/arm64", Accepts: []string{proto.AcceptSettings}}})
	if m := readMsg(t, c); m.Type != proto.TypeSettings || m.Settings.Locale != "de" {
		t.Fatalf("first frame %s %+v, want the settings", m, m.Settings)
	}
	readState(t, c)
	infos := h.Connections()
	if len(infos) != 1 || infos[0].Arch != "linux/arm64" || !h.Accepts("d1", proto.AcceptSettings) || h.Accepts("d1", "teleport") {
		t.Errorf("connections %+v, or accepts wrong", infos)
	}

	// An old panel (no accepts) gets the state first, and nothing it
	// cannot decode.
	c.Close()
	old := connect(t, url, "d1")
	readState(t, old)
	mu.Lock()
	defer mu.Unlock()
	if len(greeted) != 2 || greeted[1].Can(proto.AcceptSettings) || h.Accepts("d1", proto.AcceptSettings) {
		t.Errorf("greeted %+v", greeted)
	}
}
