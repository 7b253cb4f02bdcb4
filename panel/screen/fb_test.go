package screen

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"periph.io/x/conn/v3/display"
)

var (
	_ display.Drawer = (*Framebuffer)(nil)
	_ display.Drawer = (*PNGFile)(nil)
	_ display.Drawer = (*Web)(nil)
)

// fbFile is a framebuffer on a regular file, the way tests see one.
type fbFile struct {
	fb   *Framebuffer
	path string
	geo  Geometry
}

// openFile creates a file of the geometry's size filled with fill, and
// opens it as a framebuffer with the injected geometry.
func openFile(t testing.TB, geo Geometry, rotation int, fill byte) *fbFile {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fb0")
	size := geo.Offset + geo.Height*geo.Stride
	if err := os.WriteFile(path, []byte(strings.Repeat(string([]byte{fill}), size)), 0o600); err != nil {
		t.Fatal(err)
	}
	fb, err := OpenFramebuffer(path, FramebufferOpts{Rotation: rotation, Geometry: &geo})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fb.Halt() })
	return &fbFile{fb: fb, path: path, geo: geo}
}

// bytes reads the file back, as another process would see the screen.
func (f *fbFile) bytes(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pixel returns native pixel (px, py) from b.
func (f *fbFile) pixel(b []byte, px, py int) uint32 {
	bpp := f.geo.Format.BitsPerPixel / 8
	o := f.geo.Offset + py*f.geo.Stride + px*bpp
	switch bpp {
	case 2:
		return uint32(binary.LittleEndian.Uint16(b[o:]))
	case 3:
		return uint32(b[o]) | uint32(b[o+1])<<8 | uint32(b[o+2])<<16
	}
	return binary.LittleEndian.Uint32(b[o:])
}

func uniform(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

func TestPixelFormats(t *testing.T) {
	// Expected values worked out by hand from the channel layouts.
	tests := []struct {
		format      PixelFormat
		red, sample uint32 // (255,0,0) and (0x12,0x34,0x56)
	}{
		{RGB565, 0xf800, 2<<11 | 13<<5 | 10},
		{BGR565, 0x001f, 10<<11 | 13<<5 | 2},
		{XRGB8888, 0x00ff0000, 0x00123456},
		{XBGR8888, 0x000000ff, 0x00563412},
		{PixelFormat{BitsPerPixel: 32, Red: Bitfield{16, 8}, Green: Bitfield{8, 8}, Blue: Bitfield{0, 8}, Transp: Bitfield{24, 8}}, 0xffff0000, 0xff123456},
		{PixelFormat{BitsPerPixel: 24, Red: Bitfield{16, 8}, Green: Bitfield{8, 8}, Blue: Bitfield{0, 8}}, 0xff0000, 0x123456},
	}
	for _, tt := range tests {
		t.Run(tt.format.String(), func(t *testing.T) {
			bpp := tt.format.BitsPerPixel / 8
			f := openFile(t, Geometry{Width: 2, Height: 1, Stride: 2 * bpp, Format: tt.format}, 0, 0xaa)
			img := image.NewRGBA(image.Rect(0, 0, 2, 1))
			img.SetRGBA(0, 0, color.RGBA{255, 0, 0, 255})
			img.SetRGBA(1, 0, color.RGBA{0x12, 0x34, 0x56, 255})
			if err := f.fb.Draw(f.fb.Bounds(), img, image.Point{}); err != nil {
				t.Fatal(err)
			}
			b := f.bytes(t)
			if got := f.pixel(b, 0, 0); got != tt.red {
				t.Errorf("red = %#x, want %#x", got, tt.red)
			}
			if got := f.pixel(b, 1, 0); got != tt.sample {
				t.Errorf("(0x12,0x34,0x56) = %#x, want %#x", got, tt.sample)
			}
		})
	}
}

func TestStrideLeavesPaddingAlone(t *testing.T) {
	// 3 pixels of RGB565 (6 bytes) in 16-byte lines, visible area at line 1.
	geo := Geometry{Width: 3, Height: 2, Stride: 16, Offset: 16, Format: RGB565}
	f := openFile(t, geo, 0, 0xaa)
	if err := f.fb.Draw(f.fb.Bounds(), uniform(3, 2, color.RGBA{255, 255, 255, 255}), image.Point{}); err != nil {
		t.Fatal(err)
	}
	b := f.bytes(t)
	for i, v := range b {
		line, col := i/16, i%16
		visible := line >= 1 && col < 6
		if visible && v != 0xff {
			t.Errorf("byte %d (line %d col %d) = %#x, want white 0xff", i, line, col, v)
		}
		if !visible && v != 0xaa {
			t.Errorf("byte %d (line %d col %d) = %#x, outside the visible area, was overwritten", i, line, col, v)
		}
	}
}

// gradient gives every frame pixel its own colour: red from x, green from y.
func gradient(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 8), uint8(y * 8), 0x80, 255})
		}
	}
	return img
}

