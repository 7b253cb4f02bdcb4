package admin

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/connector"
	"github.com/lintelhq/lintel/server/store"
)

//go:embed ui
var uiFS embed.FS

// parsePages parses each page together with the shared layout; now is the
// clock "ago" counts from.
func parsePages(now func() time.Time) map[string]*template.Template {
	funcs := template.FuncMap{
		"ago": func(t time.Time) string { return ago(now(), t) },
		// hhmm is a time of day in a room's zone.
		"hhmm":     func(t time.Time, tz string) string { return t.In(location(tz)).Format("15:04") },
		"duration": humanDuration,
		"title":    title,
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"login", "rooms", "room", "devices", "pair", "activity", "screenshot", "connector", "day", "alerts", "signin", "denied", "users", "tokens", "account", "utilization"} {
		pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(uiFS, "ui/layout.html", "ui/"+name+".html"))
	}
	return pages
}

// page is what every template gets.
type page struct {
	Title string
	Nav   string
	Admin string
	Role  string // "admin" or "helpdesk" for an Entra ID session, "helpdesk" for a local one, else ""
	Can   can    // what the viewer may do: the page hides the rest
	CSRF  string
	Flash string
	Error string
	Data  any
}

// render shows a page, with the flash message or error a redirect put in
// the URL (see back).
func (s *Server) render(w http.ResponseWriter, r *http.Request, name, title string, data any) {
	s.renderPage(w, r, http.StatusOK, name, title, r.URL.Query().Get("err"), data)
}

// renderError shows a form again after an error, with what the admin
// typed (in data) and the error, instead of a redirect that would lose it.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, name, title, errText string, data any) {
	s.renderPage(w, r, http.StatusBadRequest, name, title, errText, data)
}

