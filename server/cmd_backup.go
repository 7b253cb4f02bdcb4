package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/lintelhq/lintel/server/internal/atomicfile"
	"github.com/lintelhq/lintel/server/store"
)

// backup fetches a consistent snapshot from the running server, checks
// that it opens as a Lintel store, and only then puts it at FILE.
func backup(ctx context.Context, c Context, args []string) error {
	fs := c.flags("backup")
	api := c.addAPIFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: lintel-server backup [--server URL] FILE")
	}
	dest := fs.Arg(0)
	client, err := c.client(api)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "GET", client.base+"/api/v1/backup", nil)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+client.token)
	resp, err := (&http.Client{Timeout: 10 * time.Minute}).Do(req)
	if err != nil {
		return fmt.Errorf("backup: cannot reach the server at %s: %w", client.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("backup: the server answered %s", resp.Status)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".lintel-backup-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, resp.Body)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup: write %s: %w", dest, err)
	}
	if err := checkStoreFile(tmp.Name()); err != nil {
		return fmt.Errorf("backup: the snapshot is not usable, nothing written: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(c.Stdout, "backup: %d bytes written to %s\n", n, dest)
	return nil
}

// checkStoreFile verifies a store file without changing it.
func checkStoreFile(path string) error { return store.Verify(path) }

// restore puts a backup in place of the data directory's store. The backup
// is verified first, and its copy again before it replaces anything; the
// server must be stopped (its lock on the store says so). The old store,
// even a damaged one that cannot be opened, is kept beside it.
func restore(ctx context.Context, c Context, args []string) error {
	fs := c.flags("restore")
	data := c.dataFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: lintel-server restore --data DIR FILE")
	}
	src := fs.Arg(0)
	if err := checkStoreFile(src); err != nil {
		return fmt.Errorf("restore: %s is not a usable backup, nothing changed: %w", src, err)
	}
	dest := filepath.Join(*data, "lintel.db")
	if inUse(dest) {
		return fmt.Errorf("restore: %s is in use: stop the server first", dest)
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// Copy beside the store, verify the copy, and only then swap.
	tmp, err := os.CreateTemp(*data, ".lintel-restore-*")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	tmp.Close()
	if err := copyFile(src, tmp.Name()); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := checkStoreFile(tmp.Name()); err != nil {
		return fmt.Errorf("restore: the copy of %s does not verify, nothing changed: %w", src, err)
	}
	if _, err := os.Stat(dest); err == nil {
		old := dest + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(dest, old); err != nil {
			return fmt.Errorf("restore: keep the old store: %w", err)
		}
		fmt.Fprintf(c.Stdout, "restore: the old store is kept as %s\n", old)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(c.Stdout, "restore: %s restored to %s; start the server\n", src, dest)
	return nil
}

// copyFile copies src to dest atomically with mode 0600.
func copyFile(src, dest string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return atomicfile.Write(dest, in)
}
