package alert

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/alert/alerttest"
)

var sample = Message{Event: Firing, At: time.Date(2026, 3, 11, 9, 51, 0, 0, time.UTC), Server: "https://lintel.contoso.com",
	Alert: Alert{Key: "panel_offline/d1", Kind: KindPanelOffline, Subject: "Panel Rigi door is offline", Room: "rigi", Device: "Rigi door",
		Detail: "Last seen 10:41 <from 10.0.0.7>.", Since: time.Date(2026, 3, 11, 9, 41, 0, 0, time.UTC)}}

// smtpServer starts the test SMTP server with a certificate for
// smtp.contoso.test, and a Net that reaches it under that name.
func smtpServer(t *testing.T, opts alerttest.SMTPOpts) (*alerttest.SMTPServer, Net) {
	t.Helper()
	ca, err := alerttest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	if opts.Cert.Certificate == nil {
		if opts.Cert, err = ca.Leaf("smtp.contoso.test"); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := alerttest.NewSMTPServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	n := Net{RootCAs: ca.Pool, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if !strings.HasPrefix(addr, "smtp.contoso.test:") {
			t.Errorf("dialled %s, want smtp.contoso.test", addr)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, srv.Addr)
	}}
	return srv, n
}

func emailTo(s EmailSettings, password string, n Net) Notifier {
	return Notifiers(Settings{Email: s}, password, n)[0]
}

// TestEmailOverSTARTTLS: the real client sends through the test server
// after STARTTLS, authenticated, with the alert in subject and body.
func TestEmailOverSTARTTLS(t *testing.T) {
	srv, n := smtpServer(t, alerttest.SMTPOpts{Username: "lintel@contoso.test", Password: "relay pass 1"})
	e := emailTo(EmailSettings{Host: "smtp.contoso.test", Username: "lintel@contoso.test", From: "Lintel <lintel@contoso.test>",
		To: []string{"facilities@contoso.test", "it@contoso.test"}}, "relay pass 1", n)
	if err := e.Notify(context.Background(), sample); err != nil {
		t.Fatal(err)
	}
	mails := srv.Mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	m := mails[0]
	if !m.TLS || m.AuthUser != "lintel@contoso.test" || m.From != "lintel@contoso.test" || strings.Join(m.To, ",") != "facilities@contoso.test,it@contoso.test" {
		t.Errorf("mail: tls %v auth %q from %q to %v", m.TLS, m.AuthUser, m.From, m.To)
	}
	for _, want := range []string{"Subject: [Lintel] Alert: Panel Rigi door is offline", "Auto-Submitted: auto-generated",
		"Last seen 10:41 <from 10.0.0.7>.", "Room:  rigi", "Since: 2026-03-11 09:41 UTC", "https://lintel.contoso.com/alerts"} {
		if !strings.Contains(m.Data, want) {
			t.Errorf("the mail lacks %q:\n%s", want, m.Data)
		}
	}
}

// TestEmailRefusesWithoutTLS: a relay that offers no STARTTLS gets
// nothing, not even the password.
func TestEmailRefusesWithoutTLS(t *testing.T) {
	srv, n := smtpServer(t, alerttest.SMTPOpts{NoSTARTTLS: true, Username: "u", Password: "secret password"})
	e := emailTo(EmailSettings{Host: "smtp.contoso.test", Username: "u", From: "a@contoso.test", To: []string{"b@contoso.test"}}, "secret password", n)
	err := e.Notify(context.Background(), sample)
	if err == nil || len(srv.Mails()) != 0 {
		t.Fatalf("sent without TLS: %v, %d mails", err, len(srv.Mails()))
	}
	if !strings.Contains(err.Error(), "STARTTLS") || strings.Contains(err.Error(), "secret password") {
		t.Errorf("error: %v", err)
	}
}

// TestEmailImplicitTLS speaks TLS from the first byte (port 465).
func TestEmailImplicitTLS(t *testing.T) {
	srv, n := smtpServer(t, alerttest.SMTPOpts{ImplicitTLS: true})
	e := emailTo(EmailSettings{Host: "smtp.contoso.test", Security: "tls", From: "a@contoso.test", To: []string{"b@contoso.test"}}, "", n)
	if err := e.Notify(context.Background(), sample); err != nil {
		t.Fatal(err)
	}
	if m := srv.Mails(); len(m) != 1 || !m[0].TLS {
		t.Errorf("mails %+v", m)
	}
}

