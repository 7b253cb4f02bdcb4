package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/calendar/builtin"
	"github.com/lintelhq/lintel/server/connector"
	"github.com/lintelhq/lintel/server/devices"
	"github.com/lintelhq/lintel/server/hub"
	"github.com/lintelhq/lintel/server/store"
	"github.com/lintelhq/lintel/server/sync"
)

// FuzzRoomsCSV: the rooms import reads a file the admin uploads (often
// exported from somewhere else): whatever it holds, the parser answers
// with rooms or reasons, never both, never a crash, and every room it
// accepts is one the store takes.
func FuzzRoomsCSV(f *testing.F) {
	db, err := store.Open(filepath.Join(f.TempDir(), "lintel.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	cal := builtin.New(db)
	s := &Server{opts: Opts{Store: db, Provider: cal, Builtin: cal}}
	f.Add("id,name,calendar,tz,display,instant,teams\nrigi,Rigi,rigi@contoso.com,Europe/Zurich,organizer,true,false\npilatus,Pilatus,,Europe/Zurich,,1,\n")
	f.Add("id,name,tz\n\"unterminated,x,UTC\n")
	f.Add("\ufeffid;name;tz\r\nrigi;Rigi;UTC\r\n")
	f.Add("id,name,tz,check_in,auto_release\nrigi,Rigi,Mars/Base,yes,maybe\n")
	f.Fuzz(func(t *testing.T, text string) {
		rooms, errs := s.parseRoomsCSV(strings.NewReader(text))
		if len(rooms) > 0 && len(errs) > 0 {
			t.Fatalf("both rooms and errors: %d, %q", len(rooms), errs)
		}
		for _, r := range rooms {
			if r.ID == "" || r.Name == "" {
				t.Fatalf("a room without id or name: %+v", r)
			}
			if _, err := json.Marshal(r); err != nil {
				t.Fatalf("room %+v: %v", r, err)
			}
		}
	})
}

// FuzzReadJSON: the admin API's decoder of request bodies refuses what is
// not one JSON value of the endpoint's shape, with 400, or 413 over the
// limit, and never panics.
func FuzzReadJSON(f *testing.F) {
	f.Add([]byte(`{"id":"rigi","name":"Rigi","time_zone":"UTC"}`))
	f.Add([]byte(`{"id":"rigi","unknown":1}`))
	f.Add([]byte(`{"booking":{"max_minutes":-1}} trailing`))
	f.Add(bytes.Repeat([]byte(" "), maxJSON+1))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/v1/rooms", bytes.NewReader(body))
		var room store.Room
		err := readJSON(r, &room)
		if err == nil {
			return
		}
		ae, ok := err.(*apiError)
		if !ok || (ae.status != http.StatusBadRequest && ae.status != http.StatusRequestEntityTooLarge) {
			t.Fatalf("readJSON(%.40q): %v", body, err)
		}
	})
}

// fakeConnector is the built-in calendar as the admin's Connector.
type fakeConnector struct{ settings connector.Settings }

func (c *fakeConnector) Settings() connector.Settings { return c.settings }
func (c *fakeConnector) Apply(_ context.Context, s connector.Settings, cred connector.Credentials) error {
	if err := connector.NeedsCredential(c.settings, s, cred); err != nil {
		return err
	}
	c.settings = s
	return nil
}
func (c *fakeConnector) Test(context.Context, map[string]string) connector.Report {
	return connector.Report{Provider: "builtin"}
}
func (c *fakeConnector) Health() connector.Health {
	return connector.Health{Provider: "builtin", Status: connector.HealthOK}
}
func (c *fakeConnector) Places(context.Context) ([]connector.Place, error) {
	return nil, errors.New("builtin")
}

