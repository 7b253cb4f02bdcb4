package graphtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a subscriber's endpoint: it echoes validation tokens (when
// echo is set) and records what it is sent.
type receiver struct {
	mu        sync.Mutex
	echo      bool
	got       []map[string]any
	lifecycle []map[string]any
	arrived   chan struct{}
	srv       *httptest.Server
}

func newReceiver(t *testing.T, echo bool) *receiver {
	rc := &receiver{echo: echo, arrived: make(chan struct{}, 100)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			if !rc.echo {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, tok)
			return
		}
		var body struct {
			Value []map[string]any `json:"value"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		rc.mu.Lock()
		if r.URL.Path == "/lifecycle" {
			rc.lifecycle = append(rc.lifecycle, body.Value...)
		} else {
			rc.got = append(rc.got, body.Value...)
		}
		rc.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		rc.arrived <- struct{}{}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func subscribeBody(rc *receiver, mailbox string, exp time.Time) string {
	return fmt.Sprintf(`{"changeType":"created,updated,deleted","notificationUrl":%q,"lifecycleNotificationUrl":%q,"resource":"/users/%s/events","expirationDateTime":%q,"clientState":"secret-state"}`,
		rc.srv.URL+"/notify", rc.srv.URL+"/lifecycle", mailbox, exp.UTC().Format(time.RFC3339))
}

func TestSubscriptions(t *testing.T) {
	s := newServer(t, Options{})
	auth := token(t, s)
	auth.Set("Content-Type", "application/json")
	s.AddMailbox(Mailbox{Address: "r@x"})
	s.AddMailbox(Mailbox{Address: "denied@x"})
	s.Deny("denied@x")
	rc := newReceiver(t, true)
	now := time.Now()

	if a := do(t, s, "POST", s.GraphURL+"/subscriptions", auth, subscribeBody(rc, "r@x", now.Add(4231*time.Minute))); a.status != 400 {
		t.Errorf("expiry past 4230 minutes: %d, want 400", a.status)
	}
	if a := do(t, s, "POST", s.GraphURL+"/subscriptions", auth, subscribeBody(rc, "denied@x", now.Add(time.Hour))); a.status != 403 {
		t.Errorf("denied mailbox: %d, want 403", a.status)
	}
	silent := newReceiver(t, false)
	if a := do(t, s, "POST", s.GraphURL+"/subscriptions", auth, subscribeBody(silent, "r@x", now.Add(time.Hour))); a.status != 400 ||
		!strings.Contains(fmt.Sprint(a.body), "validation request failed") {
		t.Errorf("endpoint without validation: %d %v, want 400", a.status, a.body)
	}

	a := do(t, s, "POST", s.GraphURL+"/subscriptions", auth, subscribeBody(rc, "r@x", now.Add(4000*time.Minute)))
	if a.status != 201 {
		t.Fatalf("create: %d %v", a.status, a.body)
	}
	id := a.body["id"].(string)
	if a.body["clientState"] != nil {
		t.Errorf("clientState returned: %v", a.body["clientState"])
	}

	evID := s.AddEvent("r@x", Event{Subject: "New", Start: now, End: now.Add(time.Hour)})
	<-rc.arrived
	rc.mu.Lock()
	n := rc.got[0]
	rc.mu.Unlock()
	if n["subscriptionId"] != id || n["clientState"] != "secret-state" || n["changeType"] != "created" ||
		n["resourceData"].(map[string]any)["id"] != evID {
		t.Errorf("notification %v", n)
	}

	// Renew, in a $batch; then delete.
	batch := fmt.Sprintf(`{"requests":[{"id":"1","method":"PATCH","url":"/subscriptions/%s","headers":{"Content-Type":"application/json"},"body":{"expirationDateTime":%q}}]}`,
		id, now.Add(4200*time.Minute).UTC().Format(time.RFC3339))
	a = do(t, s, "POST", s.GraphURL+"/$batch", auth, batch)
	if st := a.body["responses"].([]any)[0].(map[string]any)["status"]; st != 200.0 {
		t.Errorf("renew in batch: %v", a.body)
	}

	if code, err := s.Lifecycle(id, "missed"); err != nil || code != 202 {
		t.Errorf("lifecycle: %d %v", code, err)
	}
	<-rc.arrived
	rc.mu.Lock()
	if len(rc.lifecycle) != 1 || rc.lifecycle[0]["lifecycleEvent"] != "missed" || rc.lifecycle[0]["clientState"] != "secret-state" {
		t.Errorf("lifecycle events %v", rc.lifecycle)
	}
	rc.mu.Unlock()

	if a := do(t, s, "DELETE", s.GraphURL+"/subscriptions/"+id, auth, ""); a.status != 204 {
		t.Errorf("delete: %d", a.status)
	}
	if a := do(t, s, "PATCH", s.GraphURL+"/subscriptions/"+id, auth, `{"expirationDateTime":"2030-01-01T00:00:00Z"}`); a.status != 404 {
		t.Errorf("renew after delete: %d, want 404", a.status)
	}
	if got := len(s.Subscriptions()); got != 0 {
		t.Errorf("%d subscriptions left", got)
	}
}

// Graph allows 4 operations in flight per mailbox: a fifth gets 429 with
// Retry-After; a $batch runs its items 4 at a time, so one batch of 8
// items for one mailbox stays within the limit.
func TestMailboxConcurrency(t *testing.T) {
	s := newServer(t, Options{OpLatency: 50 * time.Millisecond})
	auth := token(t, s)
	auth.Set("Content-Type", "application/json")
	s.AddMailbox(Mailbox{Address: "r@x"})
	item := func(id string) string {
		return fmt.Sprintf(`{"id":%q,"method":"GET","url":"/users/r@x/calendarView?startDateTime=2026-03-10T00:00:00Z&endDateTime=2026-03-11T00:00:00Z"}`, id)
	}
	var items []string
	for i := range 8 {
		items = append(items, item(fmt.Sprint(i)))
	}
	a := do(t, s, "POST", s.GraphURL+"/$batch", auth, `{"requests":[`+strings.Join(items, ",")+`]}`)
	for _, r := range a.body["responses"].([]any) {
		if st := r.(map[string]any)["status"]; st != 200.0 {
			t.Errorf("item of one batch: %v", r)
		}
	}
	if st := s.Stats(); st.MaxMailboxInFlight != 4 {
		t.Errorf("%d in flight for the mailbox, want 4 (a batch runs 4 at a time)", st.MaxMailboxInFlight)
	}

	// Three batches at once for the same mailbox: 12 operations want to
	// run, 4 may.
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[float64]int{}
	retryAfter := true
	for range 3 {
		wg.Go(func() {
			a := do(t, s, "POST", s.GraphURL+"/$batch", auth, `{"requests":[`+strings.Join(items[:4], ",")+`]}`)
			mu.Lock()
			defer mu.Unlock()
			for _, r := range a.body["responses"].([]any) {
				r := r.(map[string]any)
				codes[r["status"].(float64)]++
				if r["status"] == 429.0 && r["headers"].(map[string]any)["Retry-After"] == nil {
					retryAfter = false
				}
			}
		})
	}
	wg.Wait()
	if codes[429] == 0 || !retryAfter || s.Stats().MaxMailboxInFlight > 4 {
		t.Errorf("answers %v (Retry-After on each 429: %v), max in flight %d: want 429s past 4 per mailbox",
			codes, retryAfter, s.Stats().MaxMailboxInFlight)
	}
}