// TestEmailFailures: a wrong password and an untrusted certificate fail
// with an error that names the relay, never the password.
func TestEmailFailures(t *testing.T) {
	srv, n := smtpServer(t, alerttest.SMTPOpts{Username: "u", Password: "right password"})
	s := EmailSettings{Host: "smtp.contoso.test", Username: "u", From: "a@contoso.test", To: []string{"b@contoso.test"}}
	err := emailTo(s, "wrong password", n).Notify(context.Background(), sample)
	if err == nil || !strings.Contains(err.Error(), "smtp.contoso.test:587") || strings.Contains(err.Error(), "wrong password") {
		t.Errorf("wrong password: %v", err)
	}
	untrusted := n
	untrusted.RootCAs = nil // the system's pool does not know the test CA
	if err := emailTo(s, "right password", untrusted).Notify(context.Background(), sample); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
	if len(srv.Mails()) != 0 {
		t.Errorf("%d mails got through", len(srv.Mails()))
	}
}

// TestWebhookFormats posts each format and checks what arrives: Lintel's
// JSON, a Teams Adaptive Card and a Slack message.
func TestWebhookFormats(t *testing.T) {
	bodies := map[string]map[string]any{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &v); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %v %q", r.URL.Path, err, r.Header.Get("Content-Type"))
		}
		bodies[r.URL.Path] = v
	}))
	defer srv.Close()
	ns := Notifiers(Settings{Webhooks: []Webhook{
		{Name: "ops", Format: FormatJSON, URL: srv.URL + "/json"},
		{Name: "teams", Format: FormatTeams, URL: srv.URL + "/teams"},
		{Name: "slack", Format: FormatSlack, URL: srv.URL + "/slack"},
	}}, "", Net{})
	for _, n := range ns {
		if err := n.Notify(context.Background(), sample); err != nil {
			t.Fatalf("%s: %v", n.Channel(), err)
		}
	}
	j := bodies["/json"]
	if a, _ := j["alert"].(map[string]any); j["event"] != "firing" || a["key"] != "panel_offline/d1" || a["kind"] != "panel_offline" || a["room"] != "rigi" {
		t.Errorf("json: %v", j)
	}
	teams, _ := json.Marshal(bodies["/teams"])
	for _, want := range []string{`"type":"message"`, `"contentType":"application/vnd.microsoft.card.adaptive"`, `"type":"AdaptiveCard"`,
		`"text":"Alert: Panel Rigi door is offline"`, `"type":"FactSet"`, `"url":"https://lintel.contoso.com/alerts"`} {
		if !strings.Contains(string(teams), want) {
			t.Errorf("teams lacks %s: %s", want, teams)
		}
	}
	slack, _ := json.Marshal(bodies["/slack"])
	for _, want := range []string{`"text":":rotating_light: Alert: Panel Rigi door is offline"`, `"blocks":[`,
		`Last seen 10:41 \u0026lt;from 10.0.0.7\u0026gt;.`, `\u003chttps://lintel.contoso.com/alerts|Open Lintel\u003e`} {
		if !strings.Contains(string(slack), want) {
			t.Errorf("slack lacks %s: %s", want, slack)
		}
	}
}

// TestWebhookErrorsHideTheURL: the path of a webhook URL is its secret;
// a failure says the status and the host only. A redirect is not
// followed.
func TestWebhookErrorsHideTheURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		if r.URL.Path == "/elsewhere" {
			t.Error("a redirect was followed")
		}
		http.Error(w, "invalid_payload", http.StatusBadRequest)
	}))
	defer srv.Close()
	for _, path := range []string{"/services/T000/B000/s3cr3t", "/redirect"} {
		n := Notifiers(Settings{Webhooks: []Webhook{{Name: "slack", Format: FormatSlack, URL: srv.URL + path}}}, "", Net{})[0]
		err := n.Notify(context.Background(), sample)
		if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), srv.Listener.Addr().String()) {
			t.Errorf("%s: %v", path, err)
		}
	}
	// A connection failure's error has no URL either.
	srv.Close()
	n := Notifiers(Settings{Webhooks: []Webhook{{Name: "x", Format: FormatJSON, URL: srv.URL + "/s3cr3t"}}}, "", Net{})[0]
	if err := n.Notify(context.Background(), sample); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("closed server: %v", err)
	}
}

