package view

import (
	"image"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
)

// paint draws a frame: boxes, the QR code, then texts, each text clipped to
// its box.
func (r *Renderer) paint(f *frame) *image.RGBA {
	img := image.NewRGBA(image.Rectangle{Max: f.size})
	for _, b := range f.boxes {
		if b.radius <= 0 {
			draw.Draw(img, b.rect, image.NewUniform(b.color), image.Point{}, draw.Src)
		} else {
			r.roundRect(img, b)
		}
	}
	if f.qr != nil {
		paintQR(img, f.qr)
	}
	for _, t := range f.texts {
		dst, ok := img.SubImage(t.rect).(*image.RGBA)
		if !ok || dst.Rect.Empty() {
			continue
		}
		r.drawText(dst, t)
	}
	return img
}

// glyphKey names a rasterized glyph: the face, the rune and the sub-pixel
// offset of its origin, in quarter pixels.
type glyphKey struct {
	face faceKey
	r    rune
	subX int
}

// glyph is a rasterized glyph: its coverage mask and where the mask goes
// relative to the pixel its origin falls in.
type glyph struct {
	mask *image.Alpha
	off  image.Point
}

// maxGlyphs bounds the glyph cache: a screen uses a few hundred.
const maxGlyphs = 4096

// drawText draws one line like font.Drawer.DrawString, with each grapheme
// cluster from the first font that has it (see shape), but rasterizes each
// glyph once per quarter-pixel position and keeps it: rasterizing is most
// of the time of a frame, and a panel redraws the same glyphs every minute.
func (r *Renderer) drawText(dst *image.RGBA, t textItem) {
	src := image.NewUniform(t.st.color)
	origin := fixed.I(t.dot.X)
	r.advance(t.st, t.s, func(gr glyphRef, x fixed.Int26_6) {
		dotX := origin + x
		// Quantize the origin to a quarter pixel, the cache's resolution.
		sub := int(dotX&63+8) / 16
		px := dotX.Floor()
		if sub == 4 {
			px, sub = px+1, 0
		}
		fk := faceKey{gr.font, t.st.size}
		k := glyphKey{fk, gr.r, sub}
		g, ok := r.glyphs[k]
		if !ok {
			g = r.rasterize(r.face(gr.font, t.st.size), gr.r, sub)
			if len(r.glyphs) >= maxGlyphs {
				clear(r.glyphs)
			}
			r.glyphs[k] = g
		}
		if g.mask != nil {
			at := image.Pt(px, t.dot.Y).Add(g.off)
			draw.DrawMask(dst, g.mask.Rect.Add(at), src, image.Point{}, g.mask, image.Point{}, draw.Over)
		}
	})
}

// rasterize draws a glyph with its origin sub quarter pixels right of
// (0, 0) and copies the mask, which the face reuses.
func (r *Renderer) rasterize(fc font.Face, c rune, sub int) glyph {
	dr, mask, maskp, _, _ := fc.Glyph(fixed.Point26_6{X: fixed.Int26_6(sub * 16)}, c)
	if dr.Empty() {
		return glyph{}
	}
	a := image.NewAlpha(image.Rect(0, 0, dr.Dx(), dr.Dy()))
	draw.Draw(a, a.Rect, mask, maskp, draw.Src)
	return glyph{mask: a, off: dr.Min}
}

// roundRect fills a box with anti-aliased rounded corners: solid
// rectangles for the cross between the corners (fast), and the rasterizer
// only for the four corner squares.
func (r *Renderer) roundRect(img *image.RGBA, b box) {
	rad := min(b.radius, b.rect.Dx()/2, b.rect.Dy()/2)
	src := image.NewUniform(b.color)
	o := b.rect
	draw.Draw(img, image.Rect(o.Min.X+rad, o.Min.Y, o.Max.X-rad, o.Max.Y), src, image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(o.Min.X, o.Min.Y+rad, o.Min.X+rad, o.Max.Y-rad), src, image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(o.Max.X-rad, o.Min.Y+rad, o.Max.X, o.Max.Y-rad), src, image.Point{}, draw.Src)
	if rad == 0 {
		return
	}
	// A quarter disc of radius rad centred at (cx, cy) in the corner square.
	const k = 0.5523 // cubic Bézier control distance for a quarter circle
	f := float32(rad)
	z := &r.raster
	corner := func(sq image.Rectangle, cx, cy, sx, sy float32) {
		// (sx, sy) point from the centre towards the corner.
		z.Reset(rad, rad)
		z.DrawOp = draw.Over
		z.MoveTo(cx, cy)
		z.LineTo(cx+sx*f, cy)
		z.CubeTo(cx+sx*f, cy+sy*f*k, cx+sx*f*k, cy+sy*f, cx, cy+sy*f)
		z.ClosePath()
		z.Draw(img, sq, src, image.Point{})
	}
	corner(image.Rect(o.Min.X, o.Min.Y, o.Min.X+rad, o.Min.Y+rad), f, f, -1, -1)
	corner(image.Rect(o.Max.X-rad, o.Min.Y, o.Max.X, o.Min.Y+rad), 0, f, 1, -1)
	corner(image.Rect(o.Min.X, o.Max.Y-rad, o.Min.X+rad, o.Max.Y), f, 0, -1, 1)
	corner(image.Rect(o.Max.X-rad, o.Max.Y-rad, o.Max.X, o.Max.Y), 0, 0, 1, 1)
}

// paintQR draws the code in whole pixels per module, centred in its box,
// on white with the quiet zone of four modules scanners need.
func paintQR(img *image.RGBA, q *qrItem) {
	draw.Draw(img, q.rect, image.NewUniform(colWhite), image.Point{}, draw.Src)
	n := q.code.Size
	scale := q.rect.Dx() / (n + 8)
	if scale < 1 {
		return // too small to scan: draw nothing rather than noise
	}
	off := q.rect.Min.Add(image.Pt((q.rect.Dx()-n*scale)/2, (q.rect.Dy()-n*scale)/2))
	black := image.NewUniform(colInk)
	for y := range n {
		for x := range n {
			if q.code.Black(x, y) {
				m := image.Rect(x*scale, y*scale, (x+1)*scale, (y+1)*scale).Add(off)
				draw.Draw(img, m, black, image.Point{}, draw.Src)
			}
		}
	}
}
