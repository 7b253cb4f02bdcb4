package admin

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/fleet"
)

// PanelSettings are the panels' display settings as the admin manages
// them: a fleet default, a room's and a panel's override (fleet.Settings).
type PanelSettings interface {
	Layer(scope fleet.Scope) (proto.Settings, error)
	SetLayer(ctx context.Context, scope fleet.Scope, v proto.Settings) error
	Effective(deviceID, room string) (proto.Settings, error)
}

// SetPanelSettings gives the admin the fleet's settings service.
func (s *Server) SetPanelSettings(p PanelSettings) { s.panelSettings = p }

// settingsAnswer is what the settings endpoints answer: the layer as set
// and, for a room or a panel, what its panels get with the layers below.
type settingsAnswer struct {
	Settings  proto.Settings  `json:"settings"`
	Effective *proto.Settings `json:"effective,omitempty"`
}

// fleetPages are the templates of the fleet pages, parsed here so that the
// shared page list stays as it is.
var fleetPages = []string{"fleet-settings"}

func (s *Server) fleetRoutes() {
	for _, name := range fleetPages {
		s.pages[name] = template.Must(template.New("layout.html").Funcs(template.FuncMap{
			"join": joinInts,
		}).ParseFS(uiFS, "ui/layout.html", "ui/"+name+".html"))
	}
	api := func(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
		s.mux.Handle(pattern, s.requireAPI(h))
	}
	api("GET /api/v1/panel-settings", s.getPanelSettings)
	api("PUT /api/v1/panel-settings", s.putPanelSettings)
	api("GET /api/v1/rooms/{room}/panel-settings", s.getPanelSettings)
	api("PUT /api/v1/rooms/{room}/panel-settings", s.putPanelSettings)
	api("GET /api/v1/devices/{device}/panel-settings", s.getPanelSettings)
	api("PUT /api/v1/devices/{device}/panel-settings", s.putPanelSettings)

	ui := func(pattern string, h http.HandlerFunc) { s.mux.Handle(pattern, s.requireSession(h)) }
	ui("GET /fleet/settings", s.settingsPage)
	ui("POST /fleet/settings", s.settingsForm)
	ui("GET /rooms/{room}/panel-settings", s.settingsPage)
	ui("POST /rooms/{room}/panel-settings", s.settingsForm)
	ui("GET /devices/{device}/panel-settings", s.settingsPage)
	ui("POST /devices/{device}/panel-settings", s.settingsForm)
}

// settingsScope is the layer a request names, checked to exist, with the
// device's room (for a device) and a name to show.
func (s *Server) settingsScope(r *http.Request) (scope fleet.Scope, room, name string, err error) {
	if id := r.PathValue("room"); id != "" {
		rm, err := s.opts.Store.Room(id)
		if err != nil {
			return scope, "", "", err
		}
		return fleet.Scope{Kind: fleet.ScopeRoom, ID: id}, id, rm.Name, nil
	}
	if id := r.PathValue("device"); id != "" {
		d, err := s.opts.Store.Device(id)
		if err != nil {
			return scope, "", "", err
		}
		return fleet.Scope{Kind: fleet.ScopeDevice, ID: id}, d.Room, d.Name, nil
	}
	return fleet.Scope{Kind: fleet.ScopeFleet}, "", "", nil
}

func (s *Server) settingsOrError() (PanelSettings, error) {
	if s.panelSettings == nil {
		return nil, httpError(http.StatusServiceUnavailable, "panel settings are not available on this server")
	}
	return s.panelSettings, nil
}

// answer is a layer and, below the fleet, what its panels get.
func (s *Server) settingsAnswer(p PanelSettings, scope fleet.Scope, room string) (settingsAnswer, error) {
	layer, err := p.Layer(scope)
	if err != nil {
		return settingsAnswer{}, err
	}
	a := settingsAnswer{Settings: layer}
	if scope.Kind != fleet.ScopeFleet {
		dev := ""
		if scope.Kind == fleet.ScopeDevice {
			dev = scope.ID
		}
		eff, err := p.Effective(dev, room)
		if err != nil {
			return settingsAnswer{}, err
		}
		a.Effective = &eff
	}
	return a, nil
}

