package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/alert"
	"github.com/lintelhq/lintel/server/alert/alerttest"
	"github.com/lintelhq/lintel/server/calendar/builtin"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
	"github.com/lintelhq/lintel/server/connector"
	"github.com/lintelhq/lintel/server/fleet"
	"github.com/lintelhq/lintel/server/store"
)

// apiDoc is deploy/docs/api.md, relative to this package.
const apiDoc = "../deploy/docs/api.md"

// docExample is one ```http block of the API document with what the
// document says it answers.
type docExample struct {
	line   int
	method string
	path   string
	body   string
	status int    // from "Answer: `201`"
	answer string // the ```json block after the Answer line, if any
}

var answerRE = regexp.MustCompile("Answer: `(\\d{3})`")

// parseAPIDoc reads the ```http examples of the document in order.
func parseAPIDoc(t *testing.T, text string) []docExample {
	t.Helper()
	var out []docExample
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```http" {
			continue
		}
		ex := docExample{line: i + 1}
		j := i + 1
		var block []string
		for ; j < len(lines) && strings.TrimSpace(lines[j]) != "```"; j++ {
			block = append(block, lines[j])
		}
		if len(block) == 0 {
			t.Fatalf("api.md:%d: empty http block", ex.line)
		}
		ex.method, ex.path, _ = strings.Cut(block[0], " ")
		if k := slices.Index(block, ""); k >= 0 {
			ex.body = strings.Join(block[k+1:], "\n")
		}
		// The Answer line and its json block, before the next example or
		// heading.
		answered := false
		for k := j + 1; k < len(lines); k++ {
			l := strings.TrimSpace(lines[k])
			if l == "```http" || strings.HasPrefix(l, "#") {
				break
			}
			if m := answerRE.FindStringSubmatch(l); m != nil && !answered {
				fmt.Sscan(m[1], &ex.status)
				answered = true
				continue
			}
			if answered && l == "```json" {
				var js []string
				for k++; k < len(lines) && strings.TrimSpace(lines[k]) != "```"; k++ {
					js = append(js, lines[k])
				}
				ex.answer = strings.Join(js, "\n")
				break
			}
		}
		if ex.status == 0 {
			t.Errorf("api.md:%d: %s %s has no \"Answer: `NNN`\" line", ex.line, ex.method, ex.path)
		}
		out = append(out, ex)
		i = j
	}
	return out
}

// shapeMatches reports where got lacks a field the documented answer
// shows: every key of want (recursively, for arrays their first element)
// must be in got, with the same JSON type.
func shapeMatches(want, got any, at string) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: documented an object, got %T", at, got)}
		}
		var bad []string
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				bad = append(bad, fmt.Sprintf("%s.%s: documented, not in the answer", at, k))
				continue
			}
			if wv != nil && gv != nil {
				bad = append(bad, shapeMatches(wv, gv, at+"."+k)...)
			}
		}
		return bad
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: documented an array, got %T", at, got)}
		}
		if len(w) > 0 && len(g) == 0 {
			return []string{at + ": documented entries, the answer has none"}
		}
		if len(w) > 0 {
			return shapeMatches(w[0], g[0], at+"[0]")
		}
	default:
		if reflect.TypeOf(want) != reflect.TypeOf(got) {
			return []string{fmt.Sprintf("%s: documented %T, got %T", at, want, got)}
		}
	}
	return nil
}

// jsonKeys returns the JSON names of a struct's fields (not "-").
func jsonKeys(v any) []string {
	var out []string
	t := reflect.TypeOf(v)
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case f.Anonymous:
			out = append(out, jsonKeys(reflect.New(f.Type).Elem().Interface())...)
		case name == "":
			out = append(out, f.Name)
		default:
			out = append(out, name)
		}
	}
	return out
}

// bodyKeys collects the keys used in example bodies, nested ones also as
// "parent.key".
func bodyKeys(v any, prefix string, into map[string]bool) {
	if m, ok := v.(map[string]any); ok {
		for k, sub := range m {
			into[prefix+k] = true
			bodyKeys(sub, prefix+k+".", into)
		}
	}
}

