package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Replicas is what several lintel-server replicas on one etcd share beyond
// records: which replica owns (reads the calendar of) which room, and
// per-room locks for bookings. Keys, beside the bucket tree:
//
//	<prefix>/replicas/<id>  a live replica (on its lease)
//	<prefix>/owners/<room>  the replica that owns the room (on its lease)
//	<prefix>/locks/<room>/  a room's booking lock (etcd's concurrency.Mutex)
//
// Each room goes to the live replica that rendezvous hashing picks (the
// highest hash of replica and room), so rooms spread evenly and only a
// share of 1/n moves when a replica comes or goes. A replica takes a room
// only when the room's owner key is free, so two never read one room at
// once; it lets go of rooms another replica should have at once, and a
// dead replica's keys go with its lease (ReplicaTTL).
type Replicas struct {
	db   *DB
	e    *etcdEngine
	id   string
	ttl  time.Duration
	log  *slog.Logger
	sess *concurrency.Session

	mu      sync.Mutex
	members []string
	owned   map[string]bool
	onGain  func(rooms []string)
	onFwd   func(room string)
	onShown func(kind string)
	onAsk   func(ctx context.Context, kind string, body []byte) []byte
	shown   map[shownKey][]byte // this replica's announcements (Show)
	joinRev int64               // etcd's revision when this replica joined
	kick    chan struct{}
	// local serializes one replica's own lockers of a room: etcd's mutex
	// is one key per lease, so it cannot tell two of them apart.
	local map[string]*sync.Mutex

	cancel context.CancelFunc
	done   chan struct{}
}

// ReplicaTTL is how long a replica that stopped answering keeps its rooms.
const ReplicaTTL = 5 * time.Second

// ReplicaOpts configure Join.
type ReplicaOpts struct {
	ID     string        // unique among replicas (the host name)
	TTL    time.Duration // default ReplicaTTL
	Logger *slog.Logger
	// OnGain is told the rooms this replica took, to read them at once.
	OnGain func(rooms []string)
	// OnForward is told of a re-read another replica asked for (Forward)
	// of a room this replica owns.
	OnForward func(room string)
	// OnShown is told the kind of each announcement (Show) made or
	// withdrawn by any replica.
	OnShown func(kind string)
	// OnAsk answers the questions other replicas put to this one (Ask)
	// with JSON.
	OnAsk func(ctx context.Context, kind string, body []byte) []byte
}

// Join makes this process a replica of the store (which must be on etcd)
// and keeps taking its share of rooms until ctx ends or Leave.
func (db *DB) Join(ctx context.Context, opts ReplicaOpts) (*Replicas, error) {
	e, ok := db.eng.(*etcdEngine)
	if !ok {
		return nil, errors.New("store: replicas need the store on etcd (--store etcd)")
	}
	if opts.ID == "" || strings.ContainsAny(opts.ID, "/ ") {
		return nil, fmt.Errorf("store: replica id %q: set --replica-id to a name without spaces or slashes", opts.ID)
	}
	if opts.TTL <= 0 {
		opts.TTL = ReplicaTTL
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Replicas{db: db, e: e, id: opts.ID, ttl: opts.TTL, log: opts.Logger, owned: map[string]bool{},
		onGain: opts.OnGain, onFwd: opts.OnForward, onShown: opts.OnShown, onAsk: opts.OnAsk, shown: map[shownKey][]byte{}, kick: make(chan struct{}, 1), done: make(chan struct{}), local: map[string]*sync.Mutex{}}
	if err := r.register(ctx); err != nil {
		return nil, err
	}
	ctx, r.cancel = context.WithCancel(ctx)
	go r.run(ctx)
	go r.forwarded(ctx)
	go r.watchShown(ctx)
	go r.answer(ctx)
	return r, nil
}

// Forward asks the owner of room, whichever replica it is, to read its
// calendar again (a Graph notification or a booking reached this one).
func (r *Replicas) Forward(room string) {
	ctx, cancel := context.WithTimeout(context.Background(), r.e.timeout)
	defer cancel()
	if _, err := r.e.cli.Put(ctx, r.e.prefix+"/pokes/"+room, r.id); err != nil {
		r.log.Warn("replica: cannot pass a re-read on to the room's owner; its next poll reads it", "room", room, "err", err)
	}
}

// forwarded hands re-reads asked for by other replicas to OnForward.
func (r *Replicas) forwarded(ctx context.Context) {
	prefix := r.e.prefix + "/pokes/"
	for ctx.Err() == nil {
		for wr := range r.e.cli.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix(), clientv3.WithFilterDelete()) {
			for _, ev := range wr.Events {
				room := strings.TrimPrefix(string(ev.Kv.Key), prefix)
				if r.onFwd != nil && r.Owns(room) {
					r.onFwd(room)
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// register takes a new lease and announces this replica on it.
func (r *Replicas) register(ctx context.Context) error {
	sess, err := concurrency.NewSession(r.e.cli, concurrency.WithTTL(int((r.ttl+time.Second-1)/time.Second)), concurrency.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("store: replica %s: lease on %s: %w: %w", r.id, r.e.where, ErrUnavailable, err)
	}
	key := r.e.prefix + "/replicas/" + r.id
	cctx, cancel := context.WithTimeout(ctx, r.e.timeout)
	defer cancel()
	resp, err := r.e.cli.Txn(cctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, time.Now().UTC().Format(time.RFC3339), clientv3.WithLease(sess.Lease()))).Commit()
	if err != nil {
		sess.Close()
		return fmt.Errorf("store: replica %s: register on %s: %w: %w", r.id, r.e.where, ErrUnavailable, err)
	}
	if !resp.Succeeded {
		sess.Close()
		return fmt.Errorf("store: another replica is running as %q (or stopped less than %s ago): give each replica its own --replica-id", r.id, r.ttl)
	}
	r.mu.Lock()
	r.sess = sess
	if r.joinRev == 0 {
		r.joinRev = resp.Header.Revision
	}
	r.mu.Unlock()
	r.reshow()
	return nil
}

// ID is this replica's name.
func (r *Replicas) ID() string { return r.id }

// Owns reports whether this replica reads room's calendar now.
func (r *Replicas) Owns(room string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.owned[room]
}

// Owned lists the rooms this replica owns.
func (r *Replicas) Owned() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.owned))
	for room := range r.owned {
		out = append(out, room)
	}
	slices.Sort(out)
	return out
}

// Members lists the live replicas.
func (r *Replicas) Members() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.members)
}

