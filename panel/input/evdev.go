package input

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"time"
)

// Linux input event types and codes used here (linux/input-event-codes.h).
const (
	evSyn = 0x00
	evKey = 0x01
	evAbs = 0x03

	synReport  = 0
	synDropped = 3

	btnTouch = 0x14a

	absX               = 0x00
	absY               = 0x01
	absMTSlot          = 0x2f
	absMTPositionX     = 0x35
	absMTPositionY     = 0x36
	absMTTrackingID    = 0x39
	absMTTrackingIDEnd = -1
)

// Layout is the size of struct input_event as the kernel writes it to this
// process, which depends on the process's word size, not the CPU's: a 32-bit
// ARM binary on a 64-bit kernel still reads 16-byte events.
type Layout int

const (
	// LayoutNative is the layout of this binary's architecture.
	LayoutNative Layout = iota
	// Layout64 is 24 bytes: a 16-byte struct timeval, then type, code, value.
	Layout64
	// Layout32 is 16 bytes: an 8-byte struct timeval, then type, code, value.
	Layout32
)

// size returns the event size in bytes.
func (l Layout) size() int {
	switch l {
	case Layout64:
		return 24
	case Layout32:
		return 16
	}
	if bits.UintSize == 32 {
		return 16
	}
	return 24
}

// RawEvent is one struct input_event.
type RawEvent struct {
	Time  time.Time
	Type  uint16
	Code  uint16
	Value int32
}

// Decoder reads struct input_event records from an evdev device or a
// recording of one. Events are in the machine's byte order, which is little
// endian on every board the panel runs on.
type Decoder struct {
	r    *bufio.Reader
	size int
	buf  [24]byte
}

// NewDecoder returns a Decoder reading events of the given layout from r.
func NewDecoder(r io.Reader, layout Layout) *Decoder {
	size := layout.size()
	// evdev returns whole events only, and at least one per read: buffer a
	// batch of them so each read syscall fetches a whole SYN_REPORT frame.
	return &Decoder{r: bufio.NewReaderSize(r, 64*size), size: size}
}

// Next returns the next event. At the end of the input it returns io.EOF, or
// io.ErrUnexpectedEOF when the input stops in the middle of an event.
func (d *Decoder) Next() (RawEvent, error) {
	b := d.buf[:d.size]
	if _, err := io.ReadFull(d.r, b); err != nil {
		return RawEvent{}, err
	}
	var sec, usec int64
	rest := b
	if d.size == 24 {
		sec = int64(binary.LittleEndian.Uint64(b[0:8]))
		usec = int64(binary.LittleEndian.Uint64(b[8:16]))
		rest = b[16:]
	} else {
		// __kernel_ulong_t on 32-bit: unsigned, which keeps it valid after 2038.
		sec = int64(binary.LittleEndian.Uint32(b[0:4]))
		usec = int64(int32(binary.LittleEndian.Uint32(b[4:8])))
		rest = b[8:]
	}
	return RawEvent{
		Time:  time.Unix(sec, usec*1000),
		Type:  binary.LittleEndian.Uint16(rest[0:2]),
		Code:  binary.LittleEndian.Uint16(rest[2:4]),
		Value: int32(binary.LittleEndian.Uint32(rest[4:8])),
	}, nil
}

// tapDetector follows the touch state across events and reports a tap when
// the finger is lifted, at the last position reported while it was down.
//
// Touch controllers differ: most report BTN_TOUCH plus ABS_X/ABS_Y (single
// touch, or multi-touch with pointer emulation), some only multi-touch slots
// with ABS_MT_TRACKING_ID. BTN_TOUCH is trusted when the device sends it;
// otherwise slot 0's tracking id tells whether a finger is down. Only slot 0
// (the first finger) is followed: the panel has no gestures.
type tapDetector struct {
	x, y     int32
	haveXY   bool // a position has been reported
	sawMT    bool // MT positions seen: prefer them over ABS_X/ABS_Y
	sawBtn   bool // the device reports BTN_TOUCH
	slot     int32
	down     bool // finger down, as of the last SYN_REPORT
	nextDown bool // finger down, as of the events since
	dropped  bool // SYN_DROPPED: ignore events until the next SYN_REPORT
}

