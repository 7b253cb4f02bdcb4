package screen

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The framebuffer and console ioctls, from linux/fb.h and linux/kd.h.
const (
	fbiogetVscreeninfo = 0x4600
	fbiogetFscreeninfo = 0x4602
	fbTypePackedPixels = 0
	fbVisualTruecolor  = 2
	fbVisualDirect     = 4

	kdSetMode  = 0x4B3A
	kdGetMode  = 0x4B3B
	kdText     = 0x00
	kdGraphics = 0x01
)

// fbBitfield is struct fb_bitfield.
type fbBitfield struct {
	Offset, Length, MSBRight uint32
}

// fbVarScreeninfo is struct fb_var_screeninfo (160 bytes on every
// architecture: only 32-bit fields).
type fbVarScreeninfo struct {
	XRes, YRes, XResVirtual, YResVirtual uint32
	XOffset, YOffset                     uint32
	BitsPerPixel, Grayscale              uint32
	Red, Green, Blue, Transp             fbBitfield
	NonStd, Activate, Height, Width      uint32
	AccelFlags, PixClock                 uint32
	LeftMargin, RightMargin              uint32
	UpperMargin, LowerMargin             uint32
	HSyncLen, VSyncLen, Sync, VMode      uint32
	Rotate, Colorspace                   uint32
	Reserved                             [4]uint32
}

// fbFixScreeninfo is struct fb_fix_screeninfo. Its unsigned longs are
// uintptr here, which gives the C layout on 32 and 64-bit alike.
type fbFixScreeninfo struct {
	ID                            [16]byte
	SmemStart                     uintptr
	SmemLen                       uint32
	Type, TypeAux, Visual         uint32
	XPanStep, YPanStep, YWrapStep uint16
	LineLength                    uint32
	MMIOStart                     uintptr
	MMIOLen                       uint32
	Accel                         uint32
	Capabilities                  uint16
	Reserved                      [2]uint16
}

func ioctl(fd uintptr, req uintptr, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

// readGeometry asks the driver for the visible area and pixel format.
func readGeometry(f *os.File) (Geometry, int, error) {
	var v fbVarScreeninfo
	var x fbFixScreeninfo
	if err := ioctl(f.Fd(), fbiogetVscreeninfo, unsafe.Pointer(&v)); err != nil {
		return Geometry{}, 0, fmt.Errorf("FBIOGET_VSCREENINFO: %w", err)
	}
	if err := ioctl(f.Fd(), fbiogetFscreeninfo, unsafe.Pointer(&x)); err != nil {
		return Geometry{}, 0, fmt.Errorf("FBIOGET_FSCREENINFO: %w", err)
	}
	if x.Type != fbTypePackedPixels || (x.Visual != fbVisualTruecolor && x.Visual != fbVisualDirect) {
		return Geometry{}, 0, fmt.Errorf("type %d visual %d: only packed true-colour framebuffers are supported", x.Type, x.Visual)
	}
	if v.Red.MSBRight|v.Green.MSBRight|v.Blue.MSBRight != 0 {
		return Geometry{}, 0, errors.New("bit-reversed colour channels are not supported")
	}
	bf := func(b fbBitfield) Bitfield { return Bitfield{Offset: b.Offset, Length: b.Length} }
	g := Geometry{
		Width:  int(v.XRes),
		Height: int(v.YRes),
		Stride: int(x.LineLength),
		Offset: int(v.YOffset)*int(x.LineLength) + int(v.XOffset)*int(v.BitsPerPixel)/8,
		Format: PixelFormat{
			BitsPerPixel: int(v.BitsPerPixel),
			Red:          bf(v.Red), Green: bf(v.Green), Blue: bf(v.Blue), Transp: bf(v.Transp),
		},
	}
	size := int(x.SmemLen)
	if size == 0 {
		size = int(x.LineLength) * int(v.YResVirtual)
	}
	return g, size, nil
}

// OpenFramebuffer maps a framebuffer device such as /dev/fb0 for drawing.
//
// It reads the geometry and pixel format from the driver, unless
// opts.Geometry is set, in which case path may be any file of at least
// that size (tests use a temporary file). The console is switched to
// graphics mode until Halt, so the kernel does not draw over the panel.
func OpenFramebuffer(path string, opts FramebufferOpts) (*Framebuffer, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("screen: framebuffer: %w", err)
	}
	var geo Geometry
	var size int
	if opts.Geometry != nil {
		geo = *opts.Geometry
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("screen: framebuffer %s: %w", path, err)
		}
		size = int(st.Size())
	} else {
		geo, size, err = readGeometry(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("screen: framebuffer %s: %w", path, err)
		}
	}
	if err := geo.check(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	if size < geo.size() {
		f.Close()
		return nil, fmt.Errorf("screen: framebuffer %s: %d bytes, the geometry needs %d", path, size, geo.size())
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("screen: framebuffer %s: mmap %d bytes: %w", path, size, err)
	}
	restore := func() error { return nil }
	if opts.Geometry == nil && opts.TTY != "-" {
		tty := opts.TTY
		if tty == "" {
			tty = "/dev/tty0"
		}
		restore = graphicsMode(tty, opts.Logger)
	}
	release := func() error {
		err := restore()
		err = errors.Join(err, unix.Munmap(mem), f.Close())
		if err != nil {
			return fmt.Errorf("screen: framebuffer %s: halt: %w", path, err)
		}
		return nil
	}
	fb, err := newFramebuffer(path, mem, geo, opts, release)
	if err != nil {
		_ = release()
		return nil, err
	}
	opts.Logger.Info("screen: framebuffer", "path", path, "width", geo.Width, "height", geo.Height,
		"stride", geo.Stride, "format", geo.Format.String(), "rotation", opts.Rotation)
	return fb, nil
}

// graphicsMode switches the console to KD_GRAPHICS and returns a function
// that switches it back. Best effort: a panel without a console (or without
// the permission) still shows its frames, perhaps under a blinking cursor.
func graphicsMode(tty string, log *slog.Logger) (restore func() error) {
	nothing := func() error { return nil }
	f, err := os.OpenFile(tty, os.O_RDWR, 0)
	if err != nil {
		log.Warn("screen: console stays in text mode", "tty", tty, "err", err)
		return nothing
	}
	var prev int32 = kdText
	if err := ioctl(f.Fd(), kdGetMode, unsafe.Pointer(&prev)); err != nil {
		prev = kdText
	}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), kdSetMode, kdGraphics); errno != 0 {
		log.Warn("screen: console stays in text mode", "tty", tty, "err", errno)
		f.Close()
		return nothing
	}
	return func() error {
		defer f.Close()
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), kdSetMode, uintptr(prev)); errno != 0 {
			return fmt.Errorf("restore console mode on %s: %w", tty, errno)
		}
		return nil
	}
}
