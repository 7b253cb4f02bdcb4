package screen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
	"log/slog"
	"sync"
)

// Bitfield is where one colour channel sits in a pixel, as struct
// fb_bitfield describes it: Length bits starting at bit Offset.
type Bitfield struct {
	Offset, Length uint32
}

// PixelFormat is a framebuffer's packed pixel layout. Pixels are stored in
// the CPU's byte order, little endian on every board the panel runs on.
type PixelFormat struct {
	BitsPerPixel             int
	Red, Green, Blue, Transp Bitfield
}

// The pixel formats of the displays the panel meets. The driver's bitfields
// decide which one a framebuffer uses; any other packed 16, 24 or 32-bit
// layout with channels of at most 8 bits works too.
var (
	// RGB565 is the classic 16-bit format (fbtft SPI displays).
	RGB565 = PixelFormat{BitsPerPixel: 16, Red: Bitfield{11, 5}, Green: Bitfield{5, 6}, Blue: Bitfield{0, 5}}
	// BGR565 is what the Raspberry Pi 4's vc4drmfb reports at 16 bits.
	BGR565 = PixelFormat{BitsPerPixel: 16, Red: Bitfield{0, 5}, Green: Bitfield{5, 6}, Blue: Bitfield{11, 5}}
	// XRGB8888 is the common 32-bit format (DRM fbdev emulation at 32 bpp).
	XRGB8888 = PixelFormat{BitsPerPixel: 32, Red: Bitfield{16, 8}, Green: Bitfield{8, 8}, Blue: Bitfield{0, 8}}
	// XBGR8888 is 32-bit with red in the low byte.
	XBGR8888 = PixelFormat{BitsPerPixel: 32, Red: Bitfield{0, 8}, Green: Bitfield{8, 8}, Blue: Bitfield{16, 8}}
)

func (f PixelFormat) String() string {
	switch f {
	case RGB565:
		return "RGB565"
	case BGR565:
		return "BGR565"
	case XRGB8888:
		return "XRGB8888"
	case XBGR8888:
		return "XBGR8888"
	}
	return fmt.Sprintf("%dbpp r%d:%d g%d:%d b%d:%d", f.BitsPerPixel,
		f.Red.Offset, f.Red.Length, f.Green.Offset, f.Green.Length, f.Blue.Offset, f.Blue.Length)
}

func (f PixelFormat) check() error {
	switch f.BitsPerPixel {
	case 16, 24, 32:
	default:
		return fmt.Errorf("screen: pixel format %s: %d bits per pixel not supported (want 16, 24 or 32)", f, f.BitsPerPixel)
	}
	for _, c := range []Bitfield{f.Red, f.Green, f.Blue} {
		if c.Length == 0 || c.Length > 8 || c.Offset+c.Length > uint32(f.BitsPerPixel) {
			return fmt.Errorf("screen: pixel format %s: channel at bit %d, %d bits, not supported", f, c.Offset, c.Length)
		}
	}
	if f.Transp.Offset+f.Transp.Length > uint32(f.BitsPerPixel) {
		return fmt.Errorf("screen: pixel format %s: alpha channel outside the pixel", f)
	}
	return nil
}

// packer turns 8-bit colours into pixel values of a format. Its shifts are
// worked out once per format rather than per pixel: this is the inner loop
// of every frame.
type packer struct {
	rs, ro, gs, gf, bs, bo uint32 // right shift from 8 bits, then left shift to the offset
	alpha                  uint32
}

func (f PixelFormat) packer() packer {
	p := packer{
		rs: 8 - f.Red.Length, ro: f.Red.Offset,
		gs: 8 - f.Green.Length, gf: f.Green.Offset,
		bs: 8 - f.Blue.Length, bo: f.Blue.Offset,
	}
	if f.Transp.Length > 0 {
		// The alpha bits, when present, are set: some drivers honour them.
		p.alpha = (1<<f.Transp.Length - 1) << f.Transp.Offset
	}
	return p
}

// pack packs an 8-bit colour into a pixel value. The masks tell the
// compiler the shifts are in range, which keeps them single instructions.
func (p *packer) pack(r, g, b uint8) uint32 {
	return uint32(r)>>(p.rs&7)<<(p.ro&31) |
		uint32(g)>>(p.gs&7)<<(p.gf&31) |
		uint32(b)>>(p.bs&7)<<(p.bo&31) |
		p.alpha
}

// Geometry is a framebuffer's visible area and memory layout, as the
// FBIOGET_VSCREENINFO and FBIOGET_FSCREENINFO ioctls report it.
type Geometry struct {
	// Width and Height are the visible pixels in the display's native
	// orientation (xres, yres).
	Width, Height int
	// Stride is the length of a line in bytes (line_length). It can exceed
	// Width times the pixel size: drivers pad lines for alignment.
	Stride int
	// Offset is the byte offset of the visible area in the memory (panning:
	// yoffset lines plus xoffset pixels). Usually 0.
	Offset int
	Format PixelFormat
}

