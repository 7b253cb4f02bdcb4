package input

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// recorder collects emitted events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) emit(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) actions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var a []string
	for _, e := range r.events {
		if e.Kind != Button {
			a = append(a, "kind:"+e.Kind.String())
			continue
		}
		a = append(a, e.Action)
	}
	return a
}

func newButtonPin(name string) *gpiotest.Pin {
	return &gpiotest.Pin{N: name, EdgesChan: make(chan gpio.Level, 16)}
}

// edges feeds levels to a pin, gap apart, like a bouncing contact.
func edges(p *gpiotest.Pin, gap time.Duration, levels ...gpio.Level) {
	for i, l := range levels {
		if i > 0 {
			time.Sleep(gap)
		}
		p.EdgesChan <- l
	}
}

func watchButtons(t *testing.T, opts ButtonOpts, pins ...ButtonPin) (*Buttons, *recorder) {
	t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	rec := &recorder{}
	bs, err := WatchButtons(t.Context(), pins, opts, rec.emit)
	if err != nil {
		t.Fatal(err)
	}
	return bs, rec
}

func wantActions(t *testing.T, rec *recorder, want ...string) {
	t.Helper()
	got := rec.actions()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("actions = %q, want %q", got, want)
	}
}

func TestButtonPress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		book := newButtonPin("GPIO5")
		end := newButtonPin("GPIO6")
		bs, rec := watchButtons(t, ButtonOpts{}, ButtonPin{book, "book"}, ButtonPin{end, "end"})
		defer bs.Close()
		if book.P != gpio.PullUp {
			t.Errorf("pull = %s, want the internal pull-up", book.P)
		}
		start := time.Now()
		book.EdgesChan <- gpio.Low
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		wantActions(t, rec, "book")
		if got := rec.events[0].Time; !got.Equal(start) {
			t.Errorf("event time %v, want the edge's %v", got, start)
		}

		edges(book, 100*time.Millisecond, gpio.High) // release
		edges(end, 0, gpio.Low)
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		wantActions(t, rec, "book", "end")
	})
}

func TestButtonDebounce(t *testing.T) {
	type edge struct {
		after time.Duration // since the previous edge
		level gpio.Level
	}
	bounce := 3 * time.Millisecond
	tests := []struct {
		name  string
		edges []edge
		want  []string
	}{
		{"bouncing press counts once",
			[]edge{{0, gpio.Low}, {bounce, gpio.High}, {bounce, gpio.Low}, {bounce, gpio.High}, {bounce, gpio.Low}},
			[]string{"checkin"}},
		{"glitch shorter than debounce ignored",
			[]edge{{0, gpio.Low}, {20 * time.Millisecond, gpio.High}},
			nil},
		{"bouncing release after a press ignored",
			[]edge{{0, gpio.Low}, {300 * time.Millisecond, gpio.High}, {bounce, gpio.Low}, {bounce, gpio.High}},
			[]string{"checkin"}},
		{"two presses",
			[]edge{{0, gpio.Low}, {200 * time.Millisecond, gpio.High}, {200 * time.Millisecond, gpio.Low}},
			[]string{"checkin", "checkin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newButtonPin("GPIO13")
				bs, rec := watchButtons(t, ButtonOpts{}, ButtonPin{p, "checkin"})
				defer bs.Close()
				for _, e := range tt.edges {
					time.Sleep(e.after)
					p.EdgesChan <- e.level
				}
				time.Sleep(time.Second)
				synctest.Wait()
				wantActions(t, rec, tt.want...)
			})
		})
	}
}

func TestButtonDebounceConfigurable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newButtonPin("GPIO13")
		bs, rec := watchButtons(t, ButtonOpts{Debounce: 5 * time.Millisecond}, ButtonPin{p, "book"})
		defer bs.Close()
		// Two presses 20 ms apart: with the default 50 ms they would merge
		// into one, with 5 ms they are two.
		edges(p, 10*time.Millisecond, gpio.Low, gpio.High, gpio.Low)
		time.Sleep(time.Second)
		synctest.Wait()
		wantActions(t, rec, "book", "book")
	})
}

func TestButtonActiveHigh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newButtonPin("GPIO26")
		bs, rec := watchButtons(t, ButtonOpts{ActiveHigh: true}, ButtonPin{p, "end"})
		defer bs.Close()
		if p.P != gpio.PullDown {
			t.Errorf("pull = %s, want pull-down", p.P)
		}
		p.EdgesChan <- gpio.Low // a release: ignored
		time.Sleep(time.Second)
		p.EdgesChan <- gpio.High
		time.Sleep(time.Second)
		synctest.Wait()
		wantActions(t, rec, "end")
	})
}

func TestButtonsStopWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		p := newButtonPin("GPIO5")
		rec := &recorder{}
		bs, err := WatchButtons(ctx, []ButtonPin{{p, "book"}}, ButtonOpts{}, rec.emit)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		// Close returns once the goroutine has seen the cancellation; with
		// gpiotest (whose Halt does not interrupt a wait) after at most
		// ButtonOpts.Wait.
		done := make(chan struct{})
		go func() { bs.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatal("Close did not return after the context was cancelled")
		}
		p.EdgesChan <- gpio.Low
		time.Sleep(time.Second)
		synctest.Wait()
		wantActions(t, rec)
	})
}

func TestWatchButtonsErrors(t *testing.T) {
	noEdges := &gpiotest.Pin{N: "GPIO9"} // gpiotest refuses edges without EdgesChan
	tests := []struct {
		name string
		pins []ButtonPin
		want string
	}{
		{"no action", []ButtonPin{{newButtonPin("GPIO5"), ""}}, "needs both a pin and an action"},
		{"no pin", []ButtonPin{{nil, "book"}}, "needs both a pin and an action"},
		{"edge detection refused", []ButtonPin{{noEdges, "end"}}, "input: button GPIO9(0) (end)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := WatchButtons(t.Context(), tt.pins, ButtonOpts{}, func(Event) {})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
