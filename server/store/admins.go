package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Admin is a person with a local account for the admin UI and API.
type Admin struct {
	Username     string    `json:"username"`
	PasswordHash []byte    `json:"password_hash"` // bcrypt
	Created      time.Time `json:"created"`
	// Role is "admin" or "helpdesk" (see admin.RoleAdmin); the stores
	// before schema 7 had admins only, which the migration says.
	Role string `json:"role,omitempty"`
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

// APIToken authorizes scripts and the CLI. The store keys it by its hash;
// the token itself is shown once, when it is made.
type APIToken struct {
	// ID names the token in lists and to revoke it: the first 16 hex
	// digits of its hash (not a secret: the token has 256 random bits).
	ID   string `json:"id"`
	Name string `json:"name"`
	// Admin is who made it ("" for the CLI on a stopped server's store).
	Admin string `json:"admin"`
	// Scope is "read", "devices" or "admin" (see admin.ScopeAdmin).
	Scope   string    `json:"scope"`
	Created time.Time `json:"created"`
	// Expires is when the token stops working; zero: never.
	Expires  time.Time `json:"expires,omitzero"`
	LastUsed time.Time `json:"last_used,omitzero"`
	// Revoked is when an admin revoked it; the record stays so that the
	// token is refused as revoked (not unknown) and the list shows it.
	Revoked time.Time `json:"revoked,omitzero"`
}

// tokenID is the ID of the token stored under hash.
func tokenID(hash string) string {
	if len(hash) < 16 {
		return hash
	}
	return hash[:16]
}

// PutAdmin adds or replaces an admin.
func (db *DB) PutAdmin(a Admin) error {
	if a.Username == "" || len(a.PasswordHash) == 0 {
		return fmt.Errorf("store: admin needs a username and a password hash")
	}
	return db.update(func(tx txn) error { return putJSON(root(tx, adminsBucket), a.Username, a) })
}

// Admin returns one admin, or ErrNotFound.
func (db *DB) Admin(username string) (Admin, error) {
	var a Admin
	err := db.view(func(tx txn) error { return getJSON(root(tx, adminsBucket), username, &a) })
	if err != nil {
		return Admin{}, fmt.Errorf("store: admin %q: %w", username, err)
	}
	return a, nil
}

// Admins returns the usernames of every admin, sorted.
func (db *DB) Admins() ([]string, error) {
	var out []string
	err := db.view(func(tx txn) error {
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
	return db.update(func(tx txn) error { return putJSON(root(tx, sessionsBucket), idHash, s) })
}

// Session returns a session by the hash of its id, or ErrNotFound. An
// expired session is deleted and reported as not found.
func (db *DB) Session(idHash string, now time.Time) (Session, error) {
	var s Session
	err := db.view(func(tx txn) error { return getJSON(root(tx, sessionsBucket), idHash, &s) })
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
	return db.update(func(tx txn) error { return root(tx, sessionsBucket).Delete([]byte(idHash)) })
}

// PutAPIToken stores an API token under its hash (and sets its ID).
func (db *DB) PutAPIToken(hash string, t APIToken) error {
	t.ID = tokenID(hash)
	return db.update(func(tx txn) error { return putJSON(root(tx, apiTokensBucket), hash, t) })
}

// APIToken returns the token stored under hash, or ErrNotFound.
func (db *DB) APIToken(hash string) (APIToken, error) {
	var t APIToken
	err := db.view(func(tx txn) error { return getJSON(root(tx, apiTokensBucket), hash, &t) })
	if err != nil {
		return APIToken{}, fmt.Errorf("store: api token: %w", err)
	}
	return t, nil
}

// APITokens lists the API tokens (never their values), by name.
func (db *DB) APITokens() ([]APIToken, error) {
	var out []APIToken
	err := db.view(func(tx txn) error {
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

// AdminList returns every local account, by username.
func (db *DB) AdminList() ([]Admin, error) {
	var out []Admin
	err := db.view(func(tx txn) error {
		return root(tx, adminsBucket).ForEach(func(k, v []byte) error {
			var a Admin
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("store: decode admin %q: %w", k, err)
			}
			out = append(out, a)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	return out, err
}

// ErrLastAdmin: the change would leave no account with the admin role.
var ErrLastAdmin = errors.New("the last admin cannot be removed or made helpdesk: make another admin first")

// isAdminRole: an account before roles (schema 7) is an admin.
func isAdminRole(role string) bool { return role == "" || role == "admin" }

// UpdateAdmin changes an existing account in one transaction; it refuses
// (ErrLastAdmin) a change that leaves no admin.
func (db *DB) UpdateAdmin(username string, change func(a *Admin) error) (Admin, error) {
	var a Admin
	err := db.update(func(tx txn) error {
		a = Admin{} // fn may run again (see engine)
		b := root(tx, adminsBucket)
		if err := getJSON(b, username, &a); err != nil {
			return fmt.Errorf("store: admin %q: %w", username, err)
		}
		wasAdmin := isAdminRole(a.Role)
		if err := change(&a); err != nil {
			return err
		}
		a.Username = username
		if wasAdmin && !isAdminRole(a.Role) && countAdmins(b) <= 1 {
			return fmt.Errorf("store: %w", ErrLastAdmin)
		}
		return putJSON(b, username, a)
	})
	if err != nil {
		return Admin{}, err
	}
	return a, nil
}

// DeleteAdmin removes an account, ends its sessions and revokes the API
// tokens it made, in one transaction; the last admin stays (ErrLastAdmin).
func (db *DB) DeleteAdmin(username string, now time.Time) error {
	return db.update(func(tx txn) error {
		b := root(tx, adminsBucket)
		var a Admin
		if err := getJSON(b, username, &a); err != nil {
			return fmt.Errorf("store: admin %q: %w", username, err)
		}
		if isAdminRole(a.Role) && countAdmins(b) <= 1 {
			return fmt.Errorf("store: %w", ErrLastAdmin)
		}
		if err := b.Delete([]byte(username)); err != nil {
			return err
		}
		if _, err := deleteSessionsOf(tx, username, ""); err != nil {
			return err
		}
		_, err := revokeTokensOf(tx, username, now)
		return err
	})
}

func countAdmins(b bucket) int {
	n := 0
	b.ForEach(func(_, v []byte) error {
		var a Admin
		if json.Unmarshal(v, &a) == nil && isAdminRole(a.Role) {
			n++
		}
		return nil
	})
	return n
}

// DeleteSessionsOf ends every session of a local account except the one
// stored under keepHash ("" ends them all) and says how many it ended.
// Sessions of people signed in with Entra ID (which carry a role) are
// not local accounts' and stay.
func (db *DB) DeleteSessionsOf(username, keepHash string) (int, error) {
	var n int
	err := db.update(func(tx txn) error {
		var err error
		n, err = deleteSessionsOf(tx, username, keepHash)
		return err
	})
	return n, err
}

func deleteSessionsOf(tx txn, username, keepHash string) (int, error) {
	b := root(tx, sessionsBucket)
	var doomed [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var s Session
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("store: decode session: %w", err)
		}
		if s.Admin == username && s.Role == "" && string(k) != keepHash {
			doomed = append(doomed, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(doomed), nil
}

// RevokeAPITokensOf revokes every live API token username made and says
// how many.
func (db *DB) RevokeAPITokensOf(username string, now time.Time) (int, error) {
	var n int
	err := db.update(func(tx txn) error {
		var err error
		n, err = revokeTokensOf(tx, username, now)
		return err
	})
	return n, err
}

func revokeTokensOf(tx txn, username string, now time.Time) (int, error) {
	b := root(tx, apiTokensBucket)
	changed := map[string]APIToken{}
	err := b.ForEach(func(k, v []byte) error {
		var t APIToken
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("store: decode api token: %w", err)
		}
		if t.Admin == username && t.Revoked.IsZero() {
			t.Revoked = now.UTC()
			changed[string(k)] = t
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for k, t := range changed {
		if err := putJSON(b, k, t); err != nil {
			return 0, err
		}
	}
	return len(changed), nil
}

// RevokeAPIToken marks the token with this ID revoked and returns it;
// ErrNotFound when no token has the ID. Revoking twice keeps the first
// time.
func (db *DB) RevokeAPIToken(id string, now time.Time) (APIToken, error) {
	var found APIToken
	err := db.update(func(tx txn) error {
		b := root(tx, apiTokensBucket)
		hash, err := tokenHashByID(b, id)
		if err != nil {
			return err
		}
		if err := getJSON(b, hash, &found); err != nil {
			return err
		}
		if found.Revoked.IsZero() {
			found.Revoked = now.UTC()
		}
		return putJSON(b, hash, found)
	})
	if err != nil {
		return APIToken{}, fmt.Errorf("store: api token %q: %w", id, err)
	}
	return found, nil
}

func tokenHashByID(b bucket, id string) (string, error) {
	if len(id) != 16 {
		return "", ErrNotFound
	}
	k, _ := b.Cursor().Seek([]byte(id))
	if k == nil || tokenID(string(k)) != id {
		return "", ErrNotFound
	}
	return string(k), nil
}

// TouchAPIToken records that the token under hash was used at now, at most
// once per minute (a call is not a disk write).
func (db *DB) TouchAPIToken(hash string, now time.Time) error {
	t, err := db.APIToken(hash)
	if err != nil || now.Sub(t.LastUsed) < time.Minute {
		return err
	}
	return db.update(func(tx txn) error {
		b := root(tx, apiTokensBucket)
		var cur APIToken
		if err := getJSON(b, hash, &cur); err != nil {
			return err
		}
		cur.LastUsed = now.UTC()
		return putJSON(b, hash, cur)
	})
}
