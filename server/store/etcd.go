package store

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// The etcd engine keeps the same bucket tree as bbolt under one key prefix
// (default /lintel), so that several lintel-server replicas share it:
//
//	<prefix>/#v1                    the bucket v1 exists
//	<prefix>/v1/#rooms              v1 has the bucket rooms
//	<prefix>/v1/rooms/=<room id>    a key of rooms, and its value
//	<prefix>/v1/events/#<room>      a nested bucket ...
//	<prefix>/v1/events/<room>/=<id> ... and its keys
//	<prefix>/v1/alerts/log/!seq     a bucket's NextSequence
//
// After "=" or "#" the key is raw bytes (etcd keys are bytes), so keys
// sort as in bbolt; the names of buckets on the path are escaped
// (%XX for anything but letters, digits and ._-@+:) so that "/" only
// separates. Values are the same JSON as in the bbolt file.
//
// Transactions are optimistic. Reads see one revision of the store (the
// first read fixes it); writes are buffered and committed in one etcd Txn
// that holds only if nothing the transaction read changed since: each key
// read must still have the revision it had, and each range read (a cursor,
// ForEach) must hold no key written after it. Otherwise the function runs
// again on fresh data. This gives bbolt's guarantees (a check and the write
// it allows are one step, two replicas booking one slot get one booking)
// without a lock server.

// EtcdOpts says how to reach etcd.
type EtcdOpts struct {
	Endpoints []string
	// Prefix is where Lintel's keys live (default /lintel), so that one
	// etcd cluster can hold several installations, or other things.
	Prefix string
	// TLS, when set, is used for the connection (client certificates
	// and the cluster's CA).
	TLS *tls.Config
	// Timeout bounds each request to etcd (default 5 s).
	Timeout time.Duration
	// MaxTxnOps is etcd's --max-txn-ops (default 128, etcd's default):
	// the most keys one transaction may write.
	MaxTxnOps int
}

const (
	defaultEtcdPrefix  = "/lintel"
	defaultEtcdTimeout = 5 * time.Second
	defaultMaxTxnOps   = 128
	// conflictRetries is how often a write transaction runs again when
	// other replicas wrote what it read before it gives up.
	conflictRetries = 50
	// etcdPage is how many keys a cursor reads at a time.
	etcdPage = 100
)

// ErrUnavailable: the store could not be reached (etcd down or without
// quorum). Nothing was written.
var ErrUnavailable = errors.New("store unavailable")

// OpenEtcd connects to etcd and opens (creating, or migrating to the
// current schema) the store under opts.Prefix.
func OpenEtcd(ctx context.Context, opts EtcdOpts) (*DB, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("store: etcd: no endpoints: set --etcd-endpoints")
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            opts.Endpoints,
		TLS:                  opts.TLS,
		DialTimeout:          opts.timeout(),
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: opts.timeout(),
		Logger:               zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("store: etcd %s: %w", strings.Join(opts.Endpoints, ","), err)
	}
	db, err := openEtcd(ctx, cli, opts, true)
	if err != nil {
		cli.Close()
		return nil, err
	}
	return db, nil
}

// OpenEtcdClient opens the store on an existing etcd client, which the
// caller keeps and closes after the store.
func OpenEtcdClient(ctx context.Context, cli *clientv3.Client, opts EtcdOpts) (*DB, error) {
	return openEtcd(ctx, cli, opts, false)
}

func openEtcd(ctx context.Context, cli *clientv3.Client, opts EtcdOpts, owns bool) (*DB, error) {
	prefix := strings.TrimRight(opts.Prefix, "/")
	if opts.Prefix == "" {
		prefix = defaultEtcdPrefix
	}
	e := &etcdEngine{
		cli:       cli,
		prefix:    prefix,
		timeout:   opts.timeout(),
		maxOps:    opts.MaxTxnOps,
		ownClient: owns,
		where:     fmt.Sprintf("etcd %s%s", strings.Join(cli.Endpoints(), ","), prefix),
	}
	if e.maxOps <= 0 {
		e.maxOps = defaultMaxTxnOps
	}
	// One read first: an unreachable cluster is named as such, not as a
	// failed migration.
	rctx, cancel := context.WithTimeout(ctx, e.timeout)
	_, err := cli.Get(rctx, prefix+"/#v1")
	cancel()
	if err != nil {
		return nil, fmt.Errorf("store: %s does not answer: %w: %w; check --etcd-endpoints, the TLS files and that the cluster has quorum", e.where, ErrUnavailable, err)
	}
	db := &DB{eng: e}
	if err := db.migrate(); err != nil {
		return nil, fmt.Errorf("store: schema: %w", err)
	}
	return db, nil
}

