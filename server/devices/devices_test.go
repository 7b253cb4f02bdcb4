package devices

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lintelhq/lintel/server/store"
)

func TestAddAuthenticateRevoke(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "lintel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.PutRoom(store.Room{ID: "r1", Name: "R1", Calendar: "r1", TimeZone: "UTC", Display: store.DisplayTitle})
	s := New(db, Opts{})
	ctx := context.Background()
	if _, _, err := s.Add(ctx, "nope", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("add to unknown room: %v", err)
	}
	d, token, err := s.Add(ctx, "r1", "Door")
	if err != nil {
		t.Fatal(err)
	}
	if len(token) < len(tokenPrefix)+43 { // 32 bytes in base64
		t.Errorf("token %d chars: too short for 256 bits", len(token))
	}
	got, err := s.Authenticate(ctx, token)
	if err != nil || got.ID != d.ID || got.Room != "r1" {
		t.Fatalf("authenticate: %+v %v", got, err)
	}
	for _, bad := range []string{"", "garbage", token + "x", strings.ToUpper(token)} {
		if _, err := s.Authenticate(ctx, bad); !errors.Is(err, ErrUnknownToken) {
			t.Errorf("token %q: %v, want ErrUnknownToken", bad, err)
		}
	}
	other, token2, _ := s.Add(ctx, "r1", "")
	if other.ID == d.ID || token2 == token {
		t.Error("two devices share an id or a token")
	}
	if err := s.Revoke(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, token); !errors.Is(err, ErrRevoked) {
		t.Errorf("revoked token: %v, want ErrRevoked", err)
	}
	if err := s.Check(ctx, d.ID); !errors.Is(err, ErrRevoked) {
		t.Errorf("check of a revoked device: %v, want ErrRevoked", err)
	}
	if err := s.Check(ctx, other.ID); err != nil {
		t.Errorf("check of a good device: %v", err)
	}
	if err := s.Delete(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, token); !errors.Is(err, ErrRevoked) {
		t.Errorf("deleted device's token: %v, want ErrRevoked", err)
	}
	if err := s.Check(ctx, d.ID); !errors.Is(err, ErrRevoked) {
		t.Errorf("check of a deleted device: %v, want ErrRevoked", err)
	}
	if _, err := s.Authenticate(ctx, token2); err != nil {
		t.Errorf("revoking one device broke another: %v", err)
	}
	// The store file holds hashes, never a token.
	db.Close()
	raw, err := os.ReadFile(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(token2)) {
		t.Error("the store file contains a device token in clear")
	}
}
