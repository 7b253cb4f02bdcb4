package sync

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/calendar"
)

// fakeSubscriber is a calendar.Subscriber that remembers what it was asked.
type fakeSubscriber struct {
	mu      gosync.Mutex
	next    int
	live    map[string]time.Time // id -> expiry
	created int
	renewed int
	deny    map[string]bool
	states  map[string]string // room -> the clientState it was created with
}

func (f *fakeSubscriber) MaxSubscriptionLifetime() time.Duration { return 4230 * time.Minute }

func (f *fakeSubscriber) Subscribe(_ context.Context, reqs []calendar.SubscribeRequest) map[string]calendar.Subscription {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]calendar.Subscription{}
	for _, r := range reqs {
		if f.deny[r.Room] {
			out[r.Room] = calendar.Subscription{Room: r.Room, Err: &calendar.Error{Kind: calendar.ErrDenied, Room: r.Room, Msg: "outside the access policy", Fix: "add it to the group"}}
			continue
		}
		f.next++
		id := fmt.Sprintf("sub-%d", f.next)
		if f.states != nil {
			f.states[r.Room] = r.ClientState
		}
		f.live[id] = r.Expires
		f.created++
		out[r.Room] = calendar.Subscription{Room: r.Room, ID: id, Expires: r.Expires}
	}
	return out
}

func (f *fakeSubscriber) Renew(_ context.Context, ids []string, exp time.Time) map[string]calendar.Subscription {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]calendar.Subscription{}
	for _, id := range ids {
		f.renewed++
		f.live[id] = exp
		out[id] = calendar.Subscription{ID: id, Expires: exp}
	}
	return out
}

func (f *fakeSubscriber) Unsubscribe(_ context.Context, ids []string) map[string]error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		delete(f.live, id)
	}
	return nil
}

// Subscriptions survive a restart (none created twice), are renewed in
// the second half of their life at times spread by id, and a room whose
// subscription is denied says why and is polled.
func TestSubscriptionsLifecycle(t *testing.T) {
	f := newFixture(t)
	fake := &fakeSubscriber{live: map[string]time.Time{}, deny: map[string]bool{"res": true}}
	now := f.now
	opts := SubscriptionOpts{Subscriber: func() calendar.Subscriber { return fake }, Store: f.db, Syncer: f.s,
		PublicURL: "https://lintel.example.com/", Now: func() time.Time { return now }}
	m, err := NewSubscriptions(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m.Reconcile(ctx)
	if fake.created != 2 || !m.Subscribed("title") || !m.Subscribed("org") || m.Subscribed("res") {
		t.Fatalf("created %d; subscribed title %v org %v res %v", fake.created, m.Subscribed("title"), m.Subscribed("org"), m.Subscribed("res"))
	}
	for _, st := range m.Status() {
		if st.Room == "res" && (st.State != "failing" || st.Fix == "") {
			t.Errorf("denied room's status %+v", st)
		}
	}

	// A restart re-uses them.
	m2, err := NewSubscriptions(opts)
	if err != nil {
		t.Fatal(err)
	}
	m2.Reconcile(ctx)
	if fake.created != 2 || !m2.Subscribed("title") {
		t.Errorf("after a restart: %d created in all, want 2", fake.created)
	}

	// Halfway through their life nothing is renewed yet; by three
	// quarters all are.
	life := fake.MaxSubscriptionLifetime() - time.Minute
	now = f.now.Add(life / 2).Add(-time.Minute)
	m2.Reconcile(ctx)
	if fake.renewed != 0 {
		t.Errorf("%d renewed at half life", fake.renewed)
	}
	now = f.now.Add(life * 3 / 4)
	m2.Reconcile(ctx)
	if fake.renewed != 2 {
		t.Errorf("%d renewed at three quarters of their life, want 2", fake.renewed)
	}
	if !m2.Subscribed("title") {
		t.Error("renewed subscription not live")
	}

	// A changed public URL replaces them.
	opts.PublicURL = "https://other.example.com"
	m3, _ := NewSubscriptions(opts)
	m3.Reconcile(ctx)
	if fake.created != 4 || len(fake.live) != 2 {
		t.Errorf("after a URL change: %d created, %d live; want 4 and 2", fake.created, len(fake.live))
	}
}

// Lifecycle events act only with the right clientState: missed re-reads
// the room, reauthorizationRequired renews at once, subscriptionRemoved
// creates the subscription again.
func TestLifecycleEvents(t *testing.T) {
	f := newFixture(t)
	fake := &fakeSubscriber{live: map[string]time.Time{}, states: map[string]string{}}
	m, err := NewSubscriptions(SubscriptionOpts{Subscriber: func() calendar.Subscriber { return fake }, Store: f.db, Syncer: f.s,
		PublicURL: "https://lintel.example.com", Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m.Reconcile(ctx)
	id := func(room string) string {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.byRoom[room]
	}
	post := func(room, state, event string) int {
		body := fmt.Sprintf(`{"value":[{"subscriptionId":%q,"clientState":%q,"lifecycleEvent":%q}]}`, id(room), state, event)
		w := httptest.NewRecorder()
		m.ServeLifecycle(w, httptest.NewRequest(http.MethodPost, LifecyclePath, strings.NewReader(body)))
		return w.Code
	}
	dirty := func(room string) bool {
		f.s.notifyMu.Lock()
		defer f.s.notifyMu.Unlock()
		_, ok := f.s.dirty[room]
		return ok
	}

	if code := post("title", "wrong", "missed"); code != http.StatusForbidden || dirty("title") {
		t.Errorf("wrong clientState: %d, dirty %v; want 403 and nothing done", code, dirty("title"))
	}
	if code := post("title", fake.states["title"], "missed"); code != http.StatusAccepted || !dirty("title") {
		t.Errorf("missed: %d, dirty %v; want 202 and a re-read", code, dirty("title"))
	}
	if code := post("org", fake.states["org"], "reauthorizationRequired"); code != http.StatusAccepted {
		t.Fatalf("reauthorizationRequired: %d", code)
	}
	m.Reconcile(ctx)
	if fake.renewed != 1 {
		t.Errorf("%d renewed after reauthorizationRequired, want 1", fake.renewed)
	}
	old := id("res")
	if code := post("res", fake.states["res"], "subscriptionRemoved"); code != http.StatusAccepted {
		t.Fatalf("subscriptionRemoved: %d", code)
	}
	m.Reconcile(ctx)
	if now := id("res"); now == "" || now == old {
		t.Errorf("subscription after subscriptionRemoved: %q (was %q), want a new one", now, old)
	}
	if received, rejected := m.Counts(); received != 3 || rejected != 1 {
		t.Errorf("counts %d received, %d rejected; want 3 and 1", received, rejected)
	}
}
