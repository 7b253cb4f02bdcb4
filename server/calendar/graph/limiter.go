package graph

import (
	"context"
	"sync"
	"time"
)

// limiter is the app-wide limit of Graph requests in flight. It adapts
// as TCP's congestion control does: it starts low, grows by one per clean
// answer (doubling per round trip) until the first throttling, then by
// one per round trip; a 429 or 503 (of a request or of a $batch item)
// halves it, at most once a second, and a Retry-After on a whole request
// holds every new request until it has passed.
type limiter struct {
	mu         sync.Mutex
	limit      float64
	ceiling    float64
	threshold  float64 // slow start below it
	clean      int     // clean answers since the limit last grew, above threshold
	inflight   int
	pauseUntil time.Time
	lastCut    time.Time
	wait       chan struct{} // closed and replaced when a slot frees
}

type answer int

const (
	answerClean answer = iota
	answerThrottled
	answerFailed
)

// slowAnswer: an answer slower than this does not raise the limit.
const slowAnswer = 5 * time.Second

func newLimiter(start, ceiling int) *limiter {
	start = min(start, ceiling)
	return &limiter{limit: float64(start), ceiling: float64(ceiling), threshold: float64(ceiling), wait: make(chan struct{})}
}

// acquire waits for a slot.
func (l *limiter) acquire(ctx context.Context) error {
	for {
		l.mu.Lock()
		now := time.Now()
		if now.Before(l.pauseUntil) {
			d := l.pauseUntil.Sub(now)
			l.mu.Unlock()
			if err := sleepCtx(ctx, d); err != nil {
				return err
			}
			continue
		}
		if l.inflight < max(1, int(l.limit)) {
			l.inflight++
			l.mu.Unlock()
			return nil
		}
		wait := l.wait
		l.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release frees a slot and adapts the limit to the answer.
func (l *limiter) release(a answer, took time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	if a == answerClean && took < slowAnswer {
		if l.limit < l.threshold {
			l.limit++
		} else if l.clean++; l.clean >= int(l.limit) {
			l.limit++
			l.clean = 0
		}
		l.limit = min(l.limit, l.ceiling)
	}
	close(l.wait)
	l.wait = make(chan struct{})
}

// throttled halves the limit (once a second at most, so that one burst
// of 429s counts once) and holds new requests for retryAfter.
func (l *limiter) throttled(retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.lastCut) >= time.Second {
		l.limit = max(1, l.limit/2)
		l.threshold = max(2, l.limit)
		l.clean = 0
		l.lastCut = now
	}
	if retryAfter > 0 {
		l.pauseUntil = maxTime(l.pauseUntil, now.Add(min(retryAfter, time.Minute)))
	}
}

// current is the limit now, for metrics.
func (l *limiter) current() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return max(1, int(l.limit))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Concurrency is the app-wide limit of Graph requests in flight now, for
// metrics.
func (p *Provider) Concurrency() int { return p.tr.limit.current() }