func TestRotation(t *testing.T) {
	const W, H = 5, 3 // native size
	tests := []struct {
		rotation int
		fw, fh   int
		// frame returns the frame pixel shown at native (px, py).
		frame func(px, py int) (x, y int)
		// corner is where the frame's top-left pixel lands, natively.
		corner image.Point
	}{
		{0, W, H, func(px, py int) (int, int) { return px, py }, image.Pt(0, 0)},
		{90, H, W, func(px, py int) (int, int) { return py, W - 1 - px }, image.Pt(W-1, 0)},
		{180, W, H, func(px, py int) (int, int) { return W - 1 - px, H - 1 - py }, image.Pt(W-1, H-1)},
		{270, H, W, func(px, py int) (int, int) { return H - 1 - py, px }, image.Pt(0, H-1)},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.rotation), func(t *testing.T) {
			f := openFile(t, Geometry{Width: W, Height: H, Stride: W*4 + 4, Format: XRGB8888}, tt.rotation, 0)
			if got := f.fb.Bounds(); got != image.Rect(0, 0, tt.fw, tt.fh) {
				t.Fatalf("Bounds = %v, want %dx%d", got, tt.fw, tt.fh)
			}
			img := gradient(tt.fw, tt.fh)
			if err := f.fb.Draw(img.Bounds(), img, image.Point{}); err != nil {
				t.Fatal(err)
			}
			b := f.bytes(t)
			if got := f.pixel(b, tt.corner.X, tt.corner.Y); got != 0x000080 {
				t.Errorf("frame top-left at native %v: %#x, want 0x000080", tt.corner, got)
			}
			for py := range H {
				for px := range W {
					x, y := tt.frame(px, py)
					want := uint32(x*8)<<16 | uint32(y*8)<<8 | 0x80
					if got := f.pixel(b, px, py); got != want {
						t.Errorf("native (%d,%d) = %#x, want frame (%d,%d) %#x", px, py, got, x, y, want)
					}
				}
			}
		})
	}
}

