package sync

import (
	"context"
	"fmt"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/calendar/builtin"
	"github.com/lintelhq/lintel/server/store"
)

// stuckPublisher holds its first Publish until released, as a publish
// delayed by the scheduler would.
type stuckPublisher struct {
	capture
	once    gosync.Once
	entered chan struct{}
	release chan struct{}
}

func (p *stuckPublisher) Publish(room string, st proto.State) {
	first := false
	p.once.Do(func() { first = true })
	if first {
		close(p.entered)
		<-p.release
	}
	p.capture.Publish(room, st)
}

// Two overlapping polls of a room: the older one's publish is delayed past
// the newer one's. The panels must end with the newer state.
func TestOverlappingPollsPublishNewestLast(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pub := &stuckPublisher{entered: make(chan struct{}), release: make(chan struct{})}
	s := New(Opts{Provider: f.prov, Store: f.db, Publisher: pub, Now: func() time.Time { return f.now }})

	older := make(chan error, 1)
	go func() { older <- s.Refresh(ctx, "title") }()
	<-pub.entered // the older poll is publishing
	if _, err := f.cal.Add(ctx, "title", builtin.Input{Subject: "Standup", Start: f.now.Add(4 * time.Hour), End: f.now.Add(5 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	newer := make(chan error, 1)
	go func() { newer <- s.Refresh(ctx, "title") }() // same clock reading
	newerDone := false
	select {
	case <-newer:
		newerDone = true
	case <-time.After(300 * time.Millisecond):
	}
	close(pub.release)
	<-older
	if !newerDone {
		<-newer
	}
	states := pub.get("title")
	if len(states) == 0 {
		t.Fatal("nothing published")
	}
	if last := states[len(states)-1]; len(last.Meetings) != 3 {
		t.Errorf("the panels were left with an older state: %v (publishes: %d)", titles(last), len(states))
	}
	if st, _ := s.State("title"); len(st.Meetings) != 3 {
		t.Errorf("the syncer keeps an older state: %v", titles(st))
	}
}

// A room whose agenda does not fit in a frame (256 KB) used to be
// dropped by the hub, freezing its panels. It is trimmed to fit, keeping
// what is on now and next, and says how many meetings it left out.
func TestOversizedStateIsTrimmedToFit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	start := f.now.Add(-3 * time.Hour)
	err := f.db.UpdateEvents("title", func(evs []store.Event) ([]store.Event, error) {
		for i := range 3000 {
			at := start.Add(time.Duration(i) * 20 * time.Second)
			evs = append(evs, store.Event{ID: fmt.Sprintf("flood-%04d", i), Subject: strings.Repeat("Quarterly review ", 8),
				Organizer: "Anna", Start: at, End: at.Add(time.Minute)})
		}
		return evs, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.Refresh(ctx, "title"); err != nil {
		t.Fatal(err)
	}
	states := f.pub.get("title")
	if len(states) != 1 {
		t.Fatalf("%d publishes, want 1", len(states))
	}
	st := states[0]
	b, err := proto.Encode(proto.Message{Type: proto.TypeState, State: &st})
	if err != nil {
		t.Fatalf("the published state cannot be sent: %v", err)
	}
	if st.Omitted == 0 || st.Omitted+len(st.Meetings) != 3002 {
		t.Errorf("%d meetings sent, %d said to be left out, of 3002", len(st.Meetings), st.Omitted)
	}
	t.Logf("%d bytes, %d meetings, %d left out", len(b), len(st.Meetings), st.Omitted)
	// What is on now and next is kept, in order.
	var current bool
	for i, m := range st.Meetings {
		if !m.Start.After(f.now) && m.End.After(f.now) {
			current = true
		}
		if i > 0 && m.Start.Before(st.Meetings[i-1].Start) {
			t.Fatalf("meetings out of order at %d", i)
		}
	}
	if !current {
		t.Error("the meeting on now was trimmed away")
	}
}

// A panel joining asks State: while an older state is still being
// published, State answers with it, not with a newer one recorded but not
// yet published (the older Publish would then reach the panel after the
// newer answer).
func TestStateIsWhatWasPublished(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pub := &stuckPublisher{entered: make(chan struct{}), release: make(chan struct{})}
	s := New(Opts{Provider: f.prov, Store: f.db, Publisher: pub, Now: func() time.Time { return f.now }})

	older := make(chan error, 1)
	go func() { older <- s.Refresh(ctx, "title") }()
	<-pub.entered // the older state is being published
	st, ok := s.State("title")
	if !ok {
		t.Fatal("no state while it is being published")
	}
	before := len(st.Meetings)
	if _, err := f.cal.Add(ctx, "title", builtin.Input{Subject: "Standup", Start: f.now.Add(4 * time.Hour), End: f.now.Add(5 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	newer := make(chan error, 1)
	go func() { newer <- s.Refresh(ctx, "title") }()
	// The newer poll records its state, then waits for the older publish.
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		recorded := len(s.rooms["title"].state.Meetings)
		s.mu.Unlock()
		if recorded == before+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the newer poll did not record its state")
		}
		time.Sleep(time.Millisecond)
	}
	if st, _ := s.State("title"); len(st.Meetings) != before {
		t.Errorf("State answers %d meetings while the state with %d is still being published", len(st.Meetings), before)
	}
	close(pub.release)
	<-older
	<-newer
	if st, _ := s.State("title"); len(st.Meetings) != before+1 {
		t.Errorf("after both publishes State answers %d meetings, want %d", len(st.Meetings), before+1)
	}
}
