//go:build !unix

package loadtest

// raiseFileLimit has nothing to raise outside Unix.
func raiseFileLimit(need int) error { return nil }
