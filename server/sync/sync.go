// Package sync keeps every room's state current: it polls the calendar
// provider on a schedule (with jitter, and backoff while the provider
// fails), builds each room's state under the room's display mode, stores
// it, and publishes it to the room's panels only when it really changed.
package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/store"
)

// Publisher delivers a room's state to its panels (the hub).
type Publisher interface {
	Publish(room string, st proto.State)
}

// CheckIns tells which meetings someone checked in to at a panel (the
// booking service); nil means nobody ever checks in.
type CheckIns interface {
	CheckedIn(room, eventID string) bool
}

// Store holds the rooms the syncer reads and each room's last published
// state, which survives a restart (LoadStored) and is what a panel gets
// when it joins. *store.DB is one.
type Store interface {
	Room(id string) (store.Room, error)
	Rooms() ([]store.Room, error)
	State(room string) ([]byte, error)
	PutState(room string, state []byte) error
}

// Meetings records the meetings that started, for the utilization
// figures; *store.DB is one.
type Meetings interface {
	PutMeeting(m store.Meeting, was time.Time) error
}

// Opts configures a Syncer. Zero values take the documented defaults.
type Opts struct {
	// Remote, when set, returns the phone page of a meeting booked at a
	// panel (proto.Meeting.Remote), or "".
	Remote func(room, meetingID string) string
	// Book, when set, returns the phone page that books a room on the
	// day of t in its time zone (proto.Room.Book), or "".
	Book      func(room, timeZone string, t time.Time) string
	Provider  calendar.Provider // required
	Store     Store             // required
	Publisher Publisher         // required
	CheckIns  CheckIns
	// Meetings, when set, is told of each meeting once it has started
	// and again when it changes (see record).
	Meetings Meetings
	Logger   *slog.Logger // default: discard
	// Interval between the starts of polls of every room. Default 15 s;
	// each wait is jittered by up to ±10% so many servers do not poll in
	// lockstep.
	Interval time.Duration
	// MaxBackoff caps the wait after failed polls. Default 5 min.
	MaxBackoff time.Duration
	// Ahead is how far past the start of the room's local day the window
	// reaches. Default 36 h.
	Ahead time.Duration
	// StaleAfter: panels show a room's schedule as unknown once its last
	// good read is older than this. It travels in every state's rules
	// (whole minutes), so an offline panel applies it too. Default 30 min.
	StaleAfter time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Observe, when set, is told the duration and outcome of every poll,
	// for metrics.
	Observe func(provider string, took time.Duration, err error)
	// SafetyPoll is how often a room whose calendar notifies changes
	// (Subscribed) is still read, to repair a lost notification; such
	// rooms are spread evenly over it. Default 15 min.
	SafetyPoll time.Duration
	// Subscribed tells whether a room has a live change-notification
	// subscription; nil means none has, and every room is polled at
	// Interval.
	Subscribed func(roomID string) bool
	// Coalesce is the least time between two notified re-reads of one
	// room: notifications within it become one read. Default 1 s.
	Coalesce time.Duration
	// ObserveNotify, when set, is told how long after its notification a
	// room's state was published.
	ObserveNotify func(took time.Duration)
	// Owns, with several replicas, tells whether this replica reads the
	// room's calendar (nil: one server, it reads every room). Rooms it
	// does not own are read by their owner; a notification or refresh of
	// one goes to Forward.
	Owns func(roomID string) bool
	// Forward passes a re-read of a room this replica does not own to
	// the replica that does.
	Forward func(roomID string)
}

// Syncer polls and publishes. Create it with New.
type Syncer struct {
	opts Opts
	log  *slog.Logger
	// seq numbers polls in the order they start: of two overlapping
	// polls of a room, the later one's state wins, even when both read
	// the same clock.
	seq atomic.Uint64

	mu    gosync.Mutex
	rooms map[string]*roomSync
	// described are every room's settings as last listed (building,
	// floor, seats, booking), for the free rooms near a room.
	described map[string]store.Room

	// Notified re-reads: dirty rooms (by id, with the time of their first
	// unserved notification) wait for the reader loop, which wake wakes.
	notifyMu  gosync.Mutex
	dirty     map[string]time.Time
	lastRead  map[string]time.Time // by room: the last notified read
	wake      chan struct{}
	resyncAll atomic.Bool
	tick      int // safety-poll slot of the next poll
}

