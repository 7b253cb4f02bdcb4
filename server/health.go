package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	gosync "sync"
	"time"

	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/calendar"
)

// calendarHealth remembers how the calendar reads went: the last success
// and failure as a whole, and each calendar's last good read and last
// diagnosis. It is told of every read (the connector's Events) and shown
// in /healthz, the admin's rooms page and /metrics, all with the words of
// calendar.Diagnose.
//
// It is deliberately not part of readiness: a calendar outage must not
// take the panels (which keep showing their last schedule) and the admin
// UI (where the admin fixes the connection) out of a load balancer.
type calendarHealth struct {
	// onFailure, when set, is told the status of every failed room read
	// (the metrics' failure counter).
	onFailure func(calendar.Status)
	log       *slog.Logger

	mu          gosync.Mutex
	lastSuccess time.Time
	lastFailure time.Time
	problem     *calendar.Diagnosis // of the last read, when it failed
	rooms       map[string]admin.RoomHealth
}

func newCalendarHealth(log *slog.Logger) *calendarHealth {
	return &calendarHealth{log: log, rooms: map[string]admin.RoomHealth{}}
}

// record notes the outcome of reading rooms at now: err when the read
// failed as a whole, else each room's own result.
func (h *calendarHealth) record(now time.Time, rooms []string, got map[string]calendar.RoomEvents, err error) {
	var failed []calendar.Status
	h.mu.Lock()
	before := h.problem
	if err != nil {
		d := calendar.Diagnose("", err)
		h.lastFailure, h.problem = now, &d
	}
	okRooms := 0
	for _, room := range rooms {
		rh := h.rooms[room]
		var rerr error
		if err != nil {
			rerr = err
		} else if res, ok := got[room]; !ok {
			rerr = fmt.Errorf("the calendar returned nothing for %s", room)
		} else {
			rerr = res.Err
		}
		rh.Diagnosis = calendar.Diagnose(room, rerr)
		rh.Checked = now
		if rerr == nil {
			rh.LastGood = now
			okRooms++
		} else {
			failed = append(failed, rh.Diagnosis.Status)
		}
		h.rooms[room] = rh
	}
	if err == nil {
		switch {
		case okRooms > 0 || len(rooms) == 0:
			h.lastSuccess, h.problem = now, nil
		default:
			// Every room failed: that is the calendar failing, whatever
			// the reason each gives; the first one speaks for them.
			d := h.rooms[rooms[0]].Diagnosis
			d.Room = ""
			h.lastFailure, h.problem = now, &d
		}
	}
	after := h.problem
	h.mu.Unlock()
	// Say so once when reads start failing (or fail differently), and
	// once when they work again, with the words doctor uses.
	switch {
	case after != nil && (before == nil || before.String() != after.String()):
		h.log.Warn("calendar reads are failing; panels keep showing their last schedule", "diagnosis", after.String())
	case after == nil && before != nil:
		h.log.Info("calendar reads work again")
	}
	if h.onFailure != nil {
		for _, s := range failed {
			h.onFailure(s)
		}
	}
}

// reset forgets everything, when the connector switches backends.
func (h *calendarHealth) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastSuccess, h.lastFailure, h.problem = time.Time{}, time.Time{}, nil
	h.rooms = map[string]admin.RoomHealth{}
}

// snapshot returns the health for /healthz and the admin UI.
func (h *calendarHealth) snapshot(provider string) admin.Health {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := admin.Health{Provider: provider, LastSuccess: h.lastSuccess, LastFailure: h.lastFailure,
		Rooms: make(map[string]admin.RoomHealth, len(h.rooms))}
	switch {
	case h.problem != nil:
		out.Status = admin.HealthFailing
		p := *h.problem
		out.Problem = &p
	case h.lastSuccess.IsZero():
		out.Status = admin.HealthUnknown
	default:
		out.Status = admin.HealthOK
	}
	for addr, rh := range h.rooms {
		out.Rooms[addr] = rh
		if rh.Diagnosis.Status != calendar.StatusOK {
			out.RoomsFailing++
		}
	}
	return out
}

// ready answers /readyz: 200 when the store is open and the hub serves
// panels. Whether the calendar can be read is not part of it (see
// calendarHealth); /healthz and /metrics report that.
func (a *app) ready(w http.ResponseWriter, r *http.Request) {
	if _, err := a.db.Rooms(); err != nil {
		http.Error(w, "not ready: the store cannot be read: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	if !a.serving.Load() {
		http.Error(w, "not ready: the panel hub is not serving (starting or shutting down)", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// healthReport is /healthz's answer: the process is alive, with each
// component's status.
type healthReport struct {
	// Status is "ok", or "degraded" when a component is not ok.
	Status     string          `json:"status"`
	Version    string          `json:"version"`
	Components healthComponent `json:"components"`
}

type healthComponent struct {
	Store    componentStatus `json:"store"`
	Hub      hubStatus       `json:"hub"`
	Calendar calendarStatus  `json:"calendar"`
}

type componentStatus struct {
	Status string `json:"status"` // ok or failing
	Error  string `json:"error,omitempty"`
}

type hubStatus struct {
	Status string `json:"status"` // ok or stopped
	Panels int    `json:"panels_connected"`
}

type calendarStatus struct {
	admin.Health
	// Rooms (the count) hides Health's per-room map: per-room detail is
	// on the admin's rooms page and in /metrics.
	Rooms int `json:"rooms"`
}

// health answers /healthz: 200 while the process can answer (a liveness
// probe restarts the server otherwise), 503 only when the store cannot be
// read, with each component's status as JSON. A failing calendar shows as
// "degraded" with its diagnosis and fix.
func (a *app) health(w http.ResponseWriter, r *http.Request) {
	rep := healthReport{Status: "ok", Version: Version}
	code := http.StatusOK
	rep.Components.Store.Status = "ok"
	if _, err := a.db.Rooms(); err != nil {
		rep.Components.Store = componentStatus{Status: "failing", Error: err.Error()}
		rep.Status, code = "degraded", http.StatusServiceUnavailable
	}
	rep.Components.Hub = hubStatus{Status: "ok", Panels: len(a.hub.Connections())}
	if !a.serving.Load() {
		rep.Components.Hub.Status = "stopped"
		rep.Status = "degraded"
	}
	h := a.connector.Health()
	rep.Components.Calendar = calendarStatus{Health: h, Rooms: len(h.Rooms)}
	if h.Status == admin.HealthFailing || h.RoomsFailing > 0 {
		rep.Status = "degraded"
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(rep)
}
