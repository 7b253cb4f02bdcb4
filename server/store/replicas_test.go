package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// eventually waits (up to a generous bound) for cond; what is checked is
// that it happens, not how fast.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// replicaStore is one replica's own connection to etcd, so that closing it
// is that replica dying.
func replicaStore(t *testing.T, prefix string) (*DB, *clientv3.Client) {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: testEtcd.Endpoints(), Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	db, err := OpenEtcdClient(context.Background(), cli, EtcdOpts{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return db, cli
}

// TestReplicasShareRooms: every room has exactly one owner among the live
// replicas, spread evenly; a replica that leaves hands its rooms over, one
// that dies loses them with its lease, one that joins takes its share.
func TestReplicasShareRooms(t *testing.T) {
	prefix := etcdPrefix(t)
	const rooms = 60
	type replica struct {
		r   *Replicas
		cli *clientv3.Client
	}
	var gained atomic.Int64
	join := func(id string) replica {
		db, cli := replicaStore(t, prefix)
		r, err := db.Join(context.Background(), ReplicaOpts{ID: id, TTL: time.Second, OnGain: func(rs []string) { gained.Add(int64(len(rs))) }})
		if err != nil {
			t.Fatal(err)
		}
		return replica{r, cli}
	}
	seed, _ := replicaStore(t, prefix)
	for i := range rooms {
		if err := seed.PutRoom(Room{ID: fmt.Sprint("room-", i), Name: "R", Calendar: fmt.Sprint("r", i), TimeZone: "UTC", Display: DisplayTitle}); err != nil {
			t.Fatal(err)
		}
	}
	reps := []replica{join("a"), join("b"), join("c")}
	t.Cleanup(func() {
		for _, x := range reps {
			x.r.cancel()
			x.cli.Close()
		}
	})
	// settled says every room is owned by the one live replica
	// rendezvous hashing picks, and how many each has.
	settled := func(live []replica) (bool, []int) {
		var ids []string
		for _, x := range live {
			ids = append(ids, x.r.ID())
		}
		counts := make([]int, len(live))
		ok := true
		for i := range rooms {
			room := fmt.Sprint("room-", i)
			for j, x := range live {
				owns := x.r.Owns(room)
				if owns {
					counts[j]++
				}
				if owns != (OwnerOf(room, ids) == x.r.ID()) {
					ok = false
				}
			}
		}
		return ok, counts
	}
	eventually(t, "3 replicas share 60 rooms", func() bool { ok, _ := settled(reps); return ok })
	_, counts := settled(reps)
	for i, n := range counts {
		if n < 10 {
			t.Errorf("replica %d owns %d of 60 rooms: not spread", i, n)
		}
	}
	// Another replica with the same name is refused.
	db, cli := replicaStore(t, prefix)
	defer cli.Close()
	if _, err := db.Join(context.Background(), ReplicaOpts{ID: "a"}); err == nil {
		t.Error("a second replica named a was let in")
	}

	// a leaves cleanly: b and c have everything.
	reps[0].r.Leave()
	eventually(t, "rooms handed over by a replica that left", func() bool { ok, _ := settled(reps[1:]); return ok })

	// b dies (its connection to etcd closes, nothing handed over): c
	// takes everything once b's lease ends.
	reps[1].r.cancel()
	reps[1].cli.Close()
	eventually(t, "rooms of a dead replica taken over", func() bool { ok, _ := settled(reps[2:]); return ok })

	// d joins and takes its share from c.
	d := join("d")
	reps = append(reps, d)
	eventually(t, "a new replica takes its share", func() bool {
		ok, c := settled([]replica{reps[2], d})
		return ok && c[1] > 15
	})
	if gained.Load() < rooms {
		t.Errorf("OnGain told of %d rooms taken, want at least %d", gained.Load(), rooms)
	}
}

// TestRoomLockAcrossReplicas: two replicas never hold one room's lock at
// once.
func TestRoomLockAcrossReplicas(t *testing.T) {
	prefix := etcdPrefix(t)
	var reps []*Replicas
	for _, id := range []string{"a", "b"} {
		db, cli := replicaStore(t, prefix)
		r, err := db.Join(context.Background(), ReplicaOpts{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, r)
		t.Cleanup(func() { r.Leave(); cli.Close() })
	}
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := reps[i%2].LockRoom(context.Background(), "room-1")
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			if n > most.Load() {
				most.Store(n)
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			unlock()
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d holders of one room's lock at once", most.Load())
	}
}

// TestWatchStates: a replica sees the states stored before it watched,
// then every state another replica writes.
func TestWatchStates(t *testing.T) {
	prefix := etcdPrefix(t)
	a, acli := replicaStore(t, prefix)
	defer acli.Close()
	b, bcli := replicaStore(t, prefix)
	defer bcli.Close()
	a.PutRoom(Room{ID: "r1", Name: "R", Calendar: "r1", TimeZone: "UTC", Display: DisplayTitle})
	a.PutState("r1", []byte(`{"v":1}`))
	var mu sync.Mutex
	var seen []string
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.WatchStates(ctx, func(room string, data []byte) {
		mu.Lock()
		seen = append(seen, room+" "+string(data))
		mu.Unlock()
	})
	eventually(t, "the stored state", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 1 })
	a.PutState("r1", []byte(`{"v":2}`))
	eventually(t, "a new state", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 2 })
	mu.Lock()
	defer mu.Unlock()
	if seen[0] != `r1 {"v":1}` || seen[1] != `r1 {"v":2}` {
		t.Errorf("watched %q", seen)
	}
}

// TestShowAndAsk: what one replica shows, every replica lists, until it is
// withdrawn or the replica dies; a question put to a replica is answered
// by that replica's OnAsk, and one put to a dead replica fails with
// ErrNoAnswer instead of hanging.
func TestShowAndAsk(t *testing.T) {
	prefix := etcdPrefix(t)
	var shownEvents atomic.Int64
	join := func(id string) (*Replicas, *clientv3.Client) {
		db, cli := replicaStore(t, prefix)
		r, err := db.Join(context.Background(), ReplicaOpts{ID: id, TTL: time.Second,
			OnShown: func(kind string) {
				if kind == "codes" {
					shownEvents.Add(1)
				}
			},
			OnAsk: func(_ context.Context, kind string, body []byte) []byte {
				return fmt.Appendf(nil, `{"by":%q,"kind":%q,"got":%s}`, id, kind, body)
			}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.cancel(); cli.Close() })
		return r, cli
	}
	a, _ := join("a")
	b, bcli := join("b")

	withdraw := a.Show("codes", "K7Q4MX2P", []byte(`{"addr":"10.0.0.7"}`))
	b.Show("codes", "AAAABBBB", []byte(`{}`))
	b.Show("other", "x", []byte(`{}`))
	got, err := b.Shown(context.Background(), "codes")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("b lists %d codes, want 2: %+v", len(got), got)
	}
	for _, s := range got {
		want := map[string]string{"K7Q4MX2P": "a", "AAAABBBB": "b"}[s.Key]
		if s.Replica != want {
			t.Errorf("code %s shown by %q, want %q", s.Key, s.Replica, want)
		}
	}
	eventually(t, "both replicas told of the announcements", func() bool { return shownEvents.Load() >= 4 })

	ans, err := b.Ask(context.Background(), "a", "approve", []byte(`{"code":"K7Q4MX2P"}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"by":"a","kind":"approve","got":{"code":"K7Q4MX2P"}}`; string(ans) != want {
		t.Errorf("answer %s, want %s", ans, want)
	}
	if _, err := b.Ask(context.Background(), "a", "approve", []byte(`not json`)); err == nil {
		t.Error("a question that is not JSON was sent")
	}

	withdraw()
	if got, _ := a.Shown(context.Background(), "codes"); len(got) != 1 || got[0].Key != "AAAABBBB" {
		t.Errorf("after withdrawing: %+v", got)
	}

	// b dies: its announcements go with its lease, questions to it
	// find nobody.
	b.cancel()
	<-b.done
	bcli.Close()
	eventually(t, "b's announcements gone with its lease", func() bool {
		got, err := a.Shown(context.Background(), "codes")
		return err == nil && len(got) == 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := a.Ask(ctx, "b", "approve", []byte(`{}`)); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("asking a dead replica: %v, want ErrNoAnswer", err)
	}
}