// feed consumes one event. It returns true, with the raw position, when the
// event completes a tap.
func (t *tapDetector) feed(ev RawEvent) (x, y int32, at time.Time, tap bool) {
	if t.dropped {
		if ev.Type == evSyn && ev.Code == synReport {
			t.dropped = false
		}
		return 0, 0, time.Time{}, false
	}
	switch ev.Type {
	case evSyn:
		switch ev.Code {
		case synDropped:
			// The kernel's buffer overflowed: the events until the next
			// report are incomplete. Forget the touch rather than guess.
			t.dropped = true
			t.down, t.nextDown = false, false
			return 0, 0, time.Time{}, false
		case synReport:
			wasDown := t.down
			t.down = t.nextDown
			// The position is kept after a release on purpose: evdev
			// drops values equal to the last one sent, so a second tap on
			// the same spot arrives without any position events.
			if wasDown && !t.down && t.haveXY {
				return t.x, t.y, ev.Time, true
			}
		}
	case evKey:
		if ev.Code == btnTouch {
			t.sawBtn = true
			t.nextDown = ev.Value != 0
		}
	case evAbs:
		switch ev.Code {
		case absMTSlot:
			t.slot = ev.Value
		case absMTTrackingID:
			if t.slot == 0 && !t.sawBtn {
				t.nextDown = ev.Value != absMTTrackingIDEnd
			}
		case absMTPositionX:
			if t.slot == 0 {
				t.sawMT, t.haveXY, t.x = true, true, ev.Value
			}
		case absMTPositionY:
			if t.slot == 0 {
				t.sawMT, t.haveXY, t.y = true, true, ev.Value
			}
		case absX:
			if !t.sawMT {
				t.haveXY, t.x = true, ev.Value
			}
		case absY:
			if !t.sawMT {
				t.haveXY, t.y = true, ev.Value
			}
		}
	}
	return 0, 0, time.Time{}, false
}

// AbsRange is the raw range of one touch axis, as EVIOCGABS reports it.
type AbsRange struct {
	Min, Max int32
}

// Calibration maps the touch controller's raw axes onto the display.
type Calibration struct {
	// X and Y are the raw ranges of the axes. A zero range is read from the
	// device with EVIOCGABS (multi-touch axes first, then ABS_X/ABS_Y).
	// Narrow them to the values measured at the display's edges when the
	// controller reaches beyond the visible area.
	X, Y AbsRange
	// SwapXY exchanges the axes, for a controller mounted at 90 degrees to
	// the display's scan-out.
	SwapXY bool
	// InvertX and InvertY mirror an axis (applied after SwapXY).
	InvertX, InvertY bool
}

// mapper turns raw touch coordinates into frame pixels.
type mapper struct {
	cal      Calibration
	rotation int
	w, h     int // frame size, after rotation
}

func newMapper(cal Calibration, rotation, width, height int) (mapper, error) {
	if cal.X.Max <= cal.X.Min || cal.Y.Max <= cal.Y.Min {
		return mapper{}, fmt.Errorf("input: touch axis range x %d..%d, y %d..%d: max must exceed min", cal.X.Min, cal.X.Max, cal.Y.Min, cal.Y.Max)
	}
	if width <= 0 || height <= 0 {
		return mapper{}, fmt.Errorf("input: screen size %dx%d must be positive", width, height)
	}
	switch rotation {
	case 0, 90, 180, 270:
	default:
		return mapper{}, fmt.Errorf("input: rotation %d: want 0, 90, 180 or 270", rotation)
	}
	return mapper{cal: cal, rotation: rotation, w: width, h: height}, nil
}

// fraction places v in r as a fraction in [0, 1], clamping values outside.
func fraction(v int32, r AbsRange) float64 {
	f := float64(int64(v)-int64(r.Min)) / float64(int64(r.Max)-int64(r.Min))
	return min(max(f, 0), 1)
}

// toScreen maps a raw position to a frame pixel.
//
// The raw position is first made a fraction (u, v) of the display's native
// width and height, then turned into the frame's coordinates by undoing the
// rotation the screen applies: the screen rotates the frame clockwise by the
// rotation to scan it out, so native (u, v) came from frame (s, t).
func (m mapper) toScreen(rx, ry int32) (x, y int) {
	u, v := fraction(rx, m.cal.X), fraction(ry, m.cal.Y)
	if m.cal.SwapXY {
		u, v = v, u
	}
	if m.cal.InvertX {
		u = 1 - u
	}
	if m.cal.InvertY {
		v = 1 - v
	}
	var s, t float64
	switch m.rotation {
	case 0:
		s, t = u, v
	case 90:
		s, t = v, 1-u
	case 180:
		s, t = 1-u, 1-v
	case 270:
		s, t = 1-v, u
	}
	return int(s*float64(m.w-1) + 0.5), int(t*float64(m.h-1) + 0.5)
}
