package proto

import "errors"

// Code is a stable, machine-readable error kind that survives the wire.
// Append only: a code, once shipped, keeps its meaning, and a panel that
// meets a code it does not know treats it as CodeInternal.
type Code string

// The error codes.
const (
	CodeBadRequest         Code = "bad_request"         // malformed or invalid frame
	CodeUnsupportedVersion Code = "unsupported_version" // panel must update its firmware
	CodeUnauthorized       Code = "unauthorized"        // no or wrong credential
	CodeRevoked            Code = "revoked"             // the device was revoked: pair again
	CodeNotFound           Code = "not_found"           // unknown room or meeting
	CodeConflict           Code = "conflict"            // the room was just booked
	CodeNotAllowed         Code = "not_allowed"         // not allowed in this room
	CodeUnavailable        Code = "unavailable"         // calendar unreachable: try again
	CodeRateLimited        Code = "rate_limited"        // too many attempts: wait
	CodeOffline            Code = "offline"             // panel-side: no connection
	CodeInternal           Code = "internal"            // a bug on the other side
)

// Error is a protocol error: a frame of type "error", the error of a failed
// Result, and the error Decode returns.
//
// Message is English, for logs and the admin; a panel never shows it. It
// words Reason (with Params) in its own language, or Code when it does not
// know the reason.
type Error struct {
	Code    Code              `json:"code"`
	Message string            `json:"message"` // one sentence a person can act on
	Reason  Reason            `json:"reason,omitempty"`
	Params  map[string]string `json:"params,omitempty"`
}

func (e *Error) Error() string { return "proto: " + string(e.Code) + ": " + e.Message }

// NewError makes an *Error.
func NewError(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Refusal makes an *Error with a reason and its parameters, given as
// name, value pairs.
func Refusal(code Code, reason Reason, msg string, params ...string) *Error {
	e := &Error{Code: code, Message: msg, Reason: reason}
	for i := 0; i+1 < len(params); i += 2 {
		if e.Params == nil {
			e.Params = map[string]string{}
		}
		e.Params[params[i]] = params[i+1]
	}
	return e
}

// Reason refines a Code, or says why a calendar could not be read, in
// words a panel chooses. Append only: a reason, once shipped, keeps its
// meaning; a panel that does not know one words the Code instead.
type Reason string

// Why a room's calendar could not be read (State.Reason).
const (
	ReasonDenied      Reason = "denied"      // the calendar refuses Lintel (access policy, permissions)
	ReasonNotFound    Reason = "not_found"   // no such calendar or mailbox
	ReasonSignIn      Reason = "sign_in"     // the server cannot sign in to the calendar service
	ReasonThrottled   Reason = "throttled"   // the calendar service asks to slow down
	ReasonUnreachable Reason = "unreachable" // the calendar service failed or did not answer
	// ReasonNoConnection is the panel's own: it has had no connection to
	// the server for longer than Rules.StaleAfter.
	ReasonNoConnection Reason = "no_connection"
)

// Why a request was refused (Result.Error.Reason), with the Params each
// takes.
const (
	ReasonBookingOff   Reason = "booking_off"   // instant booking is off in this room
	ReasonTeamsOff     Reason = "teams_off"     // no Teams meetings at the panel in this room
	ReasonTeamsFailed  Reason = "teams_failed"  // the Teams meeting could not be created
	ReasonTooShort     Reason = "too_short"     // "minutes": the shortest booking
	ReasonTooLong      Reason = "too_long"      // "minutes": the longest booking
	ReasonTaken        Reason = "taken"         // someone else just booked the room
	ReasonBookedNext   Reason = "booked_next"   // the room is booked right after the meeting
	ReasonExtendOff    Reason = "extend_off"    // meetings cannot be extended or ended here
	ReasonNotOn        Reason = "not_on"        // the meeting is not on now
	ReasonCheckInOff   Reason = "checkin_off"   // the room does not use check-in
	ReasonCheckInEarly Reason = "checkin_early" // "minutes": how long before the start check-in opens
	ReasonNoMeeting    Reason = "no_meeting"    // the meeting is not in the room's calendar
	ReasonNoRoom       Reason = "no_room"       // the panel's room was removed
	ReasonCalendarDown Reason = "calendar_down" // the calendar cannot be read or changed now: retry
	ReasonNotSaved     Reason = "not_saved"     // the server could not save it: retry
	ReasonNotPaired    Reason = "not_paired"    // the panel is not paired yet
	ReasonLaterToday   Reason = "later_today"   // a later booking starts in the past or not today
)

// ReasonVersion: the server and the panel speak different protocol
// versions; Params "server" and "panel" are the two versions.
const ReasonVersion Reason = "version"

// CodeOf returns the code of err if it is or wraps an *Error, else
// CodeInternal.
func CodeOf(err error) Code {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return CodeInternal
}
