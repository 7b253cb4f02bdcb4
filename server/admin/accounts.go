package admin

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/lintelhq/lintel/server/store"
)

// MinPasswordLength is the shortest admin password accepted.
const MinPasswordLength = 12

// CreateAdmin adds an admin (or sets a new password) with the password
// stored as a bcrypt hash.
func CreateAdmin(db *store.DB, username, password string, now time.Time) error {
	if username == "" || len(username) > 64 {
		return errors.New("admin: a username is 1 to 64 characters")
	}
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return fmt.Errorf("admin: the password must be at least %d characters", MinPasswordLength)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("admin: hash password: %w", err)
	}
	if err := db.PutAdmin(store.Admin{Username: username, PasswordHash: hash, Created: now.UTC()}); err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	return nil
}

// CheckPassword reports whether password is the admin's. It spends the
// same bcrypt time for an unknown user, so timing does not tell which
// usernames exist.
func CheckPassword(db *store.DB, username, password string) bool {
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
