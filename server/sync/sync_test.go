package sync

import (
	"context"
	"errors"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/calendar"
	"github.com/lintelhq/lintel/server/calendar/builtin"
	"github.com/lintelhq/lintel/server/store"
)

type capture struct {
	mu     gosync.Mutex
	states map[string][]proto.State
}

func (c *capture) Publish(room string, st proto.State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.states == nil {
		c.states = map[string][]proto.State{}
	}
	c.states[room] = append(c.states[room], st)
}

func (c *capture) get(room string) []proto.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]proto.State(nil), c.states[room]...)
}

// flaky wraps a provider and fails as a whole, or for some rooms, on demand.
type flaky struct {
	calendar.Provider
	mu       gosync.Mutex
	down     bool
	badRooms map[string]bool
}

func (f *flaky) Events(ctx context.Context, rooms []string, from, to time.Time) (map[string]calendar.RoomEvents, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, &calendar.Error{Kind: calendar.ErrUnavailable, Msg: "connection refused"}
	}
	got, err := f.Provider.Events(ctx, rooms, from, to)
	for r := range f.badRooms {
		if _, ok := got[r]; ok {
			got[r] = calendar.RoomEvents{Err: &calendar.Error{Kind: calendar.ErrDenied, Room: r}}
		}
	}
	return got, err
}