func TestSettingsValidate(t *testing.T) {
	good := Settings{Email: EmailSettings{Host: "smtp.office365.com", From: "lintel@contoso.com", To: []string{"fm@contoso.com"}},
		Webhooks: []Webhook{{Name: "teams", Format: FormatTeams, URL: "https://contoso.webhook.office.com/x"}}, Mute: []Kind{KindProblem}}
	if err := good.Validate(); err != nil {
		t.Fatalf("good settings: %v", err)
	}
	if err := (Settings{}).Validate(); err != nil {
		t.Errorf("no channels at all is allowed (alerts only shown): %v", err)
	}
	for _, c := range []struct {
		change func(*Settings)
		want   string
	}{
		{func(s *Settings) { s.Email.Host = "smtp.office365.com:587" }, "email.host"},
		{func(s *Settings) { s.Email.Port = 70000 }, "email.port"},
		{func(s *Settings) { s.Email.Security = "none" }, "email.security"},
		{func(s *Settings) { s.Email.From = "not an address" }, "email.from"},
		{func(s *Settings) { s.Email.To = nil }, "email.to needs"},
		{func(s *Settings) { s.Email.To = []string{"x"} }, `email.to "x"`},
		{func(s *Settings) { s.Email.To = make([]string, 21) }, "at most 20"},
		{func(s *Settings) { s.Email.Host = "" }, "email.host is needed"},
		{func(s *Settings) { s.Email = EmailSettings{TellOrganizers: true} }, "email.host is needed"},
		{func(s *Settings) { s.Webhooks[0].URL = "ftp://x/y" }, "http(s) address"},
		{func(s *Settings) { s.Webhooks[0].URL = "https://user:pw@x/y" }, "user name or password"},
		{func(s *Settings) { s.Webhooks[0].Format = "discord" }, "not json, teams or slack"},
		{func(s *Settings) { s.Webhooks = append(s.Webhooks, s.Webhooks[0]) }, "two webhooks"},
		{func(s *Settings) { s.Webhooks[0].Name = "" }, "name is 1 to 64"},
		{func(s *Settings) { s.Webhooks = make([]Webhook, 11) }, "at most 10"},
		{func(s *Settings) { s.Mute = []Kind{"everything"} }, "not a kind"},
		{func(s *Settings) { s.MaxPerHour = 5000 }, "max_per_hour"},
	} {
		s := good
		s.Email.To = append([]string(nil), good.Email.To...)
		s.Webhooks = append([]Webhook(nil), good.Webhooks...)
		c.change(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error with %q, got %v", c.want, err)
		}
	}
}

// TestRedactAndMerge: answers show webhook URLs without their secret
// part; sent back like that, the stored URL is kept.
func TestRedactAndMerge(t *testing.T) {
	stored := Settings{Webhooks: []Webhook{{Name: "slack", Format: FormatSlack, URL: "https://hooks.slack.com/services/T0/B0/s3cr3t"}}}
	shown := stored.Redact()
	if shown.Webhooks[0].URL != "https://hooks.slack.com/…" || stored.Webhooks[0].URL == shown.Webhooks[0].URL {
		t.Fatalf("redacted %q (stored %q)", shown.Webhooks[0].URL, stored.Webhooks[0].URL)
	}
	shown.Webhooks = append(shown.Webhooks, Webhook{Name: "json", Format: FormatJSON, URL: "https://ops.contoso.com/hook"})
	merged, err := Merge(stored, shown)
	if err != nil || merged.Webhooks[0].URL != stored.Webhooks[0].URL || merged.Webhooks[1].URL != "https://ops.contoso.com/hook" {
		t.Errorf("merged %+v %v", merged, err)
	}
	if _, err := Merge(stored, Settings{Webhooks: []Webhook{{Name: "new", Format: FormatJSON}}}); err == nil || !strings.Contains(err.Error(), `"new" needs its url`) {
		t.Errorf("a new webhook without a url: %v", err)
	}
}

// The organizer's channel carries only a firing alert's note: nothing
// else goes to an organizer, and nothing is logged for it.
func TestOrganizerChannelOnlyForNotes(t *testing.T) {
	o := organizerEmail{&Email{settings: EmailSettings{Host: "smtp.invalid", From: "l@x.test", To: []string{"f@x.test"}}}}
	note := &Note{To: "anna@x.test", Subject: "s", Body: "b"}
	for _, m := range []Message{
		{Event: Firing, Alert: Alert{Key: "k"}},
		{Event: Resolved, Alert: Alert{Key: "k", Tell: note}},
		{Event: Reported, Alert: Alert{Key: "k", Tell: note}},
		{Event: Test, Alert: Alert{Key: "test", Tell: note}},
	} {
		if err := o.Notify(context.Background(), m); !errors.Is(err, ErrNotConcerned) {
			t.Errorf("%s without a note for it: %v, want ErrNotConcerned", m.Event, err)
		}
	}
	ns := Notifiers(Settings{Email: EmailSettings{Host: "smtp.x.test", From: "l@x.test", To: []string{"f@x.test"}, TellOrganizers: true}}, "", Net{})
	if len(ns) != 2 || ns[1].Channel() != "e-mail to the organizer" {
		t.Errorf("channels with tell_organizers: %v", ns)
	}
}
