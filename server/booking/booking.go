// Package booking carries out what people ask for at the door: book a free
// room now, extend or end the current meeting, check in, and release
// meetings nobody checked in to.
//
// Every request is checked against the calendar as it is now (re-read from
// the provider just before writing, never the cache), serialized per room,
// and recorded with its outcome under the panel's request id: a retry of
// the same request gets the first answer and never books twice.
package booking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	gosync "sync"
	"time"

	"github.com/lintelhq/lintel/panel/i18n"
	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/store"
)

// Refresher re-reads a room's calendar and pushes its state (the syncer).
type Refresher interface {
	Refresh(ctx context.Context, room string) error
}

// States gives the last state published for a room (the syncer), so
// auto-release looks for no-shows without reading every calendar again.
type States interface {
	State(room string) (proto.State, bool)
}

// Store is what the service keeps: rooms' settings (read), the outcome of
// each request under its id (so a retry gets the first answer) and
// check-ins. *store.DB is one; the outcome and its check-in are written
// together so a crash cannot record one without the other.
type Store interface {
	Room(id string) (store.Room, error)
	Rooms() ([]store.Room, error)
	Outcome(device, id string) (store.Outcome, error)
	PutOutcome(o store.Outcome) error
	PutOutcomeCheckIn(o store.Outcome, room, event string, at time.Time) error
	PutCheckIn(room, event string, at time.Time) error
	CheckedIn(room, event string) bool
}

// Opts configures the Service. Zero values take the documented defaults.
type Opts struct {
	Provider calendar.Provider // required
	Store    Store             // required
	Sync     Refresher         // required
	// States, when set, lets auto-release find candidates in the last
	// published states and read a calendar only when a release is due.
	// Without it every pass reads every check-in room's calendar.
	States States
	Logger *slog.Logger     // default: discard
	Now    func() time.Time // default: time.Now
	// Subject, when set, is the subject of every event booked at a
	// panel. By default it is "Booked at the panel" in the room's
	// language (package i18n, the panels' catalog).
	Subject string
	// SettleDelay: after a change the room is refreshed at once and again
	// after this delay, since Graph is eventually consistent. Default 5 s.
	SettleDelay time.Duration
	// Observe, when set, is told every request's action and outcome ("ok"
	// or the error code), for metrics.
	Observe func(action, outcome string)
	// LockRoom, with several replicas, takes the room's lock across all
	// of them, so that a request and its retry through another replica,
	// or two panels on two replicas, are carried out one after the other.
	LockRoom func(ctx context.Context, room string) (unlock func(), err error)
	// Transactional, when set and true, says the calendar checks
	// conflicts inside its own writes and finds a retried booking by its
	// transaction id there (the built-in calendar, on bbolt or etcd): a
	// room's requests then run at once instead of one after the other,
	// and neither lock above is taken. Microsoft 365 is not.
	Transactional func() bool
}

// Service handles panel requests.
type Service struct {
	opts Opts
	log  *slog.Logger

	mu    gosync.Mutex
	rooms map[string]*gosync.Mutex // one writer per room at a time

	wg     gosync.WaitGroup // delayed refreshes
	ctx    context.Context  // ends with Close
	cancel context.CancelFunc
}

// New returns a Service.
func New(opts Opts) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SettleDelay <= 0 {
		opts.SettleDelay = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{opts: opts, log: opts.Logger, rooms: map[string]*gosync.Mutex{}, ctx: ctx, cancel: cancel}
}

// Close stops the delayed refreshes.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

// lock takes the room's lock in this process and, with several replicas,
// across them.
func (s *Service) lock(ctx context.Context, room string) (unlock func(), err error) {
	local := s.roomLock(room)
	local.Lock()
	if s.opts.LockRoom == nil {
		return local.Unlock, nil
	}
	shared, err := s.opts.LockRoom(ctx, room)
	if err != nil {
		local.Unlock()
		return nil, err
	}
	return func() { shared(); local.Unlock() }, nil
}

func (s *Service) roomLock(room string) *gosync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.rooms[room]
	if !ok {
		m = &gosync.Mutex{}
		s.rooms[room] = m
	}
	return m
}

// CheckedIn implements sync.CheckIns.
func (s *Service) CheckedIn(room, eventID string) bool { return s.opts.Store.CheckedIn(room, eventID) }

