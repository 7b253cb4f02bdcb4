//go:build !unix

package main

// openFileLimit is unknown here: the cap is taken as configured.
func openFileLimit() (uint64, bool) { return 0, false }
