package fleet

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	gosync "sync"
	"time"

	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/server/hub"
	"github.com/lintelhq/lintel/server/store"
)

// Firmware rollouts, in short: an admin uploads a build per platform with
// its ed25519 signature and starts a rollout of that version to a ring
// (canary panels by name, then a percentage, then all). A panel of the ring
// that connects on another version, and whose hello accepts
// proto.AcceptFirmware, is told to install it; it downloads the build from
// /firmware/<version>/<arch> with its device credential, checks the
// signature with the key it was installed with, swaps its binary and exits
// for its supervisor (systemd) to start the new one.
//
// The health gate: a panel told to install must come back on the new
// version within the rollout's deadline, and must not reconnect again and
// again (crash-loop: CrashConnects connections since it was told). When
// any panel misses the deadline, or more than MaxCrashPercent of the told
// panels crash-loop, the rollout halts by itself: OnHalt fires (the alert
// engine), the reason is kept for the firmware page, and every panel of
// the ring on the new version is told to roll back.

// Defaults of a rollout.
const (
	DefaultDeadline        = 15 * time.Minute
	DefaultMaxCrashPercent = 20
	// CrashConnects connections of a panel since it was told to install
	// make it crash-looping: the install, a restart, another one.
	CrashConnects = 3
	// MaxBuildBytes bounds an uploaded build: a panel binary is 10-20 MB.
	MaxBuildBytes = 64 << 20
	// MaxBuilds bounds the builds kept: an upload beyond it removes the
	// oldest one that no running rollout needs (4 platforms x 6 versions).
	MaxBuilds = 24
	// maxDownloads bounds the downloads served at once.
	maxDownloads = 8
)

// Arches are the platforms a build may be for.
var Arches = []string{"linux/arm/v6", "linux/arm/v7", "linux/arm64", "linux/amd64"}

var versionRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$`)

// The rings and states of a rollout.
const (
	RingCanary  = "canary"
	RingPercent = "percent"
	RingAll     = "all"

	StateRunning = "running"
	StateHalted  = "halted"
	StateDone    = "done"
)

// The statuses of a panel in a rollout.
const (
	PanelWaiting    = "waiting"     // not connected since it joined the ring
	PanelNoBuild    = "no-build"    // no build for its platform, or it does not accept firmware
	PanelTold       = "told"        // told to install; not back on the new version yet
	PanelUpdated    = "updated"     // back on the new version
	PanelTimedOut   = "timed-out"   // not back within the deadline
	PanelCrashLoop  = "crash-loop"  // reconnected again and again
	PanelRolledBack = "rolled-back" // told to roll back after a halt
)

// Rollout is one version's rollout.
type Rollout struct {
	Version string   `json:"version"`
	Ring    string   `json:"ring"`
	Canary  []string `json:"canary,omitempty"`
	Percent int      `json:"percent,omitempty"`
	State   string   `json:"state"`
	Reason  string   `json:"reason,omitempty"` // why it halted
	// DeadlineSeconds and MaxCrashPercent are the health gate.
	DeadlineSeconds int                  `json:"deadline_s"`
	MaxCrashPercent int                  `json:"max_crash_percent"`
	Started         time.Time            `json:"started"`
	Updated         time.Time            `json:"updated"`
	Panels          map[string]*Progress `json:"panels"`
}

// Progress is one panel's part in a rollout.
type Progress struct {
	Status   string    `json:"status"`
	From     string    `json:"from,omitempty"` // the version it ran when told
	Told     time.Time `json:"told,omitzero"`
	Back     time.Time `json:"back,omitzero"`
	Connects int       `json:"connects"` // connections since told
}

// RolloutRequest starts a rollout or widens it to the next ring.
type RolloutRequest struct {
	Version         string   `json:"version"`
	Ring            string   `json:"ring"`              // canary, percent or all
	Canary          []string `json:"canary,omitempty"`  // device ids, for ring canary
	Percent         int      `json:"percent,omitempty"` // 1-100, for ring percent
	DeadlineSeconds int      `json:"deadline_s,omitempty"`
	MaxCrashPercent int      `json:"max_crash_percent,omitempty"`
}

// FirmwareStore is what firmware needs of the store.
type FirmwareStore interface {
	PutFirmwareBuild(store.FirmwareBuild) error
	FirmwareBuild(version, arch string) (store.FirmwareBuild, error)
	FirmwareBuilds() ([]store.FirmwareBuild, error)
	DeleteFirmwareBuild(version, arch string) error
	PutRollout(version string, v any) error
	Rollouts() (map[string]json.RawMessage, error)
	Devices() ([]store.Device, error)
}

// FirmwareOpts configures Firmware.
type FirmwareOpts struct {
	Store FirmwareStore
	Dir   string // where builds are kept (0700)
	// PublicKey, when set, checks uploads' signatures (panels check them
	// anyway, with the key they were installed with).
	PublicKey ed25519.PublicKey
	// OnHalt and OnResume tell the alert engine.
	OnHalt   func(version, reason string)
	OnResume func(version string)
	Logger   *slog.Logger
	Now      func() time.Time
}

// Firmware keeps builds and runs rollouts.
type Firmware struct {
	opts      FirmwareOpts
	log       *slog.Logger
	downloads chan struct{}

	mu       gosync.Mutex
	panels   Panels
	rollouts map[string]*Rollout
}

// NewFirmware loads the rollouts from the store.
func NewFirmware(opts FirmwareOpts) (*Firmware, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	f := &Firmware{opts: opts, log: opts.Logger, downloads: make(chan struct{}, maxDownloads), rollouts: map[string]*Rollout{}}
	raw, err := opts.Store.Rollouts()
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	for v, b := range raw {
		var r Rollout
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("fleet: rollout %s: %w", v, err)
		}
		if r.Panels == nil {
			r.Panels = map[string]*Progress{}
		}
		f.rollouts[v] = &r
	}
	return f, nil
}

// SetPanels gives Firmware the hub.
func (f *Firmware) SetPanels(p Panels) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.panels = p
}

// ReadPublicKey reads an ed25519 public key from a PEM file (as openssl
// pkey -pubout writes it).
func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fleet: firmware key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("fleet: firmware key %s is not PEM", path)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("fleet: firmware key %s: %w", path, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("fleet: firmware key %s is not an ed25519 key", path)
	}
	return pub, nil
}

// Upload keeps a build: at most MaxBuildBytes, a version and a platform
// it knows, a 64-byte ed25519 signature (checked when the server has the
// key).
func (f *Firmware) Upload(version, arch string, r io.Reader, sig []byte, by string) (store.FirmwareBuild, error) {
	switch {
	case !versionRE.MatchString(version):
		return store.FirmwareBuild{}, fmt.Errorf("fleet: %q is not a version such as 1.4.0", version)
	case !slices.Contains(Arches, arch):
		return store.FirmwareBuild{}, fmt.Errorf("fleet: %q is not a platform: %s", arch, strings.Join(Arches, ", "))
	case len(sig) != ed25519.SignatureSize:
		return store.FirmwareBuild{}, fmt.Errorf("fleet: the signature is %d bytes, an ed25519 signature is %d", len(sig), ed25519.SignatureSize)
	}
	if err := os.MkdirAll(f.opts.Dir, 0o700); err != nil {
		return store.FirmwareBuild{}, fmt.Errorf("fleet: firmware directory: %w", err)
	}
	tmp, err := os.CreateTemp(f.opts.Dir, ".upload-*")
	if err != nil {
		return store.FirmwareBuild{}, fmt.Errorf("fleet: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, MaxBuildBytes+1))
	if err != nil {
		return store.FirmwareBuild{}, fmt.Errorf("fleet: receive the build: %w", err)
	}
	if n > MaxBuildBytes {
		return store.FirmwareBuild{}, fmt.Errorf("fleet: the build is over %d MiB", MaxBuildBytes>>20)
	}
	if n == 0 {
		return store.FirmwareBuild{}, errors.New("fleet: the build is empty")
	}
	if f.opts.PublicKey != nil {
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return store.FirmwareBuild{}, fmt.Errorf("fleet: %w", err)
		}
		data, err := io.ReadAll(tmp)
		if err != nil {
			return store.FirmwareBuild{}, fmt.Errorf("fleet: %w", err)
		}
		if !ed25519.Verify(f.opts.PublicKey, data, sig) {
			return store.FirmwareBuild{}, errors.New("fleet: the signature does not verify with the server's firmware key: not kept")
		}
	}
	if err := tmp.Sync(); err != nil {
		return store.FirmwareBuild{}, fmt.Errorf("fleet: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	name := sum + ".bin"
	if err := os.Rename(tmp.Name(), filepath.Join(f.opts.Dir, name)); err != nil {
		return store.FirmwareBuild{}, fmt.Errorf("fleet: %w", err)
	}
	b := store.FirmwareBuild{Version: version, Arch: arch, Size: n, SHA256: sum, Signature: sig, File: name, Uploaded: f.opts.Now().UTC(), By: by}
	if err := f.opts.Store.PutFirmwareBuild(b); err != nil {
		return store.FirmwareBuild{}, fmt.Errorf("fleet: %w", err)
	}
	if err := f.prune(); err != nil {
		f.log.Error("fleet: cannot remove old firmware builds", "err", err)
	}
	f.log.Info("firmware uploaded", "version", version, "arch", arch, "bytes", n, "by", by)
	return b, nil
}

// prune keeps at most MaxBuilds builds, removing the oldest ones no
// running rollout needs, and every file no build names.
func (f *Firmware) prune() error {
	builds, err := f.opts.Store.FirmwareBuilds() // newest first
	if err != nil {
		return err
	}
	f.mu.Lock()
	running := map[string]bool{}
	for v, r := range f.rollouts {
		running[v] = r.State == StateRunning
	}
	f.mu.Unlock()
	for i := len(builds) - 1; i >= 0 && len(builds) > MaxBuilds; i-- {
		if b := builds[i]; !running[b.Version] {
			if err := f.opts.Store.DeleteFirmwareBuild(b.Version, b.Arch); err != nil {
				return err
			}
			f.log.Info("firmware build removed: over the limit of kept builds", "version", b.Version, "arch", b.Arch)
			builds = slices.Delete(builds, i, i+1)
		}
	}
	named := map[string]bool{}
	for _, b := range builds {
		named[b.File] = true
	}
	entries, err := os.ReadDir(f.opts.Dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".bin") && !named[e.Name()] {
			os.Remove(filepath.Join(f.opts.Dir, e.Name()))
		}
	}
	return nil
}

// Builds lists the uploaded builds.
func (f *Firmware) Builds() ([]store.FirmwareBuild, error) { return f.opts.Store.FirmwareBuilds() }

// Rollouts lists the rollouts, newest first.
func (f *Firmware) Rollouts() []Rollout {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Rollout
	for _, r := range f.rollouts {
		out = append(out, r.copy())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.After(out[j].Started) })
	return out
}

func (r *Rollout) copy() Rollout {
	c := *r
	c.Canary = slices.Clone(r.Canary)
	c.Panels = make(map[string]*Progress, len(r.Panels))
	for k, p := range r.Panels {
		pp := *p
		c.Panels[k] = &pp
	}
	return c
}

// Start starts the rollout of a version to a ring, or widens a running
// (or halted: that resumes it) one to the next ring. Only one version
// rolls out at a time.
func (f *Firmware) Start(ctx context.Context, req RolloutRequest) (Rollout, error) {
	builds, err := f.opts.Store.FirmwareBuilds()
	if err != nil {
		return Rollout{}, fmt.Errorf("fleet: %w", err)
	}
	if !slices.ContainsFunc(builds, func(b store.FirmwareBuild) bool { return b.Version == req.Version }) {
		return Rollout{}, fmt.Errorf("fleet: no build of version %q: upload it first", req.Version)
	}
	devs, err := f.opts.Store.Devices()
	if err != nil {
		return Rollout{}, fmt.Errorf("fleet: %w", err)
	}
	var ring []string
	switch req.Ring {
	case RingCanary:
		if len(req.Canary) == 0 {
			return Rollout{}, errors.New("fleet: a canary ring names its panels")
		}
		for _, id := range req.Canary {
			if !slices.ContainsFunc(devs, func(d store.Device) bool { return d.ID == id && !d.Revoked }) {
				return Rollout{}, fmt.Errorf("fleet: no panel %q", id)
			}
		}
		ring = slices.Clone(req.Canary)
	case RingPercent:
		if req.Percent < 1 || req.Percent > 100 {
			return Rollout{}, errors.New("fleet: a percent ring is 1 to 100 percent of the panels")
		}
		ring = percentOf(devs, req.Version, req.Percent)
	case RingAll:
		ring = percentOf(devs, req.Version, 100)
	default:
		return Rollout{}, fmt.Errorf("fleet: ring %q is not canary, percent or all", req.Ring)
	}
	if req.DeadlineSeconds != 0 && (req.DeadlineSeconds < 10 || req.DeadlineSeconds > 7*24*3600) {
		return Rollout{}, errors.New("fleet: the deadline is 10 s to 7 days")
	}
	if req.MaxCrashPercent < 0 || req.MaxCrashPercent > 100 {
		return Rollout{}, errors.New("fleet: the crash-loop limit is a percentage")
	}
	now := f.opts.Now().UTC()
	f.mu.Lock()
	for v, r := range f.rollouts {
		if v != req.Version && r.State == StateRunning {
			f.mu.Unlock()
			return Rollout{}, fmt.Errorf("fleet: version %s is rolling out: halt it first", v)
		}
	}
	r := f.rollouts[req.Version]
	resumed := false
	if r == nil {
		r = &Rollout{Version: req.Version, Started: now, Panels: map[string]*Progress{}}
		f.rollouts[req.Version] = r
	}
	if r.State == StateHalted {
		resumed = true
		// The failed panels get another chance.
		for _, p := range r.Panels {
			if p.Status != PanelUpdated {
				*p = Progress{Status: PanelWaiting}
			}
		}
	}
	r.Ring, r.Canary, r.Percent, r.State, r.Reason, r.Updated = req.Ring, ring, req.Percent, StateRunning, "", now
	if req.Ring != RingCanary {
		r.Canary = nil
	}
	r.DeadlineSeconds = cmpOr(req.DeadlineSeconds, r.DeadlineSeconds, int(DefaultDeadline/time.Second))
	r.MaxCrashPercent = cmpOr(req.MaxCrashPercent, r.MaxCrashPercent, DefaultMaxCrashPercent)
	for _, id := range ring {
		if r.Panels[id] == nil {
			r.Panels[id] = &Progress{Status: PanelWaiting}
		}
	}
	out := r.copy()
	err = f.saveLocked(r)
	f.mu.Unlock()
	if err != nil {
		return Rollout{}, err
	}
	f.log.Info("firmware rollout started", "version", req.Version, "ring", req.Ring, "panels", len(ring))
	if resumed && f.opts.OnResume != nil {
		f.opts.OnResume(req.Version)
	}
	f.offerAll()
	return out, nil
}

func cmpOr(v ...int) int {
	for _, x := range v {
		if x != 0 {
			return x
		}
	}
	return 0
}

// percentOf picks pct percent of the panels (at least one), the same ones
// for a version each time, so 10 % then 50 % widens the ring.
func percentOf(devs []store.Device, version string, pct int) []string {
	type ranked struct {
		id   string
		rank uint64
	}
	var all []ranked
	for _, d := range devs {
		if d.Revoked {
			continue
		}
		h := fnv.New64a()
		io.WriteString(h, version+"/"+d.ID)
		all = append(all, ranked{d.ID, h.Sum64()})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].rank < all[j].rank })
	n := (len(all)*pct + 99) / 100
	out := make([]string, 0, n)
	for _, r := range all[:n] {
		out = append(out, r.id)
	}
	return out
}

// Halt stops a rollout by hand (or by the health gate, with the reason)
// and tells the ring's panels on the new version to roll back.
func (f *Firmware) Halt(version, reason string) error {
	f.mu.Lock()
	r := f.rollouts[version]
	if r == nil {
		f.mu.Unlock()
		return fmt.Errorf("fleet: no rollout of %q: %w", version, store.ErrNotFound)
	}
	if r.State != StateRunning {
		f.mu.Unlock()
		return fmt.Errorf("fleet: the rollout of %s is %s, not running", version, r.State)
	}
	f.haltLocked(r, reason)
	f.mu.Unlock()
	f.offerAll()
	return nil
}

func (f *Firmware) haltLocked(r *Rollout, reason string) {
	r.State, r.Reason, r.Updated = StateHalted, reason, f.opts.Now().UTC()
	if err := f.saveLocked(r); err != nil {
		f.log.Error("fleet: cannot save a halted rollout", "version", r.Version, "err", err)
	}
	f.log.Warn("firmware rollout halted", "version", r.Version, "reason", reason)
	if f.opts.OnHalt != nil {
		go f.opts.OnHalt(r.Version, reason)
	}
}

func (f *Firmware) saveLocked(r *Rollout) error {
	if err := f.opts.Store.PutRollout(r.Version, r); err != nil {
		return fmt.Errorf("fleet: save the rollout: %w", err)
	}
	return nil
}

// Connected is the hub's OnConnect: a panel of a ring comes back on the
// new version, is told to install it, or (after a halt) to roll back.
func (f *Firmware) Connected(d hub.Device, c hub.ConnInfo) { f.connected(d, c, true) }

// connected: fresh is false for a panel looked at again (a rollout was
// started or halted), not one that just connected.
func (f *Firmware) connected(d hub.Device, c hub.ConnInfo, fresh bool) {
	f.mu.Lock()
	msg, save := f.connectedLocked(d.ID, c, fresh)
	panels := f.panels
	f.mu.Unlock()
	if save != nil {
		f.mu.Lock()
		if err := f.saveLocked(save); err != nil {
			f.log.Error("fleet: cannot save a rollout", "err", err)
		}
		f.mu.Unlock()
	}
	if msg != nil && panels != nil {
		if err := panels.Send(d.ID, *msg); err != nil {
			f.log.Warn("fleet: cannot tell a panel about firmware", "device", d.ID, "err", err)
		}
	}
}

// connectedLocked decides what a panel that just connected is told, and
// which rollout changed.
func (f *Firmware) connectedLocked(id string, c hub.ConnInfo, fresh bool) (*proto.Message, *Rollout) {
	now := f.opts.Now().UTC()
	for _, r := range f.rollouts {
		p := r.Panels[id]
		if p == nil || (r.State != StateRunning && r.State != StateHalted) {
			continue
		}
		if r.State == StateHalted {
			if c.Firmware == r.Version && f.panels != nil && f.panels.Accepts(id, proto.AcceptFirmware) {
				p.Status = PanelRolledBack
				return &proto.Message{Type: proto.TypeFirmware, Firmware: &proto.Firmware{Action: proto.FirmwareRollback, Version: p.From}}, r
			}
			continue
		}
		if fresh && !p.Told.IsZero() {
			p.Connects++
		}
		switch {
		case c.Firmware == r.Version:
			if p.Status != PanelUpdated {
				p.Status, p.Back = PanelUpdated, now
			}
			if p.Connects >= CrashConnects {
				p.Status = PanelCrashLoop
			}
			f.finishLocked(r)
			return nil, r
		case p.Status == PanelTold || p.Status == PanelCrashLoop:
			// Back on the old version: its supervisor rolled it back,
			// or it refused the build. Counted by the health gate.
			if p.Connects >= CrashConnects {
				p.Status = PanelCrashLoop
			}
			return nil, r
		case p.Status == PanelTimedOut || p.Status == PanelUpdated:
			return nil, r
		}
		b, err := f.opts.Store.FirmwareBuild(r.Version, c.Arch)
		if err != nil || f.panels == nil || !f.panels.Accepts(id, proto.AcceptFirmware) {
			p.Status = PanelNoBuild
			return nil, r
		}
		p.Status, p.From, p.Told, p.Connects = PanelTold, c.Firmware, now, 0
		return &proto.Message{Type: proto.TypeFirmware, Firmware: &proto.Firmware{Action: proto.FirmwareInstall, Version: b.Version,
			Path: "/firmware/" + b.Version + "/" + b.Arch, Size: b.Size, SHA256: b.SHA256, Signature: b.Signature}}, r
	}
	return nil, nil
}

// finishLocked marks a rollout done when its ring is "all" and every
// panel that could take the build has it.
func (f *Firmware) finishLocked(r *Rollout) {
	if r.Ring != RingAll {
		return
	}
	for _, p := range r.Panels {
		if p.Status != PanelUpdated && p.Status != PanelNoBuild {
			return
		}
	}
	r.State, r.Updated = StateDone, f.opts.Now().UTC()
	f.log.Info("firmware rollout done", "version", r.Version)
}

// offerAll runs Connected for every connected panel: a rollout just
// started, widened or halted.
func (f *Firmware) offerAll() {
	f.mu.Lock()
	panels := f.panels
	f.mu.Unlock()
	if panels == nil {
		return
	}
	for _, c := range panels.Connections() {
		if c.Paired {
			f.connected(hub.Device{ID: c.DeviceID, Room: c.Room}, c, false)
		}
	}
}

// Check runs the health gate of the running rollout at now: panels told
// longer than the deadline ago and not back on the new version time out,
// and the rollout halts when any did or when too many crash-loop.
func (f *Firmware) Check() {
	now := f.opts.Now().UTC()
	f.mu.Lock()
	halted := false
	for _, r := range f.rollouts {
		if r.State != StateRunning {
			continue
		}
		deadline := time.Duration(r.DeadlineSeconds) * time.Second
		told, late, loops := 0, 0, 0
		for _, p := range r.Panels {
			if p.Told.IsZero() {
				continue
			}
			told++
			if p.Status == PanelTold && now.Sub(p.Told) > deadline {
				p.Status = PanelTimedOut
			}
			switch p.Status {
			case PanelTimedOut:
				late++
			case PanelCrashLoop:
				loops++
			}
		}
		switch {
		case late > 0:
			f.haltLocked(r, fmt.Sprintf("%d of %d panels told to install %s did not come back on it within %s", late, told, r.Version, deadline))
			halted = true
		case told > 0 && loops*100 > r.MaxCrashPercent*told:
			f.haltLocked(r, fmt.Sprintf("%d of %d panels told to install %s crash-loop (reconnected %d times or more), over the %d%% limit", loops, told, r.Version, CrashConnects, r.MaxCrashPercent))
			halted = true
		}
	}
	f.mu.Unlock()
	if halted {
		f.offerAll()
	}
}

// Run checks the health gate every interval until ctx ends.
func (f *Firmware) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.Check()
		}
	}
}

// Authenticator checks a panel's device token for downloads.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (hub.Device, error)
}

// DownloadHandler serves GET /firmware/{version}/{arch...} to panels
// with a valid device credential, at most maxDownloads at once.
func (f *Firmware) DownloadHandler(auth Authenticator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			http.Error(w, "firmware: a device credential is required", http.StatusUnauthorized)
			return
		}
		if _, err := auth.Authenticate(r.Context(), token); err != nil {
			http.Error(w, "firmware: the device credential is not valid", http.StatusUnauthorized)
			return
		}
		select {
		case f.downloads <- struct{}{}:
			defer func() { <-f.downloads }()
		default:
			w.Header().Set("Retry-After", "30")
			http.Error(w, "firmware: too many downloads at once: try again later", http.StatusServiceUnavailable)
			return
		}
		b, err := f.opts.Store.FirmwareBuild(r.PathValue("version"), r.PathValue("arch"))
		if err != nil {
			http.Error(w, "firmware: no such build", http.StatusNotFound)
			return
		}
		file, err := os.Open(filepath.Join(f.opts.Dir, b.File))
		if err != nil {
			f.log.Error("fleet: a firmware build's file is missing", "version", b.Version, "arch", b.Arch, "err", err)
			http.Error(w, "firmware: the build's file is missing", http.StatusInternalServerError)
			return
		}
		defer file.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, b.File, b.Uploaded, file)
	})
}
