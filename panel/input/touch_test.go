package input

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rec is one input_event to encode.
type rec struct {
	typ, code uint16
	value     int32
}

// encode writes events in layout, each with timestamp 1700000000.000250 + i s.
func encode(layout Layout, evs ...rec) []byte {
	var b bytes.Buffer
	for i, e := range evs {
		sec, usec := uint64(1700000000+i), uint64(250)
		if layout.size() == 24 {
			b.Write(binary.LittleEndian.AppendUint64(nil, sec))
			b.Write(binary.LittleEndian.AppendUint64(nil, usec))
		} else {
			b.Write(binary.LittleEndian.AppendUint32(nil, uint32(sec)))
			b.Write(binary.LittleEndian.AppendUint32(nil, uint32(usec)))
		}
		b.Write(binary.LittleEndian.AppendUint16(nil, e.typ))
		b.Write(binary.LittleEndian.AppendUint16(nil, e.code))
		b.Write(binary.LittleEndian.AppendUint32(nil, uint32(e.value)))
	}
	return b.Bytes()
}

func syn() rec                     { return rec{evSyn, synReport, 0} }
func btn(down int32) rec           { return rec{evKey, btnTouch, down} }
func abs(code uint16, v int32) rec { return rec{evAbs, code, v} }

func TestDecoderLayouts(t *testing.T) {
	for _, layout := range []Layout{Layout64, Layout32} {
		data := encode(layout, abs(absX, 1234), rec{evKey, btnTouch, 1}, abs(absY, -5))
		if len(data) != 3*layout.size() {
			t.Fatalf("layout %d: encoded %d bytes", layout, len(data))
		}
		d := NewDecoder(bytes.NewReader(data), layout)
		want := []RawEvent{
			{time.Unix(1700000000, 250000), evAbs, absX, 1234},
			{time.Unix(1700000001, 250000), evKey, btnTouch, 1},
			{time.Unix(1700000002, 250000), evAbs, absY, -5},
		}
		for i, w := range want {
			got, err := d.Next()
			if err != nil {
				t.Fatalf("layout %d event %d: %v", layout, i, err)
			}
			if !got.Time.Equal(w.Time) || got.Type != w.Type || got.Code != w.Code || got.Value != w.Value {
				t.Errorf("layout %d event %d = %+v, want %+v", layout, i, got, w)
			}
		}
		if _, err := d.Next(); err != io.EOF {
			t.Errorf("layout %d: at end err = %v, want io.EOF", layout, err)
		}
	}
}

func TestDecoderTruncated(t *testing.T) {
	data := encode(Layout64, syn())
	d := NewDecoder(bytes.NewReader(data[:20]), Layout64)
	if _, err := d.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestLayoutNative(t *testing.T) {
	// The tests run on 64-bit machines; 32-bit ARM is checked under qemu.
	want := 24
	if ^uint(0)>>32 == 0 {
		want = 16
	}
	if got := LayoutNative.size(); got != want {
		t.Errorf("native event size %d, want %d", got, want)
	}
}

// taps runs a touchscreen over events and returns the emitted taps.
func taps(t *testing.T, opts TouchOpts, evs ...rec) []Event {
	t.Helper()
	if opts.Width == 0 {
		opts.Width, opts.Height = 800, 480
	}
	if opts.Calibration.X == (AbsRange{}) {
		opts.Calibration.X, opts.Calibration.Y = AbsRange{0, 799}, AbsRange{0, 479}
	}
	if opts.Layout == LayoutNative {
		opts.Layout = Layout32
	}
	ts, err := NewTouchscreen(bytes.NewReader(encode(opts.Layout, evs...)), opts)
	if err != nil {
		t.Fatal(err)
	}
	var got []Event
	if err := ts.Run(t.Context(), func(e Event) { got = append(got, e) }); err != nil {
		t.Fatal(err)
	}
	return got
}

func wantTaps(t *testing.T, got []Event, want ...[2]int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d taps %+v, want %v", len(got), got, want)
	}
	for i, w := range want {
		if got[i].Kind != Touch || got[i].X != w[0] || got[i].Y != w[1] {
			t.Errorf("tap %d = %+v, want touch at %v", i, got[i], w)
		}
	}
}

func TestTapSingleTouch(t *testing.T) {
	got := taps(t, TouchOpts{},
		btn(1), abs(absX, 100), abs(absY, 200), syn(),
		abs(absX, 110), syn(), // the finger moves a little
		btn(0), syn(),
	)
	wantTaps(t, got, [2]int{110, 200})
	if want := time.Unix(1700000007, 250000); !got[0].Time.Equal(want) {
		t.Errorf("tap time %v, want the release frame's SYN_REPORT at %v", got[0].Time, want)
	}
}

