package led

import (
	"errors"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/physic"
)

func newPins() (green, red *gpiotest.Pin) {
	return &gpiotest.Pin{N: "GPIO17", Num: 17}, &gpiotest.Pin{N: "GPIO27", Num: 27}
}

func newLEDs(t *testing.T, opts Opts) (*LEDs, *gpiotest.Pin, *gpiotest.Pin) {
	t.Helper()
	g, r := newPins()
	opts.Green, opts.Red = g, r
	opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	l, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return l, g, r
}

// lit reports whether the LED on p is lit, taking the wiring into account.
func lit(p *gpiotest.Pin, activeLow bool) bool {
	return bool(p.Read()) != activeLow
}

func wantLit(t *testing.T, when string, g, r *gpiotest.Pin, activeLow, green, red bool) {
	t.Helper()
	if gotG, gotR := lit(g, activeLow), lit(r, activeLow); gotG != green || gotR != red {
		t.Errorf("%s: green lit=%v red lit=%v, want green=%v red=%v (levels %s %s)", when, gotG, gotR, green, red, g.Read(), r.Read())
	}
}

func TestSteadySignals(t *testing.T) {
	tests := []struct {
		sig        Signal
		green, red bool
	}{
		{Off, false, false},
		{Green, true, false},
		{Red, false, true},
		{Amber, true, true},
	}
	for _, activeLow := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(tt.sig.String(), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					l, g, r := newLEDs(t, Opts{ActiveLow: activeLow})
					defer l.Close()
					// Start from the opposite state so every pin must change.
					_ = l.Set(BlinkAmber)
					if err := l.Set(tt.sig); err != nil {
						t.Fatal(err)
					}
					wantLit(t, "after Set", g, r, activeLow, tt.green, tt.red)
					// A steady signal runs no goroutine: the pins stay put.
					l.mu.Lock()
					running := l.stop != nil
					l.mu.Unlock()
					if running {
						t.Error("blink goroutine still running for a steady signal")
					}
					time.Sleep(10 * time.Second)
					synctest.Wait()
					wantLit(t, "10s later", g, r, activeLow, tt.green, tt.red)
				})
			})
		}
	}
}

func TestNewStartsOff(t *testing.T) {
	g, r := newPins()
	g.L, r.L = gpio.Low, gpio.Low // Low lights an active-low LED
	l, err := New(Opts{Green: g, Red: r, ActiveLow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	wantLit(t, "New", g, r, true, false, false)
}

func TestBlinkAmber(t *testing.T) {
	for _, activeLow := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			l, g, r := newLEDs(t, Opts{ActiveLow: activeLow})
			defer l.Close()
			if err := l.Set(BlinkAmber); err != nil {
				t.Fatal(err)
			}
			// Default 1 Hz: on for 500 ms, off for 500 ms. Sample mid-phase.
			time.Sleep(250 * time.Millisecond)
			synctest.Wait()
			wantLit(t, "250ms", g, r, activeLow, true, true)
			time.Sleep(500 * time.Millisecond)
			synctest.Wait()
			wantLit(t, "750ms", g, r, activeLow, false, false)
			// Setting the same blinking signal again (the room status is
			// resent every minute) keeps the rhythm rather than restarting it.
			_ = l.Set(BlinkAmber)
			wantLit(t, "750ms, set again", g, r, activeLow, false, false)
			time.Sleep(500 * time.Millisecond)
			synctest.Wait()
			wantLit(t, "1250ms", g, r, activeLow, true, true)
		})
	}
}

func TestIdentifyReturnsToPrevious(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, g, r := newLEDs(t, Opts{})
		defer l.Close()
		_ = l.Set(Red)
		_ = l.Set(Identify)
		if got := l.Signal(); got != Identify {
			t.Fatalf("Signal() = %s, want identify", got)
		}
		// 4 Hz alternating: green for 125 ms, then red for 125 ms.
		time.Sleep(60 * time.Millisecond)
		synctest.Wait()
		wantLit(t, "60ms", g, r, false, true, false)
		time.Sleep(125 * time.Millisecond)
		synctest.Wait()
		wantLit(t, "185ms", g, r, false, false, true)
		time.Sleep(125 * time.Millisecond)
		synctest.Wait()
		wantLit(t, "310ms", g, r, false, true, false)

		time.Sleep(30 * time.Second)
		synctest.Wait()
		if got := l.Signal(); got != Red {
			t.Fatalf("after identify Signal() = %s, want red", got)
		}
		wantLit(t, "after identify", g, r, false, false, true)
		l.mu.Lock()
		running := l.stop != nil
		l.mu.Unlock()
		if running {
			t.Error("blink goroutine still running after identify ended on a steady signal")
		}
	})
}

func TestIdentifyRemembersStatusChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, g, r := newLEDs(t, Opts{IdentifyFor: 10 * time.Second})
		defer l.Close()
		_ = l.Set(Green)
		_ = l.Set(Identify)
		time.Sleep(5 * time.Second)
		_ = l.Set(BlinkAmber) // the meeting now awaits check-in
		if got := l.Signal(); got != Identify {
			t.Fatalf("status change cut identify short: Signal() = %s", got)
		}
		time.Sleep(5*time.Second + 250*time.Millisecond)
		synctest.Wait()
		if got := l.Signal(); got != BlinkAmber {
			t.Fatalf("after identify Signal() = %s, want blink-amber", got)
		}
		wantLit(t, "blink on", g, r, false, true, true)
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		wantLit(t, "blink off", g, r, false, false, false)
	})
}

