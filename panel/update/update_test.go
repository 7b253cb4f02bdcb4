package update

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lintelhq/lintel/proto"
)

type fakeDownload map[string][]byte

func (f fakeDownload) Download(ctx context.Context, path string, w io.Writer, max int64) error {
	b, ok := f[path]
	if !ok {
		return errors.New("404")
	}
	if int64(len(b)) > max {
		return errors.New("too big")
	}
	_, err := w.Write(b)
	return err
}

func offer(priv ed25519.PrivateKey, version string, data []byte) proto.Firmware {
	sum := sha256.Sum256(data)
	return proto.Firmware{Action: proto.FirmwareInstall, Version: version, Path: "/firmware/" + version + "/linux/arm64",
		Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Signature: ed25519.Sign(priv, data)}
}

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.4.0", "1.4.0", 0}, {"1.4.0", "1.10.0", -1}, {"v2.0.0", "1.9.9", 1}, {"1.4.0-rc1", "1.4.0", -1},
		{"1.4.0", "1.4.0-rc1", 1}, {"dev", "0.0.1", -1}, {"0.0.1", "dev", 1}, {"1.4", "1.4.0", 0}, {"1.4.0-rc2", "1.4.0-rc1", 1},
	} {
		if got := Compare(tc.a, tc.b); got != tc.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestInstallSwapsAndRollsBack: a signed newer build replaces the binary
// (the old one kept as .previous); an older one, one with a forged
// signature or a wrong checksum is refused and the binary left alone;
// Rollback puts the previous binary back.
func TestInstallSwapsAndRollsBack(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, forger, _ := ed25519.GenerateKey(rand.Reader)
	dir := t.TempDir()
	bin := filepath.Join(dir, "lintel-panel")
	os.WriteFile(bin, []byte("old binary"), 0o755)
	newer, older := []byte("new binary 1.5.0"), []byte("old binary 1.3.0")
	dl := fakeDownload{"/firmware/1.5.0/linux/arm64": newer, "/firmware/1.3.0/linux/arm64": older, "/firmware/1.6.0/linux/arm64": newer}
	u, err := New(Opts{Key: pub, Current: "1.4.0", Binary: bin, Download: dl})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if _, err := u.Install(ctx, offer(priv, "1.3.0", older)); !errors.Is(err, ErrNotNewer) {
		t.Errorf("a downgrade: %v", err)
	}
	if _, err := u.Install(ctx, offer(forger, "1.5.0", newer)); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("a forged signature: %v", err)
	}
	bad := offer(priv, "1.6.0", newer)
	bad.SHA256 = strings.Repeat("0", 64)
	if _, err := u.Install(ctx, bad); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("a wrong checksum: %v", err)
	}
	if b, _ := os.ReadFile(bin); string(b) != "old binary" {
		t.Fatalf("a refused build changed the binary: %q", b)
	}

	swapped, err := u.Install(ctx, offer(priv, "1.5.0", newer))
	if err != nil || !swapped {
		t.Fatalf("install: %v %v", swapped, err)
	}
	if b, _ := os.ReadFile(bin); !bytes.Equal(b, newer) {
		t.Errorf("binary after install: %q", b)
	}
	if fi, _ := os.Stat(bin); fi.Mode().Perm() != 0o755 {
		t.Errorf("mode %v", fi.Mode())
	}
	if b, _ := os.ReadFile(bin + ".previous"); string(b) != "old binary" {
		t.Errorf("previous: %q", b)
	}
	if ok, err := u.Rollback(); !ok || err != nil {
		t.Fatalf("rollback: %v %v", ok, err)
	}
	if b, _ := os.ReadFile(bin); string(b) != "old binary" {
		t.Errorf("binary after rollback: %q", b)
	}
	if ok, _ := u.Rollback(); ok {
		t.Error("a second rollback found something to roll back")
	}
}

// TestInstallStages: with a stage directory the build and its signature
// are left for update.sh, "ready" last, and the binary is not touched.
func TestInstallStages(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	dir := t.TempDir()
	bin := filepath.Join(dir, "lintel-panel")
	os.WriteFile(bin, []byte("old"), 0o755)
	data := []byte("new")
	stage := filepath.Join(dir, "staged")
	u, _ := New(Opts{Key: pub, Current: "1.0.0", Binary: bin, StageDir: stage, Download: fakeDownload{"/firmware/2.0.0/linux/arm64": data}})
	f := offer(priv, "2.0.0", data)
	if swapped, err := u.Install(context.Background(), f); err != nil || swapped {
		t.Fatalf("stage: %v %v", swapped, err)
	}
	if b, _ := os.ReadFile(filepath.Join(stage, "lintel-panel")); string(b) != "new" {
		t.Errorf("staged binary %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(stage, "lintel-panel.sig")); !bytes.Equal(b, f.Signature) {
		t.Error("staged signature differs")
	}
	if _, err := os.Stat(filepath.Join(stage, "ready")); err != nil {
		t.Errorf("no ready file: %v", err)
	}
	if b, _ := os.ReadFile(bin); string(b) != "old" {
		t.Errorf("staging touched the binary: %q", b)
	}
}
