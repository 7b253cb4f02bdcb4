package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// What replicas tell each other beyond records: things held in one
// replica's memory that the others must see (a pairing code shown by a
// panel connected to it) and questions only that replica can answer
// (approve that code: the panel's connection, which receives the
// credential, is there). Keys:
//
//	<prefix>/shown/<kind>/<key>     an announcement (on the announcer's lease)
//	<prefix>/asks/<replica>/<id>    a question for replica (on the asker's lease)
//	<prefix>/answers/<id>           its answer (on the answerer's lease)
//
// Everything is on a lease: a replica that dies takes its announcements,
// questions and answers with it.

// ErrNoAnswer is returned by Ask when the replica asked did not answer in
// time (it stopped, or etcd is unreachable).
var ErrNoAnswer = errors.New("store: the replica asked did not answer")

// Shown is one replica's announcement.
type Shown struct {
	Replica string
	Key     string
	Value   []byte
}

type shownKey struct{ kind, key string }

// Show announces value under kind/key to every replica until withdraw is
// called (or this replica stops). It is kept across a lost and renewed
// lease.
func (r *Replicas) Show(kind, key string, value []byte) (withdraw func()) {
	k := shownKey{kind, key}
	r.mu.Lock()
	r.shown[k] = value
	sess := r.sess
	r.mu.Unlock()
	r.putShown(sess, k, value)
	return func() {
		r.mu.Lock()
		delete(r.shown, k)
		r.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), r.e.timeout)
		defer cancel()
		if _, err := r.e.cli.Delete(ctx, r.shownPath(k)); err != nil {
			r.log.Debug("replica: withdraw", "kind", kind, "err", err)
		}
	}
}

func (r *Replicas) shownPath(k shownKey) string {
	return r.e.prefix + "/shown/" + k.kind + "/" + k.key
}

func (r *Replicas) putShown(sess interface{ Lease() clientv3.LeaseID }, k shownKey, value []byte) {
	if sess == nil {
		return
	}
	v, _ := json.Marshal(Shown{Replica: r.id, Key: k.key, Value: value})
	ctx, cancel := context.WithTimeout(context.Background(), r.e.timeout)
	defer cancel()
	if _, err := r.e.cli.Put(ctx, r.shownPath(k), string(v), clientv3.WithLease(sess.Lease())); err != nil {
		r.log.Warn("replica: cannot announce to the other replicas", "kind", k.kind, "err", err)
	}
}

// reshow puts this replica's announcements again on a new lease.
func (r *Replicas) reshow() {
	r.mu.Lock()
	sess := r.sess
	all := make(map[shownKey][]byte, len(r.shown))
	for k, v := range r.shown {
		all[k] = v
	}
	r.mu.Unlock()
	for k, v := range all {
		r.putShown(sess, k, v)
	}
}

// Shown lists what every replica (this one included) announces of kind.
func (r *Replicas) Shown(ctx context.Context, kind string) ([]Shown, error) {
	cctx, cancel := context.WithTimeout(ctx, r.e.timeout)
	defer cancel()
	resp, err := r.e.cli.Get(cctx, r.e.prefix+"/shown/"+kind+"/", clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("store: list %s of all replicas on %s: %w: %w", kind, r.e.where, ErrUnavailable, err)
	}
	out := make([]Shown, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var s Shown
		if json.Unmarshal(kv.Value, &s) == nil {
			out = append(out, s)
		}
	}
	return out, nil
}

