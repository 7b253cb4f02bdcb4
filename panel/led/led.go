// Package led drives the door panel's two status LEDs (green and red) through
// periph GPIO pins.
//
// The LEDs tell people in the corridor whether a room is free without reading
// the screen, so they follow the room status: green for free, red for busy,
// both (amber) when a meeting starts soon, both blinking while a meeting
// waits for check-in. Staff can make a panel blink fast for a while to find it
// among many (Identify).
//
// A steady signal costs nothing at run time: the pins are written once and no
// timer runs. Only a blinking signal starts a goroutine, which stops as soon
// as a steady signal is set again, so an idle panel does not wake up the CPU
// more than about once per second.
package led

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
)

// Signal is what the LEDs show.
type Signal int

// The signals, in the order of the room status they stand for.
const (
	// Off turns both LEDs off (unpaired panel, or night).
	Off Signal = iota
	// Green: the room is free.
	Green
	// Red: the room is busy.
	Red
	// Amber (both LEDs on): a meeting starts soon.
	Amber
	// BlinkAmber (both LEDs blink together at about 1 Hz): a meeting awaits
	// check-in and will be released if nobody checks in.
	BlinkAmber
	// Identify blinks green and red alternately and fast for Opts.IdentifyFor
	// so staff can find the panel, then returns to the signal shown before.
	Identify
)

func (s Signal) String() string {
	switch s {
	case Off:
		return "off"
	case Green:
		return "green"
	case Red:
		return "red"
	case Amber:
		return "amber"
	case BlinkAmber:
		return "blink-amber"
	case Identify:
		return "identify"
	}
	return fmt.Sprintf("Signal(%d)", int(s))
}

// Opts configures the LEDs. Only Green and Red are required; every other
// field has a documented default for its zero value.
type Opts struct {
	// Green and Red are the pins driving the two LEDs. Required.
	Green, Red gpio.PinOut
	// ActiveLow inverts the outputs, for LEDs wired between 3.3 V and the pin
	// (the pin sinks the current, so Low lights the LED). Default false: High
	// lights the LED.
	ActiveLow bool

	// BlinkPeriod is one full on+off cycle of BlinkAmber. Default 1 s (1 Hz):
	// noticeable, yet calm enough for a corridor.
	BlinkPeriod time.Duration
	// IdentifyPeriod is one full cycle of Identify. Default 250 ms (4 Hz),
	// clearly different from BlinkAmber.
	IdentifyPeriod time.Duration
	// IdentifyFor is how long Identify lasts. Default 30 s.
	IdentifyFor time.Duration

	// Brightness is the duty cycle of a lit LED. Default (0) and gpio.DutyMax
	// mean fully on with a plain digital output, which every pin supports.
	// A value below DutyMax uses the pin's PWM, which not every pin has; when
	// PWM fails the LED falls back to fully on and the error is logged once.
	Brightness gpio.Duty
	// NightBrightness is the duty cycle used after SetNight(true), so LEDs do
	// not light up a dark corridor. Default DutyMax/10 (10 %).
	NightBrightness gpio.Duty
	// PWMFrequency is the PWM frequency used for dimming. Default 1 kHz, far
	// above visible flicker.
	PWMFrequency physic.Frequency

	// Logger receives pin errors that happen on the blink goroutine, where
	// nobody can return them. Default: discard.
	Logger *slog.Logger
}

