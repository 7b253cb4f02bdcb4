// Package fleet manages the door panels as a fleet: their display settings
// (a fleet default, a room's, a panel's own override, stacked in that
// order) and, in rollout.go, staged firmware rollouts.
//
// Settings travel to a panel as a proto.TypeSettings frame: right after
// its hello (through the hub's Greet, before its room's state) and again
// whenever an admin changes a layer that applies to it or moves it to
// another room. Only panels whose hello accepts proto.AcceptSettings get
// one; an older panel, whose strict decoder would refuse the frame, keeps
// its configuration file's settings.
//
// The layers live in the store's settings bucket as JSON under
// "panel-settings" (fleet), "panel-settings/room/<id>" and
// "panel-settings/device/<id>". This package owns the mapping from the
// layers to what a panel gets.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	gosync "sync"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/hub"
	"github.com/lintelhq/lintel/server/store"
)

// Store is what settings need of the store.
type Store interface {
	PutSetting(key string, v any) error
	Setting(key string, v any) error
	Room(id string) (store.Room, error)
	Device(id string) (store.Device, error)
	SettingKeys(prefix string) ([]string, error)
	DeleteSetting(key string) error
}

// Panels is what settings need of the connected panels (the hub).
type Panels interface {
	Accepts(deviceID, capability string) bool
	Send(deviceID string, m proto.Message) error
	Connections() []hub.ConnInfo
}

// Scope names a layer of settings.
type Scope struct {
	Kind string // "fleet", "room" or "device"
	ID   string // the room's or device's id; "" for the fleet
}

// The scopes' kinds.
const (
	ScopeFleet  = "fleet"
	ScopeRoom   = "room"
	ScopeDevice = "device"
)

func (s Scope) key() (string, error) {
	switch {
	case s.Kind == ScopeFleet && s.ID == "":
		return "panel-settings", nil
	case (s.Kind == ScopeRoom || s.Kind == ScopeDevice) && s.ID != "" && len(s.ID) <= 128:
		return "panel-settings/" + s.Kind + "/" + s.ID, nil
	}
	return "", fmt.Errorf("fleet: no settings scope %q %q", s.Kind, s.ID)
}

// Settings keeps the layers and brings them to the panels.
type Settings struct {
	store  Store
	panels Panels
	log    *slog.Logger

	mu   gosync.Mutex
	sent map[string]proto.Settings // what each connected panel got last
}

// NewSettings returns the settings service. panels may be set later with
// SetPanels (the hub is made after its Greet hook).
func NewSettings(st Store, log *slog.Logger) *Settings {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Settings{store: st, log: log, sent: make(map[string]proto.Settings)}
}

// SetPanels gives the service the hub it sends through.
func (s *Settings) SetPanels(p Panels) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.panels = p
}

// Layer returns one layer as stored: the zero Settings when none was set.
func (s *Settings) Layer(scope Scope) (proto.Settings, error) {
	key, err := scope.key()
	if err != nil {
		return proto.Settings{}, err
	}
	var out proto.Settings
	if err := s.store.Setting(key, &out); err != nil && !errors.Is(err, store.ErrNotFound) {
		return proto.Settings{}, fmt.Errorf("fleet: read %s settings: %w", scope.Kind, err)
	}
	return out, nil
}

// SetLayer checks and saves one layer (the zero Settings clears it), then
// sends every connected panel it applies to its new settings.
func (s *Settings) SetLayer(ctx context.Context, scope Scope, v proto.Settings) error {
	key, err := scope.key()
	if err != nil {
		return err
	}
	if err := v.Validate(); err != nil {
		return err
	}
	if err := s.store.PutSetting(key, v); err != nil {
		return fmt.Errorf("fleet: save %s settings: %w", scope.Kind, err)
	}
	s.Push(ctx)
	return nil
}

