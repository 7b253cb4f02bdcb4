package connector

import (
	"fmt"
	"log/slog"
	gosync "sync"
	"time"

	"github.com/lintelhq/lintel/server/calendar"
)

// Health is how the calendar reads are going: what /healthz, the metrics
// and the rooms page report. A failing calendar does not make the server
// unready: panels keep showing their last schedule.
type Health struct {
	Provider string `json:"provider"`
	// Status is HealthOK, HealthFailing (the last read failed as a whole,
	// or for every room) or HealthUnknown (not read yet).
	Status      string    `json:"status"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastFailure time.Time `json:"last_failure,omitzero"`
	// Problem is the diagnosis of the last read when it failed.
	Problem *calendar.Diagnosis `json:"problem,omitempty"`
	// RoomsFailing counts the calendars whose last read failed.
	RoomsFailing int `json:"rooms_failing"`
	// Rooms is each calendar's health, by calendar address.
	Rooms map[string]RoomHealth `json:"rooms,omitempty"`
}

// Health statuses.
const (
	HealthOK      = "ok"
	HealthFailing = "failing"
	HealthUnknown = "unknown"
)

// RoomHealth is one calendar's last read.
type RoomHealth struct {
	LastGood  time.Time          `json:"last_good,omitzero"`
	Checked   time.Time          `json:"checked"`
	Diagnosis calendar.Diagnosis `json:"diagnosis"`
}

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
	rooms       map[string]RoomHealth
}

func newCalendarHealth(log *slog.Logger) *calendarHealth {
	return &calendarHealth{log: log, rooms: map[string]RoomHealth{}}
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
	h.rooms = map[string]RoomHealth{}
}

// snapshot returns the health for /healthz and the admin UI.
func (h *calendarHealth) snapshot(provider string) Health {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := Health{Provider: provider, LastSuccess: h.lastSuccess, LastFailure: h.lastFailure,
		Rooms: make(map[string]RoomHealth, len(h.rooms))}
	switch {
	case h.problem != nil:
		out.Status = HealthFailing
		p := *h.problem
		out.Problem = &p
	case h.lastSuccess.IsZero():
		out.Status = HealthUnknown
	default:
		out.Status = HealthOK
	}
	for addr, rh := range h.rooms {
		out.Rooms[addr] = rh
		if rh.Diagnosis.Status != calendar.StatusOK {
			out.RoomsFailing++
		}
	}
	return out
}
