package remote

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/store"
)

var t0 = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

type states map[string]proto.State

func (s states) State(room string) (proto.State, bool) { st, ok := s[room]; return st, ok }

type booking struct{ calls []proto.Request }

func (b *booking) Request(_ context.Context, device, room, id string, r proto.Request) proto.Result {
	b.calls = append(b.calls, r)
	return proto.Result{OK: true}
}

func newRemote(t *testing.T, now *time.Time) (*Remote, *booking, *store.DB) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "lintel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.PutRoom(store.Room{ID: "rigi", Name: "Rigi", Calendar: "rigi", TimeZone: "UTC", Display: store.DisplayTitle})
	db.PutRoom(store.Room{ID: "titlis", Name: "Titlis", Calendar: "titlis", TimeZone: "UTC", Display: store.DisplayTitle})
	m := proto.Meeting{ID: "m1", Title: "Walk-up", Start: t0.Add(-5 * time.Minute), End: t0.Add(25 * time.Minute), Booked: true, CheckIn: true}
	st := proto.State{Meetings: []proto.Meeting{m}, Features: proto.Features{ExtendEnd: true, CheckIn: true}}
	b := &booking{}
	r, err := New(Opts{Store: db, States: states{"rigi": st, "titlis": st}, Booking: b,
		PublicURL: func() string { return "https://lintel.example.com/" }, Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	return r, b, db
}

func do(h http.Handler, method, path string, form url.Values) *httptest.ResponseRecorder {
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestCapability: the link opens its room's meeting only; another room,
// another meeting, a changed signature (every last character of it,
// padding bits included) or another server's key open nothing; the key
// is the same for every server on one store.
func TestCapability(t *testing.T) {
	now := t0
	r, _, db := newRemote(t, &now)
	u := r.MeetingURL("rigi", "m1")
	if !strings.HasPrefix(u, "https://lintel.example.com/m/") {
		t.Fatalf("url %q", u)
	}
	c := strings.TrimPrefix(u, "https://lintel.example.com/m/")
	if room, meeting, ok := r.open(c); !ok || room != "rigi" || meeting != "m1" {
		t.Fatalf("open: %q %q %v", room, meeting, ok)
	}
	enc, sig, _ := strings.Cut(c, ".")
	other := strings.TrimPrefix(r.MeetingURL("titlis", "m1"), "https://lintel.example.com/m/")
	oenc, _, _ := strings.Cut(other, ".")
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for _, ch := range alphabet {
		if s := sig[:len(sig)-1] + string(ch); s != sig {
			if _, _, ok := r.open(enc + "." + s); ok {
				t.Fatalf("a signature changed in its last character (%q) opens the meeting", s)
			}
		}
	}
	for name, bad := range map[string]string{"another room's subject": oenc + "." + sig, "no signature": enc, "empty": "", "long": strings.Repeat("A", 3000)} {
		if _, _, ok := r.open(bad); ok {
			t.Errorf("%s opens a meeting", name)
		}
	}
	// A second server on the same store has the same key.
	again, err := New(Opts{Store: db, States: states{}, Booking: &booking{}, PublicURL: func() string { return "https://lintel.example.com" }})
	if err != nil || again.MeetingURL("rigi", "m1") != u {
		t.Errorf("another server's link %q, want %q (%v)", again.MeetingURL("rigi", "m1"), u, err)
	}
	if (&Remote{opts: Opts{PublicURL: func() string { return "" }}}).MeetingURL("rigi", "m1") != "" {
		t.Error("a link without a public URL")
	}
}

// TestPage: what the page offers and does, the ended meeting, bad forms
// and the rate limit.
func TestPage(t *testing.T) {
	now := t0
	r, b, _ := newRemote(t, &now)
	h := r.Handler()
	path := strings.TrimPrefix(r.MeetingURL("rigi", "m1"), "https://lintel.example.com")

	rec := do(h, "GET", path, nil)
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `id="checkin"`) || !strings.Contains(body, `id="extend"`) || !strings.Contains(body, `id="end"`) {
		t.Fatalf("page %d:\n%s", rec.Code, body)
	}
	if rec.Header().Get("Referrer-Policy") != "no-referrer" || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("headers %v", rec.Header())
	}
	for action, want := range map[string]proto.Action{"checkin": proto.ActionCheckIn, "extend": proto.ActionExtend, "end": proto.ActionEnd} {
		b.calls = nil
		rec := do(h, "POST", path, url.Values{"request": {"abcdefgh12"}, "action": {action}})
		if rec.Code != 200 || len(b.calls) != 1 || b.calls[0].Action != want || b.calls[0].MeetingID != "m1" {
			t.Errorf("%s: %d, calls %+v", action, rec.Code, b.calls)
		}
	}
	b.calls = nil
	for name, form := range map[string]url.Values{
		"no request id":  {"action": {"end"}},
		"unknown action": {"request": {"abcdefgh12"}, "action": {"book"}},
		"a huge form":    {"request": {"abcdefgh12"}, "action": {"end"}, "pad": {strings.Repeat("x", 10<<10)}},
	} {
		if rec := do(h, "POST", path, form); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, rec.Code)
		}
	}
	if len(b.calls) != 0 {
		t.Errorf("bad forms reached booking: %+v", b.calls)
	}

	// Over: the page says so and offers nothing.
	now = t0.Add(25 * time.Minute)
	if rec := do(h, "GET", path, nil); rec.Code != http.StatusGone || strings.Contains(rec.Body.String(), "<button") || !strings.Contains(rec.Body.String(), "Meeting ended") {
		t.Errorf("after the end: %d\n%s", rec.Code, rec.Body)
	}

	// One address may ask burst times at once, then one every 6 s.
	now = t0.Add(time.Hour)
	limited := false
	for range 2 * burst {
		if do(h, "GET", path, nil).Code == http.StatusTooManyRequests {
			limited = true
		}
	}
	if !limited {
		t.Error("no rate limit per address")
	}
}

// TestBookingPage: a room's booking link opens that room on its day only,
// and a meeting's signature does not open a booking page (nor the other
// way round).
func TestBookingPage(t *testing.T) {
	now := t0
	r, b, _ := newRemote(t, &now)
	h := r.Handler()
	u := r.BookURL("rigi", "UTC", now)
	c := strings.TrimPrefix(u, "https://lintel.example.com/m/")
	if room, d, ok := r.openBook(c); !ok || room != "rigi" || d != "2026-03-10" {
		t.Fatalf("openBook: %q %q %v", room, d, ok)
	}
	meeting := strings.TrimPrefix(r.MeetingURL("rigi", "2026-03-10"), "https://lintel.example.com/m/")
	if _, _, ok := r.openBook(bookPrefix + meeting); ok {
		t.Error("a meeting's signature opens a booking page")
	}
	if _, _, ok := r.open(strings.TrimPrefix(c, bookPrefix)); ok {
		t.Error("a booking page's signature opens a meeting")
	}
	path := strings.TrimPrefix(u, "https://lintel.example.com")
	if rec := do(h, "GET", path, nil); rec.Code != http.StatusOK {
		t.Errorf("today: %d", rec.Code)
	}
	now = t0.Add(24 * time.Hour)
	if rec := do(h, "GET", path, nil); rec.Code != http.StatusGone {
		t.Errorf("the next day: %d, want 410", rec.Code)
	}
	if rec := do(h, "POST", path, url.Values{"request": {"abcdefgh12"}, "action": {"book"}, "until": {"1773136800"}}); rec.Code != http.StatusGone || len(b.calls) != 0 {
		t.Errorf("booking the next day: %d, calls %+v", rec.Code, b.calls)
	}
}