func (o EtcdOpts) timeout() time.Duration {
	if o.Timeout <= 0 {
		return defaultEtcdTimeout
	}
	return o.Timeout
}

type etcdEngine struct {
	cli       *clientv3.Client
	prefix    string
	timeout   time.Duration
	maxOps    int
	ownClient bool
	where     string
	// schema holds the markers of the buckets the schema creates (the
	// root and its children: only migrations make or drop them) once
	// seen, so that opening them costs no read; nested buckets (a
	// room's events) are read each time.
	schema gosync.Map
}

func (e *etcdEngine) name() string   { return e.where }
func (e *etcdEngine) maxWrites() int { return e.maxOps / 2 } // a pruned entry can take two keys

func (e *etcdEngine) close() error {
	if !e.ownClient {
		return nil
	}
	if err := e.cli.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", e.where, err)
	}
	return nil
}

func (e *etcdEngine) view(fn func(tx txn) error) error {
	t := e.newTx(false)
	err := fn(t)
	if t.err != nil {
		return t.err // a read failed: what fn made of it does not count
	}
	return err
}

func (e *etcdEngine) batch(fn func(tx txn) error) error { return e.update(fn) }

func (e *etcdEngine) update(fn func(tx txn) error) error {
	for attempt := 0; ; attempt++ {
		t := e.newTx(true)
		err := fn(t)
		if t.err != nil {
			if errors.Is(t.err, errRetry) && attempt < conflictRetries {
				continue
			}
			return t.err
		}
		if err != nil {
			return err
		}
		ok, err := t.commit()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if attempt >= conflictRetries {
			return fmt.Errorf("store: %s: gave up after %d writes that conflicted with other replicas' writes", e.where, attempt+1)
		}
		// Others wrote what this read: back off a little, with jitter,
		// so that a crowd of writers to one key does not retry in step.
		time.Sleep(time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 5))))
	}
}

// errRetry: the revision a transaction reads at was compacted away.
var errRetry = errors.New("store: etcd revision compacted, retry")

func (e *etcdEngine) newTx(write bool) *etcdTx {
	return &etcdTx{e: e, write: write, reads: map[string]int64{}, cache: map[string][]byte{}, writes: map[string]pending{}}
}

type pending struct {
	val []byte
	del bool
}

type keyRange struct{ from, to string }

// etcdTx is one transaction. It is used by one goroutine.
type etcdTx struct {
	e     *etcdEngine
	write bool
	rev   int64 // the revision every read sees; 0 before the first
	err   error // the first failed read
	// reads holds the revision of each key read (0: it was missing),
	// ranges the spans cursors read; a write commits only if neither
	// changed.
	reads  map[string]int64
	cache  map[string][]byte
	ranges []keyRange
	// writes are buffered until commit; dropped are bucket subtrees
	// deleted.
	writes  map[string]pending
	dropped []string
}

func (t *etcdTx) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), t.e.timeout)
}

func (t *etcdTx) fail(err error) {
	if t.err != nil {
		return
	}
	if errors.Is(err, rpctypes.ErrCompacted) || strings.Contains(err.Error(), "required revision has been compacted") {
		t.err = errRetry
		return
	}
	t.err = fmt.Errorf("store: read from %s: %w: %w", t.e.where, ErrUnavailable, err)
}

func (t *etcdTx) readOpts(extra ...clientv3.OpOption) []clientv3.OpOption {
	if t.rev > 0 {
		extra = append(extra, clientv3.WithRev(t.rev))
	}
	return extra
}

