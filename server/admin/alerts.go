package admin

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/lintelhq/lintel/server/alert"
)

// Alerts is the server's alerting as the admin manages it.
type Alerts interface {
	// Settings returns the settings as answers show them: webhook URLs
	// shortened, the SMTP password only as "stored".
	Settings() alert.Settings
	// Apply checks and saves new settings (with a new SMTP password when
	// password is not empty) and uses them at once.
	Apply(ctx context.Context, s alert.Settings, password string) error
	// SendTest sends a test message on every channel now.
	SendTest(ctx context.Context) []alert.Result
	// Active lists the alerts that hold now; Log the last n messages sent.
	Active() []alert.Active
	Log(n int) ([]alert.Sent, error)
}

// SetAlerts gives the admin the server's alerting (made after the admin
// server, whose sign-in settings it reads).
func (s *Server) SetAlerts(a Alerts) { s.alerts = a }

// alertsBody is PUT /api/v1/alerts/settings: the settings and, write-only,
// the SMTP password.
type alertsBody struct {
	alert.Settings
	Password string `json:"password,omitempty"`
}

// alertsState is GET /api/v1/alerts.
type alertsState struct {
	Active []alert.Active `json:"active"`
	Sent   []alert.Sent   `json:"sent"`
}

// logShown is how many sent messages the page and the API show.
const logShown = 50

func (s *Server) alertRoutes() {
	api := func(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
		s.mux.Handle(pattern, s.requireAPI(h))
	}
	api("GET /api/v1/alerts", s.getAlerts)
	api("GET /api/v1/alerts/settings", s.getAlertSettings)
	api("PUT /api/v1/alerts/settings", s.putAlertSettings)
	api("POST /api/v1/alerts/test", s.testAlerts)
	ui := func(pattern string, h http.HandlerFunc) { s.mux.Handle(pattern, s.requireSession(h)) }
	ui("GET /alerts", s.alertsPage)
	ui("POST /alerts", s.alertsForm)
	ui("POST /alerts/test", s.alertsTestForm)
}

func (s *Server) alertsOrError() (Alerts, error) {
	if s.alerts == nil {
		return nil, httpError(http.StatusServiceUnavailable, "alerts are not available on this server")
	}
	return s.alerts, nil
}

func (s *Server) getAlerts(w http.ResponseWriter, r *http.Request) error {
	a, err := s.alertsOrError()
	if err != nil {
		return err
	}
	sent, err := a.Log(logShown)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, alertsState{Active: a.Active(), Sent: sent})
	return nil
}

func (s *Server) getAlertSettings(w http.ResponseWriter, r *http.Request) error {
	a, err := s.alertsOrError()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.Settings())
	return nil
}

func (s *Server) putAlertSettings(w http.ResponseWriter, r *http.Request) error {
	a, err := s.alertsOrError()
	if err != nil {
		return err
	}
	var body alertsBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if err := a.Apply(r.Context(), body.Settings, body.Password); err != nil {
		return httpError(http.StatusBadRequest, "%v", err)
	}
	s.log.Info("alert settings changed", "by", who(r))
	writeJSON(w, http.StatusOK, a.Settings())
	return nil
}

