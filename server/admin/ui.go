package admin

import (
	"bytes"
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lintelhq/lintel/panel/i18n"
	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/store"
)

//go:embed ui
var uiFS embed.FS

// parsePages parses each page together with the shared layout; now is the
// clock "ago" counts from.
func parsePages(now func() time.Time) map[string]*template.Template {
	funcs := template.FuncMap{
		"ago": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			d := now().Sub(t).Round(time.Second)
			switch {
			case d < time.Minute:
				return "just now"
			case d < time.Hour:
				return fmt.Sprintf("%d min ago", int(d.Minutes()))
			case d < 48*time.Hour:
				return fmt.Sprintf("%d h ago", int(d.Hours()))
			}
			return t.Format("2006-01-02")
		},
		"hhmm": func(t time.Time, tz string) string {
			loc, err := time.LoadLocation(tz)
			if err != nil {
				loc = time.UTC
			}
			return t.In(loc).Format("15:04")
		},
		"duration": func(d time.Duration) string { return d.Round(time.Minute).String() },
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"login", "rooms", "room", "devices", "pair", "activity", "screenshot", "connector"} {
		pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(uiFS, "ui/layout.html", "ui/"+name+".html"))
	}
	return pages
}

// page is what every template gets.
type page struct {
	Title string
	Nav   string
	Admin string
	CSRF  string
	Flash string
	Error string
	Data  any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, name, title string, data any) {
	sess := sessionOf(r)
	p := page{Title: title, Nav: name, Admin: sess.Admin, CSRF: sess.CSRF, Data: data,
		Flash: r.URL.Query().Get("msg"), Error: r.URL.Query().Get("err")}
	var buf bytes.Buffer
	if err := s.pages[name].Execute(&buf, p); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'")
	buf.WriteTo(w)
}

// back redirects to path with a message (msg) or an error (err).
func back(w http.ResponseWriter, r *http.Request, path, key, text string) {
	if text != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + key + "=" + url.QueryEscape(text)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

func (s *Server) uiRoutes() {
	ui := func(pattern string, h http.HandlerFunc) { s.mux.Handle(pattern, s.requireSession(h)) }
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.login)
	static, _ := fs.Sub(uiFS, "ui")
	s.mux.Handle("GET /static/", http.FileServerFS(static))
	ui("POST /logout", s.logout)
	ui("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/rooms", http.StatusSeeOther) })
	ui("GET /rooms", s.roomsPage)
	ui("POST /rooms/test", s.testRooms)
	ui("POST /rooms/import", s.importRooms)
	ui("GET /rooms/{room}", s.roomPage)
	ui("POST /rooms/{room}", s.saveRoomForm)
	ui("POST /rooms/{room}/delete", s.deleteRoomForm)
	ui("GET /rooms/{room}/preview.png", s.previewPNG)
	ui("GET /devices", s.devicesPage)
	ui("POST /devices/{device}/{action}", s.deviceAction)
	ui("GET /devices/{device}/screenshot", s.screenshotPage)
	ui("GET /devices/{device}/screenshot.png", s.screenshotPNG)
	ui("GET /pair", s.pairPage)
	ui("POST /pair", s.pairForm)
	ui("GET /activity", s.activityPage)
	ui("GET /connector", s.connectorPage)
	ui("POST /connector", s.connectorForm)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.session(r); ok {
		http.Redirect(w, r, "/rooms", http.StatusSeeOther)
		return
	}
	s.render(w, r, "login", "Log in", map[string]string{"Next": r.URL.Query().Get("next")})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	addr, now := clientAddr(r), s.opts.Now()
	next := r.PostFormValue("next")
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		next = "/rooms" // only ever back into this site
	}
	if s.logins.blocked(addr, now) {
		s.log.Warn("login rate limit hit", "addr", addr)
		w.WriteHeader(http.StatusTooManyRequests)
		r.URL.RawQuery = "err=" + url.QueryEscape("Too many failed logins from your address: wait a minute.")
		s.render(w, r, "login", "Log in", map[string]string{"Next": next})
		return
	}
	user := r.PostFormValue("username")
	if !CheckPassword(s.opts.Store, user, r.PostFormValue("password")) {
		s.logins.fail(addr, now)
		s.log.Warn("failed login", "addr", addr, "username", user)
		w.WriteHeader(http.StatusUnauthorized)
		r.URL.RawQuery = "err=" + url.QueryEscape("Wrong username or password.")
		s.render(w, r, "login", "Log in", map[string]string{"Next": next})
		return
	}
	if err := s.startSession(w, r, user); err != nil {
		s.log.Error("cannot start a session", "err", err)
		http.Error(w, "cannot log in right now: the server cannot write its store", http.StatusInternalServerError)
		return
	}
	s.log.Info("admin logged in", "admin", user, "addr", addr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if _, hash, ok := s.session(r); ok {
		s.opts.Store.DeleteSession(hash)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isTLS(r)})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// roomRow is one line of the rooms page.