// watchShown calls onShown with the kind of every announcement made or
// withdrawn by any replica, until ctx ends.
func (r *Replicas) watchShown(ctx context.Context) {
	if r.onShown == nil {
		return
	}
	prefix := r.e.prefix + "/shown/"
	rev := r.joinRev + 1
	for ctx.Err() == nil {
		for wr := range r.e.cli.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly(), clientv3.WithRev(rev)) {
			rev = nextRev(wr, rev)
			for _, ev := range wr.Events {
				kind, _, _ := strings.Cut(strings.TrimPrefix(string(ev.Kv.Key), prefix), "/")
				r.onShown(kind)
			}
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
}

// question is what Ask writes for the replica asked.
type question struct {
	From string          `json:"from"`
	Kind string          `json:"kind"`
	Body json.RawMessage `json:"body"`
}

// Ask puts a question of kind to replica and returns its answer, as the
// replica's OnAsk gave it. It fails with ErrNoAnswer when none comes
// before ctx ends.
func (r *Replicas) Ask(ctx context.Context, replica, kind string, body []byte) ([]byte, error) {
	if !json.Valid(body) {
		return nil, errors.New("store: a question to a replica must be JSON")
	}
	r.mu.Lock()
	sess := r.sess
	r.mu.Unlock()
	if sess == nil {
		return nil, fmt.Errorf("store: ask replica %s: %w", replica, ErrUnavailable)
	}
	b := make([]byte, 12)
	rand.Read(b)
	id := hex.EncodeToString(b)
	answerKey := r.e.prefix + "/answers/" + id
	askKey := r.e.prefix + "/asks/" + replica + "/" + id
	q, _ := json.Marshal(question{From: r.id, Kind: kind, Body: body})

	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	put, err := r.e.cli.Put(ctx, askKey, string(q), clientv3.WithLease(sess.Lease()))
	if err != nil {
		return nil, fmt.Errorf("store: ask replica %s on %s: %w: %w", replica, r.e.where, ErrUnavailable, err)
	}
	defer func() {
		dctx, dcancel := context.WithTimeout(context.Background(), r.e.timeout)
		defer dcancel()
		r.e.cli.Delete(dctx, askKey)
		r.e.cli.Delete(dctx, answerKey)
	}()
	// From the question's revision on: an answer cannot come before it.
	for wr := range r.e.cli.Watch(wctx, answerKey, clientv3.WithRev(put.Header.Revision), clientv3.WithFilterDelete()) {
		for _, ev := range wr.Events {
			if ev.Type == mvccpb.PUT {
				return ev.Kv.Value, nil
			}
		}
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("store: replica %s, %s: %w", replica, kind, ErrNoAnswer)
	}
	return nil, fmt.Errorf("store: replica %s, %s: watch on %s ended: %w", replica, kind, r.e.where, ErrUnavailable)
}

// answer hands questions put to this replica to OnAsk and writes its
// answers, until ctx ends.
func (r *Replicas) answer(ctx context.Context) {
	if r.onAsk == nil {
		return
	}
	prefix := r.e.prefix + "/asks/" + r.id + "/"
	rev := r.joinRev + 1
	for ctx.Err() == nil {
		for wr := range r.e.cli.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix(), clientv3.WithFilterDelete(), clientv3.WithRev(rev)) {
			rev = nextRev(wr, rev)
			for _, ev := range wr.Events {
				if ev.Kv.Version != 1 {
					continue // rewritten, not new
				}
				var q question
				if json.Unmarshal(ev.Kv.Value, &q) != nil {
					continue
				}
				id := strings.TrimPrefix(string(ev.Kv.Key), prefix)
				go r.reply(ctx, id, q)
			}
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
}

func (r *Replicas) reply(ctx context.Context, id string, q question) {
	ans := r.onAsk(ctx, q.Kind, q.Body)
	r.mu.Lock()
	sess := r.sess
	r.mu.Unlock()
	if sess == nil {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, r.e.timeout)
	defer cancel()
	if _, err := r.e.cli.Put(cctx, r.e.prefix+"/answers/"+id, string(ans), clientv3.WithLease(sess.Lease())); err != nil {
		r.log.Warn("replica: cannot answer another replica", "from", q.From, "kind", q.Kind, "err", err)
	}
}

// nextRev is where a watch that was at rev resumes after wr: past what
// it saw, or (when etcd compacted what it had not seen) from now.
func nextRev(wr clientv3.WatchResponse, rev int64) int64 {
	if wr.CompactRevision != 0 {
		return 0
	}
	return max(rev, wr.Header.Revision+1)
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
