// Package calendar defines the contract between Lintel and a room-calendar
// backend: Microsoft 365 through Microsoft Graph (package graph) or Lintel's
// own built-in calendar (package builtin).
//
// A Provider knows rooms only by their calendar address: a mailbox address
// for Microsoft 365, a room id for the built-in calendar. Everything else
// about a room (its name, time zone, display mode) lives in the store; the
// provider sees none of it, so it cannot leak what a panel must not show.
package calendar

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Event is one meeting in a room's calendar, as the backend reports it.
// Cancelled events and events shown as free are dropped by the provider.
type Event struct {
	ID        string // the backend's stable id (Graph: immutable id)
	Subject   string // never leaves the server when Private is set
	Organizer string // display name of the organizer
	// OrganizerAddress is the organizer's e-mail address. It never
	// reaches a panel or the meetings kept for the utilization figures;
	// it is read only to tell an organizer about their meetings (the
	// recurring no-show alert, when the admin turned that on).
	OrganizerAddress string
	Start            time.Time // UTC; for all-day events, midnight of the first day in UTC terms
	End              time.Time // UTC, exclusive
	AllDay           bool
	Private          bool   // sensitivity private or confidential
	Online           bool   // an online (Teams) meeting
	JoinURL          string // the online meeting's join URL, when there is one
	// TransactionID is the Booking.TransactionID the event was created
	// with ("" for others): a retry finds its own booking by it.
	TransactionID string
	// SeriesID names the series an occurrence of a recurring meeting
	// belongs to (Graph: seriesMasterId); "" for a single meeting and for
	// a backend without series (the built-in calendar).
	SeriesID string
}

// Booking asks a provider to create an event in a room's calendar.
type Booking struct {
	Subject string
	Start   time.Time
	End     time.Time
	// Teams asks for a Teams meeting. A provider that cannot create one
	// returns ErrNoOnlineMeeting rather than an event without a join URL.
	Teams bool
	// TransactionID makes creation idempotent: a retry with the same id
	// (PanelTransactionPrefix and a hash for a booking at a panel)
	// returns the event the first call created.
	TransactionID string
}

// RoomEvents is the answer for one room in a batched read. Err is set when
// that room alone failed; the other rooms of the batch are still good.
type RoomEvents struct {
	Events []Event
	Err    error
}

// Provider is a calendar backend. Implementations are safe for concurrent use.
type Provider interface {
	// Name is a short, stable label for logs and metrics: "builtin", "graph".
	Name() string

	// Events lists the events of each room that overlap [from, to), sorted by
	// start. Backends that can batch (Graph's $batch) read many rooms in one
	// round trip. The map has an entry for every requested room; a failure
	// that affects all rooms (auth, network) is returned as the error.
	Events(ctx context.Context, rooms []string, from, to time.Time) (map[string]RoomEvents, error)

	// Book creates an event in the room's calendar.
	Book(ctx context.Context, room string, b Booking) (Event, error)

	// SetEnd moves the end of an event: extend, or end early.
	SetEnd(ctx context.Context, room, eventID string, end time.Time) (Event, error)

	// Release frees the room from an event that nobody checked in to: the
	// room declines it with comment, which tells the organizer.
	Release(ctx context.Context, room, eventID, comment string) error

	// Check diagnoses the provider's access to one room's calendar.
	Check(ctx context.Context, room string) Diagnosis
}

// OnlineMeetings is implemented by providers that can add a Teams meeting
// to a booking in some rooms. A panel offers "Teams meeting" only when the
// room's settings allow it and the provider says its calendar can host
// one, so that the offer is as honest as the outcome.
type OnlineMeetings interface {
	// OnlineMeetings reports, per room, whether a Teams meeting can be
	// created in it. Answers are cached by the provider, so it is cheap
	// to ask on every poll; a room it cannot tell about yet is false.
	OnlineMeetings(ctx context.Context, rooms []string) map[string]bool
}

// Status is the outcome of a Check, one word the admin UI colours.
type Status string

const (
	StatusOK           Status = "ok"
	StatusDenied       Status = "denied"
	StatusNotFound     Status = "not found"
	StatusThrottled    Status = "throttled"
	StatusAuthFailed   Status = "auth failed"
	StatusTitlesHidden Status = "titles hidden"
	StatusError        Status = "error"
)

// Diagnosis is what Check found for one room: a status and one sentence
// that tells the admin exactly what to do about it ("" when OK).
type Diagnosis struct {
	Room   string `json:"room"`
	Status Status `json:"status"`
	Detail string `json:"detail"`        // what happened, in plain words
	Fix    string `json:"fix,omitempty"` // what to do about it
}

