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
//	  requestlog/ <time><device id>/<request id> -> nothing: requests by age, for pruning
//	  activity/  <time><device id>/<id> -> Outcome (JSON): the activity log, oldest first
//	  settings/  <key> -> JSON
//	  admins/    <username> -> Admin (JSON, password as a bcrypt hash)
//	  sessions/  <sha256(session id), hex> -> Session (JSON)
//	  apitokens/ <sha256(token), hex> -> APIToken (JSON)
//	  checkins/  <room id>/<event id> -> RFC 3339 time of the check-in
//	  alerts/    active/ <alert key> -> active alert (JSON, opaque here)
//	             log/ <uint64 sequence> -> a sent alert message (JSON, opaque here)
//	  revoked/   <sha256(token), hex> -> device id, for deleted devices
//	  subscriptions/ <room id> -> Subscription (JSON): Graph change notifications
//
// <time> is 8 big-endian bytes of Unix nanoseconds, so that a cursor walks
// those buckets in time order. What grows with use is pruned (Prune):
// activity, meetings and old built-in events after 90 days, idempotency records and
// check-ins after 7, by default.
//
// Values are JSON: readable with bbolt's own tools when something goes wrong,
// and forgiving when a field is added.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
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
	// ErrNoStore: OpenExisting found no store (missing or empty file).
	ErrNoStore = errors.New("no store")
	// ErrCorrupt: the file is damaged; the error says how to restore it.
	ErrCorrupt = errors.New("corrupt store")
)

var (
	rootBucket       = []byte("v1")
	metaBucket       = []byte("meta")
	roomsBucket      = []byte("rooms")
	devicesBucket    = []byte("devices")
	tokensBucket     = []byte("tokens")
	statesBucket     = []byte("states")
	eventsBucket     = []byte("events")
	requestsBucket   = []byte("requests")
	settingsBucket   = []byte("settings")
	adminsBucket     = []byte("admins")
	sessionsBucket   = []byte("sessions")
	apiTokensBucket  = []byte("apitokens")
	checkinsBucket   = []byte("checkins")
	revokedBucket    = []byte("revoked")
	activityBucket   = []byte("activity")
	requestLogBucket = []byte("requestlog")
)

// DB is an open store. It is safe for concurrent use.
type DB struct {
	eng engine
	// path is the bbolt file; empty on etcd.
	path string
}

// Open opens the store at path, or creates it (with its directory, 0700,
// and the file, 0600) when the file is missing or empty. It is for setting
// up a new installation (serve --init, the demo, admin create) and for
// tests; a server that should find its data uses OpenExisting.
//
// Like OpenExisting, it checks the file first (see Verify): a damaged
// store gives an error that names the file and the restore command, never
// a crash.
func Open(path string) (*DB, error) { return open(path, true) }

// OpenExisting opens the store at path, which must exist: a missing or
// empty (0 byte) file is an error wrapping ErrNoStore that says how to
// start afresh or restore, so that a lost file never silently becomes an
// empty store whose panels are then told their credentials are unknown.
func OpenExisting(path string) (*DB, error) { return open(path, false) }

func open(path string, create bool) (*DB, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !create:
		return nil, fmt.Errorf("store: no store at %s: %w; for a new installation run `lintel-server serve --init` (or `lintel-server admin create`) once; to bring back your data run `lintel-server restore --data %s BACKUP-FILE`", path, ErrNoStore, filepath.Dir(path))
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	case err == nil && fi.Size() == 0 && !create:
		return nil, fmt.Errorf("store: %s is empty (0 bytes): %w; it lost its data: restore the last backup with `lintel-server restore --data %s BACKUP-FILE`, or start afresh with `lintel-server serve --init` (every panel must then be paired again)", path, ErrNoStore, filepath.Dir(path))
	case err == nil && fi.Size() > 0:
		if err := Verify(path); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create directory for %s: %w", path, err)
	}
	var b *bolt.DB
	err = protect(path, func() error {
		var err error
		b, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
		return err
	})
	if err != nil {
		return nil, openError(path, err)
	}
	db := &DB{eng: &boltEngine{db: b, path: path}, path: path}
	if err := db.migrate(); err != nil {
		b.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return db, nil
}

// openError says what to do about a file bbolt would not open.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, ErrCorrupt):
		return err
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("store: %s is locked by another process; is another lintel-server running with the same data directory?", path)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return fmt.Errorf("store: %s is not a valid Lintel database (corrupt or another kind of file): %w; restore the last backup with `lintel-server restore --data %s BACKUP-FILE`, or move it away and start afresh with `lintel-server serve --init`", path, err, filepath.Dir(path))
	}
	return fmt.Errorf("store: open %s: %w", path, err)
}

// Path is the bbolt file the store lives in; empty on etcd.
func (db *DB) Path() string { return db.path }

// Where says where the store lives, for logs: its file, or etcd's
// endpoints and prefix.
func (db *DB) Where() string { return db.eng.name() }

// Close closes the file, or the etcd client.
func (db *DB) Close() error { return db.eng.close() }

// root returns a top-level bucket under v1.
func root(tx txn, name []byte) bucket {
	return tx.Bucket(rootBucket).Bucket(name)
}

func (db *DB) view(fn func(tx txn) error) error   { return db.eng.view(fn) }
func (db *DB) update(fn func(tx txn) error) error { return db.eng.update(fn) }
func (db *DB) batch(fn func(tx txn) error) error  { return db.eng.batch(fn) }

func getJSON(b bucket, key string, v any) error {
	data := b.Get([]byte(key))
	if data == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("store: decode %s: %w", key, err)
	}
	return nil
}

func putJSON(b bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", key, err)
	}
	return b.Put([]byte(key), data)
}

// Snapshot writes a consistent copy of the whole store to w while the
// server runs (a read transaction sees one point in time).
func (db *DB) Snapshot(w interface{ Write([]byte) (int, error) }) (int64, error) {
	be, ok := db.eng.(*boltEngine)
	if !ok {
		return 0, fmt.Errorf("store: a backup file is a copy of a bbolt store; with etcd, copy it with `lintel-server migrate-store --from etcd --to bolt:FILE` or etcd's own snapshot (etcdctl snapshot save)")
	}
	var n int64
	err := protect(db.path, func() error {
		return be.db.View(func(tx *bolt.Tx) error {
			var err error
			n, err = tx.WriteTo(w)
			return err
		})
	})
	if err != nil {
		return n, fmt.Errorf("store: snapshot %s: %w", db.path, err)
	}
	return n, nil
}