// TestAPIDocExamples sends every example of deploy/docs/api.md, in order,
// to the real handlers of a running server, and checks each answer's
// status and the fields the document shows; and checks that every field of
// every request body is in an example and in a field table. Calls that
// need Microsoft 365 (the connection, Places) go to a server on the Graph
// emulator; the rest to one on the built-in calendar.
func TestAPIDocExamples(t *testing.T) {
	raw, err := os.ReadFile(apiDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	examples := parseAPIDoc(t, doc)
	if len(examples) < 20 {
		t.Fatalf("only %d examples in %s", len(examples), apiDoc)
	}

	// Alerts go to the document's relay and webhook hosts, which a test
	// serves on loopback.
	builtinSrv := newTestServerWith(t, func(c *config) { c.AlertNet = docAlertNet(t) })
	// A server has an admin: the users examples add and remove another.
	if _, err := admin.CreateUser(builtinSrv.app.db, "ann", testPassword, admin.RoleAdmin, builtinSrv.now()); err != nil {
		t.Fatal(err)
	}
	m365Srv := newTestServerWith(t, func(c *config) { c.M365Sim = true })
	// The emulator's rooms are left to import from Places, which the app
	// may list.
	m365Srv.app.graphSim().AddApp(graphtest.App{ClientID: graphtest.DemoClientID, Secret: m365Srv.simSecret(t), Roles: []string{"Calendars.ReadWrite", "Place.Read.All"}})
	rooms, _ := m365Srv.app.db.Rooms()
	for _, r := range rooms {
		m365Srv.app.db.DeleteRoom(r.ID)
	}
	// A panel waiting to be paired, for the pairing examples.
	p := dialRaw(t, builtinSrv.wsURL(), "")
	p.hello()
	var code string
	waitFor(t, "a pairing code", func() bool {
		if pending := builtinSrv.app.pairer.Pending(context.Background()); len(pending) == 1 {
			code = pending[0].Code
		}
		return code != ""
	})

	// A build to roll out, for the firmware examples (its upload takes a
	// binary body, shown with curl).
	if _, err := builtinSrv.app.firmware.Upload("1.4.0", "linux/arm64", strings.NewReader("a build"), make([]byte, 64), "doc"); err != nil {
		t.Fatal(err)
	}
	// The canary the rollout example names.
	if err := builtinSrv.app.db.AddDevice(store.Device{ID: "pnl-7c1d93e0a2b4", Name: "Eiger door"}, "doc-canary"); err != nil {
		t.Fatal(err)
	}
	placeholders := map[string]string{"{code}": code}
	used := map[string]map[string]bool{} // body kind -> keys used in examples
	kindOf := func(ex docExample) string {
		switch {
		case strings.HasPrefix(ex.path, "/api/v1/connector"):
			return "connector"
		case strings.HasPrefix(ex.path, "/api/v1/alerts"):
			return "alerts"
		case strings.HasPrefix(ex.path, "/api/v1/signin"):
			return "signin"
		case strings.HasPrefix(ex.path, "/api/v1/users"):
			return "user"
		case strings.HasPrefix(ex.path, "/api/v1/tokens"):
			return "token"
		case strings.HasSuffix(ex.path, "/panel-settings"):
			return "panel-settings"
		case strings.HasPrefix(ex.path, "/api/v1/firmware/rollout"):
			return "rollout"
		case strings.HasSuffix(ex.path, "/import-places"):
			return "import-places"
		case strings.Contains(ex.path, "/events"):
			return "event"
		case strings.HasPrefix(ex.path, "/api/v1/rooms"):
			return "room"
		case ex.path == "/api/v1/devices", strings.HasSuffix(ex.path, "/approve"):
			return "device"
		}
		return ex.path
	}
	for _, ex := range examples {
		ts := builtinSrv
		if kindOf(ex) == "connector" || kindOf(ex) == "import-places" {
			ts = m365Srv
		}
		path := ex.path
		for k, v := range placeholders {
			path = strings.ReplaceAll(path, k, v)
		}
		if strings.Contains(path, "{") {
			t.Fatalf("api.md:%d: %s: a placeholder no earlier example fills", ex.line, ex.path)
		}
		var body io.Reader
		if ex.body != "" {
			var v any
			if err := json.Unmarshal([]byte(ex.body), &v); err != nil {
				t.Errorf("api.md:%d: the example body is not JSON: %v", ex.line, err)
				continue
			}
			if used[kindOf(ex)] == nil {
				used[kindOf(ex)] = map[string]bool{}
			}
			bodyKeys(v, "", used[kindOf(ex)])
			filled := ex.body
			for k, v := range placeholders {
				filled = strings.ReplaceAll(filled, k, v)
			}
			body = strings.NewReader(filled)
		}
		req, _ := http.NewRequestWithContext(context.Background(), ex.method, ts.http.URL+path, body)
		req.Header.Set("Authorization", "Bearer "+ts.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != ex.status {
			t.Errorf("api.md:%d: %s %s answered %d, the document says %d: %s", ex.line, ex.method, path, resp.StatusCode, ex.status, got)
			continue
		}
		var answer any
		if resp.Header.Get("Content-Type") == "application/json; charset=utf-8" && len(bytes.TrimSpace(got)) > 0 {
			if err := json.Unmarshal(got, &answer); err != nil {
				t.Errorf("api.md:%d: answer is not JSON: %v", ex.line, err)
			}
		}
		if ex.answer != "" {
			var want any
			if err := json.Unmarshal([]byte(ex.answer), &want); err != nil {
				t.Errorf("api.md:%d: the documented answer is not JSON: %v", ex.line, err)
			} else {
				for _, problem := range shapeMatches(want, answer, "answer") {
					t.Errorf("api.md:%d: %s %s: %s", ex.line, ex.method, ex.path, problem)
				}
			}
		}
		// The documented test-send reaches every channel the document set.
		if ex.path == "/api/v1/alerts/test" {
			m, _ := answer.(map[string]any)
			results, _ := m["results"].([]any)
			for _, r := range results {
				if r, _ := r.(map[string]any); r["ok"] != true {
					t.Errorf("api.md:%d: the test-send failed on a channel: %v", ex.line, r)
				}
			}
			if len(results) != 4 {
				t.Errorf("api.md:%d: the test-send reached %d channels, want 4 (e-mail and 3 webhooks)", ex.line, len(results))
			}
		}
		// Fill the placeholders later examples use.
		if m, ok := answer.(map[string]any); ok {
			switch {
			case ex.method == "POST" && strings.HasSuffix(ex.path, "/events"):
				placeholders["{event}"], _ = m["id"].(string)
			case ex.method == "POST" && ex.path == "/api/v1/tokens":
				if info, ok := m["info"].(map[string]any); ok {
					placeholders["{token}"], _ = info["id"].(string)
				}
			case ex.method == "POST" && ex.path == "/api/v1/devices":
				if d, ok := m["device"].(map[string]any); ok {
					placeholders["{device}"], _ = d["id"].(string)
				}
			}
		}
	}

	// Every field of every request body is in an example and in a table.
	roomKeys := jsonKeys(store.Room{})
	for _, k := range jsonKeys(store.BookingSettings{}) {
		roomKeys = append(roomKeys, "booking."+k)
	}
	var connectorKeys []string
	for _, k := range jsonKeys(connector.Settings{}) {
		if k != "has_secret" && k != "from_flags" { // answers only
			connectorKeys = append(connectorKeys, k)
		}
	}
	alertKeys := []string{"email", "webhooks", "mute", "max_per_hour", "password"}
	for _, k := range jsonKeys(alert.EmailSettings{}) {
		if k != "has_password" { // answers only
			alertKeys = append(alertKeys, "email."+k)
		}
	}
	signinKeys := []string{"secret", "roles.admin", "roles.helpdesk"}
	for _, k := range jsonKeys(admin.OIDCSettings{}) {
		if k != "has_secret" && k != "from_flags" { // answers only
			signinKeys = append(signinKeys, k)
		}
	}
	bodies := map[string][]string{
		"alerts":         alertKeys,
		"signin":         signinKeys,
		"room":           roomKeys,
		"event":          jsonKeys(builtin.Input{}),
		"connector":      append(connectorKeys, "secret"),
		"device":         {"room", "name"}, // the bodies of POST /devices and POST /pairing/{code}/approve (admin/api.go)
		"import-places":  {"tz"},
		"user":           {"username", "role", "password", "revoke_tokens"}, // admin/users.go createUser, putUser
		"token":          {"name", "scope", "expires"},                      // admin/users.go createToken
		"panel-settings": jsonKeys(proto.Settings{}),
		"rollout":        jsonKeys(fleet.RolloutRequest{}),
	}
	for kind, keys := range bodies {
		for _, k := range keys {
			if !used[kind][k] {
				t.Errorf("api.md: no %s example sends %q", kind, k)
			}
			if !strings.Contains(doc, "| `"+k+"` |") {
				t.Errorf("api.md: the %s field %q has no row in a field table", kind, k)
			}
		}
	}
}

// docAlertNet serves the hosts api.md's alert examples name on loopback:
// the SMTP relay smtp.contoso.com (STARTTLS, the documented account) and
// the webhook hosts, with certificates from a test CA.
func docAlertNet(t *testing.T) alert.Net {
	t.Helper()
	ca, err := alerttest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	smtpCert, _ := ca.Leaf("smtp.contoso.com")
	relay, err := alerttest.NewSMTPServer(alerttest.SMTPOpts{Cert: smtpCert, Username: "lintel@contoso.com", Password: "the relay account's password"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(relay.Close)
	hooksCert, _ := ca.Leaf("contoso.webhook.office.com", "hooks.slack.com", "alerts.contoso.com")
	hooks := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	hooks.TLS = &tls.Config{Certificates: []tls.Certificate{hooksCert}}
	hooks.StartTLS()
	t.Cleanup(hooks.Close)
	return alert.Net{RootCAs: ca.Pool, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		switch host, _, _ := net.SplitHostPort(addr); host {
		case "smtp.contoso.com":
			return d.DialContext(ctx, network, relay.Addr)
		case "contoso.webhook.office.com", "hooks.slack.com", "alerts.contoso.com":
			return d.DialContext(ctx, network, hooks.Listener.Addr().String())
		}
		return nil, fmt.Errorf("the API document's examples reach no %s in tests", addr)
	}}
}
