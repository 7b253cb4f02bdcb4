package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
)

// rooms adds n rooms with one meeting each.
func (e *env) rooms(n int) []string {
	var out []string
	for i := range n {
		r := e.room(fmt.Sprintf("room%03d", i))
		e.srv.AddEvent(r, meeting("Standup", at(9, 0), at(9, 15)))
		out = append(out, r)
	}
	return out
}

// allFine fails unless every room has its one meeting.
func allFine(t *testing.T, got map[string]calendar.RoomEvents, err error, rooms []string) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rooms {
		if got[r].Err != nil || len(got[r].Events) != 1 {
			t.Errorf("%s: %d events, err %v", r, len(got[r].Events), got[r].Err)
		}
	}
}

// viewsOf counts the calendarView requests for a room.
func (e *env) viewsOf(room string) int {
	n := 0
	for _, r := range e.srv.Requests() {
		if strings.EqualFold(r.Path, "/users/"+room+"/calendarView") {
			n++
		}
	}
	return n
}

func TestRetryAfterPerRequest(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	rooms := e.rooms(3)
	e.srv.Inject(graphtest.Fault{Status: 429, RetryAfter: time.Second})

	start := time.Now()
	got, err := e.p.Events(context.Background(), rooms, day, day.Add(24*time.Hour))
	allFine(t, got, err, rooms)
	if el := time.Since(start); el < time.Second {
		t.Errorf("retried after %v, before the Retry-After of 1s", el)
	}
	if st := e.srv.Stats(); st.Requests != 2 || st.Throttled != 1 {
		t.Errorf("stats %+v: want 2 requests, 1 throttled", st)
	}
}

func TestRetryAfterPerBatchItem(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	rooms := e.rooms(3)
	e.srv.Inject(graphtest.Fault{Mailbox: rooms[1], Status: 429, RetryAfter: time.Second})

	start := time.Now()
	got, err := e.p.Events(context.Background(), rooms, day, day.Add(24*time.Hour))
	allFine(t, got, err, rooms)
	if el := time.Since(start); el < time.Second {
		t.Errorf("retried after %v, before the item's Retry-After of 1s", el)
	}
	// Only the throttled room is asked again.
	if n0, n1, n2 := e.viewsOf(rooms[0]), e.viewsOf(rooms[1]), e.viewsOf(rooms[2]); n0 != 1 || n1 != 2 || n2 != 1 {
		t.Errorf("calendarView requests per room: %d %d %d, want 1 2 1", n0, n1, n2)
	}
}

func TestBackoffOn503(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	rooms := e.rooms(2)
	e.srv.Inject(graphtest.Fault{Status: 503, Times: 2})
	got, err := e.p.Events(context.Background(), rooms, day, day.Add(24*time.Hour))
	allFine(t, got, err, rooms)
	if st := e.srv.Stats(); st.Requests != 3 {
		t.Errorf("%d requests, want 3 (two 503s, then success)", st.Requests)
	}
}

func TestBackoffIsExponentialWithJitter(t *testing.T) {
	base := 100 * time.Millisecond
	seen := map[time.Duration]bool{}
	for attempt := range 4 {
		full := base << attempt
		for range 50 {
			d := backoff(base, attempt)
			if d < full/2 || d > full {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, full/2, full)
			}
			seen[d] = true
		}
	}
	if len(seen) < 20 {
		t.Errorf("only %d distinct waits in 200: no jitter", len(seen))
	}
}

// A room that keeps failing gets its own error; the others are fine. The
// caller (sync) keeps the room's last good state.
func TestPersistent503IsPerRoom(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	rooms := e.rooms(3)
	e.srv.Inject(graphtest.Fault{Mailbox: rooms[2], Status: 503, Times: 100})
	got, err := e.p.Events(context.Background(), rooms, day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	allFine(t, got, nil, rooms[:2])
	if !errors.Is(got[rooms[2]].Err, calendar.ErrUnavailable) {
		t.Errorf("failing room: err = %v, want ErrUnavailable", got[rooms[2]].Err)
	}
	if n := e.viewsOf(rooms[2]); n != 1+defaultMaxRetries {
		t.Errorf("failing room asked %d times, want %d", n, 1+defaultMaxRetries)
	}
}

func TestTimeoutIsRetried(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, func(c *Config) { c.RequestTimeout = 300 * time.Millisecond })
	rooms := e.rooms(2)
	e.srv.Inject(graphtest.Fault{Delay: 5 * time.Second})
	start := time.Now()
	got, err := e.p.Events(context.Background(), rooms, day, day.Add(24*time.Hour))
	allFine(t, got, err, rooms)
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %v: the hung request was not abandoned", el)
	}
}

