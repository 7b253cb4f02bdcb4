package graphtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// These tests talk plain HTTP to the emulator; package graph tests it
// with the real SDK.

const (
	clientID = "11111111-2222-4333-8444-555555555555"
	secret   = "s3cret~value"
)

func newServer(t *testing.T, opts Options) *Server {
	t.Helper()
	s := NewServer(opts)
	t.Cleanup(s.Close)
	s.AddApp(App{ClientID: clientID, Secret: secret, SecretID: "secret-id"})
	return s
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func do(t *testing.T, s *Server, method, u string, header http.Header, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			t.Fatalf("%s %s: %v: %s", method, u, err, raw)
		}
	}
	return a
}

func tokenRequest(t *testing.T, s *Server, tenant string, form url.Values) answer {
	return do(t, s, "POST", s.URL+"/"+tenant+"/oauth2/v2.0/token",
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, form.Encode())
}

func token(t *testing.T, s *Server) http.Header {
	t.Helper()
	a := tokenRequest(t, s, s.TenantID, url.Values{"client_id": {clientID}, "client_secret": {secret}, "grant_type": {"client_credentials"}})
	if a.status != 200 {
		t.Fatalf("token: %d %v", a.status, a.body)
	}
	return http.Header{"Authorization": {"Bearer " + a.body["access_token"].(string)}}
}

func TestTokenErrors(t *testing.T) {
	s := newServer(t, Options{})
	s.AddApp(App{ClientID: "expired", Secret: secret, SecretExpired: true})
	form := func(id, sec string) url.Values {
		return url.Values{"client_id": {id}, "client_secret": {sec}, "grant_type": {"client_credentials"}}
	}
	for _, tc := range []struct {
		name, tenant string
		form         url.Values
		status       int
		code         string
	}{
		{"ok", s.TenantID, form(clientID, secret), 200, ""},
		{"ok by domain", DefaultTenantDomain, form(clientID, secret), 200, ""},
		{"secret ID instead of value", s.TenantID, form(clientID, "secret-id"), 401, "AADSTS7000215"},
		{"expired", s.TenantID, form("expired", secret), 401, "AADSTS7000222"},
		{"unknown app", s.TenantID, form("nobody", secret), 400, "AADSTS700016"},
		{"unknown tenant", "fabrikam.com", form(clientID, secret), 400, "AADSTS90002"},
		{"malformed tenant", "fabrikam", form(clientID, secret), 400, "AADSTS900023"},
		{"bad assertion", s.TenantID, url.Values{"client_id": {clientID}, "client_assertion": {"a.b.c"}}, 401, "AADSTS700027"},
	} {
		a := tokenRequest(t, s, tc.tenant, tc.form)
		desc, _ := a.body["error_description"].(string)
		if a.status != tc.status || !strings.HasPrefix(desc, tc.code) {
			t.Errorf("%s: %d %q, want %d %s", tc.name, a.status, desc, tc.status, tc.code)
		}
		if strings.Contains(desc, secret) {
			t.Errorf("%s: the error echoes the secret", tc.name)
		}
	}
	if st := s.Stats(); st.TokenRequests != 8 {
		t.Errorf("%d token requests counted, want 8", st.TokenRequests)
	}
}

func TestOpenIDConfiguration(t *testing.T) {
	s := newServer(t, Options{})
	a := do(t, s, "GET", s.URL+"/"+s.TenantID+"/v2.0/.well-known/openid-configuration", nil, "")
	if a.status != 200 || a.body["token_endpoint"] != s.URL+"/"+s.TenantID+"/oauth2/v2.0/token" || a.body["issuer"] == nil {
		t.Errorf("%d %v", a.status, a.body)
	}
}

func TestGraphNeedsToken(t *testing.T) {
	s := newServer(t, Options{})
	a := do(t, s, "GET", s.GraphURL+"/users/x@y/calendar", http.Header{"Authorization": {"Bearer forged.token.sig"}}, "")
	if a.status != 401 {
		t.Errorf("forged token: %d", a.status)
	}
}

func view(s *Server, room string, extra string) string {
	return s.GraphURL + "/users/" + room + "/calendarView?startDateTime=2026-03-10T00:00:00Z&endDateTime=2026-03-11T00:00:00Z" + extra
}

