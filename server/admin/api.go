package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/builtin"
	"github.com/lintelhq/lintel/server/connector"
	"github.com/lintelhq/lintel/server/devices"
	"github.com/lintelhq/lintel/server/store"
)

func (s *Server) listRooms(w http.ResponseWriter, r *http.Request) error {
	rooms, err := s.opts.Store.Rooms()
	if err != nil {
		return err
	}
	if rooms == nil {
		rooms = []store.Room{}
	}
	writeJSON(w, http.StatusOK, rooms)
	return nil
}

func (s *Server) getRoom(w http.ResponseWriter, r *http.Request) error {
	room, err := s.opts.Store.Room(r.PathValue("room"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, room)
	return nil
}

func (s *Server) createRoom(w http.ResponseWriter, r *http.Request) error {
	var room store.Room
	if err := readJSON(r, &room); err != nil {
		return err
	}
	if _, err := s.opts.Store.Room(room.ID); err == nil {
		return httpError(http.StatusConflict, "room %q exists already; change it with PUT /api/v1/rooms/%s", room.ID, room.ID)
	}
	return s.saveRoom(w, r, room, http.StatusCreated)
}

func (s *Server) putRoom(w http.ResponseWriter, r *http.Request) error {
	var room store.Room
	if err := readJSON(r, &room); err != nil {
		return err
	}
	if room.ID != r.PathValue("room") {
		return httpError(http.StatusBadRequest, "the room id in the body (%q) differs from the URL's (%q)", room.ID, r.PathValue("room"))
	}
	return s.saveRoom(w, r, room, http.StatusOK)
}

func (s *Server) saveRoom(w http.ResponseWriter, r *http.Request, room store.Room, status int) error {
	if err := s.checkRoom(&room); err != nil {
		return httpError(http.StatusBadRequest, "%v", err)
	}
	if err := s.opts.Store.PutRoom(room); err != nil {
		return err
	}
	s.refresh(r.Context(), room.ID)
	writeJSON(w, status, room)
	return nil
}

func (s *Server) deleteRoom(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("room")
	if err := s.opts.Store.DeleteRoom(id); err != nil {
		return err
	}
	s.opts.Sync.Forget(id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) roomState(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("room")
	st, ok := s.opts.Sync.State(id)
	if !ok {
		if _, err := s.opts.Store.Room(id); err != nil {
			return err
		}
		return httpError(http.StatusNotFound, "room %q has no state yet: its calendar has not been read", id)
	}
	loc, err := time.LoadLocation(st.Room.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	now := proto.At(st.Meetings, s.opts.Now(), st.Rules, loc)
	writeJSON(w, http.StatusOK, map[string]any{"status": now.Status, "until": now.Until, "current": now.Current, "state": st})
	return nil
}

// editor returns the built-in calendar, or an error that says why events
// cannot be edited here.
func (s *Server) editor() (*builtin.Calendar, error) {
	if s.opts.Builtin == nil || s.opts.Provider.Name() != s.opts.Builtin.Name() {
		return nil, httpError(http.StatusConflict, "events can only be edited in the built-in calendar; this server reads rooms from %s, edit them there", s.opts.Provider.Name())
	}
	return s.opts.Builtin, nil
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) error {
	cal, err := s.editor()
	if err != nil {
		return err
	}
	evs, err := cal.List(r.Context(), r.PathValue("room"))
	if err != nil {
		return err
	}
	if evs == nil {
		evs = []store.Event{}
	}
	writeJSON(w, http.StatusOK, evs)
	return nil
}

func (s *Server) addEvent(w http.ResponseWriter, r *http.Request) error {
	cal, err := s.editor()
	if err != nil {
		return err
	}
	var in builtin.Input
	if err := readJSON(r, &in); err != nil {
		return err
	}
	room := r.PathValue("room")
	ev, err := cal.Add(r.Context(), room, in)
	if err != nil {
		return eventError(err)
	}
	s.refresh(r.Context(), room)
	writeJSON(w, http.StatusCreated, ev)
	return nil
}

func (s *Server) changeEvent(w http.ResponseWriter, r *http.Request) error {
	cal, err := s.editor()
	if err != nil {
		return err
	}
	var in builtin.Input
	if err := readJSON(r, &in); err != nil {
		return err
	}
	room := r.PathValue("room")
	ev, err := cal.Change(r.Context(), room, r.PathValue("event"), in)
	if err != nil {
		return eventError(err)
	}
	s.refresh(r.Context(), room)
	writeJSON(w, http.StatusOK, ev)
	return nil
}

func (s *Server) removeEvent(w http.ResponseWriter, r *http.Request) error {
	cal, err := s.editor()
	if err != nil {
		return err
	}
	room := r.PathValue("room")
	if err := cal.Remove(r.Context(), room, r.PathValue("event")); err != nil {
		return err
	}
	s.refresh(r.Context(), room)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// eventError maps an invalid event to 400; the rest keep their status.
func eventError(err error) error {
	var ce *calendar.Error
	if errors.As(err, &ce) || isNotFound(err) {
		return err
	}
	return httpError(http.StatusBadRequest, "%v", err)
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) error {
	devs, err := s.opts.Store.Devices()
	if err != nil {
		return err
	}
	if devs == nil {
		devs = []store.Device{}
	}
	writeJSON(w, http.StatusOK, devs)
	return nil
}

func (s *Server) addDevice(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Room string `json:"room"`
		Name string `json:"name"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	d, token, err := s.opts.Devices.Add(r.Context(), req.Room, req.Name)
	if err != nil {
		return err
	}
	// The one time the credential is shown: the caller hands it to the panel.
	writeJSON(w, http.StatusCreated, map[string]any{"device": d, "token": token})
	return nil
}

func (s *Server) revokeDevice(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("device")
	if err := s.opts.Devices.Revoke(r.Context(), id); err != nil {
		return err
	}
	s.opts.Panels.Disconnect(id, proto.CodeRevoked, "this panel was removed by an administrator; pair it again")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteDevice removes a device from the list; its credential stays
// refused as revoked.
func (s *Server) deleteDevice(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("device")
	if err := s.opts.Devices.Delete(r.Context(), id); err != nil {
		return err
	}
	s.opts.Panels.Disconnect(id, proto.CodeRevoked, "this panel was removed by an administrator; pair it again")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) testAll(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.runTest(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// runTest tests the connector and every room, and keeps the result for the
// rooms page.
func (s *Server) runTest(ctx context.Context) (connector.Report, error) {
	rooms, err := s.opts.Store.Rooms()
	if err != nil {
		return connector.Report{}, err
	}
	addrs := make(map[string]string, len(rooms))
	for _, room := range rooms {
		addrs[room.ID] = room.Calendar
	}
	rep := s.opts.Connector.Test(ctx, addrs)
	if rep.At.IsZero() {
		rep.At = s.opts.Now()
	}
	s.testsMu.Lock()
	s.lastTest = &rep
	s.testsMu.Unlock()
	return rep, nil
}

func (s *Server) getConnector(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.opts.Connector.Settings())
	return nil
}

func (s *Server) putConnector(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		connector.Settings
		// Secret is the client secret's Value; write-only.
		Secret string `json:"secret,omitempty"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if err := s.opts.Connector.Apply(r.Context(), req.Settings, connector.Credentials{Secret: req.Secret}); err != nil {
		return httpError(http.StatusBadRequest, "%v", err)
	}
	writeJSON(w, http.StatusOK, s.opts.Connector.Settings())
	return nil
}

func (s *Server) listPending(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.opts.Pairer.Pending(r.Context()))
	return nil
}

func (s *Server) approvePairing(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Room string `json:"room"`
		Name string `json:"name"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	d, err := s.approve(r, r.PathValue("code"), req.Room, req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, d)
	return nil
}

// approve pairs a code with a room, mapping the pairing errors to the
// statuses an API client expects.
func (s *Server) approve(r *http.Request, code, room, name string) (devices.Device, error) {
	d, err := s.opts.Pairer.Approve(r.Context(), clientAddr(r), code, room, name)
	switch {
	case errors.Is(err, devices.ErrTooManyCodes):
		return d, httpError(http.StatusTooManyRequests, "%v", err)
	case errors.Is(err, devices.ErrCodeUnknown):
		return d, httpError(http.StatusNotFound, "%v", err)
	case errors.Is(err, devices.ErrCodeExpired), errors.Is(err, devices.ErrCodeUsed):
		return d, httpError(http.StatusGone, "%v", err)
	case errors.Is(err, store.ErrNotFound):
		return d, httpError(http.StatusBadRequest, "room %q does not exist", room)
	}
	return d, err
}

// activity lists the activity newest first, 200 entries a page; a Link
// header (rel="next") points to the older ones.
func (s *Server) activity(w http.ResponseWriter, r *http.Request) error {
	older, err := parseActivityCursor(r.URL.Query().Get("older"))
	if err != nil {
		return httpError(http.StatusBadRequest, "older: %v; use the URL of the Link header", err)
	}
	p, err := listActivity(s.opts.Store, older, activityCursor{}, 200)
	if err != nil {
		return err
	}
	out := p.Entries
	if out == nil {
		out = []store.Outcome{}
	}
	if !p.Older.IsZero() {
		w.Header().Set("Link", `</api/v1/activity?older=`+url.QueryEscape(p.Older.String())+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// backup streams a consistent snapshot of the whole store (one read
// transaction) while the server runs.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="lintel-backup.db"`)
	// A large store over a slow link takes longer than the server's write
	// timeout, meant for pages and API answers.
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Hour))
	if _, err := s.opts.Store.Snapshot(w); err != nil {
		s.log.Error("backup failed midway", "err", err)
		return nil // the body has started: the client sees a short file and the CLI checks it
	}
	return nil
}

