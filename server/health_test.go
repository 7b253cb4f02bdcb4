package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/calendar/graph/graphtest"
)

// healthz fetches /healthz and decodes it.
func healthz(t *testing.T, ts *testServer) (int, healthReport) {
	t.Helper()
	code, body := get(t, ts.http.URL+"/healthz")
	var rep healthReport
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("/healthz is not JSON: %v\n%s", err, body)
	}
	return code, rep
}

// TestReadyzIsStoreAndHubOnly: /readyz is 200 as soon as the store is
// open and the hub serves, before any calendar read and while every read
// fails (sign-in refused; sign-in fine but every room denied), so a
// Microsoft 365 outage never takes the panels and the admin UI out of a
// Kubernetes Service. /healthz stays 200 and says what is wrong, with the
// same diagnosis and fix as doctor; it turns ok again once reads work.
func TestReadyzIsStoreAndHubOnly(t *testing.T) {
	ts := newTestServerWith(t, func(c *config) { c.M365Sim = true })
	rooms, _ := ts.app.db.Rooms()
	if code, body := get(t, ts.http.URL+"/readyz"); code != 200 {
		t.Fatalf("/readyz before any read: %d %s", code, body)
	}

	// The admin pastes the secret's ID instead of its Value.
	ts.useSecret(t, simSecretID, time.Time{})
	ts.app.sync.SyncAll(context.Background())
	if code, body := get(t, ts.http.URL+"/readyz"); code != 200 {
		t.Errorf("/readyz while sign-in fails: %d %s", code, body)
	}
	code, rep := healthz(t, ts)
	cal := rep.Components.Calendar
	if code != 200 || rep.Status != "degraded" || cal.Status != "failing" || cal.Problem == nil {
		t.Fatalf("/healthz while sign-in fails: %d %+v", code, rep)
	}
	if !strings.Contains(cal.Problem.Detail, "AADSTS7000215") || !strings.Contains(cal.Problem.Fix, "not its Secret ID") {
		t.Errorf("/healthz problem %+v: want AADSTS7000215 and its fix", cal.Problem)
	}
	if rep.Components.Store.Status != "ok" || rep.Components.Hub.Status != "ok" || cal.Rooms != len(rooms) || cal.RoomsFailing != len(rooms) {
		t.Errorf("/healthz components %+v", rep.Components)
	}

	// Sign-in works again, but the access policy now denies every room.
	ts.useSecret(t, ts.simSecret(t), time.Time{})
	for _, r := range rooms {
		ts.app.graphSim().Deny(r.Calendar)
	}
	ts.app.sync.SyncAll(context.Background())
	if code, _ := get(t, ts.http.URL+"/readyz"); code != 200 {
		t.Errorf("/readyz while every room is denied: %d", code)
	}
	_, rep = healthz(t, ts)
	if cal := rep.Components.Calendar; cal.Status != "failing" || cal.Problem == nil || cal.Problem.Status != "denied" || !strings.Contains(cal.Problem.Fix, "Test-ApplicationAccessPolicy") {
		t.Errorf("/healthz while every room is denied: %+v", cal)
	}

	for _, r := range rooms {
		ts.app.graphSim().Allow(r.Calendar)
	}
	ts.app.sync.SyncAll(context.Background())
	_, rep = healthz(t, ts)
	if rep.Status != "ok" || rep.Components.Calendar.Status != "ok" || rep.Components.Calendar.LastSuccess.IsZero() {
		t.Errorf("/healthz after recovery: %+v", rep)
	}

	// Shutting down: no longer ready, so the load balancer drains it.
	ts.app.serving.Store(false)
	if code, body := get(t, ts.http.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "hub") {
		t.Errorf("/readyz while shutting down: %d %s", code, body)
	}
}

// simSecretID is the Secret ID of the emulator's demo app: what an admin
// pastes by mistake instead of the Value.
const simSecretID = "9c8b7a65-4321-4fed-8cba-0987654321fe"

// simSecret is the emulator's demo app's client secret Value.
func (ts *testServer) simSecret(t *testing.T) string {
	return strings.TrimSpace(readFile(t, filepath.Join(ts.dir, "m365-sim-secret")))
}

