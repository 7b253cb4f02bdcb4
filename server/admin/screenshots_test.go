package admin

import (
	"context"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/hub"
)

// silentPanels takes every command and never answers.
type silentPanels struct{}

func (silentPanels) Disconnect(string, proto.Code, string) {}
func (silentPanels) Move(string, string)                   {}
func (silentPanels) Send(string, proto.Message) error      { return nil }
func (silentPanels) Connections() []hub.ConnInfo           { return nil }

// Screenshot requests that get no answer (the admin gives up, or the
// panel never sends its screen) leave no waiter behind: a page reloaded
// in a loop must not grow memory.
func TestUnansweredScreenshotsLeaveNoWaiters(t *testing.T) {
	s := &Server{opts: Opts{Panels: silentPanels{}, Now: time.Now}, shots: newScreenshots()}
	for range 1000 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		if _, err := s.screenshot(ctx, "pnl-1"); err == nil {
			t.Fatal("a screenshot came from a panel that sends none")
		}
		cancel()
	}
	s.shots.mu.Lock()
	n := len(s.shots.waiters["pnl-1"])
	s.shots.mu.Unlock()
	if n != 0 {
		t.Errorf("%d waiters left behind after 1000 unanswered requests", n)
	}
	// An answer still wakes whoever waits now.
	done := make(chan []byte, 1)
	go func() {
		png, _ := s.screenshot(context.Background(), "pnl-1")
		done <- png
	}()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		s.shots.mu.Lock()
		n := len(s.shots.waiters["pnl-1"])
		s.shots.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters, want the one request", n)
		}
	}
	s.Report(context.Background(), "pnl-1", "r1", proto.Report{Kind: "screenshot", PNG: []byte("png")})
	if got := <-done; string(got) != "png" {
		t.Errorf("screenshot = %q", got)
	}
}
