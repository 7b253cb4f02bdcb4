// Package proto is the wire protocol between the Lintel server and its door
// panels, and the schedule logic both sides share.
//
// Every frame is one JSON text message on a websocket:
//
//	{"type": "state", "id": "...", "state": {...}}
//
// The envelope carries the type, an optional id, and exactly one payload whose
// key is the type's name. Requests from the panel carry an id and every answer
// echoes it; requests are idempotent by id, so a retry after a dropped
// connection never books twice.
//
// A panel opens with a hello naming the protocol Version it speaks; a server
// that does not speak it answers with an error of code CodeUnsupportedVersion
// and closes the connection, and the panel shows an "update firmware" screen.
//
// Timestamps are UTC RFC 3339. The panel renders them in the room's IANA time
// zone. The package imports only the standard library: the panel binary stays
// small and the server and panel cannot drift apart.
package proto

import "time"

// Version is the protocol version this build speaks. It changes only when an
// old panel could misread a new server (or the reverse); adding an optional
// field does not change it.
const Version = 1

// MaxFrameBytes is the largest frame either side accepts. A day of meetings
// for one room is a few kilobytes; the largest legitimate frame is a
// screenshot report (a PNG of the panel's screen, tens of kilobytes).
// Anything larger is a bug or an attack.
const MaxFrameBytes = 256 << 10

// Type names a message.
type Type string

// The message types. Append only: a type, once shipped, keeps its meaning.
const (
	TypeHello      Type = "hello"      // panel -> server, first frame
	TypeState      Type = "state"      // server -> panel: the room's state
	TypeRequest    Type = "request"    // panel -> server: book, extend, end, check in
	TypeResult     Type = "result"     // server -> panel: answer to a request
	TypeError      Type = "error"      // either way: something was wrong
	TypePairing    Type = "pairing"    // server -> unpaired panel: show this code
	TypeCredential Type = "credential" // server -> panel: pairing approved, keep this
	TypeCommand    Type = "command"    // server -> panel: identify, screenshot, ...
	TypeReport     Type = "report"     // panel -> server: answer to a command, problem report
	// TypeSettings: server -> panel whose hello accepts AcceptSettings:
	// its display settings. Sent after the hello and whenever they
	// change; a panel keeps the last one and applies it at once.
	TypeSettings Type = "settings"
	// TypeFirmware: server -> panel whose hello accepts AcceptFirmware:
	// install this firmware build, or roll back to the one before.
	TypeFirmware Type = "firmware"
)

// Message is one frame. Exactly the payload named by Type is set.
type Message struct {
	Type Type   `json:"type"`
	ID   string `json:"id,omitempty"`

	Hello      *Hello      `json:"hello,omitempty"`
	State      *State      `json:"state,omitempty"`
	Request    *Request    `json:"request,omitempty"`
	Result     *Result     `json:"result,omitempty"`
	Error      *Error      `json:"error,omitempty"`
	Pairing    *Pairing    `json:"pairing,omitempty"`
	Credential *Credential `json:"credential,omitempty"`
	Command    *Command    `json:"command,omitempty"`
	Report     *Report     `json:"report,omitempty"`
	Settings   *Settings   `json:"settings,omitempty"`
	Firmware   *Firmware   `json:"firmware,omitempty"`
}

// Firmware tells a panel to install a firmware build (Action
// FirmwareInstall) or to go back to the build it ran before the last
// install (FirmwareRollback).
type Firmware struct {
	Action  string `json:"action"`            // FirmwareInstall or FirmwareRollback
	Version string `json:"version,omitempty"` // the build's version, as its --version prints it
	// Path is where the panel downloads the build: a path on the server's
	// HTTPS address (the panel's websocket URL with https://), read with
	// the panel's device credential.
	Path   string `json:"path,omitempty"`
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"` // hex
	// Signature is the ed25519 signature of the whole binary, checked
	// with the public key the panel was installed with.
	Signature []byte `json:"signature,omitempty"`
}

// The actions of a Firmware message.
const (
	FirmwareInstall  = "install"
	FirmwareRollback = "rollback"
)

