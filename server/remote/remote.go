// Package remote is the phone as the remote of a booking made at the
// door: a panel shows a QR code of the meeting's phone page, and whoever
// scans it can check in to, extend or end that meeting, with no login.
//
// The page's address is the capability: it names the room and the meeting
// and carries an HMAC of both under a key kept in the store, so a server
// checks it without a table of issued links, every replica accepts it,
// and it opens that one meeting and nothing else. It works while the
// meeting is in the room's state and has not ended; after that the page
// says the meeting is over.
package remote

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lintelhq/lintel/panel/i18n"
	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/ratelimit"
	"github.com/lintelhq/lintel/server/store"
)

// Path is where the phone pages live: Path + capability.
const Path = "/m/"

// Device is the device id the phone's requests are carried out and
// logged as.
const Device = "phone"

// keySetting is the store's setting that holds the HMAC key.
const keySetting = "remote-key"

// Limits of what a phone may send.
const (
	maxCapability = 1024            // bytes of the capability in the path
	maxForm       = 4 << 10         // bytes of a form
	burst         = 30              // requests per address at once (phones behind one NAT)...
	every         = 2 * time.Second // ...then one every
)

// Store is what the remote needs of the store; *store.DB is one.
type Store interface {
	SettingOrPut(key string, v, def any) error
	Room(id string) (store.Room, error)
}

// States gives a room's last state (sync's).
type States interface {
	State(room string) (proto.State, bool)
}

// Booking carries out a request (booking.Service).
type Booking interface {
	Request(ctx context.Context, deviceID, roomID, id string, req proto.Request) proto.Result
}

// Opts configure a Remote.
type Opts struct {
	Store   Store   // required
	States  States  // required
	Booking Booking // required
	// PublicURL is the server's base URL as phones reach it (the
	// admin's); "" leaves meetings without a phone page.
	PublicURL func() string
	// ClientAddr is the address requests are limited by (behind a
	// trusted proxy, the client's). Default: the connection's.
	ClientAddr func(*http.Request) string
	// Refresh reads a room's calendar again and publishes its state
	// (sync's), so that a booking made on a phone is in the state its
	// page reads. Optional.
	Refresh func(ctx context.Context, room string) error
	Logger  *slog.Logger
	Now     func() time.Time
}

// Remote serves the phone pages.
type Remote struct {
	opts    Opts
	key     []byte
	limiter *ratelimit.Limiter
	page    *template.Template
}

// New loads the key (creating it on first use) and returns a Remote.
func New(opts Opts) (*Remote, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ClientAddr == nil {
		opts.ClientAddr = func(r *http.Request) string { return r.RemoteAddr }
	}
	fresh := make([]byte, 32)
	rand.Read(fresh)
	var key []byte
	if err := opts.Store.SettingOrPut(keySetting, &key, fresh); err != nil {
		return nil, fmt.Errorf("remote: key: %w", err)
	}
	if len(key) < 32 {
		return nil, errors.New("remote: the stored key is too short")
	}
	return &Remote{opts: opts, key: key, page: template.Must(template.New("page").Parse(pageHTML)),
		limiter: ratelimit.New(ratelimit.Opts{Burst: burst, Every: every, Now: opts.Now})}, nil
}

// MeetingURL is the phone page of meeting in room ("" without a public
// URL).
func (r *Remote) MeetingURL(room, meeting string) string {
	base := ""
	if r.opts.PublicURL != nil {
		base = strings.TrimRight(r.opts.PublicURL(), "/")
	}
	if base == "" {
		return ""
	}
	return base + Path + r.capability(room, meeting)
}

// BookURL is the phone page that books room on the day of t in its time
// zone ("" without a public URL). It opens nothing the next day: the
// panel shows the new day's.
func (r *Remote) BookURL(room, timeZone string, t time.Time) string {
	base := ""
	if r.opts.PublicURL != nil {
		base = strings.TrimRight(r.opts.PublicURL(), "/")
	}
	if base == "" {
		return ""
	}
	subject := room + "\n" + day(timeZone, t)
	return base + Path + bookPrefix + base64.RawURLEncoding.EncodeToString([]byte(subject)) + "." + base64.RawURLEncoding.EncodeToString(r.macOf("book", subject))
}

// bookPrefix starts the capability of a room's booking page.
const bookPrefix = "b."

// day is t's date in the zone, as 2026-03-10.
func day(timeZone string, t time.Time) string {
	loc, err := time.LoadLocation(timeZone)
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc).Format(time.DateOnly)
}

func (r *Remote) capability(room, meeting string) string {
	subject := room + "\n" + meeting
	return base64.RawURLEncoding.EncodeToString([]byte(subject)) + "." + base64.RawURLEncoding.EncodeToString(r.mac(subject))
}

