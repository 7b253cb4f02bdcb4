package alert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strings"
)

// Settings say where alerts go. The SMTP password is not among them: it
// is written once to a 0600 file and never read back into a page, a log or
// an API answer. Webhook URLs carry their own secret (Slack's and Teams'
// URLs are the credential), so answers show only their scheme and host.
type Settings struct {
	Email    EmailSettings `json:"email"`
	Webhooks []Webhook     `json:"webhooks"`
	// Mute lists kinds that are tracked and shown but not sent.
	Mute []Kind `json:"mute,omitempty"`
	// MaxPerHour bounds the messages sent in an hour (default 20).
	MaxPerHour int `json:"max_per_hour,omitempty"`
}

// EmailSettings configure e-mail through an SMTP relay. No host means no
// e-mail.
type EmailSettings struct {
	Host string `json:"host,omitempty"`
	// Port defaults to 587 for starttls and 465 for tls.
	Port int `json:"port,omitempty"`
	// Security is "starttls" (the default: STARTTLS is required, a server
	// that does not offer it is refused) or "tls" (TLS from the start,
	// "SMTPS"). Plain text is not offered: the password would travel in
	// clear.
	Security string   `json:"security,omitempty"`
	Username string   `json:"username,omitempty"`
	From     string   `json:"from,omitempty"`
	To       []string `json:"to,omitempty"`
	// TellOrganizers also e-mails the organizer of a meeting series nobody
	// comes to, once when it is flagged (replies go to To).
	TellOrganizers bool `json:"tell_organizers,omitempty"`
	// HasPassword says whether a password is stored (never its value).
	HasPassword bool `json:"has_password,omitempty"`
}

// Webhook formats.
const (
	FormatJSON  = "json"  // Lintel's own JSON: the Message
	FormatTeams = "teams" // a Microsoft Teams incoming webhook (Workflows): an Adaptive Card
	FormatSlack = "slack" // a Slack incoming webhook: text and blocks
)

// Webhook is one HTTP endpoint alerts are posted to.
type Webhook struct {
	Name   string `json:"name"`
	Format string `json:"format"` // json, teams or slack
	// URL is where to post. In answers it is shortened to scheme and host
	// ("https://hooks.slack.com/…"); sent back like that, or empty, it
	// keeps the stored URL of the webhook with the same name.
	URL string `json:"url"`
}

// Limits on the settings.
const (
	MaxRecipients = 20
	MaxWebhooks   = 10
	maxURL        = 2048
)

// Enabled reports whether e-mail is configured.
func (e EmailSettings) Enabled() bool { return e.Host != "" }

// port is the port to dial.
func (e EmailSettings) port() int {
	switch {
	case e.Port != 0:
		return e.Port
	case e.Security == "tls":
		return 465
	}
	return 587
}

// Redact returns s as answers show it: webhook URLs cut to scheme and
// host.
func (s Settings) Redact() Settings {
	out := s
	out.Webhooks = make([]Webhook, len(s.Webhooks))
	for i, w := range s.Webhooks {
		w.URL = RedactURL(w.URL)
		out.Webhooks[i] = w
	}
	if out.Webhooks == nil {
		out.Webhooks = []Webhook{}
	}
	return out
}

// RedactURL keeps a URL's scheme and host: its path and query are often
// the credential.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "…"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// isRedacted reports whether raw is a URL as Redact shows it.
func isRedacted(raw string) bool { return raw == "" || strings.HasSuffix(raw, "/…") || raw == "…" }

// Merge fills what new leaves to keep from old: a webhook whose URL is
// empty or redacted keeps the URL of old's webhook with the same name.
func Merge(old, new Settings) (Settings, error) {
	out := new
	out.Webhooks = slices.Clone(new.Webhooks)
	for i, w := range out.Webhooks {
		if !isRedacted(w.URL) {
			continue
		}
		j := slices.IndexFunc(old.Webhooks, func(o Webhook) bool { return o.Name == w.Name })
		if j < 0 {
			return Settings{}, fmt.Errorf("webhook %q needs its url (none is stored under that name)", w.Name)
		}
		out.Webhooks[i].URL = old.Webhooks[j].URL
	}
	return out, nil
}

