package ratelimit

import (
	"context"
	"log/slog"
	gosync "sync"
	"time"
)

// Log defaults: per cause, ten lines at once, then one a minute.
const (
	DefaultLogBurst = 10
	DefaultLogEvery = time.Minute
)

// Log returns a slog.Handler that passes records to next, at most burst at
// once and then one every every per cause. A cause is the record's level
// and message together with the "component" the logger was made With;
// the other attributes (the device, the remote address, the error) are
// not part of it, so a failure repeated for every request, or a line
// logged for every connection of a flood, counts as one cause. The first record let through after some were held back says how
// many with a "suppressed" attribute. Debug records are not limited.
func Log(next slog.Handler, burst int, every time.Duration) slog.Handler {
	if burst <= 0 {
		burst = DefaultLogBurst
	}
	if every <= 0 {
		every = DefaultLogEvery
	}
	return &logHandler{next: next, shared: &logState{
		limiter:    New(Opts{Burst: burst, Every: every, MaxKeys: 10_000}),
		suppressed: map[string]int{},
	}}
}

type logState struct {
	limiter    *Limiter
	mu         gosync.Mutex
	suppressed map[string]int // by cause, since the last record let through
}

type logHandler struct {
	next   slog.Handler
	scope  string // the With attributes and groups, as text
	shared *logState
}

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelInfo {
		return h.next.Handle(ctx, r)
	}
	cause := h.scope + "\x00" + r.Level.String() + "\x00" + r.Message
	s := h.shared
	if !s.limiter.Allow(cause) {
		s.mu.Lock()
		if _, ok := s.suppressed[cause]; ok || len(s.suppressed) < 10_000 {
			s.suppressed[cause]++
		}
		s.mu.Unlock()
		return nil
	}
	s.mu.Lock()
	n := s.suppressed[cause]
	delete(s.suppressed, cause)
	s.mu.Unlock()
	if n > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", n))
	}
	return h.next.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	scope := h.scope
	for _, a := range attrs {
		if a.Key == "component" {
			scope += " " + a.Value.String()
		}
	}
	return &logHandler{next: h.next.WithAttrs(attrs), scope: scope, shared: h.shared}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{next: h.next.WithGroup(name), scope: h.scope, shared: h.shared}
}
