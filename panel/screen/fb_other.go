//go:build !linux

package screen

import "errors"

// OpenFramebuffer needs Linux; elsewhere use the PNG file or the virtual
// panel.
func OpenFramebuffer(path string, opts FramebufferOpts) (*Framebuffer, error) {
	return nil, errors.New("screen: framebuffer " + path + ": needs Linux")
}
