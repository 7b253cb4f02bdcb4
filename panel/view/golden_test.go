package view

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	_ "time/tzdata" // the panel binary embeds it too: same zones everywhere
)

var update = flag.Bool("update", false, "rewrite the golden PNGs in testdata/")

// sizes are the screens every fixture is drawn at: the 7" panel in
// landscape and portrait, and a larger 10" screen.
var sizes = []image.Point{{800, 480}, {480, 800}, {1280, 800}}

// tolerance is the per-channel difference allowed against a golden file:
// arm64 fuses multiply-adds in the rasterizers, which moves anti-aliased
// edges by a unit or so.
const tolerance = 2

func newRenderer(t testing.TB) *Renderer {
	t.Helper()
	r, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGolden(t *testing.T) {
	r := newRenderer(t)
	cases := append(fixtures("en"), localized()...)
	for _, f := range cases {
		for _, size := range sizes {
			name := fmt.Sprintf("%s-%dx%d", f.name, size.X, size.Y)
			t.Run(name, func(t *testing.T) {
				img, _ := r.Render(f.in, size)
				checkGolden(t, filepath.Join("testdata", name+".png"), img)
			})
		}
	}
}

// checkGolden compares img with the golden file, or rewrites it with
// -update. On a mismatch it writes the image next to the golden file as
// *.actual.png, to look at.
func checkGolden(t *testing.T, path string, img *image.RGBA) {
	t.Helper()
	actual := strings.TrimSuffix(path, ".png") + ".actual.png"
	if *update {
		writePNG(t, path, img)
		os.Remove(actual)
		return
	}
	want, err := readPNG(path)
	if err != nil {
		t.Fatalf("%v (run go test ./panel/view -update to create it)", err)
	}
	diff, first, worst := compare(want, img)
	if diff == 0 {
		os.Remove(actual)
		return
	}
	writePNG(t, actual, img)
	t.Errorf("%s: %d pixels differ by more than %d per channel (first at %v, worst by %d); see %s; if the change is intended, run go test ./panel/view -update",
		path, diff, tolerance, first, worst, actual)
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return png.Decode(f)
}

// compare counts the pixels of got that differ from want by more than the
// tolerance in a channel. A size mismatch counts every pixel.
func compare(want image.Image, got *image.RGBA) (n int, first image.Point, worst int) {
	if want.Bounds() != got.Bounds() {
		return got.Bounds().Dx() * got.Bounds().Dy(), got.Bounds().Min, 255
	}
	first = image.Pt(-1, -1)
	b := got.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			wr, wg, wb, wa := want.At(x, y).RGBA()
			c := got.RGBAAt(x, y)
			d := max(absDiff(wr>>8, c.R), absDiff(wg>>8, c.G), absDiff(wb>>8, c.B), absDiff(wa>>8, c.A))
			if d > tolerance {
				if n == 0 {
					first = image.Pt(x, y)
				}
				n++
				worst = max(worst, d)
			}
		}
	}
	return n, first, worst
}

func absDiff(a uint32, b uint8) int {
	d := int(a) - int(b)
	if d < 0 {
		return -d
	}
	return d
}
