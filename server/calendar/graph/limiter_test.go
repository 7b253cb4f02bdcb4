package graph

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// The limit doubles per round of clean answers, halves once per burst of
// 429s, then grows by one per round; slow answers do not raise it; a
// Retry-After holds every new request until it has passed.
func TestLimiterAdapts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(4, 64)
		ctx := context.Background()
		round := func() {
			n := l.current()
			for range n {
				if err := l.acquire(ctx); err != nil {
					t.Fatal(err)
				}
			}
			for range n {
				l.release(answerClean, 100*time.Millisecond)
			}
		}
		round()
		if c := l.current(); c != 8 {
			t.Fatalf("after a clean round of 4: %d, want 8", c)
		}
		round()
		if c := l.current(); c != 16 {
			t.Fatalf("after a clean round of 8: %d, want 16", c)
		}
		l.throttled(0)
		l.throttled(0) // the same burst
		if c := l.current(); c != 8 {
			t.Fatalf("after a burst of 429s: %d, want 8", c)
		}
		round()
		if c := l.current(); c != 9 {
			t.Errorf("a clean round after throttling: %d, want 9 (one more)", c)
		}
		_ = l.acquire(ctx)
		l.release(answerClean, 10*time.Second)
		if c := l.current(); c != 9 {
			t.Errorf("a slow answer raised the limit to %d", c)
		}

		time.Sleep(time.Second)
		l.throttled(3 * time.Second)
		start := time.Now()
		if err := l.acquire(ctx); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited != 3*time.Second {
			t.Errorf("waited %s after Retry-After 3s", waited)
		}
		l.release(answerClean, 0)

		// Full: the next request waits for a slot.
		full := newLimiter(1, 1)
		_ = full.acquire(ctx)
		got := make(chan struct{})
		go func() { _ = full.acquire(ctx); close(got) }()
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("acquired past the limit")
		default:
		}
		full.release(answerClean, 0)
		synctest.Wait()
		<-got
	})
}