func (t *etcdTx) isDropped(key string) bool {
	for _, p := range t.dropped {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// get reads one key as the transaction sees it: its own writes first.
func (t *etcdTx) get(key string) []byte {
	if p, ok := t.writes[key]; ok {
		if p.del {
			return nil
		}
		return p.val
	}
	if t.isDropped(key) {
		return nil
	}
	if v, ok := t.cache[key]; ok {
		return v
	}
	if t.err != nil {
		return nil
	}
	ctx, cancel := t.ctx()
	resp, err := t.e.cli.Get(ctx, key, t.readOpts()...)
	cancel()
	if err != nil {
		t.fail(err)
		return nil
	}
	if t.rev == 0 {
		t.rev = resp.Header.Revision
	}
	var v []byte
	var rev int64
	if len(resp.Kvs) == 1 {
		v, rev = resp.Kvs[0].Value, resp.Kvs[0].ModRevision
		if v == nil {
			v = []byte{}
		}
	}
	t.cache[key] = v
	t.reads[key] = rev
	return v
}

func (t *etcdTx) put(key string, val []byte) error {
	if !t.write {
		return errors.New("store: write in a read transaction")
	}
	t.writes[key] = pending{val: slices.Clone(val)}
	return nil
}

func (t *etcdTx) del(key string) error {
	if !t.write {
		return errors.New("store: write in a read transaction")
	}
	t.writes[key] = pending{del: true}
	return nil
}

// kv is a key (without its bucket's prefix) and its value.
type kv struct{ k, v []byte }

// scan reads up to etcdPage keys of [from, to) at the transaction's
// revision, in ascending or descending order, and says which span of keys
// that covers: all of [from, to) when it reached the end, else up to the
// last key read.
func (t *etcdTx) scan(from, to string, desc bool) (kvs []kv, covered keyRange) {
	if t.err != nil {
		return nil, keyRange{from, from}
	}
	order := clientv3.SortAscend
	if desc {
		order = clientv3.SortDescend
	}
	ctx, cancel := t.ctx()
	resp, err := t.e.cli.Get(ctx, from, t.readOpts(clientv3.WithRange(to), clientv3.WithLimit(etcdPage), clientv3.WithSort(clientv3.SortByKey, order))...)
	cancel()
	if err != nil {
		t.fail(err)
		return nil, keyRange{from, from}
	}
	if t.rev == 0 {
		t.rev = resp.Header.Revision
	}
	covered = keyRange{from, to}
	if resp.More && len(resp.Kvs) > 0 {
		last := string(resp.Kvs[len(resp.Kvs)-1].Key)
		if desc {
			covered.from = last
		} else {
			covered.to = last + "\x00"
		}
	}
	if t.write {
		t.ranges = append(t.ranges, covered)
	}
	for _, x := range resp.Kvs {
		kvs = append(kvs, kv{x.Key, x.Value})
	}
	return kvs, covered
}

// commit writes the buffered writes if nothing read changed meanwhile.
func (t *etcdTx) commit() (bool, error) {
	var ops []clientv3.Op
	for _, p := range t.dropped {
		ops = append(ops, clientv3.OpDelete(p, clientv3.WithPrefix()))
	}
	keys := make([]string, 0, len(t.writes))
	for k := range t.writes {
		if t.isDropped(k) {
			// etcd refuses a key and a range over it in one Txn.
			return false, fmt.Errorf("store: %s: a write into a bucket deleted in the same transaction", t.e.where)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if p := t.writes[k]; p.del {
			ops = append(ops, clientv3.OpDelete(k))
		} else {
			ops = append(ops, clientv3.OpPut(k, string(p.val)))
		}
	}
	if len(ops) == 0 {
		return true, nil
	}
	if len(ops) > t.e.maxOps {
		return false, fmt.Errorf("store: %s: one write of %d keys is more than etcd allows in a transaction (--max-txn-ops %d)", t.e.where, len(ops), t.e.maxOps)
	}
	var cmps []clientv3.Cmp
	if t.rev > 0 {
		for k, rev := range t.reads {
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", rev))
		}
		for _, r := range t.ranges {
			if r.from < r.to {
				cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(r.from), "<", t.rev+1).WithRange(r.to))
			}
		}
		if len(cmps) > t.e.maxOps {
			// Too many to list: hold only if nothing of Lintel's
			// changed since the read.
			cmps = []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(t.e.prefix+"/"), "<", t.rev+1).WithPrefix()}
		}
	}
	ctx, cancel := t.ctx()
	resp, err := t.e.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
	cancel()
	if err != nil {
		return false, fmt.Errorf("store: write to %s: %w: %w; nothing was written", t.e.where, ErrUnavailable, err)
	}
	return resp.Succeeded, nil
}

