package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto/clock"
	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/store"
)

// fuzzApp is the whole server in-process for a fuzz target: a new store,
// nothing started, and no way out to the network (every outside request
// fails), so fuzzed settings cannot reach a real host.
func fuzzApp(f *testing.F) (*app, string) {
	f.Helper()
	log := slog.New(slog.DiscardHandler)
	a, err := newApp(context.Background(), config{DataDir: f.TempDir(), Init: true, Poll: time.Hour, PublicURL: "http://lintel.test", Now: clock.Fixed(clock.TestDefault)}, log)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { a.Close() })
	a.connector.client = &http.Client{Transport: offline{}}
	token, err := admin.NewAPIToken(a.db, "fuzz", "", clock.TestDefault)
	if err != nil {
		f.Fatal(err)
	}
	if err := a.db.PutRoom(store.Room{ID: "fuzz", Name: "Fuzz", Calendar: "fuzz", TimeZone: "Europe/Zurich", Display: store.DisplayTitle}); err != nil {
		f.Fatal(err)
	}
	return a, token
}

type offline struct{}

func (offline) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("fuzz: no network")
}

// FuzzAdminAPI sends outside JSON bodies to every API endpoint that reads
// one (but the connector's, fuzzed on its own): whatever the body, the
// answer is an answer (never a server error or a crash), and a body over
// the limit is refused as such.
func FuzzAdminAPI(f *testing.F) {
	a, token := fuzzApp(f)
	routes := []string{
		"POST /api/v1/rooms",
		"PUT /api/v1/rooms/fuzz",
		"POST /api/v1/rooms/fuzz/events",
		"PUT /api/v1/rooms/fuzz/events/e1",
		"POST /api/v1/devices",
		"POST /api/v1/pairing/123456/approve",
		"PUT /api/v1/alerts/settings",
		"PUT /api/v1/signin",
	}
	for i, seed := range []string{
		`{"id":"rigi","name":"Rigi","tz":"Europe/Zurich","display":"title"}`,
		`{"id":"fuzz","name":"Fuzz","time_zone":"Europe/Zurich","booking":{"instant":true,"max_minutes":45}}`,
		`{"subject":"Standup","start":"2026-03-11T09:00:00Z","end":"2026-03-11T09:15:00Z"}`,
		`{"end":"2026-03-11T10:00:00Z"}`,
		`{"room":"fuzz","name":"door"}`,
		`{"room":"fuzz","name":"door"}`,
		`{"email":{"host":"smtp.example","port":25}}`,
		`{"tenant_id":"x","client_id":"y"}`,
	} {
		f.Add(uint8(i), []byte(seed))
	}
	f.Add(uint8(0), []byte(`{"id":`))
	f.Add(uint8(1), []byte(`[]`))
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		method, path, _ := strings.Cut(routes[int(route)%len(routes)], " ")
		if method == "PUT" && path == "/api/v1/signin" && strings.Contains(string(body), "http") {
			t.Skip("sign-in settings with a URL would reach out")
		}
		req := httptest.NewRequest(method, path, strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		a.handler.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) && w.Code >= 400 {
			t.Fatalf("%s %s: error answer is not JSON: %s", method, path, w.Body)
		}
	})
}

// FuzzConnectorSettings applies outside connector settings (the JSON of
// PUT /api/v1/connector): never a crash, the secret never in an error,
// and the stored secret never goes to a new place without being given
// again.
func FuzzConnectorSettings(f *testing.F) {
	a, _ := fuzzApp(f)
	ctx := context.Background()
	stored := "stored-secret-value-0123456789"
	base := admin.ConnectorSettings{Kind: "m365", TenantID: "00000000-0000-0000-0000-0000000000aa", ClientID: "00000000-0000-0000-0000-0000000000bb",
		Cloud: "custom", AuthorityHost: "https://login.lintel.test", GraphBaseURL: "https://graph.lintel.test/v1.0", Auth: "secret"}
	if err := a.connector.Apply(ctx, base, admin.Credentials{Secret: stored}); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"kind":"m365","tenant_id":"00000000-0000-0000-0000-0000000000aa","client_id":"00000000-0000-0000-0000-0000000000bb","cloud":"custom","authority_host":"https://evil.test","graph_base_url":"https://graph.lintel.test/v1.0","auth":"secret"}`))
	f.Add([]byte(`{"kind":"m365","tenant_id":"t","client_id":"c","cloud":"global","auth":"secret","secret":"a new secret value"}`))
	f.Add([]byte(`{"kind":"builtin"}`))
	f.Add([]byte(`{"kind":"m365","auth":"certificate","certificate_file":"/etc/passwd"}`))
	f.Add([]byte(`{"kind":"m365","cloud":"usgovhigh","secret_expires":"2027-01-01T00:00:00Z","canary_mailbox":"x@y"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req struct {
			admin.ConnectorSettings
			Secret string `json:"secret,omitempty"`
		}
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return
		}
		if err := a.connector.Apply(ctx, base, admin.Credentials{Secret: stored}); err != nil {
			t.Fatal(err)
		}
		err := a.connector.Apply(ctx, req.ConnectorSettings, admin.Credentials{Secret: req.Secret})
		if err != nil {
			for _, s := range []string{stored, req.Secret} {
				if len(s) >= 8 && strings.Contains(err.Error(), s) {
					t.Fatalf("the secret is in the error: %v", err)
				}
			}
			return
		}
		got := a.connector.Settings()
		same := func(a, b string) bool {
			return strings.EqualFold(strings.TrimRight(strings.TrimSpace(a), "/"), strings.TrimRight(strings.TrimSpace(b), "/"))
		}
		if got.Kind == "m365" && req.Secret == "" && req.Auth != "certificate" && (!same(got.AuthorityHost, base.AuthorityHost) ||
			!same(got.GraphBaseURL, base.GraphBaseURL) || !same(got.TenantID, base.TenantID) || !same(got.ClientID, base.ClientID) || got.Cloud != base.Cloud) {
			t.Fatalf("the stored secret now goes to %+v without being given again", got)
		}
	})
}
