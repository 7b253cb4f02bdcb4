// Package alert tells people when something needs them: a panel offline,
// a calendar that cannot be read, a Graph subscription that keeps failing,
// a client secret or certificate about to expire, a halted firmware
// rollout, a problem someone reported at a door, or a meeting series
// nobody comes to while it keeps blocking a room. It notifies by e-mail
// (SMTP with STARTTLS or TLS) and by webhook (generic JSON, Microsoft Teams
// or Slack).
//
// An alert has a key (its identity). The [Engine] sends one message when an
// alert starts ("firing") and one when it clears ("resolved"), however
// often the condition is seen in between (deduplication). A condition must
// hold for its kind's hold time before it alerts, so a blip is not news.
// Messages are rate-limited: at most MaxPerHour an hour over all alerts,
// and a key that was notified less than Quiet ago waits (a flapping panel
// does not flood the inbox). A held alert is not lost: it goes out once
// the limit allows while it still holds; one that cleared in the meantime
// never went out, and neither does its "resolved".
//
// Active alerts are kept in the store, so a restart neither repeats a
// firing message nor forgets to send the "resolved" one.
package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	gosync "sync"
	"time"
)

// Kind is what an alert is about.
type Kind string

// The kinds of alert. They are stable: settings (mute) name them.
const (
	KindPanelOffline Kind = "panel_offline" // a panel has not been seen for 10 minutes
	KindCalendar     Kind = "calendar"      // a room's calendar (or the whole connection) cannot be read
	KindSubscription Kind = "subscription"  // a Graph change-notification subscription keeps failing
	KindCredential   Kind = "credential"    // the Microsoft 365 client secret or certificate expires soon
	KindRollout      Kind = "rollout"       // a firmware rollout halted
	KindProblem      Kind = "problem"       // someone reported a problem at a panel
	KindNoShows      Kind = "no_shows"      // a meeting series nobody came to several times in a row
)

// Kinds lists every kind in the order the admin UI shows them.
var Kinds = []Kind{KindPanelOffline, KindCalendar, KindSubscription, KindCredential, KindRollout, KindProblem, KindNoShows}

// Title names a kind for people.
func (k Kind) Title() string {
	switch k {
	case KindPanelOffline:
		return "Panel offline"
	case KindCalendar:
		return "Calendar cannot be read"
	case KindSubscription:
		return "Graph subscription failing"
	case KindCredential:
		return "Client secret or certificate expiring"
	case KindRollout:
		return "Firmware rollout halted"
	case KindProblem:
		return "Problem reported at a panel"
	case KindNoShows:
		return "Meeting series nobody comes to"
	}
	return string(k)
}

// Alert is one condition that needs a person.
type Alert struct {
	// Key identifies the alert across checks, e.g. "panel_offline/dev-1".
	Key     string `json:"key"`
	Kind    Kind   `json:"kind"`
	Subject string `json:"subject"`          // one line: "Panel Rigi door is offline"
	Detail  string `json:"detail,omitempty"` // what is known and what to do
	Room    string `json:"room,omitempty"`
	Device  string `json:"device,omitempty"`
	// Since is when the condition began, if the reporter knows (a panel's
	// last contact); otherwise the engine counts from when it first saw it.
	Since time.Time `json:"since,omitzero"`
	// Tell is a note for the person the alert is about (a meeting's
	// organizer), sent by e-mail with the firing message when the
	// settings say so (EmailSettings.TellOrganizers). It is in memory
	// only: never in a webhook's JSON, the store or an API answer.
	Tell *Note `json:"-"`
}

// Note is a message to one person, in words for them rather than for the
// admin.
type Note struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// ErrNotConcerned is what a Notifier returns for a message that is not
// for its channel (a note to an organizer, for an alert without one): the
// message is not logged as sent on it.
var ErrNotConcerned = errors.New("alert: not for this channel")

// Event says what a message announces.
type Event string

// Events.
const (
	Firing   Event = "firing"   // the alert started
	Resolved Event = "resolved" // it cleared
	Reported Event = "reported" // a one-off report (a problem at a panel): no "resolved" follows
	Test     Event = "test"     // the admin's test-send
)

// Message is one notification, the same for every channel.
type Message struct {
	Event Event     `json:"event"`
	Alert Alert     `json:"alert"`
	At    time.Time `json:"at"`
	// Held counts the messages the rate limit has held back or dropped
	// since the last one that went out; the admin UI lists them.
	Held int `json:"held,omitempty"`
	// Server is the admin UI's address, for a link back.
	Server string `json:"server,omitempty"`
}