func TestCalendarViewPagingAndOrder(t *testing.T) {
	s := newServer(t, Options{})
	auth := token(t, s)
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	for i := range 25 {
		s.AddEvent("r@x", Event{Subject: fmt.Sprint(i), Start: day.Add(time.Duration(i) * 30 * time.Minute), End: day.Add(time.Duration(i+1) * 30 * time.Minute), Recurring: i == 0})
	}
	s.AddEvent("r@x", Event{Subject: "outside", Start: day.Add(-2 * time.Hour), End: day.Add(-time.Hour)})

	var subjects []string
	u := view(s, "r@x", "&$select=subject")
	pages := 0
	for u != "" {
		a := do(t, s, "GET", u, auth, "")
		if a.status != 200 {
			t.Fatalf("%d %v", a.status, a.body)
		}
		pages++
		for _, v := range a.body["value"].([]any) {
			ev := v.(map[string]any)
			if _, has := ev["organizer"]; has {
				t.Fatal("$select not applied")
			}
			subjects = append(subjects, ev["subject"].(string))
		}
		u, _ = a.body["@odata.nextLink"].(string)
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3 (default page of 10)", pages)
	}
	if len(subjects) != 25 || subjects[0] != "1" || subjects[24] != "0" {
		t.Errorf("subjects %v: want 25, the occurrence last", subjects)
	}
}

func TestTimeZoneAndExchangeDefault(t *testing.T) {
	s := newServer(t, Options{})
	auth := token(t, s)
	s.AddMailbox(Mailbox{Address: "r@x", Room: true, TimeZone: "W. Europe Standard Time"})
	start := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	s.AddEvent("r@x", Event{Subject: "Secret plan", Organizer: "Ada", OrganizerAddress: "ada@x", Start: start, End: start.Add(time.Hour), Sensitivity: "private"})

	ev := func(h http.Header) map[string]any {
		a := do(t, s, "GET", view(s, "r@x", ""), h, "")
		return a.body["value"].([]any)[0].(map[string]any)
	}
	own := ev(auth)["start"].(map[string]any)
	if own["dateTime"] != "2026-03-10T10:00:00.0000000" || own["timeZone"] != "W. Europe Standard Time" {
		t.Errorf("without Prefer: %v", own)
	}
	utc := auth.Clone()
	utc.Set("Prefer", `outlook.timezone="UTC"`)
	if got := ev(utc)["start"].(map[string]any); got["dateTime"] != "2026-03-10T09:00:00.0000000" || got["timeZone"] != "UTC" {
		t.Errorf("with Prefer UTC: %v", got)
	}

	s.SetExchangeDefault("r@x", true)
	if got := ev(utc); got["subject"] != "Ada" || got["sensitivity"] != "normal" {
		t.Errorf("Exchange default: subject %v, sensitivity %v", got["subject"], got["sensitivity"])
	}
}

func TestBatch(t *testing.T) {
	s := newServer(t, Options{})
	auth := token(t, s)
	auth.Set("Content-Type", "application/json")
	s.AddMailbox(Mailbox{Address: "a@x"})
	s.AddMailbox(Mailbox{Address: "b@x"})
	s.Deny("b@x")
	item := func(id, room string) string {
		return fmt.Sprintf(`{"id":%q,"method":"GET","url":"/users/%s/calendarView?startDateTime=2026-03-10T00:00:00Z&endDateTime=2026-03-11T00:00:00Z"}`, id, room)
	}
	a := do(t, s, "POST", s.GraphURL+"/$batch", auth, `{"requests":[`+item("1", "a@x")+","+item("2", "b@x")+`]}`)
	if a.status != 200 {
		t.Fatalf("%d %v", a.status, a.body)
	}
	status := map[string]float64{}
	for _, r := range a.body["responses"].([]any) {
		r := r.(map[string]any)
		status[r["id"].(string)] = r["status"].(float64)
	}
	if status["1"] != 200 || status["2"] != 403 {
		t.Errorf("item statuses %v, want 1:200 2:403", status)
	}

	var many []string
	for i := range 21 {
		many = append(many, item(fmt.Sprint(i), "a@x"))
	}
	if a := do(t, s, "POST", s.GraphURL+"/$batch", auth, `{"requests":[`+strings.Join(many, ",")+`]}`); a.status != 400 {
		t.Errorf("21 items: %d, want 400", a.status)
	}
}

