package fleet

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/hub"
	"github.com/lintelhq/lintel/server/store"
)

// fakePanels records what is sent to which device.
type fakePanels struct {
	mu      sync.Mutex
	conns   []hub.ConnInfo
	accepts map[string]bool
	sent    map[string][]proto.Settings
}

func (f *fakePanels) Accepts(id, c string) bool { return c == proto.AcceptSettings && f.accepts[id] }
func (f *fakePanels) Connections() []hub.ConnInfo {
	return f.conns
}
func (f *fakePanels) Send(id string, m proto.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent[id] = append(f.sent[id], *m.Settings)
	return nil
}

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "lintel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSettingsLayersAndPush(t *testing.T) {
	db := openStore(t)
	for _, r := range []store.Room{{ID: "rigi", Name: "Rigi", Calendar: "rigi", TimeZone: "UTC", Display: store.DisplayTitle, Hours: 12},
		{ID: "eiger", Name: "Eiger", Calendar: "eiger", TimeZone: "UTC", Display: store.DisplayTitle}} {
		if err := db.PutRoom(r); err != nil {
			t.Fatal(err)
		}
	}
	s := NewSettings(db, nil)
	panels := &fakePanels{
		conns:   []hub.ConnInfo{{DeviceID: "d1", Room: "rigi", Paired: true}, {DeviceID: "d2", Room: "eiger", Paired: true}, {DeviceID: "old", Room: "eiger", Paired: true}},
		accepts: map[string]bool{"d1": true, "d2": true},
		sent:    map[string][]proto.Settings{},
	}
	s.SetPanels(panels)
	ctx := context.Background()

	if err := s.SetLayer(ctx, Scope{Kind: ScopeFleet}, proto.Settings{Locale: "de", Hours: 24, BookMinutes: []int{15, 30}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLayer(ctx, Scope{Kind: ScopeRoom, ID: "eiger"}, proto.Settings{Locale: "fr"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLayer(ctx, Scope{Kind: ScopeDevice, ID: "d2"}, proto.Settings{BookMinutes: []int{10}}); err != nil {
		t.Fatal(err)
	}
	// d1: the fleet's, with the room form's 12 h clock; d2: the room's
	// language and its own menu; "old" accepts nothing and gets nothing.
	d1, _ := s.Effective("d1", "rigi")
	d2, _ := s.Effective("d2", "eiger")
	if d1.Locale != "de" || d1.Hours != 12 || len(d1.BookMinutes) != 2 {
		t.Errorf("d1 gets %+v", d1)
	}
	if d2.Locale != "fr" || d2.Hours != 24 || len(d2.BookMinutes) != 1 || d2.BookMinutes[0] != 10 {
		t.Errorf("d2 gets %+v", d2)
	}
	if n := len(panels.sent["d1"]); n != 1 {
		t.Errorf("d1 was sent %d settings, want 1 (the room and d2 layers do not change it)", n)
	}
	if n := len(panels.sent["d2"]); n != 3 {
		t.Errorf("d2 was sent %d settings, want 3", n)
	}
	if len(panels.sent["old"]) != 0 {
		t.Error("a panel that does not accept settings was sent some")
	}
	if got := panels.sent["d2"][2]; got.Locale != "fr" || got.BookMinutes[0] != 10 {
		t.Errorf("d2's last settings %+v", got)
	}

	// A bad layer is refused and nothing changes.
	if err := s.SetLayer(ctx, Scope{Kind: ScopeFleet}, proto.Settings{Brightness: 500}); err == nil {
		t.Error("brightness 500 accepted")
	}
	if err := s.SetLayer(ctx, Scope{Kind: "building", ID: "x"}, proto.Settings{}); err == nil {
		t.Error("an unknown scope accepted")
	}
	if l, _ := s.Layer(Scope{Kind: ScopeFleet}); l.Locale != "de" {
		t.Errorf("fleet layer now %+v", l)
	}

	// Greet: only for panels that accept settings.
	if m := s.Greet(hub.Device{ID: "d1", Room: "rigi"}, proto.Hello{Accepts: []string{proto.AcceptSettings}}); len(m) != 1 || m[0].Settings.Hours != 12 {
		t.Errorf("greeting %+v", m)
	}
	if m := s.Greet(hub.Device{ID: "old", Room: "eiger"}, proto.Hello{}); m != nil {
		t.Errorf("an old panel is greeted with %+v", m)
	}
}

// TestSettingsPrune: the layers of a removed room and panel go; the
// others stay.
func TestSettingsPrune(t *testing.T) {
	db := openStore(t)
	db.PutRoom(store.Room{ID: "rigi", Name: "Rigi", Calendar: "rigi", TimeZone: "UTC", Display: store.DisplayTitle})
	db.AddDevice(store.Device{ID: "d1", Name: "Door"}, "h1")
	s := NewSettings(db, nil)
	ctx := context.Background()
	for _, sc := range []Scope{{ScopeFleet, ""}, {ScopeRoom, "rigi"}, {ScopeRoom, "gone"}, {ScopeDevice, "d1"}, {ScopeDevice, "d9"}} {
		if err := s.SetLayer(ctx, sc, proto.Settings{Locale: "de"}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.Prune(); err != nil || n != 2 {
		t.Fatalf("pruned %d, %v; want 2", n, err)
	}
	for _, sc := range []Scope{{ScopeFleet, ""}, {ScopeRoom, "rigi"}, {ScopeDevice, "d1"}} {
		if l, _ := s.Layer(sc); l.Locale != "de" {
			t.Errorf("%v lost its layer", sc)
		}
	}
	if l, _ := s.Layer(Scope{ScopeRoom, "gone"}); !l.IsZero() {
		t.Error("a removed room's layer stayed")
	}
}
