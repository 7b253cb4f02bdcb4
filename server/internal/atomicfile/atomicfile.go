// Package atomicfile writes files that hold secrets or state the server
// reads back: mode 0600, and replaced in one rename so that a crash leaves
// the old file or the new one, never half of one.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// WriteSecret writes secret and a newline to path, atomically, mode 0600.
func WriteSecret(path, secret string) error {
	return Write(path, strings.NewReader(secret+"\n"))
}

// Write writes what r holds to path with mode 0600 so that a crash leaves
// the old file or the new one, never half of one: a synced temporary file
// in the same directory, renamed over path.
func Write(path string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create directory for %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	_, err = io.Copy(tmp, r)
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