// Hello is the panel's first frame.
type Hello struct {
	Protocol int    `json:"protocol"`           // the Version the panel speaks
	Firmware string `json:"firmware"`           // the panel binary's version
	Width    int    `json:"width,omitempty"`    // screen size in pixels, for previews
	Height   int    `json:"height,omitempty"`   //
	Locale   string `json:"locale,omitempty"`   // e.g. "en", "de", "fr"
	Uptime   int64  `json:"uptime_s,omitempty"` // seconds since the panel started
	// Arch is the panel binary's platform as Go names it ("linux/arm64",
	// "linux/arm/v6"), so the server offers it firmware it can run.
	Arch string `json:"arch,omitempty"`
	// Accepts names the optional message types the panel understands
	// (AcceptSettings, ...). Both sides decode strictly, so a server
	// sends a type added after protocol version 1 only to a panel that
	// names it here, and an old panel, which names nothing, never gets
	// one. (A panel that sends Accepts needs a server that knows the
	// field: servers are upgraded before their panels.)
	Accepts []string `json:"accepts,omitempty"`
}

// State is everything a panel needs to show its room, including what it
// needs to go on showing it correctly while offline.
type State struct {
	Room Room `json:"room"`
	// ServerTime is the server's clock when it sent the state. A panel whose
	// own clock is implausible (a Raspberry Pi boots in 1970) corrects by it.
	ServerTime time.Time `json:"server_time"`
	// Meetings overlap the window from the start of the room's local day to
	// at least 24 h ahead, sorted by start. Their titles are already what
	// the room's display mode allows: the panel shows them as they are.
	Meetings []Meeting `json:"meetings"`
	// Stale is set when the server could not read the calendar lately; the
	// meetings are the last good ones, read at LastSync (zero: never read).
	// Reason says why the read failed, for the panel to word. A panel
	// treats the schedule as unknown once LastSync is older than
	// Rules.StaleAfter (see Known).
	Stale    bool      `json:"stale,omitempty"`
	LastSync time.Time `json:"last_sync,omitzero"`
	Reason   Reason    `json:"reason,omitempty"`
	// Omitted counts the meetings of the window left out because the
	// whole agenda would not fit in a frame (MaxFrameBytes): the server
	// keeps what is on now and next, drops the rest, and says so here.
	Omitted  int      `json:"omitted,omitempty"`
	Features Features `json:"features"`
	Rules    Rules    `json:"rules"`
	// Nearby are up to three free rooms in the same building (the same
	// floor first) that a panel may book from its door, for when its own
	// room is busy. Each is free from now until FreeUntil (zero: the
	// rest of the day).
	Nearby []Nearby `json:"nearby,omitempty"`
}

// Room names the room a panel stands at.
type Room struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	TimeZone string `json:"tz"` // IANA name, e.g. "Europe/Zurich"
	// Hours is the clock the admin chose for the room: 12 or 24. Zero
	// leaves it to the panel (its setting, else its language's custom).
	Hours int `json:"hours,omitempty"`
	// Book is the phone page that books the room today, where booking at
	// the panel is allowed: a panel shows it as a QR code while the room
	// is free.
	Book string `json:"book,omitempty"`
}

// MaxNearby is how many free rooms nearby a state names at most.
const MaxNearby = 3

// Nearby is a free room near a panel's.
type Nearby struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Floor     string    `json:"floor,omitempty"`
	Capacity  int       `json:"capacity,omitempty"` // seats; 0: not said
	FreeUntil time.Time `json:"free_until,omitzero"`
}

