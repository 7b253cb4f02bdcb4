package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Encode validates m and returns its wire form. Both sides encode through
// here, so neither sends what the other would refuse.
func Encode(m Message) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("proto: encode %s: %w", m.Type, err)
	}
	if len(b) > MaxFrameBytes {
		return nil, NewError(CodeBadRequest, fmt.Sprintf("%s frame is %d bytes, over the %d byte limit", m.Type, len(b), MaxFrameBytes))
	}
	return b, nil
}

// Decode parses one frame strictly: unknown fields, unknown types, a
// missing or extra payload, missing required fields and frames over
// MaxFrameBytes are all errors. The error is an *Error with CodeBadRequest
// whose message says what was wrong, fit to send back to the peer.
func Decode(data []byte) (Message, error) {
	if len(data) > MaxFrameBytes {
		return Message{}, NewError(CodeBadRequest, fmt.Sprintf("frame is %d bytes, over the %d byte limit", len(data), MaxFrameBytes))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Message
	if err := dec.Decode(&m); err != nil {
		return Message{}, NewError(CodeBadRequest, "frame is not a valid message: "+jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Message{}, NewError(CodeBadRequest, "frame has data after the message")
	}
	if err := m.Validate(); err != nil {
		return Message{}, err
	}
	return m, nil
}

// jsonProblem shortens encoding/json's error to what a peer can act on.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("JSON syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type (%s, want %s)", typ.Field, typ.Value, typ.Type)
	}
	return err.Error()
}

// Validate checks that the message has the payload its type names, no
// other, and the payload's required fields.
func (m Message) Validate() error {
	payloads := map[Type]bool{
		TypeHello:      m.Hello != nil,
		TypeState:      m.State != nil,
		TypeRequest:    m.Request != nil,
		TypeResult:     m.Result != nil,
		TypeError:      m.Error != nil,
		TypePairing:    m.Pairing != nil,
		TypeCredential: m.Credential != nil,
		TypeCommand:    m.Command != nil,
		TypeReport:     m.Report != nil,
		TypeSettings:   m.Settings != nil,
		TypeFirmware:   m.Firmware != nil,
	}
	if m.Type == "" {
		return bad("message has no type")
	}
	present, known := payloads[m.Type]
	if !known {
		return bad(fmt.Sprintf("unknown message type %q", m.Type))
	}
	if !present {
		return bad(fmt.Sprintf("%s message has no %q payload", m.Type, m.Type))
	}
	for t, p := range payloads {
		if p && t != m.Type {
			return bad(fmt.Sprintf("%s message also carries a %q payload", m.Type, t))
		}
	}
	if len(m.ID) > 128 {
		return bad("message id is longer than 128 bytes")
	}
	switch m.Type {
	case TypeHello:
		return m.Hello.validate()
	case TypeState:
		return m.State.validate()
	case TypeRequest:
		if m.ID == "" {
			return bad("request has no id")
		}
		return m.Request.validate()
	case TypeResult:
		if m.ID == "" {
			return bad("result has no id")
		}
		if !m.Result.OK && m.Result.Error == nil {
			return bad("failed result has no error")
		}
	case TypeError:
		if m.Error.Code == "" {
			return bad("error has no code")
		}
	case TypePairing:
		if m.Pairing.Code == "" || m.Pairing.Expires.IsZero() {
			return bad("pairing needs a code and an expiry")
		}
	case TypeCredential:
		if m.Credential.DeviceID == "" || m.Credential.Token == "" {
			return bad("credential needs a device id and a token")
		}
	case TypeCommand:
		if m.Command.Name == "" {
			return bad("command has no name")
		}
	case TypeReport:
		if m.Report.Kind == "" {
			return bad("report has no kind")
		}
	case TypeSettings:
		return m.Settings.Validate()
	case TypeFirmware:
		f := m.Firmware
		switch {
		case f.Action == FirmwareRollback:
		case f.Action != FirmwareInstall:
			return bad(fmt.Sprintf("firmware action %q is not install or rollback", f.Action))
		case f.Version == "" || f.Path == "" || f.Size <= 0 || len(f.SHA256) != 64 || len(f.Signature) != 64:
			return bad("firmware install needs a version, a path, a size, a SHA-256 and a 64-byte signature")
		}
	}
	return nil
}

func (h *Hello) validate() error {
	if h.Protocol <= 0 {
		return bad("hello needs a protocol version")
	}
	if h.Firmware == "" {
		return bad("hello needs a firmware version")
	}
	if len(h.Accepts) > 16 || len(h.Arch) > 32 {
		return bad("hello names too many capabilities or too long an arch")
	}
	return nil
}

func (s *State) validate() error {
	if s.Room.ID == "" || s.Room.Name == "" || s.Room.TimeZone == "" {
		return bad("state needs a room id, name and time zone")
	}
	if s.ServerTime.IsZero() {
		return bad("state needs the server time")
	}
	for i, m := range s.Meetings {
		if m.ID == "" {
			return bad(fmt.Sprintf("meeting %d has no id", i))
		}
		if !m.End.After(m.Start) {
			return bad(fmt.Sprintf("meeting %s ends before it starts", m.ID))
		}
	}
	return nil
}

func (r *Request) validate() error {
	switch r.Action {
	case ActionBook:
		if r.Minutes <= 0 && r.Until.IsZero() {
			return bad("book needs minutes or an end time")
		}
	case ActionExtend:
		if r.MeetingID == "" || r.Minutes <= 0 {
			return bad("extend needs a meeting id and minutes")
		}
	case ActionEnd, ActionCheckIn:
		if r.MeetingID == "" {
			return bad(string(r.Action) + " needs a meeting id")
		}
	case "":
		return bad("request has no action")
	default:
		return bad(fmt.Sprintf("unknown request action %q", r.Action))
	}
	if r.Minutes < 0 || r.Minutes > 24*60 {
		return bad("request minutes must be between 1 and 1440")
	}
	return nil
}

func bad(msg string) *Error { return NewError(CodeBadRequest, msg) }
