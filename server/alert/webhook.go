package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// webhook posts alerts to an HTTP endpoint in one of three formats.
type webhook struct {
	w      Webhook
	client *http.Client
}

func newWebhook(w Webhook, n Net) *webhook {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = n.dial
	tr.TLSClientConfig = n.tlsConfig("")
	tr.Proxy = http.ProxyFromEnvironment
	return &webhook{w: w, client: &http.Client{
		Transport: tr,
		Timeout:   sendTimeout,
		// A redirect is an error: the body would be re-posted somewhere
		// the admin did not choose.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Channel implements Notifier.
func (h *webhook) Channel() string { return "webhook " + h.w.Name }

// Notify implements Notifier. Errors never contain the URL (its path is
// the credential).
func (h *webhook) Notify(ctx context.Context, m Message) error {
	body, err := Payload(h.w.Format, m)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: the url is not valid", h.w.Name)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Lintel-Alerts/1")
	resp, err := h.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		return fmt.Errorf("webhook %s (%s): %w", h.w.Name, RedactURL(h.w.URL), err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		text := strings.Join(strings.Fields(string(answer)), " ")
		if len(text) > 200 {
			text = text[:200] + "…"
		}
		return fmt.Errorf("webhook %s (%s) answered %s: %s", h.w.Name, RedactURL(h.w.URL), resp.Status, text)
	}
	return nil
}

// Payload is the body posted for m in format.
func Payload(format string, m Message) ([]byte, error) {
	switch format {
	case FormatJSON:
		return json.Marshal(m)
	case FormatTeams:
		return json.Marshal(teamsCard(m))
	case FormatSlack:
		return json.Marshal(slackMessage(m))
	}
	return nil, fmt.Errorf("webhook format %q is not json, teams or slack", format)
}

// facts are the message's details as label/value pairs, for chat cards.
func facts(m Message) [][2]string {
	var out [][2]string
	if m.Alert.Kind != "" && m.Alert.Kind != "test" {
		out = append(out, [2]string{"Kind", m.Alert.Kind.Title()})
	}
	if m.Alert.Room != "" {
		out = append(out, [2]string{"Room", m.Alert.Room})
	}
	if m.Alert.Device != "" {
		out = append(out, [2]string{"Panel", m.Alert.Device})
	}
	if !m.Alert.Since.IsZero() && m.Event != Test {
		out = append(out, [2]string{"Since", m.Alert.Since.UTC().Format("2006-01-02 15:04 UTC")})
	}
	if m.Held > 0 {
		out = append(out, [2]string{"Held back", fmt.Sprintf("%d other message(s), rate limit", m.Held)})
	}
	return out
}

// teamsCard is an Adaptive Card in a message, what Teams' Workflows
// ("Post to a channel when a webhook request is received") and the older
// incoming-webhook connectors both accept.
func teamsCard(m Message) map[string]any {
	colour := map[Event]string{Firing: "Attention", Resolved: "Good", Reported: "Warning", Test: "Accent"}[m.Event]
	body := []any{
		map[string]any{"type": "TextBlock", "text": m.Headline(), "weight": "Bolder", "size": "Medium", "wrap": true, "color": colour},
	}
	if m.Alert.Detail != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": m.Alert.Detail, "wrap": true})
	}
	var fs []any
	for _, f := range facts(m) {
		fs = append(fs, map[string]any{"title": f[0], "value": f[1]})
	}
	if len(fs) > 0 {
		body = append(body, map[string]any{"type": "FactSet", "facts": fs})
	}
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard", "version": "1.4", "body": body,
	}
	if m.Server != "" {
		card["actions"] = []any{map[string]any{"type": "Action.OpenUrl", "title": "Open Lintel", "url": strings.TrimSuffix(m.Server, "/") + "/alerts"}}
	}
	return map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil, "content": card,
		}},
	}
}

// slackMessage is a Slack incoming-webhook message: text (shown in
// notifications) and blocks (shown in the channel).
func slackMessage(m Message) map[string]any {
	emoji := map[Event]string{Firing: ":rotating_light:", Resolved: ":white_check_mark:", Reported: ":warning:", Test: ":bell:"}[m.Event]
	text := emoji + " " + m.Headline()
	blocks := []any{
		map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "*" + slackEscape(text) + "*"}},
	}
	if m.Alert.Detail != "" {
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": slackEscape(m.Alert.Detail)}})
	}
	var fields []any
	for _, f := range facts(m) {
		fields = append(fields, map[string]any{"type": "mrkdwn", "text": "*" + f[0] + "*\n" + slackEscape(f[1])})
	}
	if len(fields) > 0 {
		blocks = append(blocks, map[string]any{"type": "section", "fields": fields})
	}
	if m.Server != "" {
		blocks = append(blocks, map[string]any{"type": "context", "elements": []any{
			map[string]any{"type": "mrkdwn", "text": "<" + strings.TrimSuffix(m.Server, "/") + "/alerts|Open Lintel>"},
		}})
	}
	return map[string]any{"text": text, "blocks": blocks}
}

// slackEscape escapes the three characters Slack's mrkdwn gives meaning.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