func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, name, title, errText string, data any) {
	sess, pr := sessionOf(r), principalOf(r)
	role := sess.Role
	if role == "" && pr.Role != RoleAdmin {
		role = pr.Role
	}
	p := page{Title: title, Nav: name, Admin: sess.Admin, Role: role, Can: canOf(pr), CSRF: sess.CSRF, Data: data,
		Flash: r.URL.Query().Get("msg"), Error: errText}
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
	w.WriteHeader(status)
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
	// Only the static folder: a path such as /static/%2e%2e/login.html
	// (the mux does not clean escaped dots) must not reach the templates.
	static, _ := fs.Sub(uiFS, "ui/static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static", http.FileServerFS(static)))
	ui("POST /logout", s.logout)
	ui("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/rooms", http.StatusSeeOther) })
	ui("GET /rooms", s.roomsPage)
	ui("POST /rooms/test", s.testRooms)
	ui("POST /rooms/import", s.importRooms)
	ui("GET /rooms/{room}", s.roomPage)
	ui("POST /rooms/{room}", s.saveRoomForm)
	ui("POST /rooms/{room}/delete", s.deleteRoomForm)
	ui("GET /rooms/{room}/preview.png", s.previewPNG)
	ui("GET /rooms/{room}/day", s.dayPage)
	ui("POST /rooms/{room}/day/add", s.dayAdd)
	ui("POST /rooms/{room}/day/{event}", s.dayChange)
	ui("POST /rooms/{room}/day/{event}/remove", s.dayRemove)
	ui("GET /devices", s.devicesPage)
	ui("POST /devices/{device}/{action}", s.deviceAction)
	ui("GET /devices/{device}/screenshot", s.screenshotPage)
	ui("GET /devices/{device}/screenshot.png", s.screenshotPNG)
	ui("GET /pair", s.pairPage)
	ui("POST /pair", s.pairForm)
	ui("GET /activity", s.activityPage)
	ui("GET /utilization", s.usagePage)
	ui("GET /connector", s.connectorPage)
	ui("POST /connector", s.connectorForm)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.session(r); ok {
		http.Redirect(w, r, "/rooms", http.StatusSeeOther)
		return
	}
	s.render(w, r, "login", "Log in", s.loginData(safeNext(r.URL.Query().Get("next"))))
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	addr, now := clientAddr(r), s.opts.Now()
	next := safeNext(r.PostFormValue("next"))
	user := r.PostFormValue("username")
	keys := s.logins.keysFor(r, addr, user)
	// The attempt is counted before the (slow) check: concurrent guesses
	// cannot all be checked before the first failure counts.
	if wait, ok := s.logins.reserve(keys, now); !ok {
		secs := int(wait.Round(time.Second) / time.Second)
		s.log.Warn("login rate limit hit", append([]any{"addr", addr}, s.loginUser(user)...)...)
		w.Header().Set("Retry-After", fmt.Sprint(max(secs, 1)))
		s.renderPage(w, r, http.StatusTooManyRequests, "login", "Log in",
			fmt.Sprintf("Too many failed logins: try again in %s.", humanWait(wait)), s.loginData(next))
		return
	}
	if !CheckPassword(s.opts.Store, user, r.PostFormValue("password")) {
		s.log.Warn("failed login", append([]any{"addr", addr}, s.loginUser(user)...)...)
		s.renderPage(w, r, http.StatusUnauthorized, "login", "Log in", "Wrong username or password.", s.loginData(next))
		return
	}
	s.logins.succeeded(keys)
	if err := s.startSession(w, r, user); err != nil {
		s.log.Error("cannot start a session", "err", err)
		http.Error(w, "cannot log in right now: the server cannot write its store", http.StatusInternalServerError)
		return
	}
	s.logins.trustDevice(w, r, user)
	s.log.Info("admin logged in", "admin", user, "addr", addr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// loginUser is how a failed login's username is logged: an admin's name
// as it is, anything else (it may be a password typed in the wrong field)
// as "unknown user" and a short keyed hash, to tell repeats apart.
func (s *Server) loginUser(user string) []any {
	if _, err := s.opts.Store.Admin(user); err == nil {
		return []any{"username", user}
	}
	return []any{"username", "unknown user", "username_hash", s.logins.hash(user)}
}

// humanWait says a wait in whole seconds or minutes.
func humanWait(d time.Duration) string {
	if d <= time.Minute {
		return fmt.Sprintf("%d seconds", max(int(d.Round(time.Second)/time.Second), 1))
	}
	return fmt.Sprintf("%d minutes", int((d+time.Minute-1)/time.Minute))
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
	Room         store.Room
	Status       proto.Status
	StatusLabel  string
	UntilLabel   string // "until 10:30", "check in by 09:15"
	Current      string // the current meeting as its panels show it
	Stale        bool
	PanelsOnline int
	PanelsTotal  int
	// Diagnosis is the last "test all" finding; Read the diagnosis of the
	// last calendar read when it failed.
	Diagnosis     *calendar.Diagnosis
	Read          *calendar.Diagnosis
	HasState      bool
	LastSyncLocal string
}

var statusLabels = map[proto.Status]string{proto.StatusFree: "Free", proto.StatusBusy: "Busy", proto.StatusSoon: "Starting soon", proto.StatusCheckIn: "Awaiting check-in"}

// statusLine is what the rooms page says of a room now: its status word
// and the time that matters next, in the room's zone. While a meeting
// awaits check-in that is the check-in deadline (check-in closes, and the
// meeting may be released), not the meeting's end.
func statusLine(now proto.Now, rules proto.Rules, loc *time.Location) (label, until string) {
	label = statusLabels[now.Status]
	if now.Status == proto.StatusCheckIn && now.Current != nil {
		start, _ := proto.Span(*now.Current, loc)
		return label, "check in by " + start.Add(rules.CheckInAfter()).In(loc).Format("15:04")
	}
	switch {
	case now.Until.IsZero():
		return label, ""
	case now.Status == proto.StatusSoon:
		return label, "at " + now.Until.In(loc).Format("15:04")
	}
	return label, "until " + now.Until.In(loc).Format("15:04")
}

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
	health := s.opts.Connector.Health()
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
			loc := location(st.Room.TimeZone)
			now := proto.At(st.Meetings, s.opts.Now(), st.Rules, loc)
			row.HasState, row.Status, row.Stale = true, now.Status, st.Stale
			row.StatusLabel, row.UntilLabel = statusLine(now, st.Rules, loc)
			if now.Current != nil {
				row.Current = now.Current.Title // privacy already applied by sync
			}
			if st.Stale && !st.LastSync.IsZero() {
				row.LastSyncLocal = st.LastSync.In(loc).Format("15:04")
			}
		}
		if rh, ok := health.Rooms[room.Calendar]; ok && rh.Diagnosis.Status != calendar.StatusOK {
			d := rh.Diagnosis
			row.Read = &d
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

// roomsData is what the rooms page shows.
type roomsData struct {
	Rows     []roomRow
	Test     *connector.Report
	Provider string
	Health   connector.Health
	// Import is the CSV import form: what was pasted, and every bad line.
	ImportCSV    string
	ImportErrors []string
}

func (s *Server) roomsData() (roomsData, error) {
	rows, err := s.roomRows()
	if err != nil {
		return roomsData{}, err
	}
	s.testsMu.Lock()
	last := s.lastTest
	s.testsMu.Unlock()
	return roomsData{Rows: rows, Test: last, Provider: s.opts.Provider.Name(), Health: s.opts.Connector.Health()}, nil
}

func (s *Server) roomsPage(w http.ResponseWriter, r *http.Request) {
	data, err := s.roomsData()
	if err != nil {
		s.log.Error("rooms page", "err", err)
		http.Error(w, "cannot read the store", http.StatusInternalServerError)
		return
	}
	s.render(w, r, "rooms", "Rooms", data)
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

// maxCertificate bounds an uploaded certificate file.
const maxCertificate = 64 << 10

func (s *Server) connectorPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "connector", "Calendar connection", s.opts.Connector.Settings())
}

