package input

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// ButtonPin maps a push button's pin to the action it triggers.
type ButtonPin struct {
	Pin    gpio.PinIn
	Action string // e.g. "book", "checkin", "end"
}

// ButtonOpts configures Buttons. The zero value is usable.
type ButtonOpts struct {
	// ActiveHigh is for buttons wired between the pin and 3.3 V: the pin is
	// pulled down and a press is a rising edge. Default false: the usual
	// wiring between the pin and ground, with the internal pull-up and a
	// press on the falling edge.
	ActiveHigh bool
	// Debounce is how long a press must hold before it counts; mechanical
	// contacts bounce for a few milliseconds when pressed and released.
	// Default 50 ms.
	Debounce time.Duration
	// Wait bounds each wait for an edge, so a pin driver whose Halt cannot
	// interrupt the wait still notices Close within this time. Default 10 s;
	// idle buttons wake up only this often.
	Wait time.Duration
	// Logger receives pin errors. Default: discard.
	Logger *slog.Logger
}

// Buttons watches push buttons, one goroutine per pin, until Close or until
// the context given to WatchButtons is done.
type Buttons struct {
	pins   []ButtonPin
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// WatchButtons configures each pin for edge detection and calls emit with an
// Event of Kind Button for every debounced press. emit is called from the
// watching goroutines, one button at a time per pin; it must not block for
// long.
func WatchButtons(ctx context.Context, buttons []ButtonPin, opts ButtonOpts, emit func(Event)) (*Buttons, error) {
	if opts.Debounce <= 0 {
		opts.Debounce = 50 * time.Millisecond
	}
	if opts.Wait <= 0 {
		opts.Wait = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if emit == nil {
		return nil, errors.New("input: WatchButtons needs an emit callback")
	}
	pull, edge, pressed := gpio.PullUp, gpio.FallingEdge, gpio.Low
	if opts.ActiveHigh {
		pull, edge, pressed = gpio.PullDown, gpio.RisingEdge, gpio.High
	}
	for _, b := range buttons {
		if b.Pin == nil || b.Action == "" {
			return nil, fmt.Errorf("input: button %v needs both a pin and an action", b.Pin)
		}
		if err := b.Pin.In(pull, edge); err != nil {
			return nil, fmt.Errorf("input: button %s (%s): %w", b.Pin, b.Action, err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	bs := &Buttons{pins: buttons, cancel: cancel}
	// A pin blocked in WaitForEdge only returns early when halted.
	context.AfterFunc(ctx, bs.haltAll)
	for _, b := range buttons {
		bs.wg.Add(1)
		go func() {
			defer bs.wg.Done()
			watch(ctx, b, pressed, opts, emit)
		}()
	}
	return bs, nil
}

// Close stops watching and waits for the goroutines to end.
func (bs *Buttons) Close() error {
	bs.cancel()
	bs.wg.Wait()
	return nil
}

func (bs *Buttons) haltAll() {
	for _, b := range bs.pins {
		_ = b.Pin.Halt()
	}
}

// watch reports the presses of one button until ctx is done.
//
// An edge only says the contact moved. After the first edge, watch waits out
// the debounce time, swallowing the edges of the bounce, then reads the pin:
// if the button is still held it is a press. The bounce of a release (or a
// short glitch) ends with the pin released, so it is ignored.
func watch(ctx context.Context, b ButtonPin, pressed gpio.Level, opts ButtonOpts, emit func(Event)) {
	for ctx.Err() == nil {
		if !b.Pin.WaitForEdge(opts.Wait) {
			continue
		}
		at := time.Now()
		deadline := at.Add(opts.Debounce)
		for {
			left := time.Until(deadline)
			if left <= 0 || !b.Pin.WaitForEdge(left) {
				break
			}
		}
		if ctx.Err() != nil {
			return
		}
		if b.Pin.Read() != pressed {
			opts.Logger.Debug("input: edge without a held press (bounce or release)", "pin", b.Pin.String(), "action", b.Action)
			continue
		}
		emit(Event{Kind: Button, Action: b.Action, Time: at})
	}
}