func TestTapNeedsRelease(t *testing.T) {
	got := taps(t, TouchOpts{}, btn(1), abs(absX, 100), abs(absY, 200), syn())
	wantTaps(t, got)
}

func TestTapMultiTouchWithoutBtnTouch(t *testing.T) {
	got := taps(t, TouchOpts{},
		abs(absMTSlot, 0), abs(absMTTrackingID, 7), abs(absMTPositionX, 300), abs(absMTPositionY, 400), syn(),
		// A second finger in slot 1 is ignored.
		abs(absMTSlot, 1), abs(absMTTrackingID, 8), abs(absMTPositionX, 10), abs(absMTPositionY, 10), syn(),
		abs(absMTTrackingID, -1), syn(), // the second finger lifts: no tap
		abs(absMTSlot, 0), abs(absMTPositionX, 320), syn(),
		abs(absMTTrackingID, -1), syn(),
	)
	wantTaps(t, got, [2]int{320, 400})
}

func TestTapPrefersMultiTouchPosition(t *testing.T) {
	// Pointer emulation sends both; a device whose ABS_X differs would be a
	// calibration mistake, but MT is the source of truth.
	got := taps(t, TouchOpts{},
		btn(1), abs(absMTTrackingID, 1), abs(absMTPositionX, 50), abs(absMTPositionY, 60), abs(absX, 51), abs(absY, 61), syn(),
		btn(0), abs(absMTTrackingID, -1), syn(),
	)
	wantTaps(t, got, [2]int{50, 60})
}

func TestTapSameSpotTwice(t *testing.T) {
	// evdev does not repeat an unchanged value, so the second tap carries no
	// position at all.
	got := taps(t, TouchOpts{},
		btn(1), abs(absX, 100), abs(absY, 200), syn(), btn(0), syn(),
		btn(1), syn(), btn(0), syn(),
	)
	wantTaps(t, got, [2]int{100, 200}, [2]int{100, 200})
}

func TestTapAfterSynDropped(t *testing.T) {
	got := taps(t, TouchOpts{},
		btn(1), abs(absX, 100), abs(absY, 200), syn(),
		// Lost events: the rest of this frame is incomplete and ignored,
		// and the release that follows gives no tap from a guess.
		rec{evSyn, synDropped, 0}, abs(absX, 700), syn(), btn(0), syn(),
		btn(1), abs(absY, 6), syn(), btn(0), syn(),
	)
	wantTaps(t, got, [2]int{100, 6})
}

func TestTapLayout64(t *testing.T) {
	got := taps(t, TouchOpts{Layout: Layout64}, btn(1), abs(absX, 1), abs(absY, 2), syn(), btn(0), syn())
	wantTaps(t, got, [2]int{1, 2})
}

func TestMapper(t *testing.T) {
	// Raw 0..4095 on both axes, as many resistive controllers report. Native
	// display 800x480 (landscape); rotated 90/270 the frame is 480x800.
	raw := AbsRange{0, 4095}
	tests := []struct {
		name     string
		cal      Calibration
		rotation int
		w, h     int
		rx, ry   int32
		x, y     int
	}{
		{"origin", Calibration{}, 0, 800, 480, 0, 0, 0, 0},
		{"far corner", Calibration{}, 0, 800, 480, 4095, 4095, 799, 479},
		{"middle", Calibration{}, 0, 800, 480, 2048, 2048, 400, 240},
		{"clamped below", Calibration{X: AbsRange{100, 4095}}, 0, 800, 480, 50, 0, 0, 0},
		{"clamped above", Calibration{X: AbsRange{0, 4000}}, 0, 800, 480, 4095, 0, 799, 0},
		{"invert x", Calibration{InvertX: true}, 0, 800, 480, 0, 0, 799, 0},
		{"invert y", Calibration{InvertY: true}, 0, 800, 480, 0, 0, 0, 479},
		{"swap", Calibration{SwapXY: true}, 0, 800, 480, 4095, 0, 0, 479},
		// Native top-right corner is the frame's top-left when the frame is
		// rotated 90 degrees clockwise onto the display.
		{"rot90 native top-right", Calibration{}, 90, 480, 800, 4095, 0, 0, 0},
		{"rot90 native top-left", Calibration{}, 90, 480, 800, 0, 0, 0, 799},
		{"rot180 native origin", Calibration{}, 180, 800, 480, 0, 0, 799, 479},
		{"rot270 native bottom-left", Calibration{}, 270, 480, 800, 0, 4095, 0, 0},
		{"rot270 native top-left", Calibration{}, 270, 480, 800, 0, 0, 479, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cal.X == (AbsRange{}) {
				tt.cal.X = raw
			}
			if tt.cal.Y == (AbsRange{}) {
				tt.cal.Y = raw
			}
			m, err := newMapper(tt.cal, tt.rotation, tt.w, tt.h)
			if err != nil {
				t.Fatal(err)
			}
			if x, y := m.toScreen(tt.rx, tt.ry); x != tt.x || y != tt.y {
				t.Errorf("toScreen(%d, %d) = %d,%d, want %d,%d", tt.rx, tt.ry, x, y, tt.x, tt.y)
			}
		})
	}
}

