package input

import (
	"bytes"
	"testing"
)

// FuzzDecodeEvents feeds arbitrary bytes, as a broken or hostile device
// could, through the decoder, the tap detector and the coordinate mapping.
// Nothing may panic, and every tap must land inside the frame.
func FuzzDecodeEvents(f *testing.F) {
	f.Add(encode(Layout64, btn(1), abs(absX, 100), abs(absY, 200), syn(), btn(0), syn()), false, int32(0), int32(4095), uint8(0))
	f.Add(encode(Layout32, abs(absMTTrackingID, 1), abs(absMTPositionX, -3), abs(absMTPositionY, 1<<30), syn(), abs(absMTTrackingID, -1), syn()), true, int32(-2147483648), int32(2147483647), uint8(3))
	f.Add([]byte{1, 2, 3}, false, int32(5), int32(5), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, layout32 bool, lo, hi int32, flags uint8) {
		layout := Layout64
		if layout32 {
			layout = Layout32
		}
		const w, h = 800, 480
		opts := TouchOpts{
			Width: w, Height: h,
			Rotation: []int{0, 90, 180, 270}[flags%4],
			Layout:   layout,
			Calibration: Calibration{
				X: AbsRange{lo, hi}, Y: AbsRange{lo, hi},
				SwapXY: flags&4 != 0, InvertX: flags&8 != 0, InvertY: flags&16 != 0,
			},
		}
		ts, err := NewTouchscreen(bytes.NewReader(data), opts)
		if err != nil {
			return // invalid calibration is refused up front
		}
		_ = ts.Run(t.Context(), func(e Event) {
			if e.Kind != Touch || e.X < 0 || e.X >= w || e.Y < 0 || e.Y >= h {
				t.Fatalf("tap outside the %dx%d frame: %+v", w, h, e)
			}
		})
	})
}