// size is the number of bytes of memory the geometry needs.
func (g Geometry) size() int {
	return g.Offset + (g.Height-1)*g.Stride + g.Width*g.Format.BitsPerPixel/8
}

func (g Geometry) check() error {
	if err := g.Format.check(); err != nil {
		return err
	}
	if g.Width <= 0 || g.Height <= 0 {
		return fmt.Errorf("screen: framebuffer size %dx%d must be positive", g.Width, g.Height)
	}
	if g.Stride < g.Width*g.Format.BitsPerPixel/8 {
		return fmt.Errorf("screen: framebuffer line length %d is shorter than %d pixels of %d bits", g.Stride, g.Width, g.Format.BitsPerPixel)
	}
	if g.Offset < 0 {
		return fmt.Errorf("screen: framebuffer offset %d is negative", g.Offset)
	}
	return nil
}

// FramebufferOpts configures a Framebuffer. The zero value suits a panel in
// its native orientation on /dev/tty0.
type FramebufferOpts struct {
	// Rotation turns the frame clockwise by 0, 90, 180 or 270 degrees onto
	// the display, for a panel mounted other than its native orientation.
	// With 90 or 270 the frame's width is the display's height. Default 0.
	Rotation int
	// Geometry, when set, is used instead of asking the driver, and the
	// console is left alone: this lets tests (and demos) draw into a
	// regular file of the right size.
	Geometry *Geometry
	// TTY is the console switched to graphics mode (KDSETMODE KD_GRAPHICS)
	// so the kernel neither draws text nor blinks a cursor over the panel;
	// Halt switches it back. Best effort: failure is logged. Default
	// "/dev/tty0", the active console. "-" leaves the console alone.
	TTY string
	// Logger receives the detected geometry and console errors. Default:
	// discard.
	Logger *slog.Logger
}

// Framebuffer draws frames into a Linux framebuffer's memory.
//
// It keeps a copy of the frame on the screen and writes only the pixels of
// the rows that changed: a panel usually redraws the same frame with a new
// clock, and writes to framebuffer memory are slow on small boards (and
// cause tearing).
type Framebuffer struct {
	name    string
	geo     Geometry
	rot     int
	bpp     int // bytes per pixel
	pack    packer
	release func() error
	log     *slog.Logger

	mu      sync.Mutex
	mem     []byte      // the mapped framebuffer; nil after Halt
	shown   *image.RGBA // the frame on the screen, in frame coordinates
	next    *image.RGBA // an incoming frame that is not an *image.RGBA, converted
	written bool        // shown has been written in full at least once
}

// newFramebuffer draws into mem, laid out as geo. release, if not nil, is
// called by Halt to unmap and close.
func newFramebuffer(name string, mem []byte, geo Geometry, opts FramebufferOpts, release func() error) (*Framebuffer, error) {
	if err := geo.check(); err != nil {
		return nil, err
	}
	if err := checkRotation(opts.Rotation); err != nil {
		return nil, err
	}
	if need := geo.size(); len(mem) < need {
		return nil, fmt.Errorf("screen: framebuffer %s: %d bytes of memory, the geometry needs %d", name, len(mem), need)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w, h := geo.Width, geo.Height
	if opts.Rotation == 90 || opts.Rotation == 270 {
		w, h = h, w
	}
	b := image.Rect(0, 0, w, h)
	return &Framebuffer{
		name: name, geo: geo, rot: opts.Rotation, bpp: geo.Format.BitsPerPixel / 8, pack: geo.Format.packer(),
		release: release, log: opts.Logger,
		mem: mem, shown: image.NewRGBA(b), next: image.NewRGBA(b),
	}, nil
}

func (fb *Framebuffer) String() string {
	return fmt.Sprintf("screen: framebuffer %s %dx%d %s rotation %d", fb.name, fb.geo.Width, fb.geo.Height, fb.geo.Format, fb.rot)
}

// Geometry returns the framebuffer's native geometry.
func (fb *Framebuffer) Geometry() Geometry { return fb.geo }

// ColorModel implements display.Drawer. Colours are reduced to the pixel
// format when written.
func (fb *Framebuffer) ColorModel() color.Model { return color.RGBAModel }

// Bounds is the frame size: the native size, turned by the rotation.
func (fb *Framebuffer) Bounds() image.Rectangle { return fb.shown.Bounds() }

// Halt unmaps the framebuffer and gives the console back. The picture
// stays on the screen until something else draws. Draw fails afterwards.
func (fb *Framebuffer) Halt() error {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if fb.mem == nil {
		return nil
	}
	fb.mem = nil
	if fb.release != nil {
		return fb.release()
	}
	return nil
}

// Draw implements display.Drawer: it draws src into r and writes the rows
// that changed to the framebuffer. The first Draw writes the whole frame,
// since what the framebuffer held before is unknown.
func (fb *Framebuffer) Draw(r image.Rectangle, src image.Image, sp image.Point) error {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if fb.mem == nil {
		return errors.New("screen: framebuffer " + fb.name + ": draw after Halt")
	}
	r, sp = clip(fb.shown.Bounds(), r, sp)
	if r.Empty() {
		return nil
	}
	if !fb.written {
		draw.Draw(fb.shown, r, src, sp, draw.Src)
		b := fb.shown.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			fb.writeSpan(b.Min.X, b.Max.X, y)
		}
		fb.written = true
		return nil
	}
	// Like draw.Draw, leave the pixels that src does not cover alone.
	r, sp = clip(src.Bounds().Add(r.Min.Sub(sp)), r, sp)
	// Compare a frame in the usual *image.RGBA straight from its pixels;
	// convert anything else into next first.
	srcImg, ok := src.(*image.RGBA)
	if !ok {
		draw.Draw(fb.next, r, src, sp, draw.Src)
		srcImg, sp = fb.next, r.Min
	}
	w := r.Dx() * 4
	for y := r.Min.Y; y < r.Max.Y; y++ {
		i := fb.shown.PixOffset(r.Min.X, y)
		old := fb.shown.Pix[i : i+w]
		j := srcImg.PixOffset(sp.X, sp.Y+y-r.Min.Y)
		cur := srcImg.Pix[j : j+w]
		if bytes.Equal(old, cur) {
			continue
		}
		// Narrow the row to the span between the first and the last changed
		// pixel, which is what a clock or a status word touches.
		first, last := firstDiff(old, cur)/4, lastDiff(old, cur)/4
		copy(old[first*4:(last+1)*4], cur[first*4:(last+1)*4])
		fb.writeSpan(r.Min.X+first, r.Min.X+last+1, y)
	}
	return nil
}

