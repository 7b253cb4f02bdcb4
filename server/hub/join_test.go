package hub_test

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/hub"
)

// The hub keeps no copy of a room's last state: a panel that joins gets
// what the state's owner answers now, even a state that never went
// through this hub (one loaded from the store, or read by another
// replica), and nothing once the owner has forgotten the room.
func TestJoinAsksTheStatesOwner(t *testing.T) {
	auth := newFakeAuth(hub.Device{ID: "d1", Room: "a"}, hub.Device{ID: "d2", Room: "a"})
	h, url := startHub(t, hub.Opts{Auth: auth})

	h.states.set("a", state("a", "from the owner"))
	c1 := connect(t, url, "d1")
	if got := title(readState(t, c1)); got != "from the owner" {
		t.Fatalf("joiner got %q, want the owner's state", got)
	}

	// The owner forgets the room (it was removed): a hub with a copy of
	// its own would still hand "published" to the next joiner.
	h.Publish("a", state("a", "published"))
	if got := title(readState(t, c1)); got != "published" {
		t.Fatalf("panel got %q, want %q", got, "published")
	}
	h.states.mu.Lock()
	delete(h.states.m, "a")
	h.states.mu.Unlock()
	c2 := connect(t, url, "d2")
	waitConns(t, h, 2)
	h.Publish("a", state("a", "next"))
	if got := title(readState(t, c2)); got != "next" {
		t.Fatalf("joiner of a forgotten room got %q first, want %q", got, "next")
	}
}

// Panels join while states are published as fast as the owner can: each
// panel gets states in the order published (the same one twice at most,
// where its join and a publish crossed), never an older one after a newer,
// and ends on the last.
func TestJoinWhilePublishing(t *testing.T) {
	const panels, states = 40, 300
	auth := newFakeAuth()
	for i := range panels {
		auth.add(hub.Device{ID: fmt.Sprintf("d%d", i), Room: "a"})
	}
	h, url := startHub(t, hub.Opts{Auth: auth, SendQueue: states + 8})
	h.Publish("a", state("a", "0"))

	var wg sync.WaitGroup
	wg.Go(func() {
		for n := 1; n <= states; n++ {
			h.Publish("a", state("a", strconv.Itoa(n)))
		}
	})
	conns := make([]*websocket.Conn, panels)
	for i := range panels {
		conns[i] = connect(t, url, fmt.Sprintf("d%d", i))
	}
	wg.Wait()

	for i, c := range conns {
		last, got := -1, 0
		for last != states {
			n, err := strconv.Atoi(title(readState(t, c)))
			if err != nil {
				t.Fatal(err)
			}
			if n < last {
				t.Fatalf("panel %d got state %d after %d", i, n, last)
			}
			if n == last {
				t.Logf("panel %d got state %d twice (its join crossed a publish)", i, n)
			}
			last = n
			got++
		}
	}
}

// blockingStates holds its first answer until released, as a slow owner
// of the states would.
type blockingStates struct {
	*lastStates
	entered, release chan struct{}
	calls            atomic.Int32
}

func (s *blockingStates) State(room string) (proto.State, bool) {
	st, ok := s.lastStates.State(room)
	if s.calls.Add(1) == 1 {
		close(s.entered)
		<-s.release
	}
	return st, ok
}

// A join still asking for its room's state when its connection leaves
// the room (the same panel connected again) must not leave its older
// answer for the panels that join next: they would miss the state
// published meanwhile until the room changes again.
func TestLeftJoinLeavesNoOldState(t *testing.T) {
	auth := newFakeAuth(hub.Device{ID: "d1", Room: "a"}, hub.Device{ID: "d2", Room: "a"})
	states := &blockingStates{lastStates: newLastStates(), entered: make(chan struct{}), release: make(chan struct{})}
	h, url := startHub(t, hub.Opts{Auth: auth, States: states})
	h.states = states.lastStates
	h.states.set("a", state("a", "old"))

	connect(t, url, "d1") // its join waits in the owner
	<-states.entered
	again := connect(t, url, "d1") // the same panel again: the first leaves the room
	if got := title(readState(t, again)); got != "old" {
		t.Fatalf("the reconnected panel got %q", got)
	}
	h.Publish("a", state("a", "new"))
	if got := title(readState(t, again)); got != "new" {
		t.Fatalf("then %q", got)
	}
	close(states.release) // the first join gets its answer: "old"
	time.Sleep(100 * time.Millisecond)

	c2 := connect(t, url, "d2")
	if got := title(readState(t, c2)); got != "new" {
		t.Fatalf("a panel joining after got %q, want %q", got, "new")
	}
}