// Validate checks the settings and says what is wrong in the words of the
// API's fields.
func (s Settings) Validate() error {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	e := s.Email
	if e.Enabled() {
		if strings.ContainsAny(e.Host, " /:@") || len(e.Host) > 253 {
			bad("email.host %q is not a host name (give the port in email.port)", e.Host)
		}
		if e.Port < 0 || e.Port > 65535 {
			bad("email.port %d is not a port (1 to 65535; default 587, or 465 for tls)", e.Port)
		}
		switch e.Security {
		case "", "starttls", "tls":
		default:
			bad("email.security %q is not starttls or tls", e.Security)
		}
		if len(e.Username) > 256 {
			bad("email.username is longer than 256 characters")
		}
		if _, err := mail.ParseAddress(e.From); err != nil {
			bad("email.from %q is not an e-mail address", e.From)
		}
		switch n := len(e.To); {
		case n == 0:
			bad("email.to needs at least one recipient")
		case n > MaxRecipients:
			bad("email.to has %d recipients; at most %d (use a distribution list)", n, MaxRecipients)
		}
		for _, to := range e.To {
			if _, err := mail.ParseAddress(to); err != nil {
				bad("email.to %q is not an e-mail address", to)
			}
		}
	} else if e.From != "" || len(e.To) > 0 || e.Username != "" || e.TellOrganizers {
		bad("email.host is needed to send e-mail (or leave email empty)")
	}
	if len(s.Webhooks) > MaxWebhooks {
		bad("%d webhooks; at most %d", len(s.Webhooks), MaxWebhooks)
	}
	names := map[string]bool{}
	for _, w := range s.Webhooks {
		if w.Name == "" || len(w.Name) > 64 {
			bad("a webhook's name is 1 to 64 characters")
		} else if names[w.Name] {
			bad("two webhooks are named %q", w.Name)
		}
		names[w.Name] = true
		switch w.Format {
		case FormatJSON, FormatTeams, FormatSlack:
		default:
			bad("webhook %q: format %q is not json, teams or slack", w.Name, w.Format)
		}
		u, err := url.Parse(w.URL)
		switch {
		case len(w.URL) > maxURL:
			bad("webhook %q: the url is longer than %d characters", w.Name, maxURL)
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			bad("webhook %q: url must be an http(s) address such as https://hooks.slack.com/services/…", w.Name)
		case u.User != nil:
			bad("webhook %q: the url must not carry a user name or password", w.Name)
		}
	}
	for _, k := range s.Mute {
		if !slices.Contains(Kinds, k) {
			bad("mute: %q is not a kind of alert (%s)", k, kindList())
		}
	}
	if s.MaxPerHour < 0 || s.MaxPerHour > 1000 {
		bad("max_per_hour %d is not from 1 to 1000 (0 for the default, 20)", s.MaxPerHour)
	}
	if len(probs) > 0 {
		return errors.New(strings.Join(probs, "; "))
	}
	return nil
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// Net is how notifiers reach the network. The zero value uses the
// system's dialer and certificate pool.
type Net struct {
	// Dial, when set, replaces the dialer for SMTP and webhooks.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// RootCAs, when set, replaces the system's certificate pool (a
	// company CA for an internal relay; a test CA).
	RootCAs *x509.CertPool
}

func (n Net) tlsConfig(host string) *tls.Config {
	return &tls.Config{ServerName: host, RootCAs: n.RootCAs, MinVersion: tls.VersionTLS12}
}

func (n Net) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if n.Dial != nil {
		return n.Dial(ctx, network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// Notifiers builds the channels the settings name; password is the SMTP
// password ("" for a relay without authentication).
func Notifiers(s Settings, password string, n Net) []Notifier {
	var out []Notifier
	if s.Email.Enabled() {
		e := &Email{settings: s.Email, password: password, net: n}
		out = append(out, e)
		if s.Email.TellOrganizers {
			out = append(out, organizerEmail{e})
		}
	}
	for _, w := range s.Webhooks {
		out = append(out, newWebhook(w, n))
	}
	return out
}