func TestCloseStopsBlinking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, g, r := newLEDs(t, Opts{})
		_ = l.Set(Identify)
		time.Sleep(time.Second)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		wantLit(t, "after Close", g, r, false, false, false)
		// Were the goroutine or the identify timer still alive, they would
		// light an LED again here.
		time.Sleep(time.Minute)
		synctest.Wait()
		wantLit(t, "a minute after Close", g, r, false, false, false)
		if err := l.Set(Green); err == nil {
			t.Error("Set after Close succeeded")
		}
	})
}

func TestSetUnknownSignal(t *testing.T) {
	l, _, _ := newLEDs(t, Opts{})
	defer l.Close()
	if err := l.Set(Signal(42)); err == nil {
		t.Error("Set(42) succeeded")
	}
}

func TestBrightness(t *testing.T) {
	for _, activeLow := range []bool{false, true} {
		l, g, r := newLEDs(t, Opts{ActiveLow: activeLow, Brightness: gpio.DutyHalf, NightBrightness: gpio.DutyMax / 4})
		invert := func(d gpio.Duty) gpio.Duty {
			if activeLow {
				return gpio.DutyMax - d
			}
			return d
		}
		_ = l.Set(Green)
		if g.D != invert(gpio.DutyHalf) || g.F != physic.KiloHertz {
			t.Errorf("activeLow=%v: green PWM %s at %s, want %s at 1kHz", activeLow, g.D, g.F, invert(gpio.DutyHalf))
		}
		if lit(r, activeLow) {
			t.Errorf("activeLow=%v: red lit", activeLow)
		}
		_ = l.SetNight(true)
		if g.D != invert(gpio.DutyMax/4) {
			t.Errorf("activeLow=%v: night green PWM %s, want %s", activeLow, g.D, invert(gpio.DutyMax/4))
		}
		l.Close()
	}
}

func TestDefaultBrightnessUsesPlainOutput(t *testing.T) {
	l, g, _ := newLEDs(t, Opts{})
	defer l.Close()
	_ = l.Set(Green)
	if g.D != 0 || g.Read() != gpio.High {
		t.Errorf("full brightness: duty %s level %s, want no PWM and High", g.D, g.Read())
	}
	// At night the default 10 % applies.
	_ = l.SetNight(true)
	if g.D != gpio.DutyMax/10 {
		t.Errorf("night duty %s, want 10%%", g.D)
	}
}

// noPWMPin is a pin without hardware PWM, like most GPIOs on a Raspberry Pi.
type noPWMPin struct{ *gpiotest.Pin }

func (noPWMPin) PWM(gpio.Duty, physic.Frequency) error { return errors.New("no PWM on this pin") }

func TestPWMUnsupportedFallsBackToFullOn(t *testing.T) {
	g, r := newPins()
	l, err := New(Opts{Green: noPWMPin{g}, Red: noPWMPin{r}, Brightness: gpio.DutyHalf,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Set(Amber); err != nil {
		t.Fatal(err)
	}
	wantLit(t, "amber without PWM", g, r, false, true, true)
}

// failPin fails every write with err.
type failPin struct {
	*gpiotest.Pin
	err error
}

func (p failPin) Out(gpio.Level) error { return p.err }

func TestOpenErrors(t *testing.T) {
	eacces := &failPin{Pin: &gpiotest.Pin{N: "GPIO17"}, err: syscall.EACCES}
	ok := &gpiotest.Pin{N: "GPIO27"}
	tests := []struct {
		name  string
		pins  map[string]gpio.PinIO
		probe error
		want  []string
	}{
		{"missing pin", map[string]gpio.PinIO{"GPIO27": ok}, nil, []string{"led: pin GPIO17 not found", "GPIO17"}},
		{"chip not readable", map[string]gpio.PinIO{}, syscall.EACCES, []string{"led: pin GPIO17 not found", "gpio group"}},
		{"write refused", map[string]gpio.PinIO{"GPIO17": eacces, "GPIO27": ok}, nil, []string{"led: pin GPIO17", "permission denied", "gpio group"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := func(n string) gpio.PinIO { return tt.pins[n] }
			probe := func() error {
				if tt.probe != nil {
					return explain(tt.probe)
				}
				return nil
			}
			_, err := open(PinNames{Green: "GPIO17", Red: "GPIO27"}, Opts{}, lookup, probe)
			if err == nil {
				t.Fatal("open succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestOpenDrivesPinsInactive(t *testing.T) {
	g, r := newPins()
	g.L, r.L = gpio.Low, gpio.Low
	pins := map[string]gpio.PinIO{"GPIO17": g, "GPIO27": r}
	l, err := open(PinNames{Green: "GPIO17", Red: "GPIO27"}, Opts{ActiveLow: true},
		func(n string) gpio.PinIO { return pins[n] }, func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Set(Red); err != nil {
		t.Fatal(err)
	}
	wantLit(t, "red", g, r, true, false, true)
}
