package admin

import (
	"crypto/rand"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/lintelhq/lintel/server/store"
)

// MinPasswordLength is the shortest admin password accepted.
const MinPasswordLength = 12

// CreateAdmin adds an admin, or sets an existing account's password
// (keeping its role), with the password stored as a bcrypt hash. It ends
// no sessions: ChangePassword does, for a password change.
func CreateAdmin(db AccountStore, username, password string, now time.Time) error {
	hash, err := hashPassword(username, password)
	if err != nil {
		return err
	}
	a := store.Admin{Username: username, PasswordHash: hash, Created: now.UTC(), Role: RoleAdmin}
	if old, err := db.Admin(username); err == nil {
		a.Role, a.Created = accountRole(old), old.Created
	}
	if err := db.PutAdmin(a); err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	return nil
}

// CheckPassword reports whether password is the admin's. It spends the
// same bcrypt time for an unknown user, so timing does not tell which
// usernames exist.
func CheckPassword(db AccountStore, username, password string) bool {
	a, err := db.Admin(username)
	if err != nil {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword(a.PasswordHash, []byte(password)) == nil
}

// dummyHash is a bcrypt hash of nothing anyone can type, for unknown users.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("\x00lintel-no-such-admin"), bcrypt.DefaultCost)

// GeneratePassword returns a random password of 20 characters from an
// alphabet without look-alikes, for the demo's first admin.
func GeneratePassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
