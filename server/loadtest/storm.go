package loadtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	gosync "sync"
	"time"

	"github.com/lintelhq/lintel/proto"
)

// The simulated panels reconnect as panel/link does: after a connection
// that worked, at once plus a random wait of up to minBackoff; after each
// failed attempt the ceiling grows by half up to maxBackoff ("full
// jitter"), so ten thousand panels that lost the server together come
// back spread out.
const (
	minBackoff = time.Second      // link.DefaultMinBackoff
	maxBackoff = 60 * time.Second // link.DefaultMaxBackoff
)

// backoff is the wait before an attempt after failures failed ones:
// uniform in [0, min(maxBackoff, minBackoff·1.5^failures)], as link's.
func backoff(failures int) time.Duration {
	ceiling := minBackoff
	for range failures {
		if ceiling >= maxBackoff {
			break
		}
		ceiling += ceiling / 2
	}
	return rand.N(min(ceiling, maxBackoff) + 1)
}

// joiners reconnects a sample of the connected panels one after another
// (a few at a time) while the others stay connected, and measures from
// the hello until the room's state arrives: what a panel that just booted
// waits for on a loaded server.
func (r *run) joiners(ctx context.Context) error {
	var sample []int
	step := max(1, len(r.panels)/r.opts.Joiners)
	for i := 0; i < len(r.panels) && len(sample) < r.opts.Joiners; i += step {
		if r.panels[i] != nil {
			sample = append(sample, i)
		}
	}
	lat := make([]time.Duration, len(sample))
	err := parallel(ctx, len(sample), 4, func(ctx context.Context, k int) error {
		i := sample[k]
		r.panels[i].close()
		p, err := dial(ctx, r.dialer, r.wsURL, r.devices[i], r.opts.StepTimeout)
		if err != nil {
			r.fails.add("join", err)
			r.panels[i] = nil
			lat[k] = -1
			return nil
		}
		r.panels[i] = p
		lat[k] = p.firstState.Sub(p.helloAt)
		return nil
	})
	r.rep.Join = summarize(lat)
	return err
}

// storm restarts the server with every panel connected and measures from
// the restart until each panel, reconnecting with backoff and jitter,
// shows its room's current state again (the state with subject, the last
// change made to every room).
func (r *run) storm(ctx context.Context, subject string) error {
	proc := r.opts.Process
	current := func(m proto.Message) bool { return m.Type == proto.TypeState && hasTitle(m.State, subject) }
	var live []*panel
	for _, p := range r.panels {
		if p != nil {
			p.expect(nil)
			live = append(live, p)
		}
	}
	r.sampler.reset()
	start := time.Now()
	var wg gosync.WaitGroup
	lat := make([]time.Duration, len(live))
	// A bound on the whole storm: every panel back, or given up on.
	stormCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	for k, p := range live {
		wg.Go(func() {
			lat[k] = -1
			at, err := p.reconnect(stormCtx, r.dialer, r.wsURL, current, r.opts.StepTimeout)
			if err != nil {
				r.fails.add("reconnect storm", err)
				return
			}
			lat[k] = at.Sub(start)
		})
	}
	err := proc.Stop(ctx)
	r.rep.StormStopped = time.Since(start)
	if err == nil {
		err = proc.Start(ctx)
	}
	r.rep.StormReady = time.Since(start)
	if err != nil {
		cancel()
		wg.Wait()
		return fmt.Errorf("loadtest: restart the server: %w", err)
	}
	r.log.Info("server restarted; panels reconnecting", "stopped_after", r.rep.StormStopped.Round(time.Millisecond), "ready_after", r.rep.StormReady.Round(time.Millisecond))
	wg.Wait()
	r.rep.Storm = summarize(lat)
	r.rep.StormP50, r.rep.StormP99, r.rep.StormAll = r.rep.Storm.P50, r.rep.Storm.P99, r.rep.Storm.Max
	r.rep.StormPeakRSS, r.rep.StormPeakCPU = r.sampler.peaks()
	// The panels that came back replace the old ones for cleanup.
	return nil
}

// reconnect waits for the server to close the connection, then dials
// again with backoff until a frame that match accepts arrives on a new
// connection. It returns when that frame arrived.
func (p *panel) reconnect(ctx context.Context, d dialer, url string, match func(proto.Message) bool, timeout time.Duration) (time.Time, error) {
	select {
	case <-p.done:
	case <-ctx.Done():
		return time.Time{}, fmt.Errorf("panel %s: the server did not close the connection: %w", p.dev.id, ctx.Err())
	}
	p.ws.Close()
	failures := 0
	for {
		t := time.NewTimer(backoff(failures))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return time.Time{}, fmt.Errorf("panel %s: not back after %d attempts: %w", p.dev.id, failures+1, ctx.Err())
		}
		if err := p.redial(ctx, d, url, match, timeout); err == nil {
			at, _, err := p.wait(ctx, timeout)
			if err == nil {
				return at, nil
			}
			p.ws.Close()
			<-p.done
		}
		failures++
	}
}