// connectorForm saves the connection. An error shows the form again with
// what was typed (never the secret, which is not sent back to a page).
func (s *Server) connectorForm(w http.ResponseWriter, r *http.Request) {
	set := connector.Settings{
		Kind: r.PostFormValue("kind"), TenantID: strings.TrimSpace(r.PostFormValue("tenant_id")),
		ClientID: strings.TrimSpace(r.PostFormValue("client_id")), Cloud: r.PostFormValue("cloud"),
		AuthorityHost: strings.TrimSpace(r.PostFormValue("authority_host")), GraphBaseURL: strings.TrimSpace(r.PostFormValue("graph_base_url")),
		Auth: r.PostFormValue("auth"), CertFile: strings.TrimSpace(r.PostFormValue("certificate_file")),
		CanaryMailbox: strings.TrimSpace(r.PostFormValue("canary")),
		PublicURL:     strings.TrimSpace(r.PostFormValue("public_url")),
	}
	again := func(msg string) {
		shown := set
		shown.HasSecret = s.opts.Connector.Settings().HasSecret
		s.renderError(w, r, "connector", "Calendar connection", msg, shown)
	}
	if v := r.PostFormValue("secret_expires"); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			again("The secret's expiry is a date like 2027-06-30.")
			return
		}
		set.SecretExpires = t
	}
	cred := connector.Credentials{Secret: r.PostFormValue("secret")}
	if f, hdr, err := r.FormFile("certificate"); err == nil {
		defer f.Close()
		if hdr.Size > maxCertificate {
			again("The certificate file is larger than 64 KiB: upload the PEM (certificate and private key) or PFX file only.")
			return
		}
		if cred.Certificate, err = io.ReadAll(io.LimitReader(f, maxCertificate)); err != nil {
			again("The certificate upload broke off: try again.")
			return
		}
		set.Auth = "certificate"
	}
	if err := s.opts.Connector.Apply(r.Context(), set, cred); err != nil {
		again(err.Error())
		return
	}
	s.log.Info("calendar connection changed", "kind", set.Kind, "admin", sessionOf(r).Admin)
	if _, err := s.runTest(r.Context()); err != nil {
		s.log.Warn("test after a connector change failed", "err", err)
	}
	back(w, r, "/rooms", "msg", "Saved. The rooms below were tested with the new connection.")
}
