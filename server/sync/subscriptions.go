package sync

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/store"
)

// Paths of the change-notification endpoints under the public URL.
const (
	NotificationsPath = "/graph/notifications"
	LifecyclePath     = "/graph/lifecycle"
)

// MaxNotificationBody bounds a notification request's body. Graph sends
// at most a few hundred notifications per request, each well under 1 KiB.
const MaxNotificationBody = 1 << 20

// SubscriptionStore keeps one subscription per room mailbox (its id,
// expiry and the hash of its clientState) so a restart renews instead of
// creating duplicates; rooms are listed to reconcile them. *store.DB is
// one.
type SubscriptionStore interface {
	Rooms() ([]store.Room, error)
	Subscriptions() (map[string]store.Subscription, error)
	PutSubscription(s store.Subscription) error
	DeleteSubscription(room string) error
}

// SubscriptionOpts configures a Subscriptions manager.
type SubscriptionOpts struct {
	// Subscriber returns the calendar's subscriber, or nil while the
	// calendar cannot notify (the built-in one); required.
	Subscriber func() calendar.Subscriber
	Store      SubscriptionStore // required
	Syncer     *Syncer           // required: notified rooms are re-read by it
	// PublicURL is the server's base URL as Graph reaches it, e.g.
	// https://lintel.example.com; "" switches notifications off.
	PublicURL string
	Logger    *slog.Logger
	Now       func() time.Time
	// Every is how often subscriptions are reconciled with the rooms
	// (created, renewed, deleted). Default 1 min.
	Every time.Duration
	// RetryFailed is how long a room whose subscription failed waits
	// before the next attempt. Default 10 min.
	RetryFailed time.Duration
}

// Subscriptions keeps one change-notification subscription per room
// mailbox: it creates them (each with its own random clientState, kept
// only as a hash), renews them well before they expire (at a random point
// of the second half of their life, so renewals spread out), deletes
// those of removed rooms, and serves the notification and lifecycle
// endpoints, which turn a valid notification into a re-read of its room.
type Subscriptions struct {
	opts SubscriptionOpts
	log  *slog.Logger

	reconciling gosync.Mutex // one Reconcile at a time

	mu        gosync.Mutex
	publicURL string
	byID      map[string]store.Subscription // live subscriptions by Graph id
	byRoom    map[string]string             // room id -> subscription id
	failed    map[string]failure            // room id -> why it has none
	wake      chan struct{}

	received, rejected atomic.Int64
}

type failure struct {
	err   error
	retry time.Time
}

// NewSubscriptions returns a manager. It loads the stored subscriptions,
// so that a restart re-uses the live ones.
func NewSubscriptions(opts SubscriptionOpts) (*Subscriptions, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Every <= 0 {
		opts.Every = time.Minute
	}
	if opts.RetryFailed <= 0 {
		opts.RetryFailed = 10 * time.Minute
	}
	m := &Subscriptions{opts: opts, log: opts.Logger, publicURL: strings.TrimSuffix(opts.PublicURL, "/"), byID: map[string]store.Subscription{},
		byRoom: map[string]string{}, failed: map[string]failure{}, wake: make(chan struct{}, 1)}
	stored, err := opts.Store.Subscriptions()
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	for room, s := range stored {
		m.byID[s.ID] = s
		m.byRoom[room] = s.ID
	}
	return m, nil
}

// Enabled says whether notifications are configured (a public URL).
func (m *Subscriptions) Enabled() bool { return m.url() != "" }

// PublicURL is the base URL subscriptions send notifications under.
func (m *Subscriptions) PublicURL() string { return m.url() }

func (m *Subscriptions) url() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.publicURL
}

// SetPublicURL changes the public URL ("" switches notifications off):
// the next Reconcile replaces (or deletes) the subscriptions.
func (m *Subscriptions) SetPublicURL(u string) {
	m.mu.Lock()
	m.publicURL = strings.TrimSuffix(u, "/")
	m.mu.Unlock()
	m.poke()
}

// Subscribed tells whether a room has a live subscription: the syncer
// then reads it on the safety schedule only.
func (m *Subscriptions) Subscribed(roomID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.publicURL == "" {
		return false
	}
	id, ok := m.byRoom[roomID]
	return ok && m.opts.Now().Before(m.byID[id].Expires)
}

// Counts returns how many notifications were received and rejected.
func (m *Subscriptions) Counts() (received, rejected int64) {
	return m.received.Load(), m.rejected.Load()
}

// SubscriptionStatus is one room's change-notification state, for
// doctor, Test all and metrics.
type SubscriptionStatus struct {
	Room    string    `json:"room"`
	State   string    `json:"state"` // "active", "expiring", "failing", "none"
	Expires time.Time `json:"expires,omitzero"`
	Detail  string    `json:"detail,omitempty"`
	Fix     string    `json:"fix,omitempty"`
}