// useSecret saves the Microsoft 365 connection with this client secret
// (and expiry date, when not zero) through the API, as an admin would: a
// new credential, so no token cached from before.
func (ts *testServer) useSecret(t *testing.T, secret string, expires time.Time) {
	t.Helper()
	set := ts.app.connector.Settings()
	body := map[string]any{"kind": "m365", "tenant_id": set.TenantID, "client_id": set.ClientID, "cloud": "custom",
		"authority_host": set.AuthorityHost, "graph_base_url": set.GraphBaseURL, "auth": "secret", "secret": secret}
	if !expires.IsZero() {
		body["secret_expires"] = expires.Format(time.RFC3339)
	}
	if code := ts.api("PUT", "/api/v1/connector", body, nil); code != 200 {
		t.Fatalf("PUT /api/v1/connector: %d", code)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// metricValue finds a sample's value in a Prometheus text scrape.
func metricValue(t *testing.T, scrape, series string) (float64, bool) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(scrape)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%s: %v", series, err)
	}
	return v, true
}

// TestMetricsScrape scrapes /metrics of a server on Microsoft 365 (the
// emulator) with a panel that booked: build info, each room's seconds
// since its last good read, panels by firmware, the booking latency
// histogram, the secret's expiry as a timestamp, calendar failures by
// diagnosis, and every labelled counter present at 0 before it counts.
func TestMetricsScrape(t *testing.T) {
	ts := newTestServerWith(t, func(c *config) { c.M365Sim = true })
	ctx := context.Background()
	scrape := func() string {
		t.Helper()
		resp, err := http.Get(ts.http.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	before := scrape()
	for _, zero := range []string{
		`lintel_panel_requests_total{action="extend",outcome="conflict"}`,
		`lintel_panel_requests_total{action="checkin",outcome="unavailable"}`,
		`lintel_sync_errors_total{connector="graph"}`,
		`lintel_sync_errors_total{connector="builtin"}`,
		`lintel_calendar_read_failures_total{status="denied"}`,
		`lintel_calendar_read_failures_total{status="auth failed"}`,
		`lintel_calendar_http_requests_total{code="429"}`,
		`lintel_calendar_http_requests_total{code="503"}`,
		`lintel_panel_request_duration_seconds_count{action="book"}`,
	} {
		if v, ok := metricValue(t, before, zero); !ok || v != 0 {
			t.Errorf("%s = %v (present %v), want 0 from the start", zero, v, ok)
		}
	}
	if v, ok := metricValue(t, before, `lintel_build_info{goversion="`+runtime.Version()+`",version="`+Version+`"}`); !ok || v != 1 {
		t.Errorf("lintel_build_info missing or not 1:\n%s", grepLines(before, "lintel_build_info"))
	}

	// The admin enters the secret's expiry date with the connection.
	expires := time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
	ts.useSecret(t, ts.simSecret(t), expires)
	ts.app.sync.SyncAll(ctx)

	free := "aurora"
	ts.app.graphSim().ClearEvents("aurora@" + graphtest.DefaultTenantDomain)
	ts.app.sync.Refresh(ctx, free)
	p := dialRaw(t, ts.wsURL(), ts.addDevice(free))
	p.hello()
	p.next(isState)
	req := bookReq(15)
	p.send(proto.Message{Type: proto.TypeRequest, ID: "m-1", Request: &req})
	if res := p.next(func(m proto.Message) bool { return m.Type == proto.TypeResult && m.ID == "m-1" }).Result; !res.OK {
		t.Fatalf("book: %+v", res.Error)
	}
	ts.app.graphSim().Deny("delta@" + graphtest.DefaultTenantDomain)
	ts.app.sync.SyncAll(ctx)

	after := scrape()
	checks := map[string]func(float64) bool{
		`lintel_secret_expiry_timestamp_seconds`:                                func(v float64) bool { return v == float64(expires.Unix()) },
		`lintel_panels_by_firmware{firmware="test"}`:                            func(v float64) bool { return v == 1 },
		`lintel_panel_request_duration_seconds_count{action="book"}`:            func(v float64) bool { return v == 1 },
		`lintel_panel_requests_total{action="book",outcome="ok"}`:               func(v float64) bool { return v == 1 },
		`lintel_room_last_sync_age_seconds{room="aurora"}`:                      func(v float64) bool { return v >= 0 && v < 60 },
		`lintel_calendar_read_failures_total{status="denied"}`:                  func(v float64) bool { return v >= 1 },
		`lintel_calendar_rooms{status="denied"}`:                                func(v float64) bool { return v == 1 },
		`lintel_calendar_up{connector="graph"}`:                                 func(v float64) bool { return v == 1 },
		`lintel_calendar_read_failures_total{status="auth failed"}`:             func(v float64) bool { return v == 0 },
		`lintel_panel_requests_total{action="extend",outcome="conflict"}`:       func(v float64) bool { return v == 0 },
		`lintel_calendar_http_requests_total{code="200"}`:                       func(v float64) bool { return v > 0 },
		`lintel_panel_request_duration_seconds_bucket{action="book",le="+Inf"}`: func(v float64) bool { return v == 1 },
	}
	for series, ok := range checks {
		v, present := metricValue(t, after, series)
		if !present || !ok(v) {
			t.Errorf("%s = %v (present %v)", series, v, present)
		}
	}
	if strings.Contains(after, "lintel_secret_days_to_expiry") {
		t.Error("the old days-to-expiry gauge is still exported")
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestHealthcheckFollowsListenAndTLS: the healthcheck command (the
// container's HEALTHCHECK) finds the running server wherever --listen
// puts it, over HTTP or HTTPS, and fails when no server runs.
func TestHealthcheckFollowsListenAndTLS(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"http", nil},
		{"dev-tls", []string{"--dev-tls"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			env := map[string]string{"LINTEL_DATA": dir}
			getenv := func(k string) string { return env[k] }
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			out := &syncBuffer{}
			go func() {
				args := append([]string{"serve", "--init", "--listen", "127.0.0.1:0"}, tc.flags...)
				c := Context{Stdout: out, Stderr: io.Discard, Args: args, Getenv: getenv}
				done <- c.Execute(ctx)
			}()
			check := func() error {
				c := Context{Stdout: io.Discard, Stderr: io.Discard, Args: []string{"healthcheck"}, Getenv: getenv}
				return c.Execute(context.Background())
			}
			var err error
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if err = check(); err == nil {
					break
				}
			}
			if err != nil {
				t.Fatalf("healthcheck against serve %v: %v\n%s", tc.flags, err, out.String())
			}
			url := strings.TrimSpace(readFile(t, filepath.Join(dir, healthURLFile)))
			if want := map[string]string{"http": "http://127.0.0.1:", "dev-tls": "https://127.0.0.1:"}[tc.name]; !strings.HasPrefix(url, want) {
				t.Errorf("healthcheck URL %q, want %s...", url, want)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("serve: %v", err)
			}
			if err := check(); err == nil {
				t.Error("healthcheck passed with the server stopped")
			}
		})
	}
}

// TestConnectorFlagErrorsNameTheFlag: a wrong Microsoft 365 flag is
// reported by its flag name, before the server starts.
func TestConnectorFlagErrorsNameTheFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--graph-cloud", "custom", "--graph-authority", "http://login.example", "--graph-url", "https://graph.example/v1.0"},
			"--graph-authority needs an https URL, e.g. https://login.microsoftonline.us"},
		{[]string{"--graph-cloud", "custom", "--graph-authority", "https://login.example"}, "--graph-url needs an https URL"},
		{[]string{"--graph-cloud", "mars"}, `--graph-cloud "mars" is unknown`},
		{[]string{"--graph-tenant", ""}, "--graph-tenant is required"},
		{[]string{"--graph-client", ""}, "--graph-client is required"},
	} {
		args := append([]string{"serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--calendar", "m365",
			"--graph-tenant", "contoso.onmicrosoft.com", "--graph-client", "0b9c8d7e-1111-4222-8333-444455556666"}, tc.args...)
		env := map[string]string{"LINTEL_GRAPH_CLIENT_SECRET": "x"}
		c := Context{Stdout: io.Discard, Stderr: io.Discard, Args: args, Getenv: func(k string) string { return env[k] }}
		err := c.Execute(context.Background())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
		for _, goName := range []string{"AuthorityHost", "GraphBaseURL", "TenantID", "ClientID", "Cloud \""} {
			if err != nil && strings.Contains(err.Error(), goName) {
				t.Errorf("%v: %v names the Go field %s", tc.args, err, goName)
			}
		}
	}
}