// importPlaces adds a room for every room mailbox Places lists that no room
// uses yet, with the given time zone; existing rooms are left alone.
func (s *Server) importPlaces(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		TimeZone string `json:"tz"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if _, err := time.LoadLocation(req.TimeZone); err != nil || req.TimeZone == "" {
		return httpError(http.StatusBadRequest, "give the rooms' time zone, e.g. {\"tz\": \"Europe/Zurich\"}")
	}
	places, err := s.opts.Connector.Places(r.Context())
	if err != nil {
		return httpError(http.StatusBadGateway, "%v", err)
	}
	rooms, err := s.opts.Store.Rooms()
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, room := range rooms {
		used[strings.ToLower(room.Calendar)] = true
		used[room.ID] = true
	}
	added := []store.Room{}
	for _, p := range places {
		local, _, _ := strings.Cut(strings.ToLower(p.Address), "@")
		if p.Address == "" || used[strings.ToLower(p.Address)] || used[local] {
			continue
		}
		room := store.Room{ID: local, Name: p.Name, Calendar: p.Address, TimeZone: req.TimeZone, Display: store.DisplayTitle,
			Capacity: p.Capacity, Building: p.Building}
		if room.Name == "" {
			room.Name = local
		}
		if err := room.Validate(); err != nil {
			s.log.Warn("skipping a room from Places", "address", p.Address, "err", err)
			continue
		}
		if err := s.opts.Store.PutRoom(room); err != nil {
			return err
		}
		used[local] = true
		added = append(added, room)
		s.refresh(r.Context(), room.ID)
	}
	writeJSON(w, http.StatusOK, added)
	return nil
}
