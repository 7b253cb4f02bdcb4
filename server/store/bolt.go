package store

import (
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// boltEngine keeps the buckets in one bbolt file: the embedded default.
type boltEngine struct {
	db   *bolt.DB
	path string
}

func (e *boltEngine) name() string   { return e.path }
func (e *boltEngine) maxWrites() int { return 5000 }

func (e *boltEngine) close() error {
	if err := e.db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", e.path, err)
	}
	return nil
}

// view runs fn in a read transaction. A panic inside bbolt (a page
// damaged while the server runs) becomes an ErrCorrupt error naming the
// file and the restore command, rather than a crash.
func (e *boltEngine) view(fn func(tx txn) error) error {
	return protect(e.path, func() error {
		return e.db.View(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
	})
}

// update runs fn in a write transaction. A failure to commit (a full disk,
// say) is wrapped with the file's name; fn's own errors come back as they
// are. Either way nothing is half written.
func (e *boltEngine) update(fn func(tx txn) error) error {
	var fnErr error
	err := protect(e.path, func() error {
		return e.db.Update(func(tx *bolt.Tx) error {
			fnErr = fn(boltTx{tx})
			return fnErr
		})
	})
	if err != nil && fnErr == nil {
		return fmt.Errorf("store: write %s: %w", e.path, err)
	}
	return err
}

// batch runs fn in a write transaction shared with other writers that
// call batch at about the same time (bbolt's Batch): a hundred panels
// booking at once share a few fsyncs instead of queueing for one each.
// A lone write waits up to bbolt's MaxBatchDelay (10 ms) for company.
// Errors are as with update.
func (e *boltEngine) batch(fn func(tx txn) error) error {
	var mu sync.Mutex // fn runs on whichever goroutine commits the batch
	var fnErr error
	err := protect(e.path, func() error {
		return e.db.Batch(func(tx *bolt.Tx) error {
			err := fn(boltTx{tx})
			mu.Lock()
			fnErr = err
			mu.Unlock()
			return err
		})
	})
	mu.Lock()
	defer mu.Unlock()
	if err != nil && fnErr == nil {
		return fmt.Errorf("store: write %s: %w", e.path, err)
	}
	return err
}

type boltTx struct{ tx *bolt.Tx }

func (t boltTx) Bucket(name []byte) bucket { return wrapBucket(t.tx.Bucket(name)) }

func (t boltTx) CreateBucketIfNotExists(name []byte) (bucket, error) {
	b, err := t.tx.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, err
	}
	return boltBucket{b}, nil
}

// wrapBucket keeps a missing bucket a nil interface, not a non-nil
// interface holding a nil pointer.
func wrapBucket(b *bolt.Bucket) bucket {
	if b == nil {
		return nil
	}
	return boltBucket{b}
}

type boltBucket struct{ b *bolt.Bucket }

func (b boltBucket) Get(key []byte) []byte       { return b.b.Get(key) }
func (b boltBucket) Put(key, value []byte) error { return b.b.Put(key, value) }
func (b boltBucket) Delete(key []byte) error     { return b.b.Delete(key) }
func (b boltBucket) Cursor() cursor              { return b.b.Cursor() }
func (b boltBucket) Bucket(name []byte) bucket   { return wrapBucket(b.b.Bucket(name)) }
func (b boltBucket) DeleteBucket(name []byte) error {
	return b.b.DeleteBucket(name)
}
func (b boltBucket) NextSequence() (uint64, error) { return b.b.NextSequence() }
func (b boltBucket) Sequence() uint64              { return b.b.Sequence() }
func (b boltBucket) SetSequence(n uint64) error    { return b.b.SetSequence(n) }

func (b boltBucket) ForEach(fn func(k, v []byte) error) error {
	return b.b.ForEach(func(k, v []byte) error {
		if v == nil {
			return nil // a nested bucket
		}
		return fn(k, v)
	})
}

func (b boltBucket) ForEachBucket(fn func(name []byte) error) error { return b.b.ForEachBucket(fn) }

func (b boltBucket) CreateBucket(name []byte) (bucket, error) {
	nb, err := b.b.CreateBucket(name)
	if err != nil {
		return nil, err
	}
	return boltBucket{nb}, nil
}

func (b boltBucket) CreateBucketIfNotExists(name []byte) (bucket, error) {
	nb, err := b.b.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, err
	}
	return boltBucket{nb}, nil
}
