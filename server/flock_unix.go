//go:build unix

package main

import (
	"errors"
	"os"
	"syscall"
)

// inUse reports whether a process holds the store file's lock (bbolt
// takes an exclusive flock while it has the file open). Unlike opening the
// store, it works on a damaged file too.
func inUse(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}