func (s *Server) getPanelSettings(w http.ResponseWriter, r *http.Request) error {
	p, err := s.settingsOrError()
	if err != nil {
		return err
	}
	scope, room, _, err := s.settingsScope(r)
	if err != nil {
		return err
	}
	a, err := s.settingsAnswer(p, scope, room)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) putPanelSettings(w http.ResponseWriter, r *http.Request) error {
	p, err := s.settingsOrError()
	if err != nil {
		return err
	}
	scope, room, _, err := s.settingsScope(r)
	if err != nil {
		return err
	}
	var body proto.Settings
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if err := p.SetLayer(r.Context(), scope, body); err != nil {
		if pe := (*proto.Error)(nil); asProto(err, &pe) {
			return httpError(http.StatusBadRequest, "%s", pe.Message)
		}
		return err
	}
	s.log.Info("panel settings changed", "scope", scope.Kind, "id", scope.ID, "by", who(r))
	a, err := s.settingsAnswer(p, scope, room)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// settingsPageData is what the settings page shows.
type settingsPageData struct {
	Scope     fleet.Scope
	Name      string // the room's or panel's name
	Action    string // where the form posts
	Layer     proto.Settings
	Inherited proto.Settings // what applies without this layer
	Languages []language
	BookText  string // Layer.BookMinutes as typed
	// Overrides lists the rooms and panels with their own settings, on
	// the fleet page.
	Overrides []override
}

type override struct {
	Kind, Name, Link, Summary string
}

func (s *Server) settingsData(p PanelSettings, scope fleet.Scope, room, name, action string, layer proto.Settings) (settingsPageData, error) {
	d := settingsPageData{Scope: scope, Name: name, Action: action, Layer: layer, Languages: languages(), BookText: joinInts(layer.BookMinutes)}
	var err error
	switch scope.Kind {
	case fleet.ScopeRoom:
		d.Inherited, err = p.Layer(fleet.Scope{Kind: fleet.ScopeFleet})
	case fleet.ScopeDevice:
		d.Inherited, err = p.Effective("", room)
	default:
		d.Overrides, err = s.overrides(p)
	}
	return d, err
}

// overrides lists the rooms and panels whose layer sets anything.
func (s *Server) overrides(p PanelSettings) ([]override, error) {
	var out []override
	rooms, err := s.opts.Store.Rooms()
	if err != nil {
		return nil, err
	}
	for _, rm := range rooms {
		l, err := p.Layer(fleet.Scope{Kind: fleet.ScopeRoom, ID: rm.ID})
		if err != nil {
			return nil, err
		}
		if !l.IsZero() {
			out = append(out, override{"Room", rm.Name, "/rooms/" + rm.ID + "/panel-settings", summary(l)})
		}
	}
	devs, err := s.opts.Store.Devices()
	if err != nil {
		return nil, err
	}
	for _, d := range devs {
		l, err := p.Layer(fleet.Scope{Kind: fleet.ScopeDevice, ID: d.ID})
		if err != nil {
			return nil, err
		}
		if !l.IsZero() {
			out = append(out, override{"Panel", d.Name, "/devices/" + d.ID + "/panel-settings", summary(l)})
		}
	}
	return out, nil
}

// summary words the fields a layer sets, for the overrides list.
func summary(l proto.Settings) string {
	var parts []string
	add := func(name string, v any) {
		if rv := reflect.ValueOf(v); !rv.IsZero() {
			parts = append(parts, fmt.Sprintf("%s %v", name, v))
		}
	}
	add("language", l.Locale)
	add("clock", l.Hours)
	add("office hours", l.OfficeHours)
	add("night", l.Night)
	add("brightness", l.Brightness)
	add("dim", l.DimBrightness)
	add("LEDs", l.LEDBrightness)
	add("LEDs at night", l.LEDNightBrightness)
	if len(l.BookMinutes) > 0 {
		parts = append(parts, "booking "+joinInts(l.BookMinutes)+" min")
	}
	add("offline after (s)", l.OfflineGraceSeconds)
	return strings.Join(parts, "; ")
}

func (s *Server) settingsTitle(scope fleet.Scope, name string) string {
	switch scope.Kind {
	case fleet.ScopeRoom:
		return "Panel settings: room " + name
	case fleet.ScopeDevice:
		return "Panel settings: " + name
	}
	return "Panel settings"
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request) {
	p, err := s.settingsOrError()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	scope, room, name, err := s.settingsScope(r)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	layer, err := p.Layer(scope)
	if err == nil {
		var d settingsPageData
		if d, err = s.settingsData(p, scope, room, name, r.URL.Path, layer); err == nil {
			s.render(w, r, "fleet-settings", s.settingsTitle(scope, name), d)
			return
		}
	}
	s.log.Error("settings page", "err", err)
	http.Error(w, "cannot read the panel settings", http.StatusInternalServerError)
}

// settingsForm saves a layer from the form; an empty field inherits.
func (s *Server) settingsForm(w http.ResponseWriter, r *http.Request) {
	p, err := s.settingsOrError()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	scope, room, name, err := s.settingsScope(r)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	var bad []string
	num := func(k, what string) int {
		v := f(k)
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			bad = append(bad, what+" is a number")
		}
		return n
	}
	l := proto.Settings{Locale: f("locale"), Hours: num("hours", "The clock"), OfficeHours: f("office_hours"), Night: f("night"),
		Brightness: num("brightness", "Brightness"), DimBrightness: num("dim_brightness", "Dim brightness"),
		LEDBrightness: num("led_brightness", "LED brightness"), LEDNightBrightness: num("led_night_brightness", "LED brightness at night"),
		OfflineGraceSeconds: num("offline_grace_s", "The offline grace")}
	for _, m := range strings.FieldsFunc(f("book_minutes"), func(c rune) bool { return c == ',' || c == ' ' }) {
		n, err := strconv.Atoi(m)
		if err != nil {
			bad = append(bad, "booking choices are minutes, such as 15, 30, 60")
			break
		}
		l.BookMinutes = append(l.BookMinutes, n)
	}
	if r.PostFormValue("clear") != "" {
		l, bad = proto.Settings{}, nil
	}
	if len(bad) == 0 {
		err = p.SetLayer(r.Context(), scope, l)
		if pe := (*proto.Error)(nil); asProto(err, &pe) {
			bad = append(bad, strings.TrimPrefix(pe.Message, "settings: "))
		} else if err != nil {
			s.log.Error("save panel settings", "err", err)
			bad = append(bad, "the settings could not be saved: try again")
		}
	}
	if len(bad) > 0 {
		d, err := s.settingsData(p, scope, room, name, r.URL.Path, l)
		if err != nil {
			s.log.Error("settings page", "err", err)
		}
		d.BookText = r.PostFormValue("book_minutes")
		s.renderError(w, r, "fleet-settings", s.settingsTitle(scope, name), strings.Join(bad, "; ")+".", d)
		return
	}
	s.log.Info("panel settings changed", "scope", scope.Kind, "id", scope.ID, "by", who(r))
	back(w, r, r.URL.Path, "msg", "Saved. Connected panels apply the settings now.")
}

func asProto(err error, pe **proto.Error) bool { return err != nil && errors.As(err, pe) }

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
