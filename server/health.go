package main

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/lintelhq/lintel/server/connector"
)

// ready answers /readyz: 200 when the store is open and the hub serves
// panels. Whether the calendar can be read is not part of it (see
// connector.Health); /healthz and /metrics report that.
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
	connector.Health
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
		rep.Status = "degraded"
		if a.replicas == nil {
			// A local file that fails is this process's fault; etcd
			// out of reach is not, and restarting every replica
			// would not bring it back.
			code = http.StatusServiceUnavailable
		}
	}
	rep.Components.Hub = hubStatus{Status: "ok", Panels: len(a.hub.Connections())}
	if !a.serving.Load() {
		rep.Components.Hub.Status = "stopped"
		rep.Status = "degraded"
	}
	h := a.connector.Health()
	rep.Components.Calendar = calendarStatus{Health: h, Rooms: len(h.Rooms)}
	if h.Status == connector.HealthFailing || h.RoomsFailing > 0 {
		rep.Status = "degraded"
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(rep)
}
