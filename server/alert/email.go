package alert

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// sendTimeout bounds one delivery on one channel.
const sendTimeout = 20 * time.Second

// Email sends alerts through an SMTP relay, over STARTTLS (required) or
// TLS, with the password of EmailSettings.Username when one is set.
type Email struct {
	settings EmailSettings
	password string
	net      Net
}

// Channel implements Notifier.
func (e *Email) Channel() string { return "e-mail" }

// Notify implements Notifier: one message to every recipient.
func (e *Email) Notify(ctx context.Context, m Message) error {
	return e.send(ctx, letter{to: e.settings.To, subject: m.Headline(), body: emailBody(m), at: m.At})
}

// send delivers one letter through the relay.
func (e *Email) send(ctx context.Context, l letter) error {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	s := e.settings
	opts := []mail.Option{
		mail.WithPort(s.port()),
		mail.WithTimeout(sendTimeout),
		mail.WithTLSConfig(e.net.tlsConfig(s.Host)),
	}
	if s.Security == "tls" {
		// TLS from the first byte. go-mail makes its own TLS dialer only
		// without a custom one, so the dial wraps the connection itself.
		opts = append(opts, mail.WithSSL(), mail.WithDialContextFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
			raw, err := e.net.dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(raw, e.net.tlsConfig(s.Host))
			if err := tc.HandshakeContext(ctx); err != nil {
				raw.Close()
				return nil, err
			}
			return tc, nil
		}))
	} else {
		// STARTTLS is required: a relay that does not offer it is refused
		// before anything, the password above all, is sent.
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory), mail.WithDialContextFunc(e.net.dial))
	}
	if s.Username != "" {
		// The strongest mechanism the relay offers, among those go-mail
		// speaks; all of them only over TLS.
		opts = append(opts, mail.WithOpportunisticSMTPAuth(mail.SMTPAuthSCRAMSHA256, mail.SMTPAuthSCRAMSHA1, mail.SMTPAuthPlain, mail.SMTPAuthLogin),
			mail.WithUsername(s.Username), mail.WithPassword(e.password))
	}
	c, err := mail.NewClient(s.Host, opts...)
	if err != nil {
		return fmt.Errorf("e-mail: %w", err)
	}
	msg := mail.NewMsg()
	if err := msg.From(s.From); err != nil {
		return fmt.Errorf("e-mail: from %q: %w", s.From, err)
	}
	if err := msg.To(l.to...); err != nil {
		return fmt.Errorf("e-mail: to: %w", err)
	}
	if l.replyTo != "" {
		if err := msg.ReplyTo(l.replyTo); err != nil {
			return fmt.Errorf("e-mail: reply-to: %w", err)
		}
	}
	msg.Subject("[Lintel] " + l.subject)
	msg.SetDateWithValue(l.at)
	msg.SetMessageID()
	// Replies and auto-responders go nowhere useful; say so to mail
	// systems.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(mail.TypeTextPlain, l.body)
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("e-mail via %s:%d: %w", s.Host, s.port(), err)
	}
	return nil
}

// letter is one e-mail.
type letter struct {
	to            []string
	replyTo       string
	subject, body string
	at            time.Time
}

// organizerEmail sends an alert's note to the person it is about (the
// organizer of a meeting series nobody comes to), once, when it fires.
type organizerEmail struct{ e *Email }

// Channel implements Notifier.
func (o organizerEmail) Channel() string { return "e-mail to the organizer" }

// Notify implements Notifier: the note alone, with replies going to the
// facilities team (the first admin recipient).
func (o organizerEmail) Notify(ctx context.Context, m Message) error {
	if m.Event != Firing || m.Alert.Tell == nil || m.Alert.Tell.To == "" {
		return ErrNotConcerned
	}
	n := m.Alert.Tell
	replyTo := ""
	if len(o.e.settings.To) > 0 {
		replyTo = o.e.settings.To[0]
	}
	return o.e.send(ctx, letter{to: []string{n.To}, replyTo: replyTo, subject: n.Subject, body: n.Body, at: m.At})
}

// emailBody is the plain-text body: what, since when, what to do, where
// to look.
func emailBody(m Message) string {
	var b strings.Builder
	switch m.Event {
	case Firing:
		fmt.Fprintf(&b, "ALERT: %s\n\n", m.Alert.Subject)
	case Resolved:
		fmt.Fprintf(&b, "RESOLVED: %s\n\nThis alert has cleared.\n\n", m.Alert.Subject)
	case Reported:
		fmt.Fprintf(&b, "REPORTED: %s\n\n", m.Alert.Subject)
	default:
		fmt.Fprintf(&b, "TEST: %s\n\n", m.Alert.Subject)
	}
	if m.Alert.Detail != "" {
		fmt.Fprintf(&b, "%s\n\n", m.Alert.Detail)
	}
	if m.Alert.Kind != "" && m.Alert.Kind != "test" {
		fmt.Fprintf(&b, "Kind:  %s\n", m.Alert.Kind.Title())
	}
	if m.Alert.Room != "" {
		fmt.Fprintf(&b, "Room:  %s\n", m.Alert.Room)
	}
	if m.Alert.Device != "" {
		fmt.Fprintf(&b, "Panel: %s\n", m.Alert.Device)
	}
	if !m.Alert.Since.IsZero() && m.Event != Test {
		fmt.Fprintf(&b, "Since: %s\n", m.Alert.Since.UTC().Format("2006-01-02 15:04 UTC"))
	}
	fmt.Fprintf(&b, "At:    %s\n", m.At.UTC().Format("2006-01-02 15:04 UTC"))
	if m.Held > 0 {
		fmt.Fprintf(&b, "\n%d other alert message(s) were held back by the rate limit since the last one: see Alerts in the admin UI.\n", m.Held)
	}
	if m.Server != "" {
		fmt.Fprintf(&b, "\nLintel admin: %s/alerts\n", strings.TrimSuffix(m.Server, "/"))
	}
	return b.String()
}
