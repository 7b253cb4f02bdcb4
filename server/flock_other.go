//go:build !unix

package main

// inUse cannot tell here; the server's own lock refuses a second opener.
func inUse(path string) bool { return false }
