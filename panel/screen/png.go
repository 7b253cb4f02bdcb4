package screen

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"sync"
)

// PNGFile writes every frame to a PNG file. It replaces the file atomically
// (a temporary file in the same directory, then a rename), so a viewer or a
// test that reads it never sees half a frame.
type PNGFile struct {
	path string

	mu    sync.Mutex
	frame *image.RGBA
}

// NewPNGFile returns a sink of the given frame size writing to path.
func NewPNGFile(path string, width, height int) (*PNGFile, error) {
	if width <= 0 || height <= 0 {
		return nil, fmt.Errorf("screen: png %s: size %dx%d must be positive", path, width, height)
	}
	return &PNGFile{path: path, frame: image.NewRGBA(image.Rect(0, 0, width, height))}, nil
}

func (p *PNGFile) String() string { return "screen: png " + p.path }

// Halt does nothing: the last frame stays in the file.
func (p *PNGFile) Halt() error { return nil }

// ColorModel implements display.Drawer.
func (p *PNGFile) ColorModel() color.Model { return color.RGBAModel }

// Bounds implements display.Drawer.
func (p *PNGFile) Bounds() image.Rectangle { return p.frame.Bounds() }

// Draw updates the frame and writes the whole of it to the file.
func (p *PNGFile) Draw(r image.Rectangle, src image.Image, sp image.Point) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, sp = clip(p.frame.Bounds(), r, sp)
	draw.Draw(p.frame, r, src, sp, draw.Src)
	var b bytes.Buffer
	if err := png.Encode(&b, p.frame); err != nil {
		return fmt.Errorf("screen: png %s: %w", p.path, err)
	}
	if err := writeAtomic(p.path, b.Bytes()); err != nil {
		return fmt.Errorf("screen: png: %w", err)
	}
	return nil
}

// writeAtomic replaces path with data. There is no fsync: a frame lost to a
// power cut is redrawn within a second by the next one.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