func (s *Server) testAlerts(w http.ResponseWriter, r *http.Request) error {
	a, err := s.alertsOrError()
	if err != nil {
		return err
	}
	results := a.SendTest(r.Context())
	if results == nil {
		results = []alert.Result{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
	return nil
}

// alertsPageData is what the alerts page shows.
type alertsPageData struct {
	Settings alert.Settings
	Active   []alert.Active
	Sent     []alert.Sent
	Kinds    []alert.Kind
	Muted    map[alert.Kind]bool
	// Rows are the webhook rows of the form: the stored ones and a blank
	// one to add.
	Rows    []alert.Webhook
	To      string
	Results []alert.Result // of a test just sent
}

func (s *Server) alertsData(set alert.Settings) alertsPageData {
	d := alertsPageData{Settings: set, Kinds: alert.Kinds, Muted: map[alert.Kind]bool{}, To: strings.Join(set.Email.To, ", ")}
	if s.alerts != nil {
		d.Active = s.alerts.Active()
		d.Sent, _ = s.alerts.Log(logShown)
	}
	for _, k := range set.Mute {
		d.Muted[k] = true
	}
	d.Rows = append(append([]alert.Webhook(nil), set.Webhooks...), alert.Webhook{Format: alert.FormatJSON})
	return d
}

func (s *Server) alertsPage(w http.ResponseWriter, r *http.Request) {
	if s.alerts == nil {
		http.Error(w, "alerts are not available on this server", http.StatusServiceUnavailable)
		return
	}
	s.render(w, r, "alerts", "Alerts", s.alertsData(s.alerts.Settings()))
}

// alertsForm saves the settings form. An error shows the form again with
// what was typed (never the password).
func (s *Server) alertsForm(w http.ResponseWriter, r *http.Request) {
	if s.alerts == nil {
		http.Error(w, "alerts are not available on this server", http.StatusServiceUnavailable)
		return
	}
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	set := alert.Settings{Email: alert.EmailSettings{Host: f("email_host"), Security: f("email_security"),
		Username: f("email_username"), From: f("email_from"), TellOrganizers: f("email_tell_organizers") == "yes"}}
	again := func(msg string) {
		shown := set.Redact()
		shown.Email.HasPassword = s.alerts.Settings().Email.HasPassword
		d := s.alertsData(shown)
		d.To = r.PostFormValue("email_to")
		s.renderError(w, r, "alerts", "Alerts", msg, d)
	}
	for _, to := range strings.FieldsFunc(r.PostFormValue("email_to"), func(c rune) bool { return c == ',' || c == ';' || c == '\n' || c == '\r' }) {
		if to = strings.TrimSpace(to); to != "" {
			set.Email.To = append(set.Email.To, to)
		}
	}
	if p := f("email_port"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			again("The SMTP port is a number, such as 587.")
			return
		}
		set.Email.Port = n
	}
	if m := f("max_per_hour"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil {
			again("Messages an hour is a number, such as 20.")
			return
		}
		set.MaxPerHour = n
	}
	names, formats, urls := r.PostForm["webhook_name"], r.PostForm["webhook_format"], r.PostForm["webhook_url"]
	if len(names) > alert.MaxWebhooks+1 || len(formats) != len(names) || len(urls) != len(names) {
		again("The webhook rows of the form do not match: reload the page and try again.")
		return
	}
	for i := range names {
		name, url := strings.TrimSpace(names[i]), strings.TrimSpace(urls[i])
		if name == "" && url == "" {
			continue // a blank row, or one the admin cleared to remove it
		}
		set.Webhooks = append(set.Webhooks, alert.Webhook{Name: name, Format: formats[i], URL: url})
	}
	for _, k := range r.PostForm["mute"] {
		set.Mute = append(set.Mute, alert.Kind(k))
	}
	if err := s.alerts.Apply(r.Context(), set, r.PostFormValue("email_password")); err != nil {
		again(err.Error())
		return
	}
	s.log.Info("alert settings changed", "by", who(r))
	back(w, r, "/alerts", "msg", "Saved. Send a test to check that alerts arrive.")
}

func (s *Server) alertsTestForm(w http.ResponseWriter, r *http.Request) {
	if s.alerts == nil {
		http.Error(w, "alerts are not available on this server", http.StatusServiceUnavailable)
		return
	}
	results := s.alerts.SendTest(r.Context())
	if len(results) == 0 {
		back(w, r, "/alerts", "err", "Nothing to test: add an e-mail relay or a webhook first.")
		return
	}
	var ok, bad []string
	for _, res := range results {
		if res.OK {
			ok = append(ok, res.Channel)
		} else {
			bad = append(bad, res.Channel+": "+res.Error)
		}
	}
	if len(bad) > 0 {
		msg := fmt.Sprintf("The test failed on %d of %d channels. %s", len(bad), len(results), strings.Join(bad, "; "))
		if len(ok) > 0 {
			msg += ". Sent: " + strings.Join(ok, ", ") + "."
		}
		back(w, r, "/alerts", "err", msg)
		return
	}
	back(w, r, "/alerts", "msg", "Test sent: "+strings.Join(ok, ", ")+". Check that it arrived.")
}