// Status lists every room's subscription state, sorted by room.
func (m *Subscriptions) Status() []SubscriptionStatus {
	rooms, err := m.opts.Store.Rooms()
	if err != nil {
		return nil
	}
	now := m.opts.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]SubscriptionStatus, 0, len(rooms))
	for _, r := range rooms {
		st := SubscriptionStatus{Room: r.ID, State: "none"}
		if id, ok := m.byRoom[r.ID]; ok {
			sub := m.byID[id]
			st.Expires = sub.Expires
			switch {
			case !now.Before(sub.Expires):
				st.State = "expiring"
				st.Detail = "the subscription expired; it is created again"
			case sub.Expires.Sub(now) < time.Hour:
				st.State = "expiring"
				st.Detail = "the subscription expires within the hour and was not renewed"
			default:
				st.State = "active"
			}
		}
		if f, ok := m.failed[r.ID]; ok {
			d := calendar.Diagnose(r.Calendar, f.err)
			st.State, st.Detail, st.Fix = "failing", d.Detail, d.Fix
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Room < out[j].Room })
	return out
}

// Run reconciles now and every Every until ctx ends.
func (m *Subscriptions) Run(ctx context.Context) {
	t := time.NewTicker(m.opts.Every)
	defer t.Stop()
	for {
		m.Reconcile(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.wake:
		}
	}
}

func (m *Subscriptions) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Reconcile brings the subscriptions in line with the rooms: it deletes
// those of removed rooms (or of a changed mailbox or public URL), renews
// those in the second half of their life (or failing renewal, creates them
// again) and creates the missing ones.
func (m *Subscriptions) Reconcile(ctx context.Context) {
	sub := m.opts.Subscriber()
	if sub == nil {
		return
	}
	m.reconciling.Lock()
	defer m.reconciling.Unlock()
	public := m.url()
	rooms, err := m.opts.Store.Rooms()
	if err != nil {
		m.log.Error("cannot list rooms for subscriptions", "err", err)
		return
	}
	now := m.opts.Now()
	notifyURL := public + NotificationsPath
	lifetime := sub.MaxSubscriptionLifetime() - time.Minute

	byRoom := map[string]store.Room{}
	for _, r := range rooms {
		byRoom[r.ID] = r
	}
	var drop []store.Subscription
	var renew []string
	m.mu.Lock()
	for id, s := range m.byID {
		r, ok := byRoom[s.Room]
		switch {
		case !ok || r.Calendar != s.Calendar || s.URL != notifyURL || public == "":
			drop = append(drop, s)
		case !now.Before(s.Expires):
			drop = append(drop, s) // gone in Graph: forget, create anew
		case s.Expires.Sub(now) < renewAt(s, lifetime):
			renew = append(renew, id)
		}
	}
	m.mu.Unlock()

	if len(drop) > 0 {
		ids := make([]string, len(drop))
		for i, s := range drop {
			ids[i] = s.ID
		}
		sub.Unsubscribe(ctx, ids)
		for _, s := range drop {
			m.forget(s)
		}
	}
	if len(renew) > 0 {
		expires := now.Add(lifetime)
		for id, res := range sub.Renew(ctx, renew, expires) {
			m.mu.Lock()
			s, ok := m.byID[id]
			m.mu.Unlock()
			if !ok {
				continue
			}
			if res.Err != nil {
				m.log.Warn("cannot renew a subscription; creating it again", "room", s.Room, "err", res.Err)
				m.forget(s)
				continue
			}
			s.Expires = res.Expires
			m.keep(s)
		}
	}

	if public == "" {
		return
	}
	var reqs []calendar.SubscribeRequest
	secrets := map[string]string{}
	want := map[string][]store.Room{} // by calendar address
	m.mu.Lock()
	for _, r := range rooms {
		if _, ok := m.byRoom[r.ID]; ok {
			continue
		}
		if f, ok := m.failed[r.ID]; ok && now.Before(f.retry) {
			continue
		}
		if _, ok := want[r.Calendar]; !ok {
			state := randomState()
			secrets[r.Calendar] = state
			reqs = append(reqs, calendar.SubscribeRequest{
				Room: r.Calendar, NotificationURL: notifyURL, LifecycleURL: public + LifecyclePath,
				ClientState: state, Expires: now.Add(lifetime),
			})
		}
		want[r.Calendar] = append(want[r.Calendar], r)
	}
	m.mu.Unlock()
	if len(reqs) == 0 {
		return
	}
	got := sub.Subscribe(ctx, reqs)
	created, failed := 0, 0
	for addr, rs := range want {
		res := got[addr]
		for i, r := range rs {
			if res.Err != nil || res.ID == "" || i > 0 {
				err := res.Err
				if err == nil && i > 0 {
					err = fmt.Errorf("sync: room %s shares its mailbox with room %s, which has the subscription", r.ID, rs[0].ID)
				} else if err == nil {
					err = errors.New("sync: the calendar answered without a subscription id")
				}
				m.mu.Lock()
				m.failed[r.ID] = failure{err: err, retry: now.Add(m.opts.RetryFailed)}
				m.mu.Unlock()
				if i == 0 {
					failed++
				}
				continue
			}
			m.keep(store.Subscription{Room: r.ID, Calendar: r.Calendar, ID: res.ID, Expires: res.Expires,
				ClientStateHash: hashState(secrets[addr]), URL: notifyURL})
			created++
		}
	}
	if failed > 0 {
		m.log.Warn("some rooms have no change notifications and are polled", "failed", failed, "created", created)
	} else {
		m.log.Info("change-notification subscriptions created", "created", created)
	}
}