func (r *Remote) mac(subject string) []byte { return r.macOf("meeting", subject) }

// macOf signs a subject of a kind ("meeting" or "book"): a signature of
// one kind never opens the other.
func (r *Remote) macOf(kind, subject string) []byte {
	h := hmac.New(sha256.New, r.key)
	h.Write([]byte(kind + "\n" + subject))
	return h.Sum(nil)[:16]
}

// open checks a meeting's capability and returns the room and meeting it
// opens.
func (r *Remote) open(c string) (room, meeting string, ok bool) {
	return r.openKind("meeting", c)
}

// openBook checks a room's booking capability and returns the room and
// the day it books.
func (r *Remote) openBook(c string) (room, day string, ok bool) {
	rest, ok := strings.CutPrefix(c, bookPrefix)
	if !ok {
		return "", "", false
	}
	return r.openKind("book", rest)
}

func (r *Remote) openKind(kind, c string) (string, string, bool) {
	if len(c) > maxCapability {
		return "", "", false
	}
	enc, sig, ok := strings.Cut(c, ".")
	if !ok {
		return "", "", false
	}
	subject, err1 := base64.RawURLEncoding.Strict().DecodeString(enc)
	mac, err2 := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, r.macOf(kind, string(subject))) {
		return "", "", false
	}
	return strings.Cut(string(subject), "\n")
}

// Handler serves GET and POST of Path + capability. Every request, of
// any page, counts once against its address's limit.
func (r *Remote) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Path+"{cap}", r.show)
	mux.HandleFunc("POST "+Path+"{cap}", r.act)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		headers(w)
		if !r.limiter.Allow(r.opts.ClientAddr(req)) {
			http.Error(w, "Too many requests: wait a minute.", http.StatusTooManyRequests)
			return
		}
		mux.ServeHTTP(w, req)
	})
}

// view is what the page shows.
type view struct {
	Lang    string
	Room    string
	Title   string
	Times   string
	Notice  string
	Over    bool
	Actions []action
	Request string
	Refusal bool
	Status  string // a room's booking page: "Free until 11:00"
}

type action struct {
	Name, Label string
	ID          string // the button's id; Name when empty
	Until       int64  // a booking's end (unix seconds)
	Warn        bool
}

// meeting finds the meeting a capability opens in its room's state.
func (r *Remote) meeting(room, id string) (proto.State, proto.Meeting, bool) {
	st, ok := r.opts.States.State(room)
	if !ok {
		return st, proto.Meeting{}, false
	}
	for _, m := range st.Meetings {
		if m.ID == id && m.End.After(r.opts.Now()) {
			return st, m, true
		}
	}
	return st, proto.Meeting{}, false
}

func (r *Remote) show(w http.ResponseWriter, req *http.Request) {
	if strings.HasPrefix(req.PathValue("cap"), bookPrefix) {
		r.renderBook(w, req, "", false)
		return
	}
	r.render(w, req, "", false, nil)
}

// render writes the page of the capability in req, with notice.
// changed, when set, is the meeting as the action left it (the room's
// state may not show it yet).
func (r *Remote) render(w http.ResponseWriter, req *http.Request, notice string, refusal bool, changed *proto.Meeting) {
	roomID, meetingID, ok := r.open(req.PathValue("cap"))
	if !ok {
		http.Error(w, "This link is not valid.", http.StatusNotFound)
		return
	}
	room, lang, loc, ok := r.roomOf(w, roomID)
	if !ok {
		return
	}
	h12 := lang.Hour12(room.Hours, i18n.HourCycleLocale)
	v := view{Lang: lang.Tag, Room: room.Name, Notice: notice, Refusal: refusal}
	st, m, ok := r.meeting(roomID, meetingID)
	if !ok {
		v.Over = true
		if v.Notice == "" {
			v.Notice = lang.W.Ended
		}
		w.WriteHeader(http.StatusGone)
		r.page.Execute(w, v)
		return
	}
	if changed != nil && changed.ID == m.ID {
		m.Start, m.End = changed.Start, changed.End
	}
	v.Title = m.Title
	if m.Label == proto.LabelReserved {
		v.Title = lang.W.Reserved
	}
	v.Times = i18n.Clock(m.Start, loc, h12) + "–" + i18n.Clock(m.End, loc, h12)
	v.Request = newID()
	now := r.opts.Now()
	started := !m.Start.After(now)
	if m.CheckIn && !m.CheckedIn && st.Features.CheckIn {
		v.Actions = append(v.Actions, action{Name: "checkin", Label: lang.W.CheckInButton})
	}
	if st.Features.ExtendEnd && started {
		if free, ok := proto.FreeUntil(st.Meetings, m.End, loc); ok && (free.IsZero() || !free.Before(m.End.Add(15*time.Minute))) {
			v.Actions = append(v.Actions, action{Name: "extend", Label: lang.W.Extend15})
		}
		v.Actions = append(v.Actions, action{Name: "end", Label: lang.W.EndNow, Warn: true})
	}
	r.page.Execute(w, v)
}