type roomRow struct {
	Room          store.Room
	Status        proto.Status
	Until         time.Time
	Current       string // the current meeting as its panels show it
	Stale         bool
	PanelsOnline  int
	PanelsTotal   int
	Diagnosis     *calendar.Diagnosis
	HasState      bool
	StatusLabel   string
	DisplayLabel  string
	LastSyncLocal string
}

var statusLabels = map[proto.Status]string{proto.StatusFree: "Free", proto.StatusBusy: "Busy", proto.StatusSoon: "Starting soon", proto.StatusCheckIn: "Awaiting check-in"}

func (s *Server) roomRows() ([]roomRow, error) {
	rooms, err := s.opts.Store.Rooms()
	if err != nil {
		return nil, err
	}
	devs, err := s.opts.Store.Devices()
	if err != nil {
		return nil, err
	}
	online := map[string]bool{}
	for _, c := range s.opts.Panels.Connections() {
		if c.Paired {
			online[c.DeviceID] = true
		}
	}
	rows := make([]roomRow, 0, len(rooms))
	for _, room := range rooms {
		row := roomRow{Room: room}
		for _, d := range devs {
			if d.Room == room.ID && !d.Revoked {
				row.PanelsTotal++
				if online[d.ID] {
					row.PanelsOnline++
				}
			}
		}
		if st, ok := s.opts.Sync.State(room.ID); ok {
			loc, err := time.LoadLocation(st.Room.TimeZone)
			if err != nil {
				loc = time.UTC
			}
			now := proto.At(st.Meetings, s.opts.Now(), st.Rules, loc)
			row.HasState, row.Status, row.Until, row.Stale = true, now.Status, now.Until, st.Stale
			row.StatusLabel = statusLabels[now.Status]
			if now.Current != nil {
				row.Current = now.Current.Title // privacy already applied by sync
			}
			if st.Stale && !st.LastSync.IsZero() {
				row.LastSyncLocal = st.LastSync.In(loc).Format("15:04")
			}
		}
		s.testsMu.Lock()
		if s.lastTest != nil {
			for _, d := range s.lastTest.Rooms {
				if d.Room == room.ID {
					row.Diagnosis = &d
				}
			}
		}
		s.testsMu.Unlock()
		rows = append(rows, row)
	}
	return rows, nil
}

func (s *Server) roomsPage(w http.ResponseWriter, r *http.Request) {
	rows, err := s.roomRows()
	if err != nil {
		s.log.Error("rooms page", "err", err)
		http.Error(w, "cannot read the store", http.StatusInternalServerError)
		return
	}
	s.testsMu.Lock()
	last := s.lastTest
	s.testsMu.Unlock()
	s.render(w, r, "rooms", "Rooms", map[string]any{"Rows": rows, "Test": last, "Provider": s.opts.Provider.Name()})
}

func (s *Server) testRooms(w http.ResponseWriter, r *http.Request) {
	rep, err := s.runTest(r.Context())
	if err != nil {
		back(w, r, "/rooms", "err", "Cannot read the rooms: "+err.Error())
		return
	}
	tenantFailed := false
	for _, c := range rep.Tenant {
		tenantFailed = tenantFailed || c.Level == "fail"
	}
	switch failed := rep.Failed(); {
	case tenantFailed:
		back(w, r, "/rooms", "err", "The calendar connection failed: see the checks below.")
	case failed > 0:
		back(w, r, "/rooms", "err", fmt.Sprintf("%d of %d rooms failed the test: see each room's diagnosis below.", failed, len(rep.Rooms)))
	default:
		back(w, r, "/rooms", "msg", fmt.Sprintf("All %d rooms passed.", len(rep.Rooms)))
	}
}

func (s *Server) connectorPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "connector", "Calendar connection", s.opts.Connector.Settings())
}