// fuzzServer is the admin server on a new store with the built-in
// calendar, its hub and sync (nothing running), and an API token.
func fuzzServer(f *testing.F) (*Server, string) {
	db, err := store.Open(filepath.Join(f.TempDir(), "lintel.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	cal := builtin.New(db)
	now := func() time.Time { return time.Date(2026, 3, 11, 9, 41, 0, 0, time.UTC) }
	devs := devices.New(db, devices.Opts{Now: now})
	h := hub.New(hub.Opts{Now: now})
	f.Cleanup(func() { h.Close() })
	s, err := New(Opts{
		Store: db, Devices: devs, Provider: cal, Builtin: cal, Connector: &fakeConnector{settings: connector.Settings{Kind: "builtin"}},
		Sync: sync.New(sync.Opts{Provider: cal, Store: db, Publisher: h, Now: now}), Panels: h,
		Pairer: devices.NewPairer(devs, "http://lintel.test"), Now: now, DataDir: f.TempDir(), PublicURL: "http://lintel.test",
	})
	if err != nil {
		f.Fatal(err)
	}
	token, err := NewAPIToken(db, "fuzz", "", now())
	if err != nil {
		f.Fatal(err)
	}
	if err := db.PutRoom(store.Room{ID: "fuzz", Name: "Fuzz", Calendar: "fuzz", TimeZone: "Europe/Zurich", Display: store.DisplayTitle}); err != nil {
		f.Fatal(err)
	}
	return s, token
}

// FuzzAdminAPI sends outside JSON bodies to every API endpoint that reads
// one: whatever the body, the answer is a JSON answer (a refusal says
// why), never an internal server error or a crash.
func FuzzAdminAPI(f *testing.F) {
	s, token := fuzzServer(f)
	routes := []string{
		"POST /api/v1/rooms",
		"PUT /api/v1/rooms/fuzz",
		"POST /api/v1/rooms/fuzz/events",
		"PUT /api/v1/rooms/fuzz/events/e1",
		"POST /api/v1/devices",
		"POST /api/v1/pairing/123456/approve",
		"PUT /api/v1/connector",
		"POST /api/v1/rooms/import-places",
	}
	for i, seed := range []string{
		`{"id":"rigi","name":"Rigi","time_zone":"Europe/Zurich","display":"title"}`,
		`{"id":"fuzz","name":"Fuzz","time_zone":"Europe/Zurich","booking":{"instant":true,"max_minutes":45}}`,
		`{"subject":"Standup","start":"2026-03-11T09:00:00Z","end":"2026-03-11T09:15:00Z"}`,
		`{"end":"2026-03-11T10:00:00Z"}`,
		`{"room":"fuzz","name":"door"}`,
		`{"room":"fuzz","name":"door"}`,
		`{"kind":"m365","tenant_id":"t","client_id":"c","authority_host":"https://evil.test","auth":"secret"}`,
		`{"tz":"Europe/Zurich"}`,
	} {
		f.Add(uint8(i), []byte(seed))
	}
	f.Add(uint8(0), []byte(`{"id":`))
	f.Add(uint8(1), []byte(`[]`))
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		method, path, _ := strings.Cut(routes[int(route)%len(routes)], " ")
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code == http.StatusInternalServerError {
			t.Fatalf("%s %s %q: %d %s", method, path, body, w.Code, w.Body)
		}
		if w.Code >= 400 && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s %s: the refusal is not JSON: %s", method, path, w.Body)
		}
	})
}

// FuzzConnectorSettings reads outside connector settings (the body of PUT
// /api/v1/connector, or the form's fields): whatever they hold, a stored
// secret is only kept while it goes where it went before.
func FuzzConnectorSettings(f *testing.F) {
	old := connector.Settings{Kind: "m365", TenantID: "00000000-0000-0000-0000-0000000000aa", ClientID: "00000000-0000-0000-0000-0000000000bb",
		Cloud: "custom", AuthorityHost: "https://login.lintel.test", GraphBaseURL: "https://graph.lintel.test/v1.0", Auth: "secret"}
	f.Add([]byte(`{"kind":"m365","tenant_id":"00000000-0000-0000-0000-0000000000aa","client_id":"00000000-0000-0000-0000-0000000000bb","cloud":"custom","authority_host":"https://evil.test","graph_base_url":"https://graph.lintel.test/v1.0","auth":"secret"}`))
	f.Add([]byte(`{"kind":"m365","tenant_id":"00000000-0000-0000-0000-0000000000AA","client_id":"00000000-0000-0000-0000-0000000000bb","cloud":"custom","authority_host":"https://LOGIN.lintel.test/","graph_base_url":"https://graph.lintel.test/v1.0/","auth":"secret"}`))
	f.Add([]byte(`{"kind":"m365","tenant_id":"t","client_id":"c","cloud":"global","auth":"secret","secret":"a new secret value"}`))
	f.Add([]byte(`{"kind":"builtin"}`))
	f.Add([]byte(`{"kind":"m365","auth":"certificate","certificate_file":"/etc/passwd"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req struct {
			connector.Settings
			Secret string `json:"secret,omitempty"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return
		}
		s := req.Settings
		err := connector.NeedsCredential(old, s, connector.Credentials{Secret: req.Secret})
		if err != nil || s.Kind != "m365" || req.Secret != "" {
			return
		}
		// Kept without a credential: then it goes to the same place.
		host := func(u string) string { return strings.ToLower(strings.TrimRight(strings.TrimSpace(u), "/")) }
		if host(s.AuthorityHost) != host(old.AuthorityHost) || host(s.GraphBaseURL) != host(old.GraphBaseURL) ||
			!strings.EqualFold(strings.TrimSpace(s.TenantID), old.TenantID) || !strings.EqualFold(strings.TrimSpace(s.ClientID), old.ClientID) ||
			!strings.EqualFold(s.Cloud, old.Cloud) {
			t.Fatalf("the stored secret would go to %+v", s)
		}
		if s.Auth == "certificate" && s.CertFile != "" {
			t.Fatalf("a certificate file %q taken without an upload", s.CertFile)
		}
	})
}
