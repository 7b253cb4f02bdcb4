package admin

import (
	"time"

	"github.com/lintelhq/lintel/server/store"
)

// The store roles admin uses, each named after what it keeps. Functions
// that the CLI calls take the narrowest one; the Server takes Store, all
// of them. *store.DB satisfies every one (asserted in package main), and
// so must any other backend.

// RoomStore keeps the rooms and their settings.
type RoomStore interface {
	Room(id string) (store.Room, error)
	Rooms() ([]store.Room, error)
	PutRoom(r store.Room) error
	DeleteRoom(id string) error
}

// DeviceStore is the devices as admin sees them: listed, renamed and
// moved. Adding, revoking and deleting go through devices.Service, which
// owns credentials.
type DeviceStore interface {
	Device(id string) (store.Device, error)
	Devices() ([]store.Device, error)
	UpdateDevice(id string, fn func(*store.Device) error) (store.Device, error)
}

// AccountStore keeps the admin accounts (users of the web UI and API).
type AccountStore interface {
	Admin(username string) (store.Admin, error)
	AdminList() ([]store.Admin, error)
	PutAdmin(a store.Admin) error
	UpdateAdmin(username string, change func(a *store.Admin) error) (store.Admin, error)
	// DeleteAdmin also ends the account's sessions and revokes its
	// tokens, in the same transaction.
	DeleteAdmin(username string, now time.Time) error
}

// SessionStore keeps web UI sessions under the hash of their cookie.
type SessionStore interface {
	Session(idHash string, now time.Time) (store.Session, error)
	PutSession(idHash string, s store.Session) error
	DeleteSession(idHash string) error
	DeleteSessionsOf(username, keepHash string) (int, error)
}

// TokenStore keeps API tokens under the hash of their secret.
type TokenStore interface {
	APIToken(hash string) (store.APIToken, error)
	APITokens() ([]store.APIToken, error)
	PutAPIToken(hash string, t store.APIToken) error
	TouchAPIToken(hash string, now time.Time) error
	RevokeAPIToken(id string, now time.Time) (store.APIToken, error)
	RevokeAPITokensOf(username string, now time.Time) (int, error)
}

// ActivityStore is the log of what happened at the panels (and the
// screenshots the admin asked for), paged by time.
type ActivityStore interface {
	PutActivity(o store.Outcome) error
	ActivityOlder(at time.Time, key string, limit int) (page []store.Outcome, more bool, err error)
	ActivityNewer(at time.Time, key string, limit int) (page []store.Outcome, more bool, err error)
}

// SettingStore keeps settings the admin changes in the UI (sign-in).
type SettingStore interface {
	Setting(key string, v any) error
	PutSetting(key string, v any) error
}

// Snapshotter writes a consistent copy of the whole store, for backups
// over the API.
type Snapshotter interface {
	Snapshot(w interface{ Write([]byte) (int, error) }) (int64, error)
}

// CredentialStore is what changing a password touches: the account, and
// the sessions and tokens it may end.
type CredentialStore interface {
	AccountStore
	SessionStore
	TokenStore
}

// Store is every role the admin server uses.
type Store interface {
	RoomStore
	DeviceStore
	AccountStore
	SessionStore
	TokenStore
	ActivityStore
	UsageStore
	SettingStore
	Snapshotter
}