// Headline is the message's one-line summary, used as the e-mail subject
// and a chat message's title.
func (m Message) Headline() string {
	switch m.Event {
	case Firing:
		return "Alert: " + m.Alert.Subject
	case Resolved:
		return "Resolved: " + m.Alert.Subject
	case Reported:
		return "Reported: " + m.Alert.Subject
	}
	return "Test: " + m.Alert.Subject
}

// Notifier delivers messages on one channel.
type Notifier interface {
	// Channel names it for people ("e-mail", "webhook ops-teams"), never
	// with a secret in it.
	Channel() string
	Notify(ctx context.Context, m Message) error
}

// Store keeps active alerts and the log of sent messages; *store.DB is
// one. Values are JSON, opaque to the store.
type Store interface {
	ActiveAlerts() (map[string]json.RawMessage, error)
	PutActiveAlert(key string, v any) error
	DeleteActiveAlert(key string) error
	AppendAlertLog(v any, keep int) error
	AlertLog(n int) ([]json.RawMessage, error)
}

// Probe checks one kind of condition: it returns every alert of that kind
// that holds now. An error means "cannot tell": nothing is resolved.
type Probe struct {
	Kind  Kind
	Check func(ctx context.Context) ([]Alert, error)
}

// Opts configures an Engine.
type Opts struct {
	Store  Store   // required
	Probes []Probe // run every Every by Run
	// Every is how often Run runs the probes and retries held alerts.
	// Default 1 minute.
	Every time.Duration
	// Hold is how long a condition of a kind must hold before it alerts,
	// counted from the alert's Since. Defaults: panel offline 10 minutes,
	// calendar 10 minutes, the others at once.
	Hold map[Kind]time.Duration
	// MaxPerHour bounds the messages sent in any hour. Default 20.
	MaxPerHour int
	// Quiet is how long after a key's last firing message a new firing of
	// the same key, or a repeated report, waits. Default 30 minutes.
	Quiet time.Duration
	// Attempts is how often a message is tried on a channel before it is
	// given up (default 3), waiting Backoff, then 4 times as long, between
	// tries (default 30 s).
	Attempts int
	Backoff  time.Duration
	// Keep is how many sent messages the log keeps. Default 500.
	Keep int
	// Server is the admin UI's address, put in every message.
	Server string
	Logger *slog.Logger     // default: discard
	Now    func() time.Time // default: time.Now
}

// DefaultHold is how long each kind's condition must hold by default.
var DefaultHold = map[Kind]time.Duration{KindPanelOffline: 10 * time.Minute, KindCalendar: 10 * time.Minute}

// Active is an alert that holds now.
type Active struct {
	Alert
	Fired time.Time `json:"fired"` // when it started alerting
	// Notified is set once its firing message went out; until then it is
	// held (rate limit, quiet time or a muted kind), and only a notified
	// alert sends "resolved".
	Notified bool `json:"notified"`
	// HeldBecause says why it has not been sent yet.
	HeldBecause string `json:"held_because,omitempty"`
}

// Sent is one message in the log, with each channel's outcome.
type Sent struct {
	At      time.Time `json:"at"`
	Event   Event     `json:"event"`
	Key     string    `json:"key"`
	Kind    Kind      `json:"kind"`
	Subject string    `json:"subject"`
	Results []Result  `json:"results"`
}

// Result is one channel's outcome of one message.
type Result struct {
	Channel string `json:"channel"`
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
}

// queueSize bounds the messages waiting for delivery.
const queueSize = 256

// Engine decides what to notify and delivers it. It is safe for
// concurrent use.
type Engine struct {
	opts  Opts
	log   *slog.Logger
	queue chan Message

	mu        gosync.Mutex
	notifiers []Notifier
	muted     map[Kind]bool
	active    map[string]*Active
	pending   map[string]time.Time // key -> first seen, while its hold runs
	lastFired map[string]time.Time // key -> its last firing (or report) message
	failures  map[string]int       // subscription key -> failures in a row
	sentTimes []time.Time          // messages sent in the last hour
	held      int                  // held or dropped since the last message
	inflight  int                  // messages queued or being delivered
	idle      chan struct{}        // closed while inflight == 0
}

