package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// jsonBuckets are the top-level buckets whose values (and, for events,
// whose nested buckets' values) are JSON documents.
var jsonBuckets = map[string]bool{
	string(roomsBucket): true, string(devicesBucket): true, string(statesBucket): true,
	string(eventsBucket): true, string(requestsBucket): true, string(settingsBucket): true,
	string(adminsBucket): true, string(sessionsBucket): true, string(apiTokensBucket): true,
	string(activityBucket): true, string(meetingsBucket): true,
}

// Verify checks a store file without changing it: its pages lie within
// the file, each reached once from the root and none both in use and
// free (checkPages), every key and value reads, every JSON record parses,
// and the schema is one this server knows. Open runs it first; restore runs it on
// a backup before it replaces anything. The error names the file and the
// restore command; a damaged file never crashes the process.
func Verify(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return fmt.Errorf("store: %w", err)
	case fi.Size() == 0:
		return fmt.Errorf("store: %s is empty (0 bytes): %w", path, ErrNoStore)
	}
	// First the page graph, read with plain reads: a file shorter than
	// its pages say, or whose pages point outside it or back at
	// themselves, is refused before bbolt maps it and trusts its pages.
	switch err := checkPages(path); {
	case errors.Is(err, errNoMeta):
		// Not a bbolt file at all: bbolt says so below, in its words.
	case errors.Is(err, errPages):
		return corrupt(path, fmt.Errorf("%w: %w", ErrCorrupt, err))
	case err != nil:
		return fmt.Errorf("store: read %s: %w", path, err)
	}
	// Then through bbolt: every key and value read, the JSON ones
	// parsed, and the schema. (bbolt's own Tx.Check is not used: it
	// panics where nothing can recover on some damage that checkPages
	// lets through, such as a torn first meta page.)
	return withReadOnly(path, func(tx *bolt.Tx) error {
		if err := walk(tx); err != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		return checkSchema(tx)
	})
}

// withReadOnly opens path read-only (which another process's lock refuses
// after a second), runs fn in a read transaction, and closes it, turning
// panics and memory faults into ErrCorrupt errors.
func withReadOnly(path string, fn func(tx *bolt.Tx) error) error {
	var b *bolt.DB
	err := protect(path, func() error {
		var err error
		b, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second, PreLoadFreelist: true})
		return err
	})
	if err != nil {
		return openError(path, err)
	}
	defer b.Close()
	err = protect(path, func() error { return b.View(fn) })
	switch {
	case errors.Is(err, ErrCorrupt):
		return corrupt(path, err)
	case err != nil:
		return fmt.Errorf("store: %s: %w", path, err)
	}
	return nil
}

// walk reads every bucket, key and value reachable from the root, and
// parses the JSON ones.
func walk(tx *bolt.Tx) error {
	return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		return walkBucket(string(name), b, false)
	})
}

func walkBucket(path string, b *bolt.Bucket, isJSON bool) error {
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			if child := b.Bucket(k); child != nil {
				name := string(k)
				return walkBucket(path+"/"+name, child, isJSON || (path == string(rootBucket) && jsonBuckets[name]))
			}
		}
		if isJSON && !json.Valid(v) {
			return fmt.Errorf("record %s/%q is not valid JSON", path, k)
		}
		return nil
	})
}

// checkSchema checks the root bucket and the schema version.
func checkSchema(tx *bolt.Tx) error {
	r := tx.Bucket(rootBucket)
	if r == nil || r.Bucket(metaBucket) == nil {
		return fmt.Errorf("not a Lintel database: no %s/%s bucket", rootBucket, metaBucket)
	}
	v := r.Bucket(metaBucket).Get([]byte("schema"))
	if len(v) != 8 {
		return fmt.Errorf("not a Lintel database: the schema version is %d bytes, want 8", len(v))
	}
	if version := binary.BigEndian.Uint64(v); version > uint64(len(migrations)) {
		return fmt.Errorf("schema version %d is newer than this lintel-server knows (%d): upgrade lintel-server", version, len(migrations))
	}
	return nil
}

// protect runs fn, turning a panic, and a memory fault on the store's
// memory map (which would otherwise kill the process), into an ErrCorrupt
// error naming the file and the restore command.
func protect(path string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = corrupt(path, fmt.Errorf("%w: %v", ErrCorrupt, r))
		}
	}()
	return fn()
}

// corrupt words an ErrCorrupt error once: with the file and what to do.
func corrupt(path string, cause error) error {
	var ce *corruptError
	if errors.As(cause, &ce) {
		return cause
	}
	return &corruptError{path: path, cause: cause}
}

type corruptError struct {
	path  string
	cause error
}

func (e *corruptError) Error() string {
	return fmt.Sprintf("store: %s is damaged (%v): stop the server and restore the last backup with `lintel-server restore --data %s BACKUP-FILE`", e.path, e.cause, filepath.Dir(e.path))
}

func (e *corruptError) Unwrap() error { return e.cause }