type fixture struct {
	db   *store.DB
	cal  *builtin.Calendar
	prov *flaky
	pub  *capture
	s    *Syncer
	now  time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "lintel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: db, cal: builtin.New(db), pub: &capture{}, now: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}
	f.prov = &flaky{Provider: f.cal}
	for _, r := range []store.Room{
		{ID: "title", Name: "Title", Calendar: "title", TimeZone: "Europe/Zurich", Display: store.DisplayTitle},
		{ID: "org", Name: "Org", Calendar: "org", TimeZone: "Europe/Zurich", Display: store.DisplayOrganizer},
		{ID: "res", Name: "Res", Calendar: "res", TimeZone: "America/New_York", Display: store.DisplayReserved},
	} {
		if err := db.PutRoom(r); err != nil {
			t.Fatal(err)
		}
		for _, in := range []builtin.Input{
			{Subject: "Budget", Organizer: "Anna", Start: f.now, End: f.now.Add(time.Hour)},
			{Subject: "Layoffs", Organizer: "Petra", Start: f.now.Add(2 * time.Hour), End: f.now.Add(3 * time.Hour), Private: true},
		} {
			if _, err := f.cal.Add(context.Background(), r.ID, in); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.s = New(Opts{Provider: f.prov, Store: db, Publisher: f.pub, Now: func() time.Time { return f.now }})
	return f
}

func titles(st proto.State) []string {
	var out []string
	for _, m := range st.Meetings {
		out = append(out, m.Title)
	}
	return out
}

func TestDisplayModes(t *testing.T) {
	f := newFixture(t)
	if err := f.s.SyncAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{
		"title": {"Budget", "Reserved"},
		"org":   {"Anna", "Reserved"},
		"res":   {"Reserved", "Reserved"},
	}
	for room, w := range want {
		states := f.pub.get(room)
		if len(states) != 1 {
			t.Fatalf("room %s: %d publishes, want 1", room, len(states))
		}
		got := titles(states[0])
		if len(got) != 2 || got[0] != w[0] || got[1] != w[1] {
			t.Errorf("room %s titles %v, want %v", room, got, w)
		}
	}
}

func TestTitle(t *testing.T) {
	tests := []struct {
		mode string
		ev   calendar.Event
		want string
	}{
		{store.DisplayTitle, calendar.Event{Subject: "Budget", Organizer: "Anna"}, "Budget"},
		{store.DisplayTitle, calendar.Event{Subject: "Budget", Organizer: "Anna", Private: true}, "Reserved"},
		{store.DisplayTitle, calendar.Event{Organizer: "Anna"}, "Anna"},
		{store.DisplayTitle, calendar.Event{}, "Reserved"},
		{store.DisplayOrganizer, calendar.Event{Subject: "Budget", Organizer: "Anna"}, "Anna"},
		{store.DisplayOrganizer, calendar.Event{Subject: "Budget", Organizer: "Anna", Private: true}, "Reserved"},
		{store.DisplayOrganizer, calendar.Event{Subject: "Budget"}, "Reserved"},
		{store.DisplayReserved, calendar.Event{Subject: "Budget", Organizer: "Anna"}, "Reserved"},
		{"unknown", calendar.Event{Subject: "Budget"}, "Reserved"},
	}
	for _, tc := range tests {
		if got := Title(tc.mode, tc.ev); got != tc.want {
			t.Errorf("Title(%s, %+v) = %q, want %q", tc.mode, tc.ev, got, tc.want)
		}
	}
}

func TestPublishesOnlyChangesAndRefreshShowsAtOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.s.SyncAll(ctx)
	f.now = f.now.Add(15 * time.Second)
	f.s.SyncAll(ctx)
	if n := len(f.pub.get("title")); n != 1 {
		t.Fatalf("an unchanged calendar was published %d times, want 1", n)
	}
	if _, err := f.cal.Add(ctx, "title", builtin.Input{Subject: "Standup", Start: f.now.Add(4 * time.Hour), End: f.now.Add(5 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Refresh(ctx, "title"); err != nil {
		t.Fatal(err)
	}
	states := f.pub.get("title")
	if len(states) != 2 || len(states[1].Meetings) != 3 || states[1].Meetings[2].Title != "Standup" {
		t.Fatalf("refresh after a change: %d publishes, last %v", len(states), titles(states[len(states)-1]))
	}
	if n := len(f.pub.get("org")); n != 1 {
		t.Errorf("refreshing one room published another: %d", n)
	}
	stored, err := f.db.State("title")
	if err != nil || len(stored) == 0 {
		t.Errorf("state not stored: %v", err)
	}
}

func TestFailuresKeepLastGoodStateMarkedStale(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.s.SyncAll(ctx)
	good := f.now
	f.now = f.now.Add(time.Minute)
	f.prov.badRooms = map[string]bool{"org": true}
	if err := f.s.SyncAll(ctx); err != nil {
		t.Fatalf("one room failing is not a provider failure: %v", err)
	}
	org := f.pub.get("org")
	last := org[len(org)-1]
	if len(org) != 2 || !last.Stale || !last.LastSync.Equal(good) || len(last.Meetings) != 2 {
		t.Fatalf("denied room: %d publishes, last stale=%v last_sync=%v meetings=%d", len(org), last.Stale, last.LastSync, len(last.Meetings))
	}
	if n := len(f.pub.get("title")); n != 1 {
		t.Errorf("a healthy room was republished: %d", n)
	}

	f.prov.down = true
	f.now = f.now.Add(time.Minute)
	if err := f.s.SyncAll(ctx); !errors.Is(err, calendar.ErrUnavailable) {
		t.Fatalf("provider down: %v", err)
	}
	title := f.pub.get("title")
	if last := title[len(title)-1]; !last.Stale || len(last.Meetings) != 2 {
		t.Errorf("provider down: title room stale=%v meetings=%d", last.Stale, len(last.Meetings))
	}

	f.prov.down, f.prov.badRooms = false, nil
	f.now = f.now.Add(time.Minute)
	f.s.SyncAll(ctx)
	title = f.pub.get("title")
	if last := title[len(title)-1]; last.Stale || !last.LastSync.IsZero() {
		t.Errorf("recovered: stale=%v last_sync=%v", last.Stale, last.LastSync)
	}
}

func TestLoadStoredServesAfterRestart(t *testing.T) {
	f := newFixture(t)
	f.s.SyncAll(context.Background())
	pub := &capture{}
	restarted := New(Opts{Provider: f.prov, Store: f.db, Publisher: pub, Now: func() time.Time { return f.now }})
	restarted.LoadStored()
	got := pub.get("title")
	if len(got) != 1 || !got[0].Stale || titles(got[0])[0] != "Budget" {
		t.Fatalf("after restart: %+v", got)
	}
}

func TestWindowStartsAtLocalMidnight(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// 23:30 UTC on March 9 is 00:30 on March 10 in Zurich but 19:30 on
	// March 9 in New York: an event at 20:00 UTC on March 9 is in New
	// York's window and not in Zurich's.
	f.now = time.Date(2026, 3, 9, 23, 30, 0, 0, time.UTC)
	ev := builtin.Input{Subject: "Evening", Start: time.Date(2026, 3, 9, 20, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 9, 21, 0, 0, 0, time.UTC)}
	f.cal.Add(ctx, "title", ev)
	f.cal.Add(ctx, "res", ev)
	f.s.SyncAll(ctx)
	has := func(room string) bool {
		st := f.pub.get(room)
		for _, m := range st[len(st)-1].Meetings {
			if m.Start.Equal(ev.Start) {
				return true
			}
		}
		return false
	}
	if has("title") {
		t.Error("Zurich's window includes yesterday evening")
	}
	if !has("res") {
		t.Error("New York's window misses this evening")
	}
}

// teamsCapable makes a provider say every room's calendar can host
// Teams meetings.
type teamsCapable struct{ calendar.Provider }

func (teamsCapable) OnlineMeetings(_ context.Context, rooms []string) map[string]bool {
	out := map[string]bool{}
	for _, r := range rooms {
		out[r] = true
	}
	return out
}

func TestTeamsOfferedOnlyWhenTheProviderCan(t *testing.T) {
	f := newFixture(t)
	room, _ := f.db.Room("title")
	room.Booking = store.BookingSettings{Instant: true, Teams: true}
	f.db.PutRoom(room)
	f.s.SyncAll(context.Background())
	if st, _ := f.s.State("title"); st.Features.Teams || !st.Features.Book {
		t.Errorf("built-in calendar: features %+v, want booking without Teams", st.Features)
	}
	s := New(Opts{Provider: teamsCapable{f.cal}, Store: f.db, Publisher: &capture{}, Now: func() time.Time { return f.now }})
	s.SyncAll(context.Background())
	if st, _ := s.State("title"); !st.Features.Teams {
		t.Errorf("Teams-capable provider: features %+v", st.Features)
	}
}

// TestUnknownScheduleState checks what panels need to never claim a room
// free that was never read: a never-read room gets a stale state with the
// reason, every state carries the stale-after rule, and a restarted server
// says when its stored state was last known current.
func TestUnknownScheduleState(t *testing.T) {
	f := newFixture(t)
	f.s = New(Opts{Provider: f.prov, Store: f.db, Publisher: f.pub, StaleAfter: 20 * time.Minute, Now: func() time.Time { return f.now }})
	f.prov.badRooms = map[string]bool{"org": true}
	f.s.SyncAll(context.Background())
	org := f.pub.get("org")
	if len(org) != 1 {
		t.Fatalf("%d publishes", len(org))
	}
	st := org[0]
	if !st.Stale || !st.LastSync.IsZero() || st.Reason != proto.ReasonDenied || len(st.Meetings) != 0 || st.Rules.StaleAfterMinutes != 20 {
		t.Errorf("never read: stale=%v last=%v reason=%q meetings=%d stale_after=%d", st.Stale, st.LastSync, st.Reason, len(st.Meetings), st.Rules.StaleAfterMinutes)
	}
	if ok, why, _ := proto.Known(&st, f.now, time.Time{}); ok || why != proto.ReasonDenied {
		t.Errorf("a panel takes it as known=%v why=%q", ok, why)
	}
	title := f.pub.get("title")[0]
	if title.Stale || title.Rules.StaleAfterMinutes != 20 {
		t.Errorf("read room: stale=%v stale_after=%d", title.Stale, title.Rules.StaleAfterMinutes)
	}

	// After a restart the stored state was current when last published.
	pub := &capture{}
	f.now = f.now.Add(time.Hour)
	restarted := New(Opts{Provider: f.prov, Store: f.db, Publisher: pub, Now: func() time.Time { return f.now }})
	restarted.LoadStored()
	got := pub.get("title")[0]
	if !got.Stale || !got.LastSync.Equal(title.ServerTime) {
		t.Errorf("restarted: stale=%v last_sync=%v, want %v", got.Stale, got.LastSync, title.ServerTime)
	}
}

func TestReason(t *testing.T) {
	for err, want := range map[error]proto.Reason{
		&calendar.Error{Kind: calendar.ErrDenied}:      proto.ReasonDenied,
		&calendar.Error{Kind: calendar.ErrNotFound}:    proto.ReasonNotFound,
		&calendar.Error{Kind: calendar.ErrAuth}:        proto.ReasonSignIn,
		&calendar.Error{Kind: calendar.ErrThrottled}:   proto.ReasonThrottled,
		&calendar.Error{Kind: calendar.ErrUnavailable}: proto.ReasonUnreachable,
		errors.New("anything else"):                    proto.ReasonUnreachable,
	} {
		if got := Reason(err); got != want {
			t.Errorf("Reason(%v) = %q, want %q", err, got, want)
		}
	}
}

// TestLabelsOrganizerHours checks the codes panels word themselves and
// the privacy rule: "Reserved" travels as a label, the organizer only
// where the display mode shows names and the meeting is not private, and
// the room's clock.
func TestLabelsOrganizerHours(t *testing.T) {
	f := newFixture(t)
	r, _ := f.db.Room("title")
	r.Hours = 24
	f.db.PutRoom(r)
	f.s.SyncAll(context.Background())
	for room, want := range map[string][2]string{
		"title": {"Anna", ""},
		"org":   {"", ""},
		"res":   {"", ""},
	} {
		st := f.pub.get(room)[0]
		for i, m := range st.Meetings {
			if m.Organizer != want[i] {
				t.Errorf("room %s meeting %d: organizer %q, want %q", room, i, m.Organizer, want[i])
			}
			if (m.Title == Reserved) != (m.Label == proto.LabelReserved) {
				t.Errorf("room %s meeting %d: title %q, label %q", room, i, m.Title, m.Label)
			}
			if m.Private && (m.Title != Reserved || m.Organizer != "") {
				t.Errorf("room %s: a private meeting shows %q / %q", room, m.Title, m.Organizer)
			}
		}
	}
	if h := f.pub.get("title")[0].Room.Hours; h != 24 {
		t.Errorf("room hours %d", h)
	}
}
