package admin

import (
	"context"
	"fmt"
	"slices"
	gosync "sync"
	"time"

	"github.com/lintelhq/lintel/proto"
)

// screenshots holds the latest screenshot each panel sent, and wakes the
// admin request waiting for it.
type screenshots struct {
	mu      gosync.Mutex
	latest  map[string]shot
	waiters map[string][]chan struct{}
}

type shot struct {
	png []byte
	at  time.Time
}

func newScreenshots() *screenshots {
	return &screenshots{latest: map[string]shot{}, waiters: map[string][]chan struct{}{}}
}

// put keeps a screenshot for the requests waiting for it. One nobody asked
// for is dropped: a panel cannot make the server hold its frames.
func (s *screenshots) put(device string, png []byte, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiters[device]) == 0 {
		return
	}
	s.latest[device] = shot{png: png, at: at}
	for _, w := range s.waiters[device] {
		close(w)
	}
	delete(s.waiters, device)
}

// await returns a channel closed when device's next screenshot arrives,
// and a function that stops waiting: a request that gives up leaves no
// waiter behind.
func (s *screenshots) await(device string) (<-chan struct{}, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := make(chan struct{})
	s.waiters[device] = append(s.waiters[device], w)
	return w, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		left := slices.DeleteFunc(s.waiters[device], func(c chan struct{}) bool { return c == w })
		if len(left) == 0 {
			delete(s.waiters, device)
		} else {
			s.waiters[device] = left
		}
	}
}

func (s *screenshots) get(device string) (shot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, ok := s.latest[device]
	return sh, ok
}

// Report receives what a panel reports: a screenshot the admin asked
// for, or a problem someone reported at the door (kept in the activity
// log). The server's hub handler passes reports here.
func (s *Server) Report(ctx context.Context, deviceID, room string, r proto.Report) {
	switch r.Kind {
	case "screenshot":
		s.shots.put(deviceID, r.PNG, s.opts.Now())
	case "problem":
		if err := s.opts.Store.PutActivity(problemOutcome(deviceID, room, r.Problem, s.opts.Now())); err != nil {
			s.log.Error("cannot record a reported problem", "device", deviceID, "err", err)
			return
		}
		s.log.Info("problem reported at a panel", "device", deviceID, "room", room, "problem", r.Problem)
	default:
		s.log.Warn("panel sent an unknown report", "device", deviceID, "kind", r.Kind)
	}
}

// screenshot asks a panel for its current frame and waits for it.
func (s *Server) screenshot(ctx context.Context, deviceID string) ([]byte, error) {
	arrived, stop := s.shots.await(deviceID)
	defer stop()
	if err := s.opts.Panels.Send(deviceID, proto.Message{Type: proto.TypeCommand, Command: &proto.Command{Name: "screenshot"}}); err != nil {
		return nil, fmt.Errorf("the panel is not connected: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case <-arrived:
		sh, _ := s.shots.get(deviceID)
		return sh.png, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("the panel did not send its screen within 10 seconds")
	}
}