// New returns an engine with the active alerts the store kept.
func New(opts Opts) (*Engine, error) {
	if opts.Store == nil {
		return nil, errors.New("alert: a store is required")
	}
	if opts.Every <= 0 {
		opts.Every = time.Minute
	}
	if opts.Hold == nil {
		opts.Hold = DefaultHold
	}
	if opts.MaxPerHour <= 0 {
		opts.MaxPerHour = 20
	}
	if opts.Quiet <= 0 {
		opts.Quiet = 30 * time.Minute
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 30 * time.Second
	}
	if opts.Keep <= 0 {
		opts.Keep = 500
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := &Engine{opts: opts, log: opts.Logger, queue: make(chan Message, queueSize),
		muted: map[Kind]bool{}, active: map[string]*Active{}, pending: map[string]time.Time{},
		lastFired: map[string]time.Time{}, idle: make(chan struct{})}
	close(e.idle)
	kept, err := opts.Store.ActiveAlerts()
	if err != nil {
		return nil, fmt.Errorf("alert: read active alerts: %w", err)
	}
	for key, raw := range kept {
		var a Active
		if err := json.Unmarshal(raw, &a); err != nil {
			e.log.Warn("alert: dropping an unreadable active alert", "key", key, "err", err)
			opts.Store.DeleteActiveAlert(key)
			continue
		}
		e.active[key] = &a
		if a.Notified {
			e.lastFired[key] = a.Fired
		}
	}
	return e, nil
}

// SetNotifiers replaces the channels messages go to, and the kinds that
// are muted (tracked and shown, but not sent).
func (e *Engine) SetNotifiers(ns []Notifier, muted []Kind) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.notifiers = slices.Clone(ns)
	e.muted = map[Kind]bool{}
	for _, k := range muted {
		e.muted[k] = true
	}
}

// Run runs the probes every Every and delivers messages until ctx ends.
func (e *Engine) Run(ctx context.Context) {
	var wg gosync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); e.deliver(ctx) }()
	t := time.NewTicker(e.opts.Every)
	defer t.Stop()
	for {
		e.Check(ctx)
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
		}
	}
}

// Check runs every probe once and applies what they found, then sends
// held alerts the limits now allow. Run calls it; tests call it after
// moving the clock.
func (e *Engine) Check(ctx context.Context) {
	for _, p := range e.opts.Probes {
		alerts, err := p.Check(ctx)
		if err != nil {
			e.log.Warn("alert: a check failed; its alerts stay as they are", "kind", p.Kind, "err", err)
			continue
		}
		e.Sync(p.Kind, alerts)
	}
	e.retryHeld()
}

// Sync sets the alerts of kind that hold now: a new one fires once it has
// held for its kind's hold time, one no longer listed resolves.
func (e *Engine) Sync(kind Kind, current []Alert) {
	now := e.opts.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := map[string]bool{}
	for _, a := range current {
		a.Kind = kind
		if a.Key == "" {
			e.log.Error("alert: an alert without a key is ignored", "kind", kind, "subject", a.Subject)
			continue
		}
		seen[a.Key] = true
		if act, ok := e.active[a.Key]; ok {
			// Keep the words up to date (the diagnosis may change), without
			// a new message.
			if act.Subject != a.Subject || act.Detail != a.Detail {
				act.Subject, act.Detail = a.Subject, a.Detail
				e.persist(act)
			}
			continue
		}
		since := a.Since
		if since.IsZero() {
			first, ok := e.pending[a.Key]
			if !ok {
				first = now
			}
			since = first
		}
		if now.Sub(since) < e.opts.Hold[kind] {
			e.pending[a.Key] = since
			continue
		}
		delete(e.pending, a.Key)
		a.Since = since
		e.fire(a, now)
	}
	for key := range e.pending {
		if !seen[key] && kindOf(key) == kind {
			delete(e.pending, key)
		}
	}
	for key, act := range e.active {
		if act.Kind == kind && !seen[key] {
			e.resolve(key, now)
		}
	}
}

// kindOf is the kind a key starts with: keys are "kind/identity".
func kindOf(key string) Kind {
	for i := range len(key) {
		if key[i] == '/' {
			return Kind(key[:i])
		}
	}
	return Kind(key)
}

// Raise starts an alert held by someone else (a subscription that keeps
// failing, a halted rollout) at once; Clear resolves it. Raising an active
// alert again changes nothing.
func (e *Engine) Raise(a Alert) {
	now := e.opts.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if a.Key == "" {
		e.log.Error("alert: an alert without a key is ignored", "kind", a.Kind, "subject", a.Subject)
		return
	}
	if _, ok := e.active[a.Key]; ok {
		return
	}
	if a.Since.IsZero() {
		a.Since = now
	}
	e.fire(a, now)
}

