package main

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/proto/clock"
	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/alert"
	"github.com/lintelhq/lintel/server/alert/alerttest"
	"github.com/lintelhq/lintel/server/store"
)

// movingClock is the test clock moved forward on demand: an offline
// panel's ten minutes pass without waiting for them.
type movingClock struct {
	base   clock.Func
	offset atomic.Int64
}

func (m *movingClock) now() time.Time          { return m.base().Add(time.Duration(m.offset.Load())) }
func (m *movingClock) advance(d time.Duration) { m.offset.Add(int64(d)) }

// hooks records what webhooks receive, by path.
type hooks struct {
	mu  gosync.Mutex
	got map[string][]map[string]any
	srv *httptest.Server
}

func newHooks(t *testing.T) *hooks {
	h := &hooks{got: map[string][]map[string]any{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Errorf("webhook %s: not JSON: %s", r.URL.Path, b)
		}
		h.mu.Lock()
		h.got[r.URL.Path] = append(h.got[r.URL.Path], v)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hooks) bodies(path string) []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.got[path]...)
}

// alertRig is a server with an SMTP relay (smtp.contoso.test on
// loopback, STARTTLS with a test CA, a password) and a webhook receiver.
type alertRig struct {
	ts    *testServer
	clock *movingClock
	smtp  *alerttest.SMTPServer
	hooks *hooks
}

func newAlertRig(t *testing.T) *alertRig { return newAlertRigWith(t, func(*config) {}) }

func newAlertRigWith(t *testing.T, change func(*config)) *alertRig {
	t.Helper()
	ca, err := alerttest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Leaf("smtp.contoso.test")
	if err != nil {
		t.Fatal(err)
	}
	smtp, err := alerttest.NewSMTPServer(alerttest.SMTPOpts{Cert: cert, Username: "lintel@contoso.test", Password: "relay password 7"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(smtp.Close)
	rig := &alertRig{clock: &movingClock{base: clock.ForTests(os.Getenv)}, smtp: smtp, hooks: newHooks(t)}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		if strings.HasPrefix(addr, "smtp.contoso.test:") {
			return d.DialContext(ctx, network, smtp.Addr)
		}
		if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
			t.Errorf("alerts dialled %s: tests reach loopback only", addr)
			return nil, os.ErrPermission
		}
		return d.DialContext(ctx, network, addr)
	}
	rig.ts = newTestServerWith(t, func(c *config) {
		c.Now = rig.clock.now
		c.AlertNet = alert.Net{Dial: dial, RootCAs: ca.Pool}
		change(c)
	})
	rig.ts.now = rig.clock.now // panels share the moved clock
	return rig
}

