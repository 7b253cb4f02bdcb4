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
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"` // one sentence a person can act on
}

func (e *Error) Error() string { return "proto: " + string(e.Code) + ": " + e.Message }

// NewError makes an *Error.
func NewError(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// CodeOf returns the code of err if it is or wraps an *Error, else
// CodeInternal.
func CodeOf(err error) Code {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return CodeInternal
}