// Clear resolves the alert with key, if it is active.
func (e *Engine) Clear(key string) {
	now := e.opts.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.active[key]; ok {
		e.resolve(key, now)
	}
}

// Report sends a one-off alert (a problem reported at a panel). The same
// key reported again within Quiet is not sent again.
func (e *Engine) Report(a Alert) {
	now := e.opts.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if a.Since.IsZero() {
		a.Since = now
	}
	if reason := e.allow(a.Key, a.Kind, now); reason != "" {
		e.held++
		e.log.Info("alert: report not sent", "key", a.Key, "because", reason)
		return
	}
	e.enqueue(Message{Event: Reported, Alert: a, At: now})
}

// fire makes a an active alert and sends it if the limits allow.
// e.mu is held.
func (e *Engine) fire(a Alert, now time.Time) {
	act := &Active{Alert: a, Fired: now}
	e.active[a.Key] = act
	e.log.Warn("alert", "key", a.Key, "subject", a.Subject)
	if reason := e.allow(a.Key, a.Kind, now); reason != "" {
		act.HeldBecause = reason
		e.held++
		e.log.Info("alert: held", "key", a.Key, "because", reason)
	} else {
		act.Notified = true
		e.enqueue(Message{Event: Firing, Alert: a, At: now})
	}
	e.persist(act)
}

// resolve ends an active alert, with a "resolved" message if its firing
// one went out. e.mu is held.
func (e *Engine) resolve(key string, now time.Time) {
	act := e.active[key]
	delete(e.active, key)
	if err := e.opts.Store.DeleteActiveAlert(key); err != nil {
		e.log.Error("alert: cannot forget a resolved alert", "key", key, "err", err)
	}
	e.log.Info("alert resolved", "key", key, "subject", act.Subject)
	if act.Notified {
		// Always sent, whatever the rate: people must learn it is over.
		e.sentTimes = append(e.sentTimes, now)
		e.enqueue(Message{Event: Resolved, Alert: act.Alert, At: now})
	}
}

// retryHeld sends the active alerts that were held, as far as the limits
// now allow, oldest first.
func (e *Engine) retryHeld() {
	now := e.opts.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	var held []*Active
	for _, act := range e.active {
		if !act.Notified {
			held = append(held, act)
		}
	}
	sort.Slice(held, func(i, j int) bool { return held[i].Fired.Before(held[j].Fired) })
	for _, act := range held {
		reason := e.allow(act.Key, act.Kind, now)
		if reason != "" {
			if reason != act.HeldBecause {
				act.HeldBecause = reason
				e.persist(act)
			}
			continue
		}
		act.Notified, act.HeldBecause = true, ""
		e.persist(act)
		e.enqueue(Message{Event: Firing, Alert: act.Alert, At: now})
	}
}

// allow decides whether a firing message for key may go out at now, and
// counts it when it may; otherwise it says why not. e.mu is held.
func (e *Engine) allow(key string, kind Kind, now time.Time) string {
	if e.muted[kind] {
		return "alerts of this kind are muted"
	}
	if len(e.notifiers) == 0 {
		// Held, not lost: it goes out once a channel is set up.
		return "no e-mail relay or webhook is set up"
	}
	if last, ok := e.lastFired[key]; ok && now.Sub(last) < e.opts.Quiet {
		return fmt.Sprintf("it was sent less than %s ago", e.opts.Quiet)
	}
	kept := e.sentTimes[:0]
	for _, t := range e.sentTimes {
		if now.Sub(t) < time.Hour {
			kept = append(kept, t)
		}
	}
	e.sentTimes = kept
	if len(kept) >= e.opts.MaxPerHour {
		return fmt.Sprintf("the limit of %d messages an hour is reached", e.opts.MaxPerHour)
	}
	e.sentTimes = append(e.sentTimes, now)
	e.lastFired[key] = now
	return ""
}

// enqueue hands a message to the delivery loop. e.mu is held.
func (e *Engine) enqueue(m Message) {
	m.Server = e.opts.Server
	m.Held, e.held = e.held, 0
	select {
	case e.queue <- m:
		if e.inflight == 0 {
			e.idle = make(chan struct{})
		}
		e.inflight++
	default:
		e.held += 1 + m.Held
		e.log.Error("alert: the delivery queue is full; a message is dropped", "key", m.Alert.Key, "event", m.Event)
	}
}