// etcdTx as a txn: its buckets are the top level.

func (t *etcdTx) Bucket(name []byte) bucket { return t.top().Bucket(name) }
func (t *etcdTx) CreateBucketIfNotExists(name []byte) (bucket, error) {
	return t.top().CreateBucketIfNotExists(name)
}

func (t *etcdTx) top() *etcdBucket { return &etcdBucket{t: t, path: t.e.prefix} }

type etcdBucket struct {
	t    *etcdTx
	path string // the bucket's key prefix, without the trailing "/"
}

func (b *etcdBucket) key(k []byte) string       { return b.path + "/=" + string(k) }
func (b *etcdBucket) marker(name []byte) string { return b.path + "/#" + string(name) }
func (b *etcdBucket) child(name []byte) string  { return b.path + "/" + escapeName(name) }

func (b *etcdBucket) Get(k []byte) []byte { return b.t.get(b.key(k)) }
func (b *etcdBucket) Put(k, v []byte) error {
	if len(k) == 0 {
		return errors.New("store: empty key")
	}
	return b.t.put(b.key(k), v)
}
func (b *etcdBucket) Delete(k []byte) error { return b.t.del(b.key(k)) }

func (b *etcdBucket) Bucket(name []byte) bucket {
	m := b.marker(name)
	schema := b.schemaLevel()
	if _, pending := b.t.writes[m]; schema && !pending {
		if _, ok := b.t.e.schema.Load(m); ok {
			return &etcdBucket{t: b.t, path: b.child(name)}
		}
	}
	// After a failed read every bucket "exists": the transaction
	// returns the read's error in the end, and callers need not guard
	// against buckets that bbolt guarantees.
	if b.t.get(m) == nil {
		if b.t.err == nil {
			return nil
		}
	} else if schema {
		b.t.e.schema.Store(m, struct{}{})
	}
	return &etcdBucket{t: b.t, path: b.child(name)}
}

// schemaLevel reports whether b's children are the schema's buckets: b
// is the top or the root bucket.
func (b *etcdBucket) schemaLevel() bool {
	return b.path == b.t.e.prefix || b.path == b.t.e.prefix+"/"+escapeName(rootBucket)
}

func (b *etcdBucket) CreateBucket(name []byte) (bucket, error) {
	if b.t.get(b.marker(name)) != nil {
		return nil, fmt.Errorf("store: bucket %q already exists", name)
	}
	return b.CreateBucketIfNotExists(name)
}

func (b *etcdBucket) CreateBucketIfNotExists(name []byte) (bucket, error) {
	if b.t.get(b.marker(name)) == nil {
		if err := b.t.put(b.marker(name), []byte("b")); err != nil {
			return nil, err
		}
	}
	return &etcdBucket{t: b.t, path: b.child(name)}, nil
}

func (b *etcdBucket) DeleteBucket(name []byte) error {
	if b.t.get(b.marker(name)) == nil {
		return fmt.Errorf("store: bucket %q not found", name)
	}
	if err := b.t.del(b.marker(name)); err != nil {
		return err
	}
	b.t.e.schema.Delete(b.marker(name))
	sub := b.child(name) + "/"
	for k := range b.t.writes {
		if strings.HasPrefix(k, sub) {
			delete(b.t.writes, k)
		}
	}
	b.t.dropped = append(b.t.dropped, sub)
	return nil
}

func (b *etcdBucket) NextSequence() (uint64, error) {
	n := b.Sequence() + 1
	return n, b.SetSequence(n)
}