// renewAt is how long before its expiry a subscription is renewed: at a
// point of the second half of its life fixed by its id, so that
// subscriptions created together are renewed at different times.
func renewAt(s store.Subscription, lifetime time.Duration) time.Duration {
	h := sha256.Sum256([]byte(s.ID))
	frac := float64(h[0]) / 256 // [0, 1)
	return lifetime/4 + time.Duration(frac*float64(lifetime/4))
}

func (m *Subscriptions) keep(s store.Subscription) {
	if err := m.opts.Store.PutSubscription(s); err != nil {
		m.log.Error("cannot store a subscription; it will be created again after a restart", "room", s.Room, "err", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.byRoom[s.Room]; ok && old != s.ID {
		delete(m.byID, old)
	}
	m.byID[s.ID] = s
	m.byRoom[s.Room] = s.ID
	delete(m.failed, s.Room)
}

func (m *Subscriptions) forget(s store.Subscription) {
	m.mu.Lock()
	delete(m.byID, s.ID)
	if m.byRoom[s.Room] == s.ID {
		delete(m.byRoom, s.Room)
	}
	m.mu.Unlock()
	if err := m.opts.Store.DeleteSubscription(s.Room); err != nil {
		m.log.Error("cannot delete a stored subscription", "room", s.Room, "err", err)
	}
}

func randomState() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("sync: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b)
}

func hashState(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// notification is one item of a notification or lifecycle request.
type notification struct {
	SubscriptionID string `json:"subscriptionId"`
	ClientState    string `json:"clientState"`
	ChangeType     string `json:"changeType"`
	LifecycleEvent string `json:"lifecycleEvent"`
}

// check returns the subscription a notification is for when its
// clientState is right.
func (m *Subscriptions) check(n notification) (store.Subscription, bool) {
	m.mu.Lock()
	s, ok := m.byID[n.SubscriptionID]
	m.mu.Unlock()
	if !ok || n.ClientState == "" {
		return s, false
	}
	return s, hmac.Equal([]byte(hashState(n.ClientState)), []byte(s.ClientStateHash))
}

// ServeNotifications is {public URL}/graph/notifications: it answers
// Graph's validation handshake, and for each notification whose
// clientState is right, asks the syncer to re-read the room. It answers
// 202 at once (the re-read runs in the background), or 403 when no
// notification in the request was valid. It serves nothing else.
func (m *Subscriptions) ServeNotifications(w http.ResponseWriter, r *http.Request) {
	m.serve(w, r, func(s store.Subscription, n notification) {
		m.opts.Syncer.Notify(s.Room)
	})
}

// ServeLifecycle is {public URL}/graph/lifecycle: "missed" re-reads the
// room (several at once: every room), "reauthorizationRequired" renews
// the subscription and "subscriptionRemoved" creates it again.
func (m *Subscriptions) ServeLifecycle(w http.ResponseWriter, r *http.Request) {
	missed := 0
	m.serve(w, r, func(s store.Subscription, n notification) {
		switch n.LifecycleEvent {
		case "missed":
			missed++
			m.opts.Syncer.Notify(s.Room)
			if missed > 1 {
				m.opts.Syncer.ResyncAll()
			}
		case "reauthorizationRequired":
			// Renewing now: mark it as due and wake the loop.
			m.mu.Lock()
			if cur, ok := m.byID[s.ID]; ok {
				cur.Expires = m.opts.Now().Add(time.Minute)
				m.byID[s.ID] = cur
			}
			m.mu.Unlock()
			m.poke()
		case "subscriptionRemoved":
			m.forget(s)
			m.opts.Syncer.Notify(s.Room)
			m.poke()
		}
	})
}

func (m *Subscriptions) serve(w http.ResponseWriter, r *http.Request, act func(store.Subscription, notification)) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if tok := r.URL.Query().Get("validationToken"); tok != "" {
		if len(tok) > 1024 {
			http.Error(w, "validation token too long", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		io.WriteString(w, tok)
		return
	}
	if !m.Enabled() {
		http.Error(w, "change notifications are off", http.StatusNotFound)
		return
	}
	var body struct {
		Value []notification `json:"value"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxNotificationBody)).Decode(&body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "bad notification", http.StatusBadRequest)
		return
	}
	valid := 0
	for _, n := range body.Value {
		s, ok := m.check(n)
		if !ok {
			m.rejected.Add(1)
			continue
		}
		m.received.Add(1)
		valid++
		act(s, n)
	}
	if valid == 0 && len(body.Value) > 0 {
		m.log.Warn("rejected change notifications with an unknown subscription or a wrong clientState", "count", len(body.Value), "from", r.RemoteAddr)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