// writeSpan writes the shown pixels x0..x1-1 of frame row y to memory.
//
// The rotation decides where the span lands: frame pixel (x, y) goes to
// native pixel
//
//	  0: (x, y)          90: (H-1-y, x)
//	180: (W-1-x, H-1-y)  270: (y, W'-1-x)
//
// where W and H are the native size and W' the frame width. A frame row
// is therefore a native row (0, 180, walking left or right) or a native
// column (90, 270, walking down or up), so one start offset and one step
// describe it.
func (fb *Framebuffer) writeSpan(x0, x1, y int) {
	g := fb.geo
	off := func(px, py int) int { return g.Offset + py*g.Stride + px*fb.bpp }
	var o, step int
	switch fb.rot {
	case 0:
		o, step = off(x0, y), fb.bpp
	case 90:
		o, step = off(g.Width-1-y, x0), g.Stride
	case 180:
		o, step = off(g.Width-1-x0, g.Height-1-y), -fb.bpp
	case 270:
		o, step = off(y, g.Height-1-x0), -g.Stride
	}
	pix := fb.shown.Pix[fb.shown.PixOffset(x0, y):fb.shown.PixOffset(x1, y)]
	p := &fb.pack
	mem := fb.mem
	switch fb.bpp {
	case 2:
		for i := 0; i < len(pix); i += 4 {
			v := p.pack(pix[i], pix[i+1], pix[i+2])
			mem[o], mem[o+1] = byte(v), byte(v>>8)
			o += step
		}
	case 3:
		for i := 0; i < len(pix); i += 4 {
			v := p.pack(pix[i], pix[i+1], pix[i+2])
			mem[o], mem[o+1], mem[o+2] = byte(v), byte(v>>8), byte(v>>16)
			o += step
		}
	case 4:
		for i := 0; i < len(pix); i += 4 {
			v := p.pack(pix[i], pix[i+1], pix[i+2])
			mem[o], mem[o+1], mem[o+2], mem[o+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
			o += step
		}
	}
}

// firstDiff returns the index of the first byte where a and b, of equal
// length and known to differ, differ. It compares 8 bytes at a time.
func firstDiff(a, b []byte) int {
	i := 0
	for i+8 <= len(a) && binary.LittleEndian.Uint64(a[i:]) == binary.LittleEndian.Uint64(b[i:]) {
		i += 8
	}
	for a[i] == b[i] {
		i++
	}
	return i
}

// lastDiff returns the index of the last byte where a and b differ.
func lastDiff(a, b []byte) int {
	i := len(a)
	for i-8 >= 0 && binary.LittleEndian.Uint64(a[i-8:]) == binary.LittleEndian.Uint64(b[i-8:]) {
		i -= 8
	}
	i--
	for a[i] == b[i] {
		i--
	}
	return i
}
