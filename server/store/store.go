// Package store keeps Lintel's server state in one bbolt file. It is the
// only package that imports bbolt, so the storage engine can be swapped (the
// multi-replica path is etcd, whose own engine is bbolt) without touching
// the rest of the server.
//
// The bucket tree, under a versioned root bucket:
//
//	v1/
//	  meta/      "schema" -> uint64 schema version (see migrations.go)
//	  rooms/     <room id> -> Room (JSON)
//	  devices/   <device id> -> Device (JSON)
//	  tokens/    <sha256(token), hex> -> device id
//	  states/    <room id> -> the room's last published state (JSON, opaque here)
//	  events/    <room id>/ <event id> -> Event (JSON): the built-in calendar
//	  requests/  <device id>/<request id> -> Outcome (JSON): idempotency
//	  settings/  <key> -> JSON
//	  admins/    <username> -> Admin (JSON, password as a bcrypt hash)
//	  sessions/  <sha256(session id), hex> -> Session (JSON)
//	  apitokens/ <sha256(token), hex> -> APIToken (JSON)
//	  checkins/  <room id>/<event id> -> RFC 3339 time of the check-in
//	  alerts/    active/ <alert key> -> active alert (JSON, opaque here)
//	             log/ <uint64 sequence> -> a sent alert message (JSON, opaque here)
//
// Values are JSON: readable with bbolt's own tools when something goes wrong,
// and forgiving when a field is added.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Errors callers test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
)

var (
	rootBucket      = []byte("v1")
	metaBucket      = []byte("meta")
	roomsBucket     = []byte("rooms")
	devicesBucket   = []byte("devices")
	tokensBucket    = []byte("tokens")
	statesBucket    = []byte("states")
	eventsBucket    = []byte("events")
	requestsBucket  = []byte("requests")
	settingsBucket  = []byte("settings")
	adminsBucket    = []byte("admins")
	sessionsBucket  = []byte("sessions")
	apiTokensBucket = []byte("apitokens")
	checkinsBucket  = []byte("checkins")
)

// DB is an open store. It is safe for concurrent use.
type DB struct {
	bolt *bolt.DB
	path string
}

// Open opens or creates the store at path, creating its directory (0700)
// and the file (0600). A file held by another process, or one that is not a
// Lintel database, gives an error that names the file and what to do.
func Open(path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create directory for %s: %w", path, err)
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("store: %s is locked by another process; is another lintel-server running with the same data directory?", path)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return nil, fmt.Errorf("store: %s is not a valid Lintel database (corrupt or another kind of file); restore it from a backup or move it away to start afresh: %w", path, err)
	case err != nil:
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db := &DB{bolt: b, path: path}
	if err := db.migrate(); err != nil {
		b.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return db, nil
}

// Path is the file the store lives in.
func (db *DB) Path() string { return db.path }

// Close closes the file.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", db.path, err)
	}
	return nil
}

// root returns a top-level bucket under v1.
func root(tx *bolt.Tx, name []byte) *bolt.Bucket {
	return tx.Bucket(rootBucket).Bucket(name)
}

func (db *DB) view(fn func(tx *bolt.Tx) error) error { return db.bolt.View(fn) }

// update runs fn in a write transaction. A failure to commit (a full disk,
// say) is wrapped with the file's name; fn's own errors come back as they
// are. Either way nothing is half written.
func (db *DB) update(fn func(tx *bolt.Tx) error) error {
	var fnErr error
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		fnErr = fn(tx)
		return fnErr
	})
	if err != nil && fnErr == nil {
		return fmt.Errorf("store: write %s: %w", db.path, err)
	}
	return err
}

func getJSON(b *bolt.Bucket, key string, v any) error {
	data := b.Get([]byte(key))
	if data == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("store: decode %s: %w", key, err)
	}
	return nil
}

func putJSON(b *bolt.Bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", key, err)
	}
	return b.Put([]byte(key), data)
}

// Snapshot writes a consistent copy of the whole store to w while the
// server runs (a read transaction sees one point in time).
func (db *DB) Snapshot(w interface{ Write([]byte) (int, error) }) (int64, error) {
	var n int64
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("store: snapshot %s: %w", db.path, err)
	}
	return n, nil
}
