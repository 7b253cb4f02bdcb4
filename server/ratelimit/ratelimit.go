// Package ratelimit limits how often something may happen per key (a
// device, a network address, the cause of a log line): a token bucket per
// key, refilled at a steady rate, with a bounded number of keys.
//
// Log wraps a slog.Handler so that a cause repeated in a loop (every
// request failing on a full disk) writes a few lines a minute, not
// megabytes.
package ratelimit

import (
	gosync "sync"
	"time"
)

// DefaultMaxKeys bounds the keys a Limiter tracks at once.
const DefaultMaxKeys = 100_000

// Limiter allows Burst events per key at once, then one every Every. It is
// safe for concurrent use.
type Limiter struct {
	burst   float64
	every   time.Duration
	maxKeys int
	now     func() time.Time

	mu        gosync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// Opts configures a Limiter.
type Opts struct {
	// Burst events are allowed at once, then one every Every.
	Burst int
	Every time.Duration
	// MaxKeys bounds the keys tracked; a new key beyond it is refused
	// until keys whose bucket is full again are forgotten. Default
	// DefaultMaxKeys.
	MaxKeys int
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// New returns a Limiter.
func New(opts Opts) *Limiter {
	if opts.Burst <= 0 {
		opts.Burst = 1
	}
	if opts.Every <= 0 {
		opts.Every = time.Second
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Limiter{burst: float64(opts.Burst), every: opts.Every, maxKeys: opts.MaxKeys, now: opts.Now, buckets: map[string]*bucket{}}
}

// Allow takes one token from key's bucket, and reports whether there was
// one.
func (l *Limiter) Allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastSweep) > l.fullAfter() || now.Before(l.lastSweep) {
		l.sweepLocked(now)
	}
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.maxKeys {
			l.sweepLocked(now)
			if len(l.buckets) >= l.maxKeys {
				return false
			}
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Keys is how many keys are tracked, for tests and metrics.
func (l *Limiter) Keys() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

func (l *Limiter) refill(b *bucket, now time.Time) {
	if now.After(b.at) {
		b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
		b.at = now
	}
}

// fullAfter is how long an emptied bucket takes to fill again.
func (l *Limiter) fullAfter() time.Duration { return time.Duration(l.burst * float64(l.every)) }

// sweepLocked forgets keys whose bucket is full: they are as good as new.
func (l *Limiter) sweepLocked(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if l.refill(b, now); b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
}