// roomSync is what the syncer remembers of one room.
type roomSync struct {
	state proto.State // last applied
	key   []byte      // state without ServerTime, for change detection
	// shown is the last state published (or read by another replica):
	// what State answers, so that a panel joining gets nothing newer than
	// what the hub has been given (an older state never follows it).
	shown    proto.State
	hasShown bool
	seq      uint64    // the poll whose state is applied
	lastGood time.Time // last successful read of the calendar

	// publishing serializes the room's store writes and publishes;
	// published is the poll whose state went out last, so an older
	// state never goes out after a newer one.
	publishing gosync.Mutex
	published  uint64

	// recording serializes record; seen are the meetings of the last
	// read, recorded those written to Meetings, by event id.
	recording gosync.Mutex
	seen      map[string]store.Meeting
	recorded  map[string]store.Meeting
}

// New returns a Syncer.
func New(opts Opts) *Syncer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Interval <= 0 {
		opts.Interval = 15 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	if opts.Ahead <= 0 {
		opts.Ahead = 36 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = proto.DefaultStaleAfterMinutes * time.Minute
	}
	if opts.SafetyPoll <= 0 {
		opts.SafetyPoll = 15 * time.Minute
	}
	if opts.Coalesce <= 0 {
		opts.Coalesce = time.Second
	}
	if opts.Owns != nil && opts.Forward == nil {
		opts.Forward = func(string) {}
	}
	return &Syncer{opts: opts, log: opts.Logger, rooms: map[string]*roomSync{},
		dirty: map[string]time.Time{}, lastRead: map[string]time.Time{}, wake: make(chan struct{}, 1)}
}

