// Package devices manages door panels: their credentials, pairing,
// revocation and health.
//
// A device credential is 256 random bits, given to the panel once and
// kept by the server only as its SHA-256 hash: a stolen store file cannot
// be used to impersonate a panel. (A slow password hash is pointless for a
// random 256-bit secret; SHA-256 keeps authentication cheap.)
package devices

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/lintelhq/lintel/server/store"
)

// Errors callers test with errors.Is.
var (
	ErrUnknownToken = errors.New("devices: unknown device credential")
	ErrRevoked      = errors.New("devices: device revoked")
)

// tokenPrefix makes a Lintel device token recognizable in a config file
// or a leak scanner.
const tokenPrefix = "lintel_dev_"

// Store keeps the devices and their credentials (as hashes); *store.DB
// is one. Rooms are read only to check that a device is assigned to one
// that exists.
type Store interface {
	AddDevice(d store.Device, tokenHash string) error
	Device(id string) (store.Device, error)
	DeviceByToken(tokenHash string) (store.Device, error)
	UpdateDevice(id string, fn func(*store.Device) error) (store.Device, error)
	RevokeDevice(id string) error
	DeleteDevice(id string) error
	Room(id string) (store.Room, error)
}

// Service manages devices in the store.
type Service struct {
	db  Store
	log *slog.Logger
	now func() time.Time
}

// Opts configures a Service.
type Opts struct {
	Logger *slog.Logger     // default: discard
	Now    func() time.Time // default: time.Now
}

// New returns a Service on db.
func New(db Store, opts Opts) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{db: db, log: opts.Logger, now: opts.Now}
}

// NewToken returns a fresh device credential and its hash.
func NewToken() (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is the form in which the store keeps a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewID returns a short random device id.
func NewID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "pnl-" + hex.EncodeToString(b)
}

// Add creates a device for a room and returns it with its credential,
// which is shown this once and never stored.
func (s *Service) Add(ctx context.Context, room, name string) (store.Device, string, error) {
	if _, err := s.db.Room(room); err != nil {
		return store.Device{}, "", fmt.Errorf("devices: add to room %q: %w", room, err)
	}
	d := store.Device{ID: NewID(), Name: name, Room: room, Created: s.now().UTC()}
	if d.Name == "" {
		d.Name = d.ID
	}
	token, hash := NewToken()
	if err := s.db.AddDevice(d, hash); err != nil {
		return store.Device{}, "", fmt.Errorf("devices: add: %w", err)
	}
	s.log.Info("device added", "device", d.ID, "room", room)
	return d, token, nil
}

// Authenticate returns the device a credential belongs to.
func (s *Service) Authenticate(ctx context.Context, token string) (store.Device, error) {
	if !strings.HasPrefix(token, tokenPrefix) {
		return store.Device{}, ErrUnknownToken
	}
	d, err := s.db.DeviceByToken(HashToken(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Device{}, ErrUnknownToken
	case err != nil:
		return store.Device{}, fmt.Errorf("devices: authenticate: %w", err)
	case d.Revoked:
		return store.Device{}, ErrRevoked
	}
	return d, nil
}

// Check tells whether a device that authenticated earlier may still be
// served: nil, or ErrRevoked when it was revoked or deleted since.
func (s *Service) Check(ctx context.Context, id string) error {
	d, err := s.db.Device(id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrRevoked // deleted
	case err != nil:
		return fmt.Errorf("devices: check: %w", err)
	case d.Revoked:
		return ErrRevoked
	}
	return nil
}

// Revoke makes a device's credential worthless at once. The device stays
// listed, revoked, until it is deleted.
func (s *Service) Revoke(ctx context.Context, id string) error {
	if err := s.db.RevokeDevice(id); err != nil {
		return fmt.Errorf("devices: revoke: %w", err)
	}
	s.log.Info("device revoked", "device", id)
	return nil
}

// Delete removes a device from the list. Its credential stays refused as
// revoked.
func (s *Service) Delete(ctx context.Context, id string) error {
	if err := s.db.DeleteDevice(id); err != nil {
		return fmt.Errorf("devices: delete: %w", err)
	}
	s.log.Info("device deleted", "device", id)
	return nil
}

// Seen records that a device connected or spoke, with what it said of
// itself.
func (s *Service) Seen(ctx context.Context, id, addr, firmware string, protocol int) error {
	_, err := s.db.UpdateDevice(id, func(d *store.Device) error {
		d.LastSeen = s.now().UTC()
		if addr != "" {
			d.Addr = addr
		}
		if firmware != "" {
			d.Firmware, d.Protocol = firmware, protocol
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("devices: seen: %w", err)
	}
	return nil
}