func (r *Remote) act(w http.ResponseWriter, req *http.Request) {
	if strings.HasPrefix(req.PathValue("cap"), bookPrefix) {
		r.book(w, req)
		return
	}
	roomID, meetingID, ok := r.open(req.PathValue("cap"))
	if !ok {
		http.Error(w, "This link is not valid.", http.StatusNotFound)
		return
	}
	req.Body = http.MaxBytesReader(w, req.Body, maxForm)
	if err := req.ParseForm(); err != nil {
		http.Error(w, "The form is too large or malformed.", http.StatusBadRequest)
		return
	}
	id := req.PostForm.Get("request")
	if len(id) < 8 || len(id) > 64 {
		http.Error(w, "The form lacks its request id: reload the page.", http.StatusBadRequest)
		return
	}
	var pr proto.Request
	switch req.PostForm.Get("action") {
	case "checkin":
		pr = proto.Request{Action: proto.ActionCheckIn, MeetingID: meetingID}
	case "extend":
		pr = proto.Request{Action: proto.ActionExtend, MeetingID: meetingID, Minutes: 15}
	case "end":
		pr = proto.Request{Action: proto.ActionEnd, MeetingID: meetingID}
	default:
		http.Error(w, "Unknown action.", http.StatusBadRequest)
		return
	}
	room, lang, loc, ok := r.roomOf(w, roomID)
	if !ok {
		return
	}
	// One request id per page and action: a reload or a double tap is
	// the same request, and gets the same answer.
	res := r.opts.Booking.Request(req.Context(), Device, roomID, "phone-"+id+"-"+string(pr.Action), pr)
	notice := lang.W.Done
	switch {
	case !res.OK:
		notice = lang.Error(res.Error)
	case pr.Action == proto.ActionCheckIn:
		notice = lang.W.CheckedIn
	case pr.Action == proto.ActionEnd:
		notice = lang.W.Ended
	case res.Meeting != nil:
		notice = fmt.Sprintf(lang.W.Extended, i18n.Clock(res.Meeting.End, loc, lang.Hour12(room.Hours, i18n.HourCycleLocale)))
	}
	r.opts.Logger.Info("phone request", "room", roomID, "action", pr.Action, "ok", res.OK)
	if res.OK && pr.Action == proto.ActionEnd {
		// The room's state may not show it yet: the meeting is over.
		w.WriteHeader(http.StatusOK)
		r.page.Execute(w, view{Lang: lang.Tag, Room: room.Name, Notice: notice, Over: true})
		return
	}
	r.render(w, req, notice, !res.OK, res.Meeting)
}