func (s *Server) connectorForm(w http.ResponseWriter, r *http.Request) {
	set := ConnectorSettings{
		Kind: r.PostFormValue("kind"), TenantID: strings.TrimSpace(r.PostFormValue("tenant_id")),
		ClientID: strings.TrimSpace(r.PostFormValue("client_id")), Cloud: r.PostFormValue("cloud"),
		AuthorityHost: strings.TrimSpace(r.PostFormValue("authority_host")), GraphBaseURL: strings.TrimSpace(r.PostFormValue("graph_base_url")),
		Auth: r.PostFormValue("auth"), CertFile: strings.TrimSpace(r.PostFormValue("certificate_file")),
		CanaryMailbox: strings.TrimSpace(r.PostFormValue("canary")),
	}
	if v := r.PostFormValue("secret_expires"); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			back(w, r, "/connector", "err", "The secret's expiry is a date like 2027-06-30.")
			return
		}
		set.SecretExpires = t
	}
	if err := s.opts.Connector.Apply(r.Context(), set, r.PostFormValue("secret")); err != nil {
		back(w, r, "/connector", "err", err.Error())
		return
	}
	s.log.Info("calendar connection changed", "kind", set.Kind, "admin", sessionOf(r).Admin)
	if _, err := s.runTest(r.Context()); err != nil {
		s.log.Warn("test after a connector change failed", "err", err)
	}
	back(w, r, "/rooms", "msg", "Saved. The rooms below were tested with the new connection.")
}

func (s *Server) roomPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("room")
	room := store.Room{Display: store.DisplayTitle, TimeZone: "Europe/Zurich", Booking: store.BookingSettings{Instant: true, ExtendEnd: true}}
	isNew := id == "new"
	if !isNew {
		var err error
		if room, err = s.opts.Store.Room(id); err != nil {
			http.Error(w, "no such room", http.StatusNotFound)
			return
		}
	}
	s.render(w, r, "room", "Room", map[string]any{"Room": room, "New": isNew, "Builtin": s.opts.Builtin != nil, "Languages": languages(), "Lang": i18n.Resolve(room.Language).Tag})
}

// language is a choice of the room form's language list.
type language struct{ Tag, Name string }

// languages lists the panels' languages, for the room form.
func languages() []language {
	var out []language
	for _, tag := range i18n.Languages() {
		out = append(out, language{tag, i18n.Resolve(tag).W.Name})
	}
	return out
}