// Diagnose is the one wording of a calendar failure: the server log, the
// doctor command, the admin UI's "test all" and rooms page, /healthz and
// the metrics labels all take their words from it, so an admin reads the
// same diagnosis and fix wherever it appears. A nil err is StatusOK.
func Diagnose(room string, err error) Diagnosis {
	d := Diagnosis{Room: room, Status: StatusOf(err)}
	if err == nil {
		return d
	}
	d.Detail = err.Error()
	var ce *Error
	if errors.As(err, &ce) {
		d.Detail, d.Fix = ce.Msg, ce.Fix
		if d.Detail == "" {
			d.Detail = ce.Kind.Error()
		}
	}
	return d
}

// StatusOf maps an error to its status word: the kind of *Error it
// wraps, StatusError for anything else, StatusOK for nil.
func StatusOf(err error) Status {
	switch {
	case err == nil:
		return StatusOK
	case errors.Is(err, ErrDenied):
		return StatusDenied
	case errors.Is(err, ErrNotFound):
		return StatusNotFound
	case errors.Is(err, ErrThrottled):
		return StatusThrottled
	case errors.Is(err, ErrAuth):
		return StatusAuthFailed
	}
	return StatusError
}

// Statuses lists every status word, for metrics that start each label at 0.
var Statuses = []Status{StatusOK, StatusDenied, StatusNotFound, StatusThrottled, StatusAuthFailed, StatusTitlesHidden, StatusError}

// String is the diagnosis on one line, "status: detail; fix: fix", as the
// log prints it.
func (d Diagnosis) String() string {
	s := string(d.Status)
	if d.Detail != "" {
		s += ": " + d.Detail
	}
	if d.Fix != "" {
		s += "; fix: " + d.Fix
	}
	return s
}

// Error kinds. Providers wrap them (errors.Is works) in an *Error that
// carries the room and the admin-facing explanation.
var (
	ErrNotFound        = errors.New("not found")
	ErrDenied          = errors.New("access denied")
	ErrAuth            = errors.New("authentication failed")
	ErrThrottled       = errors.New("throttled")
	ErrConflict        = errors.New("the slot is already taken")
	ErrUnavailable     = errors.New("calendar unreachable")
	ErrNoOnlineMeeting = errors.New("no Teams meeting was created")
	// ErrRefused is a request the backend refused for a reason that is
	// none of the above, and that a retry will not cure.
	ErrRefused = errors.New("refused")
)

// Error is a provider failure for one room, with what to do about it.
type Error struct {
	Kind error  // one of the Err* values above
	Room string // the room's calendar address, "" when not room specific
	Msg  string // what happened
	Fix  string // what the admin should do, "" when nothing
	// RetryAfter is set for throttling when the backend said how long to wait.
	RetryAfter time.Duration
}

// Error reads "room: kind: what happened; fix: what to do", so that a log
// line carries the same diagnosis and fix as doctor and the admin UI.
func (e *Error) Error() string {
	s := e.Kind.Error()
	if e.Room != "" {
		s = e.Room + ": " + s
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Fix != "" {
		s += "; fix: " + e.Fix
	}
	return s
}

func (e *Error) Unwrap() error { return e.Kind }

// Errorf builds an *Error of the given kind for a room.
func Errorf(kind error, room, format string, args ...any) *Error {
	return &Error{Kind: kind, Room: room, Msg: fmt.Sprintf(format, args...)}
}

// Subscriber is implemented by providers that can notify Lintel of
// changes (Microsoft Graph change notifications), so that a room is
// re-read when it changes instead of on every poll.
type Subscriber interface {
	// Subscribe creates one subscription per request (batched where the
	// backend can) and answers by room. A room whose subscription cannot
	// be created gets Err (a *calendar.Error with the fix) and is polled.
	Subscribe(ctx context.Context, reqs []SubscribeRequest) map[string]Subscription
	// Renew moves the expiry of subscriptions (by id); an id that Graph
	// no longer knows gets Err wrapping ErrNotFound.
	Renew(ctx context.Context, ids []string, expires time.Time) map[string]Subscription
	// Unsubscribe deletes subscriptions by id; one already gone is no error.
	Unsubscribe(ctx context.Context, ids []string) map[string]error
	// MaxSubscriptionLifetime is how far ahead a subscription may expire.
	MaxSubscriptionLifetime() time.Duration
}

// SubscribeRequest asks for change notifications on a room's events.
type SubscribeRequest struct {
	Room            string // calendar address
	NotificationURL string
	LifecycleURL    string
	ClientState     string // the secret the backend sends with every notification
	Expires         time.Time
}

// Subscription is the outcome of creating or renewing a subscription.
type Subscription struct {
	Room    string
	ID      string
	Expires time.Time
	Err     error
}

// PanelTransactionPrefix starts the transaction id of every event booked
// at a panel, which is how a calendar read tells them from the others.
const PanelTransactionPrefix = "lintel-"