// Effective is what a panel in room gets: its own layer over the room's
// over the fleet's.
func (s *Settings) Effective(deviceID, room string) (proto.Settings, error) {
	fleet, err := s.Layer(Scope{Kind: ScopeFleet})
	if err != nil {
		return proto.Settings{}, err
	}
	out := fleet
	if room != "" {
		r, err := s.Layer(Scope{Kind: ScopeRoom, ID: room})
		if err != nil {
			return proto.Settings{}, err
		}
		// The clock chosen on the room's form counts as the room's layer.
		if rm, err := s.store.Room(room); err == nil && r.Hours == 0 {
			r.Hours = rm.Hours
		}
		out = r.Over(out)
	}
	if deviceID != "" {
		d, err := s.Layer(Scope{Kind: ScopeDevice, ID: deviceID})
		if err != nil {
			return proto.Settings{}, err
		}
		out = d.Over(out)
	}
	return out, nil
}

// Greet is the hub's Greet hook: a panel that accepts settings gets them
// before its room's state.
func (s *Settings) Greet(d hub.Device, hello proto.Hello) []proto.Message {
	if !hello.Can(proto.AcceptSettings) {
		return nil
	}
	eff, err := s.Effective(d.ID, d.Room)
	if err != nil {
		// The panel keeps what it has cached; the next change or
		// connection tries again.
		s.log.Error("fleet: cannot work out a panel's settings", "device", d.ID, "err", err)
		return nil
	}
	s.mu.Lock()
	s.sent[d.ID] = eff
	s.mu.Unlock()
	return []proto.Message{{Type: proto.TypeSettings, Settings: &eff}}
}

// Push sends every connected panel that accepts settings its settings,
// where they differ from what it got last. Call it after a change of a
// layer or of a panel's room.
func (s *Settings) Push(ctx context.Context) {
	s.mu.Lock()
	panels := s.panels
	s.mu.Unlock()
	if panels == nil {
		return
	}
	for _, c := range panels.Connections() {
		if ctx.Err() != nil {
			return
		}
		if !c.Paired || !panels.Accepts(c.DeviceID, proto.AcceptSettings) {
			continue
		}
		eff, err := s.Effective(c.DeviceID, c.Room)
		if err != nil {
			s.log.Error("fleet: cannot work out a panel's settings", "device", c.DeviceID, "err", err)
			continue
		}
		s.mu.Lock()
		last, ok := s.sent[c.DeviceID]
		same := ok && reflect.DeepEqual(last, eff)
		s.mu.Unlock()
		if same {
			continue
		}
		if err := panels.Send(c.DeviceID, proto.Message{Type: proto.TypeSettings, Settings: &eff}); err != nil {
			s.log.Warn("fleet: cannot send a panel its settings; it gets them when it reconnects", "device", c.DeviceID, "err", err)
			continue
		}
		s.mu.Lock()
		s.sent[c.DeviceID] = eff
		s.mu.Unlock()
	}
}

// Prune removes the layers of rooms and panels that no longer exist, so
// the settings bucket does not grow with rooms and panels removed (and a
// room made again under an old id starts afresh). It reports how many
// went.
func (s *Settings) Prune() (int, error) {
	keys, err := s.store.SettingKeys("panel-settings/")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		rest := strings.TrimPrefix(k, "panel-settings/")
		if id, ok := strings.CutPrefix(rest, ScopeRoom+"/"); ok {
			_, err = s.store.Room(id)
		} else if id, ok := strings.CutPrefix(rest, ScopeDevice+"/"); ok {
			_, err = s.store.Device(id)
		} else {
			continue
		}
		if errors.Is(err, store.ErrNotFound) {
			if err := s.store.DeleteSetting(k); err != nil {
				return n, fmt.Errorf("fleet: prune settings: %w", err)
			}
			n++
		}
	}
	return n, nil
}

// Forget drops what a panel was sent last, when it disconnects: it gets
// its settings again at its next hello.
func (s *Settings) Forget(deviceID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sent, deviceID)
}