// roomOf reads the room a capability names, with its language and zone.
// It has answered the request when ok is false.
func (r *Remote) roomOf(w http.ResponseWriter, id string) (room store.Room, lang i18n.Lang, loc *time.Location, ok bool) {
	room, err := r.opts.Store.Room(id)
	if err != nil {
		http.Error(w, "This link is not valid.", http.StatusNotFound)
		return room, lang, nil, false
	}
	loc, err = time.LoadLocation(room.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	return room, i18n.Resolve(room.Language), loc, true
}

// bookingRoom opens a room's booking capability for today: the room, its
// language and zone. It has answered the request when ok is false.
func (r *Remote) bookingRoom(w http.ResponseWriter, req *http.Request) (room store.Room, lang i18n.Lang, loc *time.Location, ok bool) {
	roomID, d, ok := r.openBook(req.PathValue("cap"))
	if !ok {
		http.Error(w, "This link is not valid.", http.StatusNotFound)
		return room, lang, nil, false
	}
	if room, lang, loc, ok = r.roomOf(w, roomID); !ok {
		return room, lang, loc, false
	}
	if d != day(room.TimeZone, r.opts.Now()) {
		http.Error(w, "This code was for another day: scan the one on the panel again.", http.StatusGone)
		return room, lang, loc, false
	}
	return room, lang, loc, true
}

// renderBook writes a room's booking page: the bookings it offers now,
// as its panel does (proto.BookChoices).
func (r *Remote) renderBook(w http.ResponseWriter, req *http.Request, notice string, refusal bool) {
	room, lang, loc, ok := r.bookingRoom(w, req)
	if !ok {
		return
	}
	h12 := lang.Hour12(room.Hours, i18n.HourCycleLocale)
	v := view{Lang: lang.Tag, Room: room.Name, Notice: notice, Refusal: refusal, Request: newID()}
	st, known := r.opts.States.State(room.ID)
	now := r.opts.Now()
	switch {
	case !known || !st.Features.Book:
		v.Notice, v.Refusal = lang.Error(proto.Refusal(proto.CodeNotAllowed, proto.ReasonBookingOff, "")), true
	default:
		at := proto.At(st.Meetings, now, st.Rules, loc)
		if at.Status == proto.StatusBusy || at.Status == proto.StatusCheckIn {
			v.Status = lang.W.Busy
		} else {
			v.Status = lang.W.Free
			if !at.Until.IsZero() {
				v.Status += " " + fmt.Sprintf(lang.W.Until, i18n.Clock(at.Until, loc, h12))
			}
		}
		for i, c := range proto.BookChoices(st.Meetings, now, st.Rules, loc) {
			v.Actions = append(v.Actions, action{Name: "book", ID: fmt.Sprint("book-", i+1), Until: c.End.Unix(),
				Label: fmt.Sprintf(lang.W.BookUntil, i18n.Clock(c.End, loc, h12))})
		}
	}
	r.page.Execute(w, v)
}

// book books a room from its booking page, then shows the new meeting's
// page (to extend or end it later).
func (r *Remote) book(w http.ResponseWriter, req *http.Request) {
	room, lang, _, ok := r.bookingRoom(w, req)
	if !ok {
		return
	}
	req.Body = http.MaxBytesReader(w, req.Body, maxForm)
	if err := req.ParseForm(); err != nil {
		http.Error(w, "The form is too large or malformed.", http.StatusBadRequest)
		return
	}
	id := req.PostForm.Get("request")
	until, err := strconv.ParseInt(req.PostForm.Get("until"), 10, 64)
	if len(id) < 8 || len(id) > 64 || err != nil || req.PostForm.Get("action") != "book" {
		http.Error(w, "The form lacks its request id or end: reload the page.", http.StatusBadRequest)
		return
	}
	res := r.opts.Booking.Request(req.Context(), Device, room.ID, "phone-"+id+"-book",
		proto.Request{Action: proto.ActionBook, Until: time.Unix(until, 0).UTC()})
	r.opts.Logger.Info("phone request", "room", room.ID, "action", proto.ActionBook, "ok", res.OK)
	if !res.OK || res.Meeting == nil {
		r.renderBook(w, req, lang.Error(res.Error), true)
		return
	}
	if r.opts.Refresh != nil {
		if err := r.opts.Refresh(req.Context(), room.ID); err != nil {
			r.opts.Logger.Warn("cannot read the room after a booking from a phone", "room", room.ID, "err", err)
		}
	}
	http.Redirect(w, req, Path+r.capability(room.ID, res.Meeting.ID), http.StatusSeeOther)
}

// headers keep the capability out of referrers, caches and frames.
func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

const pageHTML = `<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Room}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f1f4f8;color:#0f172a}
main{max-width:28rem;margin:0 auto;padding:1.5rem 1rem}
h1{font-size:1.5rem;margin:0 0 .25rem}
.meeting{background:#fff;border-radius:.75rem;padding:1rem;margin:1rem 0}
.times{font-size:1.25rem;font-weight:600}
.notice{background:#e0f2fe;border-radius:.5rem;padding:.75rem;margin:1rem 0}
.notice.refusal{background:#fee2e2}
form{margin:.75rem 0}
button{width:100%;font:inherit;font-size:1.15rem;font-weight:600;padding:1rem;border:0;border-radius:.75rem;background:#0f172a;color:#fff}
button.warn{background:#b91c1c}
</style></head>
<body><main>
<h1>{{.Room}}</h1>
{{if .Notice}}<p class="notice{{if .Refusal}} refusal{{end}}" role="status">{{.Notice}}</p>{{end}}
{{if .Status}}<div class="meeting"><div class="times">{{.Status}}</div></div>
{{else if and (not .Over) .Times}}<div class="meeting"><div class="times">{{.Times}}</div><div>{{.Title}}</div></div>
{{end}}{{if not .Over}}{{range .Actions}}<form method="post"><input type="hidden" name="request" value="{{$.Request}}"><input type="hidden" name="action" value="{{.Name}}">{{if .Until}}<input type="hidden" name="until" value="{{.Until}}">{{end}}<button id="{{if .ID}}{{.ID}}{{else}}{{.Name}}{{end}}"{{if .Warn}} class="warn"{{end}}>{{.Label}}</button></form>
{{end}}{{end}}
</main></body></html>
`