func (e *Engine) persist(act *Active) {
	if err := e.opts.Store.PutActiveAlert(act.Key, act); err != nil {
		e.log.Error("alert: cannot save an active alert", "key", act.Key, "err", err)
	}
}

// deliver sends queued messages until ctx ends.
func (e *Engine) deliver(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-e.queue:
			e.mu.Lock()
			ns := e.notifiers
			e.mu.Unlock()
			results := make([]Result, len(ns))
			var wg gosync.WaitGroup
			for i, n := range ns {
				wg.Add(1)
				go func() { defer wg.Done(); results[i] = e.send(ctx, n, m) }()
			}
			wg.Wait()
			e.record(m, slices.DeleteFunc(results, func(r Result) bool { return r.Channel == "" }))
			e.mu.Lock()
			e.inflight--
			if e.inflight == 0 {
				close(e.idle)
			}
			e.mu.Unlock()
		}
	}
}

// send tries one channel up to Attempts times with growing waits.
func (e *Engine) send(ctx context.Context, n Notifier, m Message) Result {
	wait := e.opts.Backoff
	var err error
	for attempt := 1; ; attempt++ {
		if err = n.Notify(ctx, m); err == nil {
			return Result{Channel: n.Channel(), OK: true}
		}
		if errors.Is(err, ErrNotConcerned) {
			return Result{} // not this channel's: left out of the log
		}
		e.log.Warn("alert: sending failed", "channel", n.Channel(), "key", m.Alert.Key, "attempt", attempt, "err", err)
		if attempt >= e.opts.Attempts {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return Result{Channel: n.Channel(), Error: err.Error()}
		case <-t.C:
		}
		wait *= 4
	}
	return Result{Channel: n.Channel(), Error: err.Error()}
}

func (e *Engine) record(m Message, results []Result) {
	s := Sent{At: m.At, Event: m.Event, Key: m.Alert.Key, Kind: m.Alert.Kind, Subject: m.Alert.Subject, Results: results}
	if s.Results == nil {
		s.Results = []Result{}
	}
	if err := e.opts.Store.AppendAlertLog(s, e.opts.Keep); err != nil {
		e.log.Error("alert: cannot log a sent message", "err", err)
	}
}

// Flush waits until every queued message was delivered (or given up).
func (e *Engine) Flush(ctx context.Context) error {
	e.mu.Lock()
	idle := e.idle
	e.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("alert: messages still being delivered: %w", ctx.Err())
	}
}

// SendTest sends a test message to every channel at once, once each,
// and returns each one's outcome. It counts toward no limit.
func (e *Engine) SendTest(ctx context.Context) []Result {
	e.mu.Lock()
	ns := e.notifiers
	e.mu.Unlock()
	now := e.opts.Now()
	m := Message{Event: Test, At: now, Server: e.opts.Server, Alert: Alert{Key: "test", Kind: "test",
		Subject: "Lintel test alert", Detail: "An admin sent this test from Lintel's alert settings. Alerts will arrive here."}}
	results := make([]Result, len(ns))
	var wg gosync.WaitGroup
	for i, n := range ns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = Result{Channel: n.Channel(), OK: true}
			if err := n.Notify(ctx, m); errors.Is(err, ErrNotConcerned) {
				results[i] = Result{} // an organizer's channel: nothing to test on its own
			} else if err != nil {
				results[i] = Result{Channel: n.Channel(), Error: err.Error()}
			}
		}()
	}
	wg.Wait()
	results = slices.DeleteFunc(results, func(r Result) bool { return r.Channel == "" })
	e.record(m, results)
	return results
}

// Active returns the active alerts, oldest first.
func (e *Engine) Active() []Active {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Active, 0, len(e.active))
	for _, a := range e.active {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Fired.Equal(out[j].Fired) {
			return out[i].Fired.Before(out[j].Fired)
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// Log returns the last n messages sent, newest first.
func (e *Engine) Log(n int) ([]Sent, error) {
	raws, err := e.opts.Store.AlertLog(n)
	if err != nil {
		return nil, fmt.Errorf("alert: read the log: %w", err)
	}
	out := make([]Sent, 0, len(raws))
	for _, raw := range raws {
		var s Sent
		if err := json.Unmarshal(raw, &s); err != nil {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// SetMaxPerHour changes the rate limit (0: the default, 20).
func (e *Engine) SetMaxPerHour(n int) {
	if n <= 0 {
		n = 20
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.opts.MaxPerHour = n
}