func (o *Opts) setDefaults() {
	if o.BlinkPeriod <= 0 {
		o.BlinkPeriod = time.Second
	}
	if o.IdentifyPeriod <= 0 {
		o.IdentifyPeriod = 250 * time.Millisecond
	}
	if o.IdentifyFor <= 0 {
		o.IdentifyFor = 30 * time.Second
	}
	if o.Brightness <= 0 || o.Brightness > gpio.DutyMax {
		o.Brightness = gpio.DutyMax
	}
	if o.NightBrightness <= 0 || o.NightBrightness > gpio.DutyMax {
		o.NightBrightness = gpio.DutyMax / 10
	}
	if o.PWMFrequency <= 0 {
		o.PWMFrequency = physic.KiloHertz
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// LEDs shows a Signal on the green and red LEDs. Its methods are safe for
// concurrent use.
type LEDs struct {
	opts Opts

	mu          sync.Mutex
	base        Signal        // the room signal; shown when not identifying
	identifying bool          // Identify is active and overrides base
	identTimer  *time.Timer   // ends Identify; nil when not identifying
	blinking    Signal        // pattern of the running blink goroutine
	stop        chan struct{} // closed to stop the blink goroutine; nil when none runs
	night       bool
	pwmFailed   bool // PWM was refused once: use plain outputs from now on
	closed      bool
	wg          sync.WaitGroup
}

// New returns LEDs driving opts.Green and opts.Red, both switched off.
func New(opts Opts) (*LEDs, error) {
	if opts.Green == nil || opts.Red == nil {
		return nil, errors.New("led: both Green and Red pins are required")
	}
	opts.setDefaults()
	l := &LEDs{opts: opts}
	if err := l.write(false, false); err != nil {
		return nil, err
	}
	return l, nil
}

// Set shows s. Setting Identify starts (or restarts) the identify period;
// any other signal set while identifying is remembered and shown when the
// identify period ends, so a room status change does not cut it short.
//
// The error is the first pin write that failed; later writes by the blink
// goroutine are logged instead.
func (l *LEDs) Set(s Signal) error {
	if s < Off || s > Identify {
		return fmt.Errorf("led: unknown signal %d", int(s))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("led: set after Close")
	}
	if s == Identify {
		l.identifying = true
		if l.identTimer != nil {
			l.identTimer.Stop()
		}
		l.identTimer = time.AfterFunc(l.opts.IdentifyFor, l.endIdentify)
	} else {
		l.base = s
	}
	return l.apply()
}

// Signal returns the signal shown now (Identify while identifying).
func (l *LEDs) Signal() Signal {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.current()
}

// SetNight switches between Opts.Brightness (false) and Opts.NightBrightness
// (true), e.g. from the screen's office-hours schedule.
func (l *LEDs) SetNight(night bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.night == night {
		return nil
	}
	l.night = night
	if l.stop != nil {
		return nil // the blink goroutine applies the new level on its next tick
	}
	return l.apply()
}

// SetLevels changes Opts.Brightness and Opts.NightBrightness, in percent
// of fully on (the server's settings); 0 keeps the default (100 % and
// 10 %). A lit LED takes the new level at once.
func (l *LEDs) SetLevels(dayPercent, nightPercent int) error {
	duty := func(pct int, def gpio.Duty) gpio.Duty {
		if pct <= 0 || pct > 100 {
			return def
		}
		return gpio.DutyMax * gpio.Duty(pct) / 100
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	day, night := duty(dayPercent, gpio.DutyMax), duty(nightPercent, gpio.DutyMax/10)
	if l.closed || (day == l.opts.Brightness && night == l.opts.NightBrightness) {
		return nil
	}
	l.opts.Brightness, l.opts.NightBrightness = day, night
	if l.stop != nil {
		return nil // the blink goroutine applies the new level on its next tick
	}
	return l.apply()
}

// Close stops blinking, turns both LEDs off and waits for the blink
// goroutine to end. A stopped panel must not keep claiming a room is free.
func (l *LEDs) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	if l.identTimer != nil {
		l.identTimer.Stop()
		l.identTimer = nil
	}
	l.stopBlink()
	err := l.write(false, false)
	l.mu.Unlock()
	l.wg.Wait()
	return err
}

// endIdentify runs on the identify timer's goroutine.
func (l *LEDs) endIdentify() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || !l.identifying {
		return
	}
	l.identifying = false
	l.identTimer = nil
	if err := l.apply(); err != nil {
		l.opts.Logger.Warn("led: end identify", "err", err)
	}
}

func (l *LEDs) current() Signal {
	if l.identifying {
		return Identify
	}
	return l.base
}

// apply makes the pins (and the blink goroutine) match the current signal.
// l.mu must be held.
func (l *LEDs) apply() error {
	s := l.current()
	switch s {
	case BlinkAmber, Identify:
		if l.stop != nil && l.blinking == s {
			return nil // already blinking this pattern: keep its phase
		}
		l.stopBlink()
		green, red := phase(s, false)
		err := l.write(green, red)
		l.startBlink(s)
		return err
	default:
		l.stopBlink()
		green := s == Green || s == Amber
		red := s == Red || s == Amber
		return l.write(green, red)
	}
}

// phase returns the LED states of a blinking signal in its first (odd=false)
// or second half period.
func phase(s Signal, odd bool) (green, red bool) {
	if s == Identify {
		return !odd, odd // alternate: green, red, green, ...
	}
	return !odd, !odd // together: both on, both off, ...
}

// startBlink starts the blink goroutine for s. l.mu must be held.
func (l *LEDs) startBlink(s Signal) {
	half := l.opts.BlinkPeriod / 2
	if s == Identify {
		half = l.opts.IdentifyPeriod / 2
	}
	stop := make(chan struct{})
	l.stop = stop
	l.blinking = s
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		t := time.NewTicker(half)
		defer t.Stop()
		odd := false
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			l.mu.Lock()
			// Check stop again under the lock: apply may have replaced this
			// goroutine between the tick and the lock.
			select {
			case <-stop:
				l.mu.Unlock()
				return
			default:
			}
			odd = !odd
			if err := l.write(phase(s, odd)); err != nil {
				l.opts.Logger.Warn("led: blink", "signal", s, "err", err)
			}
			l.mu.Unlock()
		}
	}()
}

// stopBlink tells the blink goroutine, if any, to end. It does not wait, so
// it is safe with l.mu held. l.mu must be held.
func (l *LEDs) stopBlink() {
	if l.stop != nil {
		close(l.stop)
		l.stop = nil
	}
}

// write sets both LEDs. l.mu must be held.
func (l *LEDs) write(green, red bool) error {
	errG := l.writePin(l.opts.Green, green)
	errR := l.writePin(l.opts.Red, red)
	if errG != nil {
		return fmt.Errorf("led: green pin %s: %w", l.opts.Green, errG)
	}
	if errR != nil {
		return fmt.Errorf("led: red pin %s: %w", l.opts.Red, errR)
	}
	return nil
}

func (l *LEDs) writePin(p gpio.PinOut, on bool) error {
	duty := l.opts.Brightness
	if l.night {
		duty = l.opts.NightBrightness
	}
	if on && duty < gpio.DutyMax && !l.pwmFailed {
		if l.opts.ActiveLow {
			duty = gpio.DutyMax - duty
		}
		err := p.PWM(duty, l.opts.PWMFrequency)
		if err == nil {
			return nil
		}
		// Most GPIO pins have no hardware PWM. Fully lit beats unlit.
		l.pwmFailed = true
		l.opts.Logger.Warn("led: PWM dimming not supported, LEDs stay at full brightness", "pin", p.String(), "err", err)
	}
	level := gpio.Level(on)
	if l.opts.ActiveLow {
		level = !level
	}
	return p.Out(level)
}