func TestDirtyWritesOnlyChangedPixels(t *testing.T) {
	for _, rotation := range []int{0, 90, 180, 270} {
		t.Run(fmt.Sprint(rotation), func(t *testing.T) {
			geo := Geometry{Width: 40, Height: 30, Stride: 40*2 + 8, Format: RGB565}
			f := openFile(t, geo, rotation, 0)
			fw, fh := f.fb.Bounds().Dx(), f.fb.Bounds().Dy()
			frame := uniform(fw, fh, color.RGBA{0, 0, 255, 255})
			if err := f.fb.Draw(frame.Bounds(), frame, image.Point{}); err != nil {
				t.Fatal(err)
			}
			// Scribble over the whole file behind the sink's back: any byte
			// the next Draw writes without need would lose the scribble.
			fh2, err := os.OpenFile(f.path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fh2.WriteAt([]byte(strings.Repeat("\xee", geo.Height*geo.Stride)), 0); err != nil {
				t.Fatal(err)
			}
			fh2.Close()

			// The same full frame, with a small area changed (a clock).
			changed := image.Rect(3, 4, 9, 7)
			for y := changed.Min.Y; y < changed.Max.Y; y++ {
				for x := changed.Min.X; x < changed.Max.X; x++ {
					frame.SetRGBA(x, y, color.RGBA{255, 255, 255, 255})
				}
			}
			if err := f.fb.Draw(frame.Bounds(), frame, image.Point{}); err != nil {
				t.Fatal(err)
			}
			b := f.bytes(t)
			written := 0
			for py := range geo.Height {
				for px := range geo.Width {
					if got := f.pixel(b, px, py); got == 0xffff {
						written++
					} else if got != 0xeeee {
						t.Fatalf("native (%d,%d) = %#x: neither untouched nor the new white", px, py, got)
					}
				}
			}
			if want := changed.Dx() * changed.Dy(); written != want {
				t.Errorf("%d pixels written, want only the %d changed ones", written, want)
			}
		})
	}
}

func TestPartialDraw(t *testing.T) {
	f := openFile(t, Geometry{Width: 4, Height: 4, Stride: 8, Format: RGB565}, 0, 0xaa)
	// The first Draw writes the whole frame, even a partial one: what the
	// framebuffer held before (the console) must not stay around.
	white := uniform(2, 2, color.RGBA{255, 255, 255, 255})
	if err := f.fb.Draw(image.Rect(1, 1, 3, 3), white, image.Point{}); err != nil {
		t.Fatal(err)
	}
	b := f.bytes(t)
	for py := range 4 {
		for px := range 4 {
			want := uint32(0)
			if px >= 1 && px < 3 && py >= 1 && py < 3 {
				want = 0xffff
			}
			if got := f.pixel(b, px, py); got != want {
				t.Errorf("after first Draw native (%d,%d) = %#x, want %#x", px, py, got, want)
			}
		}
	}
	// A later Draw of a sub-rectangle, taking its pixels from src at sp,
	// changes only that rectangle; a rectangle reaching outside is clipped.
	src := uniform(10, 10, color.RGBA{0, 0, 0, 255})
	src.SetRGBA(5, 5, color.RGBA{255, 0, 0, 255})
	if err := f.fb.Draw(image.Rect(2, 2, 6, 6), src, image.Pt(5, 5)); err != nil {
		t.Fatal(err)
	}
	b = f.bytes(t)
	if got := f.pixel(b, 2, 2); got != 0xf800 {
		t.Errorf("native (2,2) = %#x, want red from src (5,5)", got)
	}
	if got := f.pixel(b, 1, 1); got != 0xffff {
		t.Errorf("native (1,1) = %#x, want white left alone", got)
	}
	if got := f.pixel(b, 3, 3); got != 0 {
		t.Errorf("native (3,3) = %#x, want black from src", got)
	}

	// Sources other than *image.RGBA are converted; a source smaller than
	// the rectangle only covers its own pixels, as with draw.Draw.
	green := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	green.SetNRGBA(0, 0, color.NRGBA{0, 255, 0, 255})
	if err := f.fb.Draw(image.Rect(0, 0, 4, 4), green, image.Point{}); err != nil {
		t.Fatal(err)
	}
	if err := f.fb.Draw(image.Rect(0, 3, 4, 4), image.NewUniform(color.RGBA{0, 0, 255, 255}), image.Point{}); err != nil {
		t.Fatal(err)
	}
	b = f.bytes(t)
	want := [4][4]uint32{
		{0x07e0, 0, 0, 0},
		{0, 0xffff, 0xffff, 0},
		{0, 0xffff, 0xf800, 0},
		{0x001f, 0x001f, 0x001f, 0x001f},
	}
	for py := range 4 {
		for px := range 4 {
			if got := f.pixel(b, px, py); got != want[py][px] {
				t.Errorf("native (%d,%d) = %#x, want %#x", px, py, got, want[py][px])
			}
		}
	}
}

func TestFramebufferErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(path, make([]byte, 100), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		geo  Geometry
		rot  int
		want string
	}{
		{"file too small", Geometry{Width: 800, Height: 480, Stride: 1600, Format: RGB565}, 0, "the geometry needs 768000"},
		{"stride too short", Geometry{Width: 10, Height: 2, Stride: 10, Format: RGB565}, 0, "line length 10"},
		{"8 bits per pixel", Geometry{Width: 10, Height: 2, Stride: 10, Format: PixelFormat{BitsPerPixel: 8}}, 0, "8 bits per pixel not supported"},
		{"bad rotation", Geometry{Width: 2, Height: 2, Stride: 4, Format: RGB565}, 45, "rotation 45"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			geo := tt.geo
			_, err := OpenFramebuffer(path, FramebufferOpts{Geometry: &geo, Rotation: tt.rot})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "screen: ") {
				t.Errorf("err = %v, want screen: ... %q", err, tt.want)
			}
		})
	}
	if _, err := OpenFramebuffer(path, FramebufferOpts{}); err == nil || !strings.Contains(err.Error(), "FBIOGET_VSCREENINFO") {
		t.Errorf("a regular file without geometry: err = %v, want the failed ioctl named", err)
	}
}