// Run publishes the stored states (so panels are served at once after a
// restart), then polls every room until ctx ends.
func (s *Syncer) Run(ctx context.Context) error {
	if s.opts.Owns == nil {
		// With replicas the stored states are the owners' current
		// ones, already served through the store's watch.
		s.LoadStored()
	}
	done := make(chan struct{})
	defer func() { <-done }()
	go func() { defer close(done); s.RunNotified(ctx) }()
	failures := 0
	first := true
	for {
		var err error
		started := time.Now()
		if first || s.resyncAll.Swap(false) {
			err = s.SyncAll(ctx)
			first = false
		} else {
			err = s.SyncDue(ctx)
		}
		if ctx.Err() != nil {
			return nil
		}
		wait := s.opts.Interval
		if err != nil {
			failures++
			wait = min(s.opts.Interval<<min(failures, 10), s.opts.MaxBackoff)
			s.log.Warn("calendar poll failed; keeping the last good states", "provider", s.opts.Provider.Name(), "retry_in", wait.Round(time.Second), "err", err)
		} else {
			failures = 0
		}
		wait = time.Duration(float64(wait) * (0.9 + 0.2*rand.Float64()))
		if err == nil {
			// Polls start every Interval, however long one takes (with a
			// pause of at least a tenth of it after a long one).
			wait = max(wait-time.Since(started), s.opts.Interval/10)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// SyncDue polls the rooms due now: every room without a live
// subscription, and the subscribed rooms whose turn of the safety poll
// it is (each poll takes the next of SafetyPoll/Interval slots, so the
// subscribed rooms are read evenly spread over SafetyPoll).
func (s *Syncer) SyncDue(ctx context.Context) error {
	rooms, err := s.ownRooms()
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	due := s.due(rooms)
	if len(due) == 0 {
		return nil
	}
	return s.poll(ctx, due)
}

// due picks the rooms of this poll and moves to the next slot.
func (s *Syncer) due(rooms []store.Room) []store.Room {
	if s.opts.Subscribed == nil {
		return rooms
	}
	slots := max(1, int(s.opts.SafetyPoll/s.opts.Interval))
	s.notifyMu.Lock()
	slot := s.tick % slots
	s.tick++
	s.notifyMu.Unlock()
	var due []store.Room
	n := 0 // position among subscribed rooms (the store lists them in a stable order)
	for _, r := range rooms {
		if !s.opts.Subscribed(r.ID) {
			due = append(due, r)
			continue
		}
		if n%slots == slot {
			due = append(due, r)
		}
		n++
	}
	return due
}

// Notify asks for a re-read of a room because its calendar changed. It
// returns at once; the reader loop (RunNotified) reads the room, with
// others notified meanwhile, and publishes its state. Notifications for a
// room within Coalesce of its last notified read wait for the end of
// that time and become one read.
func (s *Syncer) Notify(roomID string) {
	if !s.owns(roomID) {
		s.opts.Forward(roomID)
		return
	}
	s.notifyMu.Lock()
	if _, ok := s.dirty[roomID]; !ok {
		s.dirty[roomID] = s.opts.Now()
	}
	s.notifyMu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// ResyncAll asks for a read of every room at the next poll, e.g. after
// Graph said several notifications were missed.
func (s *Syncer) ResyncAll() {
	s.resyncAll.Store(true)
}

// RunNotified reads notified rooms until ctx ends: all rooms dirty at
// once in one batched read, then again with those notified meanwhile.
func (s *Syncer) RunNotified(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		ids, wait := s.takeDirty()
		if len(ids) > 0 {
			s.readNotified(ctx, ids)
			continue
		}
		if wait > 0 {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// takeDirty removes the dirty rooms that may be read now and returns
// them with their notification times; wait is when the next may be (0:
// none is waiting).
func (s *Syncer) takeDirty() (map[string]time.Time, time.Duration) {
	now := s.opts.Now()
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	var ids map[string]time.Time
	var wait time.Duration
	for id, at := range s.dirty {
		if next := s.lastRead[id].Add(s.opts.Coalesce); now.Before(next) {
			if w := next.Sub(now); wait == 0 || w < wait {
				wait = w
			}
			continue
		}
		if ids == nil {
			ids = map[string]time.Time{}
		}
		ids[id] = at
		s.lastRead[id] = now
		delete(s.dirty, id)
	}
	return ids, wait
}

// readNotified reads the notified rooms and reports each one's
// notification-to-publish time.
func (s *Syncer) readNotified(ctx context.Context, ids map[string]time.Time) {
	var rooms []store.Room
	for id := range ids {
		r, err := s.opts.Store.Room(id)
		if err != nil {
			continue // removed meanwhile
		}
		rooms = append(rooms, r)
	}
	if len(rooms) == 0 {
		return
	}
	if err := s.poll(ctx, rooms); err != nil && ctx.Err() == nil {
		s.log.Warn("re-reading notified rooms failed; the safety poll repairs them", "rooms", len(rooms), "err", err)
	}
	if s.opts.ObserveNotify != nil {
		now := s.opts.Now()
		for _, at := range ids {
			s.opts.ObserveNotify(now.Sub(at))
		}
	}
}

// LoadStored publishes each room's last stored state, marked stale until
// the first poll confirms it.
func (s *Syncer) LoadStored() {
	rooms, err := s.opts.Store.Rooms()
	if err != nil {
		s.log.Error("cannot list rooms", "err", err)
		return
	}
	for _, r := range rooms {
		data, err := s.opts.Store.State(r.ID)
		if err != nil {
			continue
		}
		var st proto.State
		if err := json.Unmarshal(data, &st); err != nil {
			s.log.Warn("ignoring unreadable stored state", "room", r.ID, "err", err)
			continue
		}
		if !st.Stale {
			// It was current when last published: that is the last
			// read known for sure until the first poll.
			st.LastSync = st.ServerTime
		}
		st.Stale = true
		st.ServerTime = s.opts.Now().UTC()
		s.apply(r.ID, st, 0, st.LastSync)
	}
}

// SyncAll polls every room once. It returns an error when the provider
// failed as a whole; rooms that failed alone are marked stale and logged.
func (s *Syncer) SyncAll(ctx context.Context) error {
	rooms, err := s.ownRooms()
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return s.poll(ctx, rooms)
}

// Refresh polls one room now and publishes its state if it changed: the
// admin API and bookings call it so a change shows at once.
func (s *Syncer) Refresh(ctx context.Context, roomID string) error {
	if !s.owns(roomID) {
		s.opts.Forward(roomID)
		return nil
	}
	r, err := s.opts.Store.Room(roomID)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	s.mu.Lock()
	if s.described == nil {
		s.described = map[string]store.Room{}
	}
	s.described[r.ID] = r
	s.mu.Unlock()
	return s.poll(ctx, []store.Room{r})
}

// owns reports whether this replica reads roomID.
func (s *Syncer) owns(roomID string) bool {
	return s.opts.Owns == nil || s.opts.Owns(roomID)
}

// ownRooms lists the rooms this replica reads, and keeps every room's
// description for Nearby.
func (s *Syncer) ownRooms() ([]store.Room, error) {
	rooms, err := s.opts.Store.Rooms()
	if err == nil {
		described := make(map[string]store.Room, len(rooms))
		for _, r := range rooms {
			described[r.ID] = r
		}
		s.mu.Lock()
		s.described = described
		s.mu.Unlock()
	}
	if err != nil || s.opts.Owns == nil {
		return rooms, err
	}
	mine := rooms[:0]
	for _, r := range rooms {
		if s.opts.Owns(r.ID) {
			mine = append(mine, r)
		}
	}
	return mine, nil
}

// Remember records a room's state read by another replica (through the
// store's watch), so that State and States answer for every room.
func (s *Syncer) Remember(roomID string, st proto.State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, ok := s.rooms[roomID]
	if !ok {
		rs = &roomSync{}
		s.rooms[roomID] = rs
	}
	rs.state, rs.key = st, changeKey(st)
	rs.shown, rs.hasShown = st, true
}

// SetCheckIns sets where check-ins are read from, for wiring that creates
// the booking service after the syncer. Call it before Run.
func (s *Syncer) SetCheckIns(c CheckIns) { s.opts.CheckIns = c }

// States returns the last state of every room, for metrics and overviews.
func (s *Syncer) States() map[string]proto.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]proto.State, len(s.rooms))
	for id, rs := range s.rooms {
		if rs.hasShown {
			out[id] = rs.shown
		}
	}
	return out
}

// State returns the last state published for a room.
func (s *Syncer) State(roomID string) (proto.State, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, ok := s.rooms[roomID]
	if !ok || !rs.hasShown {
		return proto.State{}, false
	}
	return rs.shown, true
}

// Forget drops a removed room.
func (s *Syncer) Forget(roomID string) {
	s.mu.Lock()
	delete(s.rooms, roomID)
	s.mu.Unlock()
	s.notifyMu.Lock()
	delete(s.dirty, roomID)
	delete(s.lastRead, roomID)
	s.notifyMu.Unlock()
}

// poll reads the rooms' calendars in one batched call per time zone (the
// window starts at the room's local midnight) and applies the results.
func (s *Syncer) poll(ctx context.Context, rooms []store.Room) error {
	started := s.opts.Now()
	seq := s.seq.Add(1)
	byZone := map[string][]store.Room{}
	for _, r := range rooms {
		byZone[r.TimeZone] = append(byZone[r.TimeZone], r)
	}
	var errs []error
	for tz, group := range byZone {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			s.log.Error("room has an unknown time zone; using UTC", "tz", tz, "err", err)
			loc = time.UTC
		}
		local := started.In(loc)
		from := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
		to := from.Add(s.opts.Ahead)
		addrs := make([]string, len(group))
		for i, r := range group {
			addrs[i] = r.Calendar
		}
		got, err := s.opts.Provider.Events(ctx, addrs, from, to)
		if err != nil {
			errs = append(errs, err)
			for _, r := range group {
				s.markStale(r, started, seq, err)
			}
			continue
		}
		teams := s.teams(ctx, group)
		for _, r := range group {
			res, ok := got[r.Calendar]
			if !ok {
				res.Err = fmt.Errorf("provider returned nothing for %s", r.Calendar)
			}
			if res.Err != nil {
				s.log.Warn("cannot read room calendar; keeping its last good state", "room", r.ID, "calendar", r.Calendar, "err", res.Err)
				s.markStale(r, started, seq, res.Err)
				continue
			}
			s.apply(r.ID, s.build(r, res.Events, started, started, false, teams[r.Calendar]), seq, started)
			s.record(r, res.Events, started)
		}
	}
	var err error
	if len(errs) > 0 {
		err = fmt.Errorf("sync: %w", errors.Join(errs...))
	}
	if s.opts.Observe != nil {
		s.opts.Observe(s.opts.Provider.Name(), s.opts.Now().Sub(started), err)
	}
	return err
}

// markStale republishes a room's last good state marked stale with why
// the read failed, or, for a room never read, an empty stale state so its
// panels say the schedule is unknown (never "free"). seq is the poll's.
func (s *Syncer) markStale(r store.Room, polled time.Time, seq uint64, err error) {
	s.mu.Lock()
	rs, ok := s.rooms[r.ID]
	var st proto.State
	var lastGood time.Time
	if ok {
		st, lastGood = rs.state, rs.lastGood
	}
	s.mu.Unlock()
	if !ok {
		st = s.build(r, nil, polled, time.Time{}, true, false)
	}
	st.Stale = true
	st.LastSync = lastGood
	st.Reason = Reason(err)
	st.ServerTime = polled.UTC()
	s.apply(r.ID, st, seq, lastGood)
}

// Reason is the code a panel words for why a calendar could not be read.
func Reason(err error) proto.Reason {
	switch {
	case errors.Is(err, calendar.ErrDenied):
		return proto.ReasonDenied
	case errors.Is(err, calendar.ErrNotFound):
		return proto.ReasonNotFound
	case errors.Is(err, calendar.ErrAuth):
		return proto.ReasonSignIn
	case errors.Is(err, calendar.ErrThrottled):
		return proto.ReasonThrottled
	}
	return proto.ReasonUnreachable
}

// build makes the state a room's panels get, applying the display mode.
// teams says whether the room's calendar can host a Teams meeting.
func (s *Syncer) build(r store.Room, events []calendar.Event, now, lastSync time.Time, stale, teams bool) proto.State {
	st := proto.State{
		Room:       proto.Room{ID: r.ID, Name: r.Name, TimeZone: r.TimeZone, Hours: r.Hours},
		ServerTime: now.UTC(),
		Meetings:   make([]proto.Meeting, 0, len(events)),
		Stale:      stale,
		Features: proto.Features{
			Book:      r.Booking.Instant,
			Teams:     r.Booking.Instant && r.Booking.Teams && teams,
			ExtendEnd: r.Booking.ExtendEnd,
			CheckIn:   r.Booking.CheckIn,
		},
		Rules: proto.Rules{
			SoonMinutes:          r.Booking.SoonMinutes,
			CheckInBeforeMinutes: r.Booking.CheckInBefore,
			CheckInAfterMinutes:  r.Booking.CheckInAfter,
			BookStepMinutes:      r.Booking.StepMinutes,
			StaleAfterMinutes:    int((s.opts.StaleAfter + time.Minute - 1) / time.Minute),
		},
	}
	if r.Booking.Instant && s.opts.Book != nil {
		st.Room.Book = s.opts.Book(r.ID, r.TimeZone, now)
	}
	if stale && !lastSync.IsZero() {
		// Only a stale state says when it was read: a fresh one would
		// differ on every poll and be republished for nothing.
		st.LastSync = lastSync.UTC()
	}
	for _, e := range events {
		m := proto.Meeting{
			ID: e.ID, Title: Title(r.Display, e), Start: e.Start.UTC(), End: e.End.UTC(),
			AllDay: e.AllDay, Private: e.Private, Online: e.Online,
			CheckIn: r.Booking.CheckIn && !e.AllDay,
		}
		if m.Title == Reserved {
			m.Label = proto.LabelReserved // each panel words it in its language
		}
		m.Organizer = Organizer(r.Display, e)
		if m.Booked = strings.HasPrefix(e.TransactionID, calendar.PanelTransactionPrefix); m.Booked && s.opts.Remote != nil && m.End.After(now) {
			m.Remote = s.opts.Remote(r.ID, e.ID)
		}
		if m.CheckIn && s.opts.CheckIns != nil {
			m.CheckedIn = s.opts.CheckIns.CheckedIn(r.ID, e.ID)
		}
		st.Meetings = append(st.Meetings, m)
	}
	st.Nearby = s.nearby(r, now)
	if st.Omitted = fit(&st); st.Omitted > 0 {
		s.log.Warn("room's agenda is too large for a panel: meetings left out", "room", r.ID, "meetings", len(events), "omitted", st.Omitted)
	}
	return st
}

// NearbyMin is how long a room near another must be free for at least
// to be named (proto.MaxNearby of them).
const NearbyMin = 15 * time.Minute

// nearby lists the free rooms near r that its panels may book: in r's
// building (rooms without one have none near), booking at the panel
// allowed, their last state read and free from now for NearbyMin at
// least; the same floor first, then the longest free, then by name.
func (s *Syncer) nearby(r store.Room, now time.Time) []proto.Nearby {
	if r.Building == "" {
		return nil
	}
	type cand struct {
		n         proto.Nearby
		sameFloor bool
	}
	var out []cand
	zones := map[string]*time.Location{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, o := range s.described {
		rs := s.rooms[id]
		if id == r.ID || o.Building != r.Building || !o.Booking.Instant || rs == nil || rs.state.Stale {
			continue
		}
		loc, ok := zones[o.TimeZone]
		if !ok {
			// One load per zone, not per room: a building's rooms
			// share one.
			loc, _ = time.LoadLocation(o.TimeZone) // nil when unknown
			zones[o.TimeZone] = loc
		}
		if loc == nil {
			continue
		}
		until, free := proto.FreeUntil(rs.state.Meetings, now, loc)
		if at := proto.At(rs.state.Meetings, now, rs.state.Rules, loc); !free || at.Status != proto.StatusFree && at.Status != proto.StatusSoon ||
			!until.IsZero() && until.Sub(now) < NearbyMin {
			continue
		}
		if lt := now.In(loc); !until.IsZero() && !until.Before(time.Date(lt.Year(), lt.Month(), lt.Day()+1, 0, 0, 0, 0, loc)) {
			until = time.Time{} // free for the rest of the day
		}
		out = append(out, cand{proto.Nearby{ID: id, Name: o.Name, Floor: o.Floor, Capacity: o.Capacity, FreeUntil: until.UTC()}, o.Floor == r.Floor})
	}
	slices.SortFunc(out, func(a, b cand) int {
		switch {
		case a.sameFloor != b.sameFloor:
			if a.sameFloor {
				return -1
			}
			return 1
		case !a.n.FreeUntil.Equal(b.n.FreeUntil):
			if a.n.FreeUntil.IsZero() || !b.n.FreeUntil.IsZero() && a.n.FreeUntil.After(b.n.FreeUntil) {
				return -1
			}
			return 1
		}
		return strings.Compare(a.n.Name, b.n.Name)
	})
	var rooms []proto.Nearby
	for _, c := range out[:min(len(out), proto.MaxNearby)] {
		rooms = append(rooms, c.n)
	}
	return rooms
}

// maxTitle bounds a meeting's title on the wire, in runes: a panel shows
// a few dozen at most.
const maxTitle = 200

// stateBudget is the most a state may encode to, leaving room in a frame
// (proto.MaxFrameBytes) for the message around it and a later ServerTime.
const stateBudget = proto.MaxFrameBytes - 4096

// fit makes a state small enough to be sent: titles are cut to maxTitle
// runes, and when the agenda still does not fit, meetings are left out,
// first those that ended (the oldest first), then the latest-starting. It
// returns how many meetings were left out.
func fit(st *proto.State) int {
	for i := range st.Meetings {
		st.Meetings[i].Title = cut(st.Meetings[i].Title)
		st.Meetings[i].Organizer = cut(st.Meetings[i].Organizer)
	}
	if encodedSize(*st) <= stateBudget {
		return 0
	}
	all := st.Meetings
	now := st.ServerTime
	// Priority order: on now or later by start, then ended ones by end,
	// the most recent first.
	byPriority := slices.Clone(all)
	slices.SortStableFunc(byPriority, func(a, b proto.Meeting) int {
		aEnded, bEnded := !a.End.After(now), !b.End.After(now)
		switch {
		case aEnded != bEnded:
			if aEnded {
				return 1
			}
			return -1
		case aEnded:
			return b.End.Compare(a.End)
		}
		return a.Start.Compare(b.Start)
	})
	keep := func(n int) []proto.Meeting {
		kept := slices.Clone(byPriority[:n])
		slices.SortStableFunc(kept, func(a, b proto.Meeting) int { return a.Start.Compare(b.Start) })
		return kept
	}
	// The largest n whose state fits.
	lo, hi := 0, len(all) // fits(lo) holds; fits(hi) does not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		st.Meetings = keep(mid)
		if encodedSize(*st) <= stateBudget {
			lo = mid
		} else {
			hi = mid
		}
	}
	st.Meetings = keep(lo)
	return len(all) - lo
}

// cut shortens s to maxTitle runes, with an ellipsis.
func cut(s string) string {
	if utf8.RuneCountInString(s) <= maxTitle {
		return s
	}
	return string([]rune(s)[:maxTitle-1]) + "…"
}

func encodedSize(st proto.State) int {
	st.Omitted = len(st.Meetings) // the count's own digits, near enough
	b, _ := json.Marshal(st)
	return len(b)
}

// teams asks the provider which of the rooms that may offer Teams
// meetings can host one (by calendar address). A provider that cannot
// create Teams meetings at all offers them nowhere.
func (s *Syncer) teams(ctx context.Context, rooms []store.Room) map[string]bool {
	om, ok := s.opts.Provider.(calendar.OnlineMeetings)
	if !ok {
		return nil
	}
	var addrs []string
	for _, r := range rooms {
		if r.Booking.Instant && r.Booking.Teams {
			addrs = append(addrs, r.Calendar)
		}
	}
	if len(addrs) == 0 {
		return nil
	}
	return om.OnlineMeetings(ctx, addrs)
}

// Reserved is what a panel shows for a meeting it may not name.
const Reserved = "Reserved"

// Title is what a panel may show for an event under a display mode
// (DESIGN.md, privacy rule): a private meeting is always "Reserved", and
// so is anything when there is nothing else to show.
func Title(mode string, e calendar.Event) string {
	if e.Private {
		return Reserved
	}
	var t string
	switch mode {
	case store.DisplayTitle:
		t = e.Subject
		if t == "" {
			t = e.Organizer
		}
	case store.DisplayOrganizer:
		t = e.Organizer
	}
	if t == "" {
		return Reserved
	}
	return t
}

// Organizer is the organizer's name where the display mode shows names
// and the meeting is not private (the privacy rule: a "Reserved" meeting
// shows nothing more), and "" where it would only repeat the title.
func Organizer(mode string, e calendar.Event) string {
	if e.Private || mode == store.DisplayReserved || Title(mode, e) == e.Organizer {
		return ""
	}
	return e.Organizer
}

// apply records a room's new state and publishes it if it differs from
// the last one in more than its server time. A result from a poll that
// started before the one already applied is dropped, so a slow poll never
// overwrites a newer refresh; and the room's publishes are serialized
// under its poll sequence, so an older state never reaches the panels
// after a newer one.
func (s *Syncer) apply(roomID string, st proto.State, seq uint64, lastGood time.Time) {
	key := changeKey(st)
	s.mu.Lock()
	rs, ok := s.rooms[roomID]
	if !ok {
		rs = &roomSync{}
		s.rooms[roomID] = rs
	}
	if seq < rs.seq {
		s.mu.Unlock()
		return
	}
	rs.seq = seq
	if !lastGood.IsZero() {
		rs.lastGood = lastGood
	}
	changed := !bytes.Equal(rs.key, key)
	if changed {
		rs.state, rs.key = st, key
	}
	s.mu.Unlock()
	if !changed {
		return
	}
	rs.publishing.Lock()
	defer rs.publishing.Unlock()
	if seq < rs.published {
		return // a newer state went out meanwhile
	}
	rs.published = seq
	s.mu.Lock()
	rs.shown, rs.hasShown = st, true
	s.mu.Unlock()
	if data, err := json.Marshal(st); err != nil {
		s.log.Error("cannot encode room state", "room", roomID, "err", err)
	} else if err := s.opts.Store.PutState(roomID, data); err != nil {
		s.log.Error("cannot store room state; panels still get it", "room", roomID, "err", err)
	}
	s.opts.Publisher.Publish(roomID, st)
	s.log.Debug("published room state", "room", roomID, "meetings", len(st.Meetings), "stale", st.Stale)
}

func changeKey(st proto.State) []byte {
	st.ServerTime = time.Time{}
	b, _ := json.Marshal(st)
	return b
}
