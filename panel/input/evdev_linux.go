package input

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// inputAbsinfo is struct input_absinfo from linux/input.h.
type inputAbsinfo struct {
	Value, Minimum, Maximum, Fuzz, Flat, Resolution int32
}

// eviocgabs is EVIOCGABS(abs): _IOR('E', 0x40 + abs, struct input_absinfo).
func eviocgabs(abs uint) uint {
	const iocRead = 2
	return iocRead<<30 | uint(unsafe.Sizeof(inputAbsinfo{}))<<16 | 'E'<<8 | (0x40 + abs)
}

func absRange(f *os.File, abs uint) (AbsRange, error) {
	var info inputAbsinfo
	rc, err := f.SyscallConn()
	if err != nil {
		return AbsRange{}, err
	}
	// SyscallConn rather than Fd: Fd would switch the file to blocking
	// mode, and then Close could no longer interrupt a pending Read.
	var errno unix.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, uintptr(eviocgabs(abs)), uintptr(unsafe.Pointer(&info)))
	}); err != nil {
		return AbsRange{}, err
	}
	if errno != 0 {
		return AbsRange{}, errno
	}
	return AbsRange{Min: info.Minimum, Max: info.Maximum}, nil
}

// axisRanges reads the X and Y ranges, preferring the multi-touch axes. An
// axis the device lacks reads as 0..0.
func axisRanges(f *os.File) (x, y AbsRange, err error) {
	pairs := [][2]uint{{absMTPositionX, absMTPositionY}, {absX, absY}}
	for _, p := range pairs {
		if x, err = absRange(f, p[0]); err != nil {
			return x, y, err
		}
		if y, err = absRange(f, p[1]); err != nil {
			return x, y, err
		}
		if x.Max > x.Min && y.Max > y.Min {
			return x, y, nil
		}
	}
	return x, y, nil // newMapper reports the empty range
}
