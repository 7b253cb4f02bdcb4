//go:build !linux

package input

import (
	"errors"
	"os"
)

// axisRanges needs the Linux EVIOCGABS ioctl.
func axisRanges(*os.File) (x, y AbsRange, err error) {
	return x, y, errors.New("reading axis ranges needs Linux evdev")
}
