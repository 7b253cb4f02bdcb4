package input

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
)

// TouchOpts configures a Touchscreen.
type TouchOpts struct {
	// Width and Height are the frame size in pixels after rotation, the
	// size panel/view renders at (e.g. 800x480, or 480x800 in portrait).
	// Required.
	Width, Height int
	// Rotation is the screen's rotation in degrees clockwise: 0, 90, 180 or
	// 270. Use the same value as the screen sink, so taps land where the
	// frame was drawn. Default 0.
	Rotation int
	// Calibration maps the raw axes. Its ranges are required with
	// NewTouchscreen; OpenTouchscreen reads the ranges left zero from the
	// device.
	Calibration Calibration
	// Layout is the size of the kernel's input_event. Default: this binary's
	// architecture (16 bytes on 32-bit ARM, 24 bytes on 64-bit).
	Layout Layout
	// Logger receives the device's details. Default: discard.
	Logger *slog.Logger
}

// Touchscreen turns the events of an evdev touchscreen into taps.
type Touchscreen struct {
	name   string
	dec    *Decoder
	closer io.Closer // nil when the source cannot be closed
	m      mapper
	log    *slog.Logger

	mu     sync.Mutex
	closed bool
}

// NewTouchscreen reads events from r, which is typically an open
// /dev/input/eventN, a recording, or bytes from a test. If r is an
// io.Closer, Close closes it. opts.Calibration must have its ranges set.
func NewTouchscreen(r io.Reader, opts TouchOpts) (*Touchscreen, error) {
	m, err := newMapper(opts.Calibration, opts.Rotation, opts.Width, opts.Height)
	if err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	t := &Touchscreen{name: "reader", dec: NewDecoder(r, opts.Layout), m: m, log: opts.Logger}
	if f, ok := r.(interface{ Name() string }); ok {
		t.name = f.Name()
	}
	if c, ok := r.(io.Closer); ok {
		t.closer = c
	}
	return t, nil
}

// OpenTouchscreen opens an evdev device such as /dev/input/event0. Axis
// ranges left zero in opts.Calibration are read from the device with the
// EVIOCGABS ioctl; a regular file (a recording) must come with its ranges.
func OpenTouchscreen(path string, opts TouchOpts) (*Touchscreen, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("input: touchscreen: %w", err)
	}
	cal := &opts.Calibration
	if cal.X == (AbsRange{}) || cal.Y == (AbsRange{}) {
		x, y, err := axisRanges(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("input: touchscreen %s: read axis ranges (pass Calibration.X and .Y for a file that is not a device): %w", path, err)
		}
		if cal.X == (AbsRange{}) {
			cal.X = x
		}
		if cal.Y == (AbsRange{}) {
			cal.Y = y
		}
	}
	t, err := NewTouchscreen(f, opts)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("input: touchscreen %s: %w", path, err)
	}
	t.log.Info("input: touchscreen", "path", path, "x", cal.X, "y", cal.Y, "rotation", opts.Rotation)
	return t, nil
}

// Run calls emit with an Event of Kind Touch for every tap (when the finger
// is lifted), until the input ends, Close is called or ctx is done; those
// return nil. A read error, such as the device being unplugged, is returned.
//
// A read from a device blocks and does not see ctx, so Run closes the
// device when ctx is done: a Touchscreen cannot be run twice.
func (t *Touchscreen) Run(ctx context.Context, emit func(Event)) error {
	stop := context.AfterFunc(ctx, func() { _ = t.Close() })
	defer stop()
	var taps tapDetector
	for {
		ev, err := t.dec.Next()
		if err != nil {
			if errors.Is(err, io.EOF) || t.isClosed() {
				return nil
			}
			return fmt.Errorf("input: touchscreen %s: %w", t.name, err)
		}
		if rx, ry, at, ok := taps.feed(ev); ok {
			x, y := t.m.toScreen(rx, ry)
			emit(Event{Kind: Touch, X: x, Y: y, Time: at})
		}
	}
}

// Close closes the underlying device, which ends a blocked Run.
func (t *Touchscreen) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.closer == nil {
		t.closed = true
		return nil
	}
	t.closed = true
	if err := t.closer.Close(); err != nil {
		return fmt.Errorf("input: touchscreen %s: %w", t.name, err)
	}
	return nil
}

func (t *Touchscreen) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}