func (b *etcdBucket) Sequence() uint64 {
	if v := b.t.get(b.path + "/!seq"); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (b *etcdBucket) SetSequence(n uint64) error {
	return b.t.put(b.path+"/!seq", binary.BigEndian.AppendUint64(nil, n))
}

func (b *etcdBucket) ForEach(fn func(k, v []byte) error) error {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return b.t.err
}

func (b *etcdBucket) ForEachBucket(fn func(name []byte) error) error {
	c := &etcdCursor{t: b.t, lo: b.path + "/#", hi: prefixEnd(b.path + "/#")}
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if err := fn(k); err != nil {
			return err
		}
	}
	return b.t.err
}

func (b *etcdBucket) Cursor() cursor {
	lo := b.path + "/="
	return &etcdCursor{t: b.t, lo: lo, hi: prefixEnd(lo)}
}

// etcdCursor walks the keys in [lo, hi) a page at a time, merged with the
// transaction's own writes.
type etcdCursor struct {
	t      *etcdTx
	lo, hi string
	win    []kv // the page, ascending, full keys
	span   keyRange
	i      int
}

// load reads the page of [from, to) nearest to from (ascending) or to
// (descending), skipping pages that the transaction's deletes emptied.
func (c *etcdCursor) load(from, to string, desc bool) {
	for {
		got, span := c.t.scan(from, to, desc)
		win := make([]kv, 0, len(got))
		for _, x := range got {
			k := string(x.k)
			if _, ok := c.t.writes[k]; ok || c.t.isDropped(k) {
				continue
			}
			win = append(win, x)
		}
		for k, p := range c.t.writes {
			if !p.del && k >= span.from && k < span.to {
				win = append(win, kv{[]byte(k), p.val})
			}
		}
		slices.SortFunc(win, func(a, b kv) int { return strings.Compare(string(a.k), string(b.k)) })
		c.win, c.span = win, span
		if len(win) > 0 || c.t.err != nil || span.from == span.to {
			return
		}
		if desc {
			if span.from == from {
				return
			}
			to = span.from
		} else {
			if span.to == to {
				return
			}
			from = span.to
		}
	}
}

func (c *etcdCursor) at() (k, v []byte) {
	if c.i < 0 || c.i >= len(c.win) {
		return nil, nil
	}
	x := c.win[c.i]
	return x.k[len(c.lo):], x.v
}

func (c *etcdCursor) First() (k, v []byte) {
	c.load(c.lo, c.hi, false)
	c.i = 0
	return c.at()
}

func (c *etcdCursor) Last() (k, v []byte) {
	c.load(c.lo, c.hi, true)
	c.i = len(c.win) - 1
	return c.at()
}

func (c *etcdCursor) Seek(seek []byte) (k, v []byte) {
	c.load(c.lo+string(seek), c.hi, false)
	c.i = 0
	return c.at()
}

func (c *etcdCursor) Next() (k, v []byte) {
	if c.i+1 < len(c.win) {
		c.i++
		return c.at()
	}
	if c.span.to >= c.hi || c.t.err != nil {
		c.i = len(c.win)
		return nil, nil
	}
	c.load(c.span.to, c.hi, false)
	c.i = 0
	return c.at()
}

func (c *etcdCursor) Prev() (k, v []byte) {
	if c.i-1 >= 0 && c.i-1 < len(c.win) {
		c.i--
		return c.at()
	}
	if c.span.from <= c.lo || c.t.err != nil {
		c.i = -1
		return nil, nil
	}
	c.load(c.lo, c.span.from, true)
	c.i = len(c.win) - 1
	return c.at()
}

func (c *etcdCursor) Delete() error {
	if c.i < 0 || c.i >= len(c.win) {
		return errors.New("store: cursor delete off the end")
	}
	return c.t.del(string(c.win[c.i].k))
}

// prefixEnd is the first key after every key that starts with p.
func prefixEnd(p string) string { return clientv3.GetPrefixRangeEnd(p) }

// escapeName makes a bucket name safe as one step of a key path.
func escapeName(name []byte) string {
	var sb strings.Builder
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("._-@+:", c) >= 0:
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, "%%%02X", c)
		}
	}
	return sb.String()
}
