package store

// The store's records are written once, in terms of a small engine: a tree
// of buckets holding ordered keys, read and written in transactions. This
// is bbolt's model; bbolt is one engine (bolt.go, the embedded default)
// and etcd, whose own storage is bbolt, the other (etcd.go, for several
// replicas). Every record type, encoding, migration and retention rule
// above this file exists once and runs unchanged on both, which is what
// the contract tests check.
//
// Only what the store uses is here. A write transaction's function may run
// more than once (etcd retries it when another replica wrote what it read,
// bbolt's Batch when another function of the batch failed), so it must
// only read and write through tx and set, not accumulate, what it returns.

// engine is where the buckets live.
type engine interface {
	// view runs fn in a read transaction: one consistent point in time.
	view(fn func(tx txn) error) error
	// update runs fn in a write transaction: all of it or nothing.
	update(fn func(tx txn) error) error
	// batch is update for small, frequent writes that may share a commit
	// with other writers of the moment.
	batch(fn func(tx txn) error) error
	// maxWrites is how many keys one transaction may write or delete
	// (etcd's --max-txn-ops); work that may write more goes in steps.
	maxWrites() int
	// name says where the store lives, for errors and logs (a file, or
	// etcd endpoints and prefix).
	name() string
	close() error
}

// txn is a transaction: the top-level buckets.
type txn interface {
	Bucket(name []byte) bucket // nil when missing
	CreateBucketIfNotExists(name []byte) (bucket, error)
}

// bucket is a set of keys in byte order, and nested buckets.
type bucket interface {
	Get(key []byte) []byte // nil when missing
	Put(key, value []byte) error
	Delete(key []byte) error
	// ForEach calls fn for every key in order; nested buckets are not
	// among them (see ForEachBucket).
	ForEach(fn func(k, v []byte) error) error
	ForEachBucket(fn func(name []byte) error) error
	Cursor() cursor
	Bucket(name []byte) bucket // nil when missing
	CreateBucket(name []byte) (bucket, error)
	CreateBucketIfNotExists(name []byte) (bucket, error)
	DeleteBucket(name []byte) error
	NextSequence() (uint64, error)
	Sequence() uint64
	SetSequence(n uint64) error
}

// cursor walks a bucket's keys in order. Each move returns the key and
// value it lands on, or nil, nil past either end.
type cursor interface {
	First() (k, v []byte)
	Last() (k, v []byte)
	Next() (k, v []byte)
	Prev() (k, v []byte)
	Seek(seek []byte) (k, v []byte)
	Delete() error // removes the key the cursor is on
}