// roomFromForm reads the room form.
func roomFromForm(r *http.Request) store.Room {
	num := func(name string) int { n, _ := strconv.Atoi(r.PostFormValue(name)); return n }
	on := func(name string) bool { return r.PostFormValue(name) == "on" }
	return store.Room{
		ID: strings.TrimSpace(r.PostFormValue("id")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Calendar: strings.TrimSpace(r.PostFormValue("calendar")), TimeZone: strings.TrimSpace(r.PostFormValue("tz")),
		Display: r.PostFormValue("display"), Language: r.PostFormValue("lang"), Hours: num("hours"),
		Booking: store.BookingSettings{
			Instant: on("instant"), Teams: on("teams"), ExtendEnd: on("extend_end"), CheckIn: on("check_in"),
			AutoRelease: on("auto_release"), StepMinutes: num("step"), CheckInBefore: num("checkin_before"),
			CheckInAfter: num("checkin_after"),
		},
	}
}

// checkRoom fills defaults and validates a room from the UI or an import.
func (s *Server) checkRoom(room *store.Room) error {
	if room.Calendar == "" && s.opts.Provider.Name() == "builtin" {
		room.Calendar = room.ID
	}
	if room.Display == "" {
		room.Display = store.DisplayTitle
	}
	if _, err := time.LoadLocation(room.TimeZone); err != nil || room.TimeZone == "" {
		return fmt.Errorf("time zone %q is not an IANA time zone such as Europe/Zurich", room.TimeZone)
	}
	if room.Language != "" {
		if !i18n.Speaks(room.Language) {
			return fmt.Errorf("language %q is not one the panels speak: %s", room.Language, strings.Join(i18n.Languages(), ", "))
		}
		room.Language = i18n.Resolve(room.Language).Tag
	}
	return room.Validate()
}

func (s *Server) saveRoomForm(w http.ResponseWriter, r *http.Request) {
	room := roomFromForm(r)
	path := "/rooms/" + r.PathValue("room")
	if r.PathValue("room") != "new" && room.ID != r.PathValue("room") {
		back(w, r, path, "err", "A room's id cannot be changed; create a new room instead.")
		return
	}
	if r.PathValue("room") == "new" {
		if _, err := s.opts.Store.Room(room.ID); err == nil {
			back(w, r, path, "err", fmt.Sprintf("A room with id %q exists already.", room.ID))
			return
		}
	}
	if err := s.checkRoom(&room); err != nil {
		back(w, r, path, "err", err.Error())
		return
	}
	if err := s.opts.Store.PutRoom(room); err != nil {
		back(w, r, path, "err", err.Error())
		return
	}
	s.refresh(r.Context(), room.ID)
	back(w, r, "/rooms", "msg", "Saved "+room.Name+".")
}

func (s *Server) deleteRoomForm(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("room")
	if err := s.opts.Store.DeleteRoom(id); err != nil {
		back(w, r, "/rooms", "err", err.Error())
		return
	}
	s.opts.Sync.Forget(id)
	back(w, r, "/rooms", "msg", "Removed room "+id+".")
}

// importRooms reads rooms from CSV with a header line naming the columns:
// id,name,calendar,tz,display and optionally instant,teams,extend_end,
// check_in,auto_release (true/false). Every row is checked before any is
// stored: a bad file changes nothing.
func (s *Server) importRooms(w http.ResponseWriter, r *http.Request) {
	var src io.Reader = strings.NewReader(r.PostFormValue("csv"))
	if f, _, err := r.FormFile("file"); err == nil {
		defer f.Close()
		src = f
	}
	rooms, err := s.parseRoomsCSV(src)
	if err != nil {
		back(w, r, "/rooms", "err", "Nothing imported: "+err.Error())
		return
	}
	for _, room := range rooms {
		if err := s.opts.Store.PutRoom(room); err != nil {
			back(w, r, "/rooms", "err", "Import stopped at room "+room.ID+": "+err.Error())
			return
		}
		s.refresh(r.Context(), room.ID)
	}
	back(w, r, "/rooms", "msg", fmt.Sprintf("Imported %d rooms.", len(rooms)))
}

func (s *Server) parseRoomsCSV(src io.Reader) ([]store.Room, error) {
	cr := csv.NewReader(io.LimitReader(src, 1<<20))
	cr.TrimLeadingSpace = true
	records, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("not valid CSV: %w", err)
	}
	if len(records) < 2 {
		return nil, errors.New("the CSV needs a header line (id,name,calendar,tz,display,...) and at least one room")
	}
	col := map[string]int{}
	for i, h := range records[0] {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"id", "name", "tz"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("the header has no %q column", need)
		}
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	flag := func(rec []string, name string) bool {
		b, _ := strconv.ParseBool(get(rec, name))
		return b
	}
	var rooms []store.Room
	seen := map[string]bool{}
	for line, rec := range records[1:] {
		room := store.Room{ID: get(rec, "id"), Name: get(rec, "name"), Calendar: get(rec, "calendar"), TimeZone: get(rec, "tz"),
			Display: get(rec, "display"), Booking: store.BookingSettings{Instant: flag(rec, "instant"), Teams: flag(rec, "teams"),
				ExtendEnd: flag(rec, "extend_end"), CheckIn: flag(rec, "check_in"), AutoRelease: flag(rec, "auto_release")}}
		if err := s.checkRoom(&room); err != nil {
			return nil, fmt.Errorf("line %d: %w", line+2, err)
		}
		if seen[room.ID] {
			return nil, fmt.Errorf("line %d: room id %q appears twice", line+2, room.ID)
		}
		seen[room.ID] = true
		rooms = append(rooms, room)
	}
	return rooms, nil
}

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
		if d.Revoked {
			continue
		}
		row := deviceRow{Device: d, RoomName: names[d.Room], Conn: conns[d.ID]}
		row.Online = row.Conn != nil
		row.Flagged = !row.Online && now.Sub(d.LastSeen) > s.opts.OfflineAfter
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
		if err := s.opts.Devices.Revoke(r.Context(), id); err != nil {
			back(w, r, "/devices", "err", err.Error())
			return
		}
		s.opts.Panels.Disconnect(id, proto.CodeRevoked, "this panel was removed by an administrator; pair it again")
		back(w, r, "/devices", "msg", d.Name+" was revoked and returns to pairing.")
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

func (s *Server) pairPage(w http.ResponseWriter, r *http.Request) {
	rooms, _ := s.opts.Store.Rooms()
	s.render(w, r, "pair", "Pair a panel", map[string]any{
		"Code": r.URL.Query().Get("code"), "Pending": s.opts.Pairer.Pending(), "Rooms": rooms,
	})
}

func (s *Server) pairForm(w http.ResponseWriter, r *http.Request) {
	code, room := r.PostFormValue("code"), r.PostFormValue("room")
	if room == "" {
		back(w, r, "/pair?code="+url.QueryEscape(code), "err", "Pick the room the panel stands at.")
		return
	}
	d, err := s.approve(r, code, room, strings.TrimSpace(r.PostFormValue("name")))
	if err != nil {
		back(w, r, "/pair?code="+url.QueryEscape(code), "err", strings.TrimPrefix(err.Error(), "devices: "))
		return
	}
	back(w, r, "/pair", "msg", fmt.Sprintf("Paired: %s now shows room %s.", d.Name, d.Room))
}

func (s *Server) activityPage(w http.ResponseWriter, r *http.Request) {
	out, err := s.opts.Store.Outcomes(200)
	if err != nil {
		http.Error(w, "cannot read the store", http.StatusInternalServerError)
		return
	}
	s.render(w, r, "activity", "Activity", out)
}