// configure sets e-mail and two webhooks (JSON and Slack) through the API.
func (rig *alertRig) configure(t *testing.T) {
	t.Helper()
	body := map[string]any{
		"email": map[string]any{"host": "smtp.contoso.test", "username": "lintel@contoso.test", "from": "Lintel <lintel@contoso.test>",
			"to": []string{"facilities@contoso.test"}},
		"password": "relay password 7",
		"webhooks": []map[string]string{
			{"name": "ops", "format": "json", "url": rig.hooks.srv.URL + "/ops/s3cr3t"},
			{"name": "chat", "format": "slack", "url": rig.hooks.srv.URL + "/slack/T0/B0/s3cr3t"},
		},
	}
	var got alert.Settings
	if code := rig.ts.api("PUT", "/api/v1/alerts/settings", body, &got); code != http.StatusOK {
		t.Fatalf("PUT alerts settings: %d", code)
	}
	if !got.Email.HasPassword || len(got.Webhooks) != 2 || strings.Contains(got.Webhooks[0].URL, "s3cr3t") {
		t.Errorf("settings answer: %+v", got)
	}
	fi, err := os.Stat(filepath.Join(rig.ts.dir, smtpPasswordFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("SMTP password file: %v %v", fi, err)
	}
}

// tellOrganizers turns on the organizer's note for series nobody comes to.
func (rig *alertRig) tellOrganizers(t *testing.T) {
	t.Helper()
	var set alert.Settings
	if code := rig.ts.api("GET", "/api/v1/alerts/settings", nil, &set); code != http.StatusOK {
		t.Fatalf("GET alerts settings: %d", code)
	}
	set.Email.TellOrganizers = true
	if code := rig.ts.api("PUT", "/api/v1/alerts/settings", set, &set); code != http.StatusOK || !set.Email.TellOrganizers {
		t.Fatalf("PUT alerts settings with tell_organizers: %d %+v", code, set.Email)
	}
}

// check runs the alert checks once and waits for their messages.
func (rig *alertRig) check(t *testing.T) {
	t.Helper()
	rig.ts.app.alerts.engine.Check(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rig.ts.app.alerts.engine.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func (rig *alertRig) counts() (mails, ops, chat int) {
	return len(rig.smtp.Mails()), len(rig.hooks.bodies("/ops/s3cr3t")), len(rig.hooks.bodies("/slack/T0/B0/s3cr3t"))
}

// TestOfflinePanelAlertsByMailAndWebhook: a real panel goes away; at ten
// minutes exactly one e-mail reaches the SMTP server (over STARTTLS,
// authenticated) and one message each webhook, however often the checks
// run; when the panel returns, one "resolved" of each.
func TestOfflinePanelAlertsByMailAndWebhook(t *testing.T) {
	rig := newAlertRig(t)
	ts := rig.ts
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich"})
	cred := ts.addDevice("rigi")
	rig.configure(t)
	connected := func() bool {
		for _, c := range ts.app.hub.Connections() {
			if c.Paired {
				return true
			}
		}
		return false
	}
	p := startPanel(t, ts, cred)
	waitFor(t, "the panel to connect", connected)
	rig.check(t)
	p.stop()
	waitFor(t, "the panel to be gone", func() bool { return !connected() })

	rig.clock.advance(9 * time.Minute)
	rig.check(t)
	if m, o, c := rig.counts(); m+o+c != 0 {
		t.Fatalf("after 9 minutes: %d mails, %d + %d webhooks; want none yet", m, o, c)
	}
	rig.clock.advance(90 * time.Second)
	rig.check(t)
	for range 3 {
		rig.check(t)
		rig.clock.advance(10 * time.Minute)
	}
	rig.check(t)
	if m, o, c := rig.counts(); m != 1 || o != 1 || c != 1 {
		t.Fatalf("offline for 40 minutes: %d mails, %d + %d webhooks; want exactly 1 each", m, o, c)
	}
	mail := rig.smtp.Mails()[0]
	if !mail.TLS || mail.AuthUser != "lintel@contoso.test" || mail.To[0] != "facilities@contoso.test" {
		t.Errorf("mail: tls %v, auth %q, to %v", mail.TLS, mail.AuthUser, mail.To)
	}
	subject, text := parseMail(mail.Data)
	if !strings.HasPrefix(subject, "[Lintel] Alert: Panel ") || !strings.HasSuffix(subject, " (Rigi) is offline") {
		t.Errorf("subject %q", subject)
	}
	for _, want := range []string{"Room:  rigi", "was last seen at", ts.http.URL + "/alerts"} {
		if !strings.Contains(text, want) {
			t.Errorf("the mail lacks %q:\n%s", want, text)
		}
	}
	ops := rig.hooks.bodies("/ops/s3cr3t")[0]
	if a, _ := ops["alert"].(map[string]any); ops["event"] != "firing" || a["kind"] != "panel_offline" || a["room"] != "rigi" {
		t.Errorf("JSON webhook: %v", ops)
	}
	if text, _ := rig.hooks.bodies("/slack/T0/B0/s3cr3t")[0]["text"].(string); !strings.Contains(text, "is offline") {
		t.Errorf("Slack webhook text: %q", text)
	}
	var state struct {
		Active []alert.Active `json:"active"`
		Sent   []alert.Sent   `json:"sent"`
	}
	if ts.api("GET", "/api/v1/alerts", nil, &state); len(state.Active) != 1 || !state.Active[0].Notified || len(state.Sent) != 1 || len(state.Sent[0].Results) != 3 {
		t.Errorf("GET /api/v1/alerts: %+v", state)
	}

	// Back: one "resolved" each.
	startPanel(t, ts, cred)
	waitFor(t, "the panel to come back", connected)
	rig.check(t)
	rig.check(t)
	if m, o, c := rig.counts(); m != 2 || o != 2 || c != 2 {
		t.Fatalf("after the panel returned: %d mails, %d + %d webhooks; want 2 each", m, o, c)
	}
	if subject := rig.subjects()[1]; !strings.HasPrefix(subject, "[Lintel] Resolved: Panel ") {
		t.Errorf("the second mail is not the resolved one: %q", subject)
	}
	if ev := rig.hooks.bodies("/ops/s3cr3t")[1]["event"]; ev != "resolved" {
		t.Errorf("second JSON webhook event %v", ev)
	}
	if text, _ := rig.hooks.bodies("/slack/T0/B0/s3cr3t")[1]["text"].(string); !strings.Contains(text, "Resolved:") {
		t.Errorf("second Slack text %q", text)
	}
	// Nothing leaks the secrets: not the logs, not the answers.
	var settingsAnswer map[string]any
	ts.api("GET", "/api/v1/alerts/settings", nil, &settingsAnswer)
	raw, _ := json.Marshal(settingsAnswer)
	for _, secret := range []string{"relay password 7", "s3cr3t"} {
		if strings.Contains(ts.logs.String(), secret) || strings.Contains(string(raw), secret) {
			t.Errorf("%q shows in the logs or the settings answer", secret)
		}
	}
}

// TestProblemReportAlertsOnce: a problem reported at a panel (over the
// wire) is sent at once; the same report again is not.
func TestProblemReportAlertsOnce(t *testing.T) {
	rig := newAlertRig(t)
	ts := rig.ts
	ts.addRoom(store.Room{ID: "rigi", Name: "Rigi", TimeZone: "Europe/Zurich"})
	rig.configure(t)
	p := dialRaw(t, ts.wsURL(), ts.addDevice("rigi"))
	p.hello()
	p.next(isState)
	for i := range 3 {
		p.send(proto.Message{Type: proto.TypeReport, ID: "r" + string(rune('0'+i)), Report: &proto.Report{Kind: "problem", Problem: "Projector broken"}})
	}
	waitFor(t, "the report to be e-mailed", func() bool { return len(rig.smtp.Mails()) > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rig.ts.app.alerts.engine.Flush(ctx)
	if m, o, c := rig.counts(); m != 1 || o != 1 || c != 1 {
		t.Fatalf("3 identical reports: %d mails, %d + %d webhooks; want 1 each", m, o, c)
	}
	if subject := rig.subjects()[0]; subject != "[Lintel] Reported: Problem reported in Rigi: Projector broken" {
		t.Errorf("subject %q", subject)
	}
}

// TestAlertTestSendAndErrors: the test-send reaches every channel and says
// which failed; bad settings are refused with the field named, and the
// stored ones are kept.
func TestAlertTestSendAndErrors(t *testing.T) {
	rig := newAlertRig(t)
	ts := rig.ts
	rig.configure(t)
	var res struct {
		Results []alert.Result `json:"results"`
	}
	if code := ts.api("POST", "/api/v1/alerts/test", nil, &res); code != http.StatusOK || len(res.Results) != 3 {
		t.Fatalf("test-send: %d %+v", code, res)
	}
	for _, r := range res.Results {
		if !r.OK {
			t.Errorf("test-send on %s failed: %s", r.Channel, r.Error)
		}
	}
	if m, o, c := rig.counts(); m != 1 || o != 1 || c != 1 {
		t.Errorf("test-send delivered %d mails, %d + %d webhooks", m, o, c)
	}
	if subject := rig.subjects()[0]; subject != "[Lintel] Test: Lintel test alert" {
		t.Errorf("test mail subject %q", subject)
	}
	// A relay that refuses the password: the answer says so per channel.
	body := map[string]any{"email": map[string]any{"host": "smtp.contoso.test", "username": "lintel@contoso.test",
		"from": "lintel@contoso.test", "to": []string{"facilities@contoso.test"}}, "password": "wrong password", "webhooks": []any{}}
	if code := ts.api("PUT", "/api/v1/alerts/settings", body, nil); code != http.StatusOK {
		t.Fatalf("PUT: %d", code)
	}
	ts.api("POST", "/api/v1/alerts/test", nil, &res)
	if len(res.Results) != 1 || res.Results[0].OK || !strings.Contains(res.Results[0].Error, "smtp.contoso.test:587") || strings.Contains(res.Results[0].Error, "wrong password") {
		t.Errorf("test-send with a wrong password: %+v", res.Results)
	}
	// Bad settings change nothing.
	for _, bad := range []string{
		`{"email":{"host":"smtp.contoso.test","from":"nobody","to":["a@b.c"]},"webhooks":[]}`,
		`{"email":{},"webhooks":[{"name":"x","format":"discord","url":"https://x.example/y"}]}`,
		`{"email":{},"webhooks":[{"name":"new","format":"json","url":""}]}`,
		`{"email":{},"webhooks":[],"surprise":1}`,
	} {
		req, _ := http.NewRequest("PUT", ts.http.URL+"/api/v1/alerts/settings", strings.NewReader(bad))
		req.Header.Set("Authorization", "Bearer "+ts.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg), "error") {
			t.Errorf("%s: %d %s", bad, resp.StatusCode, msg)
		}
	}
	var kept alert.Settings
	ts.api("GET", "/api/v1/alerts/settings", nil, &kept)
	if kept.Email.Host != "smtp.contoso.test" || kept.Email.From != "lintel@contoso.test" {
		t.Errorf("bad settings changed the stored ones: %+v", kept)
	}
}

// TestAlertsPageInTheBrowser: the admin sets e-mail and a Teams webhook
// in the page, sends a test that arrives, and sees an active alert and
// the sent log; screenshots at desktop and phone width.
func TestAlertsPageInTheBrowser(t *testing.T) {
	ctx := browser(t)
	rig := newAlertRig(t)
	ts := rig.ts
	if err := admin.CreateAdmin(ts.app.db, testAdmin, testPassword, ts.now()); err != nil {
		t.Fatal(err)
	}
	ts.app.alerts.engine.RolloutHalted("1.4.0", "2 of 3 canary panels did not come back within 15 minutes")
	err := chromedp.Do(ctx,
		chromedp.Navigate(ts.http.URL+"/alerts"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, testAdmin),
		chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Submit(`input[name=password]`),
		chromedp.WaitVisible(`#alert-settings`),
		chromedp.SendKeys(`input[name=email_host]`, "smtp.contoso.test"),
		chromedp.SendKeys(`input[name=email_username]`, "lintel@contoso.test"),
		chromedp.SendKeys(`input[name=email_password]`, "relay password 7"),
		chromedp.SendKeys(`input[name=email_from]`, "Lintel <lintel@contoso.test>"),
		chromedp.SendKeys(`textarea[name=email_to]`, "facilities@contoso.test, it@contoso.test"),
		chromedp.SendKeys(`input[name=webhook_name]`, "facilities-teams"),
		chromedp.SetValue(`select[name=webhook_format]`, "teams"),
		chromedp.SendKeys(`input[name=webhook_url]`, rig.hooks.srv.URL+"/teams/s3cr3t"),
		chromedp.Click(`input[name=mute][value=problem]`),
		chromedp.Click(`#alert-settings button.primary`),
		chromedp.WaitVisible(`.flash.ok`),
		chromedp.Navigate(ts.http.URL+"/alerts"), // no flash: the next is the test's
		chromedp.WaitVisible(`#send-test`),
		chromedp.Click(`#send-test`),
		chromedp.WaitVisible(`.flash`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if flash := text(t, ctx, `.flash`); !strings.Contains(flash, "Test sent: e-mail, webhook facilities-teams") {
		t.Errorf("after the test: %q", flash)
	}
	ctxF, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ts.app.alerts.engine.Flush(ctxF)
	// The rollout alert came before any channel, so it waits for the next
	// check; the test went to both channels.
	if m := rig.smtp.Mails(); len(m) != 1 || len(m[0].To) != 2 || !strings.Contains(m[0].Data, "Test:") {
		t.Errorf("mails: %+v", m)
	}
	teams := rig.hooks.bodies("/teams/s3cr3t")
	if len(teams) != 1 || teams[0]["type"] != "message" {
		t.Errorf("teams: %v", teams)
	}
	err = chromedp.Do(ctx, chromedp.Navigate(ts.http.URL+"/alerts"), chromedp.WaitVisible(`#active li`),
		shot("alerts"), chromedp.EmulateViewport(390, 800), shot("alerts-390"), chromedp.EmulateViewport(1100, 900))
	if err != nil {
		t.Fatal(err)
	}
	page := text(t, ctx, `main`)
	for _, want := range []string{"Firmware rollout 1.4.0 halted", "Lintel test alert", "webhook facilities-teams: sent"} {
		if !strings.Contains(page, want) {
			t.Errorf("the alerts page lacks %q", want)
		}
	}
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML("html"))
	if strings.Contains(html, "relay password 7") || strings.Contains(html, "s3cr3t") {
		t.Error("the alerts page shows a secret")
	}
	s := ts.app.alerts.Settings()
	if len(s.Mute) != 1 || s.Mute[0] != alert.KindProblem || !s.Email.HasPassword || len(s.Email.To) != 2 {
		t.Errorf("saved settings: %+v", s)
	}
	// Saved again without touching the stored URL and password: kept.
	if err := chromedp.Do(ctx, chromedp.Click(`#alert-settings button.primary`), chromedp.WaitVisible(`.flash.ok`)); err != nil {
		t.Fatal(err)
	}
	ts.app.alerts.mu.Lock()
	url := ts.app.alerts.settings.Webhooks[0].URL
	ts.app.alerts.mu.Unlock()
	if url != rig.hooks.srv.URL+"/teams/s3cr3t" || !ts.app.alerts.Settings().Email.HasPassword {
		t.Errorf("saving the form again lost the stored URL (%q) or password", url)
	}
}

// subjects lists the subjects of the mails received, in order.
func (rig *alertRig) subjects() []string {
	var out []string
	for _, m := range rig.smtp.Mails() {
		subject, _ := parseMail(m.Data)
		out = append(out, subject)
	}
	return out
}

// parseMail reads a received mail as a mail program would: the subject
// (unfolded, decoded) and the text body (quoted-printable decoded).
func parseMail(data string) (subject, body string) {
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		return "unreadable mail: " + err.Error(), ""
	}
	subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	var r io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, _ := io.ReadAll(r)
	return subject, string(b)
}

// TestCalendarAndCredentialAlerts: through the real Microsoft 365
// connector on the Graph emulator, a room whose mailbox Lintel may no
// longer read alerts after 10 minutes with doctor's words and resolves
// when it can again; a client secret that expires in 20 days alerts and
// resolves when a new one is entered; so does the sign-in app's secret.
func TestCalendarAndCredentialAlerts(t *testing.T) {
	rig := newAlertRigWith(t, func(c *config) { c.M365Sim = true })
	ts := rig.ts
	rig.configure(t)
	rooms, err := ts.app.db.Rooms()
	if err != nil || len(rooms) < 2 {
		t.Fatalf("rooms of the emulator: %v %v", rooms, err)
	}
	room := rooms[0]
	ctx := context.Background()
	if err := ts.app.sync.SyncAll(ctx); err != nil {
		t.Fatal(err)
	}
	rig.check(t)
	if got := rig.subjects(); len(got) != 0 {
		t.Fatalf("alerts with everything working: %v", got)
	}

	// The room's mailbox is taken out of the app's reach.
	ts.app.graphSim().Deny(room.Calendar)
	rig.clock.advance(time.Minute)
	ts.app.sync.SyncAll(ctx) // every room, as the poll reads them
	rig.check(t)
	rig.clock.advance(5 * time.Minute)
	ts.app.sync.SyncAll(ctx) // every room, as the poll reads them
	rig.check(t)
	if got := rig.subjects(); len(got) != 0 {
		t.Fatalf("alerted before 10 minutes: %v", got)
	}
	rig.clock.advance(5 * time.Minute)
	ts.app.sync.SyncAll(ctx) // every room, as the poll reads them
	rig.check(t)
	want := "[Lintel] Alert: The calendar of room " + room.Name + " cannot be read"
	if got := rig.subjects(); len(got) != 1 || got[0] != want {
		t.Fatalf("after 11 minutes: %v, want [%s]", got, want)
	}
	if _, body := parseMail(rig.smtp.Mails()[0].Data); !strings.Contains(body, "Fix:") || !strings.Contains(body, room.Calendar) {
		t.Errorf("the calendar alert lacks doctor's diagnosis and fix:\n%s", body)
	}
	ts.app.graphSim().Allow(room.Calendar)
	ts.app.sync.SyncAll(ctx) // every room, as the poll reads them
	rig.check(t)
	if got := rig.subjects(); len(got) != 2 || got[1] != "[Lintel] Resolved: The calendar of room "+room.Name+" cannot be read" {
		t.Fatalf("after the room can be read again: %v", got)
	}

	// The client secret expires in 20 days; then a new one is entered.
	ts.useSecret(t, ts.simSecret(t), rig.clock.now().Add(20*24*time.Hour))
	rig.check(t)
	got := rig.subjects()
	if len(got) != 3 || !strings.HasPrefix(got[2], "[Lintel] Alert: The Microsoft 365 client secret expires on ") {
		t.Fatalf("secret expiring in 20 days: %v", got)
	}
	ts.useSecret(t, ts.simSecret(t), rig.clock.now().Add(400*24*time.Hour))
	rig.check(t)
	if got := rig.subjects(); len(got) != 4 || !strings.HasPrefix(got[3], "[Lintel] Resolved: The Microsoft 365 client secret expires on ") {
		t.Fatalf("after a new secret: %v", got)
	}

	// The sign-in app's secret: expired already.
	body := map[string]any{"tenant_id": "contoso.onmicrosoft.com", "client_id": "6731de76-14a6-49ae-97bc-6eba6914391e", "secret": "s",
		"secret_expires": rig.clock.now().Add(-24 * time.Hour).Format(time.RFC3339), "roles": map[string][]string{"admin": {"Lintel.Admin"}}}
	if code := ts.api("PUT", "/api/v1/signin", body, nil); code != http.StatusOK {
		t.Fatalf("PUT /api/v1/signin: %d", code)
	}
	rig.check(t)
	if got := rig.subjects(); len(got) != 5 || !strings.HasPrefix(got[4], "[Lintel] Alert: The Entra ID sign-in client secret expired on ") {
		t.Fatalf("an expired sign-in secret: %v", got)
	}
}

// Only organizers in the domain alerts are sent from are told: an
// outsider's invitation the room accepted must not make Lintel mail
// whomever they named.
func TestOrganizerDomain(t *testing.T) {
	for _, tc := range []struct {
		addr, from string
		want       bool
	}{
		{"anna@contoso.com", "Lintel <lintel@contoso.com>", true},
		{"Anna@CONTOSO.com", "lintel@contoso.com", true},
		{"mallory@evil.example", "Lintel <lintel@contoso.com>", false},
		{"anna@sub.contoso.com", "lintel@contoso.com", false},
		{"anna@contoso.com.evil.example", "lintel@contoso.com", false},
		{"no-at-sign", "lintel@contoso.com", false},
		{"anna@contoso.com", "not an address", false},
	} {
		if got := sameDomain(tc.addr, tc.from); got != tc.want {
			t.Errorf("sameDomain(%q, %q) = %v, want %v", tc.addr, tc.from, got, tc.want)
		}
	}
}