func TestThrottleRate(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC).UnixNano())
	s := newServer(t, Options{Now: func() time.Time { return time.Unix(0, now.Load()) },
		Throttle: Throttle{MailboxLimit: 3, Window: time.Minute}})
	auth := token(t, s)
	s.AddMailbox(Mailbox{Address: "r@x"})
	for i := range 3 {
		if a := do(t, s, "GET", view(s, "r@x", ""), auth, ""); a.status != 200 {
			t.Fatalf("request %d: %d", i, a.status)
		}
	}
	a := do(t, s, "GET", view(s, "r@x", ""), auth, "")
	if a.status != 429 || a.header.Get("Retry-After") != "20" {
		t.Fatalf("4th request: %d, Retry-After %q; want 429 after 20 s", a.status, a.header.Get("Retry-After"))
	}
	now.Add(int64(20 * time.Second))
	if a := do(t, s, "GET", view(s, "r@x", ""), auth, ""); a.status != 200 {
		t.Errorf("after Retry-After: %d", a.status)
	}
	if st := s.Stats(); st.Throttled != 1 {
		t.Errorf("%d throttled, want 1", st.Throttled)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	// The admitted four are held long enough that the other two arrive
	// while they are in flight, however slowly a busy machine starts
	// them (at 100 ms a loaded machine let a fifth through).
	s := newServer(t, Options{Latency: 2 * time.Second, Throttle: Throttle{MaxConcurrent: 4}})
	auth := token(t, s)
	s.AddMailbox(Mailbox{Address: "r@x"})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 6 {
		wg.Go(func() {
			a := do(t, s, "GET", view(s, "r@x", ""), auth, "")
			mu.Lock()
			codes[a.status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[200] != 4 || codes[429] != 2 {
		t.Errorf("answers %v, want 4 OK and 2 throttled", codes)
	}
}

func TestFaults(t *testing.T) {
	s := newServer(t, Options{})
	auth := token(t, s)
	s.AddMailbox(Mailbox{Address: "r@x"})
	s.Inject(Fault{Mailbox: "r@x", Status: 503, RetryAfter: 3 * time.Second, Times: 2})
	for i, want := range []int{503, 503, 200} {
		a := do(t, s, "GET", view(s, "r@x", ""), auth, "")
		if a.status != want {
			t.Errorf("request %d: %d, want %d", i, a.status, want)
		}
		if want == 503 && a.header.Get("Retry-After") != "3" {
			t.Errorf("request %d: Retry-After %q", i, a.header.Get("Retry-After"))
		}
	}
}

func TestCreateEvent(t *testing.T) {
	s := newServer(t, Options{})
	auth := token(t, s)
	s.AddMailbox(Mailbox{Address: "r@x", Name: "Aurora"})
	body := `{"subject":"Walk-up","start":{"dateTime":"2026-03-10T09:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-03-10T09:30:00","timeZone":"UTC"},"transactionId":"t1","isOnlineMeeting":true,"onlineMeetingProvider":"teamsForBusiness"}`
	a := do(t, s, "POST", s.GraphURL+"/users/r@x/events", auth, body)
	b := do(t, s, "POST", s.GraphURL+"/users/r@x/events", auth, body)
	if a.status != 201 || b.status != 201 || a.body["id"] != b.body["id"] {
		t.Fatalf("create twice: %d %v / %d %v", a.status, a.body["id"], b.status, b.body["id"])
	}
	if join := a.body["onlineMeeting"].(map[string]any)["joinUrl"]; join == nil {
		t.Error("no join URL")
	}
	if n := len(s.Events("r@x")); n != 1 {
		t.Errorf("%d events after a retried create", n)
	}
}

func TestSeedDemo(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	now := time.Date(2026, 3, 10, 10, 7, 0, 0, time.UTC)
	d := s.SeedDemo(now, time.UTC)
	if len(d.Rooms) != 5 || d.Secret == "" || strings.Contains(d.String(), d.Secret) {
		t.Fatalf("demo %v", d)
	}
	busyNow := func(room string) bool {
		for _, e := range s.Events(room) {
			if !e.Cancelled && !e.Start.After(now) && e.End.After(now) {
				return true
			}
		}
		return false
	}
	if !busyNow(d.Rooms[0]) || busyNow(d.Rooms[1]) || busyNow(d.Rooms[2]) || !busyNow(d.Rooms[3]) {
		t.Errorf("busy now: %v %v %v %v, want true false false true",
			busyNow(d.Rooms[0]), busyNow(d.Rooms[1]), busyNow(d.Rooms[2]), busyNow(d.Rooms[3]))
	}
	for _, r := range d.Rooms {
		if n := len(s.Events(r)); n < 8 {
			t.Errorf("%s has only %d events", r, n)
		}
	}
}
