package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Admin is a person who may use the admin UI and API.
type Admin struct {
	Username     string    `json:"username"`
	PasswordHash []byte    `json:"password_hash"` // bcrypt
	Created      time.Time `json:"created"`
}

// Session is a logged-in admin's browser session. The store keys it by the
// hash of the cookie's value.
type Session struct {
	Admin string `json:"admin"`
	// Role is "admin" or "helpdesk" for a person signed in with Entra ID
	// (from the group or app role mapping); empty for a local account.
	Role    string    `json:"role,omitempty"`
	CSRF    string    `json:"csrf"` // the token forms must echo
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
}

// APIToken authorizes scripts and the CLI. The store keys it by its hash.
type APIToken struct {
	Name    string    `json:"name"`
	Admin   string    `json:"admin"`
	Created time.Time `json:"created"`
}

// PutAdmin adds or replaces an admin.
func (db *DB) PutAdmin(a Admin) error {
	if a.Username == "" || len(a.PasswordHash) == 0 {
		return fmt.Errorf("store: admin needs a username and a password hash")
	}
	return db.update(func(tx *bolt.Tx) error { return putJSON(root(tx, adminsBucket), a.Username, a) })
}

// Admin returns one admin, or ErrNotFound.
func (db *DB) Admin(username string) (Admin, error) {
	var a Admin
	err := db.view(func(tx *bolt.Tx) error { return getJSON(root(tx, adminsBucket), username, &a) })
	if err != nil {
		return Admin{}, fmt.Errorf("store: admin %q: %w", username, err)
	}
	return a, nil
}

// Admins returns the usernames of every admin, sorted.
func (db *DB) Admins() ([]string, error) {
	var out []string
	err := db.view(func(tx *bolt.Tx) error {
		return root(tx, adminsBucket).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	sort.Strings(out)
	return out, err
}

// PutSession stores a session under the hash of its id.
func (db *DB) PutSession(idHash string, s Session) error {
	return db.update(func(tx *bolt.Tx) error { return putJSON(root(tx, sessionsBucket), idHash, s) })
}

// Session returns a session by the hash of its id, or ErrNotFound. An
// expired session is deleted and reported as not found.
func (db *DB) Session(idHash string, now time.Time) (Session, error) {
	var s Session
	err := db.view(func(tx *bolt.Tx) error { return getJSON(root(tx, sessionsBucket), idHash, &s) })
	if err != nil {
		return Session{}, fmt.Errorf("store: session: %w", err)
	}
	if !now.Before(s.Expires) {
		db.DeleteSession(idHash)
		return Session{}, fmt.Errorf("store: session expired: %w", ErrNotFound)
	}
	return s, nil
}

// DeleteSession ends a session.
func (db *DB) DeleteSession(idHash string) error {
	return db.update(func(tx *bolt.Tx) error { return root(tx, sessionsBucket).Delete([]byte(idHash)) })
}

// PutAPIToken stores an API token under its hash.
func (db *DB) PutAPIToken(hash string, t APIToken) error {
	return db.update(func(tx *bolt.Tx) error { return putJSON(root(tx, apiTokensBucket), hash, t) })
}

// APIToken returns the token stored under hash, or ErrNotFound.
func (db *DB) APIToken(hash string) (APIToken, error) {
	var t APIToken
	err := db.view(func(tx *bolt.Tx) error { return getJSON(root(tx, apiTokensBucket), hash, &t) })
	if err != nil {
		return APIToken{}, fmt.Errorf("store: api token: %w", err)
	}
	return t, nil
}

// APITokens lists the API tokens (never their values), by name.
func (db *DB) APITokens() ([]APIToken, error) {
	var out []APIToken
	err := db.view(func(tx *bolt.Tx) error {
		return root(tx, apiTokensBucket).ForEach(func(k, v []byte) error {
			var t APIToken
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("store: decode api token: %w", err)
			}
			out = append(out, t)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}