func TestNewTouchscreenErrors(t *testing.T) {
	ok := Calibration{X: AbsRange{0, 100}, Y: AbsRange{0, 100}}
	tests := []struct {
		name string
		opts TouchOpts
		want string
	}{
		{"empty range", TouchOpts{Width: 800, Height: 480, Calibration: Calibration{X: AbsRange{5, 5}, Y: AbsRange{0, 1}}}, "max must exceed min"},
		{"no size", TouchOpts{Calibration: ok}, "must be positive"},
		{"odd rotation", TouchOpts{Width: 800, Height: 480, Rotation: 45, Calibration: ok}, "rotation 45"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewTouchscreen(bytes.NewReader(nil), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "input: ") {
				t.Errorf("err = %v, want input: ... %q", err, tt.want)
			}
		})
	}
}

func TestRunStopsWhenContextDone(t *testing.T) {
	// A pipe blocks in Read like a device with nobody touching it.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ts, err := NewTouchscreen(r, TouchOpts{Width: 800, Height: 480, Calibration: Calibration{X: AbsRange{0, 799}, Y: AbsRange{0, 479}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan Event, 1)
	done := make(chan error, 1)
	go func() { done <- ts.Run(ctx, func(e Event) { got <- e }) }()

	if _, err := w.Write(encode(LayoutNative, btn(1), abs(absX, 7), abs(absY, 8), syn(), btn(0), syn())); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-got:
		if e.X != 7 || e.Y != 8 {
			t.Errorf("tap %+v, want 7,8", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no tap")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still blocked after the context was cancelled")
	}
}

func TestRunReportsTruncatedInput(t *testing.T) {
	data := encode(LayoutNative, btn(1))
	ts, err := NewTouchscreen(bytes.NewReader(data[:5]), TouchOpts{Width: 10, Height: 10, Calibration: Calibration{X: AbsRange{0, 9}, Y: AbsRange{0, 9}}})
	if err != nil {
		t.Fatal(err)
	}
	err = ts.Run(t.Context(), func(Event) {})
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.HasPrefix(err.Error(), "input: touchscreen") {
		t.Errorf("Run = %v, want a wrapped io.ErrUnexpectedEOF", err)
	}
}

func TestOpenTouchscreenRegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "event0")
	data := encode(LayoutNative, btn(1), abs(absX, 4095), abs(absY, 0), syn(), btn(0), syn())
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// A regular file has no EVIOCGABS: without ranges that is an error that
	// says what to do.
	if _, err := OpenTouchscreen(path, TouchOpts{Width: 800, Height: 480}); err == nil || !strings.Contains(err.Error(), "Calibration") {
		t.Errorf("OpenTouchscreen without ranges = %v, want an error mentioning Calibration", err)
	}
	ts, err := OpenTouchscreen(path, TouchOpts{Width: 800, Height: 480, Rotation: 180,
		Calibration: Calibration{X: AbsRange{0, 4095}, Y: AbsRange{0, 4095}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	var got []Event
	if err := ts.Run(t.Context(), func(e Event) { got = append(got, e) }); err != nil {
		t.Fatal(err)
	}
	wantTaps(t, got, [2]int{0, 479})
}

func TestEVIOCGABS(t *testing.T) {
	// From linux/input.h, as evtest prints them.
	if got := eviocgabs(absX); got != 0x80184540 {
		t.Errorf("EVIOCGABS(ABS_X) = %#x", got)
	}
	if got := eviocgabs(absMTPositionY); got != 0x80184576 {
		t.Errorf("EVIOCGABS(ABS_MT_POSITION_Y) = %#x", got)
	}
}
