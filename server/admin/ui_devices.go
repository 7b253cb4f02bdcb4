package admin

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/devices"
	"github.com/lintelhq/lintel/server/store"
)

// deviceRow is one line of the panels page.
type deviceRow struct {
	store.Device
	RoomName string
	Online   bool
	Conn     *hubConn
	Flagged  bool // not seen for longer than OfflineAfter
}

type hubConn struct {
	Addr     string
	Since    time.Time
	Uptime   time.Duration
	Firmware string
	Protocol int
}

func (s *Server) devicesPage(w http.ResponseWriter, r *http.Request) {
	devs, err := s.opts.Store.Devices()
	if err != nil {
		http.Error(w, "cannot read the store", http.StatusInternalServerError)
		return
	}
	rooms, _ := s.opts.Store.Rooms()
	names := map[string]string{}
	for _, room := range rooms {
		names[room.ID] = room.Name
	}
	conns := map[string]*hubConn{}
	for _, c := range s.opts.Panels.Connections() {
		if c.Paired {
			conns[c.DeviceID] = &hubConn{Addr: c.RemoteAddr, Since: c.Since, Uptime: c.Uptime, Firmware: c.Firmware, Protocol: c.Protocol}
		}
	}
	now := s.opts.Now()
	var rows []deviceRow
	for _, d := range devs {
		// A revoked device stays listed, greyed, until it is deleted: the
		// admin sees that the panel is out.
		row := deviceRow{Device: d, RoomName: names[d.Room], Conn: conns[d.ID]}
		row.Online = row.Conn != nil
		row.Flagged = !d.Revoked && !row.Online && now.Sub(d.LastSeen) > s.opts.OfflineAfter
		rows = append(rows, row)
	}
	s.render(w, r, "devices", "Panels", map[string]any{"Rows": rows, "Rooms": rooms, "OfflineAfter": s.opts.OfflineAfter})
}

func (s *Server) deviceAction(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("device")
	d, err := s.opts.Store.Device(id)
	if err != nil {
		back(w, r, "/devices", "err", "No such panel.")
		return
	}
	switch r.PathValue("action") {
	case "rename":
		name := strings.TrimSpace(r.PostFormValue("name"))
		if name == "" {
			back(w, r, "/devices", "err", "A panel's name cannot be empty.")
			return
		}
		if _, err := s.opts.Store.UpdateDevice(id, func(d *store.Device) error { d.Name = name; return nil }); err != nil {
			back(w, r, "/devices", "err", err.Error())
			return
		}
		back(w, r, "/devices", "msg", "Renamed to "+name+".")
	case "move":
		room := r.PostFormValue("room")
		if _, err := s.opts.Store.Room(room); err != nil {
			back(w, r, "/devices", "err", "No such room.")
			return
		}
		if _, err := s.opts.Store.UpdateDevice(id, func(d *store.Device) error { d.Room = room; return nil }); err != nil {
			back(w, r, "/devices", "err", err.Error())
			return
		}
		s.opts.Panels.Move(id, room)
		back(w, r, "/devices", "msg", d.Name+" now shows room "+room+".")
	case "revoke":
		// The page asks first; the form says it was confirmed.
		if r.PostFormValue("confirm") != "yes" {
			back(w, r, "/devices", "err", "Nothing revoked: confirm with the button in the box.")
			return
		}
		if err := s.opts.Devices.Revoke(r.Context(), id); err != nil {
			back(w, r, "/devices", "err", err.Error())
			return
		}
		s.opts.Panels.Disconnect(id, proto.CodeRevoked, "this panel was removed by an administrator; pair it again")
		back(w, r, "/devices", "msg", d.Name+" was revoked and returns to pairing.")
	case "delete":
		// Only a revoked panel is deleted from here: its credential
		// stays refused, so nothing more is at stake than the row.
		if !d.Revoked {
			back(w, r, "/devices", "err", "Revoke "+d.Name+" first.")
			return
		}
		if err := s.opts.Devices.Delete(r.Context(), id); err != nil {
			back(w, r, "/devices", "err", err.Error())
			return
		}
		s.opts.Panels.Disconnect(id, proto.CodeRevoked, "this panel was removed by an administrator; pair it again")
		back(w, r, "/devices", "msg", d.Name+" was deleted.")
	case "identify":
		if err := s.opts.Panels.Send(id, proto.Message{Type: proto.TypeCommand, Command: &proto.Command{Name: "identify", Seconds: 30}}); err != nil {
			back(w, r, "/devices", "err", d.Name+" is not connected.")
			return
		}
		back(w, r, "/devices", "msg", d.Name+"'s LEDs blink for 30 seconds.")
	default:
		http.Error(w, "unknown action", http.StatusNotFound)
	}
}

func (s *Server) screenshotPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.opts.Store.Device(r.PathValue("device"))
	if err != nil {
		http.Error(w, "no such panel", http.StatusNotFound)
		return
	}
	s.render(w, r, "screenshot", "Screen of "+d.Name, d)
}

func (s *Server) screenshotPNG(w http.ResponseWriter, r *http.Request) {
	png, err := s.screenshot(r.Context(), r.PathValue("device"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(png)
}

// pairData is the pairing form (as typed, when pairing failed) and the
// panels waiting.
type pairData struct {
	Code, Room, Name string
	Pending          []devices.Pending
	Rooms            []store.Room
}

func (s *Server) pairPage(w http.ResponseWriter, r *http.Request) {
	rooms, _ := s.opts.Store.Rooms()
	s.render(w, r, "pair", "Pair a panel", pairData{Code: r.URL.Query().Get("code"), Pending: s.opts.Pairer.Pending(r.Context()), Rooms: rooms})
}

func (s *Server) pairForm(w http.ResponseWriter, r *http.Request) {
	code, room, name := strings.TrimSpace(r.PostFormValue("code")), r.PostFormValue("room"), strings.TrimSpace(r.PostFormValue("name"))
	again := func(msg string) {
		rooms, _ := s.opts.Store.Rooms()
		s.renderError(w, r, "pair", "Pair a panel", msg, pairData{Code: code, Room: room, Name: name, Pending: s.opts.Pairer.Pending(r.Context()), Rooms: rooms})
	}
	if room == "" {
		again("Pick the room the panel stands at.")
		return
	}
	d, err := s.approve(r, code, room, name)
	if err != nil {
		again(title(strings.TrimPrefix(err.Error(), "devices: ")))
		return
	}
	back(w, r, "/pair", "msg", fmt.Sprintf("Paired: %s now shows room %s.", d.Name, d.Room))
}