// Request carries out one panel request from device deviceID in room
// roomID, identified by id. It never returns an error: failures are
// answers the panel shows.
func (s *Service) Request(ctx context.Context, deviceID, roomID, id string, req proto.Request) proto.Result {
	if s.opts.Transactional == nil || !s.opts.Transactional() {
		unlock, err := s.lock(ctx, roomID)
		if err != nil {
			s.log.Warn("cannot take the room's booking lock", "room", roomID, "err", err)
			res, _ := fail(proto.CodeUnavailable, proto.ReasonNotSaved, "the server cannot save bookings right now; try again in a minute")
			return res
		}
		defer unlock()
	}

	// A retry of a request already carried out gets the same answer.
	if o, err := s.opts.Store.Outcome(deviceID, id); err == nil {
		var res proto.Result
		if err := json.Unmarshal(o.Result, &res); err == nil {
			return res
		}
	}

	start := s.opts.Now()
	res, summary := s.carryOut(ctx, deviceID, roomID, id, req)
	if s.opts.Observe != nil {
		outcome := "ok"
		if !res.OK && res.Error != nil {
			outcome = string(res.Error.Code)
		}
		s.opts.Observe(string(req.Action), outcome)
	}
	if !res.OK && res.Error != nil && res.Error.Code == proto.CodeUnavailable {
		// Not recorded: the same request may succeed when retried.
		return res
	}
	data, _ := json.Marshal(res)
	o := store.Outcome{Device: deviceID, ID: id, Room: roomID, Action: string(req.Action), At: start.UTC(), Result: data, Summary: summary}
	var err error
	if req.Action == proto.ActionBook && res.OK && res.Meeting != nil && !res.Meeting.Start.After(start) && req.Room == "" {
		// Whoever books at the door for now is in the room: that
		// counts as checking in, recorded with the outcome in one
		// transaction. A booking for later, or of a room nearby, is
		// checked in to at that room's door.
		err = s.opts.Store.PutOutcomeCheckIn(o, roomID, res.Meeting.ID, start)
	} else {
		err = s.opts.Store.PutOutcome(o)
	}
	if err != nil {
		s.log.Error("cannot record request outcome; a retry may act again", "device", deviceID, "request", id, "err", err)
	}
	s.log.Info("panel request", "device", deviceID, "room", roomID, "action", req.Action, "ok", res.OK, "summary", summary)
	if res.OK {
		s.refresh(roomID)
	}
	return res
}

// refresh pushes the room's new state: at once, but after the answer (the
// panel shows the answer's meeting without waiting for the calendar to be
// read again), and again after SettleDelay.
func (s *Service) refresh(room string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.opts.Sync.Refresh(s.ctx, room); err != nil {
			s.log.Warn("refresh after a change failed", "room", room, "err", err)
		}
		select {
		case <-s.ctx.Done():
		case <-time.After(s.opts.SettleDelay):
			s.opts.Sync.Refresh(s.ctx, room)
		}
	}()
}

// fail refuses a request with a code and a reason the panel words in its
// language (params as name, value pairs); msg is the English for the
// activity log.
func fail(code proto.Code, reason proto.Reason, msg string, params ...string) (proto.Result, string) {
	return proto.Result{Error: proto.Refusal(code, reason, msg, params...)}, msg
}

// subject is the subject of an event booked at a panel of room.
func (s *Service) subject(room store.Room) string {
	if s.opts.Subject != "" {
		return s.opts.Subject
	}
	return i18n.Resolve(room.Language).W.WalkUp
}

