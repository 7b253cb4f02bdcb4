// Package screen is where the panel's frames go: the Linux framebuffer of a
// real panel, a PNG file for demos and tests, or a virtual panel served to a
// browser during development. It also decides when the backlight should be
// on, dimmed or off, and drives it through sysfs.
//
// Every sink implements periph's display.Drawer, so the panel binary picks
// one from its configuration and the rest of the code does not care which;
// tests can use periph's displaytest.Drawer.
//
// Frames are drawn in frame coordinates: the size panel/view renders at.
// A sink with a rotation turns the frame onto the device itself, so a panel
// mounted in portrait renders a portrait frame.
package screen

import (
	"fmt"
	"image"
)

// checkRotation accepts the rotations a panel can be mounted at.
func checkRotation(r int) error {
	switch r {
	case 0, 90, 180, 270:
		return nil
	}
	return fmt.Errorf("screen: rotation %d: want 0, 90, 180 or 270", r)
}

// clip limits a Draw to the sink's bounds, moving the source point along so
// the same source pixels land on the same destination pixels.
func clip(bounds, r image.Rectangle, sp image.Point) (image.Rectangle, image.Point) {
	c := r.Intersect(bounds)
	return c, sp.Add(c.Min.Sub(r.Min))
}
