package store

import (
	"errors"
	"fmt"
)

// ErrNotEmpty: a copy's target already holds data.
var ErrNotEmpty = errors.New("target store is not empty")

// Copy copies every record of src into dst, which must be new (just
// opened, nothing in it): how an installation moves from its bbolt file to
// etcd for replicas, and back (migrate-store). Both must be at the same
// schema version, which Open makes them. It copies in steps dst's engine
// can hold; src should not change meanwhile (stop the servers). It returns
// how many keys it copied.
func Copy(dst, src *DB) (int, error) {
	type entry struct {
		path []string // buckets under the root
		k, v []byte
	}
	var entries []entry
	seqs := map[string]uint64{}
	var paths [][]string
	var walk func(b bucket, path []string) error
	walk = func(b bucket, path []string) error {
		paths = append(paths, path)
		if n := b.Sequence(); n > 0 {
			seqs[fmt.Sprint(path)] = n
		}
		err := b.ForEach(func(k, v []byte) error {
			entries = append(entries, entry{path, append([]byte(nil), k...), append([]byte(nil), v...)})
			return nil
		})
		if err != nil {
			return err
		}
		return b.ForEachBucket(func(name []byte) error {
			return walk(b.Bucket(name), append(append([]string(nil), path...), string(name)))
		})
	}
	err := src.view(func(tx txn) error {
		entries, paths, seqs = nil, nil, map[string]uint64{}
		return walk(tx.Bucket(rootBucket), nil)
	})
	if err != nil {
		return 0, fmt.Errorf("store: read %s: %w", src.Where(), err)
	}
	// The target: new, so nothing but the schema version in it.
	err = dst.view(func(tx txn) error {
		r := tx.Bucket(rootBucket)
		return r.ForEachBucket(func(name []byte) error {
			if string(name) == string(metaBucket) {
				return nil
			}
			var found bool
			var check func(b bucket) error
			check = func(b bucket) error {
				if err := b.ForEach(func(k, v []byte) error { found = true; return nil }); err != nil {
					return err
				}
				return b.ForEachBucket(func(n []byte) error { return check(b.Bucket(n)) })
			}
			if err := check(r.Bucket(name)); err != nil {
				return err
			}
			if found {
				return fmt.Errorf("%w: %s holds %s", ErrNotEmpty, dst.Where(), name)
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	bucketAt := func(tx txn, path []string) (bucket, error) {
		b := tx.Bucket(rootBucket)
		for _, name := range path {
			var err error
			if b, err = b.CreateBucketIfNotExists([]byte(name)); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	// Buckets first (empty ones too), then the keys in steps.
	step := max(1, dst.eng.maxWrites()/2)
	for i := 0; i < len(paths); i += step {
		part := paths[i:min(i+step, len(paths))]
		err := dst.update(func(tx txn) error {
			for _, p := range part {
				b, err := bucketAt(tx, p)
				if err != nil {
					return err
				}
				if n, ok := seqs[fmt.Sprint(p)]; ok {
					if err := b.SetSequence(n); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("store: write buckets to %s: %w", dst.Where(), err)
		}
	}
	for i := 0; i < len(entries); i += step {
		part := entries[i:min(i+step, len(entries))]
		err := dst.update(func(tx txn) error {
			for _, e := range part {
				if len(e.path) == 1 && e.path[0] == string(metaBucket) {
					continue // the target's own schema version stays
				}
				b, err := bucketAt(tx, e.path)
				if err != nil {
					return err
				}
				if err := b.Put(e.k, e.v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return i, fmt.Errorf("store: write to %s after %d of %d keys: %w", dst.Where(), i, len(entries), err)
		}
	}
	return len(entries), nil
}