// Rebalance asks for ownership to be looked at now (after rooms were
// added or removed).
func (r *Replicas) Rebalance() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Leave hands this replica's rooms over at once (a clean shutdown) and
// stops.
func (r *Replicas) Leave() {
	r.cancel()
	<-r.done
	r.mu.Lock()
	sess := r.sess
	r.owned = map[string]bool{}
	r.mu.Unlock()
	if sess != nil {
		// Revoking the lease deletes this replica's keys: the others
		// take its rooms within a watch round trip, not the TTL.
		ctx, cancel := context.WithTimeout(context.Background(), r.e.timeout)
		defer cancel()
		if _, err := r.e.cli.Revoke(ctx, sess.Lease()); err != nil {
			r.log.Warn("replica: could not hand rooms over; others take them when the lease ends", "ttl", r.ttl, "err", err)
		}
		sess.Close()
	}
}

func (r *Replicas) run(ctx context.Context) {
	defer close(r.done)
	for ctx.Err() == nil {
		r.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		// The lease was lost (etcd unreachable longer than the TTL):
		// every room is gone; join again when etcd answers.
		r.mu.Lock()
		lost := len(r.owned)
		r.owned = map[string]bool{}
		r.mu.Unlock()
		r.log.Warn("replica: lease lost; rooms handed over until etcd answers again", "rooms", lost)
		for ctx.Err() == nil {
			if err := r.register(ctx); err == nil {
				break
			} else {
				r.log.Warn("replica: cannot rejoin", "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// follow watches replicas and owners and rebalances on every change (and
// every few seconds, to catch a room added or a missed event) until the
// lease ends.
func (r *Replicas) follow(ctx context.Context) {
	r.mu.Lock()
	sess := r.sess
	r.mu.Unlock()
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	replicasW := r.e.cli.Watch(wctx, r.e.prefix+"/replicas/", clientv3.WithPrefix())
	ownersW := r.e.cli.Watch(wctx, r.e.prefix+"/owners/", clientv3.WithPrefix(), clientv3.WithFilterPut())
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		r.rebalance(ctx, sess)
		select {
		case <-ctx.Done():
			return
		case <-sess.Done():
			return
		case <-replicasW:
		case <-ownersW:
		case <-r.kick:
		case <-tick.C:
		}
	}
}

// rebalance takes the free rooms this replica should own and lets go of
// those another live replica should.
func (r *Replicas) rebalance(ctx context.Context, sess *concurrency.Session) {
	cctx, cancel := context.WithTimeout(ctx, r.e.timeout)
	defer cancel()
	resp, err := r.e.cli.Get(cctx, r.e.prefix+"/replicas/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		r.log.Debug("replica: list replicas", "err", err)
		return
	}
	var members []string
	for _, kv := range resp.Kvs {
		members = append(members, strings.TrimPrefix(string(kv.Key), r.e.prefix+"/replicas/"))
	}
	rooms, err := r.db.Rooms()
	if err != nil {
		r.log.Debug("replica: list rooms", "err", err)
		return
	}
	owners, err := r.e.cli.Get(cctx, r.e.prefix+"/owners/", clientv3.WithPrefix())
	if err != nil {
		return
	}
	held := map[string]string{}
	for _, kv := range owners.Kvs {
		held[strings.TrimPrefix(string(kv.Key), r.e.prefix+"/owners/")] = string(kv.Value)
	}
	var gained []string
	owned := map[string]bool{}
	for _, room := range rooms {
		want := OwnerOf(room.ID, members) == r.id
		key := r.e.prefix + "/owners/" + room.ID
		switch holder := held[room.ID]; {
		case holder == r.id && want:
			owned[room.ID] = true
		case holder == r.id && !want:
			// Another replica should have it: let go at once.
			r.e.cli.Txn(cctx).If(clientv3.Compare(clientv3.Value(key), "=", r.id)).Then(clientv3.OpDelete(key)).Commit()
		case holder == "" && want:
			tr, err := r.e.cli.Txn(cctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
				Then(clientv3.OpPut(key, r.id, clientv3.WithLease(sess.Lease()))).Commit()
			if err == nil && tr.Succeeded {
				owned[room.ID] = true
				gained = append(gained, room.ID)
			}
		}
	}
	// Owner keys of rooms that no longer exist.
	for room, holder := range held {
		if holder == r.id && !slices.ContainsFunc(rooms, func(x Room) bool { return x.ID == room }) {
			r.e.cli.Delete(cctx, r.e.prefix+"/owners/"+room)
		}
	}
	r.mu.Lock()
	r.members, r.owned = members, owned
	r.mu.Unlock()
	if len(gained) > 0 {
		r.log.Info("replica: took rooms", "rooms", len(gained), "owned", len(owned), "replicas", len(members))
		if r.onGain != nil {
			r.onGain(gained)
		}
	}
}

// OwnerOf is the replica rendezvous hashing gives room to ("" when there
// are none).
func OwnerOf(room string, replicas []string) string {
	best, bestHash := "", uint64(0)
	for _, m := range replicas {
		h := fnv.New64a()
		h.Write([]byte(m))
		h.Write([]byte{0})
		h.Write([]byte(room))
		// fnv's last bytes mix weakly: finish with a 64-bit mixer
		// (splitmix64) so that shares are even.
		x := h.Sum64()
		x ^= x >> 30
		x *= 0xbf58476d1ce4e5b9
		x ^= x >> 27
		x *= 0x94d049bb133111eb
		x ^= x >> 31
		if best == "" || x > bestHash || (x == bestHash && m < best) {
			best, bestHash = m, x
		}
	}
	return best
}

// LockRoom takes room's booking lock across replicas; unlock releases it.
// A replica that dies holding it loses it with its lease.
func (r *Replicas) LockRoom(ctx context.Context, room string) (unlock func(), err error) {
	r.mu.Lock()
	sess := r.sess
	local := r.local[room]
	if local == nil {
		local = &sync.Mutex{}
		r.local[room] = local
	}
	r.mu.Unlock()
	local.Lock()
	m := concurrency.NewMutex(sess, r.e.prefix+"/locks/"+room)
	if err := m.Lock(ctx); err != nil {
		local.Unlock()
		return nil, fmt.Errorf("store: lock room %q on %s: %w: %w", room, r.e.where, ErrUnavailable, err)
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.Background(), r.e.timeout)
		defer cancel()
		m.Unlock(uctx)
		local.Unlock()
	}, nil
}

// WatchStates calls fn with every room state written from now on, by any
// replica, in the order written (data is nil when the state was removed).
// It first calls fn with every state stored, then follows changes until
// ctx ends, starting over after a gap (etcd compacted what it missed).
func (db *DB) WatchStates(ctx context.Context, fn func(room string, data []byte)) error {
	return db.watchBucket(ctx, statesBucket, true, fn)
}

// WatchSettings calls fn with each setting written from now on (not those
// stored before), by any replica, until ctx ends.
func (db *DB) WatchSettings(ctx context.Context, fn func(key string, data []byte)) error {
	return db.watchBucket(ctx, settingsBucket, false, fn)
}

// WatchDevices calls fn with each device record as it changes (data nil
// when the device was deleted), as WatchStates does.
func (db *DB) WatchDevices(ctx context.Context, fn func(id string, data []byte)) error {
	return db.watchBucket(ctx, devicesBucket, true, fn)
}

// watchBucket follows the records of a bucket; with initial, fn is first
// called with every record stored.
func (db *DB) watchBucket(ctx context.Context, name []byte, initial bool, fn func(key string, data []byte)) error {
	e, ok := db.eng.(*etcdEngine)
	if !ok {
		return errors.New("store: watching needs the store on etcd")
	}
	prefix := e.prefix + "/" + escapeName(rootBucket) + "/" + escapeName(name) + "/="
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, e.timeout)
		resp, err := e.cli.Get(cctx, prefix, clientv3.WithPrefix())
		cancel()
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for _, kv := range resp.Kvs {
			if initial {
				fn(strings.TrimPrefix(string(kv.Key), prefix), kv.Value)
			}
		}
		initial = true // after a gap, what changed meanwhile
		wch := e.cli.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
		for wr := range wch {
			if wr.Err() != nil {
				break
			}
			for _, ev := range wr.Events {
				key := strings.TrimPrefix(string(ev.Kv.Key), prefix)
				if ev.Type == mvccpb.DELETE {
					fn(key, nil)
				} else {
					fn(key, ev.Kv.Value)
				}
			}
		}
	}
	return ctx.Err()
}
