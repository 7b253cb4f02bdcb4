// Package board is the floor board: a page for a screen in a lobby (a TV
// or a tablet's browser) that shows every room of one floor with its
// status, live, without a login.
//
// A board is paired like a panel: the page shows a pairing code, an admin
// approves it with a room of the floor to show, and the page keeps the
// device credential it receives in the browser's storage. The board then
// shows the rooms of that room's building and floor, as their panels
// show them (the display mode applied), and goes back to pairing when the
// device is revoked.
package board

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/devices"
	"github.com/lintelhq/lintel/server/store"
)

// Path is where the board lives.
const Path = "/board"

// Opts configure a Board.
type Opts struct {
	// Pair hands an unpaired board a code and returns its credential once
	// an admin approves it (devices.Pairer.Pair); required.
	Pair func(ctx context.Context, addr string, send func(proto.Message) error) (proto.Credential, error)
	// Authenticate reads a board's credential (devices.Service).
	Authenticate func(ctx context.Context, token string) (store.Device, error)
	// Seen records that a board read its floor, from addr (its last
	// seen, on the devices page); optional.
	Seen  func(ctx context.Context, id, addr, firmware string, protocol int) error
	Rooms interface {
		Room(id string) (store.Room, error)
		Rooms() ([]store.Room, error)
	}
	States interface {
		State(room string) (proto.State, bool)
	}
	// ClientAddr is the address pairing codes are limited by.
	ClientAddr func(*http.Request) string
	// Refresh is how often the page reads the floor again. Default 10 s.
	Refresh time.Duration
	Logger  *slog.Logger
	Now     func() time.Time
}

// Board serves the floor board.
type Board struct{ opts Opts }

// New returns a Board.
func New(opts Opts) *Board {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Refresh <= 0 {
		opts.Refresh = 10 * time.Second
	}
	if opts.ClientAddr == nil {
		opts.ClientAddr = func(r *http.Request) string { return r.RemoteAddr }
	}
	return &Board{opts: opts}
}

// Handler serves the page, its script, the pairing stream and the floor.
func (b *Board) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Path, b.page)
	mux.HandleFunc("GET "+Path+"/board.js", b.script)
	mux.HandleFunc("GET "+Path+"/pair", b.pair)
	mux.HandleFunc("GET "+Path+"/floor", b.floor)
	return mux
}

func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'")
}

func (b *Board) page(w http.ResponseWriter, r *http.Request) {
	headers(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, pageHTML)
}

func (b *Board) script(w http.ResponseWriter, r *http.Request) {
	headers(w)
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	fmt.Fprint(w, scriptJS)
}

// pair streams (server-sent events) the codes an unpaired board shows,
// then its credential once approved. The stream ends with the code's
// lifetime; the page opens a new one.
func (b *Board) pair(w http.ResponseWriter, r *http.Request) {
	headers(w)
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	// The stream outlives the server's write timeout, as long as a code.
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(devices.CodeLifetime + time.Minute)) // a network deadline: the real clock
	ctx, cancel := context.WithTimeout(r.Context(), devices.CodeLifetime)
	defer cancel()
	event := func(name string, v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data); err != nil {
			return err
		}
		flusher.Flush()
		return nil
	}
	cred, err := b.opts.Pair(ctx, b.opts.ClientAddr(r), func(m proto.Message) error {
		if m.Pairing == nil {
			return nil
		}
		return event("code", map[string]any{"code": m.Pairing.Code, "expires": m.Pairing.Expires})
	})
	if err != nil {
		var pe *proto.Error
		if errors.As(err, &pe) {
			event("refused", map[string]string{"message": pe.Message})
		}
		return
	}
	event("credential", map[string]string{"token": cred.Token})
}

// roomJSON is one room of the floor as the board shows it.
type roomJSON struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Capacity int       `json:"capacity,omitempty"`
	Status   string    `json:"status"` // free, soon, busy, checkin or unknown
	Until    time.Time `json:"until,omitzero"`
	Title    string    `json:"title,omitempty"` // the meeting on now or next, as the panels show it
}

type floorJSON struct {
	Building string     `json:"building"`
	Floor    string     `json:"floor"`
	TimeZone string     `json:"tz"`
	Refresh  int        `json:"refresh_seconds"`
	Rooms    []roomJSON `json:"rooms"`
}

// floor answers the rooms of the board's floor, to a board with its
// credential (Authorization: Bearer).
func (b *Board) floor(w http.ResponseWriter, r *http.Request) {
	headers(w)
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		http.Error(w, "pair this board first", http.StatusUnauthorized)
		return
	}
	dev, err := b.opts.Authenticate(r.Context(), token)
	if err != nil {
		http.Error(w, "this board was removed or is unknown: pair it again", http.StatusUnauthorized)
		return
	}
	if b.opts.Seen != nil {
		if err := b.opts.Seen(r.Context(), dev.ID, b.opts.ClientAddr(r), "board", 0); err != nil {
			b.opts.Logger.Warn("cannot record the board's visit", "device", dev.ID, "err", err)
		}
	}
	home, err := b.opts.Rooms.Room(dev.Room)
	if err != nil {
		http.Error(w, "this board's room was removed: move it to a room of the floor to show", http.StatusConflict)
		return
	}
	rooms, err := b.opts.Rooms.Rooms()
	if err != nil {
		http.Error(w, "the rooms cannot be read now", http.StatusServiceUnavailable)
		return
	}
	out := floorJSON{Building: home.Building, Floor: home.Floor, TimeZone: home.TimeZone, Refresh: int(b.opts.Refresh / time.Second), Rooms: []roomJSON{}}
	now := b.opts.Now()
	for _, room := range rooms {
		if room.ID != home.ID && (home.Building == "" || room.Building != home.Building || room.Floor != home.Floor) {
			continue
		}
		out.Rooms = append(out.Rooms, b.status(room, now))
	}
	slices.SortFunc(out.Rooms, func(a, c roomJSON) int { return strings.Compare(a.Name, c.Name) })
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

// status is a room's situation now, from its last state, as its panels
// decide it (proto.Known, proto.At).
func (b *Board) status(room store.Room, now time.Time) roomJSON {
	out := roomJSON{ID: room.ID, Name: room.Name, Capacity: room.Capacity, Status: "unknown"}
	st, ok := b.opts.States.State(room.ID)
	loc, err := time.LoadLocation(room.TimeZone)
	if !ok || err != nil {
		return out
	}
	if known, _, _ := proto.Known(&st, now, time.Time{}); !known {
		return out
	}
	at := proto.At(st.Meetings, now, st.Rules, loc)
	out.Until = at.Until.UTC()
	if at.Until.IsZero() {
		out.Until = time.Time{}
	}
	switch at.Status {
	case proto.StatusFree:
		out.Status = "free"
	case proto.StatusSoon:
		out.Status = "soon"
	case proto.StatusCheckIn:
		out.Status = "checkin"
	default:
		out.Status = "busy"
	}
	m := at.Current
	if m == nil && len(at.Next) > 0 {
		m = &at.Next[0]
	}
	if m != nil {
		out.Title = m.Title
	}
	return out
}
