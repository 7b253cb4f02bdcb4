package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// TestConnectorChangeNeedsTheSecretAgain: with only an API token (or an
// admin's session), pointing the Microsoft 365 connection at another
// authority host (or Graph URL, cloud, tenant, app) without the secret is
// refused, and the stored secret never reaches the new host (the attack
// had the server send it there). Other changes need no secret, and the
// same change with the secret is taken.
func TestConnectorChangeNeedsTheSecretAgain(t *testing.T) {
	ts := newTestServerWith(t, func(c *config) { c.M365Sim = true })
	ts.useSecret(t, ts.simSecret(t), ts.now().AddDate(0, 6, 0)) // stored in the data directory
	var hits atomic.Int64
	var leaked atomic.Bool
	evil := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		r.ParseForm()
		if strings.Contains(r.Form.Encode(), url.QueryEscape(ts.simSecret(t))) {
			leaked.Store(true)
		}
		http.Error(w, "no", http.StatusBadRequest)
	}))
	defer evil.Close()
	set := ts.app.connector.Settings()
	body := func(change func(map[string]any)) map[string]any {
		b := map[string]any{"kind": "m365", "tenant_id": set.TenantID, "client_id": set.ClientID, "cloud": set.Cloud,
			"authority_host": set.AuthorityHost, "graph_base_url": set.GraphBaseURL, "auth": "secret", "canary_mailbox": set.CanaryMailbox}
		change(b)
		return b
	}
	for name, change := range map[string]func(map[string]any){
		"authority host": func(b map[string]any) { b["authority_host"] = evil.URL },
		"Graph URL":      func(b map[string]any) { b["graph_base_url"] = evil.URL + "/v1.0" },
		"tenant":         func(b map[string]any) { b["tenant_id"] = "11111111-2222-3333-4444-555555555555" },
		"client id":      func(b map[string]any) { b["client_id"] = "66666666-2222-3333-4444-555555555555" },
		"cloud":          func(b map[string]any) { b["cloud"] = "china" },
	} {
		if code := ts.api("PUT", "/api/v1/connector", body(change), nil); code != http.StatusBadRequest {
			t.Errorf("API: changing the %s without the secret: %d, want 400", name, code)
		}
	}
	// The web UI's form, as a logged-in admin.
	c, csrf := adminSession(t, ts)
	form := url.Values{"csrf": {csrf}, "kind": {"m365"}, "tenant_id": {set.TenantID}, "client_id": {set.ClientID}, "cloud": {set.Cloud},
		"authority_host": {evil.URL}, "graph_base_url": {set.GraphBaseURL}, "auth": {"secret"}}
	resp, err := c.PostForm(ts.http.URL+"/connector", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("UI: changing the authority host without the secret: %d, want 400", resp.StatusCode)
	}
	// Whatever runs next reads through the unchanged connection.
	if got := ts.app.connector.Settings().AuthorityHost; got != set.AuthorityHost {
		t.Errorf("authority host now %q", got)
	}
	rooms, _ := ts.app.db.Rooms()
	if err := ts.app.sync.Refresh(context.Background(), rooms[0].ID); err != nil {
		t.Errorf("read after the refused changes: %v", err)
	}
	ts.cli("doctor")
	if hits.Load() != 0 || leaked.Load() {
		t.Fatalf("the new host got %d requests (secret leaked: %v)", hits.Load(), leaked.Load())
	}
	// A change that sends the secret nowhere new needs none.
	if code := ts.api("PUT", "/api/v1/connector", body(func(b map[string]any) { b["canary_mailbox"] = "" }), nil); code != http.StatusOK {
		t.Errorf("changing the canary mailbox without the secret: %d, want 200", code)
	}
	// With the secret, the admin may point the connection anywhere.
	if code := ts.api("PUT", "/api/v1/connector", body(func(b map[string]any) {
		b["graph_base_url"] = strings.TrimSuffix(set.GraphBaseURL, "/") + "/"
		b["secret"] = ts.simSecret(t)
	}), nil); code != http.StatusOK {
		t.Errorf("the same connection with the secret: %d", code)
	}
}