// A Retry-After longer than MaxRetryWait is not slept through inside the
// call: the room reports ErrThrottled with RetryAfter, and the caller's
// schedule waits.
func TestLongRetryAfterIsReturned(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, nil)
	rooms := e.rooms(2)
	e.srv.Inject(graphtest.Fault{Mailbox: rooms[0], Status: 429, RetryAfter: 2 * time.Minute})
	start := time.Now()
	got, err := e.p.Events(context.Background(), rooms, day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var ce *calendar.Error
	if !errors.As(got[rooms[0]].Err, &ce) || ce.Kind != calendar.ErrThrottled || ce.RetryAfter != 2*time.Minute {
		t.Errorf("err = %v (%+v), want ErrThrottled with RetryAfter 2m", got[rooms[0]].Err, ce)
	}
	allFine(t, got, nil, rooms[1:])
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v", el)
	}

	// The same for a whole $batch throttled at the top level.
	e.srv.Inject(graphtest.Fault{Status: 429, RetryAfter: 2 * time.Minute})
	got, err = e.p.Events(context.Background(), rooms, day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rooms {
		if !errors.As(got[r].Err, &ce) || ce.Kind != calendar.ErrThrottled || ce.RetryAfter != 2*time.Minute {
			t.Errorf("%s: err = %v, want ErrThrottled with RetryAfter 2m", r, got[r].Err)
		}
	}
}

func TestThrottleModelRate(t *testing.T) {
	// Two requests per room per 2 s: the third read of the room is
	// throttled with Retry-After 1 and succeeds after it.
	e := newEnv(t, graphtest.Options{Throttle: graphtest.Throttle{MailboxLimit: 2, Window: 2 * time.Second}}, nil)
	rooms := e.rooms(1)
	for i := range 3 {
		got, err := e.p.Events(context.Background(), rooms, day, day.Add(24*time.Hour))
		if err != nil || got[rooms[0]].Err != nil {
			t.Fatalf("read %d: %v %v", i, err, got[rooms[0]].Err)
		}
	}
	if st := e.srv.Stats(); st.Throttled != 1 {
		t.Errorf("%d throttled, want 1", st.Throttled)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	// 400 rooms are 20 batches; with 30 ms per request they would all be
	// in flight at once if the client let them. The adaptive limit starts
	// at 4 and grows while answers are clean, up to MaxConcurrent.
	e := newEnv(t, graphtest.Options{Latency: 30 * time.Millisecond}, func(c *Config) { c.MaxConcurrent = 8 })
	rooms := e.rooms(400)
	got, err := e.p.Events(context.Background(), rooms, day, day.Add(24*time.Hour))
	allFine(t, got, err, rooms)
	st := e.srv.Stats()
	if st.MaxInFlight > 8 || st.MaxInFlight <= 4 || st.Throttled != 0 || st.Requests != 20 {
		t.Errorf("stats %+v: want 20 requests, 5 to 8 in flight, none throttled", st)
	}
	if c := e.p.tr.limit.current(); c != 8 {
		t.Errorf("limit %d after clean answers, want the ceiling 8", c)
	}
}

// An app-wide limit in the emulator (4 in flight) bites a client that
// grows past it: the client halves its limit on 429 and every room is
// still read.
func TestConcurrencyAdaptsToThrottling(t *testing.T) {
	e := newEnv(t, graphtest.Options{Latency: 50 * time.Millisecond, Throttle: graphtest.Throttle{MaxConcurrent: 4}}, nil)
	rooms := e.rooms(400)
	got, err := e.p.Events(context.Background(), rooms, day, day.Add(24*time.Hour))
	allFine(t, got, err, rooms) // after retries
	st := e.srv.Stats()
	if st.Throttled == 0 {
		t.Errorf("stats %+v: want 429s past 4 in flight", st)
	}
	if c := e.p.tr.limit.current(); c > 8 {
		t.Errorf("limit %d after 429s, want it cut", c)
	}
}
