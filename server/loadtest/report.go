package loadtest

import (
	"fmt"
	"slices"
	"strings"
	gosync "sync"
	"time"
)

// Report is what a run measured.
type Report struct {
	Panels, Rooms int
	Prefix        string        // the ids of the rooms the run created start with it
	Setup         time.Duration // creating the rooms and devices through the API

	// ConnectAll is from the first dial until every panel had its first
	// state (or failed); Connect is per panel, from dial to first state.
	ConnectAll time.Duration
	Connect    Stats
	// OneRoom: from the API call that added an event to one room until
	// each of its panels had the new state, on a quiet server. Its Max is
	// the time to reach every panel of the room. OneRoomAfterConnect is
	// the same right after every panel connected, when the server may
	// still be busy with the connections.
	OneRoom             Stats
	OneRoomAfterConnect Stats
	// AllRooms: the same with an event added to every room at once, each
	// panel measured from its own room's API call; AllRoomsTook is from
	// the first call until the last panel had its state.
	AllRooms     Stats
	AllRoomsTook time.Duration
	// Book: one panel per room books 15 minutes, all at once; from sending
	// the request until its result.
	Book Stats
	// Join: panels that reconnect while the others stay connected, from
	// their hello until their room's state.
	Join Stats

	// With the server's Process: its resident memory before the panels
	// connected and once they all were, and the peaks while they
	// connected.
	IdleRSS, ConnectedRSS, ConnectPeakRSS int64
	ConnectPeakCPU                        float64 // cores
	// Storm: the server restarted with every panel connected; per panel
	// from the restart until it showed its room's current state again.
	// StormStopped and StormReady are when the old server had exited and
	// the new one answered /readyz; the peaks are over the whole storm.
	Storm                        Stats
	StormP50, StormP99, StormAll time.Duration
	StormStopped, StormReady     time.Duration
	StormPeakRSS                 int64
	StormPeakCPU                 float64

	// FailureCount counts every failure; Failures are the first few.
	FailureCount int
	Failures     []string
}

// Stats summarizes latencies. Failed counts the samples that never
// arrived; the percentiles are over the N that did.
type Stats struct {
	N, Failed     int
	P50, P99, Max time.Duration
}

// summarize takes latencies, negative for a failure.
func summarize(lat []time.Duration) Stats {
	var ok []time.Duration
	for _, d := range lat {
		if d >= 0 {
			ok = append(ok, d)
		}
	}
	s := Stats{N: len(ok), Failed: len(lat) - len(ok)}
	if len(ok) == 0 {
		return s
	}
	slices.Sort(ok)
	s.P50, s.P99, s.Max = percentile(ok, 50), percentile(ok, 99), ok[len(ok)-1]
	return s
}

// percentile is the nearest-rank percentile of sorted latencies.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

const keptFailures = 5

// failures collects failures from many goroutines.
type failures struct {
	mu    gosync.Mutex
	count int
	first []string
}

// add records a failure of step; the first few are kept verbatim.
func (f *failures) add(step string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count++
	if len(f.first) < keptFailures {
		f.first = append(f.first, step+": "+err.Error())
	}
}

func (f *failures) snapshot() (int, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count, slices.Clone(f.first)
}

// String prints the figures as a table.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "lintel load test: %d panels in %d rooms (%s-*), setup %v\n\n", r.Panels, r.Rooms, r.Prefix, r.Setup.Round(time.Millisecond))
	const format = "%-40s %7s %6s %10s %10s %10s %10s\n"
	fmt.Fprintf(&b, format, "step", "samples", "failed", "p50", "p99", "max", "total")
	row := func(name string, s Stats, total time.Duration) {
		t := "-"
		if total > 0 {
			t = ms(total)
		}
		fmt.Fprintf(&b, format, name, fmt.Sprint(s.N), fmt.Sprint(s.Failed), ms(s.P50), ms(s.P99), ms(s.Max), t)
	}
	row("connect (dial to first state)", r.Connect, r.ConnectAll)
	row("change in one room, just after connect", r.OneRoomAfterConnect, 0)
	row("change in one room -> its panels", r.OneRoom, 0)
	row("change in every room -> all panels", r.AllRooms, r.AllRoomsTook)
	row("late joiner: hello to first state", r.Join, 0)
	row(fmt.Sprintf("book 15 min at once in %d rooms", r.Book.N+r.Book.Failed), r.Book, 0)
	if r.Storm.N+r.Storm.Failed > 0 {
		row("restart: panels back with current state", r.Storm, 0)
		fmt.Fprintf(&b, "  restart: old server gone after %s, new one ready after %s; all back after %s; peak RSS %.1f MB, peak CPU %.2f cores\n",
			ms(r.StormStopped), ms(r.StormReady), ms(r.StormAll), mb(r.StormPeakRSS), r.StormPeakCPU)
	}
	if r.ConnectedRSS > 0 {
		n := max(1, r.Connect.N)
		fmt.Fprintf(&b, "\nserver memory (RSS): %.1f MB before the panels, %.1f MB with %d connected: %.1f KB per panel (idle included), %.1f KB per panel added\n",
			mb(r.IdleRSS), mb(r.ConnectedRSS), r.Connect.N, float64(r.ConnectedRSS)/float64(n)/1024, float64(r.ConnectedRSS-r.IdleRSS)/float64(n)/1024)
		fmt.Fprintf(&b, "while connecting: peak RSS %.1f MB, peak CPU %.2f cores\n", mb(r.ConnectPeakRSS), r.ConnectPeakCPU)
	}
	if r.FailureCount > 0 {
		fmt.Fprintf(&b, "\n%d failures; the first:\n", r.FailureCount)
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "  %s\n", f)
		}
	}
	return b.String()
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

// ms formats a duration in milliseconds with two decimals.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}