// Meeting is one meeting as a panel may show it.
type Meeting struct {
	ID string `json:"id"`
	// Title is the text to show: the subject, the organizer's name or
	// "Reserved", as the room's display mode and the meeting's privacy
	// decide on the server. A private meeting's subject is never sent.
	// When Label is set, a panel shows its own word for the label instead
	// (Title keeps the English word for panels older than the label).
	Title string `json:"title"`
	Label Label  `json:"label,omitempty"`
	// Organizer is the organizer's name, sent only where the room's
	// display mode shows names and the meeting is not private.
	Organizer string    `json:"organizer,omitempty"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	AllDay    bool      `json:"all_day,omitempty"`
	// Private marks a private meeting (its Title is "Reserved", its Label
	// LabelReserved).
	Private bool `json:"private,omitempty"`
	// Online marks a Teams (online) meeting.
	Online bool `json:"online,omitempty"`
	// CheckIn is set when someone must check in at the panel for the
	// meeting to keep the room; CheckedIn once someone has.
	CheckIn   bool `json:"check_in,omitempty"`
	CheckedIn bool `json:"checked_in,omitempty"`
	// Booked marks a meeting booked at a panel.
	Booked bool `json:"booked,omitempty"`
	// Remote is the phone page of a meeting booked at a panel: the panel
	// shows it as a QR code while the meeting is on, and whoever scans it
	// can check in, extend or end that meeting (and nothing else).
	Remote string `json:"remote,omitempty"`
}

// Label is a meeting title a panel words in its own language. Append only.
type Label string

// LabelReserved: the room's display mode or the meeting's privacy allows
// no name ("Reserved", "Reserviert", "Réservé", ...).
const LabelReserved Label = "reserved"

// Features says what the panel may offer in this room.
type Features struct {
	Book      bool `json:"book,omitempty"`       // instant booking
	Teams     bool `json:"teams,omitempty"`      // a Teams meeting with a booking
	ExtendEnd bool `json:"extend_end,omitempty"` // extend or end the current meeting
	CheckIn   bool `json:"check_in,omitempty"`   // check-in and auto-release
}

// Rules are the room's timing rules, so that a panel computes the same
// status as the server while it is offline. Zero values take the defaults
// documented on each field.
type Rules struct {
	// SoonMinutes: a meeting starting within this many minutes turns the
	// room amber. Default 10.
	SoonMinutes int `json:"soon_min,omitempty"`
	// CheckInBeforeMinutes and CheckInAfterMinutes bound the check-in
	// window around a meeting's start. Defaults 5 and 10.
	CheckInBeforeMinutes int `json:"checkin_before_min,omitempty"`
	CheckInAfterMinutes  int `json:"checkin_after_min,omitempty"`
	// BookStepMinutes: booked ends snap to this step. Default 15.
	BookStepMinutes int `json:"book_step_min,omitempty"`
	// StaleAfterMinutes: a schedule last read longer ago than this is
	// unknown, and a panel claims neither free nor busy. It travels with
	// the state so an offline panel applies it too. Default 30.
	StaleAfterMinutes int `json:"stale_after_min,omitempty"`
}

// Action is what a request asks for.
type Action string

// The request actions. Append only.
const (
	ActionBook    Action = "book"
	ActionExtend  Action = "extend"
	ActionEnd     Action = "end"
	ActionCheckIn Action = "checkin"
)

// Request is a panel asking the server to change the room's calendar. The
// envelope's ID identifies it; a retry carries the same ID.
type Request struct {
	Action Action `json:"action"`
	// MeetingID names the meeting to extend, end or check in to.
	MeetingID string `json:"meeting_id,omitempty"`
	// Minutes is the length of an extension, or of a booking (the server
	// rounds its end up with BookEnd).
	Minutes int `json:"minutes,omitempty"`
	// Until books until this time instead: a panel sends the end of the
	// Choice it showed, so the booking ends when the button said.
	Until time.Time `json:"until,omitzero"`
	// Start books from this time later today instead of now (a Slot the
	// panel showed); with Until. Zero means now.
	Start time.Time `json:"start,omitzero"`
	// Room books one of State.Nearby instead of the panel's own room.
	Room string `json:"room,omitempty"`
	// Teams asks for a Teams meeting with the booking.
	Teams bool `json:"teams,omitempty"`
}

// Result answers a Request; the envelope echoes its ID.
type Result struct {
	OK bool `json:"ok"`
	// Meeting is the meeting booked or changed, when OK.
	Meeting *Meeting `json:"meeting,omitempty"`
	// JoinURL is the Teams meeting's join URL, when one was created.
	JoinURL string `json:"join_url,omitempty"`
	// Error says why not, when not OK.
	Error *Error `json:"error,omitempty"`
}

// Pairing is what an unpaired panel shows: a code the admin approves, and
// where.
type Pairing struct {
	Code    string    `json:"code"`    // e.g. "K7Q4-MX2P"
	URL     string    `json:"url"`     // admin URL that carries the code, for the QR code
	Expires time.Time `json:"expires"` // a fresh code comes before this
}

// Credential is sent once, when an admin approves a pairing. The panel
// stores the token (mode 0600) and reconnects with it.
type Credential struct {
	DeviceID string `json:"device_id"`
	Token    string `json:"token"`
}

// String hides the token, so a logged Credential leaks nothing.
func (c Credential) String() string { return "credential(" + c.DeviceID + ")" }

// Command asks a panel to do something for the admin.
type Command struct {
	Name    string `json:"name"`              // "identify", "screenshot"
	Seconds int    `json:"seconds,omitempty"` // how long, for identify
}

// Report is a panel's answer to a command, or a problem reported at the
// door.
type Report struct {
	Kind    string `json:"kind"`              // "screenshot", "problem"
	PNG     []byte `json:"png,omitempty"`     // the current frame, for a screenshot
	Problem string `json:"problem,omitempty"` // e.g. "projector broken"
}

// String summarizes the message for logs: its type and id, never its
// payload (which may hold a credential or a private meeting's details).
func (m Message) String() string {
	if m.ID == "" {
		return string(m.Type)
	}
	return string(m.Type) + " " + m.ID
}