func TestDrawAfterHalt(t *testing.T) {
	f := openFile(t, Geometry{Width: 2, Height: 2, Stride: 4, Format: RGB565}, 0, 0)
	if err := f.fb.Halt(); err != nil {
		t.Fatal(err)
	}
	if err := f.fb.Draw(f.fb.Bounds(), uniform(2, 2, color.RGBA{}), image.Point{}); err == nil {
		t.Error("Draw after Halt succeeded")
	}
	if err := f.fb.Halt(); err != nil {
		t.Errorf("second Halt: %v", err)
	}
}

func TestScreeninfoLayout(t *testing.T) {
	// Sizes from linux/fb.h; a wrong size would make the ioctl scribble
	// over the Go heap.
	if got := unsafe.Sizeof(fbVarScreeninfo{}); got != 160 {
		t.Errorf("fb_var_screeninfo is %d bytes, want 160", got)
	}
	want := uintptr(80)
	if unsafe.Sizeof(uintptr(0)) == 4 {
		want = 68
	}
	if got := unsafe.Sizeof(fbFixScreeninfo{}); got != want {
		t.Errorf("fb_fix_screeninfo is %d bytes, want %d", got, want)
	}
	if got := unsafe.Offsetof(fbFixScreeninfo{}.LineLength); got != 48 && unsafe.Sizeof(uintptr(0)) == 8 {
		t.Errorf("line_length at offset %d, want 48", got)
	}
}

// Benchmarks: an 800x480 RGB565 panel (a 7" display on an SPI or DPI bus).

func benchFramebuffer(b *testing.B) *Framebuffer {
	geo := Geometry{Width: 800, Height: 480, Stride: 1600, Format: RGB565}
	fb, err := newFramebuffer("bench", make([]byte, geo.size()), geo, FramebufferOpts{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return fb
}

// BenchmarkFramebufferFullFrame redraws frames that differ in every pixel:
// the worst case, e.g. the status colour changing from green to red.
func BenchmarkFramebufferFullFrame(b *testing.B) {
	fb := benchFramebuffer(b)
	frames := []*image.RGBA{uniform(800, 480, color.RGBA{0, 160, 0, 255}), uniform(800, 480, color.RGBA{200, 0, 0, 255})}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := fb.Draw(fb.Bounds(), frames[i%2], image.Point{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFramebufferSmallDirty redraws full frames where only a clock-sized
// area (120x40) changes: the common case, once a minute.
func BenchmarkFramebufferSmallDirty(b *testing.B) {
	fb := benchFramebuffer(b)
	a := gradient(800, 480)
	c := gradient(800, 480)
	for y := 20; y < 60; y++ {
		for x := 660; x < 780; x++ {
			c.SetRGBA(x, y, color.RGBA{255, 255, 255, 255})
		}
	}
	frames := []*image.RGBA{a, c}
	_ = fb.Draw(fb.Bounds(), a, image.Point{})
	b.ReportAllocs()
	for i := 1; b.Loop(); i++ {
		if err := fb.Draw(fb.Bounds(), frames[i%2], image.Point{}); err != nil {
			b.Fatal(err)
		}
	}
}
