// Package update installs firmware the server offers (proto.Firmware):
// it downloads the build with the panel's credential, checks its size,
// SHA-256 and ed25519 signature with the key the panel was installed with,
// refuses a version older than (or the same as) the running one, and then
// either swaps the binary itself or stages it for deploy/panel/update.sh.
//
// Swapping (Opts.StageDir empty): the build is written beside the running
// binary, synced, the running binary kept as <binary>.previous (a hard
// link), and the build renamed over the binary, so that a power cut leaves
// the old binary or the new one, never half of one. The caller then exits
// and its supervisor (systemd's Restart=always) starts the new version. A
// rollback renames <binary>.previous back. When the new version cannot
// start, the supervisor's OnFailure unit does that rollback.
//
// Staging (Opts.StageDir set, the systemd install, where the panel cannot
// write /usr/local/bin): the build and its signature go to StageDir with
// a "ready" file written last; lintel-panel-update.path starts update.sh,
// which verifies again, swaps, restarts the panel and rolls back when it
// does not come back online.
package update

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lintelhq/lintel/proto"
)

// MaxSize bounds a download; the server's uploads are bounded alike.
const MaxSize = 64 << 20

// Downloader fetches a path from the server with the panel's credential
// (panel/link.Link).
type Downloader interface {
	Download(ctx context.Context, path string, w io.Writer, max int64) error
}

// Opts configures an Updater.
type Opts struct {
	Key      ed25519.PublicKey // required: the key builds are signed with
	Current  string            // the running version
	Binary   string            // the running binary's path
	StageDir string            // stage for update.sh instead of swapping
	Download Downloader
	Logger   *slog.Logger
}

// Updater installs and rolls back firmware.
type Updater struct{ opts Opts }

// New returns an Updater.
func New(opts Opts) (*Updater, error) {
	if len(opts.Key) != ed25519.PublicKeySize {
		return nil, errors.New("update: an ed25519 public key is required")
	}
	if opts.Binary == "" || opts.Download == nil {
		return nil, errors.New("update: the binary's path and a downloader are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Updater{opts: opts}, nil
}

// ReadKey reads an ed25519 public key from a PEM file (as openssl pkey
// -pubout writes it: /etc/lintel/update.pub).
func ReadKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("update: firmware key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("update: firmware key %s is not PEM", path)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("update: firmware key %s: %w", path, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("update: firmware key %s is not an ed25519 key", path)
	}
	return pub, nil
}

// ErrNotNewer: the offered version is not newer than the running one.
var ErrNotNewer = errors.New("update: not newer than the running version")

// Install downloads, verifies and installs f. It reports swapped true
// when the binary was replaced and the caller should exit to run it.
func (u *Updater) Install(ctx context.Context, f proto.Firmware) (swapped bool, err error) {
	if f.Action != proto.FirmwareInstall {
		return false, fmt.Errorf("update: %q is not an install", f.Action)
	}
	if Compare(f.Version, u.opts.Current) <= 0 {
		return false, fmt.Errorf("%w: offered %s, running %s", ErrNotNewer, f.Version, u.opts.Current)
	}
	if f.Size <= 0 || f.Size > MaxSize {
		return false, fmt.Errorf("update: %s is %d bytes, over the %d byte limit", f.Version, f.Size, MaxSize)
	}
	var buf bytes.Buffer
	if err := u.opts.Download.Download(ctx, f.Path, &buf, f.Size); err != nil {
		return false, fmt.Errorf("update: download %s: %w", f.Version, err)
	}
	data := buf.Bytes()
	sum := sha256.Sum256(data)
	switch {
	case int64(len(data)) != f.Size:
		return false, fmt.Errorf("update: %s: got %d bytes, want %d", f.Version, len(data), f.Size)
	case hex.EncodeToString(sum[:]) != strings.ToLower(f.SHA256):
		return false, fmt.Errorf("update: %s: the SHA-256 does not match", f.Version)
	case !ed25519.Verify(u.opts.Key, data, f.Signature):
		return false, fmt.Errorf("update: %s: the signature does not verify with the panel's firmware key: not installed", f.Version)
	}
	if u.opts.StageDir != "" {
		if err := u.stage(data, f.Signature); err != nil {
			return false, err
		}
		u.opts.Logger.Info("update: staged for update.sh", "version", f.Version)
		return false, nil
	}
	if err := u.swap(data); err != nil {
		return false, err
	}
	u.opts.Logger.Info("update: installed: restarting", "version", f.Version, "from", u.opts.Current)
	return true, nil
}

func (u *Updater) stage(data, sig []byte) error {
	dir := u.opts.StageDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("update: stage: %w", err)
	}
	os.Remove(filepath.Join(dir, "ready"))
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{"lintel-panel", data, 0o755}, {"lintel-panel.sig", sig, 0o644}, {"ready", nil, 0o644}} {
		if err := writeAtomic(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return fmt.Errorf("update: stage %s: %w", f.name, err)
		}
	}
	return nil
}

// swap puts data in place of the binary, keeping the old one as
// .previous.
func (u *Updater) swap(data []byte) error {
	bin := u.opts.Binary
	next := bin + ".next"
	if err := writeFile(next, data, 0o755); err != nil {
		os.Remove(next)
		return fmt.Errorf("update: write the new binary: %w", err)
	}
	prev := bin + ".previous"
	os.Remove(prev)
	if err := os.Link(bin, prev); err != nil {
		os.Remove(next)
		return fmt.Errorf("update: keep the running binary: %w", err)
	}
	if err := os.Rename(next, bin); err != nil {
		os.Remove(next)
		return fmt.Errorf("update: swap: %w", err)
	}
	return syncDir(filepath.Dir(bin))
}

// Rollback puts <binary>.previous back. It reports false when there is
// nothing to roll back to.
func (u *Updater) Rollback() (bool, error) {
	prev := u.opts.Binary + ".previous"
	if _, err := os.Stat(prev); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err := os.Rename(prev, u.opts.Binary); err != nil {
		return false, fmt.Errorf("update: roll back: %w", err)
	}
	if err := syncDir(filepath.Dir(u.opts.Binary)); err != nil {
		return false, err
	}
	u.opts.Logger.Warn("update: rolled back to the previous binary: restarting")
	return true, nil
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := writeFile(tmp, data, mode); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("update: sync %s: %w", dir, err)
	}
	return nil
}

// Compare orders versions such as 1.4.0, v1.10.2 and 1.4.0-rc1 (a
// pre-release before its release): -1, 0 or 1. "dev" (an unstamped build)
// is older than any version, so a development panel takes any release.
func Compare(a, b string) int {
	if a == b {
		return 0
	}
	if a == "dev" {
		return -1
	}
	if b == "dev" {
		return 1
	}
	a, b = strings.TrimPrefix(a, "v"), strings.TrimPrefix(b, "v")
	ac, apre, _ := strings.Cut(a, "-")
	bc, bpre, _ := strings.Cut(b, "-")
	as, bs := strings.Split(ac, "."), strings.Split(bc, ".")
	for i := range max(len(as), len(bs)) {
		x, y := part(as, i), part(bs, i)
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	switch {
	case apre == bpre:
		return 0
	case apre == "":
		return 1
	case bpre == "":
		return -1
	}
	return strings.Compare(apre, bpre)
}

func part(p []string, i int) int {
	if i >= len(p) {
		return 0
	}
	n, err := strconv.Atoi(p[i])
	if err != nil {
		return -1
	}
	return n
}