// carryOut does the work and says what happened, for the activity log.
func (s *Service) carryOut(ctx context.Context, deviceID, roomID, id string, req proto.Request) (proto.Result, string) {
	room, err := s.opts.Store.Room(roomID)
	if err != nil {
		return fail(proto.CodeNotFound, proto.ReasonNoRoom, "this panel's room no longer exists; ask facilities to assign it to a room")
	}
	loc, err := time.LoadLocation(room.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	now := s.opts.Now()
	// The read covers every instant a booking or extension may reach, so
	// conflicts are checked over the whole interval.
	limit := bookingLimit(room, loc, now)
	from, to := now.Add(-24*time.Hour), now.Add(36*time.Hour)
	if to.Before(limit) {
		to = limit.Add(time.Hour)
	}
	got, err := s.opts.Provider.Events(ctx, []string{room.Calendar}, from, to)
	if err == nil {
		err = got[room.Calendar].Err
	}
	if err != nil {
		s.log.Warn("cannot read the calendar before a change", "room", roomID, "err", err)
		return fail(proto.CodeUnavailable, proto.ReasonCalendarDown, "the calendar cannot be reached right now; try again in a minute")
	}
	events := got[room.Calendar].Events
	meetings := make([]proto.Meeting, len(events))
	for i, e := range events {
		meetings[i] = proto.Meeting{ID: e.ID, Start: e.Start, End: e.End, AllDay: e.AllDay}
	}
	rules := proto.Rules{SoonMinutes: room.Booking.SoonMinutes, BookStepMinutes: room.Booking.StepMinutes,
		CheckInBeforeMinutes: room.Booking.CheckInBefore, CheckInAfterMinutes: room.Booking.CheckInAfter}

	switch req.Action {
	case proto.ActionBook:
		// A retry whose first answer was lost (a timeout, a crash before
		// the outcome was recorded) finds its own event by the
		// transactionId before anything else is checked: the room is
		// busy with its own booking, not someone else's.
		if ev, ok := byTransaction(events, transactionID(deviceID, id)); ok {
			return s.booked(room, loc, ev, now, " (the first answer was lost)")
		}
		return s.book(ctx, room, loc, rules, meetings, now, limit, deviceID, id, req)
	case proto.ActionExtend:
		return s.extend(ctx, room, loc, meetings, now, limit, req)
	case proto.ActionEnd:
		return s.end(ctx, room, meetings, now, req)
	case proto.ActionCheckIn:
		return s.checkIn(room, loc, rules, meetings, now, req)
	}
	return fail(proto.CodeBadRequest, "", fmt.Sprintf("unknown action %q", req.Action))
}

// bookingLimit is the latest a booking made or extended at now may end:
// the room's longest booking (store.DefaultMaxBookingMinutes, which is
// proto.MaxBooking, unless set) from now, and today's end of office hours
// when the room has them and they have not ended yet.
func bookingLimit(room store.Room, loc *time.Location, now time.Time) time.Time {
	longest := room.Booking.MaxMinutes
	if longest <= 0 {
		longest = store.DefaultMaxBookingMinutes
	}
	limit := now.Truncate(time.Minute).Add(time.Duration(longest) * time.Minute)
	if clock, err := time.Parse("15:04", room.Booking.OfficeEnd); err == nil {
		local := now.In(loc)
		end := time.Date(local.Year(), local.Month(), local.Day(), clock.Hour(), clock.Minute(), 0, 0, loc)
		if now.Before(end) && end.Before(limit) {
			limit = end
		}
	}
	return limit
}

// byTransaction finds the event a booking with transaction id tid created.
func byTransaction(events []calendar.Event, tid string) (calendar.Event, bool) {
	for _, e := range events {
		if e.TransactionID == tid {
			return e, true
		}
	}
	return calendar.Event{}, false
}

// overlaps returns a meeting that overlaps [start, end), if any.
func overlaps(meetings []proto.Meeting, start, end time.Time, loc *time.Location) (proto.Meeting, bool) {
	for _, m := range meetings {
		s, e := proto.Span(m, loc)
		if s.Before(end) && start.Before(e) {
			return m, true
		}
	}
	return proto.Meeting{}, false
}

func (s *Service) book(ctx context.Context, room store.Room, loc *time.Location, rules proto.Rules, meetings []proto.Meeting, now, limit time.Time, deviceID, id string, req proto.Request) (proto.Result, string) {
	if !room.Booking.Instant {
		return fail(proto.CodeNotAllowed, proto.ReasonBookingOff, "booking at the panel is not allowed in this room")
	}
	if req.Teams && !room.Booking.Teams {
		return fail(proto.CodeNotAllowed, proto.ReasonTeamsOff, "Teams meetings cannot be booked at the panel in this room")
	}
	start := now.Truncate(time.Minute)
	later := false
	if !req.Start.IsZero() {
		// A booking later today, of a slot the panel showed
		// (proto.LaterSlots). One whose start passed while someone
		// chose is a booking from now.
		at := req.Start.Truncate(time.Minute).UTC()
		if y, m, d := at.In(loc).Date(); !sameDay(y, m, d, now.In(loc)) {
			return fail(proto.CodeBadRequest, proto.ReasonLaterToday, "a booking at the panel is for today: pick a time later today")
		}
		if at.After(start) {
			start, later = at, true
			limit = bookingLimit(room, loc, start)
		}
	}
	var end time.Time
	if req.Minutes > 0 {
		end = proto.BookEnd(start, req.Minutes, rules.BookStep(), loc)
	} else {
		// The end the panel's button showed (proto.BookChoices): what it
		// said is what is booked.
		end = req.Until.UTC()
	}
	if end.Sub(start) > proto.MaxBooking {
		return fail(proto.CodeBadRequest, proto.ReasonTooLong, fmt.Sprintf("a booking at the panel lasts at most %d minutes", int(proto.MaxBooking.Minutes())),
			"minutes", strconv.Itoa(int(proto.MaxBooking.Minutes())))
	}
	if end.Sub(start) < proto.MinBooking {
		return fail(proto.CodeBadRequest, proto.ReasonTooShort, "a booking lasts at least 5 minutes", "minutes", strconv.Itoa(int(proto.MinBooking.Minutes())))
	}
	// Every booking is bounded by the room's longest booking and today's
	// end of office hours: one asking for more gets the longest allowed
	// here (the panel does not know these limits), which the answer shows.
	if end.After(limit) {
		end = limit
		if end.Sub(start) < proto.MinBooking {
			return fail(proto.CodeNotAllowed, proto.ReasonBookingOff, "bookings at the panel end by "+limit.In(loc).Format("15:04")+" in this room")
		}
	}
	if next, free := proto.FreeUntil(meetings, now, loc); !later && (!free || (!next.IsZero() && end.After(next))) {
		return fail(proto.CodeConflict, proto.ReasonTaken, "the room was just booked by someone else")
	}
	if _, busy := overlaps(meetings, start, end, loc); busy {
		return fail(proto.CodeConflict, proto.ReasonTaken, "the room is booked during that time")
	}
	ev, err := s.opts.Provider.Book(ctx, room.Calendar, calendar.Booking{
		Subject: s.subject(room), Start: start, End: end, Teams: req.Teams,
		TransactionID: transactionID(deviceID, id),
	})
	switch {
	case errors.Is(err, calendar.ErrConflict):
		return fail(proto.CodeConflict, proto.ReasonTaken, "the room was just booked by someone else")
	case errors.Is(err, calendar.ErrNoOnlineMeeting):
		return fail(proto.CodeNotAllowed, proto.ReasonTeamsFailed, "no Teams meeting could be created for this room; book without Teams")
	case err != nil:
		s.log.Warn("booking failed", "room", room.ID, "err", err)
		return fail(proto.CodeUnavailable, proto.ReasonCalendarDown, "the calendar could not be changed; try again in a minute")
	}
	return s.booked(room, loc, ev, now, "")
}

// booked is the answer to a booking that created ev.
// The check-in that booking at the door counts as is recorded with the
// outcome (Request).
func (s *Service) booked(room store.Room, loc *time.Location, ev calendar.Event, now time.Time, note string) (proto.Result, string) {
	m := proto.Meeting{ID: ev.ID, Title: s.subject(room), Start: ev.Start, End: ev.End, Online: ev.Online, Booked: true}
	return proto.Result{OK: true, Meeting: &m, JoinURL: ev.JoinURL},
		fmt.Sprintf("booked %s to %s%s", ev.Start.In(loc).Format("15:04"), ev.End.In(loc).Format("15:04"), note)
}

// sameDay reports whether the date y-m-d is t's.
func sameDay(y int, m time.Month, d int, t time.Time) bool {
	ty, tm, td := t.Date()
	return y == ty && m == tm && d == td
}

// transactionID makes the provider's write idempotent per panel request.
func transactionID(deviceID, id string) string {
	sum := sha256.Sum256([]byte(deviceID + "\x00" + id))
	return calendar.PanelTransactionPrefix + hex.EncodeToString(sum[:16])
}

func current(meetings []proto.Meeting, id string, now time.Time) (proto.Meeting, bool) {
	for _, m := range meetings {
		if m.ID == id && !m.Start.After(now) && m.End.After(now) {
			return m, true
		}
	}
	return proto.Meeting{}, false
}

func (s *Service) extend(ctx context.Context, room store.Room, loc *time.Location, meetings []proto.Meeting, now, limit time.Time, req proto.Request) (proto.Result, string) {
	if !room.Booking.ExtendEnd {
		return fail(proto.CodeNotAllowed, proto.ReasonExtendOff, "meetings cannot be extended at the panel in this room")
	}
	m, ok := current(meetings, req.MeetingID, now)
	if !ok {
		return fail(proto.CodeNotFound, proto.ReasonNotOn, "that meeting is not on now")
	}
	end := m.End.Add(time.Duration(req.Minutes) * time.Minute)
	if end.After(limit) {
		end = limit // bounded like a booking
		if !end.After(m.End) {
			return fail(proto.CodeNotAllowed, proto.ReasonExtendOff, "meetings cannot be extended at the panel past "+limit.In(loc).Format("15:04")+" in this room")
		}
	}
	for _, o := range meetings {
		if o.ID != m.ID && o.Start.Before(end) && o.End.After(m.End) {
			return fail(proto.CodeConflict, proto.ReasonBookedNext, "the room is booked right after this meeting")
		}
	}
	ev, err := s.opts.Provider.SetEnd(ctx, room.Calendar, m.ID, end)
	if errors.Is(err, calendar.ErrConflict) {
		return fail(proto.CodeConflict, proto.ReasonBookedNext, "the room is booked right after this meeting")
	} else if err != nil {
		s.log.Warn("extend failed", "room", room.ID, "err", err)
		return fail(proto.CodeUnavailable, proto.ReasonCalendarDown, "the calendar could not be changed; try again in a minute")
	}
	m.End = ev.End
	return proto.Result{OK: true, Meeting: &m}, "extended to " + ev.End.In(loc).Format("15:04")
}

func (s *Service) end(ctx context.Context, room store.Room, meetings []proto.Meeting, now time.Time, req proto.Request) (proto.Result, string) {
	if !room.Booking.ExtendEnd {
		return fail(proto.CodeNotAllowed, proto.ReasonExtendOff, "meetings cannot be ended at the panel in this room")
	}
	m, ok := current(meetings, req.MeetingID, now)
	if !ok {
		return fail(proto.CodeNotFound, proto.ReasonNotOn, "that meeting is not on now")
	}
	end := now.Truncate(time.Minute)
	if !end.After(m.Start) {
		end = m.Start.Add(time.Minute)
	}
	ev, err := s.opts.Provider.SetEnd(ctx, room.Calendar, m.ID, end)
	if err != nil {
		s.log.Warn("end early failed", "room", room.ID, "err", err)
		return fail(proto.CodeUnavailable, proto.ReasonCalendarDown, "the calendar could not be changed; try again in a minute")
	}
	m.End = ev.End
	return proto.Result{OK: true, Meeting: &m}, "ended early"
}

func (s *Service) checkIn(room store.Room, loc *time.Location, rules proto.Rules, meetings []proto.Meeting, now time.Time, req proto.Request) (proto.Result, string) {
	if !room.Booking.CheckIn {
		return fail(proto.CodeNotAllowed, proto.ReasonCheckInOff, "this room does not use check-in")
	}
	for _, m := range meetings {
		if m.ID != req.MeetingID {
			continue
		}
		if now.Before(m.Start.Add(-rules.CheckInBefore())) || !now.Before(m.End) {
			return fail(proto.CodeNotAllowed, proto.ReasonCheckInEarly, fmt.Sprintf("check-in opens %d minutes before the meeting", int(rules.CheckInBefore().Minutes())), "minutes", strconv.Itoa(int(rules.CheckInBefore().Minutes())))
		}
		if err := s.opts.Store.PutCheckIn(room.ID, m.ID, now); err != nil {
			s.log.Error("cannot record a check-in", "room", room.ID, "err", err)
			return fail(proto.CodeUnavailable, proto.ReasonNotSaved, "the check-in could not be saved; try again")
		}
		m.CheckIn, m.CheckedIn = true, true
		return proto.Result{OK: true, Meeting: &m}, "checked in to the meeting at " + m.Start.In(loc).Format("15:04")
	}
	return fail(proto.CodeNotFound, proto.ReasonNoMeeting, "that meeting is not in this room's calendar")
}
